/* veil-bench-attest: SGX DCAP quote verification with collateral checked once, against
 * the ECDSA P-256 verifications it performs.
 *
 *   quote_verify_per_s        dcap_verifier_check of Intel's sample quote (its PCK chain
 *                             remembered), one thread
 *   quote_verify_bound_per_s  the P-256 verification rate (OpenSSL, one thread) divided by
 *                             the two a warm check performs (QE report, quote)
 *   quote_verify_cold_per_s   dcap_verify: collateral, chains and the quote, every time
 * Target (docs/attestation.md): quote_verify_per_s >= 0.8 x quote_verify_bound_per_s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "crypto/crypto.h"
#include "crypto/crypto_host.h"
#include "host/attest/attest.h"
#include "hostutil/fileio.h"

#ifndef VEIL_SOURCE_DIR
#error "VEIL_SOURCE_DIR must be defined by the build"
#endif
#define SAMPLE VEIL_SOURCE_DIR "/tests/vectors/dcap-intel-sample/"
#define AT INT64_C(1735689600) /* 2025-01-01: inside the sample's validity */

static uint8_t *g_quote;
static size_t g_quote_len;
static dcap_collateral g_col;
static dcap_verifier *g_v;
static EVP_PKEY *g_key;
static uint8_t g_sig[VEIL_P256_SIG_LEN], g_msg[432];

static bool run_check(void *ctx, uint64_t n)
{
    (void)ctx;
    dcap_result r;
    for (uint64_t i = 0; i < n; i++)
        if (dcap_verifier_check(g_v, g_quote, g_quote_len, &r) != VEIL_OK ||
            r.status != DCAP_TCB_UP_TO_DATE)
            return bench_fail("quote check failed");
    return true;
}

static bool run_cold(void *ctx, uint64_t n)
{
    (void)ctx;
    dcap_result r;
    for (uint64_t i = 0; i < n; i++)
        if (dcap_verify(g_quote, g_quote_len, &g_col, AT, &r) != VEIL_OK)
            return bench_fail("quote verify failed");
    return true;
}

static bool run_p256(void *ctx, uint64_t n)
{
    (void)ctx;
    for (uint64_t i = 0; i < n; i++)
        if (veil_p256_verify(g_key, g_msg, sizeof g_msg, g_sig) != VEIL_OK)
            return bench_fail("p256 verify failed");
    return true;
}

int main(int argc, char **argv)
{
    (void)argc;
    bench_init(argv[0]);
    if (veil_crypto_init() != VEIL_OK) bench_die("crypto init");
    double min_s = bench_min_seconds();
    attest_collateral *col;
    if (veil_file_read(SAMPLE "quote.dat", DCAP_QUOTE_MAX_LEN, &g_quote, &g_quote_len) != VEIL_OK ||
        attest_collateral_load(SAMPLE, &col) != VEIL_OK)
        bench_die("Intel's sample: %s", veil_error_detail());
    g_col = *attest_collateral_view(col);
    if (dcap_verifier_new(&g_col, AT, &g_v) != VEIL_OK) bench_die("verifier: collateral refused");
    if (veil_p256_keygen(&g_key) != VEIL_OK) bench_die("keygen");
    memset(g_msg, 0x5a, sizeof g_msg); /* the size of the quote's signed bytes */
    if (veil_p256_sign(g_key, g_msg, sizeof g_msg, g_sig) != VEIL_OK) bench_die("sign");

    double check = bench_run(run_check, NULL, min_s, NULL);
    double p256 = bench_run(run_p256, NULL, min_s, NULL);
    double cold = bench_run(run_cold, NULL, min_s, NULL);
    if (check < 0 || p256 < 0 || cold < 0) return 1;
    bench_print("quote_verify_per_s", check, "quotes/s");
    bench_print("quote_verify_bound_per_s", p256 / 2, "quotes/s");
    bench_print("quote_verify_cold_per_s", cold, "quotes/s");
    bench_note("P-256 verify (OpenSSL, %zu-byte message): %.0f/s; a warm check performs 2",
               sizeof g_msg, p256);
    bench_note("target: %.0f >= 0.8 x %.0f = %.0f quotes/s (ratio %.2f): %s", check, p256 / 2,
               0.8 * p256 / 2, check / (p256 / 2), check >= 0.8 * p256 / 2 ? "PASS" : "MISS");
    dcap_verifier_free(g_v);
    attest_collateral_free(col);
    free(g_quote);
    EVP_PKEY_free(g_key);
    return 0;
}
