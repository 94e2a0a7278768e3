/* The node's application logic: genesis, CheckTx, block execution with the TVE,
 * commit, queries, and the start-up handshake with the TVE (docs/node.md).
 *
 * Plain C in and out, no ABCI types: node_abci.c adapts it to abci_app.h, and tests
 * can drive it directly. Not thread-safe (the ABCI server serialises callbacks).
 *
 * Block lifecycle, as CometBFT v0.38 drives it: finalize_block(H) computes every
 * result and the app hash into memory (nothing durable); commit() then persists the
 * block in one LMDB transaction — state, meta and the block record the TVE replay
 * needs — and only after that asks the TVE to commit H. A crash anywhere leaves the
 * TVE at most one height behind the node, which node_app_start (or the next commit)
 * repairs by replaying block records.
 */
#ifndef VEIL_HOST_NODE_APP_H
#define VEIL_HOST_NODE_APP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/status.h"
#include "chain/node_records.h"
#include "trusted/state/smt_verify.h"
#include "trusted/tx/bloom.h"

#define NODE_LOG_MAX 200 /* bytes of a tx result's log, including the NUL */

typedef struct node_config {
    const char *home;         /* required: state lives in <home>/data */
    const char *tve_endpoint; /* required: ipc://PATH or tcp://HOST:PORT */
    int tve_timeout_ms;       /* per request; 0: 30 s */
    /* The TVE identity this node accepts (checked on every (re)connection). */
    bool check_mrsigner;
    uint8_t mrsigner[32];
    bool check_mrenclave;
    uint8_t mrenclave[32];
    bool check_min_svn;
    uint16_t min_svn;
    bool allow_debug_tve; /* accept a TVE enclave signed as debug */
    /* How long block execution waits for an unreachable TVE before failing (the
     * block cannot be executed without it); 0: forever. */
    int tve_wait_ms;
    /* Set (by a signal handler) to stop waiting for the TVE: the wait then fails with
     * VEIL_ERR_TIMEOUT at once. NULL: never. */
    volatile sig_atomic_t *stop;
    bool no_sync; /* LMDB without fsync: tests that never crash only */
    /* Fault injection for the recovery tests: the process kills itself (SIGKILL)
     * right after the node's commit is durable and before the TVE's. Never set it in
     * production. */
    bool test_crash_after_node_commit;
    FILE *log;    /* one line per block and per event; NULL: stderr */
} node_config;

typedef struct node_app node_app;

VEIL_MUST_CHECK veil_status node_app_open(const node_config *cfg, node_app **out);
void node_app_close(node_app *a);
/* Registers the node's metrics (served by --metrics). */
void node_app_metrics_register(void);

/* Start-up handshake (docs/node.md, "Recovery"). For an initialised chain: connect to
 * the TVE (waiting up to tve_wait_ms), check its identity, its chain and key, then
 * CheckChain and replay stored blocks into a lagging TVE. Before InitChain it only
 * checks the identity. VEIL_ERR_TVE_IDENTITY (detail: which field) and other errors are
 * fatal: the node must not serve. */
VEIL_MUST_CHECK veil_status node_app_start(node_app *a);

/* Info: the last committed height (0 before the first block) and app hash (the
 * genesis app hash at height 0 once InitChain has run; *has_hash false before). */
void node_app_info(node_app *a, uint64_t *height, uint8_t app_hash[static 32], bool *has_hash);
const char *node_app_chain_id(const node_app *a);

/* InitChain. Idempotent for the same inputs (CometBFT repeats it if the node crashed
 * before its first block). initial_height must be 0 or 1. On failure err (cap bytes)
 * says why. */
VEIL_MUST_CHECK veil_status node_app_init_chain(node_app *a, const char *chain_id,
                                                uint64_t initial_height, uint64_t genesis_time,
                                                const uint8_t *app_state, size_t app_state_len,
                                                uint8_t app_hash[static 32], char *err,
                                                size_t err_cap);

/* One tx's result: code 0 or a veil_status number, and a log line for it. */
typedef struct node_tx_result {
    uint32_t code;
    char log[NODE_LOG_MAX];
} node_tx_result;

