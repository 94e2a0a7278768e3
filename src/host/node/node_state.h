/* The node's public state: LMDB store, the block being built, and the app-hash tree.
 *
 * Store: one LMDB environment in <home>/data/node.mdb/, named databases
 *   meta      "version" u32 BE, "chain_id", "initial_height", "genesis_time",
 *             "genesis_hash", "last_height", "last_app_hash", "last_block_time",
 *             "tve_key_commitment" (u64 values big-endian)
 *   accounts  address (32)          -> Account encoding
 *   outputs   txid (32)             -> OutputStatus encoding
 *   params    "chain"               -> Params encoding
 *   epochs    epoch u64 BE          -> KeyEpoch encoding
 *   blocks    height u64 BE         -> BlockRecord encoding (for replay into the TVE)
 * The first four hold exactly the leaves of the app-hash tree, which is rebuilt from
 * them at open and checked against last_app_hash.
 *
 * A block's changes go to an in-memory overlay (and the tree, with an undo log) and
 * reach the store only in node_state_commit, as one durable LMDB transaction together
 * with the new meta and the block record. A crash before that loses the overlay,
 * which is what CometBFT expects: it re-delivers the block.
 *
 * Reads take `pending`: true sees the overlay (the block being built), false only
 * committed state. Not thread-safe (the ABCI server serialises calls).
 */
#ifndef VEIL_HOST_NODE_STATE_H
#define VEIL_HOST_NODE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "chain/node_records.h"
#include "trusted/state/smt_verify.h"

#define NODE_STORE_VERSION 3u /* 2: app-hash format 2 (compact tree); 3: DCAP collateral */
#define NODE_CHAIN_ID_MAX 64u
#define NODE_DATA_DIR "data"
#define NODE_STORE_DIR "node.mdb"

typedef struct node_meta {
    bool initialized; /* InitChain has been committed */
    char chain_id[NODE_CHAIN_ID_MAX + 1];
    uint64_t initial_height;
    uint64_t genesis_time;
    uint8_t genesis_hash[32]; /* of InitChain's inputs, to make it idempotent */
    uint64_t last_height;     /* 0 until the first block is committed */
    uint8_t last_app_hash[32];
    uint64_t last_block_time; /* genesis time until the first block */
    size_t tve_key_commitment_len; /* the local TVE's epoch-0 key commitment (0 or 32) */
    uint8_t tve_key_commitment[32];
} node_meta;

typedef struct node_state node_state;

/* Opens (creating if needed, 0700) <home>/data/node.mdb and rebuilds the tree.
 * VEIL_ERR_BAD_VERSION for another store layout; VEIL_ERR_DB if the tree's root
 * differs from the stored app hash (a damaged store). no_sync: commits without fsync
 * (tests that do not crash only). */
VEIL_MUST_CHECK veil_status node_state_open(const char *home, bool no_sync, node_state **out);
void node_state_close(node_state *s);

/* The committed meta (a copy inside s). */
const node_meta *node_state_meta(const node_state *s);
/* The params as of `pending` (valid after init). */
const node_params *node_state_params(const node_state *s);

VEIL_MUST_CHECK veil_status node_state_account_get(node_state *s, bool pending,
                                                   const uint8_t address[static 32],
                                                   node_account *out, bool *found);
VEIL_MUST_CHECK veil_status node_state_output_get(node_state *s, bool pending,
                                                  const uint8_t txid[static 32],
                                                  node_output *out, bool *found);
VEIL_MUST_CHECK veil_status node_state_epoch_get(node_state *s, bool pending, uint64_t epoch,
                                                 node_key_epoch *out, bool *found);

VEIL_MUST_CHECK veil_status node_state_validator_get(node_state *s, bool pending,
                                                     const uint8_t pub_key[static 32],
                                                     node_validator *out, bool *found);

/* Writes into the block being built (overlay + tree). */
VEIL_MUST_CHECK veil_status node_state_account_put(node_state *s, const node_account *a);
VEIL_MUST_CHECK veil_status node_state_output_put(node_state *s, const uint8_t txid[static 32],
                                                  const node_output *o);
VEIL_MUST_CHECK veil_status node_state_params_put(node_state *s, const node_params *p);
VEIL_MUST_CHECK veil_status node_state_epoch_put(node_state *s, const node_key_epoch *e);
VEIL_MUST_CHECK veil_status node_state_validator_put(node_state *s,
                                                     const uint8_t pub_key[static 32],
                                                     const node_validator *v);

/* Whether the overlay holds changes. */
bool node_state_pending(const node_state *s);
/* The root of the tree as it stands (committed state plus the overlay). */
void node_state_app_hash(node_state *s, uint8_t out[static 32]);
/* Drops the overlay and undoes its tree changes. */
void node_state_rollback(node_state *s);

/* Persists the overlay, *meta (which becomes the committed meta) and, if rec is not
 * NULL, the block record of meta->last_height, in one durable transaction. On
 * failure nothing is written and the overlay is kept. */
VEIL_MUST_CHECK veil_status node_state_commit(node_state *s, const node_meta *meta,
                                              const uint8_t *rec, size_t rec_len);

/* The stored block record of a height (malloc'd; caller frees). VEIL_ERR_NOT_FOUND. */
VEIL_MUST_CHECK veil_status node_state_block_get(node_state *s, uint64_t height, uint8_t **rec,
                                                 size_t *len);

/* A proof against the committed root for a record: the record's committed encoding
 * in *value (malloc'd, NULL if absent) and the proof. ns/id as smt_verify.h. */
VEIL_MUST_CHECK veil_status node_state_prove(node_state *s, uint8_t ns, const uint8_t *id,
                                             size_t id_len, uint8_t **value, size_t *value_len,
                                             veil_smt_proof *proof);

#endif
