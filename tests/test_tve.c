/* The TVE daemon end to end: the real `veil tve` process over a 0MQ ipc socket, txs
 * made as a wallet makes them (TxPayload -> TQE seal -> encrypt), kill -9 at the
 * moments that matter, and hostile frames. The enclave alone: test_tve_enclave.c.
 *
 * The tests run in order on one daemon and one chain; each leaves the chain committed
 * (g_height) for the next. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include <lmdb.h>

#include "crypto/crypto.h"
#include "host/tve/tve_client.h"
#include "host/tqe/tqe_handoff.h"
#include "host/tve/tve_store.h"
#include "support/tve_client.h"
#include "support/tx_builder.h"
#include "tee/sim/sim_host.h"
#include "tee/tee.h"
#include "trusted/tx/bloom.h"
#include "trusted/tx/tx.h"

#define VEIL_BIN VEIL_BUILD_DIR "/veil"
#define TQE_IMG VEIL_BUILD_DIR "/enclaves/veil_tqe_enclave_test.signed.so"
#define CHAIN "veil-test-tve"
#define BLOCK_TIME UINT64_C(1700000000)
#define UNBONDED_FROM (BLOCK_TIME - 100)
#define RECV_TIMEOUT_MS 60000

static char g_dir[64], g_plat[128], g_home[128], g_ep[160];
static tee_platform *g_platform;
static tee_enclave *g_tqe;
static tvec_daemon g_daemon;
static tvec_client g_c;
static tvec_chain g_chain;
static uint64_t g_height;    /* last height committed on both sides */
static uint64_t g_nonce = 1; /* withdraw nonces: distinct txids */
static uint8_t g_acct_sk[32], g_acct_pk[32], g_owner_sk[32], g_owner_pk[32];
static uint8_t g_view_sk[32], g_view_pk[32];

/* --- harness --------------------------------------------------------------------- */
static void app_hash(uint64_t h, uint8_t out[32])
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(h >> (56 - 8 * i));
    veil_sha256_tagged(out, "veil/test-app-hash", b, sizeof b);
}

static void daemon_start(void)
{
    int status = 0;
    if (tvec_daemon_start(&g_daemon, VEIL_BIN, g_ep, g_home, g_plat, 2, NULL, 30, &status) != 0)
        fail_msg("veil tve did not start (wait status %d)", status);
    tvec_connect(&g_c, g_ep, RECV_TIMEOUT_MS);
}

static void daemon_stop(int sig)
{
    tvec_close(&g_c);
    tvec_daemon_stop(&g_daemon, sig);
}

static void daemon_restart(int sig)
{
    daemon_stop(sig);
    daemon_start();
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

static int setup(void **state)
{
    (void)state;
    char root[128];
    if (veil_crypto_init() != VEIL_OK) return -1;
    snprintf(g_dir, sizeof g_dir, "/tmp/veil-test-tve-XXXXXX");
    if (mkdtemp(g_dir) == NULL) return -1;
    snprintf(g_plat, sizeof g_plat, "%s/platform", g_dir);
    snprintf(g_home, sizeof g_home, "%s/home", g_dir);
    snprintf(root, sizeof root, "%s/root", g_dir);
    snprintf(g_ep, sizeof g_ep, "ipc://%s/tve.sock", g_dir);
    if (sim_platform_provision(g_plat, root, 1, false) != VEIL_OK) return -1;
    if (tee_platform_open(g_plat, &g_platform) != VEIL_OK) return -1;
    /* The TQE stand-in runs here, on the daemon's platform: same signer, same keys. */
    if (tee_enclave_load(g_platform, TQE_IMG, NULL, 0, &g_tqe) != VEIL_OK) return -1;
    memset(g_acct_sk, 0x11, 32);
    memset(g_owner_sk, 0x22, 32);
    memset(g_view_sk, 0x33, 32);
    txb_pubkey(g_acct_pk, g_acct_sk);
    txb_pubkey(g_owner_pk, g_owner_sk);
    txb_pubkey(g_view_pk, g_view_sk);
    tvec_chain_init(&g_chain, CHAIN, BLOCK_TIME);
    int status = 0;
    if (tvec_daemon_start(&g_daemon, VEIL_BIN, g_ep, g_home, g_plat, 2, NULL, 30, &status) != 0)
        return -1;
    tvec_connect(&g_c, g_ep, RECV_TIMEOUT_MS);
    /* The TQE stand-in gets the channel key as `veil tqe` does (it survives restarts:
     * the TVE derives it from its sealing identity). */
    tve_client *hc = NULL;
    veil_status hs = tve_client_open(g_ep, RECV_TIMEOUT_MS, &hc);
    if (hs == VEIL_OK) hs = tqe_handoff(g_tqe, hc);
    tve_client_close(hc);
    return hs == VEIL_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    /* A clean stop: the daemon must exit 0 (under ASan, that includes no leaks). */
    tvec_close(&g_c);
    int status = tvec_daemon_stop(&g_daemon, SIGTERM);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "test_tve: daemon exit status %d on SIGTERM\n", status);
        return -1;
    }
    tee_enclave_destroy(g_tqe);
    tee_platform_close(g_platform);
    return run("rm -rf %s", g_dir) == 0 ? 0 : -1;
}

static Veil__Tve__Response *expect_ok(Veil__Tve__Response *r, Veil__Tve__Response__ResponseCase c)
{
    assert_non_null(r);
    if (r->response_case == VEIL__TVE__RESPONSE__RESPONSE_ERROR)
        fail_msg("error %u %s", r->error->code, r->error->name);
    assert_int_equal(r->response_case, c);
    return r;
}

static void expect_error(Veil__Tve__Response *r, uint32_t code)
{
    assert_non_null(r);
    if (r->response_case != VEIL__TVE__RESPONSE__RESPONSE_ERROR)
        fail_msg("expected error %u, got response %d", code, r->response_case);
    assert_int_equal(r->error->code, code);
    assert_string_equal(r->error->name, veil_status_name((veil_status)code));
    assert_string_equal(r->error->message, veil_status_str((veil_status)code));
    tvec_response_free(r);
}

/* --- transactions ------------------------------------------------------------------ */
/* A withdraw of the test account: n outputs of `value` to the owner, locked to
 * UNBONDED_FROM, optionally naming the view key. Encrypted by the daemon. */
static void make_withdraw(size_t n, uint64_t value, bool view_key, tvec_tx *out)
{
    txb *b = txb_new(VEIL_TX_KIND_WITHDRAW, CHAIN);
    memcpy(b->account, g_acct_pk, 32);
    b->nonce = g_nonce;
    for (size_t i = 0; i < n; i++) txb_output(b, g_owner_pk, value, UNBONDED_FROM);
    if (view_key) txb_view_key(b, g_view_pk);
    txb_signer(b, g_acct_sk);
    txb_build_body(b);
    txb_build_payload(b);
    Veil__Tve__AccountState acct = VEIL__TVE__ACCOUNT_STATE__INIT;
    acct.address.data = g_acct_pk;
    acct.address.len = 32;
    acct.unbonded = value * n;
    acct.unbonded_from = UNBONDED_FROM;
    acct.nonce = g_nonce++;
    int rc = tvec_encrypt(&g_c, g_tqe, &g_chain, b->payload, b->payload_len, &acct, 0, NULL, 0,
                          out);
    if (rc != 0) fail_msg("encrypt withdraw: %d", rc);
    assert_memory_equal(out->txid, b->txid, 32);
    txb_free(b);
}

/* Outputs committed blocks spent: the public state a TQE would prove an order's spent
 * flags from. */
