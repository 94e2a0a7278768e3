/* The TDBE peer protocol's messages (tdbe_msg.h). */
#include "trusted/tdbe/tdbe_msg.h"

#include <string.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "veil/tdbe.pb-c.h"

veil_status tdbe_frame_len_max(const uint8_t header[static 4], size_t max, size_t *len)
{
    uint32_t n = veil_get_u32(header);
    ENSURE(n >= 1 && n <= max, VEIL_ERR_TDBE_PROTOCOL);
    *len = n;
    return VEIL_OK;
}

veil_status tdbe_frame_len(const uint8_t header[static 4], size_t *len)
{
    return tdbe_frame_len_max(header, TDBE_MSG_MAX, len);
}

veil_status tdbe_request_decode(ProtobufCAllocator *a, const uint8_t *msg, size_t len,
                                tdbe_request *out)
{
    ENSURE(len >= 1 && len <= TDBE_MSG_MAX, VEIL_ERR_TDBE_PROTOCOL);
    Veil__Tdbe__Request *r = veil__tdbe__request__unpack(a, len, msg);
    ENSURE(r != NULL, VEIL_ERR_TDBE_PROTOCOL);
    bool ok = r->base.n_unknown_fields == 0;
    memset(out, 0, sizeof *out);
    if (ok && r->request_case == VEIL__TDBE__REQUEST__REQUEST_KEY) {
        ok = r->key->base.n_unknown_fields == 0 && r->key->account.len == TDBE_ACCOUNT_LEN;
        if (ok) {
            out->epoch = r->key->epoch;
            memcpy(out->account, r->key->account.data, TDBE_ACCOUNT_LEN);
        }
    } else if (ok && r->request_case == VEIL__TDBE__REQUEST__REQUEST_TX_DATA) {
        const Veil__Tdbe__TxDataRequest *d = r->tx_data;
        ok = d->base.n_unknown_fields == 0 && d->account.len == TDBE_ACCOUNT_LEN &&
             d->from_height >= 1 && d->from_height <= d->to_height;
        if (ok) {
            out->data = true;
            out->from = d->from_height;
            out->to = d->to_height;
            memcpy(out->account, d->account.data, TDBE_ACCOUNT_LEN);
        }
    } else {
        ok = false;
    }
    veil__tdbe__request__free_unpacked(r, a);
    return ok ? VEIL_OK : VEIL_ERR_TDBE_PROTOCOL;
}

veil_status tdbe_request_parse(ProtobufCAllocator *a, const uint8_t *msg, size_t len,
                               uint64_t *epoch, uint8_t account[static TDBE_ACCOUNT_LEN])
{
    tdbe_request r;
    TRY(tdbe_request_decode(a, msg, len, &r));
    ENSURE(!r.data, VEIL_ERR_TDBE_PROTOCOL);
    *epoch = r.epoch;
    memcpy(account, r.account, TDBE_ACCOUNT_LEN);
    return VEIL_OK;
}

veil_status tdbe_data_parse(ProtobufCAllocator *a, const uint8_t *msg, size_t len,
                            Veil__Tdbe__Response **out, uint32_t *code)
{
    *out = NULL;
    ENSURE(len >= 1 && len <= TDBE_DATA_MSG_MAX, VEIL_ERR_TDBE_PROTOCOL);
    Veil__Tdbe__Response *r = veil__tdbe__response__unpack(a, len, msg);
    ENSURE(r != NULL, VEIL_ERR_TDBE_PROTOCOL);
    veil_status st = VEIL_ERR_TDBE_PROTOCOL;
    if (r->base.n_unknown_fields != 0) {
        st = VEIL_ERR_TDBE_PROTOCOL;
    } else if (r->response_case == VEIL__TDBE__RESPONSE__RESPONSE_ERROR) {
        *code = r->error->code;
        st = VEIL_ERR_TDBE_REFUSED;
    } else if (r->response_case == VEIL__TDBE__RESPONSE__RESPONSE_TX_DATA &&
               r->tx_data->base.n_unknown_fields == 0) {
        st = VEIL_OK;
        for (size_t i = 0; i < r->tx_data->n_blocks; i++)
            if (r->tx_data->blocks[i]->base.n_unknown_fields != 0) st = VEIL_ERR_TDBE_PROTOCOL;
    }
    if (st == VEIL_OK)
        *out = r;
    else
        veil__tdbe__response__free_unpacked(r, a);
    return st;
}

