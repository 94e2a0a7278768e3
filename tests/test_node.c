/* src/host/node without a TVE: the app-hash tree and its proofs, state records and
 * the store, genesis parsing, the ChainTx envelope and the public txs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cursor.h"
#include "common/hex.h"
#include "crypto/crypto.h"
#include "host/node/node_genesis.h"
#include "chain/node_records.h"
#include "host/node/node_state.h"
#include "chain/node_tx.h"
#include "host/node/node_rules.h"
#include "host/node/smt.h"
#include "trusted/state/smt_verify.h"
#include "host/attest/attest.h"
#include "hostutil/fileio.h"
#include "tee/sim/sim_host.h"
#include "tee/sim/sim_pcs.h"
#include "support/ias_world.h"
#include "trusted/ratls/ratls_evidence.h"
#include "tee/tee.h"
#include "enclave/test_enclave.h"

#define TEST_ENCLAVE_IMG VEIL_BUILD_DIR "/enclaves/test_enclave.signed.so"

/* --- a reference tree: the full 256-level definition, computed naively ------------- */
typedef struct leaf {
    uint8_t key[32];
    uint8_t vh[32];
} leaf;

static int leaf_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

/* The compact tree's rules written out plainly (smt_verify.h): an empty subtree is
 * zero, a subtree of one leaf is that leaf's hash, any other is node(left, right). */
static const uint8_t g_zero[32];

/* Hash of the subtree at depth d holding the sorted leaves [lo, hi). */
static void ref_root(const leaf *l, size_t lo, size_t hi, unsigned d, uint8_t out[32])
{
    if (lo == hi) {
        memcpy(out, g_zero, 32);
        return;
    }
    if (hi - lo == 1) {
        veil_smt_leaf_hash(out, l[lo].key, l[lo].vh);
        return;
    }
    size_t mid = lo;
    while (mid < hi && !veil_smt_bit(l[mid].key, d)) mid++;
    uint8_t a[32], b[32];
    ref_root(l, lo, mid, d + 1, a);
    ref_root(l, mid, hi, d + 1, b);
    veil_smt_node_hash(out, a, b);
}

static void ref_root_of(leaf *l, size_t n, uint8_t out[32])
{
    qsort(l, n, sizeof *l, leaf_cmp);
    ref_root(l, 0, n, 0, out);
}

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

static void rnd_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rnd();
}

static void test_smt_matches_reference(void **state)
{
    (void)state;
    enum { N = 300 };
    leaf *l = calloc(N, sizeof *l);
    node_smt *t;
    uint8_t r1[32], r2[32], want[32];
    assert_int_equal(node_smt_new(&t), VEIL_OK);
    node_smt_root(t, r1);
    assert_memory_equal(r1, g_zero, 32);
    for (size_t i = 0; i < N; i++) {
        rnd_bytes(l[i].key, 32);
        rnd_bytes(l[i].vh, 32);
    }
    /* two keys sharing a long prefix, and one differing only in the last bit */
    memcpy(l[1].key, l[0].key, 31);
    l[1].key[31] = l[0].key[31] ^ 1;
    memcpy(l[2].key, l[0].key, 16);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(node_smt_set(t, l[i].key, l[i].vh), VEIL_OK);
        if (i < 5) { /* the root after every early insert, too */
            leaf tmp[5];
            memcpy(tmp, l, (i + 1) * sizeof *l);
            ref_root_of(tmp, i + 1, want);
            node_smt_root(t, r1);
            assert_memory_equal(r1, want, 32);
        }
    }
    assert_int_equal(node_smt_count(t), N);
    node_smt_root(t, r1);
    leaf *sorted = malloc(N * sizeof *l);
    memcpy(sorted, l, N * sizeof *l);
    ref_root_of(sorted, N, want);
    assert_memory_equal(r1, want, 32);

    /* insertion order does not matter */
    node_smt *t2;
    assert_int_equal(node_smt_new(&t2), VEIL_OK);
    for (size_t i = N; i-- > 0;) assert_int_equal(node_smt_set(t2, l[i].key, l[i].vh), VEIL_OK);
    node_smt_root(t2, r2);
    assert_memory_equal(r1, r2, 32);

    /* updates and deletes track the reference */
    rnd_bytes(l[7].vh, 32);
    assert_int_equal(node_smt_set(t, l[7].key, l[7].vh), VEIL_OK);
    assert_int_equal(node_smt_delete(t, l[0].key), VEIL_OK);
    assert_int_equal(node_smt_delete(t, l[0].key), VEIL_ERR_NOT_FOUND);
    assert_int_equal(node_smt_delete(t, l[100].key), VEIL_OK);
    memcpy(sorted, l + 1, 99 * sizeof *l);
    memcpy(sorted + 99, l + 101, (N - 101) * sizeof *l);
    ref_root_of(sorted, N - 2, want);
    node_smt_root(t, r1);
    assert_memory_equal(r1, want, 32);
    /* deleting everything gives the empty root back */
    for (size_t i = 1; i < N; i++)
        if (i != 100) assert_int_equal(node_smt_delete(t, l[i].key), VEIL_OK);
    node_smt_root(t, r1);
    assert_memory_equal(r1, g_zero, 32);
    node_smt_free(t);
    node_smt_free(t2);
    free(sorted);
    free(l);
}