#define MAX_SPENDS 4096
static uint8_t g_spent_txid[MAX_SPENDS][32];
static uint32_t g_spent_index[MAX_SPENDS];
static size_t g_n_spent;

static void note_spends(const tvec_tx *t)
{
    for (size_t i = 0; t->msg != NULL && i < t->msg->n_inputs && g_n_spent < MAX_SPENDS; i++) {
        memcpy(g_spent_txid[g_n_spent], t->msg->inputs[i]->txid.data, 32);
        g_spent_index[g_n_spent++] = t->msg->inputs[i]->index;
    }
}

static bool is_spent(const uint8_t txid[32], uint32_t index)
{
    for (size_t i = 0; i < g_n_spent; i++)
        if (g_spent_index[i] == index && memcmp(g_spent_txid[i], txid, 32) == 0) return true;
    return false;
}

/* A transfer from the owner's outputs (txid_i, index_i) to the owner. Returns the
 * encrypt status (0 on success). */
static int make_transfer(const uint8_t (*in_txid)[32], const uint32_t *in_index, size_t n_in,
                         const uint64_t *values, size_t n_out, tvec_tx *out)
{
    txb *b = txb_new(VEIL_TX_KIND_TRANSFER, CHAIN);
    for (size_t i = 0; i < n_in; i++) txb_input(b, in_txid[i], in_index[i], g_owner_sk);
    for (size_t i = 0; i < n_out; i++) txb_output(b, g_owner_pk, values[i], 0);
    txb_build_body(b);
    txb_build_payload(b);
    bool spent[64];
    for (size_t i = 0; i < n_in; i++) spent[i] = is_spent(in_txid[i], in_index[i]);
    int rc = tvec_encrypt(&g_c, g_tqe, &g_chain, b->payload, b->payload_len, NULL, 0, spent, n_in,
                          out);
    txb_free(b);
    return rc;
}

static void transfer1(const uint8_t txid[32], uint32_t index, uint64_t value, tvec_tx *out)
{
    const uint8_t(*ids)[32] = (const uint8_t(*)[32])txid;
    int rc = make_transfer(ids, &index, 1, &value, 1, out);
    if (rc != 0) fail_msg("encrypt transfer: %d", rc);
}

static void deliver_ok(uint64_t height, const tvec_tx *t)
{
    Veil__Tve__Response *r = tvec_verify_tx(&g_c, &g_chain, VEIL__TVE__MODE__DELIVER, height, t);
    expect_ok(r, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_TX);
    assert_non_null(r->verify_tx->outcome);
    assert_memory_equal(r->verify_tx->outcome->txid.data, t->txid, 32);
    tvec_response_free(r);
}

static void commit_ok(uint64_t height, const tvec_tx *const *txs, size_t n)
{
    uint8_t h[32], (*ids)[32] = calloc(n ? n : 1, 32);
    for (size_t i = 0; i < n; i++) memcpy(ids[i], txs[i]->txid, 32);
    app_hash(height, h);
    Veil__Tve__Response *r = tvec_commit_block(&g_c, height, h, 32, (const uint8_t(*)[32])ids, n);
    expect_ok(r, VEIL__TVE__RESPONSE__RESPONSE_COMMIT_BLOCK);
    assert_int_equal(r->commit_block->height, height);
    assert_int_equal(r->commit_block->tx_count, n);
    tvec_response_free(r);
    free(ids);
}

/* Delivers txs one by one in the next block and commits it. */
static void block_commit(const tvec_tx *const *txs, size_t n)
{
    uint64_t h = g_height + 1;
    for (size_t i = 0; i < n; i++) deliver_ok(h, txs[i]);
    commit_ok(h, txs, n);
    g_height = h;
    for (size_t i = 0; i < n; i++) note_spends(txs[i]);
}

static uint64_t status_height(void)
{
    Veil__Tve__Response *r = expect_ok(tvec_status(&g_c), VEIL__TVE__RESPONSE__RESPONSE_STATUS);
    uint64_t h = r->status->last_height;
    tvec_response_free(r);
    return h;
}

/* Whether get-sealed-txs returns a sealed blob for txid. */
static bool is_stored(const uint8_t txid[32])
{
    Veil__Tve__Response *r = tvec_get_sealed(&g_c, (const uint8_t(*)[32])txid, 1);
    expect_ok(r, VEIL__TVE__RESPONSE__RESPONSE_GET_SEALED_TXS);
    assert_int_equal(r->get_sealed_txs->n_txs, 1);
    assert_memory_equal(r->get_sealed_txs->txs[0]->txid.data, txid, 32);
    bool stored = r->get_sealed_txs->txs[0]->sealed.len > 0;
    tvec_response_free(r);
    return stored;
}

/* --- tests ------------------------------------------------------------------------ */
/* Before init-chain only status, init-chain and check-chain are served. */
static void test_before_init(void **state)
{
    (void)state;
    Veil__Tve__Response *r = expect_ok(tvec_status(&g_c), VEIL__TVE__RESPONSE__RESPONSE_STATUS);
    assert_false(r->status->initialized);
    assert_int_equal(r->status->last_height, 0);
    assert_int_equal(r->status->mrenclave.len, 32);
    assert_int_equal(r->status->prodid, 1);
    tvec_response_free(r);

    r = expect_ok(tvec_check_chain(&g_c, CHAIN, 0, NULL, 0),
                  VEIL__TVE__RESPONSE__RESPONSE_CHECK_CHAIN);
    assert_int_equal(r->check_chain->verdict, VEIL__TVE__CHECK_CHAIN_RESPONSE__VERDICT__IN_SYNC);
    tvec_response_free(r);

    expect_error(tvec_end_block(&g_c, 1), VEIL_ERR_TVE_NOT_INITIALIZED);
    expect_error(tvec_commit_block(&g_c, 1, NULL, 0, NULL, 0), VEIL_ERR_TVE_NOT_INITIALIZED);
    expect_error(tvec_get_sealed(&g_c, NULL, 0), VEIL_ERR_TVE_NOT_INITIALIZED);
    tvec_tx dummy = {0};
    dummy.msg = calloc(1, sizeof *dummy.msg);
    veil__tx__confidential_tx__init(dummy.msg);
    expect_error(tvec_verify_tx(&g_c, &g_chain, VEIL__TVE__MODE__CHECK, 0, &dummy),
                 VEIL_ERR_TVE_NOT_INITIALIZED);
    free(dummy.msg);
}

/* init-chain creates the epoch-0 key once; resending is idempotent; another chain id
 * is refused; the key survives a restart (sealed in the store, loaded at start-up). */
static void test_init_chain(void **state)
{
    (void)state;
    Veil__Tve__Response *r =
        expect_ok(tvec_init_chain(&g_c, CHAIN), VEIL__TVE__RESPONSE__RESPONSE_INIT_CHAIN);
    assert_int_equal(r->init_chain->key_epoch, 0);
    assert_int_equal(r->init_chain->key_commitment.len, 32);
    uint8_t commitment[32];
    memcpy(commitment, r->init_chain->key_commitment.data, 32);
    tvec_response_free(r);

    r = expect_ok(tvec_init_chain(&g_c, CHAIN), VEIL__TVE__RESPONSE__RESPONSE_INIT_CHAIN);
    assert_memory_equal(r->init_chain->key_commitment.data, commitment, 32);
    tvec_response_free(r);
    expect_error(tvec_init_chain(&g_c, "another-chain"), VEIL_ERR_TVE_CHAIN_MISMATCH);
    expect_error(tvec_init_chain(&g_c, ""), VEIL_ERR_MALFORMED);

    daemon_restart(SIGTERM);
    r = expect_ok(tvec_status(&g_c), VEIL__TVE__RESPONSE__RESPONSE_STATUS);
    assert_true(r->status->initialized);
    assert_string_equal(r->status->chain_id, CHAIN);
    assert_int_equal(r->status->key_epoch, 0);
    assert_memory_equal(r->status->key_commitment.data, commitment, 32);
    tvec_response_free(r);
    expect_error(tvec_check_chain(&g_c, "another-chain", 0, NULL, 0), VEIL_ERR_TVE_CHAIN_MISMATCH);
}

