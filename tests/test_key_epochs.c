/* Key epochs in the TVE enclave (docs/key-epochs.md), through its ecalls in-process:
 * drawing the next epoch's key, the chain's window moving the current epoch, the old
 * key destroyed (wiped, and its sealed copy refused ever after by the key floor), a
 * lost draw dropped, hostile windows refused. And breach containment: an attacker who
 * extracts the key of epoch k from the enclave (the test image's breach hook) opens the
 * chain's ciphertexts of epoch k, and those of epochs k-1 and k+1 stay closed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

#define TVE_IMG VEIL_BUILD_DIR "/enclaves/veil_tve_enclave_breach.signed.so"
#define TQE_IMG VEIL_BUILD_DIR "/enclaves/veil_tqe_enclave_test_ts.signed.so"
#define CHAIN "veil-epochs"

static veil_status o_get_sealed(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                                size_t out_cap, size_t *out_len)
{
    (void)ctx, (void)in, (void)out, (void)out_cap;
    ENSURE(in_len == 32, VEIL_ERR_MALFORMED);
    *out_len = 0; /* nothing committed: these tests only encrypt withdraws */
    return VEIL_OK;
}
static const tee_ocall_fn g_ocall_fns[] = {o_get_sealed};
static const tee_ocall_table g_ocall_table = {g_ocall_fns, 1, NULL};

static char g_dir[64];
static tee_platform *g_p;
static tee_enclave *g_tve, *g_tqe;
static uint8_t g_out[64 * 1024];
static size_t g_out_len;

static veil_status call_msg(tee_enclave *e, uint32_t ecall, const ProtobufCMessage *m)
{
    uint8_t in[64 * 1024];
    size_t n = m != NULL ? protobuf_c_message_pack(m, in) : 0;
    return tee_enclave_call(e, ecall, in, n, g_out, sizeof g_out, &g_out_len);
}

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
    snprintf(g_dir, sizeof g_dir, "/tmp/veil-test-epochs-XXXXXX");
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
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* --- the chain's side, played by the test ------------------------------------------ */
typedef struct sealed_key {
    uint8_t blob[256];
    size_t len;
    uint8_t commitment[32];
} sealed_key;

static void key_result(sealed_key *k, uint64_t epoch)
{
    Veil__Tve__Enclave__KeyResult *r = veil__tve__enclave__key_result__unpack(NULL, g_out_len, g_out);
    assert_non_null(r);
    assert_int_equal(r->epoch, epoch);
    assert_int_equal(r->key_commitment.len, 32);
    memcpy(k->commitment, r->key_commitment.data, 32);
    k->len = r->sealed_key.len;
    if (k->len) memcpy(k->blob, r->sealed_key.data, k->len);
    veil__tve__enclave__key_result__free_unpacked(r, NULL);
}

static veil_status draw(tee_enclave *e, uint64_t epoch, sealed_key *k)
{
    Veil__Tve__Enclave__GenerateKeyCall g = VEIL__TVE__ENCLAVE__GENERATE_KEY_CALL__INIT;
    g.epoch = epoch;
    veil_status st = call_msg(e, epoch == 0 ? TVE_E_GENERATE_KEY : TVE_E_DRAW_KEY, &g.base);
    if (st == VEIL_OK) key_result(k, epoch);
    return st;
}

static veil_status load(tee_enclave *e, uint64_t epoch, const sealed_key *k)
{
    Veil__Tve__Enclave__LoadKeyCall l = VEIL__TVE__ENCLAVE__LOAD_KEY_CALL__INIT;
    l.epoch = epoch;
    l.sealed_key.data = (uint8_t *)k->blob;
    l.sealed_key.len = k->len;
    return call_msg(e, TVE_E_LOAD_KEY, &l.base);
}

/* The window of epochs [first, first + n), current `current`, with the given
 * commitments (NULL: none on chain). out: what the enclave destroyed and dropped. */
typedef struct window_out {
    size_t n_destroyed, n_dropped;
    uint64_t destroyed[8], dropped[8];
    bool awaiting;
    uint64_t awaited;
} window_out;

