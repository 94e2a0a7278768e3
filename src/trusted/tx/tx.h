/* Confidential transactions: decoding, validation and the encrypted wire form.
 *
 * Portable trusted-core library: it runs inside the TVE enclave, and hosts and
 * wallets may link it too. It does no I/O, reads no clock, draws no randomness and
 * never touches the sealed store: the caller passes in everything that is not in the
 * transaction bytes (chain parameters and time, epoch keys, a resolver for inputs,
 * public spent flags, public account state, nonces). The only heap memory it uses is
 * what protobuf-c allocates while decoding, through the ProtobufCAllocator the
 * caller passes (NULL = protobuf-c's default, malloc; enclaves pass one backed by
 * tee_alloc/tee_free). When an allocator is passed, every block is wiped before it is
 * handed back to its free (decoded messages hold plaintext); with NULL it is not.
 * Everything decoded lands in caller-owned fixed-size structs, so nothing returned
 * needs freeing. Stack use stays under about 16 KiB.
 *
 * Formats, byte layouts, limits and every rule with its error code:
 * docs/transactions.md. Schemas: proto/veil/tx.proto.
 *
 * Untrusted byte strings are size-checked before protobuf decoding, then must be in
 * canonical form (exactly what protobuf-c re-encodes, no unknown fields), then counts
 * and fixed lengths are checked. Failures of shape are VEIL_ERR_TX_MALFORMED; each
 * limit and each validation rule has its own VEIL_ERR_TX_* code (status.h, 7xx).
 *
 * NULL rules: pointer arguments are required unless a comment says otherwise; a
 * (pointer, length) pair may have a NULL pointer only when the length is 0.
 */
#ifndef VEIL_TRUSTED_TX_TX_H
#define VEIL_TRUSTED_TX_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/status.h"
#include "crypto/crypto.h"
#include "trusted/tx/bloom.h"

/* --- constants ------------------------------------------------------------------ */
#define VEIL_TX_VERSION 2u              /* the only TxBody.version defined (2: blinded) */
#define VEIL_TX_ID_LEN 32               /* txid */
#define VEIL_TX_BLINDING_LEN 32         /* TxBody.blinding: 256 random bits */
#define VEIL_TX_ADDRESS_LEN 32          /* x-only public keys: addresses, accounts, view keys */
#define VEIL_TX_WITNESS_LEN 64          /* one BIP-340 signature */
#define VEIL_TX_NONCE_LEN VEIL_AEAD_NONCE_LEN
#define VEIL_TX_AAD_LEN 48              /* txid(32) || key_epoch (8) || fee (8), u64 big-endian */
#define VEIL_TX_MAX_INPUTS 64
#define VEIL_TX_MAX_OUTPUTS 64
#define VEIL_TX_MAX_VIEW_KEYS 64
#define VEIL_TX_MAX_WITNESSES 64
#define VEIL_TX_MAX_CHAIN_ID_LEN 64     /* bytes, excluding any terminator */
#define VEIL_TX_MAX_BODY_LEN 8192       /* encoded TxBody */
/* Largest canonical TxPayload before padding: body field (tag 1 + length varint 2 +
 * 8192) plus 64 witness fields (tag 1 + length 1 + 64 each): 12419 bytes. */
#define VEIL_TX_MAX_UNPADDED_PAYLOAD_LEN \
    (VEIL_TX_MAX_BODY_LEN + 3 + VEIL_TX_MAX_WITNESSES * (2 + VEIL_TX_WITNESS_LEN))
/* Every encoded TxPayload is padded to exactly one of these lengths (the smallest that
 * fits), so a ciphertext's length says only which bucket its tx fell in. */
#define VEIL_TX_PAYLOAD_BUCKETS {512u, 1024u, 2048u, 4096u, 8192u, 12800u}
#define VEIL_TX_N_PAYLOAD_BUCKETS 6
/* The largest bucket: every valid payload fits (12800 - 12419 leaves room for any
 * padding field; a top bucket of, say, 12544 would leave a 12414-byte payload with a
 * remainder of 130 bytes, which no padding field encodes). */
#define VEIL_TX_MAX_PAYLOAD_LEN 12800u
#define VEIL_TX_MAX_CIPHERTEXT_LEN (VEIL_TX_MAX_PAYLOAD_LEN + VEIL_AEAD_TAG_LEN)
/* Encoded ConfidentialTx. Every valid one fits with room to spare: the fields' maximum
 * encoded sizes add up to about 15.2 KB. */
