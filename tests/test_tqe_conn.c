/* The TQE's wallet protocol core (src/trusted/tqe/tqe_conn.c) in-process, with a stub
 * backend playing an untrusted host: framing limits, challenge handling, the view-key
 * filter, and refusal of host answers that do not match what was asked. The daemon end
 * to end: test_tqe.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "support/tx_builder.h"
#include "trusted/ratls/ratls_evidence.h"
#include "support/tqe_fake.h"
#include "trusted/tqe/tqe_conn.h"
#include "veil/tqe.pb-c.h"
#include "veil/tve.pb-c.h"


/* --- the stub host ------------------------------------------------------------------- */
typedef enum host_mode {
    HOST_HONEST,
    HOST_REORDER,
    HOST_SWAP_BODY,
    HOST_OTHER_TX,
    HOST_ERROR
} host_mode;
static host_mode g_mode;
static txb *g_tx, *g_tx2; /* stored txs: g_tx names g_view_pk, g_tx2 does not */
static txb *g_transfer;    /* a transfer of three public inputs (encrypt only) */
static uint8_t g_view_sk[32], g_view_pk[32], g_other_sk[32];

static veil_status s_random(void *ctx, uint8_t *buf, size_t n)
{
    (void)ctx;
    randombytes_buf(buf, n);
    return VEIL_OK;
}
/* What the stub TVE host found inside the last sealed order. */
static uint64_t g_last_order_fee;
static bool g_last_order_payload_ok;
static Veil__Tve__EncryptOrder *g_last_order; /* the whole order, decoded */

/* The stub's chain state (as the enclave's light client would have proven it), or the
 * error the backend answers with instead; g_state_no_account: the account proven
 * absent. */
static veil_status g_state_error;
static bool g_state_no_account;
#define STATE_HEIGHT 42
#define STATE_TIME UINT64_C(1700000777)

static veil_status s_chain_state(void *ctx, const veil_tx_body *body, tqe_chain_state *out,
                                 char *chain_id, uint64_t *block_time)
{
    (void)ctx;
    if (g_state_error != VEIL_OK) return g_state_error;
    memset(out, 0, sizeof *out);
    out->height = STATE_HEIGHT;
    out->fee_rule = 2;
    out->fee_base = 3;
    out->fee_per_byte = 5;
    if ((body->kind == VEIL_TX_KIND_WITHDRAW || body->kind == VEIL_TX_KIND_DEPOSIT) &&
        !g_state_no_account) {
        out->account.present = true;
        memcpy(out->account.address, body->account, 32);
        out->account.bonded = 1001;
        out->account.unbonded = 77;
        out->account.unbonded_from = 31;
        out->account.nonce = 9;
        out->account.jailed_until = 13;
    }
    out->n_spent = body->n_inputs;
    for (size_t i = 0; i < body->n_inputs; i++) out->spent[i] = i % 2 == 1;
    strcpy(chain_id, "c");
    *block_time = STATE_TIME;
    return VEIL_OK;
}

static const txb *stored(const ProtobufCBinaryData *id)
{
    if (id->len == 32 && memcmp(id->data, g_tx->txid, 32) == 0) return g_tx;
    if (id->len == 32 && memcmp(id->data, g_tx2->txid, 32) == 0) return g_tx2;
    return NULL;
}