static veil_status window(tee_enclave *e, uint64_t first, size_t n, uint64_t current,
                          const uint8_t *const *commitments, window_out *out)
{
    Veil__Tve__KeyWindow w = VEIL__TVE__KEY_WINDOW__INIT;
    Veil__Tve__KeyEpochInfo info[8], *ptrs[8];
    for (size_t i = 0; i < n; i++) {
        veil__tve__key_epoch_info__init(&info[i]);
        info[i].epoch = first + i;
        if (commitments != NULL && commitments[i] != NULL) {
            info[i].commitment.data = (uint8_t *)commitments[i];
            info[i].commitment.len = 32;
        }
        ptrs[i] = &info[i];
    }
    w.current_epoch = current;
    w.n_epochs = n;
    w.epochs = ptrs;
    veil_status st = call_msg(e, TVE_E_KEY_WINDOW, &w.base);
    if (st != VEIL_OK || out == NULL) return st;
    Veil__Tve__Enclave__KeyWindowResult *r =
        veil__tve__enclave__key_window_result__unpack(NULL, g_out_len, g_out);
    assert_non_null(r);
    memset(out, 0, sizeof *out);
    out->n_destroyed = r->n_destroyed;
    out->n_dropped = r->n_dropped;
    assert_true(r->n_destroyed <= 8 && r->n_dropped <= 8);
    for (size_t i = 0; i < r->n_destroyed; i++) out->destroyed[i] = r->destroyed[i];
    for (size_t i = 0; i < r->n_dropped; i++) out->dropped[i] = r->dropped[i];
    out->awaiting = r->awaiting;
    out->awaited = r->awaited_epoch;
    veil__tve__enclave__key_window_result__free_unpacked(r, NULL);
    return VEIL_OK;
}

static void status(tee_enclave *e, uint64_t *current, size_t *n_held, uint64_t *floor)
{
    assert_int_equal(call_msg(e, TVE_E_STATUS, NULL), VEIL_OK);
    Veil__Tve__Enclave__StatusResult *s =
        veil__tve__enclave__status_result__unpack(NULL, g_out_len, g_out);
    assert_non_null(s);
    *current = s->key_epoch;
    *n_held = s->n_held_epochs;
    *floor = s->destroyed_below;
    veil__tve__enclave__status_result__free_unpacked(s, NULL);
}

/* A withdraw encrypted by the enclave under its current epoch: an on-chain ciphertext. */
typedef struct chain_tx {
    uint8_t wire[VEIL_TX_MAX_WIRE_LEN];
    size_t len;
    veil_tx_wire pub;
} chain_tx;

static uint8_t sk_account[32], pk_account[32], pk_out[32];
static uint64_t g_nonce;

static veil_status encrypt_withdraw(chain_tx *t)
{
    Veil__Tve__ChainParams params = VEIL__TVE__CHAIN_PARAMS__INIT;
    params.chain_id = (char *)CHAIN;
    params.block_time = 2000;
    params.fee_rule = VEIL__TVE__FEE_RULE__FEE_RULE_AT_LEAST;
    Veil__Tve__AccountState acct = VEIL__TVE__ACCOUNT_STATE__INIT;
    acct.address.data = pk_account;
    acct.address.len = 32;
    acct.unbonded = 1;
    acct.unbonded_from = 1000;
    acct.nonce = g_nonce;
    txb *w = txb_new(VEIL_TX_KIND_WITHDRAW, CHAIN);
    memcpy(w->account, pk_account, 32);
    w->nonce = g_nonce++;
    txb_output(w, pk_out, 1, 1000);
    txb_signer(w, sk_account);
    txb_build_body(w);
    txb_build_payload(w);
    uint8_t sealed[20000], order[20000];
    size_t sealed_len, order_len = txb_order(w, 0, &params, &acct, NULL, order, sizeof order);
    txb_free(w);
    TRY(tee_enclave_call(g_tqe, TQE_E_SEAL_PAYLOAD, order, order_len, sealed, sizeof sealed,
                         &sealed_len));
    Veil__Tve__Enclave__EncryptCall c = VEIL__TVE__ENCLAVE__ENCRYPT_CALL__INIT;
    c.sealed_order.data = sealed;
    c.sealed_order.len = sealed_len;
    TRY(call_msg(g_tve, TVE_E_ENCRYPT, &c.base));
    Veil__Tve__Enclave__EncryptResult *r =
        veil__tve__enclave__encrypt_result__unpack(NULL, g_out_len, g_out);
    assert_non_null(r);
    memcpy(t->wire, r->tx.data, r->tx.len);
    t->len = r->tx.len;
    veil__tve__enclave__encrypt_result__free_unpacked(r, NULL);
    return veil_tx_wire_decode(t->wire, t->len, NULL, &t->pub);
}