#define VEIL_TX_MAX_WIRE_LEN 16384
/* Every value, amount, fee and sum is at most this many base units. */
#define VEIL_TX_MAX_SUPPLY UINT64_C(1000000000000000000)

/* Domain-separation tags for veil_sha256_tagged. */
#define VEIL_TX_TXID_TAG "veil/txid/v1"

/* --- plain C views of the schema ------------------------------------------------ */
/* Values equal the proto enum veil.tx.TxKind. */
typedef enum veil_tx_kind {
    VEIL_TX_KIND_TRANSFER = 1,
    VEIL_TX_KIND_DEPOSIT = 2,
    VEIL_TX_KIND_WITHDRAW = 3
} veil_tx_kind;

typedef struct veil_tx_outpoint {
    uint8_t txid[VEIL_TX_ID_LEN];
    uint32_t index;
} veil_tx_outpoint;

typedef struct veil_tx_output {
    uint8_t address[VEIL_TX_ADDRESS_LEN];
    uint64_t value;
    uint64_t valid_from; /* unix seconds; 0 = not locked */
} veil_tx_output;

/* A decoded TxBody (shape-checked only; see veil_tx_body_decode). Fields that the
 * kind does not use are zero. */
typedef struct veil_tx_body {
    uint32_t version;
    char chain_id[VEIL_TX_MAX_CHAIN_ID_LEN + 1]; /* NUL-terminated, no embedded NUL */
    veil_tx_kind kind;
    size_t n_inputs; /* transfer, deposit */
    veil_tx_outpoint inputs[VEIL_TX_MAX_INPUTS];
    size_t n_outputs; /* transfer, withdraw */
    veil_tx_output outputs[VEIL_TX_MAX_OUTPUTS];
    uint8_t account[VEIL_TX_ADDRESS_LEN]; /* deposit, withdraw */
    uint64_t amount;                      /* deposit */
    uint64_t nonce;                       /* withdraw */
    size_t n_view_keys;
    uint8_t view_keys[VEIL_TX_MAX_VIEW_KEYS][VEIL_TX_ADDRESS_LEN];
    uint8_t blinding[VEIL_TX_BLINDING_LEN]; /* random, drawn by whoever builds the body */
} veil_tx_body;

/* The public fields of a wire tx (ConfidentialTx), as the node sees them. */
typedef struct veil_tx_wire {
    veil_tx_kind kind;
    uint8_t txid[VEIL_TX_ID_LEN];
    size_t n_inputs;
    veil_tx_outpoint inputs[VEIL_TX_MAX_INPUTS];
    uint32_t output_count;
    uint64_t fee;
    uint64_t key_epoch;
    uint8_t nonce[VEIL_TX_NONCE_LEN];
    bool has_account; /* false: the account field is empty */
    uint8_t account[VEIL_TX_ADDRESS_LEN];
    size_t ciphertext_len;
} veil_tx_wire;

/* --- validation inputs ------------------------------------------------------------ */
typedef enum veil_tx_fee_rule {
    VEIL_TX_FEE_EXACT = 1,   /* fee == min_fee, else VEIL_ERR_TX_FEE_NOT_EXACT */
    VEIL_TX_FEE_AT_LEAST = 2 /* fee >= min_fee, else VEIL_ERR_TX_FEE_TOO_LOW */
} veil_tx_fee_rule;

/* Chain parameters and time, as the node passes them. min_fee = fee_base +
 * fee_per_byte * size, size = body_len + 64 * witness_count. */
typedef struct veil_tx_params {
    const char *chain_id; /* NUL-terminated */
    uint64_t block_time;  /* unix seconds that time locks are compared with */
    uint64_t fee_base;
    uint64_t fee_per_byte;
    veil_tx_fee_rule fee_rule;
} veil_tx_params;

/* Public state of one staking account, as the node holds it. Until the light-client
 * work lands the enclave trusts the node for this (docs/transactions.md). */
typedef struct veil_tx_account {
    bool present; /* false: no such account (the other fields are ignored) */
    uint8_t address[VEIL_TX_ADDRESS_LEN];
    uint64_t bonded;
    uint64_t unbonded;
    uint64_t unbonded_from; /* unix seconds from which `unbonded` may be withdrawn */
    uint64_t nonce;
    uint64_t jailed_until; /* unix seconds; jailed while jailed_until > block_time */
} veil_tx_account;