static veil_status s_tve(void *ctx, tqe_tve_call which, const uint8_t *in, size_t in_len,
                         uint8_t *out, size_t cap, size_t *out_len)
{
    (void)ctx;
    Veil__Tve__Response r = VEIL__TVE__RESPONSE__INIT;
    Veil__Tve__Error e = VEIL__TVE__ERROR__INIT;
    Veil__Tve__GetSealedTxsResponse g = VEIL__TVE__GET_SEALED_TXS_RESPONSE__INIT;
    Veil__Tve__EncryptResponse er = VEIL__TVE__ENCRYPT_RESPONSE__INIT;
    Veil__Tve__SealedTx st[64], *ptrs[64];
    Veil__Tve__GetSealedTxsRequest *gr = NULL;
    Veil__Tve__EncryptRequest *enc = NULL;
    if (g_mode == HOST_ERROR) {
        e.code = VEIL_ERR_TX_BAD_SIGNATURE;
        e.name = (char *)"from the host";
        e.message = (char *)"anything";
        r.response_case = VEIL__TVE__RESPONSE__RESPONSE_ERROR;
        r.error = &e;
    } else if (which == TQE_TVE_GET_SEALED) {
        gr = veil__tve__get_sealed_txs_request__unpack(NULL, in_len, in);
        assert_non_null(gr);
        for (size_t i = 0; i < gr->n_txids; i++) {
            size_t j = g_mode == HOST_REORDER ? gr->n_txids - 1 - i : i;
            veil__tve__sealed_tx__init(&st[i]);
            st[i].txid = gr->txids[j];
            const txb *t = stored(&gr->txids[j]);
            if (g_mode == HOST_SWAP_BODY && t == g_tx2) t = g_tx; /* another tx's blob */
            if (t != NULL) {
                st[i].sealed.data = t->payload;
                st[i].sealed.len = t->payload_len;
            }
            ptrs[i] = &st[i];
        }
        g.n_txs = gr->n_txids;
        g.txs = ptrs;
        r.response_case = VEIL__TVE__RESPONSE__RESPONSE_GET_SEALED_TXS;
        r.get_sealed_txs = &g;
    } else {
        enc = veil__tve__encrypt_request__unpack(NULL, in_len, in);
        assert_non_null(enc);
        /* The sealed order (a copy here) and nothing else: the request has no other field
         * set, known or unknown (its packed size is the sealed order's field alone). */
        Veil__Tve__EncryptRequest only = VEIL__TVE__ENCRYPT_REQUEST__INIT;
        only.sealed_order = enc->sealed_order;
        assert_int_equal(enc->base.n_unknown_fields, 0);
        assert_int_equal(in_len, veil__tve__encrypt_request__get_packed_size(&only));
        assert_int_equal(veil__tve__encrypt_request__get_packed_size(enc), in_len);
        Veil__Tve__EncryptOrder *o =
            veil__tve__encrypt_order__unpack(NULL, enc->sealed_order.len, enc->sealed_order.data);
        assert_non_null(o);
        g_last_order_fee = o->fee;
        g_last_order_payload_ok = o->payload.len == g_tx->payload_len &&
                                  memcmp(o->payload.data, g_tx->payload, g_tx->payload_len) == 0;
        if (g_last_order != NULL) veil__tve__encrypt_order__free_unpacked(g_last_order, NULL);
        g_last_order = o;
        bool is_transfer = o->payload.len == g_transfer->payload_len &&
                           memcmp(o->payload.data, g_transfer->payload, o->payload.len) == 0;
        const txb *t = g_mode == HOST_OTHER_TX ? g_tx2 : is_transfer ? g_transfer : g_tx;
        /* The TVE's bytes: the tx the builder encrypted (g_tx2's under HOST_OTHER_TX). */
        er.tx.data = t->wire;
        er.tx.len = t->wire_len;
        r.response_case = VEIL__TVE__RESPONSE__RESPONSE_ENCRYPT;
        r.encrypt = &er;
    }
    size_t n = veil__tve__response__get_packed_size(&r);
    assert_true(n <= cap);
    *out_len = veil__tve__response__pack(&r, out);
    if (gr != NULL) veil__tve__get_sealed_txs_request__free_unpacked(gr, NULL);
    if (enc != NULL) veil__tve__encrypt_request__free_unpacked(enc, NULL);
    return VEIL_OK;
}

static const tqe_backend g_backend = {.ctx = NULL,
                                      .alloc = &tqe_fake_alloc,
                                      .random = s_random,
                                      .seal_order = tqe_fake_seal,
                                      .unseal_tx = tqe_fake_unseal,
                                      .chain_state = s_chain_state,
                                      .tve_call = s_tve,
                                      .evidence = tqe_fake_evidence,
                                      .report = NULL};

/* --- the wallet side ----------------------------------------------------------------- */
static tqe_conn g_conn;
static size_t g_last_len; /* bytes of the last framed response */

/* Sends one framed request, fed one byte at a time when `bytewise`; returns the one
 * response it produced. */
