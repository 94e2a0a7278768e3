/* veil-bench-tee: what the TEE layer costs, next to the raw primitive it wraps.
 *
 *   veil-bench-tee [SIGNED_TEST_ENCLAVE]
 *
 * Provisions a fresh sim platform in a temporary directory (removed at exit), loads the
 * test enclave (default: <build>/enclaves/test_enclave.signed.so) and measures, each
 * in the same run as its raw counterpart:
 *   - an empty ecall round trip          vs an indirect call to a no-op function
 *   - seal+unseal of 512 B and 64 KiB    vs veil_aead_seal + veil_aead_open
 *   - quote create+verify                vs ECDSA P-256 sign + verify over 148 bytes
 * Every call's status is checked; any failure exits 1 before a figure is printed.
 * Output: "BENCH <name> <value> <unit>" per figure, "#" context lines (bench.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "common/cursor.h"
#include "crypto/crypto.h"
#include "crypto/crypto_host.h"
#include "host/attest/attest.h"
#include "hostutil/fileio.h"
#include "tee/sim/sim_host.h"
#include "tee/tee.h"
#include "test_enclave.h"

#ifndef VEIL_BUILD_DIR
#error "VEIL_BUILD_DIR must be defined by the build"
#endif
#define DEFAULT_IMAGE VEIL_BUILD_DIR "/enclaves/test_enclave.signed.so"

#define PLATFORM_TCB 3
#define SEAL_AAD_LEN 32u
#define QUOTE_SIGNED_LEN 432u /* bytes a quote v3 signs: header || report body */

/* Everything the atexit cleanup releases. */
static struct {
    char dir[64];
    bool have_dir;
    tee_platform *platform;
    tee_enclave *enclave;
    attest_collateral *collateral;
    EVP_PKEY *p256;
} g;

static void cleanup(void)
{
    tee_enclave_destroy(g.enclave);
    g.enclave = NULL;
    tee_platform_close(g.platform);
    g.platform = NULL;
    attest_collateral_free(g.collateral);
    g.collateral = NULL;
    EVP_PKEY_free(g.p256);
    g.p256 = NULL;
    if (g.have_dir) {
        veil_remove_tree(g.dir);
        g.have_dir = false;
    }
}

static _Noreturn void die_status(const char *what, veil_status st)
{
    const char *detail = veil_error_detail();
    bench_die("%s: %s (%d)%s%s", what, veil_status_str(st), (int)st, *detail ? ": " : "",
              detail);
}

#define CHECK(what, expr)                                                                \
    do {                                                                                 \
        veil_status check_st_ = (expr);                                                  \
        if (check_st_ != VEIL_OK) die_status((what), check_st_);                         \
    } while (0)

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL) bench_die("out of memory (%zu bytes)", n);
    return p;
}

static void random_fill(void *buf, size_t n)
{
    CHECK("veil_random_bytes", veil_random_bytes(buf, n));
}

/* Runs fn for the minimum duration; dies if it failed. */
static double measure(const char *what, bench_fn fn, void *ctx)
{
    bench_result r;
    if (bench_run(fn, ctx, bench_min_seconds(), &r) < 0) bench_die("%s: benchmark failed", what);
    bench_note("%s: %llu ops in %.2f s", what, (unsigned long long)r.ops, r.seconds);
    return r.ops_per_s;
}

/* --- empty ecall round trip vs an indirect call ---------------------------------- */
static void noop(void) {}
/* volatile: the pointer is reloaded every call, so the call cannot be inlined or elided. */
static void (*volatile g_noop)(void) = noop;

static bool run_raw_call(void *ctx, uint64_t iters)
{
    (void)ctx;
    for (uint64_t i = 0; i < iters; i++) g_noop();
    return true;
}

static bool run_ping(void *ctx, uint64_t iters)
{
    tee_enclave *e = ctx;
    for (uint64_t i = 0; i < iters; i++) {
        size_t n = 1;
        veil_status st = tee_enclave_call(e, TE_PING, NULL, 0, NULL, 0, &n);
        if (st != VEIL_OK) die_status("ecall TE_PING", st);
        if (n != 0) bench_die("ecall TE_PING returned %zu bytes, expected 0", n);
    }
    return true;
}