static void test_smt_proofs(void **state)
{
    (void)state;
    enum { N = 64 };
    leaf l[N];
    node_smt *t;
    uint8_t root[32], vh[32], enc[VEIL_SMT_PROOF_MAX_LEN];
    veil_smt_proof *p = malloc(sizeof *p), *q = malloc(sizeof *q);
    bool present;
    size_t len;
    assert_int_equal(node_smt_new(&t), VEIL_OK);

    /* the empty tree proves absence with no siblings */
    uint8_t absent[32];
    rnd_bytes(absent, 32);
    node_smt_root(t, root);
    node_smt_prove(t, absent, p, &present, NULL);
    assert_false(present);
    assert_int_equal(p->n_siblings, 0);
    assert_int_equal(veil_smt_verify(root, absent, NULL, p), VEIL_OK);

    for (size_t i = 0; i < N; i++) {
        rnd_bytes(l[i].key, 32);
        rnd_bytes(l[i].vh, 32);
        assert_int_equal(node_smt_set(t, l[i].key, l[i].vh), VEIL_OK);
    }
    node_smt_root(t, root);
    for (size_t i = 0; i < N; i++) {
        node_smt_prove(t, l[i].key, p, &present, vh);
        assert_true(present);
        assert_memory_equal(vh, l[i].vh, 32);
        assert_int_equal(veil_smt_verify(root, l[i].key, l[i].vh, p), VEIL_OK);
        /* wrong value, claimed absence, another key */
        vh[0] ^= 1;
        assert_int_equal(veil_smt_verify(root, l[i].key, vh, p), VEIL_ERR_AUTH);
        assert_int_equal(veil_smt_verify(root, l[i].key, NULL, p), VEIL_ERR_AUTH);
        assert_int_equal(veil_smt_verify(root, l[(i + 1) % N].key, l[i].vh, p), VEIL_ERR_AUTH);
        /* round trip through the encoding */
        assert_int_equal(veil_smt_proof_encode(p, enc, sizeof enc, &len), VEIL_OK);
        assert_int_equal(len, 32 + 32 * p->n_siblings);
        assert_int_equal(veil_smt_proof_decode(enc, len, q), VEIL_OK);
        assert_int_equal(veil_smt_verify(root, l[i].key, l[i].vh, q), VEIL_OK);
        assert_int_equal(veil_smt_proof_decode(enc, len - 1, q), VEIL_ERR_TRUNCATED);
        enc[len] = 0;
        assert_int_equal(veil_smt_proof_decode(enc, len + 1, q), VEIL_ERR_MALFORMED);
        /* a tampered sibling */
        assert_true(p->n_siblings > 0);
        *q = *p;
        q->siblings[rnd() % q->n_siblings][rnd() % 32] ^= 0x40;
        assert_int_equal(veil_smt_verify(root, l[i].key, l[i].vh, q), VEIL_ERR_AUTH);
        /* a bitmap claiming more siblings than carried, or moved */
        *q = *p;
        for (unsigned d = 0; d < 256; d++)
            if (!veil_smt_bit(q->bitmap, d)) {
                q->bitmap[d / 8] |= (uint8_t)(0x80 >> (d % 8));
                break;
            }
        assert_int_equal(veil_smt_verify(root, l[i].key, l[i].vh, q), VEIL_ERR_MALFORMED);
    }
    /* absent keys: non-inclusion proofs, including one that shares a long prefix with
     * a present key (the path then ends at that key's leaf, which the proof carries) */
    for (int k = 0; k < 20; k++) {
        rnd_bytes(absent, 32);
        if (k == 0) {
            memcpy(absent, l[3].key, 32);
            absent[31] ^= 0x80;
        }
        node_smt_prove(t, absent, p, &present, NULL);
        assert_false(present);
        assert_int_equal(veil_smt_verify(root, absent, NULL, p), VEIL_OK);
        /* claiming the key present with this proof: malformed if it carries another
         * leaf, else the hashes disagree */
        assert_int_equal(veil_smt_verify(root, absent, l[0].vh, p),
                         p->has_other ? VEIL_ERR_MALFORMED : VEIL_ERR_AUTH);
        assert_int_equal(veil_smt_proof_encode(p, enc, sizeof enc, &len), VEIL_OK);
        assert_int_equal(len, 32 + 32 * p->n_siblings + (p->has_other ? 64 : 0));
        assert_int_equal(veil_smt_proof_decode(enc, len, q), VEIL_OK);
        assert_int_equal(veil_smt_verify(root, absent, NULL, q), VEIL_OK);
        if (k == 0) {
            /* The path ends at l[3]'s leaf: the proof carries it. It cannot prove the
             * present key absent, nor stand for a key off its path. */
            assert_true(p->has_other);
            assert_memory_equal(p->other_key, l[3].key, 32);
            assert_int_equal(veil_smt_verify(root, l[3].key, NULL, p), VEIL_ERR_MALFORMED);
            uint8_t off[32];
            memcpy(off, absent, 32);
            off[0] ^= 0x80;
            assert_int_equal(veil_smt_verify(root, off, NULL, p), VEIL_ERR_MALFORMED);
            /* nor pass as "empty" without it */
            *q = *p;
            q->has_other = false;
            assert_int_equal(veil_smt_verify(root, absent, NULL, q), VEIL_ERR_AUTH);
        }
    }
    /* a carried zero sibling is not canonical */
    node_smt_prove(t, l[5].key, p, &present, NULL);
    *q = *p;
    memset(q->siblings[0], 0, 32);
    assert_int_equal(veil_smt_verify(root, l[5].key, l[5].vh, q), VEIL_ERR_MALFORMED);
    /* a record-level check */
    uint8_t rec[] = "record";
    uint8_t key[32];
    veil_smt_key(key, VEIL_SMT_NS_PARAM, (const uint8_t *)"x", 1);
    veil_smt_value_hash(vh, rec, sizeof rec);
    assert_int_equal(node_smt_set(t, key, vh), VEIL_OK);
    node_smt_root(t, root);
    node_smt_prove(t, key, p, &present, NULL);
    assert_int_equal(veil_smt_verify_record(root, VEIL_SMT_NS_PARAM, (const uint8_t *)"x", 1, rec,
                                            sizeof rec, p),
                     VEIL_OK);
    assert_int_equal(veil_smt_verify_record(root, VEIL_SMT_NS_ACCOUNT, (const uint8_t *)"x", 1, rec,
                                            sizeof rec, p),
                     VEIL_ERR_AUTH);
    node_smt_free(t);
    free(p);
    free(q);
}

/* The app-hash format's vector (docs/node.md, "App hash"), computed from the written
 * rules by an independent implementation (tests/smt_reference.py): output records of txids 01..01, 02..02,
 * 03..03 with values "a", "b", "c". Keys 1 and 3 share their first three bits, so the
 * branch below them is lifted through two empty levels. */
