/* The dev chain's block store: LMDB under HOME/data/devchain.lmdb.
 *
 * Sub-databases (heights are 8-byte big-endian keys, so they sort numerically):
 *   blocks   height -> tendermint.types.Block protobuf (cmt_encode_block)
 *   commits  height -> tendermint.types.Commit protobuf: the commit we signed for it
 *   results  height -> tendermint.abci.ResponseFinalizeBlock protobuf, as the app sent it
 *   txs      SHA-256(tx) -> height (8, big-endian) || index in block (4, big-endian)
 *   meta     "state" -> the chain state record (store_state, our own fixed layout)
 * store_commit_block writes a block, its commit, its results, its tx index entries and
 * the new state in ONE write transaction, synced before it returns: after a crash the
 * store holds either all of height H or none of it (docs/devchain.md, "Crash safety").
 *
 * Thread-safe: one writer (the block producer) and any number of readers (RPC
 * threads). Readers get copies (malloc'd), never pointers into the map. Host only.
 */
#ifndef VEIL_HOST_DEVCHAIN_STORE_H
#define VEIL_HOST_DEVCHAIN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "trusted/cmt/cmt_types.h"

typedef struct devchain_store devchain_store;

#define STORE_STATE_FORMAT 1u

/* Everything needed to produce the next block that is not in the blocks themselves. */
typedef struct store_state {
    uint32_t format;
    uint8_t genesis_hash[CMT_HASH_LEN]; /* SHA-256 of genesis.json: a changed genesis
                                           must not silently continue an old chain */
    int64_t initial_height;
    int64_t last_height;                 /* 0: no block yet */
    cmt_bytes init_app_hash;             /* app hash before the first block (InitChain) */
    int64_t block_max_bytes;             /* consensus params for the NEXT block */
    int64_t block_max_gas;
    uint64_t app_version;                /* header version.app of the NEXT block */
} store_state;

/* Opens (creating) the environment in dir (which must exist). VEIL_ERR_DB with
 * detail on failure. */
VEIL_MUST_CHECK veil_status store_open(const char *dir, devchain_store **out);
void store_close(devchain_store *s);

/* VEIL_ERR_NOT_FOUND for a store that never recorded InitChain. */
VEIL_MUST_CHECK veil_status store_get_state(devchain_store *s, store_state *out);
/* Writes the state alone (after InitChain, before any block). */
VEIL_MUST_CHECK veil_status store_put_state(devchain_store *s, const store_state *st);

/* The atomic per-block write (see above). tx_hashes: n_txs hashes of 32 bytes, in
 * block order. VEIL_ERR_OUT_OF_ORDER unless height == state's last_height + 1 (or the
 * initial height for the first block) and st->last_height == height. */
VEIL_MUST_CHECK veil_status store_commit_block(devchain_store *s, const store_state *st,
                                               int64_t height, const uint8_t *block,
                                               size_t block_len, const uint8_t *commit,
                                               size_t commit_len, const uint8_t *results,
                                               size_t results_len,
                                               const uint8_t (*tx_hashes)[CMT_HASH_LEN],
                                               size_t n_txs);

enum store_kind { STORE_BLOCK, STORE_COMMIT, STORE_RESULTS };

/* A malloc'd copy of the record at height. VEIL_ERR_NOT_FOUND if absent. */
VEIL_MUST_CHECK veil_status store_get(devchain_store *s, enum store_kind kind, int64_t height,
                                      uint8_t **buf, size_t *len);

/* Where a committed tx is. VEIL_ERR_NOT_FOUND if it is not in any block. */
VEIL_MUST_CHECK veil_status store_find_tx(devchain_store *s, const uint8_t hash[static CMT_HASH_LEN],
                                          int64_t *height, uint32_t *index);

#endif
