/* The TVE service's requests from the TQE and the TDBE: get-sealed-txs, the hand-off,
 * encrypt, and epoch keys to and from peers. docs/tve-protocol.md, docs/tdbe.md. */
#include "host/tve/tve_service.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hex.h"
#include "hostutil/log.h"
#include "crypto/crypto.h"
#include "hostutil/fileio.h"
#include "host/tve/tve_internal.h"
#include "hostutil/pb_arena.h"
#include "trusted/tve/tve_channel.h"
#include "trusted/tx/tx.h"

/* --- get-sealed-txs ---------------------------------------------------------------- */
veil_status tve_handle_get_sealed_txs(tve_service *s, const Veil__Tve__GetSealedTxsRequest *req,
                                         veil_arena *a, Veil__Tve__Response *resp, size_t *n_items)
{
    *n_items = req->n_txids;
    TRY(tve_require_initialized(s));
    ENSURE(req->n_txids <= TVE_GET_SEALED_MAX_TXIDS, VEIL_ERR_TVE_TOO_MANY);
    for (size_t i = 0; i < req->n_txids; i++) ENSURE(tve_txid_ok(&req->txids[i]), VEIL_ERR_MALFORMED);
    Veil__Tve__GetSealedTxsResponse *r = VEIL_ARENA_NEW(a, Veil__Tve__GetSealedTxsResponse);
    ENSURE(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__get_sealed_txs_response__init(r);
    r->n_txs = req->n_txids;
    r->txs = veil_arena_alloc(a, (req->n_txids ? req->n_txids : 1) * sizeof *r->txs);
    ENSURE(r->txs != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < req->n_txids; i++) {
        Veil__Tve__SealedTx *t = VEIL_ARENA_NEW(a, Veil__Tve__SealedTx);
        uint8_t *buf = veil_arena_alloc(a, TVE_SEALED_TX_MAX);
        ENSURE(t != NULL && buf != NULL, VEIL_ERR_NOMEM);
        veil__tve__sealed_tx__init(t);
        t->txid = req->txids[i];
        size_t len = 0;
        veil_status st =
            tve_store_tx_get(s->store, req->txids[i].data, buf, TVE_SEALED_TX_MAX, &len);
        if (st != VEIL_ERR_NOT_FOUND) TRY(st);
        t->sealed.data = buf;
        t->sealed.len = st == VEIL_OK ? len : 0;
        r->txs[i] = t;
    }
    /* The stored blobs are sealed to the TVE's product: the enclave seals them again for
     * the TQE under their shared channel key. */
    size_t in_len = veil__tve__get_sealed_txs_response__get_packed_size(r), out_len = 0;
    uint8_t *in = veil_arena_alloc(a, in_len ? in_len : 1), *out = veil_arena_alloc(a, TVE_EXPORT_OUT_MAX);
    ENSURE(in != NULL && out != NULL, VEIL_ERR_NOMEM);
    veil__tve__get_sealed_txs_response__pack(r, in);
    TRY(tee_enclave_call(s->enclave, TVE_E_EXPORT, in, in_len, out, TVE_EXPORT_OUT_MAX, &out_len));
    Veil__Tve__GetSealedTxsResponse *x =
        veil__tve__get_sealed_txs_response__unpack(NULL, out_len, out);
    ENSURE(x != NULL, VEIL_ERR_TEE_ENCLAVE_FAULT);
    TRY(veil_arena_keep(a, &x->base));
    ENSURE(x->n_txs == r->n_txs, VEIL_ERR_TEE_ENCLAVE_FAULT);
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_GET_SEALED_TXS;
    resp->get_sealed_txs = x;
    return VEIL_OK;
}

/* --- the TQE hand-off ---------------------------------------------------------------- */
veil_status tve_handle_handoff(tve_service *s, const Veil__Tve__HandoffRequest *req,
                                  veil_arena *a, Veil__Tve__Response *resp)
{
    ENSURE(req->tqe_report.len == TEE_REPORT_WIRE_LEN && req->tqe_pub.len == TVE_HANDOFF_PUB_LEN,
           VEIL_ERR_MALFORMED);
    uint8_t in[TEE_REPORT_WIRE_LEN + TVE_HANDOFF_PUB_LEN];
    memcpy(in, req->tqe_report.data, TEE_REPORT_WIRE_LEN);
    memcpy(in + TEE_REPORT_WIRE_LEN, req->tqe_pub.data, TVE_HANDOFF_PUB_LEN);
    uint8_t *out = veil_arena_alloc(a, TVE_HANDOFF_BOX_LEN + TEE_REPORT_WIRE_LEN);
    ENSURE(out != NULL, VEIL_ERR_NOMEM);
    size_t out_len = 0;
    TRY(tee_enclave_call(s->enclave, TVE_E_HANDOFF, in, sizeof in, out,
                         TVE_HANDOFF_BOX_LEN + TEE_REPORT_WIRE_LEN, &out_len));
    ENSURE(out_len == TVE_HANDOFF_BOX_LEN + TEE_REPORT_WIRE_LEN, VEIL_ERR_TEE_ENCLAVE_FAULT);
    Veil__Tve__HandoffResponse *r = VEIL_ARENA_NEW(a, Veil__Tve__HandoffResponse);
    ENSURE(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__handoff_response__init(r);
    r->box.data = out;
    r->box.len = TVE_HANDOFF_BOX_LEN;
    r->tve_report.data = out + TVE_HANDOFF_BOX_LEN;
    r->tve_report.len = TEE_REPORT_WIRE_LEN;
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_HANDOFF;
    resp->handoff = r;
    return VEIL_OK;
}

/* --- the TDBE: epoch keys to and from peers ------------------------------------------ */
veil_status tve_handle_export_key(tve_service *s, const Veil__Tve__ExportKeyRequest *req,
                                  veil_arena *a, Veil__Tve__Response *resp)
{
    TRY(tve_require_initialized(s));
    Veil__Tve__Enclave__ExportKeyCall call = VEIL__TVE__ENCLAVE__EXPORT_KEY_CALL__INIT;
    call.epoch = req->epoch;
    uint8_t in[32];
    size_t in_len = protobuf_c_message_pack(&call.base, in), out_len = 0;
    uint8_t *out = veil_arena_alloc(a, TVE_KEY_OUT_MAX);
    ENSURE(out != NULL, VEIL_ERR_NOMEM);
    TRY(tee_enclave_call(s->enclave, TVE_E_KEY_EXPORT, in, in_len, out, TVE_KEY_OUT_MAX,
                         &out_len));
    Veil__Tve__ExportKeyResponse *r = VEIL_ARENA_NEW(a, Veil__Tve__ExportKeyResponse);
    ENSURE(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__export_key_response__init(r);
    r->sealed.data = out;
    r->sealed.len = out_len;
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_EXPORT_KEY;
    resp->export_key = r;
    return VEIL_OK;
}

veil_status tve_handle_import_key(tve_service *s, const Veil__Tve__ImportKeyRequest *req,
                                  veil_arena *a, Veil__Tve__Response *resp)
{
    TRY(tve_require_initialized(s));
    /* Only a key the chain named (at init-chain, or in the last key window), and only
     * while waiting for it. */
    bool by_window = s->win_awaiting && req->epoch == s->win_awaited_epoch;
    ENSURE(by_window || (s->meta.awaiting && req->epoch == 0), VEIL_ERR_TVE_NOT_AWAITING);
    ENSURE(req->sealed.len >= 1 && req->sealed.len <= 256, VEIL_ERR_MALFORMED);
    Veil__Tve__Enclave__ImportKeyCall call = VEIL__TVE__ENCLAVE__IMPORT_KEY_CALL__INIT;
    call.epoch = req->epoch;
    call.sealed = req->sealed;
    call.key_commitment.data = by_window ? s->win_awaited_commitment : s->meta.awaited_commitment;
    call.key_commitment.len = 32;
    Veil__Tve__Enclave__KeyResult *kr;
    TRY(tve_enclave_key_call(s, TVE_E_KEY_IMPORT, &call.base, &kr));
    TRY(veil_arena_keep(a, &kr->base));
    ENSURE(kr->epoch == req->epoch && kr->sealed_key.len > 0, VEIL_ERR_TEE_ENCLAVE_FAULT);
    /* The enclave uses the key from now on; the store keeps it for restarts. A crash
     * before this commit leaves the TVE waiting again, and the TDBE fetches it again. */
    if (by_window) {
        TRY(tve_store_key_add(s->store, kr->epoch, kr->sealed_key.data, kr->sealed_key.len));
        s->win_awaiting = false;
    } else {
        TRY(tve_store_key_put(s->store, kr->epoch, kr->sealed_key.data, kr->sealed_key.len));
        s->meta.awaiting = false;
    }
    veil_log(VEIL_LOG_INFO, "holds the chain's key of epoch %llu now (from a peer, via the TDBE)",
             (unsigned long long)kr->epoch);
    Veil__Tve__ImportKeyResponse *r = VEIL_ARENA_NEW(a, Veil__Tve__ImportKeyResponse);
    ENSURE(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__import_key_response__init(r);
    r->epoch = kr->epoch;
    r->key_commitment = kr->key_commitment;
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_IMPORT_KEY;
    resp->import_key = r;
    return VEIL_OK;
}

/* --- key epochs (docs/key-epochs.md) ------------------------------------------------ */
veil_status tve_handle_draw_key(tve_service *s, const Veil__Tve__DrawKeyRequest *req,
                                veil_arena *a, Veil__Tve__Response *resp)
{
    TRY(tve_require_initialized(s));
    Veil__Tve__Enclave__GenerateKeyCall call = VEIL__TVE__ENCLAVE__GENERATE_KEY_CALL__INIT;
    call.epoch = req->epoch;
    Veil__Tve__Enclave__KeyResult *kr;
    TRY(tve_enclave_key_call(s, TVE_E_DRAW_KEY, &call.base, &kr));
    TRY(veil_arena_keep(a, &kr->base));
    ENSURE(kr->epoch == req->epoch && kr->key_commitment.len == 32, VEIL_ERR_TEE_ENCLAVE_FAULT);
    /* Stored before the commitment leaves: a key on chain is never one only memory had. */
    if (kr->sealed_key.len > 0)
        TRY(tve_store_key_add(s->store, kr->epoch, kr->sealed_key.data, kr->sealed_key.len));
    Veil__Tve__DrawKeyResponse *r = VEIL_ARENA_NEW(a, Veil__Tve__DrawKeyResponse);
    ENSURE(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__draw_key_response__init(r);
    r->epoch = kr->epoch;
    r->key_commitment = kr->key_commitment;
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_DRAW_KEY;
    resp->draw_key = r;
    return VEIL_OK;
}

veil_status tve_apply_key_window(tve_service *s, const Veil__Tve__KeyWindow *w)
{
    size_t in_len = veil__tve__key_window__get_packed_size(w), out_len = 0;
    uint8_t in[512], out[512];
    ENSURE(in_len <= sizeof in, VEIL_ERR_TOO_LARGE);
    veil__tve__key_window__pack(w, in);
    TRY(tee_enclave_call(s->enclave, TVE_E_KEY_WINDOW, in, in_len, out, sizeof out, &out_len));
    Veil__Tve__Enclave__KeyWindowResult *r =
        veil__tve__enclave__key_window_result__unpack(NULL, out_len, out);
    ENSURE(r != NULL, VEIL_ERR_TEE_ENCLAVE_FAULT);
    veil_status st = VEIL_OK;
    /* The enclave has wiped them and moved its floor: the copies are dead bytes now,
     * deleted so nothing of them stays on this machine. */
    for (size_t i = 0; i < r->n_destroyed && st == VEIL_OK; i++) {
        st = tve_store_key_del(s->store, r->destroyed[i]);
        if (st == VEIL_OK) {
            s->keys_destroyed++;
            veil_log(VEIL_LOG_INFO, "destroyed the key of epoch %llu (its grace period is over)",
                     (unsigned long long)r->destroyed[i]);
        }
    }
    for (size_t i = 0; i < r->n_dropped && st == VEIL_OK; i++) {
        st = tve_store_key_del(s->store, r->dropped[i]);
        if (st == VEIL_OK)
            veil_log(VEIL_LOG_INFO, "dropped the key it drew for epoch %llu (the chain committed "
                                    "another proposer's)",
                     (unsigned long long)r->dropped[i]);
    }
    if (st == VEIL_OK) {
        bool was = s->win_awaiting;
        s->win_awaiting = r->awaiting && r->awaited_commitment.len == 32;
        if (s->win_awaiting) {
            s->win_awaited_epoch = r->awaited_epoch;
            memcpy(s->win_awaited_commitment, r->awaited_commitment.data, 32);
            if (!was)
                veil_log(VEIL_LOG_INFO, "awaits the chain's key of epoch %llu (its TDBE fetches "
                                        "it from a peer)",
                         (unsigned long long)r->awaited_epoch);
        }
        s->meta.key_epoch = w->current_epoch;
    }
    veil__tve__enclave__key_window_result__free_unpacked(r, NULL);
    return st;
}

/* --- encrypt ----------------------------------------------------------------------- */
veil_status tve_handle_encrypt(tve_service *s, const Veil__Tve__EncryptRequest *req,
                                  veil_arena *a, Veil__Tve__Response *resp)
{
    uint8_t *in = NULL, *out = NULL;
    veil_status st = VEIL_OK;

    TRY(tve_require_initialized(s));
    ENSURE(req->sealed_order.len >= 1, VEIL_ERR_MALFORMED);
    ENSURE(req->sealed_order.len <= TVE_SEALED_TX_MAX, VEIL_ERR_TOO_LARGE);

    /* The order carries the state it is judged against, proven by the TQE's light
     * client and sealed: this host adds nothing. */
    Veil__Tve__Enclave__EncryptCall call = VEIL__TVE__ENCLAVE__ENCRYPT_CALL__INIT;
    call.sealed_order = req->sealed_order;
    size_t in_len = protobuf_c_message_get_packed_size(&call.base), out_len = 0;
    in = malloc(in_len ? in_len : 1);
    out = malloc(TVE_ENCRYPT_OUT_MAX);
    ENSURE_OUT(in != NULL && out != NULL, VEIL_ERR_NOMEM);
    protobuf_c_message_pack(&call.base, in);
    TRY_OUT(tee_enclave_call(s->enclave, TVE_E_ENCRYPT, in, in_len, out, TVE_ENCRYPT_OUT_MAX,
                             &out_len));
    Veil__Tve__Enclave__EncryptResult *er =
        veil__tve__enclave__encrypt_result__unpack(NULL, out_len, out);
    ENSURE_OUT(er != NULL, VEIL_ERR_TEE_ENCLAVE_FAULT);
    TRY_OUT(veil_arena_keep(a, &er->base));
    /* The enclave's bytes are forwarded as they are (the TQE enclave judges them); a
     * committed txid never gets here: the enclave refuses it before any rule runs. */
    ENSURE_OUT(er->tx.len > 0 && er->tx.len <= VEIL_TX_MAX_WIRE_LEN, VEIL_ERR_TEE_ENCLAVE_FAULT);
    Veil__Tve__EncryptResponse *r = VEIL_ARENA_NEW(a, Veil__Tve__EncryptResponse);
    ENSURE_OUT(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__encrypt_response__init(r);
    r->tx = er->tx;
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_ENCRYPT;
    resp->encrypt = r;
out:
    free(in);
    free(out);
    return st;
}