/* --- seal + unseal vs raw AEAD ----------------------------------------------------- */
typedef struct seal_ctx {
    tee_enclave *e;
    size_t n;            /* plaintext bytes */
    uint8_t *plain;      /* n */
    uint8_t *seal_in;    /* policy u8 || aad_len u32 || aad || plaintext */
    size_t seal_in_len;
    uint8_t *unseal_in;  /* aad_len u32 || aad || blob: TE_SEAL writes the blob in place */
    uint8_t *out;        /* n: unsealed / opened plaintext */
    /* raw AEAD */
    uint8_t key[VEIL_AEAD_KEY_LEN];
    uint8_t nonce[VEIL_AEAD_NONCE_LEN];
    uint8_t aad[SEAL_AAD_LEN];
    uint8_t *ct;         /* n + tag */
} seal_ctx;

static void seal_ctx_init(seal_ctx *c, tee_enclave *e, size_t n)
{
    memset(c, 0, sizeof *c);
    c->e = e;
    c->n = n;
    c->plain = xmalloc(n);
    c->out = xmalloc(n);
    c->ct = xmalloc(n + VEIL_AEAD_TAG_LEN);
    c->seal_in_len = 1 + 4 + SEAL_AAD_LEN + n;
    c->seal_in = xmalloc(c->seal_in_len);
    c->unseal_in = xmalloc(4 + SEAL_AAD_LEN + TEE_SEAL_OVERHEAD_MAX + n);
    random_fill(c->plain, n);
    random_fill(c->aad, sizeof c->aad);
    random_fill(c->key, sizeof c->key);
    random_fill(c->nonce, sizeof c->nonce);

    c->seal_in[0] = (uint8_t)TEE_POLICY_MRSIGNER;
    veil_put_u32(c->seal_in + 1, SEAL_AAD_LEN);
    memcpy(c->seal_in + 5, c->aad, SEAL_AAD_LEN);
    memcpy(c->seal_in + 5 + SEAL_AAD_LEN, c->plain, n);
    veil_put_u32(c->unseal_in, SEAL_AAD_LEN);
    memcpy(c->unseal_in + 4, c->aad, SEAL_AAD_LEN);
}

static void seal_ctx_free(seal_ctx *c)
{
    free(c->plain);
    free(c->out);
    free(c->ct);
    free(c->seal_in);
    free(c->unseal_in);
}

static bool run_tee_seal_unseal(void *ctx, uint64_t iters)
{
    seal_ctx *c = ctx;
    uint8_t *blob = c->unseal_in + 4 + SEAL_AAD_LEN;
    for (uint64_t i = 0; i < iters; i++) {
        size_t blob_len = 0, pt_len = 0;
        veil_status st = tee_enclave_call(c->e, TE_SEAL, c->seal_in, c->seal_in_len, blob,
                                          TEE_SEAL_OVERHEAD_MAX + c->n, &blob_len);
        if (st != VEIL_OK) die_status("ecall TE_SEAL", st);
        if (blob_len != TEE_SEAL_OVERHEAD_MAX + c->n)
            bench_die("ecall TE_SEAL returned %zu bytes, expected %zu", blob_len,
                      TEE_SEAL_OVERHEAD_MAX + c->n);
        st = tee_enclave_call(c->e, TE_UNSEAL, c->unseal_in, 4 + SEAL_AAD_LEN + blob_len, c->out,
                              c->n, &pt_len);
        if (st != VEIL_OK) die_status("ecall TE_UNSEAL", st);
        if (pt_len != c->n)
            bench_die("ecall TE_UNSEAL returned %zu bytes, expected %zu", pt_len, c->n);
    }
    return true;
}

static bool run_raw_aead(void *ctx, uint64_t iters)
{
    seal_ctx *c = ctx;
    for (uint64_t i = 0; i < iters; i++) {
        CHECK("veil_aead_seal", veil_aead_seal(c->key, c->nonce, c->aad, SEAL_AAD_LEN, c->plain,
                                               c->n, c->ct));
        CHECK("veil_aead_open", veil_aead_open(c->key, c->nonce, c->aad, SEAL_AAD_LEN, c->ct,
                                               c->n + VEIL_AEAD_TAG_LEN, c->out));
    }
    return true;
}

/* The last operation must have given back the plaintext. */
static void check_roundtrip(seal_ctx *c, const char *what)
{
    if (memcmp(c->out, c->plain, c->n) != 0)
        bench_die("%s of %zu bytes did not give back the plaintext", what, c->n);
    memset(c->out, 0, c->n);
}