/* CheckTx against committed state (and the TVE in CHECK mode for confidential txs).
 * recheck: CometBFT's RECHECK of a tx already in the mempool after a block. A transfer
 * that passed the TVE once can only have become invalid through what the node checks
 * itself (an input spent or a duplicate committed; time locks only open with time and
 * signatures do not change), so its recheck stops at the public checks; deposits and
 * withdraws, which read account state, go to the TVE again. */
VEIL_MUST_CHECK veil_status node_app_check_tx(node_app *a, const uint8_t *tx, size_t len,
                                              bool recheck, node_tx_result *res);

/* The same for n txs that arrived together (pipelined CheckTx): each judged on its own
 * against committed state, as node_app_check_tx would, with the confidential ones sent
 * to the TVE in one CHECK batch that its workers validate in parallel. res[i] is tx
 * i's result. An error return is a local failure (out of memory). */
VEIL_MUST_CHECK veil_status node_app_check_tx_batch(node_app *a, const uint8_t *const *txs,
                                                    const size_t *lens, const bool *recheck,
                                                    size_t n, node_tx_result *res);

/* PrepareProposal by `proposer` (20 bytes): which of the proposed txs to keep (indices
 * into txs, in order): those that pass the node's own checks at their position, within
 * max_bytes total (0: no limit). *keep has room for n. When the next key epoch is due,
 * this node's TVE draws its key and *extra_len bytes of `extra` (else 0) are the
 * key-epoch tx to put first in the block (extra_cap: NODE_KEY_EPOCH_TX_MAX). */
#define NODE_KEY_EPOCH_TX_MAX 128u
VEIL_MUST_CHECK veil_status node_app_prepare(node_app *a, uint64_t height, uint64_t time,
                                             const uint8_t *proposer, const uint8_t *const *txs,
                                             const size_t *lens, size_t n, uint64_t max_bytes,
                                             size_t *keep, size_t *n_keep, uint8_t *extra,
                                             size_t extra_cap, size_t *extra_len);

/* A change of a validator's voting power for CometBFT (0: leaves the set). */
typedef struct node_val_update {
    uint8_t pub_key[32]; /* Ed25519 */
    int64_t power;
} node_val_update;

typedef struct node_block_result {
    size_t n;
    node_tx_result *txs; /* n entries, malloc'd */
    size_t n_val_updates;
    node_val_update *val_updates; /* malloc'd; one per key, in first-change order */
    uint8_t bloom[VEIL_BLOOM_BYTES];
    uint8_t app_hash[32];
} node_block_result;
void node_block_result_free(node_block_result *r);

/* FinalizeBlock for height (last + 1) at block time `time` (unix seconds), proposed
 * by `proposer` (20 bytes; NULL: unknown, and no key-epoch tx is valid). A repeat for
 * the same height before commit starts over. A validator whose TVE lacks the key of an
 * epoch the chain admits waits for it (its TDBE fetches it) rather than judge. */
VEIL_MUST_CHECK veil_status node_app_finalize_block(node_app *a, uint64_t height, uint64_t time,
                                                    const uint8_t *proposer,
                                                    const uint8_t *const *txs, const size_t *lens,
                                                    size_t n, node_block_result *out);

/* Commit: persists the finalized block, then has the TVE commit it. */
VEIL_MUST_CHECK veil_status node_app_commit(node_app *a);

/* Query: paths "/account/<hex address>", "/output/<hex txid>", "/params",
 * "/key_epoch/<n>". On VEIL_OK *value (malloc'd, NULL if absent) is the committed
 * record, and with prove, *proof the tree proof and *key the tree key; *height the
 * committed height. VEIL_ERR_ARG for an unknown path. */
typedef struct node_query_result {
    uint8_t *value;
    size_t value_len;
    bool has_proof;
    veil_smt_proof proof;
    uint8_t key[32];
    uint64_t height;
} node_query_result;
VEIL_MUST_CHECK veil_status node_app_query(node_app *a, const char *path, bool prove,
                                           node_query_result *out);
void node_query_result_free(node_query_result *r);

#endif