veil_status tdbe_response_parse(ProtobufCAllocator *a, const uint8_t *msg, size_t len,
                                uint64_t epoch, uint8_t key[static TDBE_KEY_LEN], uint32_t *code)
{
    ENSURE(len >= 1 && len <= TDBE_MSG_MAX, VEIL_ERR_TDBE_PROTOCOL);
    Veil__Tdbe__Response *r = veil__tdbe__response__unpack(a, len, msg);
    ENSURE(r != NULL, VEIL_ERR_TDBE_PROTOCOL);
    veil_status st = VEIL_ERR_TDBE_PROTOCOL;
    if (r->base.n_unknown_fields != 0) {
        st = VEIL_ERR_TDBE_PROTOCOL;
    } else if (r->response_case == VEIL__TDBE__RESPONSE__RESPONSE_ERROR) {
        *code = r->error->code;
        st = VEIL_ERR_TDBE_REFUSED;
    } else if (r->response_case == VEIL__TDBE__RESPONSE__RESPONSE_KEY) {
        if (r->key->base.n_unknown_fields == 0 && r->key->epoch == epoch &&
            r->key->key.len == TDBE_KEY_LEN) {
            memcpy(key, r->key->key.data, TDBE_KEY_LEN);
            st = VEIL_OK;
        }
        if (r->key->key.data != NULL) veil_wipe(r->key->key.data, r->key->key.len);
    }
    veil__tdbe__response__free_unpacked(r, a);
    return st;
}

static veil_status frame_max(const ProtobufCMessage *m, size_t max, uint8_t *out, size_t cap,
                             size_t *out_len)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    ENSURE(n <= max, VEIL_ERR_TOO_LARGE);
    ENSURE(cap >= 4 + n, VEIL_ERR_BUFFER_TOO_SMALL);
    veil_put_u32(out, (uint32_t)n);
    protobuf_c_message_pack(m, out + 4);
    *out_len = 4 + n;
    return VEIL_OK;
}

static veil_status frame(const ProtobufCMessage *m, uint8_t *out, size_t cap, size_t *out_len)
{
    return frame_max(m, TDBE_MSG_MAX, out, cap, out_len);
}

veil_status tdbe_data_request_frame(const uint8_t account[static TDBE_ACCOUNT_LEN], uint64_t from,
                                    uint64_t to, uint8_t *out, size_t cap, size_t *out_len)
{
    Veil__Tdbe__TxDataRequest d = VEIL__TDBE__TX_DATA_REQUEST__INIT;
    d.account.data = (uint8_t *)account;
    d.account.len = TDBE_ACCOUNT_LEN;
    d.from_height = from;
    d.to_height = to;
    Veil__Tdbe__Request r = VEIL__TDBE__REQUEST__INIT;
    r.request_case = VEIL__TDBE__REQUEST__REQUEST_TX_DATA;
    r.tx_data = &d;
    return frame(&r.base, out, cap, out_len);
}

veil_status tdbe_data_frame(const Veil__Tdbe__TxData *d, uint8_t *out, size_t cap, size_t *out_len)
{
    Veil__Tdbe__Response r = VEIL__TDBE__RESPONSE__INIT;
    r.response_case = VEIL__TDBE__RESPONSE__RESPONSE_TX_DATA;
    r.tx_data = (Veil__Tdbe__TxData *)d;
    return frame_max(&r.base, TDBE_DATA_MSG_MAX, out, cap, out_len);
}

veil_status tdbe_request_frame(uint64_t epoch, const uint8_t account[static TDBE_ACCOUNT_LEN],
                               uint8_t *out, size_t cap, size_t *out_len)
{
    Veil__Tdbe__KeyRequest kr = VEIL__TDBE__KEY_REQUEST__INIT;
    kr.epoch = epoch;
    kr.account.data = (uint8_t *)account;
    kr.account.len = TDBE_ACCOUNT_LEN;
    Veil__Tdbe__Request r = VEIL__TDBE__REQUEST__INIT;
    r.request_case = VEIL__TDBE__REQUEST__REQUEST_KEY;
    r.key = &kr;
    return frame(&r.base, out, cap, out_len);
}

veil_status tdbe_key_frame(uint64_t epoch, const uint8_t key[static TDBE_KEY_LEN], uint8_t *out,
                           size_t cap, size_t *out_len)
{
    Veil__Tdbe__KeyResponse kr = VEIL__TDBE__KEY_RESPONSE__INIT;
    kr.epoch = epoch;
    kr.key.data = (uint8_t *)key;
    kr.key.len = TDBE_KEY_LEN;
    Veil__Tdbe__Response r = VEIL__TDBE__RESPONSE__INIT;
    r.response_case = VEIL__TDBE__RESPONSE__RESPONSE_KEY;
    r.key = &kr;
    return frame(&r.base, out, cap, out_len);
}

veil_status tdbe_error_frame(veil_status code, uint8_t *out, size_t cap, size_t *out_len)
{
    Veil__Tdbe__Error e = VEIL__TDBE__ERROR__INIT;
    e.code = (uint32_t)code;
    e.message = (char *)veil_status_str(code);
    Veil__Tdbe__Response r = VEIL__TDBE__RESPONSE__INIT;
    r.response_case = VEIL__TDBE__RESPONSE__RESPONSE_ERROR;
    r.error = &e;
    return frame(&r.base, out, cap, out_len);
}
