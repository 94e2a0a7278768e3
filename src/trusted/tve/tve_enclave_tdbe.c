/* The TVE enclave's side of a bootstrap (docs/tdbe.md, "Bootstrap"): stored txs leave
 * for a peer only as a tx stream sealed under the TDBE<->TVE channel key, and arrive
 * from a peer only that way, sealed again here to the signer.
 *
 * A tx stream is entries {height u64 BE, index u32 BE, len u32 BE, TxPayload}: the
 * place of an accepted tx in its block and its plaintext. */
#include <string.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "tee/tee.h"
#include "trusted/tdbe/tdbe_abi.h"
#include "trusted/tve/tve_abi.h"
#include "trusted/tve/tve_enclave_internal.h"

/* E_TX_EXPORT: the stored blobs the host names, opened (each only under its own txid:
 * the host cannot swap them) and sealed together for the TDBE. */
veil_status tve_e_tx_export(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                            size_t *out_len)
{
    ENSURE(in_len >= 8 && in_len <= 8 + TVE_TXDATA_MAX + (size_t)(1u << 20), VEIL_ERR_TOO_LARGE);
    veil_reader r = veil_reader_init(in, in_len);
    uint64_t from;
    TRY(veil_read_u64(&r, &from));
    veil_status st = VEIL_OK;
    size_t cap = in_len, pt_len = 0;
    uint8_t *pt = tee_alloc(cap);
    ENSURE(pt != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    veil_writer w = veil_writer_init(pt, cap);
    while (r.pos < r.len) {
        uint64_t height;
        uint32_t index, len;
        const uint8_t *txid, *sealed;
        size_t n = 0, aad_len;
        uint8_t aad[64];
        ENSURE_OUT(veil_read_u64(&r, &height) == VEIL_OK && veil_read_u32(&r, &index) == VEIL_OK &&
                       veil_read_view(&r, VEIL_TX_ID_LEN, &txid) == VEIL_OK &&
                       veil_read_u32(&r, &len) == VEIL_OK &&
                       veil_read_view(&r, len, &sealed) == VEIL_OK,
                   VEIL_ERR_MALFORMED);
        ENSURE_OUT(height >= from && w.len + 16 + (size_t)len <= cap, VEIL_ERR_MALFORMED);
        aad_len = tve_sealed_tx_aad(txid, aad);
        TRY_OUT(veil_write_u64(&w, height));
        TRY_OUT(veil_write_u32(&w, index));
        uint8_t *at = pt + w.len + 4;
        st = tee_unseal(sealed, len, aad, aad_len, at, cap - w.len - 4, &n);
        ENSURE_OUT(st == VEIL_OK, VEIL_ERR_TVE_STORE_DAMAGED);
        TRY_OUT(veil_write_u32(&w, (uint32_t)n));
        w.len += n;
    }
    pt_len = w.len;
    uint8_t k[TVE_CHANNEL_KEY_LEN], bind[8];
    veil_put_u64(bind, from);
    st = tve_channel_key(TDBE_PRODID, k);
    if (st == VEIL_OK)
        st = tve_channel_seal(k, TVE_CHANNEL_TX_EXPORT_LABEL, bind, sizeof bind, pt, pt_len, out,
                              out_cap, out_len);
    veil_wipe(k, sizeof k);
out:
    veil_wipe(pt, cap);
    tee_free(pt);
    return st;
}

/* E_TX_IMPORT: a stream this platform's TDBE checked against the chain (only it holds
 * the channel key), each payload sealed to the signer under its own txid, with the
 * outpoints it consumes (public on chain) for the host's spent index. */
veil_status tve_e_tx_import(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                            size_t *out_len)
{
    ENSURE(in_len > 8 && in_len <= 8 + TVE_TXDATA_MAX + TVE_CHANNEL_OVERHEAD, VEIL_ERR_TOO_LARGE);
    uint64_t first = veil_get_u64(in);
    uint8_t k[TVE_CHANNEL_KEY_LEN], bind[8];
    size_t cap = in_len, pt_len = 0;
    veil_status st;
    veil_tx_body *body = tee_alloc(sizeof *body);
    uint8_t *pt = tee_alloc(cap);
    ENSURE_OUT(pt != NULL && body != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    veil_put_u64(bind, first);
    TRY_OUT(tve_channel_key(TDBE_PRODID, k));
    st = tve_channel_open(k, TVE_CHANNEL_TX_IMPORT_LABEL, bind, sizeof bind, in + 8, in_len - 8,
                          pt, cap, &pt_len);
    veil_wipe(k, sizeof k);
    TRY_OUT(st);
    veil_reader r = veil_reader_init(pt, pt_len);
    veil_writer w = veil_writer_init(out, out_cap);
    while (r.pos < r.len) {
        uint64_t height;
        uint32_t index, len;
        const uint8_t *payload;
        uint8_t txid[VEIL_TX_ID_LEN], aad[64];
        ENSURE_OUT(veil_read_u64(&r, &height) == VEIL_OK && veil_read_u32(&r, &index) == VEIL_OK &&
                       veil_read_u32(&r, &len) == VEIL_OK &&
                       veil_read_view(&r, len, &payload) == VEIL_OK && height >= first,
                   VEIL_ERR_MALFORMED);
        TRY_OUT(veil_tx_payload_open(payload, len, &tve_alloc, body, txid));
        TRY_OUT(veil_write_u64(&w, height));
        TRY_OUT(veil_write_u32(&w, index));
        TRY_OUT(veil_write_bytes(&w, txid, sizeof txid));
        TRY_OUT(veil_write_u32(&w, (uint32_t)body->n_inputs));
        for (size_t i = 0; i < body->n_inputs; i++) {
            TRY_OUT(veil_write_bytes(&w, body->inputs[i].txid, VEIL_TX_ID_LEN));
            TRY_OUT(veil_write_u32(&w, body->inputs[i].index));
        }
        size_t aad_len = tve_sealed_tx_aad(txid, aad), n = 0;
        ENSURE_OUT(w.cap - w.len >= 4, VEIL_ERR_BUFFER_TOO_SMALL);
        st = tee_seal(TEE_POLICY_MRSIGNER, aad, aad_len, payload, len, out + w.len + 4,
                      w.cap - w.len - 4, &n);
        TRY_OUT(st);
        TRY_OUT(veil_write_u32(&w, (uint32_t)n));
        w.len += n;
        veil_wipe(body, sizeof *body);
    }
    *out_len = w.len;
    st = VEIL_OK;
out:
    if (body != NULL) veil_wipe(body, sizeof *body);
    tee_free(body);
    if (pt != NULL) veil_wipe(pt, cap);
    tee_free(pt);
    return st;
}