static void test_smt_vector(void **state)
{
    (void)state;
    static const char *const want_one =
        "85c3e4523f76f4752251d50a3577202d89843846792536897701bc028ad75ec2";
    static const char *const want_three =
        "18f2b07c483b0a5b0a097543e274e488a4733b97645448ab3417be1e713c917f";
    node_smt *t;
    uint8_t root[32], key[32], vh[32], id[32], want[32];
    assert_int_equal(node_smt_new(&t), VEIL_OK);
    for (int i = 1; i <= 3; i++) {
        memset(id, i, sizeof id);
        char v = (char)('a' + i - 1);
        veil_smt_key(key, VEIL_SMT_NS_OUTPUT, id, sizeof id);
        veil_smt_value_hash(vh, (const uint8_t *)&v, 1);
        assert_int_equal(node_smt_set(t, key, vh), VEIL_OK);
        node_smt_root(t, root);
        if (i == 1) {
            assert_int_equal(veil_hex_decode_exact(want, 32, want_one, 64), VEIL_OK);
            assert_memory_equal(root, want, 32);
        }
    }
    assert_int_equal(veil_hex_decode_exact(want, 32, want_three, 64), VEIL_OK);
    assert_memory_equal(root, want, 32);
    node_smt_free(t);

    /* Proofs, byte for byte: fuzz/corpus/smt_proof/ holds the reference's proofs (mode
     * byte first) for the tree of output ids 0..7 valued by their id byte. */
    assert_int_equal(node_smt_new(&t), VEIL_OK);
    uint8_t keys[8][32];
    for (int i = 0; i < 8; i++) {
        uint8_t b = (uint8_t)i;
        veil_smt_key(keys[i], VEIL_SMT_NS_OUTPUT, &b, 1);
        veil_smt_value_hash(vh, &b, 1);
        assert_int_equal(node_smt_set(t, keys[i], vh), VEIL_OK);
    }
    veil_smt_proof *p = malloc(sizeof *p);
    uint8_t enc[VEIL_SMT_PROOF_MAX_LEN], file[VEIL_SMT_PROOF_MAX_LEN + 1];
    for (int i = 0; i <= 8; i++) {
        char path[512];
        uint8_t absent_id = 0xee, absent[32];
        veil_smt_key(absent, VEIL_SMT_NS_OUTPUT, &absent_id, 1);
        if (i < 8)
            snprintf(path, sizeof path, "%s/fuzz/corpus/smt_proof/present-%d", VEIL_SOURCE_DIR, i);
        else
            snprintf(path, sizeof path, "%s/fuzz/corpus/smt_proof/absent-key", VEIL_SOURCE_DIR);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        size_t n = fread(file, 1, sizeof file, f);
        fclose(f);
        bool present;
        size_t len;
        node_smt_prove(t, i < 8 ? keys[i] : absent, p, &present, NULL);
        assert_int_equal(present, i < 8);
        assert_int_equal(veil_smt_proof_encode(p, enc, sizeof enc, &len), VEIL_OK);
        assert_int_equal(n, len + 1);
        assert_memory_equal(file + 1, enc, len);
    }
    free(p);
    node_smt_free(t);
}

/* --- records ---------------------------------------------------------------------- */
static void test_records(void **state)
{
    (void)state;
    uint8_t buf[NODE_RECORD_MAX];
    size_t len;
    node_account a, b;
    memset(&a, 0, sizeof a);
    rnd_bytes(a.address, 32);
    a.bonded = 5;
    a.unbonded = 7;
    a.nonce = 3;
    assert_int_equal(node_account_encode(&a, buf, sizeof buf, &len), VEIL_OK);
    assert_int_equal(node_account_decode(buf, len, &b), VEIL_OK);
    assert_memory_equal(&a, &b, sizeof a);
    a.has_node = true;
    a.node.enclave_pubkey_len = 65;
    a.node.quote_verified = true;
    assert_int_equal(node_account_encode(&a, buf, sizeof buf, &len), VEIL_OK);
    assert_int_equal(node_account_decode(buf, len, &b), VEIL_OK);
    assert_memory_equal(&a, &b, sizeof a);
    /* unknown field appended: refused */
    buf[len] = 0x78; /* field 15, varint */
    buf[len + 1] = 1;
    assert_int_equal(node_account_decode(buf, len + 2, &b), VEIL_ERR_MALFORMED);
    assert_int_equal(node_account_decode(buf, len - 1, &b), VEIL_ERR_MALFORMED);

    node_output o = {3, 5, 9}, o2;
    assert_int_equal(node_output_encode(&o, buf, sizeof buf, &len), VEIL_OK);
    assert_int_equal(node_output_decode(buf, len, &o2), VEIL_OK);
    assert_int_equal(o2.output_count, 3);
    assert_int_equal(o2.spent, 5);
    assert_int_equal(o2.height, 9);
    o.spent = 8; /* a spent bit beyond the output count */
    assert_int_equal(node_output_encode(&o, buf, sizeof buf, &len), VEIL_OK);
    assert_int_equal(node_output_decode(buf, len, &o2), VEIL_ERR_MALFORMED);
}

/* --- genesis ---------------------------------------------------------------------- */
#define ADDR1 "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
#define ADDR2 "c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5"
#define PARAMS                                                                            \
    "\"params\":{\"fee_rule\":\"exact\",\"fee_base\":\"10\",\"fee_per_byte\":\"1\","      \
    "\"unbonding_period\":\"60\",\"key_epoch_blocks\":\"1000\"}"

static veil_status parse(const char *json, char *err, node_genesis *g)
{
    return node_genesis_parse((const uint8_t *)json, strlen(json), g, err, 256);
}

