/* IAS-style attestation reports (host/attest/ias.h): a report signed under a generated
 * RSA report-signing root is accepted for its quote and nonce, each status maps as
 * documented, and every tampering or mismatch is refused with its code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "host/attest/ias.h"
#include "hostutil/fileio.h"
#include "support/dcap_factory.h"

#define T0 DCAPF_T0 /* 2025-01-01: the certificates are valid a year either side */

static EVP_PKEY *g_root_key, *g_sign_key, *g_other_key;
static char *g_root_pem, *g_chain_pem, *g_other_root_pem;
static uint8_t g_quote[1000];

static int setup(void **state)
{
    (void)state;
    g_root_key = EVP_RSA_gen(2048);
    g_sign_key = EVP_RSA_gen(2048);
    g_other_key = EVP_RSA_gen(2048);
    X509 *root = dcapf_cert("Test Report Signing CA", g_root_key, NULL, g_root_key, true, 1);
    X509 *signer = dcapf_cert("Test Report Signing", g_sign_key, root, g_root_key, false, 2);
    X509 *other = dcapf_cert("Another CA", g_other_key, NULL, g_other_key, true, 1);
    g_root_pem = dcapf_pem(&root, 1);
    g_chain_pem = dcapf_pem((X509 *const[]){signer, root}, 2);
    g_other_root_pem = dcapf_pem(&other, 1);
    X509_free(root);
    X509_free(signer);
    X509_free(other);
    for (size_t i = 0; i < sizeof g_quote; i++) g_quote[i] = (uint8_t)(i * 7);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(g_root_key);
    EVP_PKEY_free(g_sign_key);
    EVP_PKEY_free(g_other_key);
    free(g_root_pem);
    free(g_chain_pem);
    free(g_other_root_pem);
    return 0;
}

/* A v4 report for `body_of` (432 bytes), signed by `key`; sig_b64 receives the header. */
static char *report(const char *status, const char *nonce, const uint8_t *body_of,
                    const char *timestamp, EVP_PKEY *key, char *sig_b64, size_t sig_cap)
{
    char qb[600];
    EVP_EncodeBlock((unsigned char *)qb, body_of, (int)IAS_QUOTE_BODY_LEN);
    char *r = malloc(2048);
    snprintf(r, 2048,
             "{\"id\":\"12345678901234567890\",\"timestamp\":\"%s\",\"version\":4,"
             "\"advisoryURL\":\"https://security-center.intel.com\",\"advisoryIDs\":"
             "[\"INTEL-SA-00161\",\"INTEL-SA-00320\"],\"isvEnclaveQuoteStatus\":\"%s\","
             "\"isvEnclaveQuoteBody\":\"%s\"%s%s%s}",
             timestamp, status, qb, nonce ? ",\"nonce\":\"" : "", nonce ? nonce : "",
             nonce ? "\"" : "");
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t sig[512];
    size_t sig_len = sizeof sig;
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)r, strlen(r)), 1);
    EVP_MD_CTX_free(md);
    assert_true(sig_cap > 4 * ((sig_len + 2) / 3));
    EVP_EncodeBlock((unsigned char *)sig_b64, sig, (int)sig_len);
    return r;
}

static ias_report_check check_of(const char *r, const char *sig, const char *nonce)
{
    ias_report_check c = {.body = r,
                          .body_len = strlen(r),
                          .signature_b64 = sig,
                          .signing_chain_pem = g_chain_pem,
                          .root_pem = g_root_pem,
                          .quote = g_quote,
                          .quote_len = sizeof g_quote,
                          .nonce = nonce,
                          .at = T0 + 10,
                          .max_age = 86400};
    return c;
}

