/* CometBFT v0.38 encodings, hashes and sign bytes.
 *
 * Each function reproduces one CometBFT function byte for byte (named in its
 * comment); tests/test_devchain.c checks them against CometBFT's own test vectors and
 * against blocks, commits and signatures recorded from a real CometBFT v0.38 chain
 * (tests/devchain_vectors/README.md). Portable (the enclaves' light client uses them).
 */
#ifndef VEIL_TRUSTED_CMT_HASH_H
#define VEIL_TRUSTED_CMT_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "trusted/cmt/cmt_proto.h"
#include "trusted/cmt/cmt_types.h"

/* ---- RFC 6962 merkle tree (crypto/merkle) ---------------------------------------- */

/* HashFromByteSlices: empty -> SHA-256(""), leaf -> SHA-256(0x00 || item),
 * inner -> SHA-256(0x01 || left || right), split at the largest power of two < n. */
void cmt_merkle_root(const cmt_slice *items, size_t n, uint8_t out[static CMT_HASH_LEN]);

/* The same tree over leaves produced one at a time: leaf(ctx, i, scratch) appends
 * leaf i's bytes to scratch (which is reset before each call). */
typedef void (*cmt_leaf_fn)(const void *ctx, size_t i, cmt_buf *scratch);
VEIL_MUST_CHECK veil_status cmt_merkle_root_fn(size_t n, cmt_leaf_fn leaf, const void *ctx,
                                               uint8_t out[static CMT_HASH_LEN]);

#define CMT_MERKLE_MAX_AUNTS 64
/* ProofsFromByteSlices for one index: the leaf hash and the aunts, leaf level first
 * (merkle.Proof.Aunts). VEIL_ERR_ARG if index >= n. */
VEIL_MUST_CHECK veil_status cmt_merkle_proof(const cmt_slice *items, size_t n, size_t index,
                                             uint8_t leaf_hash[static CMT_HASH_LEN],
                                             uint8_t aunts[][CMT_HASH_LEN], size_t *n_aunts);

/* ---- protobuf encodings (gogoproto output of the tendermint.types messages) ------ */

void cmt_encode_timestamp(cmt_buf *b, const cmt_timestamp *t);
void cmt_encode_block_id(cmt_buf *b, const cmt_block_id *id);
void cmt_encode_header(cmt_buf *b, const cmt_header *h);
void cmt_encode_commit_sig(cmt_buf *b, const cmt_commit_sig *s);
void cmt_encode_commit(cmt_buf *b, const cmt_commit *c);
/* Block{header, data, evidence (always empty here), last_commit}: the bytes a block's
 * part set is cut from. */
void cmt_encode_block(cmt_buf *b, const cmt_block *blk);

/* Decoders for what cmt_encode_* wrote (our block store). Unknown fields are
 * skipped, as protobuf requires; anything malformed is VEIL_ERR_MALFORMED /
 * VEIL_ERR_TRUNCATED, hashes longer than CMT_MAX_HASH_LEN VEIL_ERR_TOO_LARGE,
 * more than CMT_MAX_COMMIT_SIGS signatures VEIL_ERR_LIMIT.
 * cmt_decode_block allocates blk->txs (slices into p, which must outlive blk):
 * release with cmt_block_free. */
VEIL_MUST_CHECK veil_status cmt_decode_commit(const uint8_t *p, size_t len, cmt_commit *out);
VEIL_MUST_CHECK veil_status cmt_decode_block(const uint8_t *p, size_t len, cmt_block *out);
void cmt_block_free(cmt_block *blk);

/* ---- hashes ----------------------------------------------------------------------- */

/* Header.Hash(): merkle root of the 14 fields (version, cdcEncode(chain_id),
 * cdcEncode(height), time, last_block_id, and cdcEncode of each hash field).
 * VEIL_ERR_ARG if validators_hash is empty (CometBFT returns nil then). */
VEIL_MUST_CHECK veil_status cmt_header_hash(const cmt_header *h, uint8_t out[static CMT_HASH_LEN]);

/* Commit.Hash(): merkle root of the CommitSig encodings. */
VEIL_MUST_CHECK veil_status cmt_commit_hash(const cmt_commit *c, uint8_t out[static CMT_HASH_LEN]);

/* ValidatorSet.Hash(): merkle root of SimpleValidator{pub_key, voting_power}, in the
 * set's order (by voting power, then address; ours has one validator). */
VEIL_MUST_CHECK veil_status cmt_validator_set_hash(const cmt_validator *vals, size_t n,
                                                   uint8_t out[static CMT_HASH_LEN]);

/* ConsensusParams.Hash(): SHA-256 of HashedParams{block_max_bytes, block_max_gas}. */
void cmt_consensus_params_hash(int64_t block_max_bytes, int64_t block_max_gas,
                               uint8_t out[static CMT_HASH_LEN]);

/* Txs.Hash() (the header's data_hash): merkle root of SHA-256(tx) for each tx. */
VEIL_MUST_CHECK veil_status cmt_txs_hash(const cmt_slice *txs, size_t n,
                                         uint8_t out[static CMT_HASH_LEN]);

/* ABCIResults.Hash() (the next header's last_results_hash): merkle root of the
 * deterministic ExecTxResult encodings {code, data, gas_wanted, gas_used}. */
VEIL_MUST_CHECK veil_status cmt_results_hash(const cmt_exec_result *r, size_t n,
                                             uint8_t out[static CMT_HASH_LEN]);

/* VoteSignBytes: varint-length-delimited CanonicalVote{type, height (sfixed64),
 * round (sfixed64), block_id (omitted when zero), timestamp, chain_id}. Appends to out. */
void cmt_vote_sign_bytes(cmt_buf *out, const char *chain_id, unsigned type, int64_t height,
                         int32_t round, const cmt_block_id *block_id, const cmt_timestamp *ts);
/* The same into fixed storage, allocating nothing (the light client's hot path).
 * VEIL_ERR_ARG for a chain id above CMT_MAX_CHAIN_ID_LEN. */
#define CMT_SIGN_BYTES_MAX 320
VEIL_MUST_CHECK veil_status cmt_vote_sign_bytes_into(uint8_t out[static CMT_SIGN_BYTES_MAX],
                                                     size_t *len, const char *chain_id,
                                                     unsigned type, int64_t height,
                                                     int32_t round, const cmt_block_id *block_id,
                                                     const cmt_timestamp *ts);

/* The part set header of an encoded block: total = ceil(len / 65536), hash = merkle
 * root of the parts. VEIL_ERR_ARG if len is 0. */
VEIL_MUST_CHECK veil_status cmt_part_set_header_of(const uint8_t *block, size_t len,
                                                   cmt_part_set_header *out);

/* Ed25519 address: the first 20 bytes of SHA-256(pubkey) (crypto.AddressHash). */
void cmt_address_of(const uint8_t pub_key[static CMT_PUBKEY_LEN],
                    uint8_t addr[static CMT_ADDRESS_LEN]);

/* Tx hash (SHA-256 of the tx bytes): the key of the tx index and of broadcast_tx_*. */
void cmt_tx_hash(const uint8_t *tx, size_t len, uint8_t out[static CMT_HASH_LEN]);

#endif
