/* veil-bench-lightclient: the enclave light client's cost (docs/light-client.md).
 *
 *   lightclient_verify100_us        VerifyCommitLight of a commit by 100 validators
 *                                   of equal power (lc_verify_commit_light: sign bytes
 *                                   built, 67 Ed25519 verifications to pass 2/3)
 *   lightclient_verify100_bound_us  those 67 Ed25519 verifications alone, on sign bytes
 *                                   built beforehand (libsodium, one thread)
 *   lightclient_step100_us          a whole non-adjacent step against the same set
 *                                   (header and set hashed, the trusted 1/3 by address,
 *                                   then the new 2/3)
 *   lightclient_follow4_us          an adjacent step of a 4-validator chain, what
 *                                   following a chain costs per block
 *   lightclient_follow4_core_pct    that at 1 block/s, in % of one core
 * Target: verify100_bound_us >= 0.9 x verify100_us (the overhead beyond the
 * signatures at most about a tenth); follow at 1 block/s < 2 % of a core. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bench.h"
#include "crypto/crypto.h"
#include "trusted/cmt/cmt_hash.h"
#include "trusted/lightclient/lc.h"

#include "support/lc_testchain.h"

/* Two chains: 100 validators (blocks 10 and 15: a non-adjacent step) and 4 (blocks 10
 * and 11: an adjacent one). */
typedef struct chain {
    lc_testchain c;
    const lc_light_block *prev, *next;
} chain;

static void chain_make(chain *ch, size_t n, int64_t prev, int64_t next)
{
    static const uint8_t app[32] = {0xaa};
    lc_testchain_init(&ch->c, "bench-chain", n, 1700000000);
    while (ch->c.height < next) (void)lc_testchain_append(&ch->c, app);
    ch->prev = lc_testchain_get(&ch->c, prev);
    ch->next = lc_testchain_get(&ch->c, next);
}

static chain g100, g4;
static uint8_t g_bytes[LC_MAX_VALIDATORS][256];
static size_t g_bytes_len[LC_MAX_VALIDATORS];
static size_t g_needed;
static lc_params g_p;
static cmt_timestamp g_now = {1700000000 + 1000, 0}; /* after every block */

static bool run_commit(void *ctx, uint64_t n)
{
    (void)ctx;
    const lc_light_block *b = g100.next;
    for (uint64_t i = 0; i < n; i++)
        if (lc_verify_commit_light(b->header.chain_id, &b->vals, &b->commit.block_id,
                                   b->header.height, &b->commit) != VEIL_OK)
            return bench_fail("commit verification failed");
    return true;
}

static bool run_bound(void *ctx, uint64_t n)
{
    (void)ctx;
    const lc_light_block *b = g100.next;
    for (uint64_t i = 0; i < n; i++)
        for (size_t k = 0; k < g_needed; k++)
            if (!veil_ed25519_verify(b->commit.sigs[k].signature, g_bytes[k], g_bytes_len[k],
                                     b->vals.v[k].pub_key))
                return bench_fail("signature failed");
    return true;
}

static bool run_step(void *ctx, uint64_t n)
{
    (void)ctx;
    for (uint64_t i = 0; i < n; i++)
        if (lc_verify(&g100.prev->header, &g100.prev->vals, g100.next, &g_p, &g_now) != VEIL_OK)
            return bench_fail("non-adjacent step failed");
    return true;
}

static bool run_follow(void *ctx, uint64_t n)
{
    (void)ctx;
    for (uint64_t i = 0; i < n; i++)
        if (lc_verify(&g4.prev->header, &g4.prev->vals, g4.next, &g_p, &g_now) != VEIL_OK)
            return bench_fail("adjacent step failed");
    return true;
}

int main(int argc, char **argv)
{
    (void)argc;
    bench_init(argv[0]);
    if (veil_crypto_init() != VEIL_OK) bench_die("crypto init");
    lc_params_default(&g_p);
    chain_make(&g100, 100, 10, 15);
    chain_make(&g4, 4, 10, 11);
    /* The bound: exactly the verifications VerifyCommitLight needs (> 2/3 of 1000 power
     * = 67 signatures of 10), on their sign bytes prepared beforehand. */
    g_needed = 100 * 2 / 3 + 1;
    cmt_buf sb = {0};
    for (size_t k = 0; k < g_needed; k++) {
        const cmt_commit_sig *s = &g100.next->commit.sigs[k];
        cmt_buf_reset(&sb);
        cmt_vote_sign_bytes(&sb, g100.next->header.chain_id, CMT_MSG_PRECOMMIT,
                            g100.next->header.height, 0, &g100.next->commit.block_id,
                            &s->timestamp);
        if (sb.len > sizeof g_bytes[k]) bench_die("sign bytes");
        memcpy(g_bytes[k], sb.p, sb.len);
        g_bytes_len[k] = sb.len;
    }
    cmt_buf_free(&sb);
    double min = bench_min_seconds();
    double commit = bench_run(run_commit, NULL, min, NULL);
    double bound = bench_run(run_bound, NULL, min, NULL);
    double step = bench_run(run_step, NULL, min, NULL);
    double follow = bench_run(run_follow, NULL, min, NULL);
    if (commit <= 0 || bound <= 0 || step <= 0 || follow <= 0) return 1;
    bench_note("100 validators of power 10: %zu Ed25519 verifications pass 2/3", g_needed);
    bench_print("lightclient_verify100_us", 1e6 / commit, "us");
    bench_print("lightclient_verify100_bound_us", 1e6 / bound, "us");
    bench_note("bound / verify = %.3f (target >= 0.9)", commit / bound);
    bench_print("lightclient_step100_us", 1e6 / step, "us");
    bench_print("lightclient_follow4_us", 1e6 / follow, "us");
    bench_print("lightclient_follow4_core_pct", 100.0 / follow, "%");
    return 0;
}
