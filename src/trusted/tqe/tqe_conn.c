/* The TQE's wallet protocol on one connection (see tqe_conn.h). */
#include "trusted/tqe/tqe_conn.h"

#include <string.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "tee/tee.h"
#include "trusted/ratls/ratls_evidence.h"
#include "trusted/tqe/tqe_abi.h"
#include "trusted/tx/tx.h"
#include "veil/tqe.pb-c.h"
#include "veil/tve.pb-c.h"
#include "veil/tx.pb-c.h"

/* Room for a response: a QueryResponse of 64 payloads, or one ConfidentialTx. */
/* A sealed EncryptOrder and the seal's overhead; also enough for any stored tx. */
#define SEALED_MAX (TQE_ORDER_MAX + TEE_SEAL_OVERHEAD_MAX)
_Static_assert(TQE_ORDER_MAX == VEIL_TX_MAX_PAYLOAD_LEN + 16u + 512u, "tqe_abi.h's order limit");

static void *xalloc(const tqe_backend *b, size_t n)
{
    return b->alloc->alloc(b->alloc->allocator_data, n);
}
static void xfree(const tqe_backend *b, void *p)
{
    if (p != NULL) b->alloc->free(b->alloc->allocator_data, p);
}

void tqe_conn_init(tqe_conn *c) { memset(c, 0, sizeof *c); }

void tqe_conn_reset(tqe_conn *c, const tqe_backend *b)
{
    if (c->msg != NULL) {
        veil_wipe(c->msg, TQE_MAX_MESSAGE);
        xfree(b, c->msg);
    }
    veil_wipe(c, sizeof *c);
}

/* --- responses -------------------------------------------------------------------- */

