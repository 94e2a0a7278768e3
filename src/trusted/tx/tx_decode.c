/* Decoding and encoding of TxBody and TxPayload.
 *
 * Untrusted bytes go through the same three gates every time: a size limit before
 * protobuf-c sees them, the canonical-form check right after unpacking (so one byte
 * string has one meaning, and nothing we ignore can hide in unknown fields), then
 * counts and fixed lengths. Only then are values copied into plain C structs.
 */
#include <string.h>

#include "trusted/tx/tx_internal.h"

/* --- memory ------------------------------------------------------------------------ */

/* Each block carries its size in a header so that it can be wiped on free; 16 bytes
 * keep the caller's alignment. */
#define TX_WIPE_HDR 16

/* The caller's allocator, and whether it ran out while protobuf-c was decoding. */
typedef struct tx_wipe_ctx {
    ProtobufCAllocator *inner;
    bool failed;
} tx_wipe_ctx;

static void *tx_wiping_alloc(void *data, size_t n)
{
    tx_wipe_ctx *ctx = data;
    ProtobufCAllocator *inner = ctx->inner;
    uint8_t *p = n > SIZE_MAX - TX_WIPE_HDR ? NULL : inner->alloc(inner->allocator_data, n + TX_WIPE_HDR);
    if (!p) {
        ctx->failed = true;
        return NULL;
    }
    memcpy(p, &n, sizeof n);
    return p + TX_WIPE_HDR;
}

static void tx_wiping_free(void *data, void *ptr)
{
    ProtobufCAllocator *inner = ((tx_wipe_ctx *)data)->inner;
    size_t n;
    if (!ptr) return;
    uint8_t *p = (uint8_t *)ptr - TX_WIPE_HDR;
    memcpy(&n, p, sizeof n);
    veil_wipe(p, n + TX_WIPE_HDR);
    inner->free(inner->allocator_data, p);
}

veil_status tx_msg_unpack(const ProtobufCMessageDescriptor *desc, ProtobufCAllocator *alloc,
                          const uint8_t *data, size_t len, veil_status malformed,
                          ProtobufCMessage **out)
{
    if (!alloc) {
        *out = protobuf_c_message_unpack(desc, NULL, len, data);
        return *out != NULL ? VEIL_OK : malformed;
    }
    tx_wipe_ctx ctx = {alloc, false};
    ProtobufCAllocator wipe = {.alloc = tx_wiping_alloc, .free = tx_wiping_free,
                               .allocator_data = &ctx};
    *out = protobuf_c_message_unpack(desc, &wipe, len, data);
    if (*out != NULL) return VEIL_OK;
    /* Out of memory is this machine's condition, not the input's: never a verdict. */
    return ctx.failed ? VEIL_ERR_NOMEM : malformed;
}

void tx_msg_free(ProtobufCMessage *msg, ProtobufCAllocator *alloc)
{
    if (!msg) return;
    if (!alloc) {
        protobuf_c_message_free_unpacked(msg, NULL);
        return;
    }
    tx_wipe_ctx ctx = {alloc, false};
    ProtobufCAllocator wipe = {.alloc = tx_wiping_alloc, .free = tx_wiping_free,
                               .allocator_data = &ctx};
    protobuf_c_message_free_unpacked(msg, &wipe);
}

/* --- canonical form --------------------------------------------------------------- */

/* A ProtobufCBuffer that, instead of storing what protobuf-c packs, compares it with
 * the bytes we were given. Lets us check canonical form without allocating. */
typedef struct tx_canon_cmp {
    ProtobufCBuffer base;
    const uint8_t *want;
    size_t len;
    size_t pos;
    bool same;
} tx_canon_cmp;

static void tx_canon_append(ProtobufCBuffer *buf, size_t n, const uint8_t *data)
{
    tx_canon_cmp *c = (tx_canon_cmp *)buf;
    if (!c->same || n == 0) return;
    if (n > c->len - c->pos || memcmp(c->want + c->pos, data, n) != 0) {
        c->same = false;
        return;
    }
    c->pos += n;
}

static bool tx_has_unknown(const ProtobufCMessage *m) { return m->n_unknown_fields != 0; }