static Veil__Tqe__Response *call(const Veil__Tqe__Request *req, bool bytewise)
{
    size_t n = veil__tqe__request__get_packed_size(req);
    uint8_t *buf = malloc(n + 4);
    veil_put_u32(buf, (uint32_t)n);
    veil__tqe__request__pack(req, buf + 4);
    tqe_fake_sink s = {0};
    if (bytewise) {
        for (size_t i = 0; i < n + 4; i++)
            assert_int_equal(tqe_conn_consume(&g_conn, &g_backend, buf + i, 1, tqe_fake_write, &s),
                             VEIL_OK);
    } else {
        assert_int_equal(tqe_conn_consume(&g_conn, &g_backend, buf, n + 4, tqe_fake_write, &s), VEIL_OK);
    }
    free(buf);
    assert_true(s.len >= 4);
    assert_int_equal(veil_get_u32(s.p), s.len - 4);
    g_last_len = s.len;
    Veil__Tqe__Response *r = veil__tqe__response__unpack(NULL, s.len - 4, s.p + 4);
    assert_non_null(r);
    free(s.p);
    return r;
}

static void challenge(uint8_t out[32])
{
    Veil__Tqe__ChallengeRequest c = VEIL__TQE__CHALLENGE_REQUEST__INIT;
    Veil__Tqe__Request req = VEIL__TQE__REQUEST__INIT;
    req.request_case = VEIL__TQE__REQUEST__REQUEST_CHALLENGE;
    req.challenge = &c;
    Veil__Tqe__Response *r = call(&req, true);
    assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_CHALLENGE);
    assert_int_equal(r->challenge->challenge.len, 32);
    memcpy(out, r->challenge->challenge.data, 32);
    veil__tqe__response__free_unpacked(r, NULL);
}

static Veil__Tqe__Response *query(const uint8_t ch[32], const uint8_t sk[32],
                                  const uint8_t *const *txids, size_t n)
{
    uint8_t vk[32], sig[64], digest[32], m[64 + 64 * 32];
    ProtobufCBinaryData ids[64];
    txb_pubkey(vk, sk);
    memcpy(m, ch, 32);
    memcpy(m + 32, vk, 32);
    for (size_t i = 0; i < n; i++) {
        memcpy(m + 64 + 32 * i, txids[i], 32);
        ids[i].data = (uint8_t *)txids[i];
        ids[i].len = 32;
    }
    veil_sha256_tagged(digest, TQE_QUERY_TAG, m, 64 + 32 * n);
    assert_int_equal(veil_schnorr_sign(sig, digest, 32, sk, NULL), VEIL_OK);
    Veil__Tqe__QueryRequest q = VEIL__TQE__QUERY_REQUEST__INIT;
    q.view_key.data = vk;
    q.view_key.len = 32;
    q.signature.data = sig;
    q.signature.len = 64;
    q.n_txids = n;
    q.txids = ids;
    Veil__Tqe__Request req = VEIL__TQE__REQUEST__INIT;
    req.request_case = VEIL__TQE__REQUEST__REQUEST_QUERY;
    req.query = &q;
    return call(&req, false);
}

static void expect_error(Veil__Tqe__Response *r, veil_status code)
{
    assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_ERROR);
    assert_int_equal(r->error->code, code);
    assert_string_equal(r->error->name, veil_status_name(code));
    assert_string_equal(r->error->message, veil_status_str(code));
    veil__tqe__response__free_unpacked(r, NULL);
}

static size_t n_found(Veil__Tqe__Response *r)
{
    assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_QUERY);
    size_t n = r->query->n_txs;
    veil__tqe__response__free_unpacked(r, NULL);
    return n;
}