static void test_genesis(void **state)
{
    (void)state;
    node_genesis g;
    char err[256];
    const char *ok = "{" PARAMS ",\"accounts\":[{\"address\":\"" ADDR1 "\",\"bonded\":\"1000\","
                     "\"unbonded\":\"500\",\"unbonded_from\":\"1700000000\",\"nonce\":\"0\"},"
                     "{\"address\":\"" ADDR2 "\",\"bonded\":\"0\",\"unbonded\":\"1\","
                     "\"unbonded_from\":\"0\"}],\"outputs\":[]}";
    assert_int_equal(parse(ok, err, &g), VEIL_OK);
    assert_int_equal(g.n_accounts, 2);
    assert_int_equal(g.params.fee_rule, NODE_FEE_EXACT);
    assert_int_equal(g.params.fee_base, 10);
    assert_int_equal(g.params.unbonding_period, 60);
    assert_int_equal(g.accounts[0].bonded, 1000); /* sorted by address: ADDR1 < ADDR2 */
    assert_int_equal(g.accounts[0].unbonded_from, 1700000000);
    node_genesis_free(&g);

    static const struct {
        const char *json;
        const char *msg; /* a substring of the error */
    } bad[] = {
        {"{", "invalid JSON"},
        {"[]", "must be a JSON object"},
        /* Attestation: collateral is a bundle object, complete; Revoked is never accepted. */
        {"{\"params\":{\"fee_rule\":\"exact\",\"fee_base\":\"1\",\"fee_per_byte\":\"1\","
         "\"unbonding_period\":\"1\",\"key_epoch_blocks\":\"1\",\"attestation_collateral\":\"PEM\"}}",
         "must be a collateral bundle object"},
        {"{\"params\":{\"fee_rule\":\"exact\",\"fee_base\":\"1\",\"fee_per_byte\":\"1\","
         "\"unbonding_period\":\"1\",\"key_epoch_blocks\":\"1\",\"attestation_collateral\":"
         "{\"version\":1}}}",
         "trustedRootCaCert: missing"},
        {"{\"params\":{\"fee_rule\":\"exact\",\"fee_base\":\"1\",\"fee_per_byte\":\"1\","
         "\"unbonding_period\":\"1\",\"key_epoch_blocks\":\"1\",\"attestation_accept\":"
         "[\"Revoked\"]}}",
         "Revoked is never accepted"},
        {"{\"params\":{\"fee_rule\":\"exact\",\"fee_base\":\"1\",\"fee_per_byte\":\"1\","
         "\"unbonding_period\":\"1\",\"key_epoch_blocks\":\"1\",\"attestation_ias_root\":\"PEM\"}}",
         "must be the PEM of the report-signing root"},
        {"{\"params\":{\"fee_rule\":\"exact\",\"fee_base\":\"1\",\"fee_per_byte\":\"1\","
         "\"unbonding_period\":\"1\",\"key_epoch_blocks\":\"1\",\"attestation_ias_root\":\"PEM\","
         "\"attestation_collateral\":{}}}",
         "exclude each other"},
        {"{\"params\":{\"fee_rule\":\"exact\",\"fee_base\":\"1\",\"fee_per_byte\":\"1\","
         "\"unbonding_period\":\"1\",\"key_epoch_blocks\":\"1\",\"attestation_ias_max_age\":5}}",
         "only with attestation_ias_root"},
        /* Item 5: a signer pin without product id and minimum SVN, and a pin of neither. */
        {"{\"params\":{\"fee_rule\":\"exact\",\"fee_base\":\"1\",\"fee_per_byte\":\"1\","
         "\"unbonding_period\":\"1\",\"key_epoch_blocks\":\"1\",\"accepted_enclaves\":"
         "[{\"mrsigner\":\"" ADDR1 "\"}]}}",
         "prodid: missing"},
        {"{\"params\":{\"fee_rule\":\"exact\",\"fee_base\":\"1\",\"fee_per_byte\":\"1\","
         "\"unbonding_period\":\"1\",\"key_epoch_blocks\":\"1\",\"accepted_enclaves\":"
         "[{\"prodid\":1}]}}",
         "exactly one of"},
        {"{\"accounts\":[]}", "params"},
        {"{" PARAMS ",\"extra\":1}", "unknown field \"extra\""},
        {"{" PARAMS ",\"outputs\":[{}]}", "initial outputs are not supported"},
        {"{\"params\":{\"fee_rule\":\"some\",\"fee_base\":\"1\",\"fee_per_byte\":\"1\","
         "\"unbonding_period\":\"1\",\"key_epoch_blocks\":\"1\"}}",
         "fee_rule"},
        {"{\"params\":{\"fee_rule\":\"exact\",\"fee_base\":10,\"fee_per_byte\":\"1\","
         "\"unbonding_period\":\"1\",\"key_epoch_blocks\":\"1\"}}",
         "fee_base: must be a decimal string"},
        {"{\"params\":{\"fee_rule\":\"exact\",\"fee_base\":\"010\",\"fee_per_byte\":\"1\","
         "\"unbonding_period\":\"1\",\"key_epoch_blocks\":\"1\"}}",
         "fee_base"},
        {"{\"params\":{\"fee_rule\":\"exact\",\"fee_base\":\"-1\",\"fee_per_byte\":\"1\","
         "\"unbonding_period\":\"1\",\"key_epoch_blocks\":\"1\"}}",
         "fee_base"},
        {"{" PARAMS ",\"accounts\":[{\"address\":\"" ADDR1 "\",\"bonded\":\"1000000000000000001\","
         "\"unbonded\":\"0\",\"unbonded_from\":\"0\"}]}",
         "accounts[0].bonded"},
        {"{" PARAMS ",\"accounts\":[{\"address\":\"" ADDR1 "\",\"bonded\":\"18446744073709551616\","
         "\"unbonded\":\"0\",\"unbonded_from\":\"0\"}]}",
         "accounts[0].bonded"},
        {"{" PARAMS ",\"accounts\":[{\"address\":\"abcd\",\"bonded\":\"1\","
         "\"unbonded\":\"0\",\"unbonded_from\":\"0\"}]}",
         "accounts[0].address"},
        {"{" PARAMS ",\"accounts\":[{\"address\":\"" ADDR1 "\",\"bonded\":\"1\","
         "\"unbonded\":\"0\",\"unbonded_from\":\"0\"},{\"address\":\"" ADDR1 "\",\"bonded\":\"2\","
         "\"unbonded\":\"0\",\"unbonded_from\":\"0\"}]}",
         "appears twice"},
        {"{" PARAMS ",\"accounts\":[{\"address\":\"" ADDR1 "\",\"bonded\":\"600000000000000000\","
         "\"unbonded\":\"0\",\"unbonded_from\":\"0\"},{\"address\":\"" ADDR2
         "\",\"bonded\":\"600000000000000000\",\"unbonded\":\"0\",\"unbonded_from\":\"0\"}]}",
         "maximum supply"},
        {"{" PARAMS ",\"accounts\":[{\"address\":\"" ADDR1 "\",\"bonded\":\"1\"}]}",
         "accounts[0].unbonded: missing"},
        {"{" PARAMS "," PARAMS "}", "invalid JSON"}, /* duplicate key */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        veil_status st = parse(bad[i].json, err, &g);
        if (st == VEIL_OK || strstr(err, bad[i].msg) == NULL)
            fail_msg("case %zu: status %d, error '%s' (wanted '%s')", i, st, err, bad[i].msg);
        assert_null(g.accounts);
    }
}

/* --- public txs ----------------------------------------------------------------------- */
static const char *CHAIN = "veil-test";
static uint8_t g_sk[32], g_pk[32];

static node_params test_params(void)
{
    node_params p;
    memset(&p, 0, sizeof p);
    p.fee_rule = NODE_FEE_EXACT;
    p.unbonding_period = 100;
    return p;
}

/* Encodes, decodes and applies a signed public tx. */
static veil_status run_public(node_public_tx *tx, const uint8_t *sk, const node_params *params,
                              uint64_t now, const node_account *acc, node_account *next)
{
    uint8_t buf[NODE_CHAIN_TX_MAX];
    size_t len;
    node_chain_tx *d = malloc(sizeof *d);
    assert_int_equal(node_public_tx_sign(tx, CHAIN, sk), VEIL_OK);
    assert_int_equal(node_public_tx_encode(tx, buf, sizeof buf, &len), VEIL_OK);
    assert_int_equal(node_chain_tx_decode(buf, len, CHAIN, d), VEIL_OK);
    assert_int_equal(d->type, NODE_TX_PUBLIC);
    node_public_env env = {params, CHAIN, now, 1};
    const char *detail;
    veil_status st = node_public_apply(d, &env, acc, next, &detail);
    free(d);
    return st;
}

static node_account test_account(void)
{
    node_account a;
    memset(&a, 0, sizeof a);
    memcpy(a.address, g_pk, 32);
    a.bonded = 1000;
    a.unbonded = 10;
    a.nonce = 4;
    return a;
}

