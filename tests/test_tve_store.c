/* The TVE host's store (host/tve/tve_store.h), layout 2, on its own: appends by place,
 * the in-memory txid index and its rebuild at open, spends within and across blocks,
 * and the refusals that leave the store as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host/tve/tve_store.h"
#include "hostutil/fileio.h"

static char g_home[64];

static int setup(void **state)
{
    (void)state;
    snprintf(g_home, sizeof g_home, "/tmp/veil-test-tve-store-XXXXXX");
    if (mkdtemp(g_home) == NULL) return -1;
    tve_store *s;
    if (tve_store_open(g_home, false, &s) != VEIL_OK) return -1;
    veil_status st = tve_store_init_chain(s, "store-test", 0, (const uint8_t *)"key", 3, NULL);
    tve_store_close(s);
    return st == VEIL_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    veil_remove_tree(g_home);
    return 0;
}

static void txid_of(uint8_t id[32], unsigned n)
{
    memset(id, 0, 32);
    id[0] = (uint8_t)(n * 37 + 11); /* not in place order */
    id[31] = (uint8_t)n;
}

static void outpoint(uint8_t op[TVE_OUTPOINT_LEN], const uint8_t txid[32], uint32_t index)
{
    memcpy(op, txid, 32);
    op[32] = (uint8_t)(index >> 24), op[33] = (uint8_t)(index >> 16);
    op[34] = (uint8_t)(index >> 8), op[35] = (uint8_t)index;
}

static veil_status commit(tve_store *s, uint64_t height, tve_store_tx *txs, size_t n)
{
    static const uint8_t bloom[TVE_STORE_BLOOM_LEN];
    return tve_store_commit_block(s, height, (const uint8_t *)"ah", 2, bloom, txs, n, NULL, 0);
}

static void assert_sealed(tve_store *s, const uint8_t txid[32], const char *want)
{
    uint8_t buf[64];
    size_t len;
    assert_int_equal(tve_store_tx_get(s, txid, buf, sizeof buf, &len), VEIL_OK);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);
}

static bool spent(tve_store *s, const uint8_t txid[32], uint32_t index)
{
    uint8_t op[TVE_OUTPOINT_LEN];
    bool yes;
    outpoint(op, txid, index);
    assert_int_equal(tve_store_is_spent(s, op, &yes), VEIL_OK);
    return yes;
}

static void test_layout2(void **state)
{
    (void)state;
    tve_store *s;
    uint8_t a[32], b[32], c[32], d[32], ops[2][TVE_OUTPOINT_LEN];
    txid_of(a, 1), txid_of(b, 2), txid_of(c, 3), txid_of(d, 4);
    assert_int_equal(tve_store_open(g_home, false, &s), VEIL_OK);

    /* Block 1: a and b, two outputs each (nothing spent). */
    tve_store_tx blk1[2] = {{.txid = a, .sealed = (const uint8_t *)"sealed-a", .sealed_len = 8},
                            {.txid = b, .sealed = (const uint8_t *)"sealed-b", .sealed_len = 8}};
    assert_int_equal(commit(s, 1, blk1, 2), VEIL_OK);

    /* Block 2: c spends a:1, d spends c:0 (same block) and b:0. */
    outpoint(ops[0], a, 1);
    tve_store_tx blk2[2] = {{.txid = c, .sealed = (const uint8_t *)"sealed-c", .sealed_len = 8,
                             .spends = (const uint8_t(*)[TVE_OUTPOINT_LEN])ops[0], .n_spends = 1}};
    uint8_t dops[2][TVE_OUTPOINT_LEN];
    outpoint(dops[0], c, 0);
    outpoint(dops[1], b, 0);
    blk2[1] = (tve_store_tx){.txid = d, .sealed = (const uint8_t *)"sealed-d", .sealed_len = 8,
                             .spends = (const uint8_t(*)[TVE_OUTPOINT_LEN])dops, .n_spends = 2};
    assert_int_equal(commit(s, 2, blk2, 2), VEIL_OK);

    for (int reopen = 0; reopen < 2; reopen++) {
        /* Read back, before and after a reopen rebuilds the index from the txid log. */
        assert_sealed(s, a, "sealed-a");
        assert_sealed(s, d, "sealed-d");
        assert_true(spent(s, a, 1));
        assert_false(spent(s, a, 0));
        assert_true(spent(s, c, 0));
        assert_true(spent(s, b, 0));
        assert_false(spent(s, b, 1));
        assert_false(spent(s, d, 0));
        uint8_t unknown[32];
        txid_of(unknown, 99);
        bool exists = true;
        assert_int_equal(tve_store_tx_exists(s, unknown, &exists), VEIL_OK);
        assert_false(exists);
        assert_false(spent(s, unknown, 0)); /* an output of no stored tx: not spent */
        uint8_t buf[16];
        size_t len;
        assert_int_equal(tve_store_tx_get(s, unknown, buf, sizeof buf, &len), VEIL_ERR_NOT_FOUND);
        assert_int_equal(tve_store_tx_get(s, a, buf, 4, &len), VEIL_ERR_BUFFER_TOO_SMALL);
        tve_store_close(s);
        assert_int_equal(tve_store_open(g_home, false, &s), VEIL_OK);
    }

    /* Refusals write nothing: a committed txid, a txid twice in one block, a height not
     * after the last, a spend of an output of no stored tx. */
    uint8_t e[32], ghost[32], gop[TVE_OUTPOINT_LEN];
    txid_of(e, 5), txid_of(ghost, 6);
    outpoint(gop, ghost, 0);
    tve_store_tx again[2] = {{.txid = e, .sealed = (const uint8_t *)"e", .sealed_len = 1},
                             {.txid = a, .sealed = (const uint8_t *)"a", .sealed_len = 1}};
    assert_int_equal(commit(s, 3, again, 2), VEIL_ERR_TVE_TX_EXISTS);
    tve_store_tx twice[2] = {{.txid = e, .sealed = (const uint8_t *)"e", .sealed_len = 1},
                             {.txid = e, .sealed = (const uint8_t *)"e", .sealed_len = 1}};
    assert_int_equal(commit(s, 3, twice, 2), VEIL_ERR_TVE_TX_EXISTS);
    assert_int_equal(commit(s, 2, twice, 1), VEIL_ERR_DB);
    tve_store_tx orphan = {.txid = e, .sealed = (const uint8_t *)"e", .sealed_len = 1,
                           .spends = (const uint8_t(*)[TVE_OUTPOINT_LEN])gop, .n_spends = 1};
    assert_int_equal(commit(s, 3, &orphan, 1), VEIL_ERR_DB);
    bool exists = true;
    assert_int_equal(tve_store_tx_exists(s, e, &exists), VEIL_OK);
    assert_false(exists);
    tve_store_meta m;
    assert_int_equal(tve_store_meta_get(s, &m), VEIL_OK);
    assert_int_equal(m.last_height, 2);
    /* The index was not touched by the refusals: e commits now. */
    assert_int_equal(commit(s, 3, twice, 1), VEIL_OK);
    assert_sealed(s, e, "e");
    tve_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_layout2)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
