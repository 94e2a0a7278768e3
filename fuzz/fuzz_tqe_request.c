/* Fuzzes the TQE's wallet protocol (src/trusted/tqe/tqe_conn.c) as a hostile wallet
 * drives it after the TLS handshake: the input is the plaintext stream, fed in chunks
 * whose sizes come from the first byte (to exercise reassembly), through a stub
 * backend (randomness from a counter, sealing = copying, a TVE that answers every
 * GetSealedTxs with one stored tx naming a fixed view key and every encrypt with an
 * error).
 *
 * Invariants: the output is a sequence of complete frames, each a Response with a case
 * set; an Error carries a known code with its fixed name; a stream that ends in a
 * close status wrote nothing after the failing message; no frame carries the stored
 * tx unless a query's signature verified (impossible without the view key's secret,
 * so: never). Corpus: fuzz/corpus/tqe_request/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "support/tqe_fake.h"
#include "trusted/tqe/tqe_conn.h"
#include "trusted/tx/tx.h"
#include "veil/tqe.pb-c.h"
#include "veil/tve.pb-c.h"


static uint64_t g_counter;

static veil_status s_random(void *ctx, uint8_t *buf, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(g_counter++ * 131u);
    return VEIL_OK;
}

/* The stored tx: a body naming view key 0x02.. (whose secret nobody has). */
static uint8_t g_payload[1024];
static size_t g_payload_len;
static uint8_t g_txid[32];

static veil_status s_tve(void *ctx, tqe_tve_call which, const uint8_t *in, size_t in_len,
                         uint8_t *out, size_t cap, size_t *out_len)
{
    (void)ctx;
    Veil__Tve__Response r = VEIL__TVE__RESPONSE__INIT;
    Veil__Tve__Error e = VEIL__TVE__ERROR__INIT;
    Veil__Tve__GetSealedTxsResponse g = VEIL__TVE__GET_SEALED_TXS_RESPONSE__INIT;
    Veil__Tve__SealedTx st[TQE_MAX_QUERY_TXIDS], *ptrs[TQE_MAX_QUERY_TXIDS];
    Veil__Tve__GetSealedTxsRequest *req = NULL;
    if (which == TQE_TVE_GET_SEALED) {
        req = veil__tve__get_sealed_txs_request__unpack(NULL, in_len, in);
        if (req == NULL || req->n_txids > TQE_MAX_QUERY_TXIDS) abort();
        for (size_t i = 0; i < req->n_txids; i++) {
            veil__tve__sealed_tx__init(&st[i]);
            st[i].txid = req->txids[i];
            if (req->txids[i].len == 32 && memcmp(req->txids[i].data, g_txid, 32) == 0) {
                st[i].sealed.data = g_payload;
                st[i].sealed.len = g_payload_len;
            }
            ptrs[i] = &st[i];
        }
        g.n_txs = req->n_txids;
        g.txs = ptrs;
        r.response_case = VEIL__TVE__RESPONSE__RESPONSE_GET_SEALED_TXS;
        r.get_sealed_txs = &g;
    } else {
        e.code = VEIL_ERR_TX_BAD_SIGNATURE;
        e.name = (char *)"x";
        e.message = (char *)"y";
        r.response_case = VEIL__TVE__RESPONSE__RESPONSE_ERROR;
        r.error = &e;
    }
    size_t n = veil__tve__response__get_packed_size(&r);
    veil_status s = VEIL_ERR_BUFFER_TOO_SMALL;
    if (n <= cap) {
        *out_len = veil__tve__response__pack(&r, out);
        s = VEIL_OK;
    }
    if (req != NULL) veil__tve__get_sealed_txs_request__free_unpacked(req, NULL);
    return s;
}

/* Honest, proven-looking state: the verifier itself is fuzz_tqe_state's. */
static veil_status s_chain_state(void *ctx, const veil_tx_body *body, tqe_chain_state *out,
                                 char *chain_id, uint64_t *block_time)
{
    (void)ctx;
    memset(out, 0, sizeof *out);
    out->height = 2;
    out->fee_rule = 2;
    out->n_spent = body->n_inputs;
    chain_id[0] = 'c';
    chain_id[1] = '\0';
    *block_time = 1000;
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

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (veil_crypto_init() != VEIL_OK) abort();
    veil_tx_body body;
    memset(&body, 0, sizeof body);
    body.version = VEIL_TX_VERSION;
    memset(body.blinding, 0x5a, sizeof body.blinding);
    strcpy(body.chain_id, "fuzz");
    body.kind = VEIL_TX_KIND_WITHDRAW;
    body.n_outputs = 1;
    body.outputs[0].value = 5;
    memset(body.account, 0x03, 32);
    body.n_view_keys = 1;
    memset(body.view_keys[0], 0x02, 32);
    uint8_t b[512], wit[1][VEIL_TX_WITNESS_LEN] = {{0}};
    size_t bl = 0;
    if (veil_tx_body_encode(&body, b, sizeof b, &bl) != VEIL_OK) abort();
    veil_tx_id(g_txid, b, bl);
    if (veil_tx_payload_encode(b, bl, (const uint8_t(*)[VEIL_TX_WITNESS_LEN])wit, 1, g_payload,
                               sizeof g_payload, &g_payload_len) != VEIL_OK)
        abort();
    return 0;
}

static void check_output(const tqe_fake_sink *s)
{
    size_t pos = 0;
    while (pos < s->len) {
        if (s->len - pos < 4) abort();
        uint32_t n = veil_get_u32(s->p + pos);
        pos += 4;
        if (n > s->len - pos) abort();
        Veil__Tqe__Response *r = veil__tqe__response__unpack(NULL, n, s->p + pos);
        if (r == NULL || r->response_case == VEIL__TQE__RESPONSE__RESPONSE__NOT_SET) abort();
        if (r->response_case == VEIL__TQE__RESPONSE__RESPONSE_ERROR &&
            (r->error->code == 0 ||
             strcmp(r->error->name, veil_status_name((veil_status)r->error->code)) != 0))
            abort();
        if (r->response_case == VEIL__TQE__RESPONSE__RESPONSE_QUERY && r->query->n_txs != 0)
            abort(); /* a signature by a key whose secret nobody has verified */
        veil__tqe__response__free_unpacked(r, NULL);
        pos += n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    size_t chunk = (size_t)data[0] % 64 + 1;
    data++, size--;
    tqe_conn c;
    tqe_conn_init(&c);
    tqe_fake_sink s = {0};
    for (size_t pos = 0; pos < size; pos += chunk) {
        size_t n = size - pos < chunk ? size - pos : chunk;
        if (tqe_conn_consume(&c, &g_backend, data + pos, n, tqe_fake_write, &s) != VEIL_OK) break;
    }
    check_output(&s);
    free(s.p);
    tqe_conn_reset(&c, &g_backend);
    return 0;
}