static int setup(void **state)
{
    (void)state;
    if (veil_crypto_init() != VEIL_OK || sodium_init() < 0) return -1;
    memset(g_view_sk, 0x33, 32);
    memset(g_other_sk, 0x44, 32);
    txb_pubkey(g_view_pk, g_view_sk);
    uint8_t sk[32], pk[32];
    memset(sk, 0x11, 32);
    txb_pubkey(pk, sk);
    g_tx = txb_new(VEIL_TX_KIND_WITHDRAW, "c");
    memcpy(g_tx->account, pk, 32);
    txb_output(g_tx, pk, 5, 0);
    txb_view_key(g_tx, g_view_pk);
    txb_signer(g_tx, sk);
    txb_build(g_tx);
    g_tx2 = txb_new(VEIL_TX_KIND_WITHDRAW, "c");
    memcpy(g_tx2->account, pk, 32);
    txb_output(g_tx2, pk, 6, 0);
    txb_signer(g_tx2, sk);
    txb_build(g_tx2);
    uint8_t in_txid[32];
    memset(in_txid, 0x5c, 32);
    g_transfer = txb_new(VEIL_TX_KIND_TRANSFER, "c");
    for (uint32_t i = 0; i < 3; i++) txb_input(g_transfer, in_txid, i, sk);
    txb_output(g_transfer, pk, 7, 0);
    txb_build(g_transfer);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    txb_free(g_tx);
    txb_free(g_tx2);
    txb_free(g_transfer);
    if (g_last_order != NULL) veil__tve__encrypt_order__free_unpacked(g_last_order, NULL);
    return 0;
}

static int conn_fresh(void **state)
{
    (void)state;
    tqe_conn_init(&g_conn);
    g_mode = HOST_HONEST;
    return 0;
}

static int conn_end(void **state)
{
    (void)state;
    tqe_conn_reset(&g_conn, &g_backend);
    return 0;
}

/* --- tests ---------------------------------------------------------------------------- */

static void test_query_filter(void **state)
{
    (void)state;
    uint8_t ch[32], unknown[32];
    memset(unknown, 0x77, 32);
    const uint8_t *ids[3] = {g_tx->txid, g_tx2->txid, unknown};
    challenge(ch);
    Veil__Tqe__Response *r = query(ch, g_view_sk, ids, 3);
    assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_QUERY);
    assert_int_equal(r->query->n_txs, 1);
    assert_memory_equal(r->query->txs[0]->txid.data, g_tx->txid, 32);
    assert_int_equal(r->query->txs[0]->payload.len, g_tx->payload_len);
    assert_memory_equal(r->query->txs[0]->payload.data, g_tx->payload, g_tx->payload_len);
    veil__tqe__response__free_unpacked(r, NULL);
    /* used */
    expect_error(query(ch, g_view_sk, ids, 1), VEIL_ERR_TQE_CHALLENGE);
    /* another key */
    challenge(ch);
    assert_int_equal(n_found(query(ch, g_other_sk, ids, 3)), 0);
    /* an empty query */
    challenge(ch);
    assert_int_equal(n_found(query(ch, g_view_sk, ids, 0)), 0);
    /* a newer challenge replaces an unused one */
    uint8_t old[32];
    challenge(old);
    challenge(ch);
    expect_error(query(old, g_view_sk, ids, 1), VEIL_ERR_BAD_SIGNATURE);
    expect_error(query(ch, g_view_sk, ids, 1), VEIL_ERR_TQE_CHALLENGE);
}

/* Item 4 of the attack review: responses were sized by how many txids matched the view
 * key, so the TQE's host (and anyone on the path) learned from the TLS record lengths
 * which queries hit. Query responses are now padded to size buckets. */
static void test_item4_response_size_hides_matches(void **state)
{
    (void)state;
    uint8_t ch[32], unknown[32];
    memset(unknown, 0x77, 32);
    const uint8_t *ids[3] = {g_tx->txid, g_tx2->txid, unknown};
    challenge(ch);
    assert_int_equal(n_found(query(ch, g_view_sk, ids, 3)), 1);
    size_t one = g_last_len;
    challenge(ch);
    assert_int_equal(n_found(query(ch, g_other_sk, ids, 3)), 0);
    size_t none = g_last_len;
    challenge(ch);
    assert_int_equal(n_found(query(ch, g_view_sk, ids, 0)), 0);
    size_t empty = g_last_len;
    assert_int_equal(one, none);
    assert_int_equal(one, empty);
    assert_int_equal(one, 4 + 4096);
}