bool veil_pb_is_canonical(const ProtobufCMessage *msg, const uint8_t *bytes, size_t len)
{
    /* protobuf-c re-emits unknown fields when packing, so they would survive the
     * comparison below if they came last; callers reject them separately, message by
     * message, and we refuse them here for the top level too. */
    if (tx_has_unknown(msg)) return false;
    if (protobuf_c_message_get_packed_size(msg) != len) return false;
    tx_canon_cmp c = {.base = {.append = tx_canon_append}, .want = bytes, .len = len,
                      .pos = 0, .same = true};
    size_t n = protobuf_c_message_pack_to_buffer(msg, &c.base);
    return c.same && n == len && c.pos == len;
}

/* --- body ------------------------------------------------------------------------- */

veil_tx_kind tx_body_msg_kind(const Veil__Tx__TxBody *m)
{
    switch (m->kind_case) {
    case VEIL__TX__TX_BODY__KIND_TRANSFER:
        return VEIL_TX_KIND_TRANSFER;
    case VEIL__TX__TX_BODY__KIND_DEPOSIT:
        return VEIL_TX_KIND_DEPOSIT;
    case VEIL__TX__TX_BODY__KIND_WITHDRAW:
        return VEIL_TX_KIND_WITHDRAW;
    default:
        return (veil_tx_kind)0;
    }
}

void tx_body_msg_inputs(const Veil__Tx__TxBody *m, Veil__Tx__OutPoint ***inputs, size_t *n)
{
    *inputs = NULL;
    *n = 0;
    if (m->kind_case == VEIL__TX__TX_BODY__KIND_TRANSFER) {
        *inputs = m->transfer->inputs;
        *n = m->transfer->n_inputs;
    } else if (m->kind_case == VEIL__TX__TX_BODY__KIND_DEPOSIT) {
        *inputs = m->deposit->inputs;
        *n = m->deposit->n_inputs;
    }
}

void tx_body_msg_outputs(const Veil__Tx__TxBody *m, Veil__Tx__TxOut ***outputs, size_t *n)
{
    *outputs = NULL;
    *n = 0;
    if (m->kind_case == VEIL__TX__TX_BODY__KIND_TRANSFER) {
        *outputs = m->transfer->outputs;
        *n = m->transfer->n_outputs;
    } else if (m->kind_case == VEIL__TX__TX_BODY__KIND_WITHDRAW) {
        *outputs = m->withdraw->outputs;
        *n = m->withdraw->n_outputs;
    }
}

const ProtobufCBinaryData *tx_body_msg_account(const Veil__Tx__TxBody *m)
{
    if (m->kind_case == VEIL__TX__TX_BODY__KIND_DEPOSIT) return &m->deposit->account;
    if (m->kind_case == VEIL__TX__TX_BODY__KIND_WITHDRAW) return &m->withdraw->account;
    return NULL;
}

/* B3-B5 on an unpacked, canonical body. */
static veil_status tx_body_check_msg(const Veil__Tx__TxBody *m)
{
    Veil__Tx__OutPoint **ins;
    Veil__Tx__TxOut **outs;
    size_t n_in, n_out;

    /* B3: exactly one kind. Canonical form already rules out two. */
    ENSURE(tx_body_msg_kind(m) != 0, VEIL_ERR_TX_MALFORMED);
    if (m->kind_case == VEIL__TX__TX_BODY__KIND_TRANSFER)
        ENSURE(!tx_has_unknown(&m->transfer->base), VEIL_ERR_TX_MALFORMED);
    else if (m->kind_case == VEIL__TX__TX_BODY__KIND_DEPOSIT)
        ENSURE(!tx_has_unknown(&m->deposit->base), VEIL_ERR_TX_MALFORMED);
    else
        ENSURE(!tx_has_unknown(&m->withdraw->base), VEIL_ERR_TX_MALFORMED);

    /* B4: counts. */
    tx_body_msg_inputs(m, &ins, &n_in);
    tx_body_msg_outputs(m, &outs, &n_out);
    ENSURE(n_in <= VEIL_TX_MAX_INPUTS, VEIL_ERR_TX_TOO_MANY_INPUTS);
    ENSURE(n_out <= VEIL_TX_MAX_OUTPUTS, VEIL_ERR_TX_TOO_MANY_OUTPUTS);
    ENSURE(m->n_view_keys <= VEIL_TX_MAX_VIEW_KEYS, VEIL_ERR_TX_TOO_MANY_VIEW_KEYS);

    /* B5: fixed lengths (and unknown fields in the repeated sub-messages). */
    ENSURE(strlen(m->chain_id) <= VEIL_TX_MAX_CHAIN_ID_LEN, VEIL_ERR_TX_MALFORMED);
    for (size_t i = 0; i < n_in; i++) {
        ENSURE(!tx_has_unknown(&ins[i]->base), VEIL_ERR_TX_MALFORMED);
        ENSURE(ins[i]->txid.len == VEIL_TX_ID_LEN, VEIL_ERR_TX_MALFORMED);
    }
    for (size_t i = 0; i < n_out; i++) {
        ENSURE(!tx_has_unknown(&outs[i]->base), VEIL_ERR_TX_MALFORMED);
        ENSURE(outs[i]->address.len == VEIL_TX_ADDRESS_LEN, VEIL_ERR_TX_MALFORMED);
    }
    const ProtobufCBinaryData *account = tx_body_msg_account(m);
    if (account) ENSURE(account->len == VEIL_TX_ADDRESS_LEN, VEIL_ERR_TX_MALFORMED);
    for (size_t i = 0; i < m->n_view_keys; i++)
        ENSURE(m->view_keys[i].len == VEIL_TX_ADDRESS_LEN, VEIL_ERR_TX_MALFORMED);
    /* B6: the blinding value. All zero is what a builder that forgot to draw it sends;
     * refusing it keeps such a body (and its guessable txid) off the chain. */
    static const uint8_t zero[VEIL_TX_BLINDING_LEN];
    ENSURE(m->blinding.len == VEIL_TX_BLINDING_LEN, VEIL_ERR_TX_BLINDING);
    ENSURE(!veil_ct_equal(m->blinding.data, zero, VEIL_TX_BLINDING_LEN), VEIL_ERR_TX_BLINDING);
    return VEIL_OK;
}

