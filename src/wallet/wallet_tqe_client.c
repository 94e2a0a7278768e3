/* Wallet side of the TQE protocol (docs/tqe.md): one Request, one Response, framed
 * by the attested-TLS client. */
#include "wallet/wallet_tqe_client.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "hostutil/fileio.h"
#include "veil/tqe.pb-c.h"

/* A QueryResponse holds at most 64 payloads of at most ~16 KiB each. */
#define TQE_RESPONSE_MAX (2u * 1024u * 1024u)

struct wallet_tqe_client {
    ratls_client *c;
};

static veil_status call(wallet_tqe_client *t, const Veil__Tqe__Request *req,
                        Veil__Tqe__Response__ResponseCase want, Veil__Tqe__Response **out);

/* The certificate's evidence could have been recorded from any earlier connection:
 * ask for evidence over a nonce of ours, for the key that just did the handshake. */
static veil_status attest_fresh(wallet_tqe_client *t, const ratls_policy *policy)
{
    uint8_t nonce[32];
    randombytes_buf(nonce, sizeof nonce);
    Veil__Tqe__AttestRequest a = VEIL__TQE__ATTEST_REQUEST__INIT;
    Veil__Tqe__Request req = VEIL__TQE__REQUEST__INIT;
    a.nonce.data = nonce;
    a.nonce.len = sizeof nonce;
    a.ias_report = policy->attestation == RATLS_ATTEST_IAS;
    req.request_case = VEIL__TQE__REQUEST__REQUEST_ATTEST;
    req.attest = &a;
    Veil__Tqe__Response *r = NULL;
    TRY(call(t, &req, VEIL__TQE__RESPONSE__RESPONSE_ATTEST, &r));
    veil_status st = ratls_verify_evidence(
        r->attest->evidence.data, r->attest->evidence.len,
        r->attest->ias_report.len ? r->attest->ias_report.data : NULL, r->attest->ias_report.len,
        ratls_client_peer_cert(t->c), policy, nonce, sizeof nonce, NULL);
    veil__tqe__response__free_unpacked(r, NULL);
    return st;
}

veil_status wallet_tqe_connect(const char *host_port, const ratls_policy *policy, int timeout_ms,
                               wallet_tqe_client **out)
{
    wallet_tqe_client *t = calloc(1, sizeof *t);
    ENSURE(t != NULL, VEIL_ERR_NOMEM);
    veil_status st = ratls_client_connect(host_port, policy, timeout_ms, &t->c);
    if (st != VEIL_OK) {
        free(t);
        return st;
    }
    if ((st = attest_fresh(t, policy)) != VEIL_OK) {
        wallet_tqe_close(t);
        return st;
    }
    *out = t;
    return VEIL_OK;
}

const attest_claims *wallet_tqe_peer(const wallet_tqe_client *c)
{
    return ratls_client_peer_claims(c->c);
}

void wallet_tqe_close(wallet_tqe_client *c)
{
    if (c == NULL) return;
    ratls_client_close(c->c);
    free(c);
}

/* Sends req, receives the Response; an Error response becomes its status code. */
static veil_status call(wallet_tqe_client *t, const Veil__Tqe__Request *req,
                        Veil__Tqe__Response__ResponseCase want, Veil__Tqe__Response **out)
{
    size_t len = veil__tqe__request__get_packed_size(req);
    uint8_t *buf = malloc(len ? len : 1);
    ENSURE(buf != NULL, VEIL_ERR_NOMEM);
    veil__tqe__request__pack(req, buf);
    veil_status st = ratls_client_send_msg(t->c, buf, len);
    free(buf);
    TRY(st);
    uint8_t *msg;
    size_t mlen;
    TRY(ratls_client_recv_msg(t->c, TQE_RESPONSE_MAX, &msg, &mlen));
    Veil__Tqe__Response *resp = veil__tqe__response__unpack(NULL, mlen, msg);
    free(msg);
    if (resp == NULL) {
        veil_error_detail_set("the TQE's answer could not be decoded");
        return VEIL_ERR_DECODE;
    }
    if (resp->response_case == VEIL__TQE__RESPONSE__RESPONSE_ERROR && resp->error != NULL) {
        veil_status s = veil_status_from_wire(resp->error->code);
        veil_error_detail_set("the TQE answered: %s", resp->error->message ? resp->error->message : "");
        veil__tqe__response__free_unpacked(resp, NULL);
        return s;
    }
    if (resp->response_case != want) {
        veil__tqe__response__free_unpacked(resp, NULL);
        veil_error_detail_set("the TQE answered with an unexpected message");
        return VEIL_ERR_DECODE;
    }
    *out = resp;
    return VEIL_OK;
}

