/* veil devnet demo — a scripted scenario against a running devnet, through its RPC:
 * confidential withdraw, transfer, deposit; public unbond; a time-locked withdraw.
 *
 * Transactions are built here and encrypted by the devnet's TVE: the plaintext is
 * sealed in a TQE enclave (loaded in this process on the devnet's platform) and handed
 * to the TVE, which validates it and returns it encrypted under the current key — the
 * wallet's path without its attested TLS channel. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "crypto/crypto_host.h"
#include "host/devchain/cmt_time.h"
#include "host/node/node_tx.h"
#include "host/node/tve_client.h"
#include "host/tqe/tqe_handoff.h"
#include "hostutil/fileio.h"
#include "hostutil/rpc_client.h"
#include "tee/tee.h"
#include "tools/cli.h"
#include "tools/devnet.h"
#include "trusted/tqe/tqe_abi.h"
#include "trusted/tx/bloom.h"
#include "trusted/tx/tx.h"
#include "veil/node.pb-c.h"
#include "veil/tve.pb-c.h"

/* Outputs the demo created and has not spent, so a second run on the same home
 * continues from them (kept in DIR/demo-state.json, saved after each committed tx). */
#define DEMO_MAX_OUTPUTS 64
typedef struct demo_output {
    size_t owner; /* index into the accounts */
    uint8_t txid[32];
    uint32_t index;
    uint64_t value;
} demo_output;

typedef struct demo {
    devnet_layout l;
    tee_platform *platform;
    tee_enclave *tqe;
    tve_client *tve;
    Veil__Node__Params *params;
    char state_file[PATH_MAX];
    demo_output outputs[DEMO_MAX_OUTPUTS];
    size_t n_outputs;
} demo;

static veil_status state_save(demo *d)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < d->n_outputs; i++) {
        char txid[65], value[24];
        veil_hex_encode(txid, d->outputs[i].txid, 32);
        snprintf(value, sizeof value, "%llu", (unsigned long long)d->outputs[i].value);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:s}", "owner",
                                             d->l.accounts[d->outputs[i].owner].name, "txid", txid,
                                             "index", (json_int_t)d->outputs[i].index, "value",
                                             value));
    }
    json_t *doc = json_pack("{s:o}", "unspent_outputs", arr);
    char *text = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    ENSURE(text != NULL, VEIL_ERR_NOMEM);
    veil_status st = veil_file_write_atomic(d->state_file, text, strlen(text), 0600);
    free(text);
    return st;
}

static veil_status state_load(demo *d)
{
    json_error_t je;
    json_t *doc = json_load_file(d->state_file, 0, &je);
    if (doc == NULL) return VEIL_OK; /* first run */
    json_t *arr = json_object_get(doc, "unspent_outputs"), *o;
    size_t i;
    veil_status st = VEIL_OK;
    json_array_foreach(arr, i, o)
    {
        const char *owner = json_string_value(json_object_get(o, "owner"));
        const char *txid = json_string_value(json_object_get(o, "txid"));
        const char *value = json_string_value(json_object_get(o, "value"));
        demo_output *out = &d->outputs[d->n_outputs];
        ENSURE_OUT(d->n_outputs < DEMO_MAX_OUTPUTS && owner && txid && value, VEIL_ERR_MALFORMED);
        out->owner = DEVNET_ACCOUNTS;
        for (size_t a = 0; a < DEVNET_ACCOUNTS; a++)
            if (strcmp(owner, d->l.accounts[a].name) == 0) out->owner = a;
        ENSURE_OUT(out->owner < DEVNET_ACCOUNTS, VEIL_ERR_MALFORMED);
        TRY_OUT(veil_hex_decode_exact(out->txid, 32, txid, strlen(txid)));
        out->index = (uint32_t)json_integer_value(json_object_get(o, "index"));
        out->value = strtoull(value, NULL, 10);
        d->n_outputs++;
    }
out:
    json_decref(doc);
    if (st != VEIL_OK) veil_error_detail_set("%s: unexpected content", d->state_file);
    return st;
}

static void output_add(demo *d, size_t owner, const uint8_t txid[32], uint32_t index,
                       uint64_t value)
{
    if (d->n_outputs == DEMO_MAX_OUTPUTS) return;
    demo_output *o = &d->outputs[d->n_outputs++];
    o->owner = owner;
    memcpy(o->txid, txid, 32);
    o->index = index;
    o->value = value;
}

