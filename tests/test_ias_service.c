/* The IAS-style attestation service and the per-node proxy (host/attest/ias_service.h),
 * running as real HTTPS and HTTP servers on loopback: a simulated enclave's quote gets
 * a report through the proxy that verifies under the service's report-signing root; the
 * service refuses a missing or wrong subscription key, a malformed request or quote,
 * and stale collateral; the proxy refuses a foreign caller, rate-limits, and says 502
 * when the service is down; a report with a wrong nonce, a stale timestamp or a bad
 * signature is refused by the verifier. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/pem.h>

#include "crypto/crypto.h"
#include "host/attest/ias_service.h"
#include "hostutil/fileio.h"
#include "tee/sim/sim_host.h"
#include "tee/sim/sim_pcs.h"
#include "support/ias_world.h"
#include "tee/tee.h"

#define TEST_ENCLAVE_IMG VEIL_BUILD_DIR "/enclaves/test_enclave.signed.so"
#define TE_QUOTE 5 /* tests/enclave/test_enclave.h */
#define KEY IAS_WORLD_KEY

static char g_dir[64], g_root_ca[128], g_tls_crt[320];
static uint8_t g_quote[TEE_QUOTE_MAX_LEN];
static size_t g_quote_len;
static attest_collateral *g_coll, *g_coll_recovered;
static char *g_root_pem, *g_tls_cert_pem;
static ias_world g_world;
#define g_svc (g_world.svc)
static char g_service_url[64];

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(g_dir, sizeof g_dir, "/tmp/veil-test-ias-XXXXXX");
    if (mkdtemp(g_dir) == NULL) return -1;
    char plat[128], bundle[192];
    snprintf(plat, sizeof plat, "%s/p", g_dir);
    snprintf(g_root_ca, sizeof g_root_ca, "%s/r", g_dir);
    if (sim_platform_provision(plat, g_root_ca, 1, false) != VEIL_OK) return -1;
    tee_platform *p;
    tee_enclave *e;
    if (tee_platform_open(plat, &p) != VEIL_OK ||
        tee_enclave_load(p, TEST_ENCLAVE_IMG, NULL, 0, &e) != VEIL_OK)
        return -1;
    uint8_t rd[64];
    memset(rd, 0x5a, sizeof rd);
    if (tee_enclave_call(e, TE_QUOTE, rd, sizeof rd, g_quote, sizeof g_quote, &g_quote_len) !=
        VEIL_OK)
        return -1;
    tee_enclave_destroy(e);
    tee_platform_close(p);
    snprintf(bundle, sizeof bundle, "%s/%s", g_root_ca, SIM_COLLATERAL_FILE);
    if (ias_world_start(&g_world, g_dir, bundle) != 0) return -1;
    g_coll = g_world.collateral;
    snprintf(bundle, sizeof bundle, "%s/recovered.json", g_dir);
    if (sim_pcs_write_collateral(g_root_ca, 2, (int64_t)time(NULL), 30, bundle) != VEIL_OK ||
        attest_collateral_load(bundle, &g_coll_recovered) != VEIL_OK)
        return -1;
    snprintf(g_tls_crt, sizeof g_tls_crt, "%s", g_world.tls_crt);
    g_root_pem = g_world.root_pem;
    g_tls_cert_pem = g_world.tls_cert_pem;
    snprintf(g_service_url, sizeof g_service_url, "%s", g_world.service_url);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ias_world_stop(&g_world);
    attest_collateral_free(g_coll_recovered);
    veil_remove_tree(g_dir);
    curl_global_cleanup();
    return 0;
}

/* A proxy in front of the service (or of `service_url`), on a free loopback port. */
typedef struct proxy_run {
    ias_proxy *p;
    http_server *srv;
    char url[64];
} proxy_run;

static void proxy_start(proxy_run *r, const char *service_url, const char *allow, unsigned burst)
{
    ias_proxy_config pc = {.service_url = service_url,
                           .service_ca = g_tls_crt,
                           .key = KEY,
                           .rate_per_s = 1,
                           .burst = burst,
                           .allow = allow,
                           .timeout_ms = 3000};
    assert_int_equal(ias_proxy_new(&pc, &r->p), VEIL_OK);
    http_server_config hc = {.addr = "127.0.0.1:0",
                             .max_body = IAS_REQUEST_MAX,
                             .handler = ias_proxy_handle,
                             .ctx = r->p};
    assert_int_equal(http_server_start(&hc, &r->srv), VEIL_OK);
    snprintf(r->url, sizeof r->url, "http://127.0.0.1:%u", (unsigned)http_server_port(r->srv));
}