static void test_report_accepted_and_statuses(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        veil_status st;
        dcap_tcb_status status;
    } cases[] = {
        {"OK", VEIL_OK, DCAP_TCB_UP_TO_DATE},
        {"SW_HARDENING_NEEDED", VEIL_OK, DCAP_TCB_SW_HARDENING_NEEDED},
        {"CONFIGURATION_NEEDED", VEIL_OK, DCAP_TCB_CONFIGURATION_NEEDED},
        {"CONFIGURATION_AND_SW_HARDENING_NEEDED", VEIL_OK,
         DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED},
        {"GROUP_OUT_OF_DATE", VEIL_OK, DCAP_TCB_OUT_OF_DATE},
        {"GROUP_REVOKED", VEIL_OK, DCAP_TCB_REVOKED},
        {"SIGNATURE_INVALID", VEIL_ERR_TEE_QUOTE_SIGNATURE, 0},
        {"KEY_REVOKED", VEIL_ERR_TEE_QUOTE_SIGNATURE, 0},
        {"WHATEVER", VEIL_ERR_TEE_IAS_REPORT, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char sig[700];
        char *r = report(cases[i].name, "n-1", g_quote, "2025-01-01T00:00:05.123456", g_sign_key,
                         sig, sizeof sig);
        ias_report_check c = check_of(r, sig, "n-1");
        ias_result res;
        assert_int_equal(ias_report_verify(&c, &res), cases[i].st);
        if (cases[i].st == VEIL_OK) {
            assert_int_equal(res.status, cases[i].status);
            assert_string_equal(res.advisory_ids, "INTEL-SA-00161,INTEL-SA-00320");
            assert_string_equal(res.id, "12345678901234567890");
            assert_int_equal(res.timestamp, T0 + 5);
        }
        free(r);
    }
}

static void test_report_refusals(void **state)
{
    (void)state;
    char sig[700], sig2[700];
    ias_result res;
    char *r = report("OK", "n-1", g_quote, "2025-01-01T00:00:05.123456", g_sign_key, sig,
                     sizeof sig);
    ias_report_check c = check_of(r, sig, "n-1");
    assert_int_equal(ias_report_verify(&c, &res), VEIL_OK);
    /* another nonce, or none where one was sent, or one where none was */
    c.nonce = "n-2";
    assert_int_equal(ias_report_verify(&c, &res), VEIL_ERR_TEE_IAS_MISMATCH);
    c.nonce = NULL;
    assert_int_equal(ias_report_verify(&c, &res), VEIL_ERR_TEE_IAS_MISMATCH);
    /* another quote */
    c = check_of(r, sig, "n-1");
    uint8_t other[sizeof g_quote];
    memcpy(other, g_quote, sizeof other);
    other[100] ^= 1;
    c.quote = other;
    assert_int_equal(ias_report_verify(&c, &res), VEIL_ERR_TEE_IAS_MISMATCH);
    /* stale, or from the future */
    c = check_of(r, sig, "n-1");
    c.at = T0 + 2 * 86400;
    assert_int_equal(ias_report_verify(&c, &res), VEIL_ERR_TEE_COLLATERAL_EXPIRED);
    c.at = T0 - 3600;
    assert_int_equal(ias_report_verify(&c, &res), VEIL_ERR_TEE_COLLATERAL_EXPIRED);
    /* one byte of the body changed after signing; a signature of another body */
    c = check_of(r, sig, "n-1");
    char *edited = strdup(r);
    edited[strlen(edited) - 3] ^= 1;
    c.body = edited;
    assert_int_equal(ias_report_verify(&c, &res), VEIL_ERR_TEE_IAS_REPORT);
    free(edited);
    char *r2 = report("OK", "n-1", g_quote, "2025-01-01T00:00:06", g_sign_key, sig2, sizeof sig2);
    c = check_of(r, sig2, "n-1");
    assert_int_equal(ias_report_verify(&c, &res), VEIL_ERR_TEE_IAS_REPORT);
    /* signed by a key outside the pinned root; the pinned root not the signer's */
    char *r3 = report("OK", "n-1", g_quote, "2025-01-01T00:00:06", g_other_key, sig2, sizeof sig2);
    c = check_of(r3, sig2, "n-1");
    assert_int_equal(ias_report_verify(&c, &res), VEIL_ERR_TEE_IAS_REPORT);
    c = check_of(r, sig, "n-1");
    c.root_pem = g_other_root_pem;
    assert_int_equal(ias_report_verify(&c, &res), VEIL_ERR_TEE_IAS_REPORT);
    /* the signing certificate expired */
    c = check_of(r, sig, "n-1");
    c.at = T0 + 86400 * 400;
    c.max_age = 86400 * 500;
    assert_int_equal(ias_report_verify(&c, &res), VEIL_ERR_TEE_COLLATERAL_EXPIRED);
    /* garbage signature, empty body */
    c = check_of(r, "not base64!", "n-1");
    assert_int_equal(ias_report_verify(&c, &res), VEIL_ERR_TEE_IAS_REPORT);
    c = check_of(r, sig, "n-1");
    c.body_len = 0;
    assert_int_equal(ias_report_verify(&c, &res), VEIL_ERR_TEE_IAS_REPORT);
    free(r);
    free(r2);
    free(r3);
}

