/* The chain state a TQE proves for an order (src/trusted/tqe/tqe_state.c), against a
 * real tree of the node's (src/host/node/smt.c): a good answer decodes to the records'
 * values; every lie or damage is VEIL_ERR_TQE_STATE_PROOF. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host/node/smt.h"
#include "trusted/state/smt_verify.h"
#include "trusted/tqe/tqe_state.h"
#include "veil/node.pb-c.h"

static void *sys_alloc(void *d, size_t n)
{
    (void)d;
    return malloc(n);
}
static void sys_free(void *d, void *p)
{
    (void)d;
    free(p);
}
static ProtobufCAllocator g_alloc = {sys_alloc, sys_free, NULL};

#define CAP (64u * 1024u)
static node_smt *g_t;
static uint8_t g_root[32], g_acct[32], g_other[32], g_in_txid[32];
static uint8_t g_params[64], g_account[128], g_other_account[128], g_output[32];
static size_t g_params_len, g_account_len, g_other_account_len, g_output_len;
static veil_tx_body g_body; /* a deposit spending two outputs of g_in_txid */

static void put(uint8_t ns, const void *id, size_t id_len, const uint8_t *rec, size_t n)
{
    uint8_t key[32], vh[32];
    veil_smt_key(key, ns, id, id_len);
    veil_smt_value_hash(vh, rec, n);
    assert_int_equal(node_smt_set(g_t, key, vh), VEIL_OK);
}

static size_t account_rec(const uint8_t addr[32], uint64_t bonded, uint8_t *out)
{
    Veil__Node__Account a = VEIL__NODE__ACCOUNT__INIT;
    a.address.data = (uint8_t *)addr;
    a.address.len = 32;
    a.bonded = bonded;
    a.unbonded = 40;
    a.nonce = 6;
    a.jailed_until = 9;
    return veil__node__account__pack(&a, out);
}

static int setup(void **state)
{
    (void)state;
    memset(g_acct, 0xa1, 32);
    memset(g_other, 0xb2, 32);
    memset(g_in_txid, 0xc3, 32);
    Veil__Node__Params p = VEIL__NODE__PARAMS__INIT;
    p.fee_rule = 2;
    p.fee_base = 10;
    p.fee_per_byte = 3;
    g_params_len = veil__node__params__pack(&p, g_params);
    g_account_len = account_rec(g_acct, 1234, g_account);
    g_other_account_len = account_rec(g_other, 1, g_other_account);
    Veil__Node__OutputStatus o = VEIL__NODE__OUTPUT_STATUS__INIT;
    o.output_count = 3;
    o.spent = 1u << 2; /* output 2 spent */
    o.height = 4;
    g_output_len = veil__node__output_status__pack(&o, g_output);
    if (node_smt_new(&g_t) != VEIL_OK) return -1;
    put(VEIL_SMT_NS_PARAM, "chain", 5, g_params, g_params_len);
    put(VEIL_SMT_NS_ACCOUNT, g_acct, 32, g_account, g_account_len);
    put(VEIL_SMT_NS_ACCOUNT, g_other, 32, g_other_account, g_other_account_len);
    put(VEIL_SMT_NS_OUTPUT, g_in_txid, 32, g_output, g_output_len);
    node_smt_root(g_t, g_root);
    g_body.kind = VEIL_TX_KIND_DEPOSIT;
    memcpy(g_body.account, g_acct, 32);
    g_body.n_inputs = 2;
    memcpy(g_body.inputs[0].txid, g_in_txid, 32);
    g_body.inputs[0].index = 1;
    memcpy(g_body.inputs[1].txid, g_in_txid, 32);
    g_body.inputs[1].index = 2;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    node_smt_free(g_t);
    return 0;
}

/* Appends the record at (ns, id) — as `rec` (NULL: proven absent) — with the tree's
 * proof for that key. */
static void add(uint8_t *ans, size_t *len, uint8_t ns, const void *id, size_t id_len,
                const uint8_t *rec, size_t n)
{
    uint8_t key[32], enc[VEIL_SMT_PROOF_MAX_LEN];
    size_t enc_len = 0;
    bool present;
    veil_smt_proof *p = malloc(sizeof *p);
    veil_smt_key(key, ns, id, id_len);
    node_smt_prove(g_t, key, p, &present, NULL);
    assert_int_equal(veil_smt_proof_encode(p, enc, sizeof enc, &enc_len), VEIL_OK);
    free(p);
    assert_int_equal(tqe_state_answer_add(rec, n, enc, enc_len, ans, CAP, len), VEIL_OK);
}

/* The honest answer for g_body. */
static size_t honest(uint8_t *ans)
{
    size_t len = 0;
    assert_int_equal(tqe_state_answer_begin(8, ans, CAP, &len), VEIL_OK);
    add(ans, &len, VEIL_SMT_NS_PARAM, "chain", 5, g_params, g_params_len);
    add(ans, &len, VEIL_SMT_NS_ACCOUNT, g_acct, 32, g_account, g_account_len);
    add(ans, &len, VEIL_SMT_NS_OUTPUT, g_in_txid, 32, g_output, g_output_len);
    add(ans, &len, VEIL_SMT_NS_OUTPUT, g_in_txid, 32, g_output, g_output_len);
    return len;
}

