/* tqe_state.h — the public chain state a TQE order is judged against, proven record by
 * record against the app hash of a header the TQE enclave's light client verified
 * (docs/tqe.md, "Chain state"). Portable: the enclave links it, the host builds the
 * answers with it, and a fuzz target drives the answer decoder with hostile bytes.
 *
 * For an encrypt of a payload the enclave asks for these records (tqe_state_keys):
 *   the chain parameters (namespace param, id "chain"), present;
 *   deposit and withdraw: the account (namespace account, id the body's account);
 *   each public input: its tx's output status (namespace output, id the input's txid).
 *
 * Request (TQE_O_CHAIN_STATE in): u8 n || n x (u8 namespace || u8 id length || id).
 * Answer (out): u64 BE height (the header whose app hash proves it: the state after
 * height - 1) || n x (u8 present (0, 1) || u32 BE record length || record || u32 BE
 * proof length || the SMT proof (smt_verify.h)), in the request's order, nothing after.
 */
#ifndef VEIL_TRUSTED_TQE_TQE_STATE_H
#define VEIL_TRUSTED_TQE_TQE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/status.h"
#include "trusted/tx/tx.h"

#define TQE_STATE_MAX_KEYS (2u + VEIL_TX_MAX_INPUTS)
#define TQE_STATE_RECORD_MAX (256u * 1024u) /* parameters carry the attestation collateral */
#define TQE_STATE_REQUEST_MAX (1u + TQE_STATE_MAX_KEYS * 34u)
#define TQE_STATE_ANSWER_MAX (2u << 20)
#define TQE_STATE_PARAMS_ID "chain"

typedef struct tqe_state_key {
    uint8_t ns;
    uint8_t id_len; /* 1..32 */
    uint8_t id[32];
} tqe_state_key;

/* What the answer proved, decoded. */
typedef struct tqe_chain_state {
    int64_t height;
    uint32_t fee_rule; /* 1 exact, 2 at least */
    uint64_t fee_base, fee_per_byte;
    veil_tx_account account; /* present false: no account asked, or proven absent */
    size_t n_spent;          /* = the body's inputs */
    bool spent[VEIL_TX_MAX_INPUTS];
} tqe_chain_state;

/* The records an encrypt of `body` needs; returns how many (<= TQE_STATE_MAX_KEYS). */
size_t tqe_state_keys(const veil_tx_body *body, tqe_state_key keys[static TQE_STATE_MAX_KEYS]);

VEIL_MUST_CHECK veil_status tqe_state_request_encode(const tqe_state_key *keys, size_t n,
                                                     uint8_t *out, size_t cap, size_t *out_len);
/* Host side: VEIL_ERR_MALFORMED for anything but the layout above. */
VEIL_MUST_CHECK veil_status tqe_state_request_decode(const uint8_t *in, size_t len,
                                                     tqe_state_key keys[static TQE_STATE_MAX_KEYS],
                                                     size_t *n);

/* The height an answer names: VEIL_ERR_TQE_STATE_PROOF if it is too short. */
VEIL_MUST_CHECK veil_status tqe_state_answer_height(const uint8_t *in, size_t len,
                                                    int64_t *height);

/* Judges an answer for `body` against app_hash (the enclave's light client's, for the
 * height the answer names): every record (or its absence) must verify in the tree, the
 * parameters be present and decode with a known fee rule, an account record be that
 * address's. VEIL_ERR_TQE_STATE_PROOF otherwise. `a` (not NULL) allocates the decoded
 * records and an 8 KiB proof. */
VEIL_MUST_CHECK veil_status tqe_state_verify(ProtobufCAllocator *a, const uint8_t *answer,
                                             size_t len, const uint8_t app_hash[static 32],
                                             const veil_tx_body *body, tqe_chain_state *out);

/* Builds an answer (hosts and tests): begin with the height, then add each record in
 * the request's order (record NULL: proven absent). */
VEIL_MUST_CHECK veil_status tqe_state_answer_begin(int64_t height, uint8_t *out, size_t cap,
                                                   size_t *len);
VEIL_MUST_CHECK veil_status tqe_state_answer_add(const uint8_t *record, size_t record_len,
                                                 const uint8_t *proof, size_t proof_len,
                                                 uint8_t *out, size_t cap, size_t *len);

#endif
