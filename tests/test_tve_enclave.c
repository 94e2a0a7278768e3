/* The TVE enclave through its ecalls, in-process, with the host's store played by an
 * in-memory map behind the ocalls. The daemon around it is tested in test_tve.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "support/tx_builder.h"
#include "tee/sim/sim_host.h"
#include "tee/tee.h"
#include "trusted/tqe/tqe_abi.h"
#include "trusted/tve/tve_abi.h"
#include "trusted/tve/tve_channel.h"
#include "trusted/tx/tx.h"
#include "veil/tve_enclave.pb-c.h"

#define TVE_IMG VEIL_BUILD_DIR "/enclaves/veil_tve_enclave.signed.so"
#define TQE_IMG VEIL_BUILD_DIR "/enclaves/veil_tqe_enclave_test.signed.so"
#define OTHER_IMG VEIL_BUILD_DIR "/enclaves/test_enclave.signed.so"
#define CHAIN "veil-test"

/* --- the host's store, in memory ------------------------------------------------ */
typedef struct stored_tx {
    uint8_t txid[32];
    uint8_t *sealed;
    size_t len;
} stored_tx;

static stored_tx g_store[64];
static size_t g_n_store;
static int g_ocalls;

static veil_status o_get_sealed(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                                size_t out_cap, size_t *out_len)
{
    (void)ctx;
    g_ocalls++;
    ENSURE(in_len == 32, VEIL_ERR_MALFORMED);
    *out_len = 0;
    for (size_t i = 0; i < g_n_store; i++) {
        if (memcmp(g_store[i].txid, in, 32) != 0) continue;
        ENSURE(g_store[i].len <= out_cap, VEIL_ERR_BUFFER_TOO_SMALL);
        memcpy(out, g_store[i].sealed, g_store[i].len);
        *out_len = g_store[i].len;
    }
    return VEIL_OK;
}

static const tee_ocall_fn g_ocall_fns[] = {o_get_sealed};
static const tee_ocall_table g_ocall_table = {g_ocall_fns, 1, NULL};

static void store_put(const uint8_t txid[32], const uint8_t *sealed, size_t len)
{
    assert_true(g_n_store < 64);
    memcpy(g_store[g_n_store].txid, txid, 32);
    g_store[g_n_store].sealed = malloc(len);
    memcpy(g_store[g_n_store].sealed, sealed, len);
    g_store[g_n_store].len = len;
    g_n_store++;
}

/* --- fixtures ------------------------------------------------------------------- */
static char g_dir[64];
static tee_platform *g_p;
static tee_enclave *g_tve, *g_tqe;

/* The TQE<->TVE hand-off, the hosts' part done here: target info, reports, keys. */
static veil_status handoff(tee_enclave *tqe, tee_enclave *tve)
{
    tee_target_info t;
    tee_enclave_target_info(tve, &t);
    uint8_t target[40], begin[TEE_REPORT_WIRE_LEN + TVE_HANDOFF_PUB_LEN],
        end[TVE_HANDOFF_BOX_LEN + TEE_REPORT_WIRE_LEN];
    memcpy(target, t.mrenclave, 32);
    veil_put_u64(target + 32, t.attributes);
    size_t n;
    TRY(tee_enclave_call(tqe, TQE_E_HANDOFF_BEGIN, target, sizeof target, begin, sizeof begin,
                         &n));
    TRY(tee_enclave_call(tve, TVE_E_HANDOFF, begin, sizeof begin, end, sizeof end, &n));
    return tee_enclave_call(tqe, TQE_E_HANDOFF_END, end, sizeof end, NULL, 0, &n);
}