static void proxy_stop(proxy_run *r)
{
    http_server_stop(r->srv);
    ias_proxy_free(r->p);
}

static veil_status check(const ias_fetched *f, const char *nonce, int64_t at, int64_t max_age,
                         ias_result *r)
{
    ias_report_check c = {.body = f->body,
                          .body_len = f->body_len,
                          .signature_b64 = f->signature_b64,
                          .signing_chain_pem = f->signing_chain_pem,
                          .root_pem = g_root_pem,
                          .quote = g_quote,
                          .quote_len = g_quote_len,
                          .nonce = nonce,
                          .at = at,
                          .max_age = max_age};
    return ias_report_verify(&c, r);
}

static void test_report_through_proxy(void **state)
{
    (void)state;
    proxy_run pr;
    proxy_start(&pr, g_service_url, NULL, 20);
    ias_fetched f;
    ias_result r;
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(ias_fetch_report(pr.url, NULL, NULL, g_quote, g_quote_len, "n-0001", 5000, &f),
                     VEIL_OK);
    assert_non_null(strstr(f.body, "\"isvEnclaveQuoteStatus\":\"OK\""));
    assert_int_equal(check(&f, "n-0001", now, 3600, &r), VEIL_OK);
    assert_int_equal(r.status, DCAP_TCB_UP_TO_DATE);
    /* The verifier's refusals: another nonce, no nonce, a stale report, another quote,
     * a changed body, another root. */
    assert_int_equal(check(&f, "n-0002", now, 3600, &r), VEIL_ERR_TEE_IAS_MISMATCH);
    assert_int_equal(check(&f, NULL, now, 3600, &r), VEIL_ERR_TEE_IAS_MISMATCH);
    assert_int_equal(check(&f, "n-0001", now + 7200, 3600, &r), VEIL_ERR_TEE_COLLATERAL_EXPIRED);
    g_quote[100] ^= 1;
    assert_int_equal(check(&f, "n-0001", now, 3600, &r), VEIL_ERR_TEE_IAS_MISMATCH);
    g_quote[100] ^= 1;
    char *at = strstr(f.body, "\"OK\"");
    at[1] = 'K';
    assert_int_equal(check(&f, "n-0001", now, 3600, &r), VEIL_ERR_TEE_IAS_REPORT);
    at[1] = 'O';
    ias_report_check c = {.body = f.body, .body_len = f.body_len,
                          .signature_b64 = f.signature_b64,
                          .signing_chain_pem = f.signing_chain_pem,
                          .root_pem = g_tls_cert_pem, /* not the report-signing root */
                          .quote = g_quote, .quote_len = g_quote_len, .nonce = "n-0001",
                          .at = now, .max_age = 3600};
    assert_int_equal(ias_report_verify(&c, &r), VEIL_ERR_TEE_IAS_REPORT);
    ias_fetched_free(&f);

    /* A quote whose signature is broken: the service answers SIGNATURE_INVALID, which
     * the verifier turns into a refusal. */
    g_quote[48 + 384 + 4 + 5] ^= 1;
    assert_int_equal(ias_fetch_report(pr.url, NULL, NULL, g_quote, g_quote_len, NULL, 5000, &f),
                     VEIL_OK);
    assert_non_null(strstr(f.body, "SIGNATURE_INVALID"));
    assert_int_equal(check(&f, NULL, now, 3600, &r), VEIL_ERR_TEE_QUOTE_SIGNATURE);
    g_quote[48 + 384 + 4 + 5] ^= 1;
    ias_fetched_free(&f);

    /* Not a quote at all: 400, nothing to verify. */
    uint8_t junk[500];
    memset(junk, 7, sizeof junk);
    assert_int_equal(ias_fetch_report(pr.url, NULL, NULL, junk, sizeof junk, NULL, 5000, &f),
                     VEIL_ERR_TEE_IAS_REFUSED);
    assert_non_null(strstr(veil_error_detail(), "HTTP 400"));
    /* SigRL: empty. */
    proxy_stop(&pr);
}