/* The attacker's use of a key: the payload of a chain tx, if the key opens it. The
 * ciphertext is the wire's last field (tx.proto), its last ciphertext_len bytes. */
static veil_status attacker_open(const chain_tx *t, const uint8_t key[32], uint8_t *pt)
{
    uint8_t aad[VEIL_TX_AAD_LEN];
    veil_tx_aad(aad, t->pub.txid, t->pub.key_epoch, t->pub.fee);
    const uint8_t *ct = t->wire + t->len - t->pub.ciphertext_len;
    return veil_aead_open(key, t->pub.nonce, aad, sizeof aad, ct, t->pub.ciphertext_len, pt);
}

static veil_status breach(tee_enclave *e, uint64_t epoch, uint8_t key[32])
{
    uint8_t in[8];
    size_t n = 0;
    veil_put_u64(in, epoch);
    return tee_enclave_call(e, TVE_E_TEST_BREACH, in, sizeof in, key, 32, &n);
}

/* --- tests ----------------------------------------------------------------------------- */
static sealed_key g_k[5];
static chain_tx g_tx[4]; /* one under each of epochs 0..3 */

/* Three rotations as the chain drives them: draw, commit (next in the window), switch
 * (current), grace over (previous leaves the window: destroyed). */
static void test_rotation_and_destruction(void **state)
{
    (void)state;
    memset(sk_account, 0x11, 32);
    txb_pubkey(pk_account, sk_account);
    uint8_t sk_out[32];
    memset(sk_out, 0x22, 32);
    txb_pubkey(pk_out, sk_out);
    uint64_t cur, floor;
    size_t held;

    assert_int_equal(draw(g_tve, 0, &g_k[0]), VEIL_OK);
    const uint8_t *c[3] = {g_k[0].commitment, NULL, NULL};
    window_out wo;
    assert_int_equal(window(g_tve, 0, 1, 0, c, &wo), VEIL_OK);
    assert_int_equal(wo.n_destroyed + wo.n_dropped, 0);
    assert_int_equal(encrypt_withdraw(&g_tx[0]), VEIL_OK);
    assert_int_equal(g_tx[0].pub.key_epoch, 0);

    for (uint64_t e = 1; e <= 3; e++) {
        assert_int_equal(draw(g_tve, e, &g_k[e]), VEIL_OK);
        assert_true(g_k[e].len > 0);
        /* Drawn again in a later round of the same height: the same key, not stored anew. */
        sealed_key again;
        assert_int_equal(draw(g_tve, e, &again), VEIL_OK);
        assert_memory_equal(again.commitment, g_k[e].commitment, 32);
        assert_int_equal(again.len, 0);
        /* Committed, not in use yet: wallets still get the current epoch. */
        c[0] = g_k[e - 1].commitment, c[1] = g_k[e].commitment;
        assert_int_equal(window(g_tve, e - 1, 2, e - 1, c, &wo), VEIL_OK);
        assert_int_equal(wo.n_destroyed + wo.n_dropped, 0);
        chain_tx t;
        assert_int_equal(encrypt_withdraw(&t), VEIL_OK);
        assert_int_equal(t.pub.key_epoch, e - 1);
        /* In use; the previous one in its grace period. */
        assert_int_equal(window(g_tve, e - 1, 2, e, c, &wo), VEIL_OK);
        assert_int_equal(wo.n_destroyed, 0);
        assert_int_equal(encrypt_withdraw(&g_tx[e]), VEIL_OK);
        assert_int_equal(g_tx[e].pub.key_epoch, e);
        status(g_tve, &cur, &held, &floor);
        assert_int_equal(cur, e);
        assert_int_equal(held, 2);
        /* Grace over: the previous key is destroyed, named for the host to delete. */
        c[0] = g_k[e].commitment;
        assert_int_equal(window(g_tve, e, 1, e, c, &wo), VEIL_OK);
        assert_int_equal(wo.n_destroyed, 1);
        assert_int_equal(wo.destroyed[0], e - 1);
        status(g_tve, &cur, &held, &floor);
        assert_int_equal(held, 1);
        assert_int_equal(floor, e);
        /* Gone from memory, and its sealed copy (which the host could have kept) never
         * loads again, in this instance or a new one. */
        uint8_t key[32];
        assert_int_equal(breach(g_tve, e - 1, key), VEIL_ERR_TVE_NO_KEY);
        assert_int_equal(load(g_tve, e - 1, &g_k[e - 1]), VEIL_ERR_TVE_KEY_DESTROYED);
    }
    tee_enclave *fresh;
    assert_int_equal(tee_enclave_load(g_p, TVE_IMG, &g_ocall_table, 0, &fresh), VEIL_OK);
    for (uint64_t e = 0; e < 3; e++)
        assert_int_equal(load(fresh, e, &g_k[e]), VEIL_ERR_TVE_KEY_DESTROYED);
    assert_int_equal(load(fresh, 3, &g_k[3]), VEIL_OK);
    tee_enclave_destroy(fresh);
}