/* One obfuscation key the enclave holds. */
typedef struct veil_tx_epoch_key {
    uint64_t epoch;
    uint8_t key[VEIL_AEAD_KEY_LEN];
} veil_tx_epoch_key;

/* Looks up output `index` of the stored transaction `txid`. Returns VEIL_OK and fills
 * *out; VEIL_ERR_TX_INPUT_NOT_FOUND if no such tx is stored;
 * VEIL_ERR_TX_OUTPUT_INDEX_OUT_OF_RANGE if it has no such output; any other code
 * (e.g. an unseal failure) aborts validation and is returned as is. The enclave's
 * implementation unseals the stored TxPayload and calls veil_tx_payload_output. */
typedef veil_status (*veil_tx_resolve_fn)(void *ctx, const uint8_t txid[VEIL_TX_ID_LEN],
                                          uint32_t index, veil_tx_output *out);

/* An optional memory of signatures that verified, so that a tx judged again (encrypt,
 * CheckTx, the block) costs its Schnorr verifications once. The tag names one
 * (signature, txid, public key) triple: VEIL_TX_SIG_TAG over sig || txid || key. known
 * says whether the tag was learnt; learn records one (only ever after a successful
 * verification). Both may be called from several threads at once if the env is shared.
 * A tag collision would need a SHA-256 collision. */
#define VEIL_TX_SIG_TAG "veil/sig-verified/v1"
typedef bool (*veil_tx_sig_known_fn)(void *ctx, const uint8_t tag[32]);
typedef void (*veil_tx_sig_learn_fn)(void *ctx, const uint8_t tag[32]);

/* What stays the same for every tx of a block. */
typedef struct veil_tx_env {
    const veil_tx_params *params;
    const veil_tx_epoch_key *keys; /* the keys held; epochs must be distinct */
    size_t n_keys;
    veil_tx_resolve_fn resolve;
    void *resolve_ctx; /* passed to resolve; may be NULL */
    ProtobufCAllocator *alloc; /* NULL = protobuf-c default */
    veil_tx_sig_known_fn sig_known; /* NULL: every signature is verified */
    veil_tx_sig_learn_fn sig_learn; /* NULL: nothing is remembered */
    void *sig_ctx;
} veil_tx_env;

/* The public state the node passes with one tx. */
typedef struct veil_tx_state {
    const bool *spent; /* spent[i]: public input i is already spent */
    size_t n_spent;    /* must equal the wire tx's input count, else VEIL_ERR_ARG */
    /* deposit target / withdraw source; NULL means the same as !present. Ignored for
     * transfers. */
    const veil_tx_account *account;
} veil_tx_state;

/* The result of validating a tx: its public effects and, for the caller to seal, the
 * plaintext. Contains plaintext — keep it inside the enclave and wipe it
 * (veil_tx_outcome_wipe) when done. About 20 KiB: enclaves should allocate it rather
 * than put it on a small stack. */
typedef struct veil_tx_outcome {
    veil_tx_kind kind;
    uint8_t txid[VEIL_TX_ID_LEN];
    uint64_t fee;
    uint64_t key_epoch;
    uint32_t output_count;
    /* deposit: target; withdraw: source. Zero for transfers. */
    uint8_t account[VEIL_TX_ADDRESS_LEN];
    /* deposit: amount added to bonded; withdraw: amount removed from unbonded
     * (== account.unbonded == sum(outputs) + fee). Zero for transfers. */
    uint64_t amount;
    /* withdraw: the nonce the tx consumed (the node then increments the account's). */
    uint64_t nonce;
    veil_tx_body body; /* the decoded plaintext body (outputs, view keys) */
    size_t payload_len;
    uint8_t payload[VEIL_TX_MAX_PAYLOAD_LEN]; /* the TxPayload bytes, to seal */
} veil_tx_outcome;

/* --- functions -------------------------------------------------------------------- */

/* txid = SHA-256 tagged "veil/txid/v1" over the exact body bytes. No size limit. */
void veil_tx_id(uint8_t txid[static VEIL_TX_ID_LEN], const uint8_t *body, size_t body_len);