static void test_service_statuses_and_keys(void **state)
{
    (void)state;
    ias_fetched f;
    ias_result r;
    int64_t now = (int64_t)time(NULL);
    /* Straight to the service: it wants a subscription key it knows. */
    assert_int_equal(ias_fetch_report(g_service_url, g_tls_crt, NULL, g_quote, g_quote_len, NULL,
                                      5000, &f),
                     VEIL_ERR_TEE_IAS_REFUSED);
    assert_non_null(strstr(veil_error_detail(), "HTTP 401"));
    assert_int_equal(ias_fetch_report(g_service_url, g_tls_crt, "wrong", g_quote, g_quote_len,
                                      NULL, 5000, &f),
                     VEIL_ERR_TEE_IAS_REFUSED);
    /* Another CA for the service's TLS certificate: no connection at all. */
    char other_ca[320];
    snprintf(other_ca, sizeof other_ca, "%s/%s", g_world.home, IAS_ROOT_CERT_FILE);
    assert_int_equal(ias_fetch_report(g_service_url, other_ca, KEY, g_quote, g_quote_len, NULL,
                                      5000, &f),
                     VEIL_ERR_TEE_IAS_UNAVAILABLE);
    assert_int_equal(ias_fetch_report(g_service_url, g_tls_crt, KEY, g_quote, g_quote_len, NULL,
                                      5000, &f),
                     VEIL_OK);
    ias_fetched_free(&f);

    /* After a TCB recovery the platform is out of date: GROUP_OUT_OF_DATE with the
     * advisory; a policy accepts it only if configured to. */
    g_svc.collateral = g_coll_recovered;
    assert_int_equal(ias_fetch_report(g_service_url, g_tls_crt, KEY, g_quote, g_quote_len, NULL,
                                      5000, &f),
                     VEIL_OK);
    assert_int_equal(check(&f, NULL, now, 3600, &r), VEIL_OK);
    assert_int_equal(r.status, DCAP_TCB_OUT_OF_DATE);
    assert_string_equal(r.advisory_ids, "VEIL-SIM-00001");
    dcap_policy pol;
    dcap_result dr = {.status = r.status};
    dcap_policy_default(&pol);
    assert_int_equal(dcap_policy_check(&pol, &dr), VEIL_ERR_TEE_TCB_REFUSED);
    ias_fetched_free(&f);
    g_svc.collateral = g_coll;

    /* The service's own collateral expired: 503, no report. */
    char stale_path[192];
    attest_collateral *stale;
    snprintf(stale_path, sizeof stale_path, "%s/stale.json", g_dir);
    assert_int_equal(sim_pcs_write_collateral(g_root_ca, 1, now - 40 * 86400, 30, stale_path),
                     VEIL_OK);
    assert_int_equal(attest_collateral_load(stale_path, &stale), VEIL_OK);
    g_svc.collateral = stale;
    assert_int_equal(ias_fetch_report(g_service_url, g_tls_crt, KEY, g_quote, g_quote_len, NULL,
                                      5000, &f),
                     VEIL_ERR_TEE_IAS_REFUSED);
    assert_non_null(strstr(veil_error_detail(), "HTTP 503"));
    g_svc.collateral = g_coll;
    attest_collateral_free(stale);
}

