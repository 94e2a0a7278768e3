#include "tx_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "veil/tve.pb-c.h"

static void die(const char *what)
{
    fprintf(stderr, "tx_builder: %s\n", what);
    abort();
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) die("out of memory");
    return p;
}

txb *txb_new(veil_tx_kind kind, const char *chain_id)
{
    txb *b = xcalloc(1, sizeof *b);
    b->version = VEIL_TX_VERSION;
    b->kind = kind;
    snprintf(b->chain_id, sizeof b->chain_id, "%s", chain_id);
    randombytes_buf(b->blinding, sizeof b->blinding);
    b->blinding_len = sizeof b->blinding;
    return b;
}

void txb_free(txb *b)
{
    if (!b) return;
    free(b->raw_body);
    free(b->body);
    free(b->payload);
    free(b->wire);
    free(b);
}

void txb_input(txb *b, const uint8_t txid[32], uint32_t index, const uint8_t *sk)
{
    if (b->n_inputs >= TXB_MAX) die("too many inputs");
    memcpy(b->inputs[b->n_inputs].txid, txid, 32);
    b->inputs[b->n_inputs].index = index;
    b->n_inputs++;
    if (sk) txb_signer(b, sk);
}

void txb_output(txb *b, const uint8_t address[32], uint64_t value, uint64_t valid_from)
{
    if (b->n_outputs >= TXB_MAX) die("too many outputs");
    veil_tx_output *o = &b->outputs[b->n_outputs++];
    memcpy(o->address, address, 32);
    o->value = value;
    o->valid_from = valid_from;
}

void txb_view_key(txb *b, const uint8_t vk[32])
{
    if (b->n_view_keys >= TXB_MAX) die("too many view keys");
    memcpy(b->view_keys[b->n_view_keys++], vk, 32);
}

void txb_signer(txb *b, const uint8_t sk[32])
{
    if (b->n_signers >= TXB_MAX) die("too many signers");
    memcpy(b->signers[b->n_signers++], sk, 32);
}

void txb_raw_body(txb *b, const uint8_t *body, size_t len)
{
    free(b->raw_body);
    b->raw_body = xcalloc(1, len);
    memcpy(b->raw_body, body, len);
    b->raw_body_len = len;
}

void txb_pubkey(uint8_t pk[32], const uint8_t sk[32])
{
    if (veil_schnorr_pubkey(pk, sk) != VEIL_OK) die("bad secret key");
}

/* Outpoint / output messages over the builder's arrays (pointers into b). */
static Veil__Tx__OutPoint **outpoint_msgs(const veil_tx_outpoint *src, size_t n)
{
    Veil__Tx__OutPoint **v = xcalloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        v[i] = xcalloc(1, sizeof **v);
        veil__tx__out_point__init(v[i]);
        v[i]->txid.data = (uint8_t *)src[i].txid;
        v[i]->txid.len = 32;
        v[i]->index = src[i].index;
    }
    return v;
}