/* The original design's scenario: withdraw to an output with a view key, commit; the
 * block's bloom filter holds the view key; a transfer spending that output is
 * accepted; a zero-value output is rejected (711). */
static void test_original_scenario(void **state)
{
    (void)state;
    tvec_tx w, t;
    make_withdraw(1, 1, true, &w);
    uint64_t h = g_height + 1;

    Veil__Tve__Response *r = tvec_verify_tx(&g_c, &g_chain, VEIL__TVE__MODE__CHECK, 0, &w);
    expect_ok(r, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_TX);
    assert_int_equal(r->verify_tx->outcome->kind, VEIL__TX__TX_KIND__TX_KIND_WITHDRAW);
    assert_int_equal(r->verify_tx->outcome->amount, 1);
    assert_int_equal(r->verify_tx->outcome->output_count, 1);
    assert_memory_equal(r->verify_tx->outcome->account.data, g_acct_pk, 32);
    tvec_response_free(r);

    deliver_ok(h, &w);
    r = expect_ok(tvec_end_block(&g_c, h), VEIL__TVE__RESPONSE__RESPONSE_END_BLOCK);
    assert_int_equal(r->end_block->bloom.len, VEIL_BLOOM_BYTES);
    assert_int_equal(r->end_block->tx_count, 1);
    veil_bloom bloom;
    memcpy(bloom.bits, r->end_block->bloom.data, VEIL_BLOOM_BYTES);
    tvec_response_free(r);
    assert_false(veil_bloom_is_empty(&bloom));
    assert_true(veil_bloom_contains(&bloom, g_view_pk));
    /* end-block is idempotent; a DELIVER after it is out of order. */
    r = expect_ok(tvec_end_block(&g_c, h), VEIL__TVE__RESPONSE__RESPONSE_END_BLOCK);
    assert_memory_equal(r->end_block->bloom.data, bloom.bits, VEIL_BLOOM_BYTES);
    tvec_response_free(r);
    const tvec_tx *ws[] = {&w};
    commit_ok(h, ws, 1);
    g_height = h;
    assert_true(is_stored(w.txid));

    /* The committed block's bloom is recorded: a lagging node replaying gets it. */
    r = expect_ok(tvec_end_block(&g_c, h), VEIL__TVE__RESPONSE__RESPONSE_END_BLOCK);
    assert_memory_equal(r->end_block->bloom.data, bloom.bits, VEIL_BLOOM_BYTES);
    tvec_response_free(r);

    transfer1(w.txid, 0, 1, &t);
    r = tvec_verify_tx(&g_c, &g_chain, VEIL__TVE__MODE__CHECK, 0, &t);
    expect_ok(r, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_TX);
    assert_int_equal(r->verify_tx->outcome->kind, VEIL__TX__TX_KIND__TX_KIND_TRANSFER);
    tvec_response_free(r);
    const tvec_tx *ts[] = {&t};
    block_commit(ts, 1);

    /* A zero-value output: refused before anything is encrypted. */
    tvec_tx z;
    uint64_t values[] = {1, 0};
    uint32_t idx = 0;
    assert_int_equal(make_transfer((const uint8_t(*)[32])t.txid, &idx, 1, values, 2, &z),
                     VEIL_ERR_TX_ZERO_VALUE);
    /* The output the scenario's transfer spent is gone: spending it again fails. */
    tvec_tx again;
    assert_int_equal(make_transfer((const uint8_t(*)[32])w.txid, &idx, 1, values, 1, &again),
                     VEIL_ERR_TX_INPUT_SPENT);
    tvec_tx_free(&w);
    tvec_tx_free(&t);
}

static void flip_byte(uint8_t *field_in_msg, size_t off) { field_in_msg[off] ^= 0x01; }

/* Re-encodes t after its message was edited in place. */
static void repack(tvec_tx *t)
{
    size_t len = protobuf_c_message_get_packed_size(&t->msg->base);
    uint8_t *w = malloc(len);
    assert_non_null(w);
    protobuf_c_message_pack(&t->msg->base, w);
    free(t->wire);
    t->wire = w;
    t->wire_len = len;
    assert_true(tvec_tx_redecode(t));
}

static void check_code(const tvec_tx *t, uint32_t code)
{
    expect_error(tvec_verify_tx(&g_c, &g_chain, VEIL__TVE__MODE__CHECK, 0, t), code);
    expect_error(tvec_verify_tx(&g_c, &g_chain, VEIL__TVE__MODE__DELIVER, g_height + 1, t), code);
}

/* A tx under an epoch the enclave has no key for (725); the epoch is bound into the
 * AAD, so no relabelling helps. A tx under another key at the current epoch: 726. */
static void test_wrong_key_epoch(void **state)
{
    (void)state;
    txb *b = txb_new(VEIL_TX_KIND_WITHDRAW, CHAIN);
    memcpy(b->account, g_acct_pk, 32);
    b->nonce = g_nonce;
    txb_output(b, g_owner_pk, 5, UNBONDED_FROM);
    txb_signer(b, g_acct_sk);
    memset(b->key, 0x5a, 32); /* not the TVE's key */
    memset(b->nonce12, 0x01, 12);
    b->key_epoch = 0;
    txb_build(b);
    tvec_tx forged = {0};
    forged.wire = malloc(b->wire_len);
    assert_non_null(forged.wire);
    memcpy(forged.wire, b->wire, b->wire_len);
    forged.wire_len = b->wire_len;
    assert_true(tvec_tx_redecode(&forged));
    forged.has_account = true;
    forged.account = (Veil__Tve__AccountState)VEIL__TVE__ACCOUNT_STATE__INIT;
    memcpy(forged.account_addr, g_acct_pk, 32);
    forged.account.address.len = 32;
    forged.account.unbonded = 5;
    forged.account.unbonded_from = UNBONDED_FROM;
    forged.account.nonce = g_nonce;
    check_code(&forged, VEIL_ERR_TX_DECRYPT_FAILED);
    tvec_tx_free(&forged);
    txb_free(b);

    tvec_tx w;
    make_withdraw(1, 5, false, &w);
    w.msg->key_epoch = 1;
    repack(&w);
    check_code(&w, VEIL_ERR_TX_UNKNOWN_KEY_EPOCH);
    w.msg->key_epoch = UINT64_MAX;
    repack(&w);
    check_code(&w, VEIL_ERR_TX_UNKNOWN_KEY_EPOCH);
    tvec_tx_free(&w);
}

/* Tampered ciphertext, tag, nonce or AAD (the txid): decryption fails (726), with no
 * further detail; the untouched tx still verifies. */