static void test_query_limits(void **state)
{
    (void)state;
    uint8_t ch[32];
    const uint8_t *ids[65];
    for (size_t i = 0; i < 65; i++) ids[i] = g_tx->txid;
    challenge(ch);
    /* 65 txids do not fit the query helper's signing buffer: sign 64, send 65. */
    Veil__Tqe__QueryRequest q = VEIL__TQE__QUERY_REQUEST__INIT;
    ProtobufCBinaryData b[65];
    uint8_t vk[32], sig[64] = {0};
    txb_pubkey(vk, g_view_sk);
    for (size_t i = 0; i < 65; i++) b[i] = (ProtobufCBinaryData){32, (uint8_t *)ids[i]};
    q.view_key = (ProtobufCBinaryData){32, vk};
    q.signature = (ProtobufCBinaryData){64, sig};
    q.n_txids = 65;
    q.txids = b;
    Veil__Tqe__Request req = VEIL__TQE__REQUEST__INIT;
    req.request_case = VEIL__TQE__REQUEST__REQUEST_QUERY;
    req.query = &q;
    expect_error(call(&req, false), VEIL_ERR_TQE_TOO_MANY_TXIDS);
    /* ... and that used the challenge up */
    expect_error(query(ch, g_view_sk, ids, 64), VEIL_ERR_TQE_CHALLENGE);
    challenge(ch);
    assert_int_equal(n_found(query(ch, g_view_sk, ids, 64)), 64);
    /* malformed shapes */
    challenge(ch);
    q.n_txids = 1;
    q.view_key.len = 31;
    expect_error(call(&req, false), VEIL_ERR_MALFORMED);
}

static void test_untrusted_host(void **state)
{
    (void)state;
    uint8_t ch[32];
    const uint8_t *ids[2] = {g_tx->txid, g_tx2->txid};
    g_mode = HOST_REORDER;
    challenge(ch);
    expect_error(query(ch, g_view_sk, ids, 2), VEIL_ERR_TQE_UNAVAILABLE);
    /* g_tx's blob offered as g_tx2's: its body is not g_tx2's, so it is left out */
    g_mode = HOST_SWAP_BODY;
    const uint8_t *only2[1] = {g_tx2->txid};
    challenge(ch);
    assert_int_equal(n_found(query(ch, g_view_sk, only2, 1)), 0);
    /* a TVE error is forwarded with its fixed name and message only */
    g_mode = HOST_ERROR;
    challenge(ch);
    expect_error(query(ch, g_view_sk, ids, 1), VEIL_ERR_TX_BAD_SIGNATURE);
}

static Veil__Tqe__Response *encrypt_fee(const uint8_t *payload, size_t len, uint64_t fee)
{
    Veil__Tqe__EncryptRequest e = VEIL__TQE__ENCRYPT_REQUEST__INIT;
    e.payload.data = (uint8_t *)payload;
    e.payload.len = len;
    e.fee = fee;
    Veil__Tqe__Request req = VEIL__TQE__REQUEST__INIT;
    req.request_case = VEIL__TQE__REQUEST__REQUEST_ENCRYPT;
    req.encrypt = &e;
    return call(&req, false);
}

static Veil__Tqe__Response *encrypt(const uint8_t *payload, size_t len)
{
    return encrypt_fee(payload, len, 0);
}

/* Item 2 of the attack review: the TQE used to hand the TVE host the wallet's fee beside
 * the sealed payload, where the host could change it and binary-search the hidden output
 * total from the answers. The fee now travels inside the sealed order, and the request
 * the host forwards has no fee of its own. */
static void test_item2_fee_sealed_in_order(void **state)
{
    (void)state;
    g_last_order_fee = 0;
    g_last_order_payload_ok = false;
    Veil__Tqe__Response *r = encrypt_fee(g_tx->payload, g_tx->payload_len, 123457);
    assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_ENCRYPT);
    veil__tqe__response__free_unpacked(r, NULL);
    assert_int_equal(g_last_order_fee, 123457);
    assert_true(g_last_order_payload_ok);
}

/* The chain state the TVE judges an order against travels sealed in it, exactly as the
 * enclave's light client proved it; when the state cannot be proven, the wallet is told
 * why and nothing reaches the TVE. */
