/* tdbe_txdata.h — what a bootstrapping TDBE checks of each block a peer serves, before
 * anything of it is sealed (docs/tdbe.md, "Bootstrap"). Portable: the TDBE enclave links
 * it, the fuzz target drives it with hostile bytes. */
#ifndef VEIL_TRUSTED_TDBE_TXDATA_H
#define VEIL_TRUSTED_TDBE_TXDATA_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/status.h"

#define TDBE_TXID_LEN 32u
/* Accepted txs of one served block (= the TVE's per-height bound). */
#define TDBE_BLOCK_MAX_TXS 100000u

/* What the chain must hold for one served tx: its output record (namespace output,
 * id txid) with this output count, committed at this height. */
typedef struct tdbe_tx_claim {
    uint8_t txid[TDBE_TXID_LEN];
    uint32_t output_count;
    uint64_t height;
    uint32_t index; /* its place in the block */
} tdbe_tx_claim;

/* `a` allocates the decoders' memory (the enclave's heap; not NULL: VEIL_ERR_ARG).
 * Checks one served block of height `height`: the record (the TVE's block record,
 * docs/tve-protocol.md "Store layout") decodes; the payloads are exactly its accepted
 * txs in order, each TxPayload opening as validation opens it, with the txid of its
 * body, and the outcome's kind, output count and account (deposit, withdraw), deposit
 * amount and withdraw nonce agreeing with the body; the verdicts, if kept, name as many
 * accepted txs; the record's bloom filter is the one the bodies make. On VEIL_OK,
 * claims[i] (room for n_payloads) holds what the chain must prove of payload i.
 * Errors: VEIL_ERR_TDBE_TX_MISMATCH (*bad: the payload that disagreed, or n_payloads
 * for the block as a whole: count, verdicts, bloom), VEIL_ERR_TDBE_PROTOCOL for a
 * record that does not decode, VEIL_ERR_NOMEM (or the TEE's out-of-memory code) when a
 * payload cannot be opened for want of memory. */
VEIL_MUST_CHECK veil_status tdbe_block_check(ProtobufCAllocator *a, uint64_t height,
                                             const uint8_t *record, size_t record_len,
                                             const ProtobufCBinaryData *payloads,
                                             size_t n_payloads, tdbe_tx_claim *claims,
                                             size_t *bad);

/* The claim against a host's answer for the output record of claim->txid (the
 * tdbe_member.h encoding) under app_hash: present, with that output count and height.
 * VEIL_ERR_TDBE_MEMBERSHIP_PROOF for an answer that does not verify or a record that
 * does not decode; VEIL_ERR_TDBE_TX_NOT_ON_CHAIN otherwise. */
VEIL_MUST_CHECK veil_status tdbe_output_check(ProtobufCAllocator *a, const uint8_t *proof,
                                              size_t proof_len, const uint8_t app_hash[static 32],
                                              const tdbe_tx_claim *claim);

#endif