static void bench_seal(tee_enclave *e, size_t n, const char *label)
{
    char name[96], what[96];
    seal_ctx c;
    seal_ctx_init(&c, e, n);
    double mb = (double)n * 2 / 1e6; /* MB per op */

    run_tee_seal_unseal(&c, 1);
    check_roundtrip(&c, "TE_SEAL+TE_UNSEAL");
    snprintf(what, sizeof what, "tee seal+unseal %s", label);
    double tee = measure(what, run_tee_seal_unseal, &c);
    check_roundtrip(&c, "TE_SEAL+TE_UNSEAL");

    run_raw_aead(&c, 1);
    check_roundtrip(&c, "veil_aead_seal+veil_aead_open");
    snprintf(what, sizeof what, "raw aead %s", label);
    double raw = measure(what, run_raw_aead, &c);
    check_roundtrip(&c, "veil_aead_seal+veil_aead_open");

    snprintf(name, sizeof name, "tee_seal_unseal_%s_ops_per_s", label);
    bench_print(name, tee, "ops/s");
    snprintf(name, sizeof name, "tee_seal_unseal_%s_mb_per_s", label);
    bench_print(name, tee * mb, "MB/s");
    snprintf(name, sizeof name, "raw_aead_%s_ops_per_s", label);
    bench_print(name, raw, "ops/s");
    snprintf(name, sizeof name, "raw_aead_%s_mb_per_s", label);
    bench_print(name, raw * mb, "MB/s");
    bench_note("ratio %s: raw_aead / tee_seal_unseal = %.2fx (per op: tee %.2f us, raw %.2f us)",
               label, raw / tee, 1e6 / tee, 1e6 / raw);
    seal_ctx_free(&c);
}

/* --- quote create+verify vs raw ECDSA P-256 ---------------------------------------- */
typedef struct quote_ctx {
    tee_enclave *e;
    tee_identity id;
    uint8_t report_data[TEE_REPORT_DATA_LEN];
    uint8_t quote[TEE_QUOTE_MAX_LEN];
    size_t quote_len;
    const attest_collateral *collateral;
    /* raw */
    EVP_PKEY *key;
    uint8_t msg[QUOTE_SIGNED_LEN];
    uint8_t sig[VEIL_P256_SIG_LEN];
} quote_ctx;

static bool run_quote(void *ctx, uint64_t iters)
{
    quote_ctx *c = ctx;
    for (uint64_t i = 0; i < iters; i++) {
        attest_claims claims;
        veil_status st = tee_enclave_call(c->e, TE_QUOTE, c->report_data, sizeof c->report_data,
                                          c->quote, sizeof c->quote, &c->quote_len);
        if (st != VEIL_OK) die_status("ecall TE_QUOTE", st);
        st = attest_quote_verify(c->quote, c->quote_len, c->collateral, (int64_t)time(NULL),
                                 &claims);
        if (st != VEIL_OK) die_status("attest_quote_verify", st);
        if (claims.tcb_status != DCAP_TCB_UP_TO_DATE ||
            memcmp(claims.body.report_data, c->report_data, TEE_REPORT_DATA_LEN) != 0 ||
            memcmp(claims.body.identity.mrenclave, c->id.mrenclave, TEE_MEASUREMENT_LEN) != 0)
            bench_die("verified quote does not carry the enclave's identity and report data");
    }
    return true;
}

static bool run_raw_p256(void *ctx, uint64_t iters)
{
    quote_ctx *c = ctx;
    for (uint64_t i = 0; i < iters; i++) {
        CHECK("veil_p256_sign", veil_p256_sign(c->key, c->msg, sizeof c->msg, c->sig));
        CHECK("veil_p256_verify", veil_p256_verify(c->key, c->msg, sizeof c->msg, c->sig));
    }
    return true;
}

