/* tdbe_member.h — whether a peer TDBE is a member of the chain: its enclave key bound
 * by a node join to an account with bonded stake that is not jailed, proven by the
 * app-hash tree (docs/tdbe.md, "Membership"). Portable: the TDBE enclave links it, the
 * fuzz target drives its decoder with hostile bytes. */
#ifndef VEIL_TRUSTED_TDBE_MEMBER_H
#define VEIL_TRUSTED_TDBE_MEMBER_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/status.h"

#define TDBE_MEMBER_RECORD_MAX 2048u /* an encoded Account with its node binding */
/* What the host answers TDBE_O_MEMBERSHIP with (tdbe_abi.h): u64 BE height (the
 * header whose app hash the proof is against: the state after height - 1) || u8
 * present (0, 1) || u32 BE record length || record || the SMT proof (the rest). */
#define TDBE_MEMBER_PROOF_MAX (8u + 1u + 4u + TDBE_MEMBER_RECORD_MAX + 32u + 256u * 32u + 64u)

/* The height an answer names. VEIL_ERR_TDBE_MEMBERSHIP_PROOF if it is too short. */
VEIL_MUST_CHECK veil_status tdbe_member_height(const uint8_t *proof, size_t proof_len,
                                               int64_t *height);

/* Judges `proof` (the host's answer) for `account` against app_hash, which the enclave
 * takes from its light client for the height the answer names: the record (or its
 * absence) must verify in the tree under that hash; then the account must carry a node
 * binding whose enclave key (a DER SubjectPublicKeyInfo) hashes to peer_spki_hash,
 * bonded stake > 0 and jailed_until <= now.
 * Errors: VEIL_ERR_TDBE_MEMBERSHIP_PROOF (an answer that does not decode or verify, or
 * a record that is not an account of that address), VEIL_ERR_TDBE_NOT_MEMBER (no such
 * account, no binding, another key), VEIL_ERR_TDBE_NOT_STAKED. */
VEIL_MUST_CHECK veil_status tdbe_member_check(ProtobufCAllocator *a, const uint8_t *proof,
                                              size_t proof_len, const uint8_t app_hash[static 32],
                                              const uint8_t account[static 32],
                                              const uint8_t peer_spki_hash[static 32],
                                              uint64_t now);

/* The chain's key commitment of `epoch` (the KeyEpoch record, namespace key_epoch),
 * proven by `proof` (the same encoding) against app_hash, must be `commitment`.
 * VEIL_ERR_TDBE_MEMBERSHIP_PROOF for an answer that does not verify or a record that
 * does not decode; VEIL_ERR_TDBE_COMMITMENT for no such epoch, no commitment on chain,
 * or another one. */
VEIL_MUST_CHECK veil_status tdbe_epoch_check(ProtobufCAllocator *a, const uint8_t *proof,
                                             size_t proof_len, const uint8_t app_hash[static 32],
                                             uint64_t epoch,
                                             const uint8_t commitment[static 32]);

/* The record an answer proves at (ns, id) under app_hash: *record (pointing into
 * proof) NULL when the proof shows it absent. VEIL_ERR_TDBE_MEMBERSHIP_PROOF for an
 * answer that does not decode or verify. */
VEIL_MUST_CHECK veil_status tdbe_proven_record(const uint8_t *proof, size_t proof_len,
                                               const uint8_t app_hash[static 32], uint8_t ns,
                                               const uint8_t *id, size_t id_len,
                                               const uint8_t **record, size_t *record_len);

/* Builds an answer (hosts and tests): record NULL for a proven absence. */
VEIL_MUST_CHECK veil_status tdbe_member_proof_encode(int64_t height, const uint8_t *record,
                                                     size_t record_len, const uint8_t *smt_proof,
                                                     size_t smt_len, uint8_t *out, size_t cap,
                                                     size_t *out_len);

#endif
