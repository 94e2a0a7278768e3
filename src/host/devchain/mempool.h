/* The dev chain's mempool: transactions that passed CheckTx, in arrival order, with
 * CometBFT's limits and duplicate cache.
 *
 * As in CometBFT (mempool/clist_mempool.go): a tx is identified by SHA-256 of its
 * bytes; a tx seen recently (in the pool, or in the cache of the last cache_size txs
 * that entered it or were committed) is refused as a duplicate ("tx already exists in
 * cache"); a tx that fails CheckTx is forgotten by the cache so it may be sent again.
 * Limits: count, total bytes, and bytes per tx.
 *
 * Thread-safe (one internal mutex). The ABCI calls (CheckTx, recheck) are the
 * caller's; this module only keeps the set. Host only.
 */
#ifndef VEIL_HOST_DEVCHAIN_MEMPOOL_H
#define VEIL_HOST_DEVCHAIN_MEMPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "trusted/cmt/cmt_types.h"

typedef struct mempool mempool;

typedef struct mempool_limits {
    size_t max_txs;      /* CometBFT mempool.size, default 5000 */
    size_t max_bytes;    /* mempool.max_txs_bytes, default 1 GiB */
    size_t max_tx_bytes; /* mempool.max_tx_bytes, default 1 MiB */
    size_t cache_size;   /* mempool.cache_size, default 10000 */
} mempool_limits;

#define MEMPOOL_DEFAULT_MAX_TXS 5000u
#define MEMPOOL_DEFAULT_MAX_BYTES ((size_t)1 << 30)
#define MEMPOOL_DEFAULT_MAX_TX_BYTES ((size_t)1 << 20)
#define MEMPOOL_DEFAULT_CACHE_SIZE 10000u

VEIL_MUST_CHECK veil_status mempool_new(const mempool_limits *lim, mempool **out);
void mempool_free(mempool *mp);

/* Before CheckTx: VEIL_ERR_TOO_LARGE (tx above max_tx_bytes), VEIL_ERR_EXISTS (in the
 * cache), VEIL_ERR_LIMIT (pool full). On VEIL_OK the hash is now in the cache: follow
 * with mempool_add (CheckTx accepted) or mempool_forget (rejected). */
VEIL_MUST_CHECK veil_status mempool_check_in(mempool *mp, size_t tx_len,
                                             const uint8_t hash[static CMT_HASH_LEN]);
/* Adds an accepted tx (copied). VEIL_ERR_LIMIT if the pool filled up meanwhile
 * (the hash is then forgotten). */
VEIL_MUST_CHECK veil_status mempool_add(mempool *mp, const uint8_t *tx, size_t len,
                                        const uint8_t hash[static CMT_HASH_LEN]);
/* Removes hash from the cache (and the pool, if there). */
void mempool_forget(mempool *mp, const uint8_t hash[static CMT_HASH_LEN]);

/* A copy of txs taken from the pool. */
typedef struct mempool_batch {
    size_t n;
    cmt_slice *txs;    /* point into data */
    uint8_t (*hashes)[CMT_HASH_LEN];
    uint8_t *data;
} mempool_batch;

/* The oldest txs whose protobuf-framed size (as CometBFT's ReapMaxBytesMaxGas counts
 * them) stays within max_bytes; max_bytes < 0 means all. */
VEIL_MUST_CHECK veil_status mempool_reap(mempool *mp, int64_t max_bytes, mempool_batch *out);
void mempool_batch_free(mempool_batch *b);

/* After a committed block: drops these txs from the pool and keeps them in the cache. */
void mempool_update(mempool *mp, const uint8_t (*hashes)[CMT_HASH_LEN], size_t n);

/* Removes one tx from the pool (recheck failed) and from the cache. */
void mempool_remove(mempool *mp, const uint8_t hash[static CMT_HASH_LEN]);

size_t mempool_count(mempool *mp);
size_t mempool_total_bytes(mempool *mp);

#endif
