/* veil attest verify-quote — an SGX DCAP quote v3 against collateral, as an operator
 * checks a platform (docs/attestation.md). */
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

int cmd_attest(int argc, char **argv)
{
    static const cli_command sub[] = {
        {"verify-quote", verify_quote, "verify an SGX DCAP quote v3 against collateral"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("veil attest", sub, argc, argv);
}
