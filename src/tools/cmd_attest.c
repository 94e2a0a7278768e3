/* veil attest verify-quote — an SGX DCAP quote v3 against collateral, as an operator
 * checks a platform; veil attest report — a report on a quote from an attestation
 * service (through the node's proxy), verified (docs/attestation.md). */
#define _GNU_SOURCE /* timegm */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/hex.h"
#include "host/attest/attest.h"
#include "host/attest/ias_service.h"
#include "host/ratls/ratls_verify.h"
#include "hostutil/fileio.h"
#include "tools/cli.h"
#include "tools/commands.h"

/* "now", Unix seconds, or "YYYY-MM-DDTHH:MM:SSZ". */
static bool parse_at(const char *s, int64_t *out)
{
    if (strcmp(s, "now") == 0) {
        *out = (int64_t)time(NULL);
        return true;
    }
    uint64_t v;
    if (cli_parse_u64(s, INT64_MAX, &v)) {
        *out = (int64_t)v;
        return true;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL || strcmp(end, "Z") != 0) return false;
    *out = (int64_t)timegm(&tm);
    return true;
}

static void hex_put(json_t *j, const char *key, const uint8_t *p, size_t n)
{
    char h[2 * 64 + 1];
    veil_hex_encode(h, p, n);
    json_object_set_new(j, key, json_string(h));
}