static void output_remove(demo *d, size_t i)
{
    d->outputs[i] = d->outputs[--d->n_outputs];
}

/* The owner's largest recorded output, or -1. */
static long output_largest(const demo *d, size_t owner)
{
    long best = -1;
    for (size_t i = 0; i < d->n_outputs; i++)
        if (d->outputs[i].owner == owner && (best < 0 || d->outputs[i].value > d->outputs[best].value))
            best = (long)i;
    return best;
}

#define FAIL(...)                                                                        \
    do {                                                                                 \
        fprintf(stderr, "veil: demo: " __VA_ARGS__);                                     \
        fputc('\n', stderr);                                                             \
        return VEIL_ERR_INTERNAL;                                                        \
    } while (0)

static void step(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void step(const char *fmt, ...)
{
    static int n;
    va_list ap;
    va_start(ap, fmt);
    printf("\n[%d] ", ++n);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

static void coins(char *buf, size_t cap, uint64_t v)
{
    snprintf(buf, cap, "%llu.%08llu", (unsigned long long)(v / 100000000),
             (unsigned long long)(v % 100000000));
}

/* --- RPC ------------------------------------------------------------------------ */
static veil_status abci_query(demo *d, const char *path, uint8_t **value, size_t *len)
{
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%u", d->l.rpc_port);
    return veil_rpc_abci_query(base, path, 30000L, value, len);
}

static veil_status account_get(demo *d, const uint8_t addr[32], Veil__Node__Account **out)
{
    char path[128], hex[65];
    veil_hex_encode(hex, addr, 32);
    snprintf(path, sizeof path, "/account/%s", hex);
    uint8_t *v = NULL;
    size_t n;
    veil_status st = abci_query(d, path, &v, &n);
    if (st == VEIL_OK) {
        *out = veil__node__account__unpack(NULL, n, v);
        if (*out == NULL) st = VEIL_ERR_DECODE;
    }
    free(v);
    return st;
}

static veil_status chain_tip(demo *d, uint64_t *height, uint64_t *time)
{
    json_t *r;
    TRY(devnet_rpc_get(&d->l, "status", &r));
    json_t *si = json_object_get(r, "sync_info");
    const char *h = json_string_value(json_object_get(si, "latest_block_height"));
    const char *t = json_string_value(json_object_get(si, "latest_block_time"));
    cmt_timestamp ts;
    veil_status st = (h != NULL && t != NULL) ? cmt_time_parse(t, &ts) : VEIL_ERR_DECODE;
    if (st == VEIL_OK) {
        *height = strtoull(h, NULL, 10);
        *time = (uint64_t)ts.seconds;
    }
    json_decref(r);
    return st;
}

/* broadcast_tx_commit; prints the outcome. */
static veil_status broadcast(demo *d, const uint8_t *tx, size_t len, uint64_t *height)
{
    char *b64 = malloc(sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL));
    char *q = malloc(3 * sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL) + 64);
    ENSURE(b64 != NULL && q != NULL, VEIL_ERR_NOMEM);
    sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL), tx,
                      len, sodium_base64_VARIANT_ORIGINAL);
    /* URI form: tx=0x<hex>, as CometBFT accepts. */
    char *hex = malloc(2 * len + 1);
    ENSURE(hex != NULL, VEIL_ERR_NOMEM);
    veil_hex_encode(hex, tx, len);
    snprintf(q, 3 * sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL) + 64,
             "broadcast_tx_commit?tx=0x%s", hex);
    free(hex);
    free(b64);
    json_t *r;
    veil_status st = devnet_rpc_get(&d->l, q, &r);
    free(q);
    TRY(st);
    json_int_t ccode = json_integer_value(json_object_get(json_object_get(r, "check_tx"), "code"));
    json_t *txr = json_object_get(r, "tx_result");
    if (txr == NULL) txr = json_object_get(r, "deliver_tx");
    json_int_t dcode = json_integer_value(json_object_get(txr, "code"));
    const char *h = json_string_value(json_object_get(r, "height"));
    const char *hash = json_string_value(json_object_get(r, "hash"));
    if (ccode != 0 || dcode != 0) {
        const char *log = json_string_value(
            json_object_get(ccode != 0 ? json_object_get(r, "check_tx") : txr, "log"));
        fprintf(stderr, "veil: demo: tx refused (check %lld, deliver %lld): %s\n",
                (long long)ccode, (long long)dcode, log ? log : "");
        json_decref(r);
        return VEIL_ERR_INTERNAL;
    }
    printf("    committed in block %s, tx hash %.16s...\n", h ? h : "?", hash ? hash : "?");
    *height = h ? strtoull(h, NULL, 10) : 0;
    json_decref(r);
    return VEIL_OK;
}