static veil_status tqe_query(void *ctx, const wallet_keys *keys, const uint8_t (*txids)[32], size_t n,
                             wallet_tx_data **out, size_t *n_out)
{
    wallet_tqe_client *t = ctx;
    ENSURE(n <= WALLET_QUERY_MAX_TXIDS, VEIL_ERR_TQE_TOO_MANY_TXIDS);
    Veil__Tqe__ChallengeRequest cr = VEIL__TQE__CHALLENGE_REQUEST__INIT;
    Veil__Tqe__Request req = VEIL__TQE__REQUEST__INIT;
    req.request_case = VEIL__TQE__REQUEST__REQUEST_CHALLENGE;
    req.challenge = &cr;
    Veil__Tqe__Response *resp;
    TRY(call(t, &req, VEIL__TQE__RESPONSE__RESPONSE_CHALLENGE, &resp));
    uint8_t challenge[32];
    bool ok = resp->challenge != NULL && resp->challenge->challenge.len == 32;
    if (ok) memcpy(challenge, resp->challenge->challenge.data, 32);
    veil__tqe__response__free_unpacked(resp, NULL);
    ENSURE(ok, VEIL_ERR_TQE_CHALLENGE);

    uint8_t sig[64];
    TRY(wallet_query_sign(keys, challenge, txids, n, sig));
    ProtobufCBinaryData ids[WALLET_QUERY_MAX_TXIDS];
    for (size_t i = 0; i < n; i++) ids[i] = (ProtobufCBinaryData){32, (uint8_t *)txids[i]};
    Veil__Tqe__QueryRequest q = VEIL__TQE__QUERY_REQUEST__INIT;
    q.view_key = (ProtobufCBinaryData){32, (uint8_t *)keys->view_pk};
    q.n_txids = n;
    q.txids = ids;
    q.signature = (ProtobufCBinaryData){64, sig};
    req.request_case = VEIL__TQE__REQUEST__REQUEST_QUERY;
    req.query = &q;
    TRY(call(t, &req, VEIL__TQE__RESPONSE__RESPONSE_QUERY, &resp));
    veil_status st = VEIL_OK;
    const Veil__Tqe__QueryResponse *qr = resp->query;
    size_t cnt = qr != NULL ? qr->n_txs : 0, k = 0;
    wallet_tx_data *d = calloc(cnt + 1, sizeof *d);
    ENSURE_OUT(d != NULL, VEIL_ERR_NOMEM);
    ENSURE_OUT(cnt <= n, VEIL_ERR_MALFORMED);
    for (size_t i = 0; i < cnt; i++) {
        const Veil__Tqe__TxData *x = qr->txs[i];
        ENSURE_OUT(x != NULL && x->txid.len == 32 && x->payload.len > 0 &&
                       x->payload.len <= VEIL_TX_MAX_PAYLOAD_LEN,
                   VEIL_ERR_MALFORMED);
        memcpy(d[k].txid, x->txid.data, 32);
        d[k].payload = malloc(x->payload.len);
        ENSURE_OUT(d[k].payload != NULL, VEIL_ERR_NOMEM);
        memcpy(d[k].payload, x->payload.data, x->payload.len);
        d[k].payload_len = x->payload.len;
        k++;
    }
    *out = d;
    *n_out = k;
    d = NULL;
out:
    wallet_tx_data_free(d, k);
    veil__tqe__response__free_unpacked(resp, NULL);
    if (st == VEIL_ERR_MALFORMED) veil_error_detail_set("the TQE's query answer is ill-shaped");
    return st;
}

static veil_status tqe_encrypt(void *ctx, const uint8_t *payload, size_t len, uint64_t fee,
                               uint8_t *wire, size_t cap, size_t *wire_len)
{
    wallet_tqe_client *t = ctx;
    Veil__Tqe__EncryptRequest er = VEIL__TQE__ENCRYPT_REQUEST__INIT;
    er.payload = (ProtobufCBinaryData){len, (uint8_t *)payload};
    er.fee = fee;
    Veil__Tqe__Request req = VEIL__TQE__REQUEST__INIT;
    req.request_case = VEIL__TQE__REQUEST__REQUEST_ENCRYPT;
    req.encrypt = &er;
    Veil__Tqe__Response *resp;
    veil_status st;
    /* 924: the TQE's light client has not verified the header that proves the state the
     * node just gave it (it is the next block's); a moment later it has. */
    for (int attempt = 0;; attempt++) {
        st = call(t, &req, VEIL__TQE__RESPONSE__RESPONSE_ENCRYPT, &resp);
        if (st != VEIL_ERR_TQE_NOT_SYNCED || attempt == 4) break;
        sleep(1);
    }
    TRY(st);
    if (resp->encrypt == NULL || resp->encrypt->tx.len == 0) {
        st = VEIL_ERR_DECODE;
    } else if (resp->encrypt->tx.len > cap) {
        st = VEIL_ERR_TX_TOO_LARGE;
    } else {
        /* The bytes the chain will hold, exactly as the TVE made them. */
        memcpy(wire, resp->encrypt->tx.data, resp->encrypt->tx.len);
        *wire_len = resp->encrypt->tx.len;
    }
    veil__tqe__response__free_unpacked(resp, NULL);
    return st;
}

void wallet_tqe_client_iface(wallet_tqe_client *c, wallet_tqe *out)
{
    out->ctx = c;
    out->query = tqe_query;
    out->encrypt = tqe_encrypt;
}