/* The breach: the attacker extracts the key of epoch 2 from the enclave while it is
 * current. On chain it opens exactly the txs of epoch 2. */
static void test_breach_containment(void **state)
{
    (void)state;
    uint8_t k2[32], pt[VEIL_TX_MAX_WIRE_LEN];
    /* The enclave of the previous test is past epoch 2; a new instance is breached at
     * the moment epoch 2 is current: its own copy of key 2 is gone (destroyed), so the
     * breach is staged with a fresh chain whose epoch-2 key the attacker takes. */
    tee_enclave *e;
    assert_int_equal(tee_enclave_load(g_p, TVE_IMG, &g_ocall_table, 0, &e), VEIL_OK);
    assert_int_equal(handoff(g_tqe, e), VEIL_OK);
    tee_enclave *keep = g_tve;
    g_tve = e;
    sealed_key k[4];
    chain_tx tx[4];
    const uint8_t *c[2];
    window_out wo;
    for (uint64_t ep = 0; ep <= 3; ep++) {
        assert_int_equal(draw(e, ep, &k[ep]), VEIL_OK);
        c[0] = k[ep].commitment;
        assert_int_equal(window(e, ep, 1, ep, c, &wo), VEIL_OK);
        assert_int_equal(encrypt_withdraw(&tx[ep]), VEIL_OK);
        assert_int_equal(tx[ep].pub.key_epoch, ep);
        if (ep == 2) assert_int_equal(breach(e, 2, k2), VEIL_OK);
    }
    assert_int_equal(attacker_open(&tx[2], k2, pt), VEIL_OK);
    /* The payload is the tx: it carries the withdraw's amount and owner in clear now. */
    assert_true(tx[2].pub.ciphertext_len > 16);
    assert_int_equal(attacker_open(&tx[1], k2, pt), VEIL_ERR_AUTH);
    assert_int_equal(attacker_open(&tx[3], k2, pt), VEIL_ERR_AUTH);
    assert_int_equal(attacker_open(&tx[0], k2, pt), VEIL_ERR_AUTH);
    /* And the first chain's ciphertexts, none of which is under this key. */
    for (size_t i = 0; i < 4; i++) assert_int_equal(attacker_open(&g_tx[i], k2, pt), VEIL_ERR_AUTH);
    /* After the next rotation's grace period, a breach of the same enclave finds no key
     * of epoch 2 any more. */
    uint8_t again[32];
    assert_int_equal(breach(e, 2, again), VEIL_ERR_TVE_NO_KEY);
    g_tve = keep;
    tee_enclave_destroy(e);
}

/* A key drawn for an epoch the chain committed another proposer's key for is dropped;
 * the committed one is then awaited (a peer's TDBE serves it). */