/* Does block `height`'s bloom filter (a FinalizeBlock event) name the view key? */
static veil_status bloom_names(demo *d, uint64_t height, const uint8_t vk[32], bool *yes)
{
    char q[64];
    snprintf(q, sizeof q, "block_results?height=%llu", (unsigned long long)height);
    json_t *r;
    TRY(devnet_rpc_get(&d->l, q, &r));
    veil_status st = VEIL_ERR_NOT_FOUND;
    json_t *events = json_object_get(r, "finalize_block_events"), *ev;
    size_t i, j;
    json_array_foreach(events, i, ev)
    {
        json_t *attrs = json_object_get(ev, "attributes"), *a;
        json_array_foreach(attrs, j, a)
        {
            const char *k = json_string_value(json_object_get(a, "key"));
            const char *v = json_string_value(json_object_get(a, "value"));
            if (k == NULL || v == NULL || strcmp(k, "bloom") != 0) continue;
            veil_bloom b;
            if (veil_hex_decode_exact(b.bits, sizeof b.bits, v, strlen(v)) == VEIL_OK) {
                *yes = veil_bloom_contains(&b, vk);
                st = VEIL_OK;
            }
        }
    }
    json_decref(r);
    return st;
}

/* --- building and encrypting ---------------------------------------------------- */
static veil_status chain_params(demo *d, uint64_t block_time, Veil__Tve__ChainParams *p)
{
    veil__tve__chain_params__init(p);
    p->chain_id = d->l.chain_id;
    p->block_time = block_time;
    p->fee_base = d->params->fee_base;
    p->fee_per_byte = d->params->fee_per_byte;
    p->fee_rule = (Veil__Tve__FeeRule)d->params->fee_rule;
    return VEIL_OK;
}

typedef struct built {
    uint8_t body[VEIL_TX_MAX_BODY_LEN];
    size_t body_len;
    uint8_t txid[32];
    uint8_t payload[VEIL_TX_MAX_PAYLOAD_LEN];
    size_t payload_len;
    uint64_t fee;
} built;

/* Encodes and signs body; every witness is by `signer`. */
static veil_status build(demo *d, veil_tx_body *body, const uint8_t signer[32], size_t n_witnesses,
                         built *b)
{
    (void)d;
    uint8_t wit[VEIL_TX_MAX_WITNESSES][VEIL_TX_WITNESS_LEN], aux[32];
    TRY(veil_tx_body_encode(body, b->body, sizeof b->body, &b->body_len));
    veil_tx_id(b->txid, b->body, b->body_len);
    for (size_t i = 0; i < n_witnesses; i++) {
        TRY(veil_random_bytes(aux, sizeof aux));
        TRY(veil_schnorr_sign(wit[i], b->txid, 32, signer, aux));
    }
    return veil_tx_payload_encode(b->body, b->body_len, (const uint8_t(*)[64])wit, n_witnesses,
                                  b->payload, sizeof b->payload, &b->payload_len);
}

static veil_status min_fee(demo *d, const built *b, size_t n_witnesses, uint64_t *fee)
{
    uint64_t size;
    TRY(veil_tx_size(b->body_len, n_witnesses, &size));
    veil_tx_params p = {.fee_base = d->params->fee_base, .fee_per_byte = d->params->fee_per_byte};
    return veil_tx_min_fee(&p, size, fee);
}

/* Builds with a fee that covers the tx's own size: the values depend on the fee and
 * the size on the values, so iterate until the fee is enough. `fill` sets the
 * fee-dependent fields. */