static void bench_quote(tee_enclave *e, const attest_collateral *collateral)
{
    static quote_ctx c; /* TEE_QUOTE_MAX_LEN buffer: keep it off the stack */
    memset(&c, 0, sizeof c);
    c.e = e;
    tee_enclave_identity(e, &c.id);
    c.collateral = collateral;
    random_fill(c.report_data, sizeof c.report_data);
    random_fill(c.msg, sizeof c.msg);
    CHECK("veil_p256_keygen", veil_p256_keygen(&g.p256));
    c.key = g.p256;

    double tee = measure("tee quote create+verify", run_quote, &c);
    double raw = measure("raw p256 sign+verify", run_raw_p256, &c);
    bench_print("tee_quote_create_verify_per_s", tee, "quotes/s");
    bench_print("raw_p256_sign_verify_per_s", raw, "ops/s");
    bench_note("quote: %zu bytes (SGX quote v3); verify is the whole DCAP verification, cold: "
               "collateral, PCK chain and CRLs, QE report, key binding, quote signature, TCB "
               "level (the warm verifier: veil-bench-attest)",
               c.quote_len);
    bench_note("ratio quote: raw_p256_sign_verify / tee_quote_create_verify = %.2fx "
               "(per op: tee %.1f us, raw %.1f us)",
               raw / tee, 1e6 / tee, 1e6 / raw);
}

/* --- main ---------------------------------------------------------------------------- */
int main(int argc, char **argv)
{
    bench_init(argv[0]);
    if (argc > 2 || (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))) {
        fprintf(stderr, "usage: %s [SIGNED_TEST_ENCLAVE]\n  default: %s\n", argv[0],
                DEFAULT_IMAGE);
        return argc > 2 ? 2 : 0;
    }
    const char *image = argc == 2 ? argv[1] : DEFAULT_IMAGE;
    atexit(cleanup);
    CHECK("veil_crypto_init", veil_crypto_init());

    /* A fresh platform, so the bench neither needs nor touches the user's. */
    snprintf(g.dir, sizeof g.dir, "/tmp/veil-bench-tee-XXXXXX");
    if (mkdtemp(g.dir) == NULL) bench_die("mkdtemp %s: %s", g.dir, strerror(errno));
    g.have_dir = true;
    char plat[128], root[128], bundle[192];
    snprintf(plat, sizeof plat, "%s/platform", g.dir);
    snprintf(root, sizeof root, "%s/root", g.dir);
    snprintf(bundle, sizeof bundle, "%s/%s", root, SIM_COLLATERAL_FILE);
    CHECK("sim_platform_provision", sim_platform_provision(plat, root, PLATFORM_TCB, false));
    CHECK("tee_platform_open", tee_platform_open(plat, &g.platform));
    CHECK("loading the collateral", attest_collateral_load(bundle, &g.collateral));

    veil_status st = tee_enclave_load(g.platform, image, NULL, 0, &g.enclave);
    if (st != VEIL_OK) {
        char what[PATH_MAX + 32];
        snprintf(what, sizeof what, "loading %s", image);
        die_status(what, st);
    }

    double min_s = bench_min_seconds();
    bench_note("veil-bench-tee: backend sim, enclave %s", image);
    bench_note("each figure: warm-up, then batches for >= %.2f s (CLOCK_MONOTONIC); "
               "raw figures measured in the same run",
               min_s);

    /* Empty ecall round trip. */
    double raw_call = measure("raw function call", run_raw_call, NULL);
    double ping = measure("tee ecall round trip", run_ping, g.enclave);
    bench_print("tee_ecall_roundtrip_ns", 1e9 / ping, "ns");
    bench_print("raw_function_call_ns", 1e9 / raw_call, "ns");
    bench_note("ecall: TE_PING with empty input and output; raw: indirect call to a no-op "
               "through a volatile function pointer");
    bench_note("ratio ecall: tee_ecall_roundtrip / raw_function_call = %.1fx", raw_call / ping);

    /* Seal + unseal. */
    bench_note("seal+unseal: one op = TE_SEAL (policy MRSIGNER) then TE_UNSEAL of N plaintext "
               "bytes with a %u-byte AAD, via ecalls; raw: veil_aead_seal then veil_aead_open "
               "(AES-256-GCM-SIV, the sealing AEAD) of the same N and AAD",
               SEAL_AAD_LEN);
    bench_note("MB/s = N * 2 bytes per op (sealed and unsealed) / 1e6 * ops/s");
    bench_seal(g.enclave, 512, "512");
    bench_seal(g.enclave, 64 * 1024, "64k");

    /* Quote create + verify. */
    bench_note("quote: one op = TE_QUOTE ecall (report, quoting service, ECDSA P-256 sign) then "
               "attest_quote_verify against the authority's collateral in memory; raw: "
               "veil_p256_sign then veil_p256_verify over %u bytes",
               QUOTE_SIGNED_LEN);
    bench_quote(g.enclave, g.collateral);
    return 0;
}