static void test_public_unbond_unjail(void **state)
{
    (void)state;
    node_params params = test_params();
    node_account acc = test_account(), next;
    node_public_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.kind = NODE_PUBLIC_UNBOND;
    memcpy(tx.account, g_pk, 32);
    tx.amount = 300;
    tx.nonce = 4;
    assert_int_equal(run_public(&tx, g_sk, &params, 5000, &acc, &next), VEIL_OK);
    assert_int_equal(next.bonded, 700);
    assert_int_equal(next.unbonded, 310);
    assert_int_equal(next.unbonded_from, 5100);
    assert_int_equal(next.nonce, 5);

    /* wrong nonce (a replay), no account, too much, zero, jailed, bad signature */
    tx.nonce = 3;
    assert_int_equal(run_public(&tx, g_sk, &params, 5000, &acc, &next), VEIL_ERR_TX_WRONG_NONCE);
    tx.nonce = 4;
    assert_int_equal(run_public(&tx, g_sk, &params, 5000, NULL, &next), VEIL_ERR_TX_ACCOUNT_NOT_FOUND);
    tx.amount = 1001;
    assert_int_equal(run_public(&tx, g_sk, &params, 5000, &acc, &next), VEIL_ERR_ARG);
    tx.amount = 0;
    assert_int_equal(run_public(&tx, g_sk, &params, 5000, &acc, &next), VEIL_ERR_TX_ZERO_VALUE);
    tx.amount = 1;
    acc.jailed_until = 6000;
    assert_int_equal(run_public(&tx, g_sk, &params, 5000, &acc, &next), VEIL_ERR_TX_ACCOUNT_JAILED);
    acc.jailed_until = 0;
    uint8_t other[32];
    memset(other, 0x42, 32);
    assert_int_equal(run_public(&tx, other, &params, 5000, &acc, &next), VEIL_ERR_TX_BAD_SIGNATURE);

    /* a signature for another chain does not verify here */
    {
        uint8_t buf[1024];
        size_t len;
        node_chain_tx *d = malloc(sizeof *d);
        assert_int_equal(node_public_tx_sign(&tx, "other-chain", g_sk), VEIL_OK);
        assert_int_equal(node_public_tx_encode(&tx, buf, sizeof buf, &len), VEIL_OK);
        assert_int_equal(node_chain_tx_decode(buf, len, CHAIN, d), VEIL_OK);
        node_public_env env = {&params, CHAIN, 5000, 1};
        assert_int_equal(node_public_apply(d, &env, &acc, &next, NULL), VEIL_ERR_TX_BAD_SIGNATURE);
        free(d);
    }

    /* unjail */
    memset(&tx, 0, sizeof tx);
    tx.kind = NODE_PUBLIC_UNJAIL;
    memcpy(tx.account, g_pk, 32);
    tx.nonce = 4;
    assert_int_equal(run_public(&tx, g_sk, &params, 5000, &acc, &next), VEIL_ERR_ARG); /* not jailed */
    acc.jailed_until = 5001;
    assert_int_equal(run_public(&tx, g_sk, &params, 5000, &acc, &next), VEIL_ERR_TX_ACCOUNT_JAILED);
    assert_int_equal(run_public(&tx, g_sk, &params, 5001, &acc, &next), VEIL_OK);
    assert_int_equal(next.jailed_until, 0);
    assert_int_equal(next.nonce, 5);
}