typedef void (*fill_fn)(veil_tx_body *body, uint64_t fee, void *ctx);
static veil_status build_with_fee(demo *d, veil_tx_body *body, fill_fn fill, void *ctx,
                                  const uint8_t signer[32], size_t n_witnesses, built *b)
{
    uint64_t fee = 0, need = 0;
    for (int i = 0; i < 8; i++) {
        fill(body, fee, ctx);
        TRY(build(d, body, signer, n_witnesses, b));
        TRY(min_fee(d, b, n_witnesses, &need));
        if (need <= fee) {
            b->fee = fee;
            return VEIL_OK;
        }
        fee = need;
    }
    return VEIL_ERR_INTERNAL;
}

static void account_state(const Veil__Node__Account *a, Veil__Tve__AccountState *s)
{
    veil__tve__account_state__init(s);
    s->address = a->address;
    s->bonded = a->bonded;
    s->unbonded = a->unbonded;
    s->unbonded_from = a->unbonded_from;
    s->nonce = a->nonce;
    s->jailed_until = a->jailed_until;
}

/* TQE seals the payload, the TVE encrypts it; returns the ChainTx to broadcast. */
static veil_status encrypt(demo *d, const built *b, const Veil__Node__Account *acct, uint8_t *out,
                           size_t cap, size_t *out_len)
{
    uint8_t sealed[VEIL_TX_MAX_PAYLOAD_LEN + 16 + TEE_SEAL_OVERHEAD];
    uint8_t order[VEIL_TX_MAX_PAYLOAD_LEN + 16];
    size_t sealed_len;
    uint64_t height, time;
    TRY(chain_tip(d, &height, &time));
    /* The fee is sealed with the payload (docs/tve-protocol.md, "Encrypt"). */
    Veil__Tve__EncryptOrder o = VEIL__TVE__ENCRYPT_ORDER__INIT;
    o.payload.data = (uint8_t *)b->payload;
    o.payload.len = b->payload_len;
    o.fee = b->fee;
    ENSURE(veil__tve__encrypt_order__get_packed_size(&o) <= sizeof order, VEIL_ERR_TX_TOO_LARGE);
    size_t order_len = veil__tve__encrypt_order__pack(&o, order);
    TRY(tee_enclave_call(d->tqe, TQE_E_SEAL_PAYLOAD, order, order_len, sealed, sizeof sealed,
                         &sealed_len));
    Veil__Tve__ChainParams params;
    Veil__Tve__AccountState as;
    TRY(chain_params(d, time, &params));
    Veil__Tve__EncryptRequest er = VEIL__TVE__ENCRYPT_REQUEST__INIT;
    er.sealed_order.data = sealed;
    er.sealed_order.len = sealed_len;
    er.params = &params;
    if (acct != NULL) {
        account_state(acct, &as);
        er.account = &as;
    }
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_ENCRYPT;
    req.encrypt = &er;
    Veil__Tve__Response *resp;
    veil_status st = tve_client_call(d->tve, &req, VEIL__TVE__RESPONSE__RESPONSE_ENCRYPT, 0, &resp);
    if (st != VEIL_OK) {
        fprintf(stderr, "veil: demo: the TVE refused to encrypt: %s (%s)\n", veil_status_str(st),
                veil_error_detail());
        return st;
    }
    uint8_t wire[VEIL_TX_MAX_WIRE_LEN];
    size_t wire_len = veil__tx__confidential_tx__pack(resp->encrypt->tx, wire);
    veil__tve__response__free_unpacked(resp, NULL);
    printf("    encrypted by the TVE: %zu bytes on the wire (plaintext %zu bytes), fee %llu\n",
           wire_len, b->payload_len, (unsigned long long)b->fee);
    return node_confidential_tx_encode(wire, wire_len, out, cap, out_len);
}

/* --- the scenario --------------------------------------------------------------- */
static void body_init(veil_tx_body *body, veil_tx_kind kind, const char *chain_id)
{
    memset(body, 0, sizeof *body);
    body->version = VEIL_TX_VERSION;
    snprintf(body->chain_id, sizeof body->chain_id, "%s", chain_id);
    body->kind = kind;
    randombytes_buf(body->blinding, sizeof body->blinding);
}

typedef struct withdraw_ctx {
    uint64_t total;
} withdraw_ctx;
static void fill_withdraw(veil_tx_body *body, uint64_t fee, void *ctx)
{
    body->outputs[0].value = ((withdraw_ctx *)ctx)->total - fee;
}