static int setup(void **state)
{
    (void)state;
    char plat[128], root[128];
    snprintf(g_dir, sizeof g_dir, "/tmp/veil-test-tvee-XXXXXX");
    if (mkdtemp(g_dir) == NULL) return -1;
    snprintf(plat, sizeof plat, "%s/p", g_dir);
    snprintf(root, sizeof root, "%s/r", g_dir);
    if (sim_platform_provision(plat, root, 1, false) != VEIL_OK) return -1;
    if (tee_platform_open(plat, &g_p) != VEIL_OK) return -1;
    if (tee_enclave_load(g_p, TVE_IMG, &g_ocall_table, 0, &g_tve) != VEIL_OK) return -1;
    if (tee_enclave_load(g_p, TQE_IMG, NULL, 0, &g_tqe) != VEIL_OK) return -1;
    return handoff(g_tqe, g_tve) == VEIL_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tee_enclave_destroy(g_tve);
    tee_enclave_destroy(g_tqe);
    tee_platform_close(g_p);
    for (size_t i = 0; i < g_n_store; i++) free(g_store[i].sealed);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* --- message helpers ------------------------------------------------------------ */
static uint8_t g_out[64 * 1024];
static size_t g_out_len;

static veil_status call_msg(tee_enclave *e, uint32_t ecall, const ProtobufCMessage *m)
{
    uint8_t in[64 * 1024];
    size_t n = m != NULL ? protobuf_c_message_pack(m, in) : 0;
    return tee_enclave_call(e, ecall, in, n, g_out, sizeof g_out, &g_out_len);
}

static Veil__Tve__ChainParams g_params = VEIL__TVE__CHAIN_PARAMS__INIT;
static void params_init(void)
{
    g_params.chain_id = (char *)CHAIN;
    g_params.block_time = 2000;
    g_params.fee_base = 0;
    g_params.fee_per_byte = 0;
    g_params.fee_rule = VEIL__TVE__FEE_RULE__FEE_RULE_AT_LEAST;
}

static uint8_t sk_account[32], sk_x[32], sk_y[32], sk_view[32];
static uint8_t pk_account[32], pk_x[32], pk_y[32], pk_view[32];
static uint64_t g_epoch;
static uint8_t g_sealed_key[256];
static size_t g_sealed_key_len;

static void keys_init(void)
{
    memset(sk_account, 0x11, 32);
    memset(sk_x, 0x22, 32);
    memset(sk_y, 0x33, 32);
    memset(sk_view, 0x44, 32);
    txb_pubkey(pk_account, sk_account);
    txb_pubkey(pk_x, sk_x);
    txb_pubkey(pk_y, sk_y);
    txb_pubkey(pk_view, sk_view);
}

static void payload_build(txb *b)
{
    txb_build_body(b);
    txb_build_payload(b);
}

/* Seals a payload in the TQE with the chain state (g_params, account, spent flags: NULL
 * all unspent) and asks the TVE to encrypt it. */
static veil_status encrypt_spent(const txb *b, uint64_t fee, Veil__Tve__AccountState *account,
                                 const bool *spent, uint8_t *wire, size_t *wire_len)
{
    uint8_t sealed[20000], order[20000];
    size_t sealed_len,
        order_len = txb_order(b, fee, &g_params, account, spent, order, sizeof order);
    assert_int_equal(tee_enclave_call(g_tqe, TQE_E_SEAL_PAYLOAD, order, order_len, sealed,
                                      sizeof sealed, &sealed_len),
                     VEIL_OK);
    Veil__Tve__Enclave__EncryptCall c = VEIL__TVE__ENCLAVE__ENCRYPT_CALL__INIT;
    c.sealed_order.data = sealed;
    c.sealed_order.len = sealed_len;
    veil_status st = call_msg(g_tve, TVE_E_ENCRYPT, &c.base);
    if (st != VEIL_OK) return st;
    Veil__Tve__Enclave__EncryptResult *r =
        veil__tve__enclave__encrypt_result__unpack(NULL, g_out_len, g_out);
    assert_non_null(r);
    memcpy(wire, r->tx.data, r->tx.len);
    *wire_len = r->tx.len;
    veil__tve__enclave__encrypt_result__free_unpacked(r, NULL);
    return VEIL_OK;
}

static veil_status encrypt(const txb *b, uint64_t fee, Veil__Tve__AccountState *account,
                           uint8_t *wire, size_t *wire_len)
{
    return encrypt_spent(b, fee, account, NULL, wire, wire_len);
}

/* Seals an order (any bytes) in the TQE and asks the TVE to encrypt it. */
static veil_status encrypt_order(const uint8_t *order, size_t order_len)
{
    uint8_t sealed[20000];
    size_t sealed_len;
    assert_int_equal(tee_enclave_call(g_tqe, TQE_E_SEAL_PAYLOAD, order, order_len, sealed,
                                      sizeof sealed, &sealed_len),
                     VEIL_OK);
    Veil__Tve__Enclave__EncryptCall c = VEIL__TVE__ENCLAVE__ENCRYPT_CALL__INIT;
    c.sealed_order.data = sealed;
    c.sealed_order.len = sealed_len;
    return call_msg(g_tve, TVE_E_ENCRYPT, &c.base);
}

/* Verifies a wire tx; on success, fills the outcome and (deliver) stores the sealed tx. */
static veil_status verify(Veil__Tve__Mode mode, uint64_t height, const uint8_t *wire,
                          size_t wire_len, const protobuf_c_boolean *spent, size_t n_spent,
                          Veil__Tve__AccountState *account, Veil__Tve__TxOutcome *outcome_copy)
{
    Veil__Tve__Enclave__VerifyCall c = VEIL__TVE__ENCLAVE__VERIFY_CALL__INIT;
    c.mode = mode;
    c.height = height;
    c.params = &g_params;
    c.tx.data = (uint8_t *)wire;
    c.tx.len = wire_len;
    c.input_spent = (protobuf_c_boolean *)spent;
    c.n_input_spent = n_spent;
    c.account = account;
    veil_status st = call_msg(g_tve, TVE_E_VERIFY, &c.base);
    if (st != VEIL_OK) return st;
    Veil__Tve__Enclave__VerifyResult *r =
        veil__tve__enclave__verify_result__unpack(NULL, g_out_len, g_out);
    assert_non_null(r);
    assert_non_null(r->outcome);
    assert_int_equal(r->outcome->txid.len, 32);
    if (mode == VEIL__TVE__MODE__DELIVER) {
        assert_true(r->sealed_tx.len > TEE_SEAL_OVERHEAD_MAX);
        store_put(r->outcome->txid.data, r->sealed_tx.data, r->sealed_tx.len);
    } else {
        assert_int_equal(r->sealed_tx.len, 0);
    }
    if (outcome_copy != NULL) {
        *outcome_copy = *r->outcome;
        outcome_copy->txid.data = NULL;
        outcome_copy->account.data = NULL;
    }
    veil__tve__enclave__verify_result__free_unpacked(r, NULL);
    return VEIL_OK;
}

/* --- tests ---------------------------------------------------------------------- */
static void test_key_generation(void **state)
{
    (void)state;
    params_init();
    keys_init();
    Veil__Tve__Enclave__GenerateKeyCall g = VEIL__TVE__ENCLAVE__GENERATE_KEY_CALL__INIT;
    assert_int_equal(call_msg(g_tve, TVE_E_STATUS, NULL), VEIL_OK);
    Veil__Tve__Enclave__StatusResult *s =
        veil__tve__enclave__status_result__unpack(NULL, g_out_len, g_out);
    assert_false(s->has_key);
    veil__tve__enclave__status_result__free_unpacked(s, NULL);

    g.epoch = 0;
    assert_int_equal(call_msg(g_tve, TVE_E_GENERATE_KEY, &g.base), VEIL_OK);
    Veil__Tve__Enclave__KeyResult *k =
        veil__tve__enclave__key_result__unpack(NULL, g_out_len, g_out);
    assert_non_null(k);
    assert_int_equal(k->sealed_key.len, TEE_SEAL_OVERHEAD_MAX + 32 + TEE_COUNTER_ID_LEN);
    assert_int_equal(k->key_commitment.len, 32);
    uint8_t sealed[256], commit[32];
    size_t sealed_len = k->sealed_key.len;
    memcpy(sealed, k->sealed_key.data, sealed_len);
    memcpy(commit, k->key_commitment.data, 32);
    veil__tve__enclave__key_result__free_unpacked(k, NULL);
    /* One key per epoch. */
    assert_int_equal(call_msg(g_tve, TVE_E_GENERATE_KEY, &g.base), VEIL_ERR_EXISTS);

    assert_int_equal(call_msg(g_tve, TVE_E_STATUS, NULL), VEIL_OK);
    s = veil__tve__enclave__status_result__unpack(NULL, g_out_len, g_out);
    assert_true(s->has_key);
    assert_int_equal(s->key_epoch, 0);
    assert_memory_equal(s->key_commitment.data, commit, 32);
    veil__tve__enclave__status_result__free_unpacked(s, NULL);

    /* Another instance (a restart) loads the sealed key and holds the same one. */
    tee_enclave *again;
    assert_int_equal(tee_enclave_load(g_p, TVE_IMG, &g_ocall_table, 0, &again), VEIL_OK);
    Veil__Tve__Enclave__LoadKeyCall l = VEIL__TVE__ENCLAVE__LOAD_KEY_CALL__INIT;
    l.epoch = 1; /* sealed for epoch 0: the AAD binds the epoch */
    l.sealed_key.data = sealed;
    l.sealed_key.len = sealed_len;
    assert_int_equal(call_msg(again, TVE_E_LOAD_KEY, &l.base), VEIL_ERR_TEE_UNSEAL);
    l.epoch = 0;
    sealed[sealed_len - 1] ^= 1;
    assert_int_equal(call_msg(again, TVE_E_LOAD_KEY, &l.base), VEIL_ERR_TEE_UNSEAL);
    sealed[sealed_len - 1] ^= 1;
    assert_int_equal(call_msg(again, TVE_E_LOAD_KEY, &l.base), VEIL_OK);
    k = veil__tve__enclave__key_result__unpack(NULL, g_out_len, g_out);
    assert_memory_equal(k->key_commitment.data, commit, 32);
    veil__tve__enclave__key_result__free_unpacked(k, NULL);
    tee_enclave_destroy(again);
    g_epoch = 0;
    memcpy(g_sealed_key, sealed, sealed_len);
    g_sealed_key_len = sealed_len;
}

/* Item 8 of the attack review (suspected): an enclave out of memory while decoding came
 * out as 700/208, codes a validator records as a tx's verdict, so a validator short of
 * memory would fork from the others. Sweeping the enclave's memory budget across every
 * allocation of the verify path, a valid tx gets either its verdict (ok) or a local
 * failure, never a verdict code. */
static void test_item8_out_of_memory_is_not_a_verdict(void **state)
{
    (void)state;
    uint8_t wire[VEIL_TX_MAX_WIRE_LEN];
    size_t wire_len;
    Veil__Tve__AccountState acct = VEIL__TVE__ACCOUNT_STATE__INIT;
    acct.address.data = pk_account;
    acct.address.len = 32;
    acct.unbonded = 1;
    acct.unbonded_from = 1000;
    txb *w = txb_new(VEIL_TX_KIND_WITHDRAW, CHAIN);
    memcpy(w->account, pk_account, 32);
    txb_output(w, pk_x, 1, 1000);
    txb_view_key(w, pk_view);
    txb_signer(w, sk_account);
    payload_build(w);
    assert_int_equal(encrypt(w, 0, &acct, wire, &wire_len), VEIL_OK);
    txb_free(w);

    Veil__Tve__Enclave__VerifyCall c = VEIL__TVE__ENCLAVE__VERIFY_CALL__INIT;
    c.mode = VEIL__TVE__MODE__CHECK;
    c.height = 1;
    c.params = &g_params;
    c.tx.data = wire;
    c.tx.len = wire_len;
    c.account = &acct;
    Veil__Tve__Enclave__LoadKeyCall l = VEIL__TVE__ENCLAVE__LOAD_KEY_CALL__INIT;
    l.sealed_key.data = g_sealed_key;
    l.sealed_key.len = g_sealed_key_len;
    size_t ok = 0, short_of_memory = 0;
    for (size_t budget = 8 * 1024; budget <= 320 * 1024; budget += 2 * 1024) {
        tee_enclave *e;
        if (tee_enclave_load(g_p, TVE_IMG, &g_ocall_table, budget, &e) != VEIL_OK) continue;
        if (call_msg(e, TVE_E_LOAD_KEY, &l.base) == VEIL_OK) {
            veil_status st = call_msg(e, TVE_E_VERIFY, &c.base);
            if (st == VEIL_OK)
                ok++;
            else if (veil_status_is_tx_verdict(st))
                fail_msg("budget %zu: out of memory became verdict %s", budget,
                         veil_status_name(st));
            else
                short_of_memory++;
        }
        tee_enclave_destroy(e);
    }
    /* The sweep reached both sides: budgets too small to verify, and enough. */
    assert_true(short_of_memory > 0);
    assert_true(ok > 0);
}

/* The original design's scenario: withdraw 1 unit to an output with a view key, the
 * block's bloom filter names the key, a transfer spending that output is accepted and
 * one with a zero-value output is refused. */
static void test_original_scenario(void **state)
{
    (void)state;
    uint8_t wire[VEIL_TX_MAX_WIRE_LEN], wire2[VEIL_TX_MAX_WIRE_LEN];
    size_t wire_len, wire2_len;
    Veil__Tve__AccountState acct = VEIL__TVE__ACCOUNT_STATE__INIT;
    acct.address.data = pk_account;
    acct.address.len = 32;
    acct.unbonded = 1;
    acct.unbonded_from = 1000;

    txb *w = txb_new(VEIL_TX_KIND_WITHDRAW, CHAIN);
    memcpy(w->account, pk_account, 32);
    w->nonce = 0;
    txb_output(w, pk_x, 1, 1000);
    txb_view_key(w, pk_view);
    txb_signer(w, sk_account);
    payload_build(w);
    assert_int_equal(encrypt(w, 0, &acct, wire, &wire_len), VEIL_OK);

    Veil__Tve__TxOutcome o;
    assert_int_equal(verify(VEIL__TVE__MODE__CHECK, 1, wire, wire_len, NULL, 0, &acct, &o), VEIL_OK);
    assert_int_equal(o.kind, VEIL__TX__TX_KIND__TX_KIND_WITHDRAW);
    assert_int_equal(o.amount, 1);
    assert_int_equal(o.output_count, 1);
    assert_int_equal(verify(VEIL__TVE__MODE__DELIVER, 1, wire, wire_len, NULL, 0, &acct, &o), VEIL_OK);

    Veil__Tve__Enclave__EndBlockCall eb = VEIL__TVE__ENCLAVE__END_BLOCK_CALL__INIT;
    eb.height = 1;
    assert_int_equal(call_msg(g_tve, TVE_E_END_BLOCK, &eb.base), VEIL_OK);
    Veil__Tve__Enclave__EndBlockResult *r =
        veil__tve__enclave__end_block_result__unpack(NULL, g_out_len, g_out);
    veil_bloom bloom;
    assert_int_equal(r->bloom.len, VEIL_BLOOM_BYTES);
    memcpy(bloom.bits, r->bloom.data, VEIL_BLOOM_BYTES);
    veil__tve__enclave__end_block_result__free_unpacked(r, NULL);
    assert_false(veil_bloom_is_empty(&bloom));
    assert_true(veil_bloom_contains(&bloom, pk_view));
    /* Read once: the next block starts empty. */
    eb.height = 2;
    assert_int_equal(call_msg(g_tve, TVE_E_END_BLOCK, &eb.base), VEIL_OK);
    r = veil__tve__enclave__end_block_result__unpack(NULL, g_out_len, g_out);
    memcpy(bloom.bits, r->bloom.data, VEIL_BLOOM_BYTES);
    veil__tve__enclave__end_block_result__free_unpacked(r, NULL);
    assert_true(veil_bloom_is_empty(&bloom));

    /* Spend the withdrawn output: accepted. */
    txb *t = txb_new(VEIL_TX_KIND_TRANSFER, CHAIN);
    txb_input(t, w->txid, 0, sk_x);
    txb_output(t, pk_y, 1, 0);
    payload_build(t);
    int before = g_ocalls;
    /* The order's spent flag is the TVE's only source: an input it says is spent is
     * refused (the host is not asked). */
    const bool is_spent = true;
    assert_int_equal(encrypt_spent(t, 0, NULL, &is_spent, wire2, &wire2_len),
                     VEIL_ERR_TX_INPUT_SPENT);
    assert_int_equal(encrypt(t, 0, NULL, wire2, &wire2_len), VEIL_OK);
    assert_true(g_ocalls > before); /* the input came from the host's store */
    /* An order without chain parameters, or without one spent flag per input (an older
     * TQE's, or a forged one), is not judged. */
    uint8_t order[20000];
    size_t ol = txb_order(t, 0, NULL, NULL, NULL, order, sizeof order);
    assert_int_equal(encrypt_order(order, ol), VEIL_ERR_DECODE);
    {
        Veil__Tve__EncryptOrder *eo = veil__tve__encrypt_order__unpack(
            NULL, txb_order(t, 0, &g_params, NULL, NULL, order, sizeof order), order);
        assert_non_null(eo);
        eo->n_input_spent = 0;
        ol = veil__tve__encrypt_order__pack(eo, order);
        assert_int_equal(encrypt_order(order, ol), VEIL_ERR_DECODE);
        protobuf_c_boolean two[2] = {0, 0}, *own = eo->input_spent;
        eo->n_input_spent = 2;
        eo->input_spent = two;
        ol = veil__tve__encrypt_order__pack(eo, order);
        eo->input_spent = own; /* unpack's own array, freed with the message */
        veil__tve__encrypt_order__free_unpacked(eo, NULL);
        assert_int_equal(encrypt_order(order, ol), VEIL_ERR_DECODE);
    }
    protobuf_c_boolean unspent[1] = {0}, spent[1] = {1};
    assert_int_equal(verify(VEIL__TVE__MODE__CHECK, 3, wire2, wire2_len, unspent, 1, NULL, &o),
                     VEIL_OK);
    assert_int_equal(o.kind, VEIL__TX__TX_KIND__TX_KIND_TRANSFER);
    /* Public spent flags are honoured. */
    assert_int_equal(verify(VEIL__TVE__MODE__CHECK, 3, wire2, wire2_len, spent, 1, NULL, NULL),
                     VEIL_ERR_TX_INPUT_SPENT);

    /* A zero-value output: refused at encryption. */
    txb *z = txb_new(VEIL_TX_KIND_TRANSFER, CHAIN);
    txb_input(z, w->txid, 0, sk_x);
    txb_output(z, pk_y, 1, 0);
    txb_output(z, pk_y, 0, 0);
    payload_build(z);
    assert_int_equal(encrypt(z, 0, NULL, wire2, &wire2_len), VEIL_ERR_TX_ZERO_VALUE);

    /* The stored withdraw cannot be mistaken for another tx's data. */
    txb *u = txb_new(VEIL_TX_KIND_TRANSFER, CHAIN);
    uint8_t unknown[32];
    memset(unknown, 0x99, 32);
    txb_input(u, unknown, 0, sk_x);
    txb_output(u, pk_y, 1, 0);
    payload_build(u);
    assert_int_equal(encrypt(u, 0, NULL, wire2, &wire2_len), VEIL_ERR_TX_INPUT_NOT_FOUND);
    txb *big = txb_new(VEIL_TX_KIND_TRANSFER, CHAIN);
    txb_input(big, w->txid, 7, sk_x);
    txb_output(big, pk_y, 1, 0);
    payload_build(big);
    assert_int_equal(encrypt(big, 0, NULL, wire2, &wire2_len),
                     VEIL_ERR_TX_OUTPUT_INDEX_OUT_OF_RANGE);
    txb_free(w);
    txb_free(t);
    txb_free(z);
    txb_free(u);
    txb_free(big);
}

/* Seals an order of b with these params and account (spent flags: all unspent) and asks
 * the TVE to encrypt it. */
static veil_status encrypt_state(const txb *b, uint64_t fee, const Veil__Tve__ChainParams *params,
                                 const Veil__Tve__AccountState *account)
{
    uint8_t order[20000];
    return encrypt_order(order, txb_order(b, fee, params, account, NULL, order, sizeof order));
}

/* The parameters and account the TVE judges an encrypt against are the order's: the
 * same withdraw is accepted under the honest state and refused, each with its rule's
 * code, under an order whose state says otherwise. */
static void test_order_state_is_the_only_source(void **state)
{
    (void)state;
    Veil__Tve__AccountState acct = VEIL__TVE__ACCOUNT_STATE__INIT, lie;
    acct.address.data = pk_account;
    acct.address.len = 32;
    acct.unbonded = 1;
    acct.unbonded_from = 1000;
    txb *w = txb_new(VEIL_TX_KIND_WITHDRAW, CHAIN);
    memcpy(w->account, pk_account, 32);
    txb_output(w, pk_x, 1, 1000);
    txb_signer(w, sk_account);
    payload_build(w);
    assert_int_equal(encrypt_state(w, 0, &g_params, &acct), VEIL_OK);

    /* The account. */
    assert_int_equal(encrypt_state(w, 0, &g_params, NULL), VEIL_ERR_TX_ACCOUNT_NOT_FOUND);
    lie = acct;
    lie.unbonded = 2;
    assert_int_equal(encrypt_state(w, 0, &g_params, &lie), VEIL_ERR_TX_WITHDRAW_AMOUNT_MISMATCH);
    lie = acct;
    lie.nonce = 1;
    assert_int_equal(encrypt_state(w, 0, &g_params, &lie), VEIL_ERR_TX_WRONG_NONCE);
    lie = acct;
    lie.jailed_until = 3000;
    assert_int_equal(encrypt_state(w, 0, &g_params, &lie), VEIL_ERR_TX_ACCOUNT_JAILED);

    /* The parameters. */
    Veil__Tve__ChainParams p = g_params;
    p.chain_id = (char *)"another-chain";
    assert_int_equal(encrypt_state(w, 0, &p, &acct), VEIL_ERR_TX_WRONG_CHAIN_ID);
    p = g_params;
    p.block_time = 999; /* before the stake unbonds */
    assert_int_equal(encrypt_state(w, 0, &p, &acct), VEIL_ERR_TX_NOT_YET_UNBONDED);
    p = g_params;
    p.fee_base = 5;
    p.fee_rule = VEIL__TVE__FEE_RULE__FEE_RULE_EXACT;
    assert_int_equal(encrypt_state(w, 0, &p, &acct), VEIL_ERR_TX_FEE_NOT_EXACT);
    p.fee_rule = VEIL__TVE__FEE_RULE__FEE_RULE_AT_LEAST;
    assert_int_equal(encrypt_state(w, 0, &p, &acct), VEIL_ERR_TX_FEE_TOO_LOW);
    /* ... and the honest state is still accepted. */
    assert_int_equal(encrypt_state(w, 0, &g_params, &acct), VEIL_OK);
    txb_free(w);
}

static void test_wire_tampering(void **state)
{
    (void)state;
    uint8_t wire[VEIL_TX_MAX_WIRE_LEN];
    size_t wire_len;
    Veil__Tve__AccountState acct = VEIL__TVE__ACCOUNT_STATE__INIT;
    acct.address.data = pk_account;
    acct.address.len = 32;
    acct.unbonded = 5;
    acct.unbonded_from = 1000;
    acct.nonce = 3;
    txb *w = txb_new(VEIL_TX_KIND_WITHDRAW, CHAIN);
    memcpy(w->account, pk_account, 32);
    w->nonce = 3;
    txb_output(w, pk_x, 4, 1000);
    txb_signer(w, sk_account);
    payload_build(w);
    assert_int_equal(encrypt(w, 1, &acct, wire, &wire_len), VEIL_OK);
    assert_int_equal(verify(VEIL__TVE__MODE__CHECK, 1, wire, wire_len, NULL, 0, &acct, NULL),
                     VEIL_OK);

    /* Re-encode the wire with one field changed. */
    Veil__Tx__ConfidentialTx *m = veil__tx__confidential_tx__unpack(NULL, wire_len, wire);
    assert_non_null(m);
    uint8_t bad[VEIL_TX_MAX_WIRE_LEN];
    size_t n;

    m->key_epoch = 7;
    n = veil__tx__confidential_tx__pack(m, bad);
    assert_int_equal(verify(VEIL__TVE__MODE__CHECK, 1, bad, n, NULL, 0, &acct, NULL),
                     VEIL_ERR_TX_UNKNOWN_KEY_EPOCH);
    m->key_epoch = 0;
    m->ciphertext.data[5] ^= 0x01;
    n = veil__tx__confidential_tx__pack(m, bad);
    assert_int_equal(verify(VEIL__TVE__MODE__CHECK, 1, bad, n, NULL, 0, &acct, NULL),
                     VEIL_ERR_TX_DECRYPT_FAILED);
    m->ciphertext.data[5] ^= 0x01;
    m->nonce.data[0] ^= 0x01;
    n = veil__tx__confidential_tx__pack(m, bad);
    assert_int_equal(verify(VEIL__TVE__MODE__CHECK, 1, bad, n, NULL, 0, &acct, NULL),
                     VEIL_ERR_TX_DECRYPT_FAILED);
    m->nonce.data[0] ^= 0x01;
    m->txid.data[0] ^= 0x01; /* the txid is the AAD */
    n = veil__tx__confidential_tx__pack(m, bad);
    assert_int_equal(verify(VEIL__TVE__MODE__CHECK, 1, bad, n, NULL, 0, &acct, NULL),
                     VEIL_ERR_TX_DECRYPT_FAILED);
    m->txid.data[0] ^= 0x01;
    m->fee = 2; /* the fee is authenticated: another fee cannot probe the hidden sums */
    n = veil__tx__confidential_tx__pack(m, bad);
    assert_int_equal(verify(VEIL__TVE__MODE__CHECK, 1, bad, n, NULL, 0, &acct, NULL),
                     VEIL_ERR_TX_DECRYPT_FAILED);
    veil__tx__confidential_tx__free_unpacked(m, NULL);

    /* Account state the node passes decides: wrong nonce, jailed, not yet unbonded. */
    acct.nonce = 4;
    assert_int_equal(verify(VEIL__TVE__MODE__CHECK, 1, wire, wire_len, NULL, 0, &acct, NULL),
                     VEIL_ERR_TX_WRONG_NONCE);
    acct.nonce = 3;
    acct.jailed_until = 5000;
    assert_int_equal(verify(VEIL__TVE__MODE__CHECK, 1, wire, wire_len, NULL, 0, &acct, NULL),
                     VEIL_ERR_TX_ACCOUNT_JAILED);
    acct.jailed_until = 0;
    assert_int_equal(verify(VEIL__TVE__MODE__CHECK, 1, wire, wire_len, NULL, 0, NULL, NULL),
                     VEIL_ERR_TX_ACCOUNT_NOT_FOUND);
    txb_free(w);
}

static void test_hostile_ecall_input(void **state)
{
    (void)state;
    uint8_t junk[64];
    memset(junk, 0xff, sizeof junk);
    for (uint32_t e = TVE_E_GENERATE_KEY; e <= TVE_E_ENCRYPT; e++)
        assert_int_equal(tee_enclave_call(g_tve, e, junk, sizeof junk, g_out, sizeof g_out,
                                          &g_out_len),
                         VEIL_ERR_DECODE);
    assert_int_equal(tee_enclave_call(g_tve, TVE_E_STATUS, junk, 1, g_out, sizeof g_out, &g_out_len),
                     VEIL_ERR_TRAILING);
    assert_int_equal(tee_enclave_call(g_tve, 99, NULL, 0, g_out, sizeof g_out, &g_out_len),
                     VEIL_ERR_TEE_NO_ECALL);
    /* A verify call without chain parameters, and with an unknown mode. */
    Veil__Tve__Enclave__VerifyCall c = VEIL__TVE__ENCLAVE__VERIFY_CALL__INIT;
    c.mode = VEIL__TVE__MODE__CHECK;
    assert_int_equal(call_msg(g_tve, TVE_E_VERIFY, &c.base), VEIL_ERR_DECODE);
    c.params = &g_params;
    c.mode = 9;
    assert_int_equal(call_msg(g_tve, TVE_E_VERIFY, &c.base), VEIL_ERR_DECODE);
    /* A payload sealed by an enclave of another product/signer is refused. */
    tee_enclave *other;
    assert_int_equal(tee_enclave_load(g_p, OTHER_IMG, NULL, 0, &other), VEIL_OK);
    uint8_t in[64] = {TEE_POLICY_MRSIGNER, 0, 0, 0, 0, 'x'}, sealed[256];
    size_t sealed_len;
    assert_int_equal(tee_enclave_call(other, 1 /* TE_SEAL */, in, 6, sealed, sizeof sealed,
                                      &sealed_len),
                     VEIL_OK);
    Veil__Tve__Enclave__EncryptCall ec = VEIL__TVE__ENCLAVE__ENCRYPT_CALL__INIT;
    ec.sealed_order.data = sealed;
    ec.sealed_order.len = sealed_len;
    assert_int_equal(call_msg(g_tve, TVE_E_ENCRYPT, &ec.base), VEIL_ERR_HANDOFF_CHANNEL);
    tee_enclave_destroy(other);
}

/* The production TQE image has no host-callable seal: its orders come only from wallets
 * through the protocol core. (The tests use a test build that adds ecall 0.) */
static void test_production_tqe_has_no_seal_ecall(void **state)
{
    (void)state;
    tee_enclave *prod;
    assert_int_equal(tee_enclave_load(g_p, VEIL_BUILD_DIR "/enclaves/veil_tqe_enclave.signed.so",
                                      NULL, 0, &prod),
                     VEIL_OK);
    uint8_t in[8] = {0}, out[64];
    size_t n = 0;
    assert_int_equal(tee_enclave_call(prod, TQE_E_SEAL_PAYLOAD, in, sizeof in, out, sizeof out, &n),
                     VEIL_ERR_TEE_NO_ECALL);
    /* The test build has it (whatever it answers to these 8 bytes, it is not "no ecall"). */
    assert_int_not_equal(tee_enclave_call(g_tqe, TQE_E_SEAL_PAYLOAD, in, sizeof in, out, sizeof out,
                                          &n),
                         VEIL_ERR_TEE_NO_ECALL);
    tee_enclave_destroy(prod);
}

/* Item 13 of the attack review: the TQE and the TVE shared signer and product id, so
 * the network-facing TQE derived the TVE's sealing keys (epoch keys, stored txs). Now
 * the TQE has its own product id and learns only the channel key, by a hand-off each
 * side checks by local attestation; every forged step is refused with its own code. */
static void test_item13_separate_products_and_handoff(void **state)
{
    (void)state;
    tee_identity tve_id, tqe_id;
    tee_enclave_identity(g_tve, &tve_id);
    tee_enclave_identity(g_tqe, &tqe_id);
    assert_memory_equal(tve_id.mrsigner, tqe_id.mrsigner, 32);
    assert_int_equal(tve_id.prodid, TVE_PRODID);
    assert_int_equal(tqe_id.prodid, TQE_PRODID);
    assert_int_not_equal(TVE_PRODID, TQE_PRODID); /* sealing keys are bound to the product */

    tee_target_info tt, qt;
    tee_enclave_target_info(g_tve, &tt);
    tee_enclave_target_info(g_tqe, &qt);
    uint8_t to_tve[40], to_tqe[40];
    memcpy(to_tve, tt.mrenclave, 32);
    veil_put_u64(to_tve + 32, tt.attributes);
    memcpy(to_tqe, qt.mrenclave, 32);
    veil_put_u64(to_tqe + 32, qt.attributes);
    uint8_t begin[TEE_REPORT_WIRE_LEN + TVE_HANDOFF_PUB_LEN],
        end[TVE_HANDOFF_BOX_LEN + TEE_REPORT_WIRE_LEN];
    size_t n;

    /* A report from another signer's enclave (one that reports whatever it is asked). */
    tee_enclave *other;
    assert_int_equal(tee_enclave_load(g_p, OTHER_IMG, NULL, 0, &other), VEIL_OK);
    assert_int_equal(tee_enclave_call(g_tqe, TQE_E_HANDOFF_BEGIN, to_tve, 40, begin,
                                      sizeof begin, &n),
                     VEIL_OK);
    uint8_t te_in[40 + TEE_REPORT_DATA_LEN];
    memcpy(te_in, to_tve, 40);
    memset(te_in + 40, 0, TEE_REPORT_DATA_LEN); /* what a TQE's report would bind */
    veil_sha256_tagged(te_in + 40, TVE_HANDOFF_TQE_TAG, begin + TEE_REPORT_WIRE_LEN,
                       TVE_HANDOFF_PUB_LEN);
    uint8_t forged[TEE_REPORT_WIRE_LEN + TVE_HANDOFF_PUB_LEN];
    assert_int_equal(tee_enclave_call(other, 3 /* TE_REPORT */, te_in, sizeof te_in, forged,
                                      TEE_REPORT_WIRE_LEN, &n),
                     VEIL_OK);
    memcpy(forged + TEE_REPORT_WIRE_LEN, begin + TEE_REPORT_WIRE_LEN, TVE_HANDOFF_PUB_LEN);
    assert_int_equal(tee_enclave_call(g_tve, TVE_E_HANDOFF, forged, sizeof forged, end,
                                      sizeof end, &n),
                     VEIL_ERR_HANDOFF_SIGNER);
    tee_enclave_destroy(other);

    /* The genuine TQE report with another key appended: not what it binds. */
    memcpy(forged, begin, sizeof begin);
    forged[TEE_REPORT_WIRE_LEN] ^= 1;
    assert_int_equal(tee_enclave_call(g_tve, TVE_E_HANDOFF, forged, sizeof forged, end,
                                      sizeof end, &n),
                     VEIL_ERR_HANDOFF_BINDING);
    /* A report made for another enclave (the TQE's report targeted at itself). */
    uint8_t self_begin[sizeof begin];
    assert_int_equal(tee_enclave_call(g_tqe, TQE_E_HANDOFF_BEGIN, to_tqe, 40, self_begin,
                                      sizeof self_begin, &n),
                     VEIL_OK);
    assert_int_equal(tee_enclave_call(g_tve, TVE_E_HANDOFF, self_begin, sizeof self_begin, end,
                                      sizeof end, &n),
                     VEIL_ERR_TEE_REPORT_MAC);
    /* The TQE accepts a key only from the TVE's product: its own report is refused. */
    uint8_t fake_end[sizeof end];
    memset(fake_end, 0, TVE_HANDOFF_BOX_LEN);
    memcpy(fake_end + TVE_HANDOFF_BOX_LEN, self_begin, TEE_REPORT_WIRE_LEN);
    assert_int_equal(tee_enclave_call(g_tqe, TQE_E_HANDOFF_END, fake_end, sizeof fake_end, NULL, 0,
                                      &n),
                     VEIL_ERR_HANDOFF_PRODID);
    /* The genuine exchange works again (and a box altered on the way does not). */
    assert_int_equal(tee_enclave_call(g_tqe, TQE_E_HANDOFF_BEGIN, to_tve, 40, begin,
                                      sizeof begin, &n),
                     VEIL_OK);
    assert_int_equal(tee_enclave_call(g_tve, TVE_E_HANDOFF, begin, sizeof begin, end, sizeof end,
                                      &n),
                     VEIL_OK);
    end[40] ^= 1;
    assert_int_equal(tee_enclave_call(g_tqe, TQE_E_HANDOFF_END, end, sizeof end, NULL, 0, &n),
                     VEIL_ERR_HANDOFF_BINDING);
    end[40] ^= 1;
    assert_int_equal(tee_enclave_call(g_tqe, TQE_E_HANDOFF_END, end, sizeof end, NULL, 0, &n),
                     VEIL_OK);

    /* A sealed order altered on the way is refused, as is one replayed as another kind of
     * channel message. */
    txb *b = txb_new(VEIL_TX_KIND_WITHDRAW, CHAIN);
    memcpy(b->account, pk_account, 32);
    txb_output(b, pk_x, 1, 1000);
    txb_signer(b, sk_account);
    payload_build(b);
    uint8_t order[20000], sealed[20000];
    size_t ol = txb_order(b, 0, &g_params, NULL, NULL, order, sizeof order), sl;
    assert_int_equal(tee_enclave_call(g_tqe, TQE_E_SEAL_PAYLOAD, order, ol, sealed, sizeof sealed,
                                      &sl),
                     VEIL_OK);
    sealed[sl - 1] ^= 1;
    Veil__Tve__Enclave__EncryptCall ec = VEIL__TVE__ENCLAVE__ENCRYPT_CALL__INIT;
    ec.sealed_order.data = sealed;
    ec.sealed_order.len = sl;
    assert_int_equal(call_msg(g_tve, TVE_E_ENCRYPT, &ec.base), VEIL_ERR_HANDOFF_CHANNEL);
    txb_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_generation),
        cmocka_unit_test(test_item13_separate_products_and_handoff),
        cmocka_unit_test(test_item8_out_of_memory_is_not_a_verdict),
        cmocka_unit_test(test_original_scenario),
        cmocka_unit_test(test_order_state_is_the_only_source),
        cmocka_unit_test(test_production_tqe_has_no_seal_ecall),
        cmocka_unit_test(test_wire_tampering),
        cmocka_unit_test(test_hostile_ecall_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