static veil_status judge(const uint8_t *ans, size_t len, tqe_chain_state *cs)
{
    return tqe_state_verify(&g_alloc, ans, len, g_root, &g_body, cs);
}

static void test_honest(void **state)
{
    (void)state;
    uint8_t *ans = malloc(CAP);
    size_t len = honest(ans);
    tqe_chain_state cs;
    int64_t h = 0;
    assert_int_equal(tqe_state_answer_height(ans, len, &h), VEIL_OK);
    assert_int_equal(h, 8);
    assert_int_equal(judge(ans, len, &cs), VEIL_OK);
    assert_int_equal(cs.height, 8);
    assert_int_equal(cs.fee_rule, 2);
    assert_int_equal(cs.fee_base, 10);
    assert_int_equal(cs.fee_per_byte, 3);
    assert_true(cs.account.present);
    assert_memory_equal(cs.account.address, g_acct, 32);
    assert_int_equal(cs.account.bonded, 1234);
    assert_int_equal(cs.account.unbonded, 40);
    assert_int_equal(cs.account.nonce, 6);
    assert_int_equal(cs.account.jailed_until, 9);
    assert_int_equal(cs.n_spent, 2);
    assert_false(cs.spent[0]); /* output 1 */
    assert_true(cs.spent[1]);  /* output 2 */

    /* The request the enclave sends for this body names these four records. */
    tqe_state_key keys[TQE_STATE_MAX_KEYS], back[TQE_STATE_MAX_KEYS];
    uint8_t req[TQE_STATE_REQUEST_MAX];
    size_t n = tqe_state_keys(&g_body, keys), rl = 0, m = 0;
    assert_int_equal(n, 4);
    assert_int_equal(tqe_state_request_encode(keys, n, req, sizeof req, &rl), VEIL_OK);
    assert_int_equal(tqe_state_request_decode(req, rl, back, &m), VEIL_OK);
    assert_int_equal(m, 4);
    assert_memory_equal(back, keys, sizeof keys[0] * 4);
    assert_int_equal(tqe_state_request_decode(req, rl - 1, back, &m), VEIL_ERR_MALFORMED);
    req[0] = 0;
    assert_int_equal(tqe_state_request_decode(req, rl, back, &m), VEIL_ERR_MALFORMED);

    /* An account proven absent is no account; an input's tx proven absent spends
     * nothing. */
    uint8_t absent[32];
    memset(absent, 0xee, 32);
    veil_tx_body b = g_body;
    memcpy(b.account, absent, 32);
    memcpy(b.inputs[0].txid, absent, 32);
    b.n_inputs = 1;
    len = 0;
    assert_int_equal(tqe_state_answer_begin(8, ans, CAP, &len), VEIL_OK);
    add(ans, &len, VEIL_SMT_NS_PARAM, "chain", 5, g_params, g_params_len);
    add(ans, &len, VEIL_SMT_NS_ACCOUNT, absent, 32, NULL, 0);
    add(ans, &len, VEIL_SMT_NS_OUTPUT, absent, 32, NULL, 0);
    assert_int_equal(tqe_state_verify(&g_alloc, ans, len, g_root, &b, &cs), VEIL_OK);
    assert_false(cs.account.present);
    assert_false(cs.spent[0]);
    free(ans);
}