typedef struct transfer_ctx {
    uint64_t in, pay;
} transfer_ctx;
static void fill_transfer(veil_tx_body *body, uint64_t fee, void *ctx)
{
    transfer_ctx *t = ctx;
    body->outputs[0].value = t->pay;
    body->outputs[1].value = t->in - t->pay - fee; /* change */
}

static void fill_deposit(veil_tx_body *body, uint64_t fee, void *ctx)
{
    body->amount = *(uint64_t *)ctx - fee;
}

static veil_status withdraw_all(demo *d, size_t owner)
{
    const devnet_account *who = &d->l.accounts[owner];
    Veil__Node__Account *acct;
    TRY(account_get(d, who->address, &acct));
    if (acct->unbonded == 0) {
        step("%s has no unbonded stake left to withdraw (an earlier run took it)", who->name);
        veil__node__account__free_unpacked(acct, NULL);
        return VEIL_OK;
    }
    char amount[32];
    coins(amount, sizeof amount, acct->unbonded);
    step("%s withdraws her unbonded stake (%s) into a confidential output", who->name, amount);
    veil_tx_body body;
    body_init(&body, VEIL_TX_KIND_WITHDRAW, d->l.chain_id);
    memcpy(body.account, who->address, 32);
    body.nonce = acct->nonce;
    body.n_outputs = 1;
    memcpy(body.outputs[0].address, who->address, 32);
    body.outputs[0].valid_from = acct->unbonded_from; /* withdrawn stake stays time-locked */
    body.n_view_keys = 1;
    memcpy(body.view_keys[0], who->view_pk, 32);
    withdraw_ctx wc = {acct->unbonded};
    built *b = malloc(sizeof *b);
    uint8_t tx[VEIL_TX_MAX_WIRE_LEN + 64];
    size_t tx_len;
    uint64_t height;
    veil_status st = b ? build_with_fee(d, &body, fill_withdraw, &wc, who->sk, 1, b) : VEIL_ERR_NOMEM;
    if (st == VEIL_OK) st = encrypt(d, b, acct, tx, sizeof tx, &tx_len);
    if (st == VEIL_OK) st = broadcast(d, tx, tx_len, &height);
    if (st == VEIL_OK) {
        output_add(d, owner, b->txid, 0, body.outputs[0].value);
        st = state_save(d);
        char c[32];
        coins(c, sizeof c, body.outputs[0].value);
        printf("    %s's new output of %s is locked until %llu\n", who->name, c,
               (unsigned long long)body.outputs[0].valid_from);
    }
    free(b);
    veil__node__account__free_unpacked(acct, NULL);
    return st;
}

