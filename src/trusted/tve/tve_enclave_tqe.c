/* The TVE enclave's side of the TQE: the channel key both hold, the attested hand-off
 * that gives it to a TQE, and the export of stored txs re-sealed for the TQE under it
 * (docs/tqe.md, "The hand-off"). */
#include <string.h>

#include "crypto/crypto.h"
#include "tee/tee.h"
#include "trusted/tdbe/tdbe_abi.h"
#include "trusted/tqe/tqe_abi.h"
#include "trusted/tve/tve_abi.h"
#include "trusted/tve/tve_enclave_internal.h"
#include "veil/tve.pb-c.h"

/* The TQE<->TVE and TDBE<->TVE channel keys (tve_channel.h): derived from this
 * enclave's signer-bound identity, so every TVE of this signer and product on this
 * platform has the same ones, across restarts; only a TQE (a TDBE) that passed the
 * hand-off learns its product's key. */
veil_status tve_channel_key(uint16_t prodid, uint8_t k[static TVE_CHANNEL_KEY_LEN])
{
    uint8_t key_id[TEE_KEY_ID_LEN];
    tee_identity self;
    tee_self_identity(&self);
    const char *label = prodid == TQE_PRODID    ? TVE_CHANNEL_KEY_TQE
                        : prodid == TDBE_PRODID ? TVE_CHANNEL_KEY_TDBE
                                                : NULL;
    ENSURE(label != NULL, VEIL_ERR_HANDOFF_PRODID);
    veil_sha256(key_id, label, strlen(label));
    return tee_derive_key(TEE_KEY_APP, TEE_POLICY_MRSIGNER, self.svn, key_id, k);
}

/* E_HANDOFF: in = the TQE's (or TDBE's) report (TEE_REPORT_WIRE_LEN, targeted at this
 * enclave) || its X25519 public key (32); out = box (TVE_HANDOFF_BOX_LEN) || this
 * enclave's report targeted at it. Refused unless the report is MACed on this platform
 * for us, by an enclave of our signer with the TQE's or the TDBE's product id and SVN,
 * binding the key; the box holds that product's channel key. */
veil_status tve_e_handoff(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                             size_t *out_len)
{
    ENSURE(in_len == TEE_REPORT_WIRE_LEN + TVE_HANDOFF_PUB_LEN, VEIL_ERR_MALFORMED);
    ENSURE(out_cap >= TVE_HANDOFF_BOX_LEN + TEE_REPORT_WIRE_LEN, VEIL_ERR_BUFFER_TOO_SMALL);
    const uint8_t *pub = in + TEE_REPORT_WIRE_LEN;
    tee_report peer, mine;
    uint8_t rd[TEE_REPORT_DATA_LEN], k[TVE_CHANNEL_KEY_LEN];
    TRY(tee_report_parse(in, TEE_REPORT_WIRE_LEN, &peer));
    TRY(tee_report_verify(&peer));
    /* A TDBE gets the TDBE's channel key, anyone else is judged as a TQE (the signer is
     * checked before the product). */
    uint16_t prodid = peer.body.identity.prodid == TDBE_PRODID ? TDBE_PRODID : TQE_PRODID;
    TRY(tve_channel_check_peer(&peer.body.identity, prodid,
                               prodid == TQE_PRODID ? TQE_SVN : TDBE_SVN));
    tve_channel_bind(TVE_HANDOFF_TQE_TAG, pub, TVE_HANDOFF_PUB_LEN, NULL, 0, rd);
    ENSURE(veil_ct_equal(rd, peer.body.report_data, sizeof rd), VEIL_ERR_HANDOFF_BINDING);
    TRY(tve_channel_key(prodid, k));
    veil_status st = tve_channel_box(k, pub, out);
    veil_wipe(k, sizeof k);
    TRY(st);
    tve_channel_bind(TVE_HANDOFF_TVE_TAG, out, TVE_HANDOFF_BOX_LEN, pub, TVE_HANDOFF_PUB_LEN, rd);
    tee_target_info target;
    memcpy(target.mrenclave, peer.body.identity.mrenclave, TEE_MEASUREMENT_LEN);
    target.attributes = peer.body.identity.attributes;
    TRY(tee_report_create(&target, rd, &mine));
    tee_report_serialize(&mine, out + TVE_HANDOFF_BOX_LEN);
    *out_len = TVE_HANDOFF_BOX_LEN + TEE_REPORT_WIRE_LEN;
    return VEIL_OK;
}

