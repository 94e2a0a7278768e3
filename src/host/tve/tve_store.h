/* The TVE host's durable store: one LMDB environment in <home>/tve.mdb/.
 *
 * It holds only sealed blobs (txs and epoch keys sealed by the enclave to its signer)
 * and public data (txids, outpoints, heights, app hashes, bloom filters, tx outcomes).
 * Layout, one named database each (docs/tve-protocol.md, "Store layout"):
 *
 *   meta    "version"       -> u32 BE (TVE_STORE_VERSION)
 *           "chain_id"      -> the chain id (absent: not initialised)
 *           "key_epoch"     -> u64 BE, current obfuscation key epoch
 *           "last_height"   -> u64 BE, last committed block height (0: none)
 *           "last_app_hash" -> its app hash (0..64 bytes)
 *           "awaited_key"   -> the chain's commitment (32) to the key this TVE waits for
 *                              (a chain whose key was drawn elsewhere), until it has it
 *   keys    epoch u64 BE    -> sealed epoch key
 *   txs     pos (12)        -> sealed tx (TxPayload sealed to the signer); pos = height
 *                              u64 BE || index u32 BE, the tx's place among its block's
 *                              confidential txs: appended, never inserted
 *   txids   pos (12)        -> txid (32): a log in place order, read into an in-memory
 *                              txid -> pos index at open
 *   spent   pos || output index u32 BE (16) -> empty: an output of the tx at pos that a
 *                              committed tx consumed
 *   blocks  height u64 BE   -> u8 app_hash_len || app_hash || bloom (256) || u32 BE n ||
 *                              n x (u32 BE len || TxOutcome encoding)
 *                              [|| u32 BE m || m x u32 BE code]: the verdict (0: accepted,
 *                              else the refusal's status code) of each of the m txs the
 *                              block asked about, in order, so a replay of the height
 *                              answers as the first execution did; absent when m = 0 and
 *                              in records written before verdicts were kept
 *
 * Per committed tx: two appends (txs, blocks), one random-key insert into the small
 * txid index, and spent entries next to the spent outputs' (mostly recent) places.
 *
 * Every change is one LMDB write transaction, committed durably (fsync) unless the
 * store was opened with no_sync (fuzzing only): a crash leaves the state of the last
 * commit exactly. Reads may run on any number of threads at once (MDB_NOTLS); writes
 * come from one thread at a time.
 */
#ifndef VEIL_HOST_TVE_STORE_H
#define VEIL_HOST_TVE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define TVE_STORE_VERSION 2u
#define TVE_STORE_DIR "tve.mdb"
#define TVE_STORE_LOCK "tve.lock"
#define TVE_STORE_MAP_SIZE ((size_t)16 << 30) /* sparse; the file grows as used */
#define TVE_CHAIN_ID_MAX 64u
#define TVE_APP_HASH_MAX 64u
#define TVE_TXID_LEN 32u
#define TVE_OUTPOINT_LEN 36u /* txid || index u32 BE */
#define TVE_STORE_BLOOM_LEN 256u

typedef struct tve_store tve_store;

typedef struct tve_store_meta {
    bool initialized;
    char chain_id[TVE_CHAIN_ID_MAX + 1];
    uint64_t key_epoch;
    uint64_t last_height;
    size_t last_app_hash_len;
    uint8_t last_app_hash[TVE_APP_HASH_MAX];
    bool awaiting; /* the chain's key, committed to by awaited_commitment, is not here yet */
    uint8_t awaited_commitment[32];
} tve_store_meta;

/* One confidential tx of a block being committed. Borrowed pointers. */
typedef struct tve_store_tx {
    const uint8_t *txid; /* 32 bytes */
    const uint8_t *sealed;
    size_t sealed_len;
    const uint8_t (*spends)[TVE_OUTPOINT_LEN]; /* the outpoints it consumes */
    size_t n_spends;
    const uint8_t *outcome; /* TxOutcome encoding (public) */
    size_t outcome_len;
} tve_store_tx;

/* A committed block as recorded in `blocks`. Owned by the caller after
 * tve_store_block_get; release with tve_store_block_free. outcomes[i] points into the
 * record. */
typedef struct tve_store_block {
    size_t app_hash_len;
    uint8_t app_hash[TVE_APP_HASH_MAX];
    uint8_t bloom[TVE_STORE_BLOOM_LEN];
    size_t n;
    const uint8_t **outcomes;
    size_t *outcome_lens;
    uint32_t *codes; /* n_codes verdicts (0: none kept); the zeros are the n outcomes */
    size_t n_codes;
    uint8_t *record; /* the raw value the pointers above point into */
} tve_store_block;

/* Opens (creating if needed) the store under home (created 0700 if missing), holding an
 * exclusive lock on home/tve.lock until closed (VEIL_ERR_EXISTS if another process holds
 * it). Refuses a store of another layout version (VEIL_ERR_BAD_VERSION). */
VEIL_MUST_CHECK veil_status tve_store_open(const char *home, bool no_sync, tve_store **out);
void tve_store_close(tve_store *s);

