/* The wire form (ConfidentialTx): public-field decoding and the encrypt side.
 *
 * The AEAD binds the ciphertext to the public txid, key epoch and fee (AAD = txid ||
 * epoch || fee): a payload cannot be replayed under another txid; a ciphertext made
 * under one epoch's key cannot be presented as belonging to another epoch, even while
 * two epochs share a key during a grace period; and the public fee, which enters the
 * sum checks, cannot be changed to probe the hidden values.
 */
#include <string.h>

#include "common/cursor.h"
#include "common/varint.h"
#include "trusted/tx/tx_internal.h"

/* Tag byte of ConfidentialTx.ciphertext: field 9, wire type 2 (length-delimited). */
#define TX_WIRE_CIPHERTEXT_TAG ((9u << 3) | 2u)

void veil_tx_id(uint8_t txid[static VEIL_TX_ID_LEN], const uint8_t *body, size_t body_len)
{
    veil_sha256_tagged(txid, VEIL_TX_TXID_TAG, body, body_len);
}

void veil_tx_aad(uint8_t aad[static VEIL_TX_AAD_LEN], const uint8_t txid[static VEIL_TX_ID_LEN],
                 uint64_t key_epoch, uint64_t fee)
{
    memcpy(aad, txid, VEIL_TX_ID_LEN);
    veil_put_u64(aad + VEIL_TX_ID_LEN, key_epoch);
    veil_put_u64(aad + VEIL_TX_ID_LEN + 8, fee);
}

static bool tx_wire_has_unknown(const Veil__Tx__ConfidentialTx *m)
{
    if (m->base.n_unknown_fields) return true;
    for (size_t i = 0; i < m->n_inputs; i++)
        if (m->inputs[i]->base.n_unknown_fields) return true;
    return false;
}

static uint64_t tx_wire_decode_count;

uint64_t veil_tx_wire_decodes(void)
{
    return __atomic_load_n(&tx_wire_decode_count, __ATOMIC_RELAXED);
}

veil_status tx_wire_unpack(const uint8_t *wire, size_t len, ProtobufCAllocator *alloc,
                           veil_tx_wire *pub, Veil__Tx__ConfidentialTx **out)
{
    veil_status st = VEIL_OK;
    Veil__Tx__ConfidentialTx *m = NULL;

    *out = NULL;
    memset(pub, 0, sizeof *pub);
    ENSURE(wire || len == 0, VEIL_ERR_ARG);
    __atomic_fetch_add(&tx_wire_decode_count, 1, __ATOMIC_RELAXED);
    ENSURE(len <= VEIL_TX_MAX_WIRE_LEN, VEIL_ERR_TX_TOO_LARGE); /* W1 */
    ProtobufCMessage *pm = NULL;
    TRY(tx_msg_unpack(&veil__tx__confidential_tx__descriptor, alloc, wire, len,
                      VEIL_ERR_TX_MALFORMED, &pm)); /* W2 */
    m = (Veil__Tx__ConfidentialTx *)pm;
    ENSURE_OUT(!tx_wire_has_unknown(m) && tx_is_canonical(&m->base, wire, len),
               VEIL_ERR_TX_MALFORMED);
    /* W3: counts and the ciphertext limit. */
    ENSURE_OUT(m->n_inputs <= VEIL_TX_MAX_INPUTS, VEIL_ERR_TX_TOO_MANY_INPUTS);
    ENSURE_OUT(m->output_count <= VEIL_TX_MAX_OUTPUTS, VEIL_ERR_TX_TOO_MANY_OUTPUTS);
    ENSURE_OUT(m->ciphertext.len <= VEIL_TX_MAX_CIPHERTEXT_LEN, VEIL_ERR_TX_TOO_LARGE);
    /* W4: shape. */
    ENSURE_OUT(m->kind == VEIL__TX__TX_KIND__TX_KIND_TRANSFER ||
                   m->kind == VEIL__TX__TX_KIND__TX_KIND_DEPOSIT ||
                   m->kind == VEIL__TX__TX_KIND__TX_KIND_WITHDRAW,
               VEIL_ERR_TX_MALFORMED);
    ENSURE_OUT(m->txid.len == VEIL_TX_ID_LEN, VEIL_ERR_TX_MALFORMED);
    ENSURE_OUT(m->nonce.len == VEIL_TX_NONCE_LEN, VEIL_ERR_TX_MALFORMED);
    ENSURE_OUT(m->account.len == 0 || m->account.len == VEIL_TX_ADDRESS_LEN,
               VEIL_ERR_TX_MALFORMED);
    ENSURE_OUT(m->ciphertext.len >= VEIL_AEAD_TAG_LEN, VEIL_ERR_TX_MALFORMED);
    for (size_t i = 0; i < m->n_inputs; i++)
        ENSURE_OUT(m->inputs[i]->txid.len == VEIL_TX_ID_LEN, VEIL_ERR_TX_MALFORMED);

    pub->kind = (veil_tx_kind)m->kind;
    memcpy(pub->txid, m->txid.data, VEIL_TX_ID_LEN);
    pub->n_inputs = m->n_inputs;
    for (size_t i = 0; i < m->n_inputs; i++) {
        memcpy(pub->inputs[i].txid, m->inputs[i]->txid.data, VEIL_TX_ID_LEN);
        pub->inputs[i].index = m->inputs[i]->index;
    }
    pub->output_count = m->output_count;
    pub->fee = m->fee;
    pub->key_epoch = m->key_epoch;
    memcpy(pub->nonce, m->nonce.data, VEIL_TX_NONCE_LEN);
    pub->has_account = m->account.len != 0;
    if (pub->has_account) memcpy(pub->account, m->account.data, VEIL_TX_ADDRESS_LEN);
    pub->ciphertext_len = m->ciphertext.len;
    *out = m;
    m = NULL;
out:
    if (m) tx_msg_free(&m->base, alloc);
    if (st != VEIL_OK) memset(pub, 0, sizeof *pub);
    return st;
}