veil_status tx_body_unpack(const uint8_t *body, size_t len, ProtobufCAllocator *alloc,
                           Veil__Tx__TxBody **out)
{
    veil_status st = VEIL_OK;
    Veil__Tx__TxBody *m = NULL;

    *out = NULL;
    ENSURE(body || len == 0, VEIL_ERR_ARG);
    ENSURE(len <= VEIL_TX_MAX_BODY_LEN, VEIL_ERR_TX_BODY_TOO_LARGE); /* B1 */
    ProtobufCMessage *pm = NULL;
    TRY(tx_msg_unpack(&veil__tx__tx_body__descriptor, alloc, body, len, VEIL_ERR_TX_MALFORMED,
                      &pm)); /* B2 */
    m = (Veil__Tx__TxBody *)pm;
    ENSURE_OUT(tx_is_canonical(&m->base, body, len), VEIL_ERR_TX_MALFORMED);
    TRY_OUT(tx_body_check_msg(m));
    *out = m;
    m = NULL;
out:
    if (m) tx_msg_free(&m->base, alloc);
    return st;
}

static void tx_outpoint_copy(veil_tx_outpoint *dst, const Veil__Tx__OutPoint *src)
{
    memcpy(dst->txid, src->txid.data, VEIL_TX_ID_LEN);
    dst->index = src->index;
}

static void tx_output_copy(veil_tx_output *dst, const Veil__Tx__TxOut *src)
{
    memcpy(dst->address, src->address.data, VEIL_TX_ADDRESS_LEN);
    dst->value = src->value;
    dst->valid_from = src->valid_from;
}

veil_status veil_tx_body_decode(const uint8_t *body, size_t body_len, ProtobufCAllocator *alloc,
                                veil_tx_body *out)
{
    Veil__Tx__TxBody *m;
    Veil__Tx__OutPoint **ins;
    Veil__Tx__TxOut **outs;
    size_t n_in, n_out;

    memset(out, 0, sizeof *out);
    TRY(tx_body_unpack(body, body_len, alloc, &m));

    out->version = m->version;
    memcpy(out->chain_id, m->chain_id, strlen(m->chain_id) + 1);
    out->kind = tx_body_msg_kind(m);
    tx_body_msg_inputs(m, &ins, &n_in);
    tx_body_msg_outputs(m, &outs, &n_out);
    out->n_inputs = n_in;
    for (size_t i = 0; i < n_in; i++) tx_outpoint_copy(&out->inputs[i], ins[i]);
    out->n_outputs = n_out;
    for (size_t i = 0; i < n_out; i++) tx_output_copy(&out->outputs[i], outs[i]);
    const ProtobufCBinaryData *account = tx_body_msg_account(m);
    if (account) memcpy(out->account, account->data, VEIL_TX_ADDRESS_LEN);
    if (m->kind_case == VEIL__TX__TX_BODY__KIND_DEPOSIT) out->amount = m->deposit->amount;
    if (m->kind_case == VEIL__TX__TX_BODY__KIND_WITHDRAW) out->nonce = m->withdraw->nonce;
    out->n_view_keys = m->n_view_keys;
    for (size_t i = 0; i < m->n_view_keys; i++)
        memcpy(out->view_keys[i], m->view_keys[i].data, VEIL_TX_ADDRESS_LEN);
    memcpy(out->blinding, m->blinding.data, VEIL_TX_BLINDING_LEN);

    tx_msg_free(&m->base, alloc);
    return VEIL_OK;
}