static void test_lies(void **state)
{
    (void)state;
    uint8_t *ans = malloc(CAP), *bad = malloc(CAP);
    size_t len = honest(ans), n = 0;
    tqe_chain_state cs;
    /* Another root (another height's state). */
    uint8_t other_root[32];
    memcpy(other_root, g_root, 32);
    other_root[0] ^= 1;
    assert_int_equal(tqe_state_verify(&g_alloc, ans, len, other_root, &g_body, &cs),
                     VEIL_ERR_TQE_STATE_PROOF);
    /* Any byte flipped (the height excepted, which is not the verifier's to judge). */
    for (size_t i = 8; i < len; i++) {
        memcpy(bad, ans, len);
        bad[i] ^= 0x01;
        assert_int_not_equal(judge(bad, len, &cs), VEIL_OK);
        assert_int_equal(judge(bad, len, &cs), VEIL_ERR_TQE_STATE_PROOF);
    }
    /* Truncated at every length, or with a byte after. */
    for (size_t i = 0; i < len; i++) assert_int_equal(judge(ans, i, &cs), VEIL_ERR_TQE_STATE_PROOF);
    memcpy(bad, ans, len);
    bad[len] = 0;
    assert_int_equal(judge(bad, len + 1, &cs), VEIL_ERR_TQE_STATE_PROOF);
    /* A record missing, or one too many. */
    n = 0;
    assert_int_equal(tqe_state_answer_begin(8, bad, CAP, &n), VEIL_OK);
    add(bad, &n, VEIL_SMT_NS_PARAM, "chain", 5, g_params, g_params_len);
    add(bad, &n, VEIL_SMT_NS_ACCOUNT, g_acct, 32, g_account, g_account_len);
    add(bad, &n, VEIL_SMT_NS_OUTPUT, g_in_txid, 32, g_output, g_output_len);
    assert_int_equal(judge(bad, n, &cs), VEIL_ERR_TQE_STATE_PROOF);
    add(bad, &n, VEIL_SMT_NS_OUTPUT, g_in_txid, 32, g_output, g_output_len);
    add(bad, &n, VEIL_SMT_NS_OUTPUT, g_in_txid, 32, g_output, g_output_len);
    assert_int_equal(judge(bad, n, &cs), VEIL_ERR_TQE_STATE_PROOF);
    /* Records out of order. */
    n = 0;
    assert_int_equal(tqe_state_answer_begin(8, bad, CAP, &n), VEIL_OK);
    add(bad, &n, VEIL_SMT_NS_ACCOUNT, g_acct, 32, g_account, g_account_len);
    add(bad, &n, VEIL_SMT_NS_PARAM, "chain", 5, g_params, g_params_len);
    add(bad, &n, VEIL_SMT_NS_OUTPUT, g_in_txid, 32, g_output, g_output_len);
    add(bad, &n, VEIL_SMT_NS_OUTPUT, g_in_txid, 32, g_output, g_output_len);
    assert_int_equal(judge(bad, n, &cs), VEIL_ERR_TQE_STATE_PROOF);
    /* Another account's record (with its own valid proof) for this account. */
    n = 0;
    assert_int_equal(tqe_state_answer_begin(8, bad, CAP, &n), VEIL_OK);
    add(bad, &n, VEIL_SMT_NS_PARAM, "chain", 5, g_params, g_params_len);
    add(bad, &n, VEIL_SMT_NS_ACCOUNT, g_other, 32, g_other_account, g_other_account_len);
    add(bad, &n, VEIL_SMT_NS_OUTPUT, g_in_txid, 32, g_output, g_output_len);
    add(bad, &n, VEIL_SMT_NS_OUTPUT, g_in_txid, 32, g_output, g_output_len);
    assert_int_equal(judge(bad, n, &cs), VEIL_ERR_TQE_STATE_PROOF);
    /* The account claimed absent (a proof of absence cannot verify for a present key). */
    n = 0;
    assert_int_equal(tqe_state_answer_begin(8, bad, CAP, &n), VEIL_OK);
    add(bad, &n, VEIL_SMT_NS_PARAM, "chain", 5, g_params, g_params_len);
    add(bad, &n, VEIL_SMT_NS_ACCOUNT, g_acct, 32, NULL, 0);
    add(bad, &n, VEIL_SMT_NS_OUTPUT, g_in_txid, 32, g_output, g_output_len);
    add(bad, &n, VEIL_SMT_NS_OUTPUT, g_in_txid, 32, g_output, g_output_len);
    assert_int_equal(judge(bad, n, &cs), VEIL_ERR_TQE_STATE_PROOF);
    /* Height 0 is no header's. */
    memcpy(bad, ans, len);
    memset(bad, 0, 8);
    assert_int_equal(judge(bad, len, &cs), VEIL_ERR_TQE_STATE_PROOF);
    free(ans);
    free(bad);
}

/* Parameters the chain does not have, in a tree that does prove them: no fee rule (0),
 * or none at all. */
static void test_params_required(void **state)
{
    (void)state;
    node_smt *keep = g_t;
    uint8_t keep_root[32], *ans = malloc(CAP);
    memcpy(keep_root, g_root, 32);
    Veil__Node__Params p = VEIL__NODE__PARAMS__INIT; /* fee_rule 0 */
    uint8_t rec[16];
    size_t rn = veil__node__params__pack(&p, rec), len = 0;
    veil_tx_body b = {0};
    b.kind = VEIL_TX_KIND_TRANSFER;
    tqe_chain_state cs;
    for (int present = 0; present < 2; present++) {
        assert_int_equal(node_smt_new(&g_t), VEIL_OK);
        if (present) put(VEIL_SMT_NS_PARAM, "chain", 5, rec, rn);
        put(VEIL_SMT_NS_ACCOUNT, g_acct, 32, g_account, g_account_len);
        node_smt_root(g_t, g_root);
        len = 0;
        assert_int_equal(tqe_state_answer_begin(8, ans, CAP, &len), VEIL_OK);
        add(ans, &len, VEIL_SMT_NS_PARAM, "chain", 5, present ? rec : NULL, rn);
        assert_int_equal(tqe_state_verify(&g_alloc, ans, len, g_root, &b, &cs),
                         VEIL_ERR_TQE_STATE_PROOF);
        node_smt_free(g_t);
    }
    g_t = keep;
    memcpy(g_root, keep_root, 32);
    free(ans);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_honest),
        cmocka_unit_test(test_lies),
        cmocka_unit_test(test_params_required),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