veil_status veil_tx_wire_decode(const uint8_t *wire, size_t wire_len, ProtobufCAllocator *alloc,
                                veil_tx_wire *out)
{
    Veil__Tx__ConfidentialTx *m;

    ENSURE(out, VEIL_ERR_ARG);
    TRY(tx_wire_unpack(wire, wire_len, alloc, out, &m));
    tx_msg_free(&m->base, alloc);
    return VEIL_OK;
}

veil_status veil_tx_wire_seal(const uint8_t *payload, size_t payload_len, uint64_t fee,
                              uint64_t key_epoch, const uint8_t key[static VEIL_AEAD_KEY_LEN],
                              const uint8_t nonce[static VEIL_TX_NONCE_LEN],
                              ProtobufCAllocator *alloc, uint8_t *out, size_t out_cap,
                              size_t *out_len)
{
    veil_status st = VEIL_OK;
    Veil__Tx__TxPayload *pm = NULL;
    Veil__Tx__TxBody *bm = NULL;
    Veil__Tx__ConfidentialTx cm = VEIL__TX__CONFIDENTIAL_TX__INIT;
    Veil__Tx__OutPoint **ins;
    Veil__Tx__TxOut **outs;
    size_t n_in, n_out;
    uint8_t txid[VEIL_TX_ID_LEN];
    uint8_t aad[VEIL_TX_AAD_LEN];

    ENSURE(out_len && (out || out_cap == 0), VEIL_ERR_ARG);
    *out_len = 0;
    /* Refuse what validation would refuse for its shape, so an encrypt request never
     * produces a wire tx whose failure only shows after broadcast. */
    TRY_OUT(tx_payload_unpack(payload, payload_len, alloc, &pm));
    TRY_OUT(tx_body_unpack(pm->body.data, pm->body.len, alloc, &bm));

    veil_tx_id(txid, pm->body.data, pm->body.len);
    tx_body_msg_inputs(bm, &ins, &n_in);
    tx_body_msg_outputs(bm, &outs, &n_out);
    cm.kind = (Veil__Tx__TxKind)tx_body_msg_kind(bm);
    cm.txid.data = txid;
    cm.txid.len = sizeof txid;
    cm.n_inputs = n_in;
    cm.inputs = ins; /* same OutPoint messages as the body: identical references */
    cm.output_count = (uint32_t)n_out;
    cm.fee = fee;
    cm.key_epoch = key_epoch;
    cm.nonce.data = (uint8_t *)(uintptr_t)nonce;
    cm.nonce.len = VEIL_TX_NONCE_LEN;
    const ProtobufCBinaryData *account = tx_body_msg_account(bm);
    if (account) cm.account = *account;
    /* ciphertext stays empty (so proto3 omits it) and is appended by hand below: it is
     * the highest-numbered field, so this is exactly protobuf's canonical encoding, and
     * the AEAD can write straight into `out` with no scratch copy of the payload. */
    size_t prefix = protobuf_c_message_get_packed_size(&cm.base);
    size_t ct_len = payload_len + VEIL_AEAD_TAG_LEN;
    size_t total = prefix + 1 + veil_varint_len(ct_len) + ct_len;
    ENSURE_OUT(total <= out_cap, VEIL_ERR_BUFFER_TOO_SMALL);

    size_t pos = protobuf_c_message_pack(&cm.base, out);
    ENSURE_OUT(pos == prefix, VEIL_ERR_INTERNAL);
    out[pos++] = TX_WIRE_CIPHERTEXT_TAG;
    pos += veil_varint_put(out + pos, ct_len);
    veil_tx_aad(aad, txid, key_epoch, fee);
    TRY_OUT(veil_aead_seal(key, nonce, aad, sizeof aad, payload, payload_len, out + pos));
    *out_len = pos + ct_len;
out:
    tx_msg_free(bm ? &bm->base : NULL, alloc);
    tx_msg_free(pm ? &pm->base : NULL, alloc);
    return st;
}