static void test_tampered(void **state)
{
    (void)state;
    tvec_tx w;
    make_withdraw(2, 3, true, &w);

    flip_byte(w.msg->ciphertext.data, 5);
    repack(&w);
    check_code(&w, VEIL_ERR_TX_DECRYPT_FAILED);
    flip_byte(w.msg->ciphertext.data, 5);

    flip_byte(w.msg->ciphertext.data, w.msg->ciphertext.len - 1); /* the tag */
    repack(&w);
    check_code(&w, VEIL_ERR_TX_DECRYPT_FAILED);
    flip_byte(w.msg->ciphertext.data, w.msg->ciphertext.len - 1);

    flip_byte(w.msg->nonce.data, 0);
    repack(&w);
    check_code(&w, VEIL_ERR_TX_DECRYPT_FAILED);
    flip_byte(w.msg->nonce.data, 0);

    flip_byte(w.msg->txid.data, 31); /* the AAD */
    repack(&w);
    check_code(&w, VEIL_ERR_TX_DECRYPT_FAILED);
    flip_byte(w.msg->txid.data, 31);

    repack(&w);
    Veil__Tve__Response *r = tvec_verify_tx(&g_c, &g_chain, VEIL__TVE__MODE__CHECK, 0, &w);
    expect_ok(r, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_TX);
    tvec_response_free(r);
    /* Nothing of the failed attempts was staged: the block commits empty. */
    commit_ok(g_height + 1, NULL, 0);
    g_height++;
    tvec_tx_free(&w);
}

/* A committed tx sent again: refused as a replay (805) in both modes, and encrypting
 * its payload again is refused too. */
static void test_replay_committed(void **state)
{
    (void)state;
    tvec_tx w;
    make_withdraw(1, 7, false, &w);
    const tvec_tx *ws[] = {&w};
    block_commit(ws, 1);
    check_code(&w, VEIL_ERR_TVE_TX_EXISTS);

    uint8_t blk[4096];
    size_t len;
    uint8_t *frame =
        tvec_verify_block_pack(&g_chain, g_height + 1, (tvec_tx *const[]){&w}, 1, &len);
    assert_true(len < sizeof blk);
    Veil__Tve__Response *r = tvec_call_raw(&g_c, frame, len);
    free(frame);
    expect_ok(r, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_BLOCK);
    assert_int_equal(r->verify_block->n_results, 1);
    assert_int_equal(r->verify_block->results[0]->result_case, VEIL__TVE__TX_RESULT__RESULT_ERROR);
    assert_int_equal(r->verify_block->results[0]->error->code, VEIL_ERR_TVE_TX_EXISTS);
    tvec_response_free(r);
    commit_ok(g_height + 1, NULL, 0);
    g_height++;
    tvec_tx_free(&w);
}

/* Item 2 of the attack review: a host replaying an encrypt order of a committed tx got a
 * fresh verdict on it (and, with the fee then outside the order, a probe of its hidden
 * sums). The TVE enclave now refuses a committed txid before any rule runs: the spent
 * input below would otherwise answer 718. */
static void test_item2_committed_tx_refused_before_rules(void **state)
{
    (void)state;
    tvec_tx w, t, again;
    make_withdraw(1, 7, false, &w);
    block_commit((const tvec_tx *const[]){&w}, 1);
    txb *b = txb_new(VEIL_TX_KIND_TRANSFER, CHAIN);
    txb_input(b, w.txid, 0, g_owner_sk);
    txb_output(b, g_owner_pk, 7, 0);
    txb_build_body(b);
    txb_build_payload(b);
    bool unspent = false, spent = true;
    assert_int_equal(tvec_encrypt(&g_c, g_tqe, &g_chain, b->payload, b->payload_len, NULL, 0,
                                  &unspent, 1, &t),
                     0);
    block_commit((const tvec_tx *const[]){&t}, 1);
    assert_int_equal(
        tvec_encrypt(&g_c, g_tqe, &g_chain, b->payload, b->payload_len, NULL, 0, &spent, 1,
                     &again),
        VEIL_ERR_TVE_TX_EXISTS);
    txb_free(b);
    tvec_tx_free(&t);
    tvec_tx_free(&w);
}

/* verify-block with mode CHECK (the node's CheckTx batch): a verdict per tx against
 * committed state, as verify-tx CHECK gives one by one; nothing staged, height ignored. */
static void test_check_batch(void **state)
{
    (void)state;
    tvec_tx w, ok, dup;
    make_withdraw(2, 7, false, &w);
    block_commit((const tvec_tx *const[]){&w}, 1);
    transfer1(w.txid, 0, 7, &ok);
    transfer1(w.txid, 1, 7, &dup);
    block_commit((const tvec_tx *const[]){&dup}, 1); /* now committed */
    tvec_tx *batch[2] = {&ok, &dup};
    size_t len;
    uint8_t *frame = tvec_verify_block_pack(&g_chain, 999, batch, 2, &len);
    Veil__Tve__Request *req = veil__tve__request__unpack(NULL, len, frame);
    assert_non_null(req);
    req->verify_block->mode = VEIL__TVE__MODE__CHECK;
    Veil__Tve__Response *r = tvec_call(&g_c, req);
    expect_ok(r, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_BLOCK);
    assert_int_equal(r->verify_block->n_results, 2);
    assert_int_equal(r->verify_block->results[0]->result_case, VEIL__TVE__TX_RESULT__RESULT_OK);
    assert_memory_equal(r->verify_block->results[0]->ok->txid.data, ok.txid, 32);
    assert_int_equal(r->verify_block->results[1]->result_case, VEIL__TVE__TX_RESULT__RESULT_ERROR);
    assert_int_equal(r->verify_block->results[1]->error->code, VEIL_ERR_TVE_TX_EXISTS);
    tvec_response_free(r);
    /* A mode that is neither: refused. */
    req->verify_block->mode = (Veil__Tve__Mode)7;
    r = tvec_call(&g_c, req);
    assert_int_not_equal(tvec_error_code(r), 0);
    tvec_response_free(r);
    veil__tve__request__free_unpacked(req, NULL);
    free(frame);
    /* Nothing was staged: the next block holds ok alone and commits. */
    block_commit((const tvec_tx *const[]){&ok}, 1);
    tvec_tx_free(&ok);
    tvec_tx_free(&dup);
    tvec_tx_free(&w);
}