static void free_msgs(void **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

void txb_build_body(txb *b)
{
    free(b->body);
    if (b->raw_body) {
        b->body = xcalloc(1, b->raw_body_len);
        memcpy(b->body, b->raw_body, b->raw_body_len);
        b->body_len = b->raw_body_len;
        veil_tx_id(b->txid, b->body, b->body_len);
        return;
    }
    Veil__Tx__OutPoint **ins = outpoint_msgs(b->inputs, b->n_inputs);
    Veil__Tx__TxOut **outs = xcalloc(b->n_outputs, sizeof *outs);
    for (size_t i = 0; i < b->n_outputs; i++) {
        outs[i] = xcalloc(1, sizeof **outs);
        veil__tx__tx_out__init(outs[i]);
        outs[i]->address.data = b->outputs[i].address;
        outs[i]->address.len = 32;
        outs[i]->value = b->outputs[i].value;
        outs[i]->valid_from = b->outputs[i].valid_from;
    }
    ProtobufCBinaryData *vks = xcalloc(b->n_view_keys, sizeof *vks);
    for (size_t i = 0; i < b->n_view_keys; i++) {
        vks[i].data = b->view_keys[i];
        vks[i].len = 32;
    }
    Veil__Tx__TransferBody transfer = VEIL__TX__TRANSFER_BODY__INIT;
    Veil__Tx__DepositBody deposit = VEIL__TX__DEPOSIT_BODY__INIT;
    Veil__Tx__WithdrawBody withdraw = VEIL__TX__WITHDRAW_BODY__INIT;
    Veil__Tx__TxBody m = VEIL__TX__TX_BODY__INIT;
    m.version = b->version;
    m.chain_id = b->chain_id;
    m.n_view_keys = b->n_view_keys;
    m.view_keys = vks;
    m.blinding.data = b->blinding;
    m.blinding.len = b->blinding_len;
    switch (b->kind) {
    case VEIL_TX_KIND_TRANSFER:
        transfer.n_inputs = b->n_inputs;
        transfer.inputs = ins;
        transfer.n_outputs = b->n_outputs;
        transfer.outputs = outs;
        m.kind_case = VEIL__TX__TX_BODY__KIND_TRANSFER;
        m.transfer = &transfer;
        break;
    case VEIL_TX_KIND_DEPOSIT:
        deposit.n_inputs = b->n_inputs;
        deposit.inputs = ins;
        deposit.account.data = b->account;
        deposit.account.len = 32;
        deposit.amount = b->amount;
        m.kind_case = VEIL__TX__TX_BODY__KIND_DEPOSIT;
        m.deposit = &deposit;
        break;
    case VEIL_TX_KIND_WITHDRAW:
        withdraw.account.data = b->account;
        withdraw.account.len = 32;
        withdraw.nonce = b->nonce;
        withdraw.n_outputs = b->n_outputs;
        withdraw.outputs = outs;
        m.kind_case = VEIL__TX__TX_BODY__KIND_WITHDRAW;
        m.withdraw = &withdraw;
        break;
    default:
        break; /* no kind: a malformed body, on purpose */
    }
    b->body_len = protobuf_c_message_get_packed_size(&m.base);
    b->body = xcalloc(1, b->body_len);
    protobuf_c_message_pack(&m.base, b->body);
    veil_tx_id(b->txid, b->body, b->body_len);
    free_msgs((void **)ins, b->n_inputs);
    free_msgs((void **)outs, b->n_outputs);
    free(vks);
}

void txb_build_payload(txb *b)
{
    uint8_t (*sigs)[64] = xcalloc(b->n_signers, 64);
    ProtobufCBinaryData *w = xcalloc(b->n_signers, sizeof *w);
    for (size_t i = 0; i < b->n_signers; i++) {
        uint8_t aux[32];
        if (b->random_aux) randombytes_buf(aux, sizeof aux);
        if (veil_schnorr_sign(sigs[i], b->txid, 32, b->signers[i], b->random_aux ? aux : NULL) !=
            VEIL_OK)
            die("sign");
        w[i].data = sigs[i];
        w[i].len = 64;
    }
    Veil__Tx__TxPayload m = VEIL__TX__TX_PAYLOAD__INIT;
    m.body.data = b->body;
    m.body.len = b->body_len;
    m.n_witnesses = b->n_signers;
    m.witnesses = w;
    static uint8_t pad[VEIL_TX_MAX_PAYLOAD_LEN];
    size_t padded, pad_len;
    if (b->pad != TXB_PAD_NONE &&
        veil_tx_padded_len(protobuf_c_message_get_packed_size(&m.base), &padded, &pad_len) ==
            VEIL_OK &&
        pad_len > 0) {
        memset(pad, 0, pad_len);
        if (b->pad == TXB_PAD_NONZERO) pad[pad_len - 1] = 1;
        m.padding.data = pad;
        m.padding.len = pad_len;
    }
    free(b->payload);
    b->payload_len = protobuf_c_message_get_packed_size(&m.base);
    b->payload = xcalloc(1, b->payload_len);
    protobuf_c_message_pack(&m.base, b->payload);
    free(w);
    free(sigs);
}

void txb_build_wire(txb *b)
{
    const veil_tx_outpoint *pin = b->override_inputs ? b->public_inputs : b->inputs;
    size_t n_pin = b->override_inputs ? b->n_public_inputs : b->n_inputs;
    Veil__Tx__OutPoint **ins = outpoint_msgs(pin, n_pin);
    Veil__Tx__ConfidentialTx m = VEIL__TX__CONFIDENTIAL_TX__INIT;
    const uint8_t *txid = b->override_txid ? b->txid_override : b->txid;
    uint8_t aad[VEIL_TX_AAD_LEN];

    m.kind = (Veil__Tx__TxKind)(b->kind_override ? b->kind_override : (int)b->kind);
    m.txid.data = (uint8_t *)txid;
    m.txid.len = 32;
    m.n_inputs = n_pin;
    m.inputs = ins;
    m.output_count = b->override_output_count
                         ? b->output_count_override
                         : (uint32_t)(b->kind == VEIL_TX_KIND_DEPOSIT ? 0 : b->n_outputs);
    m.fee = b->fee;
    m.key_epoch = b->key_epoch;
    m.nonce.data = b->nonce12;
    m.nonce.len = 12;
    if (b->override_account) {
        m.account.data = b->account_override;
        m.account.len = b->account_override_len;
    } else if (b->kind != VEIL_TX_KIND_TRANSFER) {
        m.account.data = b->account;
        m.account.len = 32;
    }
    if (b->override_aad)
        veil_tx_aad(aad, b->aad_txid, b->aad_epoch, b->fee);
    else
        veil_tx_aad(aad, txid, b->key_epoch, b->fee);
    uint8_t *ct = xcalloc(1, b->payload_len + VEIL_AEAD_TAG_LEN);
    if (veil_aead_seal(b->key, b->nonce12, aad, sizeof aad, b->payload, b->payload_len, ct) !=
        VEIL_OK)
        die("seal");
    m.ciphertext.data = ct;
    m.ciphertext.len = b->payload_len + VEIL_AEAD_TAG_LEN;
    free(b->wire);
    b->wire_len = protobuf_c_message_get_packed_size(&m.base);
    b->wire = xcalloc(1, b->wire_len);
    protobuf_c_message_pack(&m.base, b->wire);
    free(ct);
    free_msgs((void **)ins, n_pin);
}

void txb_build(txb *b)
{
    txb_build_body(b);
    txb_build_payload(b);
    txb_build_wire(b);
}

void txb_mutate_wire(txb *b, void (*mutate)(Veil__Tx__ConfidentialTx *m, void *ctx), void *ctx)
{
    Veil__Tx__ConfidentialTx *m = veil__tx__confidential_tx__unpack(NULL, b->wire_len, b->wire);
    if (!m) die("mutate: wire does not decode");
    mutate(m, ctx);
    size_t len = protobuf_c_message_get_packed_size(&m->base);
    uint8_t *w = xcalloc(1, len);
    protobuf_c_message_pack(&m->base, w);
    /* free_unpacked frees the bytes fields unpack allocated: mutators edit in place
     * (values, or lengths no larger than before) and never swap pointers. */
    veil__tx__confidential_tx__free_unpacked(m, NULL);
    free(b->wire);
    b->wire = w;
    b->wire_len = len;
}

size_t txb_order(const txb *b, uint64_t fee, const Veil__Tve__ChainParams *params,
                 const Veil__Tve__AccountState *account, const bool *spent, uint8_t *out,
                 size_t cap)
{
    Veil__Tve__EncryptOrder o = VEIL__TVE__ENCRYPT_ORDER__INIT;
    protobuf_c_boolean flags[VEIL_TX_MAX_INPUTS] = {0};
    for (size_t i = 0; spent != NULL && i < b->n_inputs; i++) flags[i] = spent[i];
    o.payload.data = b->payload;
    o.payload.len = b->payload_len;
    o.fee = fee;
    o.params = (Veil__Tve__ChainParams *)params;
    o.account = (Veil__Tve__AccountState *)account;
    o.n_input_spent = b->n_inputs;
    o.input_spent = flags;
    size_t n = veil__tve__encrypt_order__get_packed_size(&o);
    if (n > cap) die("order buffer too small");
    return veil__tve__encrypt_order__pack(&o, out);
}