static void test_lost_draw_dropped(void **state)
{
    (void)state;
    sealed_key mine;
    assert_int_equal(draw(g_tve, 4, &mine), VEIL_OK);
    uint8_t other[32];
    memset(other, 0x5a, 32);
    const uint8_t *c[2] = {g_k[3].commitment, other};
    window_out wo;
    assert_int_equal(window(g_tve, 3, 2, 3, c, &wo), VEIL_OK);
    assert_int_equal(wo.n_dropped, 1);
    assert_int_equal(wo.dropped[0], 4);
    assert_true(wo.awaiting);
    assert_int_equal(wo.awaited, 4);
    /* Encrypting stays under the current epoch throughout. */
    chain_tx t;
    assert_int_equal(encrypt_withdraw(&t), VEIL_OK);
    assert_int_equal(t.pub.key_epoch, 3);
    /* Drawing below what the chain is past is refused. */
    sealed_key old;
    assert_int_equal(draw(g_tve, 2, &old), VEIL_ERR_EXISTS);
}

/* Hostile windows change nothing. */
static void test_hostile_windows(void **state)
{
    (void)state;
    uint64_t cur, floor, floor_before;
    size_t held, held_before;
    status(g_tve, &cur, &held_before, &floor_before);
    const uint8_t *c[4] = {g_k[3].commitment, NULL, NULL, NULL};
    /* current not in the window; four epochs; a floor jump beyond any real absence */
    assert_int_equal(window(g_tve, 3, 1, 4, c, NULL), VEIL_ERR_DECODE);
    assert_int_equal(window(g_tve, 3, 4, 3, c, NULL), VEIL_ERR_DECODE);
    assert_int_equal(window(g_tve, 1u << 20, 1, 1u << 20, NULL, NULL), VEIL_ERR_ARG);
    /* a commitment of the wrong length */
    Veil__Tve__KeyWindow w = VEIL__TVE__KEY_WINDOW__INIT;
    Veil__Tve__KeyEpochInfo i = VEIL__TVE__KEY_EPOCH_INFO__INIT, *p = &i;
    i.epoch = 3;
    i.commitment.data = (uint8_t *)g_k[3].commitment;
    i.commitment.len = 31;
    w.current_epoch = 3;
    w.n_epochs = 1;
    w.epochs = &p;
    assert_int_equal(call_msg(g_tve, TVE_E_KEY_WINDOW, &w.base), VEIL_ERR_DECODE);
    status(g_tve, &cur, &held, &floor);
    assert_int_equal(held, held_before);
    assert_int_equal(floor, floor_before);
}

/* A key sealed before key floors existed (the key alone) still loads: adopted under
 * the enclave's floor and answered sealed again in today's form for the store. */
static void test_legacy_copy_upgraded(void **state)
{
    (void)state;
    tee_enclave *e;
    assert_int_equal(tee_enclave_load(g_p, TVE_IMG, &g_ocall_table, 0, &e), VEIL_OK);
    uint8_t in[8 + 32], legacy[256], key[32];
    size_t legacy_len = 0;
    veil_put_u64(in, 0);
    memset(in + 8, 0x6b, 32);
    assert_int_equal(tee_enclave_call(e, TVE_E_TEST_SEAL_LEGACY, in, sizeof in, legacy,
                                      sizeof legacy, &legacy_len),
                     VEIL_OK);
    sealed_key old = {.len = legacy_len};
    memcpy(old.blob, legacy, legacy_len);
    assert_int_equal(load(e, 0, &old), VEIL_OK);
    sealed_key now;
    key_result(&now, 0);
    assert_int_equal(now.len, TEE_SEAL_OVERHEAD_MAX + 32 + TEE_COUNTER_ID_LEN);
    assert_int_equal(breach(e, 0, key), VEIL_OK);
    assert_memory_equal(key, in + 8, 32);
    tee_enclave_destroy(e);
    /* The new copy loads in another instance, as today's copies do (no copy again). */
    assert_int_equal(tee_enclave_load(g_p, TVE_IMG, &g_ocall_table, 0, &e), VEIL_OK);
    assert_int_equal(load(e, 0, &now), VEIL_OK);
    sealed_key again;
    key_result(&again, 0);
    assert_int_equal(again.len, 0);
    tee_enclave_destroy(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotation_and_destruction),
        cmocka_unit_test(test_breach_containment),
        cmocka_unit_test(test_lost_draw_dropped),
        cmocka_unit_test(test_hostile_windows),
        cmocka_unit_test(test_legacy_copy_upgraded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