/* Flips one byte of the stored (sealed) record of `txid`, with the daemon stopped. */
static void damage_stored_tx(const uint8_t txid[32])
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/%s", g_home, TVE_STORE_DIR);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi, index;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_set_mapsize(env, TVE_STORE_MAP_SIZE), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "txs", 0, &dbi), 0);
    assert_int_equal(mdb_dbi_open(txn, "txids", 0, &index), 0);
    /* Layout 2: txids logs each tx's place (height || index) -> txid; txs holds the blob
     * under the same place. */
    MDB_cursor *cur;
    MDB_val pos, id, d;
    uint8_t key[12];
    bool found = false;
    assert_int_equal(mdb_cursor_open(txn, index, &cur), 0);
    for (int rc = mdb_cursor_get(cur, &pos, &id, MDB_FIRST); rc == 0 && !found;
         rc = mdb_cursor_get(cur, &pos, &id, MDB_NEXT)) {
        if (id.mv_size != 32 || memcmp(id.mv_data, txid, 32) != 0) continue;
        assert_int_equal(pos.mv_size, sizeof key);
        memcpy(key, pos.mv_data, sizeof key);
        found = true;
    }
    mdb_cursor_close(cur);
    assert_true(found);
    MDB_val k = {sizeof key, key};
    assert_int_equal(mdb_get(txn, dbi, &k, &d), 0);
    uint8_t *copy = malloc(d.mv_size);
    assert_non_null(copy);
    memcpy(copy, d.mv_data, d.mv_size);
    copy[0] ^= 0xff; /* the sealed blob's header */
    MDB_val nd = {d.mv_size, copy};
    assert_int_equal(mdb_put(txn, dbi, &k, &nd, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    free(copy);
}

/* Item 8 of the attack review: one corrupted stored blob made a validator record 204
 * (bad magic) as the verdict of a tx the network accepted: a fork. A record of our own
 * store that does not open is a local fault: the whole request fails (the node halts
 * and can be repaired), nothing is recorded as the tx's result. */
static void test_item8_damaged_store_is_not_a_verdict(void **state)
{
    (void)state;
    tvec_tx w, t;
    make_withdraw(1, 7, false, &w);
    block_commit((const tvec_tx *const[]){&w}, 1);
    transfer1(w.txid, 0, 7, &t);
    daemon_stop(SIGTERM);
    damage_stored_tx(w.txid);
    daemon_start();
    /* CHECK of one tx: an error for the request, never a verdict code. */
    Veil__Tve__Response *r = tvec_verify_tx(&g_c, &g_chain, VEIL__TVE__MODE__CHECK, 0, &t);
    assert_non_null(r);
    assert_int_equal(r->response_case, VEIL__TVE__RESPONSE__RESPONSE_ERROR);
    assert_int_equal(r->error->code, VEIL_ERR_TVE_STORE_DAMAGED);
    assert_false(veil_status_is_tx_verdict((veil_status)r->error->code));
    tvec_response_free(r);
    /* verify-block: the request fails as a whole; no per-tx result at all. */
    size_t len;
    uint8_t *frame = tvec_verify_block_pack(&g_chain, g_height + 1, (tvec_tx *const[]){&t}, 1, &len);
    r = tvec_call_raw(&g_c, frame, len);
    free(frame);
    assert_non_null(r);
    assert_int_equal(r->response_case, VEIL__TVE__RESPONSE__RESPONSE_ERROR);
    assert_int_equal(r->error->code, VEIL_ERR_TVE_STORE_DAMAGED);
    tvec_response_free(r);
    /* Put the record back (flip again) and the same block verifies. */
    daemon_stop(SIGTERM);
    damage_stored_tx(w.txid);
    daemon_start();
    r = tvec_verify_tx(&g_c, &g_chain, VEIL__TVE__MODE__CHECK, 0, &t);
    assert_non_null(r);
    assert_int_equal(r->response_case, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_TX);
    tvec_response_free(r);
    tvec_tx_free(&t);
    tvec_tx_free(&w);
}

/* Heights out of order (803), commit idempotence, app hash mismatch (804), and the
 * replay of the last committed height for a lagging node. */
static void test_heights(void **state)
{
    (void)state;
    tvec_tx w, other;
    make_withdraw(1, 9, true, &w);
    make_withdraw(1, 10, false, &other);
    uint64_t h = g_height + 1;
    uint8_t hash[32], wrong[32] = {0};
    app_hash(h, hash);

    expect_error(tvec_verify_tx(&g_c, &g_chain, VEIL__TVE__MODE__DELIVER, h + 1, &w),
                 VEIL_ERR_TVE_HEIGHT);
    expect_error(tvec_verify_tx(&g_c, &g_chain, VEIL__TVE__MODE__DELIVER, 0, &w),
                 VEIL_ERR_TVE_HEIGHT);
    expect_error(tvec_end_block(&g_c, h + 1), VEIL_ERR_TVE_HEIGHT);
    expect_error(tvec_end_block(&g_c, 0), VEIL_ERR_TVE_HEIGHT);
    expect_error(tvec_commit_block(&g_c, h + 1, hash, 32, NULL, 0), VEIL_ERR_TVE_HEIGHT);
    expect_error(tvec_commit_block(&g_c, 0, hash, 32, NULL, 0), VEIL_ERR_TVE_HEIGHT);
    uint8_t big[65] = {0};
    expect_error(tvec_commit_block(&g_c, h, big, sizeof big, NULL, 0), VEIL_ERR_TOO_LARGE);

    const tvec_tx *ws[] = {&w};
    block_commit(ws, 1);
    /* Idempotent: the same height and hash again, as after a crash of the node. */
    commit_ok(h, ws, 1);
    expect_error(tvec_commit_block(&g_c, h, wrong, 32, (const uint8_t(*)[32])w.txid, 1),
                 VEIL_ERR_TVE_APP_HASH_MISMATCH);
    expect_error(tvec_commit_block(&g_c, h, hash, 32, NULL, 0), VEIL_ERR_TVE_STAGING_MISMATCH);

    /* Replay of a committed height: the recorded outcome; a tx not in it: 806. */
    Veil__Tve__Response *r = tvec_verify_tx(&g_c, &g_chain, VEIL__TVE__MODE__DELIVER, h, &w);
    expect_ok(r, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_TX);
    assert_memory_equal(r->verify_tx->outcome->txid.data, w.txid, 32);
    assert_int_equal(r->verify_tx->outcome->amount, 9);
    tvec_response_free(r);
    expect_error(tvec_verify_tx(&g_c, &g_chain, VEIL__TVE__MODE__DELIVER, h, &other),
                 VEIL_ERR_TVE_STAGING_MISMATCH);
    tvec_tx_free(&w);
    tvec_tx_free(&other);
}

/* Request limits: a batch of 10 001 txs, 257 txids, a txid of 31 bytes. */
static void test_limits(void **state)
{
    (void)state;
    tvec_tx w;
    make_withdraw(1, 14, false, &w);
    size_t n = 10001, len;
    tvec_tx **many = calloc(n, sizeof *many);
    assert_non_null(many);
    for (size_t i = 0; i < n; i++) many[i] = &w;
    uint8_t *frame = tvec_verify_block_pack(&g_chain, g_height + 1, many, n, &len);
    assert_true(len > (1u << 20)); /* past the general limit: a block may be */
    expect_error(tvec_call_raw(&g_c, frame, len), VEIL_ERR_TVE_TOO_MANY);
    free(frame);
    free(many);

    uint8_t(*ids)[32] = calloc(257, 32);
    assert_non_null(ids);
    expect_error(tvec_get_sealed(&g_c, (const uint8_t(*)[32])ids, 257), VEIL_ERR_TVE_TOO_MANY);
    Veil__Tve__Response *r = tvec_get_sealed(&g_c, (const uint8_t(*)[32])ids, 256);
    expect_ok(r, VEIL__TVE__RESPONSE__RESPONSE_GET_SEALED_TXS);
    assert_int_equal(r->get_sealed_txs->n_txs, 256);
    assert_int_equal(r->get_sealed_txs->txs[0]->sealed.len, 0);
    tvec_response_free(r);
    free(ids);

    Veil__Tve__GetSealedTxsRequest gs = VEIL__TVE__GET_SEALED_TXS_REQUEST__INIT;
    ProtobufCBinaryData shortid = {31, w.txid};
    gs.n_txids = 1;
    gs.txids = &shortid;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_GET_SEALED_TXS;
    req.get_sealed_txs = &gs;
    expect_error(tvec_call(&g_c, &req), VEIL_ERR_MALFORMED);
    /* A verify-tx without params. */
    Veil__Tve__VerifyTxRequest vt = VEIL__TVE__VERIFY_TX_REQUEST__INIT;
    vt.mode = VEIL__TVE__MODE__CHECK;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_VERIFY_TX;
    req.verify_tx = &vt;
    expect_error(tvec_call(&g_c, &req), VEIL_ERR_MALFORMED);
    tvec_tx_free(&w);
}

/* check-chain verdicts and divergence. */
static void test_check_chain(void **state)
{
    (void)state;
    uint8_t hash[32], prev[32], wrong[32] = {0};
    app_hash(g_height, hash);
    app_hash(g_height - 1, prev);
    Veil__Tve__Response *r;

    r = expect_ok(tvec_check_chain(&g_c, CHAIN, g_height, hash, 32),
                  VEIL__TVE__RESPONSE__RESPONSE_CHECK_CHAIN);
    assert_int_equal(r->check_chain->verdict, VEIL__TVE__CHECK_CHAIN_RESPONSE__VERDICT__IN_SYNC);
    assert_int_equal(r->check_chain->last_height, g_height);
    assert_memory_equal(r->check_chain->last_app_hash.data, hash, 32);
    tvec_response_free(r);
    r = expect_ok(tvec_check_chain(&g_c, CHAIN, g_height + 5, wrong, 32),
                  VEIL__TVE__RESPONSE__RESPONSE_CHECK_CHAIN);
    assert_int_equal(r->check_chain->verdict, VEIL__TVE__CHECK_CHAIN_RESPONSE__VERDICT__TVE_BEHIND);
    tvec_response_free(r);
    r = expect_ok(tvec_check_chain(&g_c, CHAIN, g_height - 1, prev, 32),
                  VEIL__TVE__RESPONSE__RESPONSE_CHECK_CHAIN);
    assert_int_equal(r->check_chain->verdict,
                     VEIL__TVE__CHECK_CHAIN_RESPONSE__VERDICT__NODE_BEHIND);
    tvec_response_free(r);
    expect_error(tvec_check_chain(&g_c, CHAIN, g_height, wrong, 32),
                 VEIL_ERR_TVE_APP_HASH_MISMATCH);
    expect_error(tvec_check_chain(&g_c, CHAIN, g_height - 1, wrong, 32),
                 VEIL_ERR_TVE_APP_HASH_MISMATCH);
    expect_error(tvec_check_chain(&g_c, "other", g_height, hash, 32), VEIL_ERR_TVE_CHAIN_MISMATCH);
}

/* commit-block must name exactly the staged txs (806); the staging survives the
 * mismatch, and a verify-block of the same height replaces it. */
static void test_staging_mismatch(void **state)
{
    (void)state;
    tvec_tx a, b;
    make_withdraw(1, 11, false, &a);
    make_withdraw(1, 12, false, &b);
    uint64_t h = g_height + 1;
    uint8_t hash[32];
    app_hash(h, hash);
    deliver_ok(h, &a);
    expect_error(tvec_commit_block(&g_c, h, hash, 32, NULL, 0), VEIL_ERR_TVE_STAGING_MISMATCH);
    expect_error(tvec_commit_block(&g_c, h, hash, 32, (const uint8_t(*)[32])b.txid, 1),
                 VEIL_ERR_TVE_STAGING_MISMATCH);
    uint8_t two[2][32];
    memcpy(two[0], a.txid, 32);
    memcpy(two[1], b.txid, 32);
    expect_error(tvec_commit_block(&g_c, h, hash, 32, (const uint8_t(*)[32])two, 2),
                 VEIL_ERR_TVE_STAGING_MISMATCH);
    /* The node re-verifies its block (now b only) and commits it. */
    size_t len;
    uint8_t *frame = tvec_verify_block_pack(&g_chain, h, (tvec_tx *const[]){&b}, 1, &len);
    Veil__Tve__Response *r = tvec_call_raw(&g_c, frame, len);
    free(frame);
    expect_ok(r, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_BLOCK);
    assert_int_equal(r->verify_block->results[0]->result_case, VEIL__TVE__TX_RESULT__RESULT_OK);
    tvec_response_free(r);
    const tvec_tx *bs[] = {&b};
    commit_ok(h, bs, 1);
    g_height = h;
    assert_false(is_stored(a.txid));
    assert_true(is_stored(b.txid));
    tvec_tx_free(&a);
    tvec_tx_free(&b);
}

/* The same txid twice in one block: the second is refused (809). */
static void test_duplicate_in_block(void **state)
{
    (void)state;
    tvec_tx a;
    make_withdraw(1, 13, false, &a);
    uint64_t h = g_height + 1;
    deliver_ok(h, &a);
    expect_error(tvec_verify_tx(&g_c, &g_chain, VEIL__TVE__MODE__DELIVER, h, &a),
                 VEIL_ERR_TVE_DUPLICATE_TX);

    size_t len;
    uint8_t *frame = tvec_verify_block_pack(&g_chain, h, (tvec_tx *const[]){&a, &a}, 2, &len);
    Veil__Tve__Response *r = tvec_call_raw(&g_c, frame, len);
    free(frame);
    expect_ok(r, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_BLOCK);
    assert_int_equal(r->verify_block->n_results, 2);
    assert_int_equal(r->verify_block->results[0]->result_case, VEIL__TVE__TX_RESULT__RESULT_OK);
    assert_int_equal(r->verify_block->results[1]->error->code, VEIL_ERR_TVE_DUPLICATE_TX);
    tvec_response_free(r);
    const tvec_tx *as[] = {&a};
    commit_ok(h, as, 1);
    g_height = h;
    tvec_tx_free(&a);
}

/* verify-block with txs that depend on each other: the result is block order's, on
 * two threads. Txs spending a withdraw's outputs can only be encrypted once it is
 * committed, so the store is snapshotted before that commit and restored after. */
static void test_block_dependencies(void **state)
{
    (void)state;
    uint64_t h0 = g_height;
    daemon_stop(SIGTERM);
    assert_int_equal(run("cp -a %s %s.snap", g_home, g_home), 0);
    daemon_start();

    tvec_tx w, t1, t2, t3, extra[40];
    make_withdraw(2 + 40, 20, true, &w);
    const tvec_tx *ws[] = {&w};
    block_commit(ws, 1);
    transfer1(w.txid, 0, 20, &t1);
    transfer1(w.txid, 1, 20, &t2);
    uint64_t v = 20;
    uint32_t idx = 0;
    /* t3 spends output 0 like t1, with two outputs so its txid differs. */
    uint64_t halves[] = {10, 10};
    assert_int_equal(make_transfer((const uint8_t(*)[32])w.txid, &idx, 1, halves, 2, &t3), 0);
    for (uint32_t i = 0; i < 40; i++) transfer1(w.txid, 2 + i, v, &extra[i]);

    /* Back to before the withdraw: same key, same height as the node had then. */
    daemon_stop(SIGTERM);
    assert_int_equal(run("rm -rf %s && mv %s.snap %s", g_home, g_home, g_home), 0);
    daemon_start();
    g_height = h0;
    assert_int_equal(status_height(), h0);
    uint64_t h = h0 + 1;

    /* t1 before w: its input does not exist yet in block order (716), whatever wave. */
    size_t len;
    uint8_t *frame = tvec_verify_block_pack(&g_chain, h, (tvec_tx *const[]){&t1, &w, &t2}, 3, &len);
    Veil__Tve__Response *r = tvec_call_raw(&g_c, frame, len);
    free(frame);
    expect_ok(r, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_BLOCK);
    assert_int_equal(r->verify_block->results[0]->error->code, VEIL_ERR_TX_INPUT_NOT_FOUND);
    assert_int_equal(r->verify_block->results[1]->result_case, VEIL__TVE__TX_RESULT__RESULT_OK);
    assert_int_equal(r->verify_block->results[2]->result_case, VEIL__TVE__TX_RESULT__RESULT_OK);
    tvec_response_free(r);

    /* The node's real block: w, t1, t3 (double spend of t1's input: 718), t2, and 40
     * independent spends of w. verify-block replaces the staging above. */
    tvec_tx *blk[45] = {&w, &t1, &t3, &t2};
    for (int i = 0; i < 40; i++) blk[4 + i] = &extra[i];
    frame = tvec_verify_block_pack(&g_chain, h, blk, 44, &len);
    r = tvec_call_raw(&g_c, frame, len);
    free(frame);
    expect_ok(r, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_BLOCK);
    assert_int_equal(r->verify_block->n_results, 44);
    for (int i = 0; i < 44; i++) {
        if (i == 2) {
            assert_int_equal(r->verify_block->results[i]->error->code, VEIL_ERR_TX_INPUT_SPENT);
            continue;
        }
        if (r->verify_block->results[i]->result_case != VEIL__TVE__TX_RESULT__RESULT_OK)
            fail_msg("tx %d: error %u", i, r->verify_block->results[i]->error->code);
        assert_memory_equal(r->verify_block->results[i]->ok->txid.data, blk[i]->txid, 32);
    }
    tvec_response_free(r);
    r = expect_ok(tvec_end_block(&g_c, h), VEIL__TVE__RESPONSE__RESPONSE_END_BLOCK);
    assert_int_equal(r->end_block->tx_count, 43);
    veil_bloom bloom;
    memcpy(bloom.bits, r->end_block->bloom.data, VEIL_BLOOM_BYTES);
    assert_true(veil_bloom_contains(&bloom, g_view_pk));
    tvec_response_free(r);
    /* After end-block the block is closed to single DELIVERs. */
    expect_error(tvec_verify_tx(&g_c, &g_chain, VEIL__TVE__MODE__DELIVER, h, &t3),
                 VEIL_ERR_OUT_OF_ORDER);
    const tvec_tx *ok[43] = {&w, &t1, &t2};
    for (int i = 0; i < 40; i++) ok[3 + i] = &extra[i];
    commit_ok(h, ok, 43);
    g_height = h;
    assert_true(is_stored(t2.txid));
    assert_false(is_stored(t3.txid));
    tvec_tx_free(&w);
    tvec_tx_free(&t1);
    tvec_tx_free(&t2);
    tvec_tx_free(&t3);
    for (int i = 0; i < 40; i++) tvec_tx_free(&extra[i]);
}

/* kill -9 after a DELIVER, before commit-block: the restarted daemon is at the last
 * commit, the tx is not stored, and the block can be delivered and committed again. */
static void test_kill_before_commit(void **state)
{
    (void)state;
    tvec_tx x;
    make_withdraw(1, 30, true, &x);
    uint64_t h = g_height + 1;
    deliver_ok(h, &x);
    Veil__Tve__Response *r =
        expect_ok(tvec_end_block(&g_c, h), VEIL__TVE__RESPONSE__RESPONSE_END_BLOCK);
    tvec_response_free(r);

    daemon_restart(SIGKILL);
    assert_int_equal(status_height(), g_height);
    assert_false(is_stored(x.txid));
    const tvec_tx *xs[] = {&x};
    block_commit(xs, 1);
    assert_true(is_stored(x.txid));
    tvec_tx_free(&x);
}

/* kill -9 right after commit-block returned: the commit is durable. */
static void test_kill_after_commit(void **state)
{
    (void)state;
    tvec_tx y;
    make_withdraw(1, 31, false, &y);
    const tvec_tx *ys[] = {&y};
    block_commit(ys, 1);
    daemon_restart(SIGKILL);

    Veil__Tve__Response *r = expect_ok(tvec_status(&g_c), VEIL__TVE__RESPONSE__RESPONSE_STATUS);
    uint8_t hash[32];
    app_hash(g_height, hash);
    assert_int_equal(r->status->last_height, g_height);
    assert_int_equal(r->status->last_app_hash.len, 32);
    assert_memory_equal(r->status->last_app_hash.data, hash, 32);
    tvec_response_free(r);
    assert_true(is_stored(y.txid));
    expect_error(tvec_verify_tx(&g_c, &g_chain, VEIL__TVE__MODE__DELIVER, g_height + 1, &y),
                 VEIL_ERR_TVE_TX_EXISTS);
    /* The node, if it crashed too, commits the same height again: idempotent. */
    commit_ok(g_height, ys, 1);
    tvec_tx_free(&y);
}

/* --- hostile frames ---------------------------------------------------------------- */
static uint64_t g_rng = 0x243f6a8885a308d3ull;
static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = rnd();
        memcpy(p + i, &v, n - i < 8 ? n - i : 8);
    }
}

