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
#include "host/attest/dcap.h"

#ifndef VEIL_SOURCE_DIR
#error "VEIL_SOURCE_DIR must be defined by the build"
#endif
#define SAMPLE VEIL_SOURCE_DIR "/tests/vectors/dcap-intel-sample/"
#define AT INT64_C(1735689600) /* 2025-01-01: inside the sample's validity */

typedef struct blob {
    uint8_t *p;
    size_t n;
} blob;

static blob load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s%s", SAMPLE, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) bench_die("cannot open %s", path);
    blob b = {malloc(1 << 16), 0};
    if (b.p == NULL) bench_die("out of memory");
    b.n = fread(b.p, 1, (1 << 16) - 1, f);
    b.p[b.n] = 0;
    fclose(f);
    return b;
}

static blob g_quote;
static dcap_collateral g_col;
static dcap_verifier *g_v;
static EVP_PKEY *g_key;
static uint8_t g_sig[VEIL_P256_SIG_LEN], g_msg[432];

static bool run_check(void *ctx, uint64_t n)
{
    (void)ctx;
    dcap_result r;
    for (uint64_t i = 0; i < n; i++)
        if (dcap_verifier_check(g_v, g_quote.p, g_quote.n, &r) != VEIL_OK ||
            r.status != DCAP_TCB_UP_TO_DATE)
            return bench_fail("quote check failed");
    return true;
}

static bool run_cold(void *ctx, uint64_t n)
{
    (void)ctx;
    dcap_result r;
    for (uint64_t i = 0; i < n; i++)
        if (dcap_verify(g_quote.p, g_quote.n, &g_col, AT, &r) != VEIL_OK)
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
    g_quote = load("quote.dat");
    blob root = load("trustedRootCaCert.pem"), pck = load("pckCert.pem"),
         chain = load("pckSignChain.pem"), rcrl = load("rootCaCrl.der"),
         pcrl = load("intermediateCaCrl.der"), tcb = load("tcbInfo.json"),
         tchain = load("tcbSignChain.pem"), qe = load("qeIdentity.json");
    g_col = (dcap_collateral){.root_ca_pem = (const char *)root.p,
                              .pck_cert_pem = (const char *)pck.p,
                              .pck_chain_pem = (const char *)chain.p,
                              .root_crl = rcrl.p,
                              .root_crl_len = rcrl.n,
                              .pck_crl = pcrl.p,
                              .pck_crl_len = pcrl.n,
                              .tcb_info_json = (const char *)tcb.p,
                              .tcb_info_len = tcb.n,
                              .tcb_chain_pem = (const char *)tchain.p,
                              .qe_identity_json = (const char *)qe.p,
                              .qe_identity_len = qe.n};
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
    EVP_PKEY_free(g_key);
    blob *all[] = {&g_quote, &root, &pck, &chain, &rcrl, &pcrl, &tcb, &tchain, &qe};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]->p);
    return 0;
}