static int verify_quote(int argc, char **argv)
{
    static const struct option opts[] = {{"collateral", required_argument, NULL, 'c'},
                                         {"at", required_argument, NULL, 'a'},
                                         {"accept", required_argument, NULL, 'A'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL, *at_text = "now", *accept = NULL;
    bool json = false;
    int c;
    while ((c = getopt_long(argc, argv, "c:a:A:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': dir = optarg; break;
        case 'a': at_text = optarg; break;
        case 'A': accept = optarg; break;
        case 'j': json = true; break;
        case 'h':
            printf("usage: veil attest verify-quote QUOTE --collateral PATH [--at TIME]\n"
                   "                                [--accept STATUSES] [--json]\n\n"
                   "Verifies an SGX ECDSA quote v3 (a binary file) against collateral, as Intel's\n"
                   "Quote Verification Library does (docs/attestation.md), and prints the TCB\n"
                   "verdict and the enclave's identity.\n"
                   "  --collateral PATH a collateral bundle file (JSON, as 'veil platform\n"
                   "                    collateral' writes), or a directory with one file each\n"
                   "                    (names as Intel's QVL sample): trustedRootCaCert.pem (the\n"
                   "                    root to pin), pckCert.pem and pckSignChain.pem (unless\n"
                   "                    the quote carries its chain), rootCaCrl.der,\n"
                   "                    intermediateCaCrl.der (DER or PEM), tcbInfo.json,\n"
                   "                    tcbSignChain.pem, qeIdentity.json\n"
                   "  --at TIME         verification time: now (default), Unix seconds, or\n"
                   "                    YYYY-MM-DDTHH:MM:SSZ\n"
                   "  --accept STATUSES TCB statuses accepted besides UpToDate, comma-separated:\n"
                   "                    SWHardeningNeeded, ConfigurationNeeded,\n"
                   "                    ConfigurationAndSWHardeningNeeded, OutOfDate,\n"
                   "                    OutOfDateConfigurationNeeded (Revoked never)\n"
                   "  --json            print the result as JSON\n"
                   "Exit status: 0 if the quote verifies and its TCB status is accepted, 1 if not\n"
                   "(the verdict is printed either way when the quote verifies), 2 for a usage\n"
                   "error.\n");
            return 0;
        default: return cli_bad_option("attest verify-quote", argv);
        }
    }
    if (optind + 1 != argc) return cli_usage_error("attest verify-quote takes one QUOTE file");
    if (dir == NULL) return cli_usage_error("attest verify-quote needs --collateral PATH");
    int64_t at;
    if (!parse_at(at_text, &at))
        return cli_usage_error("--at: want now, Unix seconds or YYYY-MM-DDTHH:MM:SSZ");
    dcap_policy policy;
    if (dcap_policy_parse(accept, &policy) != VEIL_OK)
        return cli_usage_error("--accept: %s", veil_error_detail());

    uint8_t *quote = NULL;
    size_t quote_len = 0;
    attest_collateral *col = NULL;
    int rc = 1;
    veil_status st = veil_file_read(argv[optind], DCAP_QUOTE_MAX_LEN, &quote, &quote_len);
    if (st != VEIL_OK) {
        rc = cli_fail(argv[optind], st);
        goto out;
    }
    st = attest_collateral_load(dir, &col);
    if (st != VEIL_OK) {
        rc = cli_fail(dir, st);
        goto out;
    }
    dcap_result r;
    st = dcap_verify(quote, quote_len, attest_collateral_view(col), at, &r);
    if (st != VEIL_OK) {
        if (json) {
            json_t *j = json_pack("{s:b, s:i, s:s, s:s, s:I}", "verified", 0, "code", (int)st,
                                  "error", veil_status_name(st), "detail", veil_error_detail(),
                                  "at", (json_int_t)at);
            json_dumpf(j, stdout, JSON_INDENT(2));
            putchar('\n');
            json_decref(j);
        }
        rc = cli_fail("quote", st);
        goto out;
    }
    const uint8_t *b = r.body;
    unsigned prod = (unsigned)(b[DCAP_RB_ISVPRODID] | b[DCAP_RB_ISVPRODID + 1] << 8);
    unsigned svn = (unsigned)(b[DCAP_RB_ISVSVN] | b[DCAP_RB_ISVSVN + 1] << 8);
    veil_status pst = dcap_policy_check(&policy, &r);
    json_t *j = json_object();
    json_object_set_new(j, "verified", json_true());
    json_object_set_new(j, "accepted", json_boolean(pst == VEIL_OK));
    json_object_set_new(j, "status", json_string(dcap_tcb_status_name(r.status)));
    json_object_set_new(j, "platform_status", json_string(dcap_tcb_status_name(r.platform_status)));
    json_object_set_new(j, "qe_status", json_string(dcap_tcb_status_name(r.qe_status)));
    json_object_set_new(j, "advisory_ids", json_string(r.advisory_ids));
    hex_put(j, "fmspc", r.fmspc, 6);
    hex_put(j, "mrenclave", b + DCAP_RB_MRENCLAVE, 32);
    hex_put(j, "mrsigner", b + DCAP_RB_MRSIGNER, 32);
    json_object_set_new(j, "isv_prod_id", json_integer(prod));
    json_object_set_new(j, "isv_svn", json_integer(svn));
    hex_put(j, "report_data", b + DCAP_RB_REPORTDATA, 64);
    json_object_set_new(j, "at", json_integer((json_int_t)at));
    if (json) {
        json_dumpf(j, stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        printf("verified: %s (platform %s, QE %s)%s%s\n", dcap_tcb_status_name(r.status),
               dcap_tcb_status_name(r.platform_status), dcap_tcb_status_name(r.qe_status),
               r.advisory_ids[0] ? "; advisories " : "", r.advisory_ids);
        printf("fmspc      %s\nmrenclave  %s\nmrsigner   %s\nisvprodid  %u\nisvsvn     %u\n",
               json_string_value(json_object_get(j, "fmspc")),
               json_string_value(json_object_get(j, "mrenclave")),
               json_string_value(json_object_get(j, "mrsigner")), prod, svn);
    }
    json_decref(j);
    rc = pst == VEIL_OK ? 0 : cli_fail("policy", pst);
out:
    free(quote);
    attest_collateral_free(col);
    return rc;
}

/* The quote of a file: a raw quote, or the quote in an RA-TLS certificate (DER). */
static veil_status quote_of(const char *path, bool cert, uint8_t **quote, size_t *len)
{
    uint8_t *raw = NULL;
    size_t n;
    TRY(veil_file_read(path, cert ? RATLS_CERT_MAX_LEN : DCAP_QUOTE_MAX_LEN, &raw, &n));
    if (!cert) {
        *quote = raw;
        *len = n;
        return VEIL_OK;
    }
    const unsigned char *p = raw;
    X509 *x = d2i_X509(NULL, &p, (long)n);
    veil_status st = VEIL_ERR_MALFORMED;
    if (x != NULL && p == raw + n) st = ratls_cert_evidence(x, quote, len);
    else veil_error_detail_set("%s: not one DER certificate", path);
    X509_free(x);
    free(raw);
    return st;
}

static int report_cmd(int argc, char **argv)
{
    static const struct option opts[] = {{"proxy", required_argument, NULL, 'p'},
                                         {"root", required_argument, NULL, 'r'},
                                         {"nonce", required_argument, NULL, 'n'},
                                         {"max-age", required_argument, NULL, 'm'},
                                         {"accept", required_argument, NULL, 'A'},
                                         {"cert", no_argument, NULL, 'C'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *proxy = "http://127.0.0.1:8441", *root_path = NULL, *nonce = NULL, *accept = "";
    uint64_t max_age = 86400;
    bool json = false, cert = false;
    int c;
    while ((c = getopt_long(argc, argv, "p:r:n:m:A:Cjh", opts, NULL)) != -1) {
        switch (c) {
        case 'p': proxy = optarg; break;
        case 'r': root_path = optarg; break;
        case 'n': nonce = optarg; break;
        case 'A': accept = optarg; break;
        case 'C': cert = true; break;
        case 'j': json = true; break;
        case 'm':
            if (!cli_parse_u64(optarg, 365 * 86400, &max_age) || max_age == 0)
                return cli_usage_error("--max-age must be 1..31536000 seconds");
            break;
        case 'h':
            printf("usage: veil attest report QUOTE --root PEM [--proxy URL] [--nonce TEXT]\n"
                   "                          [--max-age SECONDS] [--accept STATUSES] [--cert]\n"
                   "                          [--json]\n\n"
                   "Asks the attestation service, through the node's proxy, for a report on a\n"
                   "quote and verifies it: the signature under the pinned report-signing root,\n"
                   "the quote body, the nonce, the report's age, then the status by policy\n"
                   "(docs/attestation.md).\n"
                   "  --root PEM         the report-signing root to pin (the service's\n"
                   "                     report-root.crt)\n"
                   "  --proxy URL        the proxy (default http://127.0.0.1:8441)\n"
                   "  --nonce TEXT       up to 32 characters the report must echo\n"
                   "  --max-age SECONDS  oldest acceptable report (default 86400)\n"
                   "  --accept STATUSES  TCB statuses accepted besides UpToDate (Revoked never)\n"
                   "  --cert             QUOTE is an RA-TLS certificate (DER): use its quote\n"
                   "  --json             print the result as JSON\n"
                   "Exit status: 0 if the report verifies and its status is accepted, 1 if not,\n"
                   "2 for a usage error.\n");
            return 0;
        default: return cli_bad_option("attest report", argv);
        }
    }
    if (optind + 1 != argc) return cli_usage_error("attest report takes one QUOTE file");
    if (root_path == NULL) return cli_usage_error("attest report needs --root PEM");
    if (nonce != NULL && strlen(nonce) > IAS_NONCE_MAX)
        return cli_usage_error("--nonce: at most %u characters", IAS_NONCE_MAX);
    dcap_policy policy;
    if (dcap_policy_parse(accept, &policy) != VEIL_OK)
        return cli_usage_error("--accept: %s", veil_error_detail());
    uint8_t *quote = NULL;
    char *root_text = NULL;
    size_t quote_len = 0;
    ias_fetched f = {0};
    int rc = 1;
    veil_status st = quote_of(argv[optind], cert, &quote, &quote_len);
    if (st != VEIL_OK) {
        rc = cli_fail(argv[optind], st);
        goto out;
    }
    if ((st = veil_file_read_text(root_path, 64 * 1024, &root_text, NULL)) != VEIL_OK) {
        rc = cli_fail(root_path, st);
        goto out;
    }
    if ((st = ias_fetch_report(proxy, NULL, NULL, quote, quote_len, nonce, 15000, &f)) != VEIL_OK) {
        rc = cli_fail("attestation report", st);
        goto out;
    }
    ias_report_check chk = {.body = f.body,
                            .body_len = f.body_len,
                            .signature_b64 = f.signature_b64,
                            .signing_chain_pem = f.signing_chain_pem,
                            .root_pem = root_text,
                            .quote = quote,
                            .quote_len = quote_len,
                            .nonce = nonce,
                            .at = (int64_t)time(NULL),
                            .max_age = (int64_t)max_age};
    ias_result r;
    st = ias_report_verify(&chk, &r);
    if (st != VEIL_OK) {
        rc = cli_fail("attestation report", st);
        goto out;
    }
    dcap_result dr = {.status = r.status};
    veil_status pst = dcap_policy_check(&policy, &dr);
    if (json) {
        json_t *j = json_pack("{s:b, s:b, s:s, s:s, s:s, s:I}", "verified", 1, "accepted",
                              pst == VEIL_OK, "status", dcap_tcb_status_name(r.status),
                              "advisory_ids", r.advisory_ids, "id", r.id, "timestamp",
                              (json_int_t)r.timestamp);
        json_dumpf(j, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(j);
    } else {
        printf("report %s: %s%s%s\n", r.id, dcap_tcb_status_name(r.status),
               r.advisory_ids[0] ? "; advisories " : "", r.advisory_ids);
    }
    rc = pst == VEIL_OK ? 0 : cli_fail("policy", pst);
out:
    ias_fetched_free(&f);
    free(quote);
    free(root_text);
    return rc;
}

int cmd_attest(int argc, char **argv)
{
    static const cli_command sub[] = {
        {"verify-quote", verify_quote, "verify an SGX DCAP quote v3 against collateral"},
        {"report", report_cmd, "get and verify an attestation service's report on a quote"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("veil attest", sub, argc, argv);
}