static size_t g_errors_seen;

/* Sends a frame and requires an Error response. */
static void send_expect_error(const uint8_t *frame, size_t len, uint32_t want)
{
    Veil__Tve__Response *r = tvec_call_raw(&g_c, frame, len);
    if (r == NULL) fail_msg("no decodable reply to a %zu-byte frame", len);
    if (r->response_case != VEIL__TVE__RESPONSE__RESPONSE_ERROR || r->error == NULL)
        fail_msg("a %zu-byte garbage frame got response %d", len, r->response_case);
    assert_true(r->error->code != 0);
    assert_true(r->error->name != NULL && r->error->name[0] != '\0');
    if (want != 0) assert_int_equal(r->error->code, want);
    tvec_response_free(r);
    g_errors_seen++;
}

/* Thousands of random and truncated frames, and oversized ones, each answered with an
 * Error; the daemon then serves a status request. */
static void test_garbage(void **state)
{
    (void)state;
    const size_t max = 1u << 20;
    uint8_t *buf = malloc(max + 1);
    assert_non_null(buf);
    g_errors_seen = 0;

    /* Random frames, sizes log-uniform in [0, 1 MiB]. Bytes that happen to decode as a
     * request are redrawn: only undecodable frames count here. */
    for (int i = 0; i < 3200; i++) {
        size_t len = i == 0 ? 0 : i == 1 ? max : (size_t)1 << (rnd() % 21);
        if (len > 1) len = len / 2 + rnd() % (len / 2 + 1);
        for (;;) {
            fill_random(buf, len);
            Veil__Tve__Request *req = veil__tve__request__unpack(NULL, len, buf);
            if (req == NULL) break;
            bool set = req->request_case != VEIL__TVE__REQUEST__REQUEST__NOT_SET;
            veil__tve__request__free_unpacked(req, NULL);
            if (!set) break; /* only unknown fields: still an error */
        }
        send_expect_error(buf, len, 0);
    }

    /* Every strict prefix of valid requests of each kind. */
    tvec_tx w;
    make_withdraw(1, 40, true, &w);
    uint8_t hash[32];
    app_hash(g_height + 1, hash);
    Veil__Tve__Request reqs[6];
    for (int i = 0; i < 6; i++) veil__tve__request__init(&reqs[i]);
    Veil__Tve__InitChainRequest ic = VEIL__TVE__INIT_CHAIN_REQUEST__INIT;
    ic.chain_id = CHAIN;
    reqs[0].request_case = VEIL__TVE__REQUEST__REQUEST_INIT_CHAIN;
    reqs[0].init_chain = &ic;
    Veil__Tve__CheckChainRequest cc = VEIL__TVE__CHECK_CHAIN_REQUEST__INIT;
    cc.chain_id = CHAIN;
    cc.height = g_height;
    cc.app_hash = (ProtobufCBinaryData){32, hash};
    reqs[1].request_case = VEIL__TVE__REQUEST__REQUEST_CHECK_CHAIN;
    reqs[1].check_chain = &cc;
    Veil__Tve__CommitBlockRequest cb = VEIL__TVE__COMMIT_BLOCK_REQUEST__INIT;
    ProtobufCBinaryData ids[1] = {{32, w.txid}};
    cb.height = g_height + 1;
    cb.app_hash = (ProtobufCBinaryData){32, hash};
    cb.n_txids = 1;
    cb.txids = ids;
    reqs[2].request_case = VEIL__TVE__REQUEST__REQUEST_COMMIT_BLOCK;
    reqs[2].commit_block = &cb;
    Veil__Tve__GetSealedTxsRequest gs = VEIL__TVE__GET_SEALED_TXS_REQUEST__INIT;
    gs.n_txids = 1;
    gs.txids = ids;
    reqs[3].request_case = VEIL__TVE__REQUEST__REQUEST_GET_SEALED_TXS;
    reqs[3].get_sealed_txs = &gs;
    Veil__Tve__EndBlockRequest eb = VEIL__TVE__END_BLOCK_REQUEST__INIT;
    eb.height = g_height + 1;
    reqs[4].request_case = VEIL__TVE__REQUEST__REQUEST_END_BLOCK;
    reqs[4].end_block = &eb;
    Veil__Tve__VerifyTxRequest vt = VEIL__TVE__VERIFY_TX_REQUEST__INIT;
    Veil__Tve__TxContext ctx = VEIL__TVE__TX_CONTEXT__INIT;
    ctx.tx.data = w.wire;
    ctx.tx.len = w.wire_len;
    ctx.account = &w.account;
    w.account.address.data = w.account_addr;
    vt.mode = VEIL__TVE__MODE__DELIVER;
    vt.height = g_height + 1;
    vt.params = &g_chain.params;
    vt.tx = &ctx;
    reqs[5].request_case = VEIL__TVE__REQUEST__REQUEST_VERIFY_TX;
    reqs[5].verify_tx = &vt;
    size_t truncated = 0;
    for (int k = 0; k < 6; k++) {
        size_t len;
        uint8_t *frame = tvec_request_pack(&reqs[k], &len);
        size_t step = len > 200 ? len / 150 : 1;
        for (size_t cut = 0; cut < len; cut += step, truncated++)
            send_expect_error(frame, cut, cut == 0 ? VEIL_ERR_TVE_UNKNOWN_REQUEST : 0);
        free(frame);
    }
    size_t len;
    uint8_t *frame =
        tvec_verify_block_pack(&g_chain, g_height + 1, (tvec_tx *const[]){&w}, 1, &len);
    for (size_t cut = 1; cut < len; cut += 3, truncated++) send_expect_error(frame, cut, 0);
    free(frame);
    assert_true(truncated >= 300);

    /* Over the limits: 1 MiB + 1 that is not a block; 32 MiB + 1 that claims to be. */
    fill_random(buf, max + 1);
    buf[0] = 0x0a;
    send_expect_error(buf, max + 1, VEIL_ERR_TOO_LARGE);
    size_t huge_len = (32u << 20) + 1;
    uint8_t *huge = calloc(1, huge_len);
    assert_non_null(huge);
    huge[0] = 0x2a;
    send_expect_error(huge, huge_len, VEIL_ERR_TOO_LARGE);
    /* 2 MiB claiming to be a block, garbage inside. */
    fill_random(huge, 2u << 20);
    huge[0] = 0x2a;
    send_expect_error(huge, 2u << 20, 0);
    /* A status request behind a verify_block field that pads the frame past 1 MiB:
     * the oneof's last field wins, and a large frame must really be a block. */
    size_t pad = 0x120000 - 4; /* an unknown bytes field 15 inside VerifyBlockRequest */
    huge[0] = 0x2a;
    huge[1] = 0x80;
    huge[2] = 0x80;
    huge[3] = 0x48; /* VerifyBlockRequest length 0x120000 */
    huge[4] = 0x7a; /* field 15, length-delimited */
    huge[5] = (uint8_t)(0x80 | (pad & 0x7f));
    huge[6] = (uint8_t)(0x80 | ((pad >> 7) & 0x7f));
    huge[7] = (uint8_t)(pad >> 14);
    memset(huge + 8, 0x55, pad);
    size_t fake = 4 + 0x120000;
    huge[fake] = 0x0a;
    huge[fake + 1] = 0x00; /* status {} */
    Veil__Tve__Request *probe = veil__tve__request__unpack(NULL, fake + 2, huge);
    assert_non_null(probe);
    assert_int_equal(probe->request_case, VEIL__TVE__REQUEST__REQUEST_STATUS);
    veil__tve__request__free_unpacked(probe, NULL);
    send_expect_error(huge, fake + 2, VEIL_ERR_TOO_LARGE);
    free(huge);

    /* A two-part message: not a protocol frame. */
    assert_true(zmq_send(g_c.sock, "\x0a", 1, ZMQ_SNDMORE) == 1);
    assert_true(zmq_send(g_c.sock, "\x00", 1, 0) == 1);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    assert_true(zmq_msg_recv(&msg, g_c.sock, 0) >= 0);
    Veil__Tve__Response *r =
        veil__tve__response__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
    zmq_msg_close(&msg);
    assert_non_null(r);
    assert_int_equal(tvec_error_code(r), VEIL_ERR_TVE_UNKNOWN_REQUEST);
    tvec_response_free(r);

    assert_true(g_errors_seen >= 3500);
    assert_true(tvec_daemon_alive(&g_daemon));
    assert_int_equal(status_height(), g_height);
    /* Nothing of the above changed state: the tx is still deliverable. */
    const tvec_tx *ws[] = {&w};
    block_commit(ws, 1);
    tvec_tx_free(&w);
    free(buf);
}