veil_status veil_tx_body_output(const uint8_t *body, size_t body_len, uint32_t index,
                                ProtobufCAllocator *alloc, veil_tx_output *out)
{
    veil_status st = VEIL_OK;
    Veil__Tx__TxBody *m;
    Veil__Tx__TxOut **outs;
    size_t n_out;

    TRY(tx_body_unpack(body, body_len, alloc, &m));
    tx_body_msg_outputs(m, &outs, &n_out);
    ENSURE_OUT(index < n_out, VEIL_ERR_TX_OUTPUT_INDEX_OUT_OF_RANGE);
    tx_output_copy(out, outs[index]);
out:
    tx_msg_free(&m->base, alloc);
    return st;
}

/* protobuf-c's message structs hold non-const pointers even when only packed; the
 * encoders below point them at the caller's const data, which packing never writes. */
#define TX_UNCONST(p) ((uint8_t *)(uintptr_t)(p))

veil_status veil_tx_body_encode(const veil_tx_body *b, uint8_t *out, size_t out_cap,
                                size_t *out_len)
{
    Veil__Tx__OutPoint in_msg[VEIL_TX_MAX_INPUTS];
    Veil__Tx__OutPoint *in_ptr[VEIL_TX_MAX_INPUTS];
    Veil__Tx__TxOut out_msg[VEIL_TX_MAX_OUTPUTS];
    Veil__Tx__TxOut *out_ptr[VEIL_TX_MAX_OUTPUTS];
    ProtobufCBinaryData vk[VEIL_TX_MAX_VIEW_KEYS];
    Veil__Tx__TransferBody transfer = VEIL__TX__TRANSFER_BODY__INIT;
    Veil__Tx__DepositBody deposit = VEIL__TX__DEPOSIT_BODY__INIT;
    Veil__Tx__WithdrawBody withdraw = VEIL__TX__WITHDRAW_BODY__INIT;
    Veil__Tx__TxBody m = VEIL__TX__TX_BODY__INIT;

    ENSURE(b && out_len && (out || out_cap == 0), VEIL_ERR_ARG);
    ENSURE(b->n_inputs <= VEIL_TX_MAX_INPUTS && b->n_outputs <= VEIL_TX_MAX_OUTPUTS &&
               b->n_view_keys <= VEIL_TX_MAX_VIEW_KEYS,
           VEIL_ERR_ARG);
    ENSURE(memchr(b->chain_id, 0, sizeof b->chain_id) != NULL, VEIL_ERR_ARG);

    for (size_t i = 0; i < b->n_inputs; i++) {
        in_msg[i] = (Veil__Tx__OutPoint)VEIL__TX__OUT_POINT__INIT;
        in_msg[i].txid.data = TX_UNCONST(b->inputs[i].txid);
        in_msg[i].txid.len = VEIL_TX_ID_LEN;
        in_msg[i].index = b->inputs[i].index;
        in_ptr[i] = &in_msg[i];
    }
    for (size_t i = 0; i < b->n_outputs; i++) {
        out_msg[i] = (Veil__Tx__TxOut)VEIL__TX__TX_OUT__INIT;
        out_msg[i].address.data = TX_UNCONST(b->outputs[i].address);
        out_msg[i].address.len = VEIL_TX_ADDRESS_LEN;
        out_msg[i].value = b->outputs[i].value;
        out_msg[i].valid_from = b->outputs[i].valid_from;
        out_ptr[i] = &out_msg[i];
    }
    for (size_t i = 0; i < b->n_view_keys; i++) {
        vk[i].data = TX_UNCONST(b->view_keys[i]);
        vk[i].len = VEIL_TX_ADDRESS_LEN;
    }

    m.version = b->version;
    m.chain_id = (char *)(uintptr_t)b->chain_id;
    m.n_view_keys = b->n_view_keys;
    m.view_keys = b->n_view_keys ? vk : NULL;
    m.blinding.data = TX_UNCONST(b->blinding);
    m.blinding.len = VEIL_TX_BLINDING_LEN;
    /* Fields the kind does not have are not encoded, whatever the struct holds. */
    switch (b->kind) {
    case VEIL_TX_KIND_TRANSFER:
        transfer.n_inputs = b->n_inputs;
        transfer.inputs = b->n_inputs ? in_ptr : NULL;
        transfer.n_outputs = b->n_outputs;
        transfer.outputs = b->n_outputs ? out_ptr : NULL;
        m.kind_case = VEIL__TX__TX_BODY__KIND_TRANSFER;
        m.transfer = &transfer;
        break;
    case VEIL_TX_KIND_DEPOSIT:
        deposit.n_inputs = b->n_inputs;
        deposit.inputs = b->n_inputs ? in_ptr : NULL;
        deposit.account.data = TX_UNCONST(b->account);
        deposit.account.len = VEIL_TX_ADDRESS_LEN;
        deposit.amount = b->amount;
        m.kind_case = VEIL__TX__TX_BODY__KIND_DEPOSIT;
        m.deposit = &deposit;
        break;
    case VEIL_TX_KIND_WITHDRAW:
        withdraw.account.data = TX_UNCONST(b->account);
        withdraw.account.len = VEIL_TX_ADDRESS_LEN;
        withdraw.nonce = b->nonce;
        withdraw.n_outputs = b->n_outputs;
        withdraw.outputs = b->n_outputs ? out_ptr : NULL;
        m.kind_case = VEIL__TX__TX_BODY__KIND_WITHDRAW;
        m.withdraw = &withdraw;
        break;
    default:
        return VEIL_ERR_ARG;
    }

    size_t need = protobuf_c_message_get_packed_size(&m.base);
    ENSURE(need <= out_cap, VEIL_ERR_BUFFER_TOO_SMALL);
    *out_len = protobuf_c_message_pack(&m.base, out);
    ENSURE(*out_len == need, VEIL_ERR_INTERNAL);
    return VEIL_OK;
}