static veil_status run(demo *d)
{
    enum { ALICE = 0, BOB = 1, CAROL = 2 };
    devnet_account *alice = &d->l.accounts[ALICE], *bob = &d->l.accounts[BOB];
    uint64_t height, time;
    char c1[32], c2[32];
    Veil__Node__Account *acct = NULL;
    built *b = NULL;
    veil_status st;

    uint8_t *pv;
    size_t pn;
    TRY(abci_query(d, "/params", &pv, &pn));
    d->params = veil__node__params__unpack(NULL, pn, pv);
    free(pv);
    ENSURE(d->params != NULL, VEIL_ERR_DECODE);
    TRY(state_load(d));

    TRY(withdraw_all(d, ALICE));

    /* Confidential transfer alice -> bob from alice's largest output, change back. */
    long in = output_largest(d, ALICE);
    if (in < 0 || d->outputs[in].value < 2 * 300000000) {
        fprintf(stderr, "veil: demo: alice has no output large enough left to pay bob\n");
        return VEIL_ERR_NOT_FOUND;
    }
    demo_output spend = d->outputs[in];
    transfer_ctx tc = {spend.value, 300000000};
    coins(c1, sizeof c1, tc.pay);
    step("alice pays bob %s confidentially (bob's and alice's view keys named)", c1);
    veil_tx_body body;
    body_init(&body, VEIL_TX_KIND_TRANSFER, d->l.chain_id);
    body.n_inputs = 1;
    memcpy(body.inputs[0].txid, spend.txid, 32);
    body.inputs[0].index = spend.index;
    body.n_outputs = 2;
    memcpy(body.outputs[0].address, bob->address, 32);
    memcpy(body.outputs[1].address, alice->address, 32);
    body.n_view_keys = 2;
    memcpy(body.view_keys[0], bob->view_pk, 32);
    memcpy(body.view_keys[1], alice->view_pk, 32);
    b = malloc(sizeof *b);
    ENSURE(b != NULL, VEIL_ERR_NOMEM);
    uint8_t tx[VEIL_TX_MAX_WIRE_LEN + 64];
    size_t tx_len;
    st = build_with_fee(d, &body, fill_transfer, &tc, alice->sk, 1, b);
    if (st == VEIL_OK) st = encrypt(d, b, NULL, tx, sizeof tx, &tx_len);
    if (st == VEIL_OK) st = broadcast(d, tx, tx_len, &height);
    if (st != VEIL_OK) goto out;
    output_remove(d, (size_t)in);
    output_add(d, BOB, b->txid, 0, body.outputs[0].value);
    output_add(d, ALICE, b->txid, 1, body.outputs[1].value);
    TRY_OUT(state_save(d));
    bool named = false;
    if (bloom_names(d, height, bob->view_pk, &named) == VEIL_OK)
        printf("    block %llu's view-key bloom filter names bob's view key: %s\n",
               (unsigned long long)height, named ? "yes" : "no");
    uint8_t stranger[32];
    TRY_OUT(veil_random_bytes(stranger, sizeof stranger));
    if (bloom_names(d, height, stranger, &named) == VEIL_OK)
        printf("    ... and a random key: %s (a bloom filter may give false positives)\n",
               named ? "yes" : "no");

    /* Bob bonds what he received. */
    long got = (long)d->n_outputs - 2; /* bob's output, just recorded */
    demo_output received = d->outputs[got];
    uint64_t received_value = received.value;
    step("bob deposits the output he received into his staking account");
    body_init(&body, VEIL_TX_KIND_DEPOSIT, d->l.chain_id);
    body.n_inputs = 1;
    memcpy(body.inputs[0].txid, received.txid, 32);
    body.inputs[0].index = received.index;
    memcpy(body.account, bob->address, 32);
    st = account_get(d, bob->address, &acct);
    if (st == VEIL_OK) st = build_with_fee(d, &body, fill_deposit, &received_value, bob->sk, 1, b);
    if (st == VEIL_OK) st = encrypt(d, b, acct, tx, sizeof tx, &tx_len);
    if (st == VEIL_OK) st = broadcast(d, tx, tx_len, &height);
    veil__node__account__free_unpacked(acct, NULL);
    acct = NULL;
    if (st != VEIL_OK) goto out;
    output_remove(d, (size_t)got);
    TRY_OUT(state_save(d));
    coins(c1, sizeof c1, body.amount);
    printf("    bob bonded %s\n", c1);

    /* The account with the most bonded stake unbonds part of it (a public tx) ... */
    size_t staker = CAROL;
    uint64_t most = 0;
    for (size_t i = 0; i < DEVNET_ACCOUNTS; i++) {
        st = account_get(d, d->l.accounts[i].address, &acct);
        if (st != VEIL_OK) goto out;
        if (acct->bonded > most) {
            most = acct->bonded;
            staker = i;
        }
        veil__node__account__free_unpacked(acct, NULL);
        acct = NULL;
    }
    devnet_account *who = &d->l.accounts[staker];
    st = account_get(d, who->address, &acct);
    if (st != VEIL_OK) goto out;
    node_public_tx *pub = calloc(1, sizeof *pub);
    ENSURE_OUT(pub != NULL, VEIL_ERR_NOMEM);
    pub->kind = NODE_PUBLIC_UNBOND;
    memcpy(pub->account, who->address, 32);
    pub->nonce = acct->nonce;
    pub->amount = acct->bonded < 500000000 ? acct->bonded : 500000000;
    coins(c1, sizeof c1, pub->amount);
    step("%s unbonds %s of her stake (public tx, unbonding period %llu s)", who->name, c1,
         (unsigned long long)d->params->unbonding_period);
    veil__node__account__free_unpacked(acct, NULL);
    acct = NULL;
    st = node_public_tx_sign(pub, d->l.chain_id, who->sk);
    if (st == VEIL_OK) st = node_public_tx_encode(pub, tx, sizeof tx, &tx_len);
    free(pub);
    if (st == VEIL_OK) st = broadcast(d, tx, tx_len, &height);
    if (st != VEIL_OK) goto out;

    /* ... and withdraws it once the unbonding period is over. */
    st = account_get(d, who->address, &acct);
    if (st != VEIL_OK) goto out;
    uint64_t unbonded_from = acct->unbonded_from;
    veil__node__account__free_unpacked(acct, NULL);
    acct = NULL;
    step("waiting for %s's stake to unbond (until block time %llu)", who->name,
         (unsigned long long)unbonded_from);
    for (int i = 0; i < 120; i++) {
        st = chain_tip(d, &height, &time);
        if (st != VEIL_OK || time >= unbonded_from) break;
        sleep(1);
    }
    if (st == VEIL_OK && time < unbonded_from) {
        fprintf(stderr, "veil: demo: the chain's time did not reach %llu\n",
                (unsigned long long)unbonded_from);
        st = VEIL_ERR_TIMEOUT;
    }
    if (st == VEIL_OK) st = withdraw_all(d, staker);
    if (st != VEIL_OK) goto out;

    step("final public state (what every node sees; amounts of outputs stay confidential)");
    for (size_t i = 0; i < DEVNET_ACCOUNTS; i++) {
        st = account_get(d, d->l.accounts[i].address, &acct);
        if (st != VEIL_OK) goto out;
        coins(c1, sizeof c1, acct->bonded);
        coins(c2, sizeof c2, acct->unbonded);
        printf("    %-6s bonded %14s  unbonded %14s  nonce %llu\n", d->l.accounts[i].name, c1, c2,
               (unsigned long long)acct->nonce);
        veil__node__account__free_unpacked(acct, NULL);
        acct = NULL;
    }
    printf("    the demo's unspent outputs: %s\n", d->state_file);
    printf("\n");
    devnet_print_status(&d->l, false);
out:
    free(b);
    veil__node__account__free_unpacked(acct, NULL);
    return st;
}