/* The AEAD associated data: txid || key_epoch || fee, each u64 big-endian. The fee is
 * public but feeds the sums: authenticating it means a copy of a tx with another fee
 * fails decryption instead of probing the hidden values through the sum checks. */
void veil_tx_aad(uint8_t aad[static VEIL_TX_AAD_LEN], const uint8_t txid[static VEIL_TX_ID_LEN],
                 uint64_t key_epoch, uint64_t fee);

/* The fee-relevant size of a tx: the length of its padded TxPayload (a bucket), so the
 * public fee reveals no more than the ciphertext's length does. VEIL_ERR_TX_BODY_TOO_LARGE
 * if body_len > 8192, VEIL_ERR_TX_WITNESS_COUNT if n_witnesses > 64. */
VEIL_MUST_CHECK veil_status veil_tx_size(size_t body_len, size_t n_witnesses, uint64_t *size);

/* The padded length of a TxPayload whose encoding without padding is `unpadded` bytes,
 * and the length of the padding field's content (0: no padding field). VEIL_ERR_TX_TOO_LARGE
 * above the largest bucket. */
VEIL_MUST_CHECK veil_status veil_tx_padded_len(size_t unpadded, size_t *padded, size_t *pad_len);

/* min_fee = fee_base + fee_per_byte * size. VEIL_ERR_TX_SUM_OVERFLOW if that does not
 * fit in 64 bits. (Validation treats such a minimum as unpayable: fee error.) */
VEIL_MUST_CHECK veil_status veil_tx_min_fee(const veil_tx_params *params, uint64_t size,
                                            uint64_t *min_fee);

/* Decodes a TxBody: size (<= 8192, else VEIL_ERR_TX_BODY_TOO_LARGE), canonical form,
 * exactly one kind, counts (VEIL_ERR_TX_TOO_MANY_*), fixed lengths (32-byte txids,
 * addresses, accounts, view keys), chain id <= 64 bytes without NUL. Shape only: no
 * semantic rule (version, chain id, values...) is applied. */
VEIL_MUST_CHECK veil_status veil_tx_body_decode(const uint8_t *body, size_t body_len,
                                                ProtobufCAllocator *alloc, veil_tx_body *out);

/* Encodes a body canonically (for wallets and tests); kind picks which fields are
 * used. VEIL_ERR_ARG if a count exceeds its limit, the kind is unknown or chain_id is
 * not NUL-terminated within 64 bytes; VEIL_ERR_BUFFER_TOO_SMALL if out_cap is too
 * small. The result is not checked against VEIL_TX_MAX_BODY_LEN (a body with many
 * inputs, outputs and view keys can exceed it, and validators reject it): check
 * *out_len. */
VEIL_MUST_CHECK veil_status veil_tx_body_encode(const veil_tx_body *body, uint8_t *out,
                                                size_t out_cap, size_t *out_len);

/* Output `index` of a stored body (decoded as by veil_tx_body_decode).
 * VEIL_ERR_TX_OUTPUT_INDEX_OUT_OF_RANGE if there is no such output (deposits have
 * none); decoding errors as veil_tx_body_decode. */
VEIL_MUST_CHECK veil_status veil_tx_body_output(const uint8_t *body, size_t body_len,
                                                uint32_t index, ProtobufCAllocator *alloc,
                                                veil_tx_output *out);

/* The same, given a stored TxPayload (what the TVE seals). */
VEIL_MUST_CHECK veil_status veil_tx_payload_output(const uint8_t *payload, size_t payload_len,
                                                   uint32_t index, ProtobufCAllocator *alloc,
                                                   veil_tx_output *out);

/* Opens a TxPayload the way validation does (size, canonical form, body and witness
 * limits, a bucket's length, zero padding: the same codes), decodes its body as
 * veil_tx_body_decode does and computes its txid. The one decoder of payloads outside
 * validation (the TQE, wallets): with a non-NULL alloc every intermediate copy of the
 * plaintext is wiped before it is freed. On failure *body is zeroed. */
VEIL_MUST_CHECK veil_status veil_tx_payload_open(const uint8_t *payload, size_t payload_len,
                                                 ProtobufCAllocator *alloc, veil_tx_body *body,
                                                 uint8_t txid[static VEIL_TX_ID_LEN]);