static void test_state_sealed_in_order(void **state)
{
    (void)state;
    Veil__Tqe__Response *r = encrypt_fee(g_tx->payload, g_tx->payload_len, 11);
    assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_ENCRYPT);
    veil__tqe__response__free_unpacked(r, NULL);
    const Veil__Tve__EncryptOrder *o = g_last_order;
    assert_non_null(o);
    assert_non_null(o->params);
    assert_string_equal(o->params->chain_id, "c");
    assert_int_equal(o->params->block_time, STATE_TIME);
    assert_int_equal(o->params->fee_base, 3);
    assert_int_equal(o->params->fee_per_byte, 5);
    assert_int_equal(o->params->fee_rule, VEIL__TVE__FEE_RULE__FEE_RULE_AT_LEAST);
    assert_int_equal(o->height, STATE_HEIGHT);
    assert_non_null(o->account); /* g_tx is a withdraw */
    assert_int_equal(o->account->address.len, 32);
    assert_memory_equal(o->account->address.data, g_tx->account, 32);
    assert_int_equal(o->account->bonded, 1001);
    assert_int_equal(o->account->unbonded, 77);
    assert_int_equal(o->account->unbonded_from, 31);
    assert_int_equal(o->account->nonce, 9);
    assert_int_equal(o->account->jailed_until, 13);
    assert_int_equal(o->n_input_spent, 0); /* a withdraw has no inputs */
    assert_int_equal(o->fee, 11);
    assert_int_equal(o->payload.len, g_tx->payload_len);
    assert_memory_equal(o->payload.data, g_tx->payload, g_tx->payload_len);

    /* An account proven absent: the order has none (the TVE's "no such account"). */
    g_state_no_account = true;
    r = encrypt(g_tx->payload, g_tx->payload_len);
    g_state_no_account = false;
    assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_ENCRYPT);
    veil__tqe__response__free_unpacked(r, NULL);
    o = g_last_order;
    assert_non_null(o);
    assert_non_null(o->params);
    assert_null(o->account);

    /* A transfer: one spent flag per public input, exactly the stub's, and no account. */
    r = encrypt(g_transfer->payload, g_transfer->payload_len);
    assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_ENCRYPT);
    assert_int_equal(r->encrypt->tx.len, g_transfer->wire_len);
    veil__tqe__response__free_unpacked(r, NULL);
    o = g_last_order;
    assert_non_null(o);
    assert_non_null(o->params);
    assert_string_equal(o->params->chain_id, "c");
    assert_int_equal(o->params->block_time, STATE_TIME);
    assert_int_equal(o->params->fee_base, 3);
    assert_int_equal(o->params->fee_per_byte, 5);
    assert_int_equal(o->params->fee_rule, VEIL__TVE__FEE_RULE__FEE_RULE_AT_LEAST);
    assert_int_equal(o->height, STATE_HEIGHT);
    assert_null(o->account);
    assert_int_equal(o->n_input_spent, 3);
    assert_false(o->input_spent[0]);
    assert_true(o->input_spent[1]);
    assert_false(o->input_spent[2]);

    /* The codes wallets see on the wire (924: retry after the next header; 925: the
     * node lied about its state). */
    assert_int_equal(VEIL_ERR_TQE_NOT_SYNCED, 924);
    assert_int_equal(VEIL_ERR_TQE_STATE_PROOF, 925);
    static const veil_status errors[] = {VEIL_ERR_TQE_NOT_SYNCED, VEIL_ERR_TQE_STATE_PROOF,
                                         VEIL_ERR_TQE_UNAVAILABLE};
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        g_state_error = errors[i];
        veil__tve__encrypt_order__free_unpacked(g_last_order, NULL);
        g_last_order = NULL;
        expect_error(encrypt(g_tx->payload, g_tx->payload_len), errors[i]);
        assert_null(g_last_order); /* the TVE was not asked */
    }
    g_state_error = VEIL_OK;
}

/* The attest request: the wallet's nonce reaches the evidence; bad nonces are refused. */
static void test_attest_nonce(void **state)
{
    (void)state;
    uint8_t nonce[RATLS_NONCE_MAX + 1];
    memset(nonce, 0x3c, sizeof nonce);
    Veil__Tqe__AttestRequest a = VEIL__TQE__ATTEST_REQUEST__INIT;
    Veil__Tqe__Request req = VEIL__TQE__REQUEST__INIT;
    req.request_case = VEIL__TQE__REQUEST__REQUEST_ATTEST;
    req.attest = &a;
    a.nonce.data = nonce;
    a.nonce.len = 32;
    Veil__Tqe__Response *r = call(&req, false);
    assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_ATTEST);
    assert_int_equal(r->attest->evidence.len, 34);
    assert_memory_equal(r->attest->evidence.data + 2, nonce, 32);
    veil__tqe__response__free_unpacked(r, NULL);
    a.nonce.len = 0;
    expect_error(call(&req, false), VEIL_ERR_RATLS_NONCE);
    a.nonce.len = RATLS_NONCE_MAX + 1;
    expect_error(call(&req, false), VEIL_ERR_RATLS_NONCE);
}