int devnet_demo(int argc, char **argv)
{
    static const struct option opts[] = {{"home", required_argument, NULL, 'H'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *home = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "H:h", opts, NULL)) != -1) {
        switch (c) {
        case 'H':
            home = optarg;
            break;
        case 'h':
            printf("usage: veil devnet demo --home DIR\n\n"
                   "Runs the demo scenario against the devnet running in DIR: alice withdraws\n"
                   "her unbonded stake, pays bob confidentially, bob bonds what he received,\n"
                   "carol unbonds and, once unbonded, withdraws. Prints each step and the final\n"
                   "public state; exits non-zero at the first refusal.\n");
            return 0;
        default:
            return cli_usage_error("devnet demo: bad option");
        }
    }
    if (home == NULL || optind != argc) return cli_usage_error("devnet demo needs --home DIR");
    demo d = {0};
    veil_status st = veil_crypto_init();
    if (st == VEIL_OK && sodium_init() < 0) st = VEIL_ERR_CRYPTO;
    if (st == VEIL_OK) st = devnet_layout_load(&d.l, home);
    if (st == VEIL_OK) st = veil_path_join(d.state_file, sizeof d.state_file, home, "demo-state.json");
    if (st != VEIL_OK) return cli_fail(home, st);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    char img[PATH_MAX], endpoint[PATH_MAX + 8];
    snprintf(endpoint, sizeof endpoint, "ipc://%s", d.l.tve_sock);
    st = veil_enclave_image_path(TQE_ENCLAVE_IMAGE, img, sizeof img);
    if (st == VEIL_OK) st = tee_platform_open(d.l.platform, &d.platform);
    if (st == VEIL_OK) st = tee_enclave_load(d.platform, img, NULL, 0, &d.tqe);
    if (st == VEIL_OK) st = tve_client_open(endpoint, 30000, &d.tve);
    if (st == VEIL_OK) st = tqe_handoff(d.tqe, d.tve); /* the TQE<->TVE channel key */
    if (st == VEIL_OK) {
        printf("demo against the devnet in %s (chain %s)\n", home, d.l.chain_id);
        st = run(&d);
    } else {
        cli_fail("demo set-up", st);
    }
    if (st == VEIL_OK) printf("\ndemo finished: every step committed\n");
    tve_client_close(d.tve);
    tee_enclave_destroy(d.tqe);
    tee_platform_close(d.platform);
    if (d.params != NULL) veil__node__params__free_unpacked(d.params, NULL);
    curl_global_cleanup();
    return st == VEIL_OK ? 0 : 1;
}