VEIL_MUST_CHECK veil_status tve_store_meta_get(tve_store *s, tve_store_meta *out);

/* Records the chain id and the sealed epoch-0 key, or (sealed_key NULL) the commitment
 * `awaited` (32 bytes) to the key the chain drew elsewhere, in one transaction.
 * VEIL_ERR_EXISTS if the store is already initialised. */
VEIL_MUST_CHECK veil_status tve_store_init_chain(tve_store *s, const char *chain_id, uint64_t epoch,
                                                 const uint8_t *sealed_key, size_t sealed_key_len,
                                                 const uint8_t *awaited);
/* Stores an epoch key obtained later (the awaited one, from a peer through the TDBE) and
 * clears "awaited_key", in one durable transaction. */
VEIL_MUST_CHECK veil_status tve_store_key_put(tve_store *s, uint64_t epoch,
                                              const uint8_t *sealed_key, size_t sealed_key_len);

/* Deletes the sealed copy of an epoch key (destroyed or dropped), durably. Deleting
 * one that is not there succeeds. */
VEIL_MUST_CHECK veil_status tve_store_key_del(tve_store *s, uint64_t epoch);
/* Stores a key this TVE drew for the chain's next epoch (awaited_key untouched). */
VEIL_MUST_CHECK veil_status tve_store_key_add(tve_store *s, uint64_t epoch,
                                              const uint8_t *sealed_key, size_t sealed_key_len);

/* Calls fn for every stored epoch key, in ascending epoch order; stops at fn's first
 * error and returns it. */
typedef veil_status (*tve_store_key_fn)(void *ctx, uint64_t epoch, const uint8_t *sealed,
                                        size_t sealed_len);
VEIL_MUST_CHECK veil_status tve_store_keys_each(tve_store *s, tve_store_key_fn fn, void *ctx);

/* Copies the sealed tx into out (cap bytes). VEIL_ERR_NOT_FOUND if not committed,
 * VEIL_ERR_BUFFER_TOO_SMALL if it does not fit. Thread-safe. */
VEIL_MUST_CHECK veil_status tve_store_tx_get(tve_store *s, const uint8_t txid[static 32],
                                             uint8_t *out, size_t cap, size_t *out_len);
/* *exists: whether txid is committed. Thread-safe. */
VEIL_MUST_CHECK veil_status tve_store_tx_exists(tve_store *s, const uint8_t txid[static 32],
                                                bool *exists);
/* *spent: whether a committed tx consumed the outpoint. Thread-safe. */
VEIL_MUST_CHECK veil_status tve_store_is_spent(tve_store *s,
                                               const uint8_t outpoint[static TVE_OUTPOINT_LEN],
                                               bool *spent);

/* Commits block `height` in one durable transaction: every tx (VEIL_ERR_TVE_TX_EXISTS
 * if one is already stored; nothing is written then), its spent outpoints, the block
 * record and the new last height and app hash. The caller checks the height rules;
 * a height not above the last committed one is VEIL_ERR_DB, as is a spend of an output
 * of no stored tx (the enclave validated every input, so either means the store and
 * the staging disagree). */
VEIL_MUST_CHECK veil_status tve_store_commit_block(tve_store *s, uint64_t height,
                                                   const uint8_t *app_hash, size_t app_hash_len,
                                                   const uint8_t bloom[static TVE_STORE_BLOOM_LEN],
                                                   const tve_store_tx *txs, size_t n,
                                                   const uint32_t *codes, size_t n_codes);

/* The record of a committed block. VEIL_ERR_NOT_FOUND if none. */
VEIL_MUST_CHECK veil_status tve_store_block_get(tve_store *s, uint64_t height,
                                                tve_store_block *out);
/* Parses a block record's bytes (a peer's, in a bootstrap) as block_get does: anything
 * but the layout above is VEIL_ERR_DB. */
VEIL_MUST_CHECK veil_status tve_store_block_parse(const uint8_t *rec, size_t rec_len,
                                                  tve_store_block *out);
/* Calls fn for each committed block from height `from` up to `to` (inclusive), in order,
 * inside one read transaction: its raw record and its txs' txids and sealed blobs in
 * place order (borrowed: valid during the call). fn's VEIL_ERR_LIMIT stops the walk with VEIL_OK;
 * another error stops it and is returned. A block whose txs are not all there is
 * VEIL_ERR_DB. */
typedef veil_status (*tve_store_block_fn)(void *ctx, uint64_t height, const uint8_t *rec,
                                          size_t rec_len, const uint8_t *const *txids,
                                          const uint8_t *const *sealed,
                                          const size_t *sealed_lens, size_t n);
VEIL_MUST_CHECK veil_status tve_store_blocks_each(tve_store *s, uint64_t from, uint64_t to,
                                                  tve_store_block_fn fn, void *ctx);
void tve_store_block_free(tve_store_block *b);

/* Bytes the store's data file uses (pages in use times the page size). */
uint64_t tve_store_bytes(tve_store *s);

#endif