/* The daemon refuses to start with a configured identity that the enclave does not
 * have, or on a store another daemon is using. */
static void test_start_refused(void **state)
{
    (void)state;
    char home[160], ep[200];
    int st = 0;
    tvec_daemon twin;
    snprintf(ep, sizeof ep, "ipc://%s/twin.sock", g_dir);
    assert_int_equal(tvec_daemon_start(&twin, VEIL_BIN, ep, g_home, g_plat, 1, NULL, 30, &st), -1);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_int_equal(status_height(), g_height); /* the first one is unaffected */

    snprintf(home, sizeof home, "%s/home-id", g_dir);
    snprintf(ep, sizeof ep, "ipc://%s/id.sock", g_dir);
    const char *zeros = "0000000000000000000000000000000000000000000000000000000000000000";
    const char *const args1[] = {"--mrsigner", zeros, NULL};
    const char *const args2[] = {"--mrenclave", zeros, NULL};
    const char *const args3[] = {"--min-svn", "2", NULL};
    const char *const *sets[] = {args1, args2, args3};
    for (int i = 0; i < 3; i++) {
        tvec_daemon d;
        int status = 0;
        assert_int_equal(tvec_daemon_start(&d, VEIL_BIN, ep, home, g_plat, 1, sets[i], 30, &status),
                         -1);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 1);
    }
    /* The identity the daemon itself reports is accepted. */
    Veil__Tve__Response *r = expect_ok(tvec_status(&g_c), VEIL__TVE__RESPONSE__RESPONSE_STATUS);
    char mrs[65];
    for (int i = 0; i < 32; i++) snprintf(mrs + 2 * i, 3, "%02x", r->status->mrsigner.data[i]);
    tvec_response_free(r);
    const char *const ok[] = {"--mrsigner", mrs, "--min-svn", "1", NULL};
    tvec_daemon d;
    assert_int_equal(tvec_daemon_start(&d, VEIL_BIN, ep, home, g_plat, 1, ok, 30, NULL), 0);
    int status = tvec_daemon_stop(&d, SIGTERM);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_before_init),
        cmocka_unit_test(test_init_chain),
        cmocka_unit_test(test_original_scenario),
        cmocka_unit_test(test_wrong_key_epoch),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_replay_committed),
        cmocka_unit_test(test_item2_committed_tx_refused_before_rules),
        cmocka_unit_test(test_check_batch),
        cmocka_unit_test(test_item8_damaged_store_is_not_a_verdict),
        cmocka_unit_test(test_heights),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_check_chain),
        cmocka_unit_test(test_staging_mismatch),
        cmocka_unit_test(test_duplicate_in_block),
        cmocka_unit_test(test_block_dependencies),
        cmocka_unit_test(test_kill_before_commit),
        cmocka_unit_test(test_kill_after_commit),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_start_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