/* E_EXPORT: in/out = GetSealedTxsResponse. Each stored tx (sealed to this product) is
 * opened and sealed again under the channel key for the TQE, bound to its txid; empty
 * entries (not found) stay empty. The TQE never holds this enclave's sealing keys. */
veil_status tve_e_export(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                            size_t *out_len)
{
    Veil__Tve__GetSealedTxsResponse *req;
    DECODE(GetSealedTxsResponse, veil__tve__get_sealed_txs_response__unpack, in, in_len, req);
    veil_status st = VEIL_OK;
    uint8_t k[TVE_CHANNEL_KEY_LEN];
    uint8_t *pt = tee_alloc(TVE_SEALED_TX_MAX), *wrapped = NULL;
    Veil__Tve__SealedTx *items = NULL, **ptrs = NULL;
    size_t n = req->n_txs;
    ENSURE_OUT(pt != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    ENSURE_OUT(n <= 256, VEIL_ERR_TVE_TOO_MANY);
    items = tee_calloc(n ? n : 1, sizeof *items);
    ptrs = tee_calloc(n ? n : 1, sizeof *ptrs);
    wrapped = tee_alloc((n ? n : 1) * (size_t)TVE_SEALED_TX_MAX);
    ENSURE_OUT(items != NULL && ptrs != NULL && wrapped != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    TRY_OUT(tve_channel_key(TQE_PRODID, k));
    for (size_t i = 0; i < n; i++) {
        const Veil__Tve__SealedTx *t = req->txs[i];
        ENSURE_OUT(t != NULL && t->txid.len == VEIL_TX_ID_LEN && t->sealed.len <= TVE_SEALED_TX_MAX,
                   VEIL_ERR_MALFORMED);
        veil__tve__sealed_tx__init(&items[i]);
        items[i].txid = t->txid;
        ptrs[i] = &items[i];
        if (t->sealed.len == 0) continue;
        uint8_t aad[64];
        size_t aad_len = tve_sealed_tx_aad(t->txid.data, aad), pt_len = 0, w_len = 0;
        st = tee_unseal(t->sealed.data, t->sealed.len, aad, aad_len, pt, TVE_SEALED_TX_MAX,
                        &pt_len);
        ENSURE_OUT(st == VEIL_OK, VEIL_ERR_TVE_STORE_DAMAGED);
        uint8_t *w = wrapped + i * (size_t)TVE_SEALED_TX_MAX;
        TRY_OUT(tve_channel_seal(k, TVE_CHANNEL_EXPORT_LABEL, t->txid.data, VEIL_TX_ID_LEN, pt,
                                 pt_len, w, TVE_SEALED_TX_MAX, &w_len));
        veil_wipe(pt, pt_len);
        items[i].sealed.data = w;
        items[i].sealed.len = w_len;
    }
    Veil__Tve__GetSealedTxsResponse r = VEIL__TVE__GET_SEALED_TXS_RESPONSE__INIT;
    r.n_txs = n;
    r.txs = ptrs;
    st = tve_pack_out(&r.base, out, out_cap, out_len);
out:
    veil_wipe(k, sizeof k);
    if (pt != NULL) veil_wipe(pt, TVE_SEALED_TX_MAX);
    tee_free(pt);
    tee_free(wrapped);
    tee_free(items);
    tee_free(ptrs);
    protobuf_c_message_free_unpacked(&req->base, &tve_alloc);
    return st;
}

