/* Test-only builder for confidential transactions.
 *
 * Builds bodies, payloads and wire txs directly with protobuf-c (not through the
 * library's encoders), so tests can make transactions the library would never
 * produce: over the limits, with public fields that disagree with the body, with raw
 * body bytes, or encrypted under the wrong key, epoch or AAD. Aborts on allocation
 * or crypto failures (tests only).
 */
#ifndef VEIL_TESTS_SUPPORT_TX_BUILDER_H
#define VEIL_TESTS_SUPPORT_TX_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trusted/tx/tx.h"
#include "veil/tve.pb-c.h"
#include "veil/tx.pb-c.h"

#define TXB_MAX 80 /* room for limit + 1 of every list */

typedef struct txb {
    /* --- body --- */
    uint32_t version;
    char chain_id[200];
    veil_tx_kind kind;
    size_t n_inputs;
    veil_tx_outpoint inputs[TXB_MAX];
    size_t n_outputs;
    veil_tx_output outputs[TXB_MAX];
    size_t n_view_keys;
    uint8_t view_keys[TXB_MAX][32];
    uint8_t account[32];
    uint64_t amount;
    uint64_t nonce;
    /* TxBody.blinding: random by default; blinding_len 0 leaves the field out. */
    uint8_t blinding[32];
    size_t blinding_len;
    /* If set, used verbatim as the body bytes instead of encoding the fields above. */
    uint8_t *raw_body;
    size_t raw_body_len;

    /* --- payload padding: by default to its bucket with zeros --- */
    enum { TXB_PAD_BUCKET = 0, TXB_PAD_NONE, TXB_PAD_NONZERO } pad;

    /* --- witnesses: witness i is a BIP-340 signature by signers[i] over the txid --- */
    size_t n_signers;
    uint8_t signers[TXB_MAX][32];
    bool random_aux; /* sign with fresh auxiliary randomness, as wallets do; default
                        false: deterministic signatures (equal keys sign alike) */

    /* --- wire --- */
    uint64_t fee;
    uint64_t key_epoch;
    uint8_t key[32];
    uint8_t nonce12[12];
    /* Public-field overrides (tampering); by default the public fields follow the body. */
    bool override_txid;
    uint8_t txid_override[32];
    int kind_override; /* 0: follow the body; else the TxKind value to put on the wire */
    bool override_output_count;
    uint32_t output_count_override;
    bool override_inputs;
    size_t n_public_inputs;
    veil_tx_outpoint public_inputs[TXB_MAX];
    bool override_account;
    size_t account_override_len; /* 0 = empty */
    uint8_t account_override[32];
    /* AAD override: by default AAD = public txid || key_epoch. */
    bool override_aad;
    uint8_t aad_txid[32];
    uint64_t aad_epoch;

    /* --- results (owned by the builder) --- */
    uint8_t *body;
    size_t body_len;
    uint8_t txid[32];
    uint8_t *payload;
    size_t payload_len;
    uint8_t *wire;
    size_t wire_len;
} txb;

/* The current version, the given kind and chain id, a random blinding value,
 * everything else empty. */
txb *txb_new(veil_tx_kind kind, const char *chain_id);
void txb_free(txb *b);

/* Appends an input and, as the next witness signer, sk (NULL: no signer added). */
void txb_input(txb *b, const uint8_t txid[32], uint32_t index, const uint8_t *sk);
void txb_output(txb *b, const uint8_t address[32], uint64_t value, uint64_t valid_from);
void txb_view_key(txb *b, const uint8_t vk[32]);
void txb_signer(txb *b, const uint8_t sk[32]);
void txb_raw_body(txb *b, const uint8_t *body, size_t len);

/* Each step rebuilds from the fields; txb_build runs all three. */
void txb_build_body(txb *b);
void txb_build_payload(txb *b);
void txb_build_wire(txb *b);
void txb_build(txb *b);

/* Unpacks the wire, lets `mutate` edit the message in place (scalars, bytes within
 * existing buffers, shorter lengths; never replacing pointers), packs it again. No
 * re-encryption. */
void txb_mutate_wire(txb *b, void (*mutate)(Veil__Tx__ConfidentialTx *m, void *ctx), void *ctx);

/* The x-only public key of a secret key. */
void txb_pubkey(uint8_t pk[32], const uint8_t sk[32]);

/* The veil.tve.EncryptOrder of the built payload and `fee` (what the TQE seals for the
 * TVE) with the chain state a TQE's light client would have proven: params (NULL: none,
 * which the TVE refuses), account (NULL: none), one spent flag per input (spent NULL:
 * all unspent); into out; returns its length. */
size_t txb_order(const txb *b, uint64_t fee, const Veil__Tve__ChainParams *params,
                 const Veil__Tve__AccountState *account, const bool *spent, uint8_t *out,
                 size_t cap);

#endif