/* --- Intel's own report ------------------------------------------------------------- */
#define AVR VEIL_TEST_VECTORS "/ias-intel-avr-v4/"

static char *vec_text(const char *name, size_t *len)
{
    uint8_t *b;
    size_t n;
    char path[512];
    snprintf(path, sizeof path, "%s%s", AVR, name);
    assert_int_equal(veil_file_read(path, 1 << 16, &b, &n), VEIL_OK);
    char *s = malloc(n + 1);
    memcpy(s, b, n);
    s[n] = 0;
    free(b);
    if (len != NULL) *len = n;
    return s;
}

/* A genuine IAS v4 report, signed by Intel's report-signing key, verifies under Intel's
 * report-signing CA at a time within the signing certificate's validity, with its
 * status and advisory; its signing certificate has expired since (2026-11-20). */
static void test_genuine_intel_report(void **state)
{
    (void)state;
    size_t body_len, quote_len;
    char *body = vec_text("report.json", &body_len), *sig = vec_text("signature.b64", NULL),
         *chain = vec_text("signing-chain.pem", NULL), *root = vec_text("report-signing-ca.pem", NULL),
         *quote = vec_text("quote-body.bin", &quote_len);
    assert_int_equal(quote_len, IAS_QUOTE_BODY_LEN);
    ias_report_check c = {.body = body,
                          .body_len = body_len,
                          .signature_b64 = sig,
                          .signing_chain_pem = chain,
                          .root_pem = root,
                          .quote = (const uint8_t *)quote,
                          .quote_len = quote_len,
                          .nonce = "biNMqBAuTPF2hp/0fXa4P3splRkLHJf0",
                          .at = INT64_C(1589189400), /* 2020-05-11T09:30:00Z */
                          .max_age = 3600};
    ias_result r;
    assert_int_equal(ias_report_verify(&c, &r), VEIL_OK);
    assert_int_equal(r.status, DCAP_TCB_SW_HARDENING_NEEDED);
    assert_string_equal(r.advisory_ids, "INTEL-SA-00334");
    assert_string_equal(r.id, "323119119247496566074708526703373820736");
    /* After the signing certificate's notAfter: expired. */
    c.at = INT64_C(1795651200); /* 2026-11-25 */
    c.max_age = INT64_C(7) * 365 * 86400;
    assert_int_equal(ias_report_verify(&c, &r), VEIL_ERR_TEE_COLLATERAL_EXPIRED);
    c.at = INT64_C(1589189400);
    c.max_age = 3600;
    /* Another nonce; another root; one byte of the body changed. */
    c.nonce = "biNMqBAuTPF2hp/0fXa4P3splRkLHJf1";
    assert_int_equal(ias_report_verify(&c, &r), VEIL_ERR_TEE_IAS_MISMATCH);
    c.nonce = "biNMqBAuTPF2hp/0fXa4P3splRkLHJf0";
    c.root_pem = g_root_pem;
    assert_int_equal(ias_report_verify(&c, &r), VEIL_ERR_TEE_IAS_REPORT);
    c.root_pem = root;
    body[body_len - 5] ^= 1;
    assert_int_equal(ias_report_verify(&c, &r), VEIL_ERR_TEE_IAS_REPORT);
    body[body_len - 5] ^= 1;
    assert_int_equal(ias_report_verify(&c, &r), VEIL_OK);
    free(body);
    free(sig);
    free(chain);
    free(root);
    free(quote);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_accepted_and_statuses),
        cmocka_unit_test(test_report_refusals),
        cmocka_unit_test(test_genuine_intel_report),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