/* --- payload ---------------------------------------------------------------------- */

static const size_t tx_buckets[VEIL_TX_N_PAYLOAD_BUCKETS] = VEIL_TX_PAYLOAD_BUCKETS;

veil_status veil_tx_padded_len(size_t unpadded, size_t *padded, size_t *pad_len)
{
    ENSURE(padded && pad_len, VEIL_ERR_ARG);
    for (size_t i = 0; i < VEIL_TX_N_PAYLOAD_BUCKETS; i++) {
        if (unpadded > tx_buckets[i]) continue;
        size_t r = tx_buckets[i] - unpadded; /* bytes the padding field must take */
        /* The field is tag (1) + length varint (1 or 2) + content of at least one byte
         * (canonical proto3 omits an empty field): r = 1, 2 and 130 have no encoding;
         * such a payload goes to the next bucket. */
        if (r == 0) {
            *pad_len = 0;
        } else if (r >= 3 && r <= 129) {
            *pad_len = r - 2;
        } else if (r >= 131) {
            *pad_len = r - 3;
        } else {
            continue;
        }
        *padded = tx_buckets[i];
        return VEIL_OK;
    }
    return VEIL_ERR_TX_TOO_LARGE;
}

static bool tx_is_bucket(size_t len)
{
    for (size_t i = 0; i < VEIL_TX_N_PAYLOAD_BUCKETS; i++)
        if (len == tx_buckets[i]) return true;
    return false;
}

static uint64_t tx_payload_decode_count;

uint64_t veil_tx_payload_decodes(void)
{
    return __atomic_load_n(&tx_payload_decode_count, __ATOMIC_RELAXED);
}