static void test_encrypt(void **state)
{
    (void)state;
    Veil__Tqe__Response *r = encrypt(g_tx->payload, g_tx->payload_len);
    assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_ENCRYPT);
    /* The TVE's bytes reach the wallet unchanged. */
    assert_int_equal(r->encrypt->tx.len, g_tx->wire_len);
    assert_memory_equal(r->encrypt->tx.data, g_tx->wire, g_tx->wire_len);
    veil__tqe__response__free_unpacked(r, NULL);
    g_mode = HOST_OTHER_TX;
    expect_error(encrypt(g_tx->payload, g_tx->payload_len), VEIL_ERR_TQE_UNAVAILABLE);
    g_mode = HOST_ERROR;
    expect_error(encrypt(g_tx->payload, g_tx->payload_len), VEIL_ERR_TX_BAD_SIGNATURE);
    g_mode = HOST_HONEST;
    static const uint8_t junk[] = {0xff, 0xff};
    expect_error(encrypt(junk, sizeof junk), VEIL_ERR_TX_MALFORMED);
    expect_error(encrypt(junk, 0), VEIL_ERR_TX_TOO_LARGE);
}

static veil_status feed(const uint8_t *p, size_t n)
{
    tqe_fake_sink s = {0};
    veil_status st = tqe_conn_consume(&g_conn, &g_backend, p, n, tqe_fake_write, &s);
    free(s.p);
    return st;
}

static void test_framing(void **state)
{
    (void)state;
    static const uint8_t zero[4] = {0, 0, 0, 0}, over[4] = {0, 1, 0, 1}, max[4] = {0, 1, 0, 0};
    static const uint8_t unknown_field[6] = {0, 0, 0, 2, 0x2a, 0x00}; /* field 5 */
    static const uint8_t empty_req[5] = {0, 0, 0, 1, 0x12};
    assert_int_equal(feed(zero, 4), VEIL_ERR_TOO_LARGE);
    tqe_conn_reset(&g_conn, &g_backend);
    assert_int_equal(feed(over, 4), VEIL_ERR_TOO_LARGE);
    tqe_conn_reset(&g_conn, &g_backend);
    /* the largest allowed prefix is accepted and buffered... */
    assert_int_equal(feed(max, 4), VEIL_OK);
    uint8_t *body = calloc(1, 65536);
    body[0] = 0xff; /* ...and a body that is no Request closes the connection */
    assert_int_equal(feed(body, 65536), VEIL_ERR_DECODE);
    free(body);
    tqe_conn_reset(&g_conn, &g_backend);
    assert_int_equal(feed(unknown_field, sizeof unknown_field), VEIL_ERR_DECODE);
    tqe_conn_reset(&g_conn, &g_backend);
    assert_int_equal(feed(empty_req, sizeof empty_req), VEIL_ERR_DECODE); /* truncated */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_query_filter, conn_fresh, conn_end),
        cmocka_unit_test_setup_teardown(test_item4_response_size_hides_matches, conn_fresh, conn_end),
        cmocka_unit_test_setup_teardown(test_query_limits, conn_fresh, conn_end),
        cmocka_unit_test_setup_teardown(test_untrusted_host, conn_fresh, conn_end),
        cmocka_unit_test_setup_teardown(test_encrypt, conn_fresh, conn_end),
        cmocka_unit_test_setup_teardown(test_state_sealed_in_order, conn_fresh, conn_end),
        cmocka_unit_test_setup_teardown(test_attest_nonce, conn_fresh, conn_end),
        cmocka_unit_test_setup_teardown(test_item2_fee_sealed_in_order, conn_fresh, conn_end),
        cmocka_unit_test_setup_teardown(test_framing, conn_fresh, conn_end),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