static void test_public_node_join(void **state)
{
    /* Certificates are judged at block time: use a block time of today. */
    const uint64_t now = (uint64_t)time(NULL);
    (void)state;
    char dir[] = "/tmp/veil-test-node-XXXXXX", plat[128], root[128], pem[192];
    assert_non_null(mkdtemp(dir));
    snprintf(plat, sizeof plat, "%s/p", dir);
    snprintf(root, sizeof root, "%s/r", dir);
    assert_int_equal(sim_platform_provision(plat, root, 1, false), VEIL_OK);
    tee_platform *p;
    tee_enclave *e;
    assert_int_equal(tee_platform_open(plat, &p), VEIL_OK);
    assert_int_equal(tee_enclave_load(p, TEST_ENCLAVE_IMG, NULL, 0, &e), VEIL_OK);
    tee_identity id;
    tee_enclave_identity(e, &id);

    node_params params = test_params();
    node_account acc = test_account(), next;
    node_public_tx *tx = calloc(1, sizeof *tx);
    tx->kind = NODE_PUBLIC_NODE_JOIN;
    memcpy(tx->account, g_pk, 32);
    tx->nonce = 4;
    tx->enclave_pubkey_len = 33;
    memset(tx->enclave_pubkey, 0x02, 33);
    memcpy(tx->mrenclave, id.mrenclave, 32);
    memcpy(tx->mrsigner, id.mrsigner, 32);
    uint8_t rd[64];
    assert_int_equal(node_join_report_data(CHAIN, g_pk, tx->enclave_pubkey,
                                           tx->enclave_pubkey_len, rd),
                     VEIL_OK);
    assert_int_equal(tee_enclave_call(e, TE_QUOTE, rd, sizeof rd, tx->quote, sizeof tx->quote,
                                      &tx->quote_len),
                     VEIL_OK);
    /* The chain accepts the test enclave's product from its signer. */
    params.n_enclaves = 1;
    params.enclaves[0].by_mrenclave = false;
    memcpy(params.enclaves[0].mrsigner, id.mrsigner, 32);
    params.enclaves[0].prodid = id.prodid;
    params.enclaves[0].min_svn = id.svn;

    /* no collateral: recorded, not verified */
    assert_int_equal(run_public(tx, g_sk, &params, now, &acc, &next), VEIL_OK);
    assert_true(next.has_node);
    assert_false(next.node.quote_verified);
    assert_memory_equal(next.node.mrenclave, id.mrenclave, 32);
    assert_int_equal(next.nonce, 5);

    /* collateral: the quote must verify and bind the key and identity */
    snprintf(pem, sizeof pem, "%s/%s", root, SIM_COLLATERAL_FILE);
    uint8_t *bundle;
    size_t bundle_len;
    assert_int_equal(veil_file_read(pem, NODE_ATTESTATION_COLLATERAL_MAX, &bundle, &bundle_len),
                     VEIL_OK);
    memcpy(params.attestation_collateral, bundle, bundle_len);
    params.attestation_collateral[bundle_len] = '\0';
    free(bundle);
    assert_int_equal(run_public(tx, g_sk, &params, now, &acc, &next), VEIL_OK);
    assert_true(next.node.quote_verified);
    /* The same join in a block from before the certificates and collateral existed,
     * and from after the collateral's nextUpdate (a year). */
    assert_int_not_equal(run_public(tx, g_sk, &params, 10, &acc, &next), VEIL_OK);
    assert_int_equal(run_public(tx, g_sk, &params, now + 400 * 86400ull, &acc, &next),
                     VEIL_ERR_TEE_COLLATERAL_EXPIRED);
    /* A TCB recovery to level 2 makes this level-1 platform OutOfDate: refused unless
     * the chain accepts OutOfDate. */
    node_params recovered = params;
    snprintf(pem, sizeof pem, "%s/recovered.json", dir);
    assert_int_equal(sim_pcs_write_collateral(root, 2, (int64_t)now, 30, pem), VEIL_OK);
    assert_int_equal(veil_file_read(pem, NODE_ATTESTATION_COLLATERAL_MAX, &bundle, &bundle_len),
                     VEIL_OK);
    memcpy(recovered.attestation_collateral, bundle, bundle_len);
    recovered.attestation_collateral[bundle_len] = '\0';
    free(bundle);
    assert_int_equal(run_public(tx, g_sk, &recovered, now, &acc, &next), VEIL_ERR_TEE_TCB_REFUSED);
    recovered.attestation_accept = 1u << DCAP_TCB_OUT_OF_DATE;
    assert_int_equal(run_public(tx, g_sk, &recovered, now, &acc, &next), VEIL_OK);
    tx->mrenclave[0] ^= 1; /* claims another enclave */
    assert_int_equal(run_public(tx, g_sk, &params, now, &acc, &next), VEIL_ERR_TVE_IDENTITY);
    tx->mrenclave[0] ^= 1;
    tx->enclave_pubkey[5] ^= 1; /* the quote binds another key */
    assert_int_equal(run_public(tx, g_sk, &params, now, &acc, &next), VEIL_ERR_AUTH);
    tx->enclave_pubkey[5] ^= 1;
    tx->quote[tx->quote_len / 2] ^= 1; /* a damaged quote */
    assert_int_not_equal(run_public(tx, g_sk, &params, now, &acc, &next), VEIL_OK);
    tx->quote[tx->quote_len / 2] ^= 1;

    /* Item 5 of the attack review: any non-debug enclave of any signer or product could
     * join, and the quote bound only the enclave key, so it could be replayed for
     * another account or chain. */
    node_params open = params;
    open.n_enclaves = 0; /* an empty policy accepts no enclave */
    assert_int_equal(run_public(tx, g_sk, &open, now, &acc, &next), VEIL_ERR_NODE_JOIN_POLICY);
    open = params;
    open.enclaves[0].prodid = (uint16_t)(id.prodid + 1); /* the signer's other product */
    assert_int_equal(run_public(tx, g_sk, &open, now, &acc, &next), VEIL_ERR_NODE_JOIN_POLICY);
    open = params;
    open.enclaves[0].min_svn = (uint16_t)(id.svn + 1); /* an older version than accepted */
    assert_int_equal(run_public(tx, g_sk, &open, now, &acc, &next), VEIL_ERR_NODE_JOIN_POLICY);
    open = params;
    open.enclaves[0].by_mrenclave = true; /* one exact image: this one */
    memcpy(open.enclaves[0].mrenclave, id.mrenclave, 32);
    assert_int_equal(run_public(tx, g_sk, &open, now, &acc, &next), VEIL_OK);
    /* The same quote replayed for another account (signed by that account). */
    uint8_t other_sk[32], other_pk[32];
    memset(other_sk, 0x77, 32);
    assert_int_equal(veil_schnorr_pubkey(other_pk, other_sk), VEIL_OK);
    node_public_tx *replay = calloc(1, sizeof *replay);
    *replay = *tx;
    memcpy(replay->account, other_pk, 32);
    node_account other_acc = acc;
    memcpy(other_acc.address, other_pk, 32);
    assert_int_equal(run_public(replay, other_sk, &params, now, &other_acc, &next), VEIL_ERR_AUTH);
    free(replay);
    /* A quote made for another chain id. */
    uint8_t rd_other[64];
    assert_int_equal(node_join_report_data("another-chain", g_pk, tx->enclave_pubkey,
                                           tx->enclave_pubkey_len, rd_other),
                     VEIL_OK);
    assert_int_equal(tee_enclave_call(e, TE_QUOTE, rd_other, sizeof rd_other, tx->quote,
                                      sizeof tx->quote, &tx->quote_len),
                     VEIL_OK);
    assert_int_equal(run_public(tx, g_sk, &params, now, &acc, &next), VEIL_ERR_AUTH);
    assert_int_equal(tee_enclave_call(e, TE_QUOTE, rd, sizeof rd, tx->quote, sizeof tx->quote,
                                      &tx->quote_len),
                     VEIL_OK);
    assert_int_equal(run_public(tx, g_sk, &params, now, &acc, &next), VEIL_OK);

    /* IAS-style: the chain pins the attestation service's report-signing root instead of
     * collateral, and the join carries the service's report on its quote. */
    ias_world w;
    snprintf(pem, sizeof pem, "%s/%s", root, SIM_COLLATERAL_FILE);
    assert_int_equal(ias_world_start(&w, dir, pem), 0);
    node_params *ip = malloc(sizeof *ip);
    *ip = params;
    ip->attestation_collateral[0] = '\0';
    snprintf(ip->attestation_ias_root, sizeof ip->attestation_ias_root, "%s", w.root_pem);
    ip->attestation_ias_max_age = 3600;
    assert_int_equal(run_public(tx, g_sk, ip, now, &acc, &next), VEIL_ERR_TEE_IAS_REPORT);
    ias_fetched f;
    assert_int_equal(ias_fetch_report(w.proxy_url, NULL, NULL, tx->quote, tx->quote_len, NULL,
                                      5000, &f),
                     VEIL_OK);
    ratls_ias ir = {.body = (const uint8_t *)f.body,
                    .body_len = f.body_len,
                    .signature = (const uint8_t *)f.signature_b64,
                    .signature_len = strlen(f.signature_b64),
                    .chain = (const uint8_t *)f.signing_chain_pem,
                    .chain_len = strlen(f.signing_chain_pem)};
    assert_int_equal(ratls_ias_encode(&ir, tx->ias_report, sizeof tx->ias_report,
                                      &tx->ias_report_len),
                     VEIL_OK);
    ias_fetched_free(&f);
    assert_int_equal(run_public(tx, g_sk, ip, now, &acc, &next), VEIL_OK);
    assert_true(next.node.quote_verified);
    /* Judged at the block's time: a block an hour and more later finds it stale. */
    assert_int_equal(run_public(tx, g_sk, ip, now + 7200, &acc, &next),
                     VEIL_ERR_TEE_COLLATERAL_EXPIRED);
    /* Another root; the report beside another quote (made for another chain id). */
    snprintf(ip->attestation_ias_root, sizeof ip->attestation_ias_root, "%s", w.tls_cert_pem);
    assert_int_equal(run_public(tx, g_sk, ip, now, &acc, &next), VEIL_ERR_TEE_IAS_REPORT);
    snprintf(ip->attestation_ias_root, sizeof ip->attestation_ias_root, "%s", w.root_pem);
    assert_int_equal(tee_enclave_call(e, TE_QUOTE, rd_other, sizeof rd_other, tx->quote,
                                      sizeof tx->quote, &tx->quote_len),
                     VEIL_OK);
    assert_int_equal(run_public(tx, g_sk, ip, now, &acc, &next), VEIL_ERR_TEE_IAS_MISMATCH);
    /* A malformed report. */
    tx->ias_report[0] ^= 0x20;
    assert_int_equal(run_public(tx, g_sk, ip, now, &acc, &next), VEIL_ERR_RATLS_EVIDENCE_FORMAT);
    free(ip);
    ias_world_stop(&w);
    tx->ias_report_len = 0;
    assert_int_equal(tee_enclave_call(e, TE_QUOTE, rd, sizeof rd, tx->quote, sizeof tx->quote,
                                      &tx->quote_len),
                     VEIL_OK);

    /* A validator key named by the join: its holder's signature over (chain, account). */
    uint8_t vpk[32], vsk[64], vmsg[32], vpk2[32], vsk2[64];
    crypto_sign_keypair(vpk, vsk);
    crypto_sign_keypair(vpk2, vsk2);
    assert_int_equal(node_validator_key_message(CHAIN, g_pk, vmsg), VEIL_OK);
    tx->has_validator = true;
    memcpy(tx->validator_pubkey, vpk, 32);
    crypto_sign_detached(tx->validator_signature, NULL, vmsg, 32, vsk);
    assert_int_equal(run_public(tx, g_sk, &params, now, &acc, &next), VEIL_OK);
    assert_true(next.node.has_validator);
    assert_memory_equal(next.node.validator_pubkey, vpk, 32);
    /* Another's key without its holder's signature (here: signed by another key). */
    memcpy(tx->validator_pubkey, vpk2, 32);
    assert_int_equal(run_public(tx, g_sk, &params, now, &acc, &next),
                     VEIL_ERR_NODE_VALIDATOR_SIGNATURE);
    /* The signature of another chain's join. */
    uint8_t vmsg_other[32];
    assert_int_equal(node_validator_key_message("another-chain", g_pk, vmsg_other), VEIL_OK);
    memcpy(tx->validator_pubkey, vpk, 32);
    crypto_sign_detached(tx->validator_signature, NULL, vmsg_other, 32, vsk);
    assert_int_equal(run_public(tx, g_sk, &params, now, &acc, &next),
                     VEIL_ERR_NODE_VALIDATOR_SIGNATURE);
    /* Once named, the account's key stays: a later join may omit it (kept) but not
     * change it. */
    node_account validator_acc = acc;
    validator_acc.has_node = true;
    validator_acc.node.has_validator = true;
    memcpy(validator_acc.node.validator_pubkey, vpk, 32);
    memcpy(tx->validator_pubkey, vpk2, 32);
    crypto_sign_detached(tx->validator_signature, NULL, vmsg, 32, vsk2);
    assert_int_equal(run_public(tx, g_sk, &params, now, &validator_acc, &next),
                     VEIL_ERR_NODE_VALIDATOR_KEY);
    tx->has_validator = false;
    assert_int_equal(run_public(tx, g_sk, &params, now, &validator_acc, &next), VEIL_OK);
    assert_true(next.node.has_validator);
    assert_memory_equal(next.node.validator_pubkey, vpk, 32);
    /* The record keeps it. */
    uint8_t rec[NODE_RECORD_MAX];
    size_t rec_len;
    node_account back;
    assert_int_equal(node_account_encode(&next, rec, sizeof rec, &rec_len), VEIL_OK);
    assert_int_equal(node_account_decode(rec, rec_len, &back), VEIL_OK);
    assert_true(back.node.has_validator);
    assert_memory_equal(back.node.validator_pubkey, vpk, 32);

    acc.bonded = 0; /* no stake */
    assert_int_equal(run_public(tx, g_sk, &params, now, &acc, &next), VEIL_ERR_ARG);

    free(tx);
    tee_enclave_destroy(e);
    tee_platform_close(p);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_envelope(void **state)
{
    (void)state;
    node_chain_tx *d = malloc(sizeof *d);
    node_public_tx tx;
    uint8_t buf[NODE_CHAIN_TX_MAX + 16];
    size_t len;
    memset(&tx, 0, sizeof tx);
    tx.kind = NODE_PUBLIC_UNJAIL;
    memcpy(tx.account, g_pk, 32);
    assert_int_equal(node_public_tx_sign(&tx, CHAIN, g_sk), VEIL_OK);
    assert_int_equal(node_public_tx_encode(&tx, buf, sizeof buf, &len), VEIL_OK);
    assert_int_equal(node_chain_tx_decode(buf, len, CHAIN, d), VEIL_OK);
    /* trailing byte, truncation, unknown envelope field, empty */
    buf[len] = 0;
    assert_int_equal(node_chain_tx_decode(buf, len + 1, CHAIN, d), VEIL_ERR_TX_MALFORMED);
    assert_int_equal(node_chain_tx_decode(buf, len - 1, CHAIN, d), VEIL_ERR_TX_MALFORMED);
    assert_int_equal(node_chain_tx_decode(buf, 0, CHAIN, d), VEIL_ERR_TX_MALFORMED);
    buf[0] = 0x1a;
    assert_int_equal(node_chain_tx_decode(buf, len, CHAIN, d), VEIL_ERR_TX_MALFORMED);
    buf[0] = 0x12;
    /* an unknown field inside the public tx (the length grows by two) */
    uint8_t b2[256];
    memcpy(b2, buf, len);
    b2[1] = (uint8_t)(b2[1] + 2);
    b2[len] = 0x20; /* field 4, varint */
    b2[len + 1] = 0x01;
    assert_int_equal(node_chain_tx_decode(b2, len + 2, CHAIN, d), VEIL_ERR_TX_MALFORMED);
    /* non-minimal length varint */
    b2[0] = 0x12;
    b2[1] = (uint8_t)(0x80 | buf[1]);
    b2[2] = 0x00;
    memcpy(b2 + 3, buf + 2, len - 2);
    assert_int_equal(node_chain_tx_decode(b2, len + 1, CHAIN, d), VEIL_ERR_TX_MALFORMED);
    /* over the limit: refused before decoding */
    assert_int_equal(node_chain_tx_decode(buf, NODE_CHAIN_TX_MAX + 1, CHAIN, d), VEIL_ERR_TX_TOO_LARGE);
    /* a confidential envelope with garbage inside: the tx core's verdict */
    uint8_t junk[] = {0x0a, 0x02, 0x08, 0x01};
    assert_int_not_equal(node_chain_tx_decode(junk, sizeof junk, CHAIN, d), VEIL_OK);
    free(d);
}

/* --- the store ---------------------------------------------------------------------- */
static void test_state_commit_reopen(void **state)
{
    (void)state;
    char dir[] = "/tmp/veil-test-node-XXXXXX";
    assert_non_null(mkdtemp(dir));
    node_state *s;
    assert_int_equal(node_state_open(dir, true, &s), VEIL_OK);
    assert_false(node_state_meta(s)->initialized);
    node_params p = test_params();
    node_account a = test_account();
    uint8_t txid[32], h0[32], h1[32], h2[32];
    rnd_bytes(txid, 32);
    node_output o = {2, 0, 1};
    assert_int_equal(node_state_params_put(s, &p), VEIL_OK);
    assert_int_equal(node_state_account_put(s, &a), VEIL_OK);
    node_state_app_hash(s, h0);
    node_meta m;
    memset(&m, 0, sizeof m);
    m.initialized = true;
    strcpy(m.chain_id, CHAIN);
    m.initial_height = 1;
    memcpy(m.last_app_hash, h0, 32);
    assert_int_equal(node_state_commit(s, &m, NULL, 0), VEIL_OK);

    /* a block in the overlay: proofs stay against the committed root */
    assert_int_equal(node_state_output_put(s, txid, &o), VEIL_OK);
    a.bonded = 1;
    assert_int_equal(node_state_account_put(s, &a), VEIL_OK);
    node_state_app_hash(s, h1);
    assert_memory_not_equal(h0, h1, 32);
    uint8_t *val;
    size_t vlen;
    veil_smt_proof *pr = malloc(sizeof *pr);
    assert_int_equal(node_state_prove(s, VEIL_SMT_NS_ACCOUNT, g_pk, 32, &val, &vlen, pr), VEIL_OK);
    assert_non_null(val);
    assert_int_equal(veil_smt_verify_record(h0, VEIL_SMT_NS_ACCOUNT, g_pk, 32, val, vlen, pr), VEIL_OK);
    free(val);
    assert_int_equal(node_state_prove(s, VEIL_SMT_NS_OUTPUT, txid, 32, &val, &vlen, pr), VEIL_OK);
    assert_null(val);
    assert_int_equal(veil_smt_verify_record(h0, VEIL_SMT_NS_OUTPUT, txid, 32, NULL, 0, pr), VEIL_OK);
    node_state_app_hash(s, h2);
    assert_memory_equal(h1, h2, 32); /* the overlay is back in the tree */

    /* pending reads see the overlay, committed reads do not */
    node_account r;
    bool found;
    assert_int_equal(node_state_account_get(s, true, g_pk, &r, &found), VEIL_OK);
    assert_int_equal(r.bonded, 1);
    assert_int_equal(node_state_account_get(s, false, g_pk, &r, &found), VEIL_OK);
    assert_int_equal(r.bonded, 1000);

    /* rollback restores the root */
    node_state_rollback(s);
    node_state_app_hash(s, h2);
    assert_memory_equal(h0, h2, 32);

    /* commit a block with its record, reopen: same root, same records */
    assert_int_equal(node_state_output_put(s, txid, &o), VEIL_OK);
    assert_int_equal(node_state_account_put(s, &a), VEIL_OK);
    node_state_app_hash(s, h1);
    m.last_height = 1;
    memcpy(m.last_app_hash, h1, 32);
    assert_int_equal(node_state_commit(s, &m, (const uint8_t *)"rec", 3), VEIL_OK);
    node_state_close(s);
    assert_int_equal(node_state_open(dir, true, &s), VEIL_OK);
    assert_int_equal(node_state_meta(s)->last_height, 1);
    node_state_app_hash(s, h2);
    assert_memory_equal(h1, h2, 32);
    assert_int_equal(node_state_output_get(s, false, txid, &o, &found), VEIL_OK);
    assert_true(found);
    assert_int_equal(o.output_count, 2);
    uint8_t *rec;
    size_t rlen;
    assert_int_equal(node_state_block_get(s, 1, &rec, &rlen), VEIL_OK);
    assert_int_equal(rlen, 3);
    free(rec);
    assert_int_equal(node_state_block_get(s, 2, &rec, &rlen), VEIL_ERR_NOT_FOUND);
    node_state_close(s);
    free(pr);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Writes the fuzz corpus (fuzz/corpus/node_tx/) when VEIL_NODE_WRITE_CORPUS names a
 * directory; the fuzz target's replay test runs it. Same fixture key and chain. */
static void corpus_write(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void test_write_corpus(void **state)
{
    (void)state;
    const char *dir = getenv("VEIL_NODE_WRITE_CORPUS");
    if (dir == NULL) skip();
    node_public_tx *tx = calloc(1, sizeof *tx);
    uint8_t buf[NODE_CHAIN_TX_MAX];
    size_t len;
    static const node_public_kind kinds[] = {NODE_PUBLIC_UNBOND, NODE_PUBLIC_UNJAIL,
                                             NODE_PUBLIC_NODE_JOIN};
    static const char *names[] = {"unbond", "unjail", "node-join"};
    for (int k = 0; k < 3; k++) {
        memset(tx, 0, sizeof *tx);
        tx->kind = kinds[k];
        memcpy(tx->account, g_pk, 32);
        tx->amount = 7;
        tx->enclave_pubkey_len = 33;
        memset(tx->enclave_pubkey, 2, 33);
        tx->quote_len = 16;
        memset(tx->quote, 0x51, 16);
        assert_int_equal(node_public_tx_sign(tx, "veil-fuzz", g_sk), VEIL_OK);
        assert_int_equal(node_public_tx_encode(tx, buf, sizeof buf, &len), VEIL_OK);
        char name[64];
        snprintf(name, sizeof name, "public-ok-%s", names[k]);
        corpus_write(dir, name, buf, len);
        buf[len - 1] ^= 1;
        snprintf(name, sizeof name, "public-badsig-%s", names[k]);
        corpus_write(dir, name, buf, len);
    }
    static const uint8_t conf[] = {0x0a, 0x06, 0x08, 0x01, 0x12, 0x02, 0xaa, 0xbb};
    corpus_write(dir, "confidential-malformed", conf, sizeof conf);
    free(tx);
}

int main(void)
{
    if (veil_crypto_init() != VEIL_OK) return 1;
    memset(g_sk, 0x11, 32);
    if (veil_schnorr_pubkey(g_pk, g_sk) != VEIL_OK) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smt_matches_reference),
        cmocka_unit_test(test_smt_proofs),
        cmocka_unit_test(test_smt_vector),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_genesis),
        cmocka_unit_test(test_public_unbond_unjail),
        cmocka_unit_test(test_public_node_join),
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_state_commit_reopen),
        cmocka_unit_test(test_write_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
