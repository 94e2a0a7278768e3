/* The node's app hash (compact sparse Merkle tree, docs/node.md "App hash"): its cost
 * per block and at start-up.
 *
 *   node_app_hash_per_1000_changes_ms    1000 leaf updates (a block of ~1000 txs'
 *                                        outputs) and the new root, in a tree of 100k
 *   node_smt_rebuild_100k_s              100k leaves inserted, then the root
 *   node_app_hash_per_1000_txs_1m_ms     the node's own path at 1M output records: 1000
 *                                        output records written into the block being
 *                                        built (node_state_output_put) and the app hash
 *   node_restart_1m_s                    node_state_open of a store of 1M output
 *                                        records: the scan, the hashes and the tree
 *                                        (what a restarting node waits for)
 *
 * The 1M store is written in a temporary directory (removed at exit) by committing
 * blocks of 10000 outputs through node_state, without fsync. VEIL_BENCH_NODE_RECORDS
 * (default 1000000) sets its size for quick runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "crypto/crypto.h"
#include "host/node/node_state.h"
#include "host/node/smt.h"
#include "hostutil/fileio.h"

#define N_LEAVES 100000u
#define N_CHANGES 1000u
#define FILL_BLOCK 10000u

static uint64_t g_rng = 0x9e3779b97f4a7c15u;
static char g_dir[64];
static bool g_have_dir;

static void cleanup(void)
{
    if (g_have_dir) veil_remove_tree(g_dir);
    g_have_dir = false;
}

static void fill(uint8_t out[32])
{
    for (int i = 0; i < 4; i++) {
        g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
        memcpy(out + 8 * i, &g_rng, 8);
    }
}

/* --- the tree on its own ----------------------------------------------------------- */
static void tree_figures(double *rebuild_s, double *per_1000_ms)
{
    uint8_t(*keys)[32] = malloc(N_LEAVES * sizeof *keys);
    if (keys == NULL) bench_die("out of memory");
    g_rng = 7;
    for (size_t i = 0; i < N_LEAVES; i++) fill(keys[i]);
    node_smt *t;
    uint8_t v[32], root[32];
    if (node_smt_new(&t) != VEIL_OK) bench_die("smt");
    g_rng = 42;
    double t0 = bench_now();
    for (size_t i = 0; i < N_LEAVES; i++) {
        fill(v);
        if (node_smt_set(t, keys[i], v) != VEIL_OK) bench_die("smt set");
    }
    node_smt_root(t, root);
    *rebuild_s = bench_now() - t0;
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
    *per_1000_ms = spent / blocks * 1000.0;
    node_smt_free(t);
    free(keys);
}

/* --- the node's store at 1M records -------------------------------------------------- */
static uint64_t n_records(void)
{
    const char *s = getenv("VEIL_BENCH_NODE_RECORDS");
    if (s == NULL || *s == '\0') return 1000000;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || v == 0) bench_die("VEIL_BENCH_NODE_RECORDS=%s is not a positive number", s);
    return v;
}

static void check(veil_status s, const char *what)
{
    if (s != VEIL_OK) bench_die("%s: %s (%s)", what, veil_status_str(s), veil_error_detail());
}

/* Output records of random txids, committed FILL_BLOCK at a time. */
static void fill_store(const char *home, uint64_t n)
{
    node_state *st;
    check(node_state_open(home, true, &st), "node store");
    node_meta meta = *node_state_meta(st);
    meta.initialized = true;
    snprintf(meta.chain_id, sizeof meta.chain_id, "veil-bench");
    g_rng = 99;
    for (uint64_t done = 0; done < n;) {
        uint64_t k = n - done < FILL_BLOCK ? n - done : FILL_BLOCK;
        for (uint64_t i = 0; i < k; i++) {
            uint8_t txid[32];
            fill(txid);
            node_output o = {.output_count = 2, .spent = g_rng & 1, .height = meta.last_height + 1};
            check(node_state_output_put(st, txid, &o), "output put");
        }
        meta.last_height++;
        node_state_app_hash(st, meta.last_app_hash);
        check(node_state_commit(st, &meta, NULL, 0), "commit");
        done += k;
    }
    node_state_close(st);
}

int main(int argc, char **argv)
{
    (void)argc;
    bench_init(argv[0]);
    atexit(cleanup);
    if (veil_crypto_init() != VEIL_OK) bench_die("crypto init");

    double rebuild_s, per_1000_ms;
    tree_figures(&rebuild_s, &per_1000_ms);
    bench_print("node_app_hash_per_1000_changes_ms", per_1000_ms, "ms");
    bench_print("node_smt_rebuild_100k_s", rebuild_s, "s");

    uint64_t n = n_records();
    snprintf(g_dir, sizeof g_dir, "/tmp/veil-bench-node-XXXXXX");
    if (mkdtemp(g_dir) == NULL) bench_die("mkdtemp");
    g_have_dir = true;
    double t0 = bench_now();
    fill_store(g_dir, n);
    bench_note("store: %llu output records committed in blocks of %u in %.1f s",
               (unsigned long long)n, FILL_BLOCK, bench_now() - t0);

    /* Restart: what node_state_open costs on that store (its pages are in the page
     * cache, as after a quick restart; a cold disk adds its read time). */
    node_state *st;
    t0 = bench_now();
    check(node_state_open(g_dir, false, &st), "reopen");
    double restart_s = bench_now() - t0;

    /* A block of 1000 txs' outputs on the node's path, then dropped. */
    double min_s = bench_min_seconds(), spent = 0;
    unsigned blocks = 0;
    uint8_t root[32];
    while (spent < min_s || blocks < 3) {
        double b0 = bench_now();
        for (unsigned i = 0; i < N_CHANGES; i++) {
            uint8_t txid[32];
            fill(txid);
            node_output o = {.output_count = 2, .height = node_state_meta(st)->last_height + 1};
            check(node_state_output_put(st, txid, &o), "output put");
        }
        node_state_app_hash(st, root);
        spent += bench_now() - b0;
        node_state_rollback(st);
        blocks++;
    }
    node_state_close(st);
    char label[64];
    snprintf(label, sizeof label, "node_app_hash_per_1000_txs_%s_ms",
             n == 1000000 ? "1m" : "nrec");
    bench_print(label, spent / blocks * 1000.0, "ms");
    snprintf(label, sizeof label, "node_restart_%s_s", n == 1000000 ? "1m" : "nrec");
    bench_print(label, restart_s, "s");
    bench_note("records: %llu; a block = %u new output records then the app hash",
               (unsigned long long)n, N_CHANGES);
    return 0;
}