static veil_status send_response(const tqe_backend *b, const Veil__Tqe__Response *r,
                                 tqe_write_fn write, void *wctx)
{
    size_t n = veil__tqe__response__get_packed_size(r);
    ENSURE(n <= UINT32_MAX - 4, VEIL_ERR_TOO_LARGE);
    uint8_t *buf = xalloc(b, n + 4);
    ENSURE(buf != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    veil_put_u32(buf, (uint32_t)n);
    veil__tqe__response__pack(r, buf + 4);
    veil_status st = write(wctx, buf, n + 4);
    veil_wipe(buf, n + 4);
    xfree(b, buf);
    return st;
}

/* Sends a query response padded to a size bucket: an observer of the TLS stream (the
 * TQE's host included) must not learn from its length how many of the asked txids named
 * the view key. */
static const size_t query_buckets[] = {4096, 16384, 65536, 262144, 1048576};

static veil_status send_query_response(const tqe_backend *b, Veil__Tqe__Response *r,
                                       tqe_write_fn write, void *wctx)
{
    Veil__Tqe__QueryResponse *qr = r->query;
    qr->padding.data = NULL;
    qr->padding.len = 0;
    size_t bare = veil__tqe__response__get_packed_size(r);
    veil_status st = VEIL_ERR_TOO_LARGE;
    for (size_t i = 0; i < sizeof query_buckets / sizeof query_buckets[0]; i++) {
        size_t bucket = query_buckets[i];
        if (bare + 8 > bucket) continue;
        /* The padding's own tag and length varint, and the query field's length varint,
         * grow with it: settle on the length that makes the whole exactly `bucket`. A few
         * totals have no encoding (a varint that must grow by one byte overshoots);
         * then the next bucket. */
        size_t pad = bucket - bare, total = 0;
        for (int k = 0; k < 8; k++) {
            qr->padding.len = pad;
            total = veil__tqe__response__get_packed_size(r);
            if (total == bucket) break;
            pad = total > bucket ? pad - (total - bucket) : pad + (bucket - total);
        }
        if (total != bucket) continue;
        uint8_t *zeros = xalloc(b, pad ? pad : 1);
        ENSURE(zeros != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
        memset(zeros, 0, pad ? pad : 1);
        qr->padding.data = zeros;
        qr->padding.len = pad;
        st = send_response(b, r, write, wctx);
        qr->padding.data = NULL;
        qr->padding.len = 0;
        xfree(b, zeros);
        return st;
    }
    return st;
}

static veil_status send_error(const tqe_backend *b, veil_status code, const char *message,
                              tqe_write_fn write, void *wctx)
{
    Veil__Tqe__Error e = VEIL__TQE__ERROR__INIT;
    Veil__Tqe__Response r = VEIL__TQE__RESPONSE__INIT;
    e.code = (uint32_t)code;
    e.name = (char *)veil_status_name(code);
    e.message = (char *)(message != NULL ? message : veil_status_str(code));
    r.response_case = VEIL__TQE__RESPONSE__RESPONSE_ERROR;
    r.error = &e;
    return send_response(b, &r, write, wctx);
}

/* A TVE error forwarded: its code and the fixed message for it (the TVE's own text
 * is not relayed: the host could have written it). */
static veil_status forward_tve_error(const tqe_backend *b, const Veil__Tve__Response *tr,
                                     tqe_write_fn write, void *wctx)
{
    return send_error(b, veil_status_from_wire(tr->error->code), NULL, write, wctx);
}

static Veil__Tve__Response *tve_ask(const tqe_backend *b, tqe_tve_call which, const uint8_t *in,
                                    size_t in_len, veil_status *st)
{
    uint8_t *out = xalloc(b, TQE_TVE_RESPONSE_MAX);
    size_t out_len = 0;
    Veil__Tve__Response *r = NULL;
    if (out == NULL) {
        *st = VEIL_ERR_TEE_OUT_OF_MEMORY;
        return NULL;
    }
    *st = b->tve_call(b->ctx, which, in, in_len, out, TQE_TVE_RESPONSE_MAX, &out_len);
    if (*st == VEIL_OK && out_len <= TQE_TVE_RESPONSE_MAX) {
        r = veil__tve__response__unpack(b->alloc, out_len, out);
        if (r == NULL || r->base.n_unknown_fields != 0 ||
            (r->response_case == VEIL__TVE__RESPONSE__RESPONSE_ERROR && r->error == NULL)) {
            if (r != NULL) veil__tve__response__free_unpacked(r, b->alloc);
            r = NULL;
        }
    }
    xfree(b, out);
    if (r == NULL) *st = VEIL_ERR_TQE_UNAVAILABLE;
    return r;
}

/* --- challenge -------------------------------------------------------------------- */

static veil_status handle_challenge(tqe_conn *c, const tqe_backend *b, tqe_write_fn write,
                                    void *wctx)
{
    Veil__Tqe__ChallengeResponse cr = VEIL__TQE__CHALLENGE_RESPONSE__INIT;
    Veil__Tqe__Response r = VEIL__TQE__RESPONSE__INIT;
    c->has_challenge = false;
    veil_status st = b->random(b->ctx, c->challenge, sizeof c->challenge);
    if (st != VEIL_OK) return send_error(b, st, NULL, write, wctx);
    c->has_challenge = true;
    cr.challenge.data = c->challenge;
    cr.challenge.len = sizeof c->challenge;
    r.response_case = VEIL__TQE__RESPONSE__RESPONSE_CHALLENGE;
    r.challenge = &cr;
    return send_response(b, &r, write, wctx);
}

/* --- attest ----------------------------------------------------------------------- */

static veil_status handle_attest(tqe_conn *c, const tqe_backend *b,
                                 const Veil__Tqe__AttestRequest *a, tqe_write_fn write,
                                 void *wctx)
{
    if (a->nonce.len < 1 || a->nonce.len > RATLS_NONCE_MAX)
        return send_error(b, VEIL_ERR_RATLS_NONCE, NULL, write, wctx);
    uint8_t *ev = xalloc(b, RATLS_EVIDENCE_MAX);
    if (ev == NULL) return send_error(b, VEIL_ERR_TEE_OUT_OF_MEMORY, NULL, write, wctx);
    size_t ev_len = 0;
    veil_status st =
        b->evidence(b->ctx, c, a->nonce.data, a->nonce.len, ev, RATLS_EVIDENCE_MAX, &ev_len);
    if (st != VEIL_OK) {
        xfree(b, ev);
        return send_error(b, st, NULL, write, wctx);
    }
    Veil__Tqe__AttestResponse ar = VEIL__TQE__ATTEST_RESPONSE__INIT;
    Veil__Tqe__Response r = VEIL__TQE__RESPONSE__INIT;
    ar.evidence.data = ev;
    ar.evidence.len = ev_len;
    uint8_t *ias = NULL;
    if (a->ias_report && b->report != NULL) {
        size_t ias_len = 0;
        ias = xalloc(b, RATLS_IAS_MAX);
        st = ias != NULL ? b->report(b->ctx, ev, ev_len, ias, RATLS_IAS_MAX, &ias_len)
                         : VEIL_ERR_TEE_OUT_OF_MEMORY;
        if (st != VEIL_OK && st != VEIL_ERR_TEE_UNSUPPORTED) {
            xfree(b, ias);
            xfree(b, ev);
            return send_error(b, st, NULL, write, wctx);
        }
        if (st == VEIL_OK) {
            ar.ias_report.data = ias;
            ar.ias_report.len = ias_len;
        }
    }
    r.response_case = VEIL__TQE__RESPONSE__RESPONSE_ATTEST;
    r.attest = &ar;
    st = send_response(b, &r, write, wctx);
    xfree(b, ias);
    xfree(b, ev);
    return st;
}

/* --- query ------------------------------------------------------------------------ */

/* Whether the stored payload names view_key; *payload_ok false when it does not decode
 * or its body is not the txid's. */
static bool payload_names_key(const tqe_backend *b, const uint8_t txid[static 32],
                              const uint8_t *payload, size_t len, const uint8_t vk[static 32])
{
    bool found = false;
    uint8_t id[VEIL_TX_ID_LEN];
    veil_tx_body *body = xalloc(b, sizeof *body);
    if (body == NULL) return false;
    if (veil_tx_payload_open(payload, len, b->alloc, body, id) == VEIL_OK &&
        veil_ct_equal(id, txid, VEIL_TX_ID_LEN)) {
        for (size_t i = 0; i < body->n_view_keys; i++)
            found |= veil_ct_equal(body->view_keys[i], vk, 32);
    }
    veil_wipe(body, sizeof *body);
    xfree(b, body);
    return found;
}

static veil_status handle_query(tqe_conn *c, const tqe_backend *b, const Veil__Tqe__QueryRequest *q,
                                tqe_write_fn write, void *wctx)
{
    /* Any query uses the challenge up, so one challenge can never be tried twice. */
    bool had = c->has_challenge;
    uint8_t challenge[TQE_CHALLENGE_LEN];
    memcpy(challenge, c->challenge, sizeof challenge);
    c->has_challenge = false;
    veil_wipe(c->challenge, sizeof c->challenge);

    if (q->n_txids > TQE_MAX_QUERY_TXIDS)
        return send_error(b, VEIL_ERR_TQE_TOO_MANY_TXIDS, NULL, write, wctx);
    bool shape = q->view_key.len == 32 && q->signature.len == VEIL_SCHNORR_SIG_LEN;
    for (size_t i = 0; i < q->n_txids; i++) shape &= q->txids[i].len == VEIL_TX_ID_LEN;
    if (!shape) return send_error(b, VEIL_ERR_MALFORMED, NULL, write, wctx);
    if (!had) return send_error(b, VEIL_ERR_TQE_CHALLENGE, NULL, write, wctx);

    uint8_t signed_data[TQE_CHALLENGE_LEN + 32 + TQE_MAX_QUERY_TXIDS * VEIL_TX_ID_LEN];
    size_t sl = 0;
    memcpy(signed_data, challenge, TQE_CHALLENGE_LEN);
    sl += TQE_CHALLENGE_LEN;
    memcpy(signed_data + sl, q->view_key.data, 32);
    sl += 32;
    for (size_t i = 0; i < q->n_txids; i++, sl += VEIL_TX_ID_LEN)
        memcpy(signed_data + sl, q->txids[i].data, VEIL_TX_ID_LEN);
    uint8_t digest[32];
    veil_sha256_tagged(digest, TQE_QUERY_TAG, signed_data, sl);
    if (veil_schnorr_verify(q->signature.data, digest, sizeof digest, q->view_key.data) != VEIL_OK)
        return send_error(b, VEIL_ERR_BAD_SIGNATURE, NULL, write, wctx);

    Veil__Tqe__QueryResponse qr = VEIL__TQE__QUERY_RESPONSE__INIT;
    Veil__Tqe__Response r = VEIL__TQE__RESPONSE__INIT;
    r.response_case = VEIL__TQE__RESPONSE__RESPONSE_QUERY;
    r.query = &qr;
    if (q->n_txids == 0) return send_query_response(b, &r, write, wctx);

    veil_status st = VEIL_OK;
    Veil__Tve__Response *tr = NULL;
    uint8_t *req_buf = NULL, *plain = NULL;
    Veil__Tqe__TxData *data = NULL, **ptrs = NULL;
    size_t n_found = 0;

    Veil__Tve__GetSealedTxsRequest gs = VEIL__TVE__GET_SEALED_TXS_REQUEST__INIT;
    gs.n_txids = q->n_txids;
    gs.txids = q->txids;
    size_t req_len = veil__tve__get_sealed_txs_request__get_packed_size(&gs);
    req_buf = xalloc(b, req_len);
    ENSURE_OUT(req_buf != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    veil__tve__get_sealed_txs_request__pack(&gs, req_buf);
    tr = tve_ask(b, TQE_TVE_GET_SEALED, req_buf, req_len, &st);
    if (tr == NULL) {
        st = send_error(b, st, NULL, write, wctx);
        goto out;
    }
    if (tr->response_case == VEIL__TVE__RESPONSE__RESPONSE_ERROR) {
        st = forward_tve_error(b, tr, write, wctx);
        goto out;
    }
    /* The host must answer exactly the txids asked, in order. */
    const Veil__Tve__GetSealedTxsResponse *g = tr->get_sealed_txs;
    bool answer_ok = tr->response_case == VEIL__TVE__RESPONSE__RESPONSE_GET_SEALED_TXS &&
                     g != NULL && g->n_txs == q->n_txids;
    for (size_t i = 0; answer_ok && i < g->n_txs; i++)
        answer_ok = g->txs[i] != NULL && g->txs[i]->txid.len == VEIL_TX_ID_LEN &&
                    memcmp(g->txs[i]->txid.data, q->txids[i].data, VEIL_TX_ID_LEN) == 0;
    if (!answer_ok) {
        st = send_error(b, VEIL_ERR_TQE_UNAVAILABLE, NULL, write, wctx);
        goto out;
    }
    plain = xalloc(b, q->n_txids * (size_t)SEALED_MAX);
    data = xalloc(b, q->n_txids * sizeof *data);
    ptrs = xalloc(b, q->n_txids * sizeof *ptrs);
    ENSURE_OUT(plain != NULL && data != NULL && ptrs != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    for (size_t i = 0; i < g->n_txs; i++) {
        const uint8_t *txid = q->txids[i].data;
        uint8_t *pt = plain + i * (size_t)SEALED_MAX;
        size_t pt_len = 0;
        if (g->txs[i]->sealed.len == 0) continue; /* unknown txid: omitted */
        /* A blob that does not open is treated like an unknown txid: the wallet learns
         * nothing it could not learn from a wrong key. */
        if (b->unseal_tx(b->ctx, txid, g->txs[i]->sealed.data, g->txs[i]->sealed.len, pt,
                         SEALED_MAX, &pt_len) != VEIL_OK)
            continue;
        if (!payload_names_key(b, txid, pt, pt_len, q->view_key.data)) continue;
        veil__tqe__tx_data__init(&data[n_found]);
        data[n_found].txid.data = (uint8_t *)txid;
        data[n_found].txid.len = VEIL_TX_ID_LEN;
        data[n_found].payload.data = pt;
        data[n_found].payload.len = pt_len;
        ptrs[n_found] = &data[n_found];
        n_found++;
    }
    qr.n_txs = n_found;
    qr.txs = ptrs;
    st = send_query_response(b, &r, write, wctx);
out:
    if (plain != NULL) {
        veil_wipe(plain, q->n_txids * (size_t)SEALED_MAX);
        xfree(b, plain);
    }
    xfree(b, data);
    xfree(b, ptrs);
    xfree(b, req_buf);
    if (tr != NULL) veil__tve__response__free_unpacked(tr, b->alloc);
    return st;
}

/* --- encrypt ---------------------------------------------------------------------- */

static veil_status handle_encrypt(const tqe_backend *b, const Veil__Tqe__EncryptRequest *e,
                                  tqe_write_fn write, void *wctx)
{
    if (e->payload.len == 0 || e->payload.len > VEIL_TX_MAX_PAYLOAD_LEN)
        return send_error(b, VEIL_ERR_TX_TOO_LARGE, NULL, write, wctx);

    veil_status st = VEIL_OK, err = VEIL_OK;
    veil_tx_body *body = NULL;
    veil_tx_wire *wire = NULL;
    uint8_t *sealed = NULL, *req_buf = NULL, *order_buf = NULL;
    size_t order_len = 0;
    Veil__Tve__Response *tr = NULL;
    uint8_t txid[VEIL_TX_ID_LEN];
    body = xalloc(b, sizeof *body);
    ENSURE_OUT(body != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    /* The tx core's gated decoder: the TVE applies the same checks again when it
     * validates, but a payload refused here never leaves the enclave. */
    err = veil_tx_payload_open(e->payload.data, e->payload.len, b->alloc, body, txid);
    if (err != VEIL_OK) goto reply;

    /* The state the TVE judges the tx against, proven by this enclave's light client. */
    tqe_chain_state cs;
    char chain_id[VEIL_TX_MAX_CHAIN_ID_LEN + 1] = {0};
    uint64_t block_time = 0;
    err = b->chain_state(b->ctx, body, &cs, chain_id, &block_time);
    if (err != VEIL_OK) goto reply;

    /* The fee and that state travel sealed with the payload: a host that could change
     * the fee beside the sealed payload could binary-search the hidden output total
     * from the TVE's answers; one that could choose the state could ask about state the
     * chain never had. */
    Veil__Tve__EncryptOrder order = VEIL__TVE__ENCRYPT_ORDER__INIT;
    Veil__Tve__ChainParams params = VEIL__TVE__CHAIN_PARAMS__INIT;
    Veil__Tve__AccountState acct = VEIL__TVE__ACCOUNT_STATE__INIT;
    protobuf_c_boolean spent[VEIL_TX_MAX_INPUTS];
    order.payload = e->payload;
    order.fee = e->fee;
    params.chain_id = chain_id;
    params.block_time = block_time;
    params.fee_base = cs.fee_base;
    params.fee_per_byte = cs.fee_per_byte;
    params.fee_rule = (Veil__Tve__FeeRule)cs.fee_rule;
    order.params = &params;
    if (cs.account.present) {
        acct.address.data = cs.account.address;
        acct.address.len = VEIL_TX_ADDRESS_LEN;
        acct.bonded = cs.account.bonded;
        acct.unbonded = cs.account.unbonded;
        acct.unbonded_from = cs.account.unbonded_from;
        acct.nonce = cs.account.nonce;
        acct.jailed_until = cs.account.jailed_until;
        order.account = &acct;
    }
    for (size_t i = 0; i < cs.n_spent; i++) spent[i] = cs.spent[i];
    order.n_input_spent = cs.n_spent;
    order.input_spent = spent;
    order.height = (uint64_t)cs.height;
    order_len = veil__tve__encrypt_order__get_packed_size(&order);
    order_buf = xalloc(b, order_len);
    sealed = xalloc(b, SEALED_MAX);
    ENSURE_OUT(order_buf != NULL && sealed != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    veil__tve__encrypt_order__pack(&order, order_buf);
    size_t sealed_len = 0;
    err = b->seal_order(b->ctx, order_buf, order_len, sealed, SEALED_MAX, &sealed_len);
    if (err != VEIL_OK) goto reply;

    Veil__Tve__EncryptRequest er = VEIL__TVE__ENCRYPT_REQUEST__INIT;
    er.sealed_order.data = sealed;
    er.sealed_order.len = sealed_len;
    size_t req_len = veil__tve__encrypt_request__get_packed_size(&er);
    req_buf = xalloc(b, req_len);
    ENSURE_OUT(req_buf != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    veil__tve__encrypt_request__pack(&er, req_buf);
    tr = tve_ask(b, TQE_TVE_ENCRYPT, req_buf, req_len, &err);
    if (tr == NULL) goto reply;
    if (tr->response_case == VEIL__TVE__RESPONSE__RESPONSE_ERROR) {
        st = forward_tve_error(b, tr, write, wctx);
        goto out;
    }
    /* The tx handed back must be the wallet's: same txid (the body is bound to it by
     * the AEAD, which the TVE computed over this txid). */
    if (tr->response_case != VEIL__TVE__RESPONSE__RESPONSE_ENCRYPT || tr->encrypt == NULL) {
        err = VEIL_ERR_TQE_UNAVAILABLE;
        goto reply;
    }
    wire = xalloc(b, sizeof *wire);
    ENSURE_OUT(wire != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    if (veil_tx_wire_decode(tr->encrypt->tx.data, tr->encrypt->tx.len, b->alloc, wire) != VEIL_OK ||
        memcmp(wire->txid, txid, VEIL_TX_ID_LEN) != 0) {
        err = VEIL_ERR_TQE_UNAVAILABLE;
        goto reply;
    }
    /* The TVE's bytes go to the wallet as they are: they are what the chain will hold. */
    Veil__Tqe__EncryptResponse resp = VEIL__TQE__ENCRYPT_RESPONSE__INIT;
    Veil__Tqe__Response r = VEIL__TQE__RESPONSE__INIT;
    resp.tx = tr->encrypt->tx;
    r.response_case = VEIL__TQE__RESPONSE__RESPONSE_ENCRYPT;
    r.encrypt = &resp;
    st = send_response(b, &r, write, wctx);
    goto out;
reply:
    st = send_error(b, err, NULL, write, wctx);
out:
    if (sealed != NULL) xfree(b, sealed);
    if (order_buf != NULL) {
        veil_wipe(order_buf, order_len); /* the plaintext payload */
        xfree(b, order_buf);
    }
    xfree(b, req_buf);
    if (body != NULL) {
        veil_wipe(body, sizeof *body);
        xfree(b, body);
    }
    xfree(b, wire);
    if (tr != NULL) veil__tve__response__free_unpacked(tr, b->alloc);
    return st;
}

/* --- framing ---------------------------------------------------------------------- */

static veil_status handle_message(tqe_conn *c, const tqe_backend *b, const uint8_t *msg,
                                  size_t len, tqe_write_fn write, void *wctx)
{
    Veil__Tqe__Request *req = veil__tqe__request__unpack(b->alloc, len, msg);
    ENSURE(req != NULL, VEIL_ERR_DECODE);
    veil_status st;
    if (req->base.n_unknown_fields != 0) {
        st = VEIL_ERR_DECODE;
    } else {
        switch (req->request_case) {
        case VEIL__TQE__REQUEST__REQUEST_ENCRYPT:
            st = handle_encrypt(b, req->encrypt, write, wctx);
            break;
        case VEIL__TQE__REQUEST__REQUEST_CHALLENGE:
            st = handle_challenge(c, b, write, wctx);
            break;
        case VEIL__TQE__REQUEST__REQUEST_QUERY:
            st = handle_query(c, b, req->query, write, wctx);
            break;
        case VEIL__TQE__REQUEST__REQUEST_ATTEST:
            st = handle_attest(c, b, req->attest, write, wctx);
            break;
        default:
            st = VEIL_ERR_DECODE;
            break;
        }
    }
    veil__tqe__request__free_unpacked(req, b->alloc);
    return st;
}

veil_status tqe_conn_consume(tqe_conn *c, const tqe_backend *b, const uint8_t *in, size_t n,
                             tqe_write_fn write, void *wctx)
{
    size_t pos = 0;
    while (pos < n) {
        if (c->hdr_have < 4) {
            c->hdr[c->hdr_have++] = in[pos++];
            if (c->hdr_have < 4) continue;
            uint32_t len = veil_get_u32(c->hdr);
            /* The limit is checked on the prefix, before a byte of the body is kept. */
            ENSURE(len > 0 && len <= TQE_MAX_MESSAGE, VEIL_ERR_TOO_LARGE);
            if (c->msg == NULL) {
                c->msg = xalloc(b, TQE_MAX_MESSAGE);
                ENSURE(c->msg != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
            }
            c->msg_len = len;
            c->msg_have = 0;
            continue;
        }
        size_t take = c->msg_len - c->msg_have;
        if (take > n - pos) take = n - pos;
        memcpy(c->msg + c->msg_have, in + pos, take);
        c->msg_have += take;
        pos += take;
        if (c->msg_have == c->msg_len) {
            c->hdr_have = 0;
            veil_status st = handle_message(c, b, c->msg, c->msg_len, write, wctx);
            veil_wipe(c->msg, c->msg_len);
            TRY(st);
        }
    }
    return VEIL_OK;
}