static void test_proxy_refusals(void **state)
{
    (void)state;
    ias_fetched f;
    /* A caller the proxy does not serve. */
    proxy_run pr;
    proxy_start(&pr, g_service_url, "127.0.0.2", 20);
    assert_int_equal(ias_fetch_report(pr.url, NULL, NULL, g_quote, g_quote_len, NULL, 5000, &f),
                     VEIL_ERR_TEE_IAS_REFUSED);
    assert_non_null(strstr(veil_error_detail(), "HTTP 403"));
    proxy_stop(&pr);
    /* Rate limit: a burst of 2, then 429. */
    proxy_start(&pr, g_service_url, NULL, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(
            ias_fetch_report(pr.url, NULL, NULL, g_quote, g_quote_len, NULL, 5000, &f), VEIL_OK);
        ias_fetched_free(&f);
    }
    assert_int_equal(ias_fetch_report(pr.url, NULL, NULL, g_quote, g_quote_len, NULL, 5000, &f),
                     VEIL_ERR_TEE_IAS_REFUSED);
    assert_non_null(strstr(veil_error_detail(), "HTTP 429"));
    proxy_stop(&pr);
    /* The service down: 502 from the proxy, and nothing to accept. */
    proxy_start(&pr, "https://127.0.0.1:1", NULL, 20);
    assert_int_equal(ias_fetch_report(pr.url, NULL, NULL, g_quote, g_quote_len, NULL, 5000, &f),
                     VEIL_ERR_TEE_IAS_REFUSED);
    assert_non_null(strstr(veil_error_detail(), "HTTP 502"));
    assert_non_null(strstr(veil_error_detail(), "unreachable"));
    proxy_stop(&pr);
    /* The proxy down: unavailable. */
    assert_int_equal(ias_fetch_report(pr.url, NULL, NULL, g_quote, g_quote_len, NULL, 2000, &f),
                     VEIL_ERR_TEE_IAS_UNAVAILABLE);
    /* A proxy never sends the key over plain HTTP. */
    ias_proxy *p;
    ias_proxy_config pc = {.service_url = "http://127.0.0.1:1", .service_ca = g_tls_crt, .key = KEY};
    assert_int_equal(ias_proxy_new(&pc, &p), VEIL_ERR_USAGE);
}

static void test_service_requests(void **state)
{
    (void)state;
    /* The handler on hand-made requests (what fuzz_ias_service does at scale). */
    static const struct {
        const char *method, *url, *body;
        unsigned status;
    } cases[] = {
        {"GET", "/attestation/v4/report", NULL, 405},
        {"POST", "/attestation/v3/report", "{}", 404},
        {"POST", "/attestation/v4/report", "{}", 400},
        {"POST", "/attestation/v4/report", "{\"isvEnclaveQuote\":\"AAAA\"}", 400},
        {"POST", "/attestation/v4/report", "{\"isvEnclaveQuote\":\"!!!!\"}", 400},
        {"POST", "/attestation/v4/report", "{\"isvEnclaveQuote\":\"AAAA\",\"x\":1}", 400},
        {"POST", "/attestation/v4/report",
         "{\"isvEnclaveQuote\":\"AAAA\",\"nonce\":\"0123456789012345678901234567890123\"}", 400},
        {"POST", "/attestation/v4/report", "[1]", 400},
        {"GET", "/attestation/v4/sigrl/00000a1b", NULL, 200},
        {"GET", "/attestation/v4/sigrl/xyz", NULL, 400},
    };
    CURL *c = curl_easy_init();
    char url[256], hdr[128];
    snprintf(hdr, sizeof hdr, "Ocp-Apim-Subscription-Key: %s", KEY);
    struct curl_slist *hl = curl_slist_append(NULL, hdr);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        curl_easy_reset(c);
        snprintf(url, sizeof url, "%s%s", g_service_url, cases[i].url);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CAINFO, g_tls_crt);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fwrite);
        FILE *devnull = fopen("/dev/null", "w");
        curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, cases[i].method);
        if (cases[i].body != NULL) curl_easy_setopt(c, CURLOPT_POSTFIELDS, cases[i].body);
        assert_int_equal(curl_easy_perform(c), CURLE_OK);
        long st = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
        fclose(devnull);
        if ((unsigned)st != cases[i].status)
            fail_msg("%s %s %s: got HTTP %ld, want %u", cases[i].method, cases[i].url,
                     cases[i].body ? cases[i].body : "", st, cases[i].status);
    }
    /* A body over the limit: 413. */
    char *big = malloc(IAS_REQUEST_MAX + 2);
    memset(big, 'a', IAS_REQUEST_MAX + 1);
    big[IAS_REQUEST_MAX + 1] = 0;
    curl_easy_reset(c);
    snprintf(url, sizeof url, "%s/attestation/v4/report", g_service_url);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, g_tls_crt);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, big);
    FILE *devnull = fopen("/dev/null", "w");
    curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    assert_int_equal(st, 413);
    fclose(devnull);
    free(big);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_through_proxy),
        cmocka_unit_test(test_service_statuses_and_keys),
        cmocka_unit_test(test_proxy_refusals),
        cmocka_unit_test(test_service_requests),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