veil_status tx_payload_unpack(const uint8_t *payload, size_t len, ProtobufCAllocator *alloc,
                              Veil__Tx__TxPayload **out)
{
    veil_status st = VEIL_OK;
    Veil__Tx__TxPayload *m = NULL;

    *out = NULL;
    ENSURE(payload || len == 0, VEIL_ERR_ARG);
    __atomic_fetch_add(&tx_payload_decode_count, 1, __ATOMIC_RELAXED);
    ENSURE(len <= VEIL_TX_MAX_PAYLOAD_LEN, VEIL_ERR_TX_TOO_LARGE); /* P1 */
    ProtobufCMessage *pm = NULL;
    TRY(tx_msg_unpack(&veil__tx__tx_payload__descriptor, alloc, payload, len,
                      VEIL_ERR_TX_MALFORMED, &pm)); /* P2 */
    m = (Veil__Tx__TxPayload *)pm;
    ENSURE_OUT(tx_is_canonical(&m->base, payload, len), VEIL_ERR_TX_MALFORMED);
    /* P3 */
    ENSURE_OUT(m->body.len <= VEIL_TX_MAX_BODY_LEN, VEIL_ERR_TX_BODY_TOO_LARGE);
    ENSURE_OUT(m->n_witnesses <= VEIL_TX_MAX_WITNESSES, VEIL_ERR_TX_WITNESS_COUNT);
    /* P4 */
    for (size_t i = 0; i < m->n_witnesses; i++)
        ENSURE_OUT(m->witnesses[i].len == VEIL_TX_WITNESS_LEN, VEIL_ERR_TX_MALFORMED);
    /* P5: exactly a bucket long, padded with zeros only (anything else would be a side
     * channel a sender could fill, or a length that betrays the contents). */
    ENSURE_OUT(tx_is_bucket(len), VEIL_ERR_TX_PADDING);
    uint8_t nonzero = 0;
    for (size_t i = 0; i < m->padding.len; i++) nonzero |= m->padding.data[i];
    ENSURE_OUT(nonzero == 0, VEIL_ERR_TX_PADDING);
    *out = m;
    m = NULL;
out:
    if (m) tx_msg_free(&m->base, alloc);
    return st;
}

veil_status veil_tx_payload_open(const uint8_t *payload, size_t payload_len,
                                 ProtobufCAllocator *alloc, veil_tx_body *body,
                                 uint8_t txid[static VEIL_TX_ID_LEN])
{
    Veil__Tx__TxPayload *m;

    ENSURE(body != NULL, VEIL_ERR_ARG);
    memset(body, 0, sizeof *body);
    TRY(tx_payload_unpack(payload, payload_len, alloc, &m));
    veil_status st = veil_tx_body_decode(m->body.data, m->body.len, alloc, body);
    if (st == VEIL_OK) veil_tx_id(txid, m->body.data, m->body.len);
    tx_msg_free(&m->base, alloc);
    return st;
}

veil_status veil_tx_payload_output(const uint8_t *payload, size_t payload_len, uint32_t index,
                                   ProtobufCAllocator *alloc, veil_tx_output *out)
{
    veil_status st;
    Veil__Tx__TxPayload *m;

    TRY(tx_payload_unpack(payload, payload_len, alloc, &m));
    st = veil_tx_body_output(m->body.data, m->body.len, index, alloc, out);
    tx_msg_free(&m->base, alloc);
    return st;
}

veil_status veil_tx_payload_encode(const uint8_t *body, size_t body_len,
                                   const uint8_t (*witnesses)[VEIL_TX_WITNESS_LEN],
                                   size_t n_witnesses, uint8_t *out, size_t out_cap,
                                   size_t *out_len)
{
    ProtobufCBinaryData w[VEIL_TX_MAX_WITNESSES];
    Veil__Tx__TxPayload m = VEIL__TX__TX_PAYLOAD__INIT;
    static const uint8_t zeros[VEIL_TX_MAX_PAYLOAD_LEN];

    ENSURE(out_len && (body || body_len == 0) && (witnesses || n_witnesses == 0) &&
               (out || out_cap == 0),
           VEIL_ERR_ARG);
    ENSURE(n_witnesses <= VEIL_TX_MAX_WITNESSES, VEIL_ERR_ARG);
    for (size_t i = 0; i < n_witnesses; i++) {
        w[i].data = TX_UNCONST(witnesses[i]);
        w[i].len = VEIL_TX_WITNESS_LEN;
    }
    m.body.data = TX_UNCONST(body);
    m.body.len = body_len;
    m.n_witnesses = n_witnesses;
    m.witnesses = n_witnesses ? w : NULL;
    size_t padded, pad_len;
    TRY(veil_tx_padded_len(protobuf_c_message_get_packed_size(&m.base), &padded, &pad_len));
    m.padding.data = TX_UNCONST(zeros);
    m.padding.len = pad_len;

    size_t need = protobuf_c_message_get_packed_size(&m.base);
    ENSURE(need == padded, VEIL_ERR_INTERNAL);
    ENSURE(need <= out_cap, VEIL_ERR_BUFFER_TOO_SMALL);
    *out_len = protobuf_c_message_pack(&m.base, out);
    ENSURE(*out_len == need, VEIL_ERR_INTERNAL);
    return VEIL_OK;
}
