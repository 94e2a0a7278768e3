/* CometBFT v0.38 block-chain data types, as the dev chain produces and serves them.
 *
 * These are plain C mirrors of tendermint.types.{Header, BlockID, Commit, CommitSig}
 * with exactly the information CometBFT hashes and signs. Every hash-like field is a
 * cmt_bytes (length + up to CMT_MAX_HASH_LEN bytes), because CometBFT distinguishes an
 * empty hash (height 1's last block id) from a present one, and app hashes are of the
 * application's choosing. Byte strings that can be large (transactions) are slices
 * pointing at storage the caller owns. Portable (the enclaves' light client uses them).
 */
#ifndef VEIL_TRUSTED_CMT_TYPES_H
#define VEIL_TRUSTED_CMT_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trusted/cmt/cmt_timestamp.h"
#include "common/status.h"

#define CMT_HASH_LEN 32          /* SHA-256: tmhash */
#define CMT_ADDRESS_LEN 20       /* first 20 bytes of SHA-256(pubkey) */
#define CMT_PUBKEY_LEN 32        /* Ed25519 */
#define CMT_SIGNATURE_LEN 64     /* Ed25519 */
#define CMT_MAX_HASH_LEN 64      /* our bound for app hashes and other hash fields */
#define CMT_MAX_CHAIN_ID_LEN 50  /* CometBFT types.MaxChainIDLen */
#define CMT_MAX_COMMIT_SIGS 16   /* commits we decode or render (we sign with one) */
#define CMT_BLOCK_PART_SIZE 65536u /* types.BlockPartSizeBytes */
#define CMT_BLOCK_PROTOCOL 11u   /* version.BlockProtocol in v0.38 */

/* BlockIDFlag (tendermint.types.BlockIDFlag). */
enum { CMT_FLAG_UNKNOWN = 0, CMT_FLAG_ABSENT = 1, CMT_FLAG_COMMIT = 2, CMT_FLAG_NIL = 3 };
/* SignedMsgType. */
enum { CMT_MSG_PREVOTE = 1, CMT_MSG_PRECOMMIT = 2 };

typedef struct cmt_slice {
    const uint8_t *p;
    size_t len;
} cmt_slice;

typedef struct cmt_bytes {
    uint8_t len;
    uint8_t b[CMT_MAX_HASH_LEN];
} cmt_bytes;

typedef struct cmt_part_set_header {
    uint32_t total;
    cmt_bytes hash;
} cmt_part_set_header;

typedef struct cmt_block_id {
    cmt_bytes hash;
    cmt_part_set_header parts;
} cmt_block_id;

typedef struct cmt_header {
    uint64_t version_block;
    uint64_t version_app;
    char chain_id[CMT_MAX_CHAIN_ID_LEN + 1];
    int64_t height;
    cmt_timestamp time;
    cmt_block_id last_block_id;
    cmt_bytes last_commit_hash;
    cmt_bytes data_hash;
    cmt_bytes validators_hash;
    cmt_bytes next_validators_hash;
    cmt_bytes consensus_hash;
    cmt_bytes app_hash;
    cmt_bytes last_results_hash;
    cmt_bytes evidence_hash;
    cmt_bytes proposer_address;
} cmt_header;

typedef struct cmt_commit_sig {
    uint8_t block_id_flag;
    cmt_bytes validator_address;
    cmt_timestamp timestamp;
    uint8_t signature_len; /* 0 for an absent vote */
    uint8_t signature[CMT_SIGNATURE_LEN];
} cmt_commit_sig;

typedef struct cmt_commit {
    int64_t height;
    int32_t round;
    cmt_block_id block_id;
    size_t n_sigs;
    cmt_commit_sig sigs[CMT_MAX_COMMIT_SIGS];
} cmt_commit;

/* A block. txs point into storage the caller owns (the decoded buffer, or the
 * mempool's copies). has_last_commit is false only for a block decoded without one;
 * CometBFT always includes one (empty at the initial height). */
typedef struct cmt_block {
    cmt_header header;
    size_t n_txs;
    cmt_slice *txs;
    bool has_last_commit;
    cmt_commit last_commit;
} cmt_block;

/* A validator as the set hash sees it. */
typedef struct cmt_validator {
    uint8_t pub_key[CMT_PUBKEY_LEN];
    int64_t voting_power;
} cmt_validator;

/* The deterministic part of an ExecTxResult (what last_results_hash covers). */
typedef struct cmt_exec_result {
    uint32_t code;
    cmt_slice data;
    int64_t gas_wanted;
    int64_t gas_used;
} cmt_exec_result;

/* VEIL_ERR_TOO_LARGE (dst untouched) if n > CMT_MAX_HASH_LEN. */
VEIL_MUST_CHECK static inline veil_status cmt_bytes_set(cmt_bytes *dst, const uint8_t *p, size_t n)
{
    if (n > CMT_MAX_HASH_LEN) return VEIL_ERR_TOO_LARGE;
    dst->len = (uint8_t)n;
    for (size_t i = 0; i < n; i++) dst->b[i] = p[i];
    return VEIL_OK;
}

static inline bool cmt_block_id_is_zero(const cmt_block_id *id)
{
    return id->hash.len == 0 && id->parts.total == 0 && id->parts.hash.len == 0;
}

#endif
