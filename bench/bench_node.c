/* The node's app hash: the sparse Merkle tree's cost per block and at start-up.
 *
 *   node_app_hash_per_1000_changes_ms  1000 leaf updates (a block of ~1000 outputs
 *                                      changing) and the new root, in a tree of 100k
 *   node_smt_rebuild_100k_s            the start-up path: 100k leaves inserted, then the
 *                                      root (node_state.c rebuilds the tree this way)
 *
 * Each is measured twice in one run: first on the portable SHA-256 (libsodium: the
 * libraries not yet initialised), then on libgcrypt's, which uses the CPU's SHA
 * instructions (veil_crypto_init done). Same keys, same values, same roots. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "crypto/crypto.h"
#include "host/node/smt.h"

#define N_LEAVES 100000u
#define N_CHANGES 1000u

static uint64_t g_rng = 0x9e3779b97f4a7c15u;

static void fill(uint8_t out[32])
{
    for (int i = 0; i < 4; i++) {
        g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
        memcpy(out + 8 * i, &g_rng, 8);
    }
}

typedef struct figures {
    double rebuild_s, per_1000_ms;
    uint8_t root[32]; /* after the rebuild (deterministic: the same in both runs) */
} figures;

static void run(const uint8_t (*keys)[32], figures *f)
{
    node_smt *t;
    uint8_t v[32];
    if (node_smt_new(&t) != VEIL_OK) bench_die("smt");
    g_rng = 42;
    double t0 = bench_now();
    for (size_t i = 0; i < N_LEAVES; i++) {
        fill(v);
        if (node_smt_set(t, keys[i], v) != VEIL_OK) bench_die("smt set");
    }
    node_smt_root(t, f->root);
    f->rebuild_s = bench_now() - t0;
    uint8_t root[32];
    /* Blocks of 1000 changes, for at least the minimum time. */
    double min_s = bench_min_seconds(), spent = 0;
    unsigned blocks = 0;
    while (spent < min_s || blocks < 3) {
        double b0 = bench_now();
        for (size_t i = 0; i < N_CHANGES; i++) {
            fill(v);
            size_t k = (size_t)(g_rng % N_LEAVES);
            if (node_smt_set(t, keys[k], v) != VEIL_OK) bench_die("smt set");
        }
        node_smt_root(t, root);
        spent += bench_now() - b0;
        blocks++;
    }
    f->per_1000_ms = spent / blocks * 1000.0;
    node_smt_free(t);
}

int main(int argc, char **argv)
{
    (void)argc;
    bench_init(argv[0]);
    uint8_t(*keys)[32] = malloc(N_LEAVES * sizeof *keys);
    if (keys == NULL) bench_die("out of memory");
    g_rng = 7;
    for (size_t i = 0; i < N_LEAVES; i++) fill(keys[i]);

    figures portable, hw;
    run((const uint8_t(*)[32])keys, &portable); /* before veil_crypto_init: libsodium */
    if (veil_crypto_init() != VEIL_OK) bench_die("crypto init");
    run((const uint8_t(*)[32])keys, &hw);
    if (memcmp(portable.root, hw.root, 32) != 0) bench_die("the two SHA-256s disagree");
    bench_note("tree of %u leaves; a block = %u random leaf updates then the root", N_LEAVES,
               N_CHANGES);
    bench_note("portable SHA-256 (libsodium): rebuild %.2f s, %.1f ms per 1000 changes",
               portable.rebuild_s, portable.per_1000_ms);
    bench_print("node_app_hash_per_1000_changes_ms", hw.per_1000_ms, "ms");
    bench_print("node_smt_rebuild_100k_s", hw.rebuild_s, "s");
    bench_note("speed-up of libgcrypt's SHA-256 (CPU SHA instructions): %.2fx per block, "
               "%.2fx rebuild",
               portable.per_1000_ms / hw.per_1000_ms, portable.rebuild_s / hw.rebuild_s);
    free(keys);
    return 0;
}