/* How many wire txs and payloads this process (or enclave) has decoded: counters for
 * tests that show a forwarding hop does not decode what it only passes on. */
uint64_t veil_tx_wire_decodes(void);
uint64_t veil_tx_payload_decodes(void);

/* Encodes a TxPayload: the body bytes as signed, n_witnesses 64-byte signatures and the
 * zero padding that makes it exactly a bucket long. VEIL_ERR_ARG if n_witnesses > 64;
 * VEIL_ERR_BUFFER_TOO_SMALL if out_cap is too small (VEIL_TX_MAX_PAYLOAD_LEN suffices
 * when body_len <= 8192). */
VEIL_MUST_CHECK veil_status veil_tx_payload_encode(const uint8_t *body, size_t body_len,
                                                   const uint8_t (*witnesses)[VEIL_TX_WITNESS_LEN],
                                                   size_t n_witnesses, uint8_t *out,
                                                   size_t out_cap, size_t *out_len);

/* Decodes the public fields of a wire tx (for the node, and the first step of
 * validation): size (<= VEIL_TX_MAX_WIRE_LEN, else VEIL_ERR_TX_TOO_LARGE), canonical
 * form, kind known, 32-byte txid, 12-byte nonce, account empty or 32 bytes, inputs
 * <= 64 (VEIL_ERR_TX_TOO_MANY_INPUTS) with 32-byte txids, output_count <= 64
 * (VEIL_ERR_TX_TOO_MANY_OUTPUTS), ciphertext between 16 bytes and
 * VEIL_TX_MAX_CIPHERTEXT_LEN (VEIL_ERR_TX_TOO_LARGE). Nothing is decrypted. */
VEIL_MUST_CHECK veil_status veil_tx_wire_decode(const uint8_t *wire, size_t wire_len,
                                                ProtobufCAllocator *alloc, veil_tx_wire *out);

/* Builds the wire form of a payload: decodes the payload and its body (as
 * validation would, so a malformed payload is refused with the same codes), fills
 * the public fields from the body (kind, txid, inputs, output count, account), sets
 * fee and key_epoch as given, and encrypts the payload with AES-256-GCM-SIV under
 * `key`, `nonce` and AAD = txid || key_epoch || fee. The fee is not in the body, so the
 * caller supplies it; validate the result to check it. The nonce must be fresh random
 * bytes (GCM-SIV tolerates accidental reuse, but reuse reveals equal plaintexts).
 * `payload` must not overlap `out`. VEIL_ERR_BUFFER_TOO_SMALL if out_cap is too small
 * (VEIL_TX_MAX_WIRE_LEN always suffices). */
VEIL_MUST_CHECK veil_status veil_tx_wire_seal(const uint8_t *payload, size_t payload_len,
                                              uint64_t fee, uint64_t key_epoch,
                                              const uint8_t key[static VEIL_AEAD_KEY_LEN],
                                              const uint8_t nonce[static VEIL_TX_NONCE_LEN],
                                              ProtobufCAllocator *alloc, uint8_t *out,
                                              size_t out_cap, size_t *out_len);

/* Validates a wire tx against every rule in docs/transactions.md, in the order listed
 * there, and returns the first rule's code that fails (VEIL_ERR_TX_*), VEIL_ERR_ARG
 * if the caller's inputs are inconsistent (state->n_spent != input count, missing
 * resolver or params), or a resolver's own error. On VEIL_OK, *out holds the public
 * effects and the plaintext; on failure *out is wiped. */
VEIL_MUST_CHECK veil_status veil_tx_validate(const veil_tx_env *env, const veil_tx_state *state,
                                             const uint8_t *wire, size_t wire_len,
                                             veil_tx_outcome *out);

/* One meaning per byte string: true if `msg`, decoded from `bytes`, carries no unknown
 * top-level fields and re-encodes to exactly `bytes`. Compares while encoding; no
 * allocation. Used for every Veil message that is hashed, signed or stored. */
bool veil_pb_is_canonical(const ProtobufCMessage *msg, const uint8_t *bytes, size_t len);

/* Wipes the plaintext (and everything else) in an outcome. */
void veil_tx_outcome_wipe(veil_tx_outcome *out);

/* Adds every view key a body names to a block's bloom filter (see bloom.h). */
void veil_tx_bloom_add(veil_bloom *bloom, const veil_tx_body *body);

#endif
