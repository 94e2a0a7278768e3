/* The staging of the block being built: validated txs in block order, indexed by txid
 * and by the outpoints they consume, waiting for commit-block. Host memory only: a
 * crash loses it, and the node re-delivers the block (docs/tve-protocol.md). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/cursor.h"
#include "host/tve/tve_internal.h"

/* --- table ------------------------------------------------------------------------- */
static uint8_t g_hash_key[crypto_shorthash_KEYBYTES];
static pthread_once_t g_hash_once = PTHREAD_ONCE_INIT;

static void table_key_init(void) { randombytes_buf(g_hash_key, sizeof g_hash_key); }

static size_t table_slot(const tve_table *t, const uint8_t *key)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, key, t->key_len, g_hash_key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (size_t)v & (t->cap - 1);
}

void tve_table_init(tve_table *t, size_t key_len)
{
    (void)pthread_once(&g_hash_once, table_key_init);
    memset(t, 0, sizeof *t);
    t->key_len = key_len <= TVE_TABLE_KEY_MAX ? key_len : TVE_TABLE_KEY_MAX;
}

void tve_table_free(tve_table *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->n = 0;
}

void tve_table_clear(tve_table *t)
{
    if (t->slots != NULL) memset(t->slots, 0, t->cap * sizeof *t->slots);
    t->n = 0;
}

bool tve_table_get(const tve_table *t, const uint8_t *key, uint32_t *value)
{
    if (t->n == 0) return false;
    for (size_t i = table_slot(t, key);; i = (i + 1) & (t->cap - 1)) {
        const tve_table_slot *sl = &t->slots[i];
        if (!sl->used) return false;
        if (memcmp(sl->key, key, t->key_len) == 0) {
            *value = sl->value;
            return true;
        }
    }
}

static void table_insert(tve_table *t, const uint8_t *key, uint32_t value)
{
    for (size_t i = table_slot(t, key);; i = (i + 1) & (t->cap - 1)) {
        tve_table_slot *sl = &t->slots[i];
        if (!sl->used) {
            memcpy(sl->key, key, t->key_len);
            sl->value = value;
            sl->used = true;
            t->n++;
            return;
        }
        if (memcmp(sl->key, key, t->key_len) == 0) {
            sl->value = value;
            return;
        }
    }
}

veil_status tve_table_put(tve_table *t, const uint8_t *key, uint32_t value)
{
    /* Keep the load at most 1/2 so probes stay short. */
    if ((t->n + 1) * 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        ENSURE(cap <= SIZE_MAX / sizeof(tve_table_slot), VEIL_ERR_OVERFLOW);
        tve_table grown = *t;
        grown.slots = calloc(cap, sizeof *grown.slots);
        ENSURE(grown.slots != NULL, VEIL_ERR_NOMEM);
        grown.cap = cap;
        grown.n = 0;
        for (size_t i = 0; i < t->cap; i++)
            if (t->slots[i].used) table_insert(&grown, t->slots[i].key, t->slots[i].value);
        free(t->slots);
        *t = grown;
    }
    table_insert(t, key, value);
    return VEIL_OK;
}

/* --- staging ----------------------------------------------------------------------- */
void tve_staging_init(tve_staging *g)
{
    memset(g, 0, sizeof *g);
    tve_table_init(&g->by_txid, TVE_TXID_LEN);
    tve_table_init(&g->spends, TVE_OUTPOINT_LEN);
}

static void staged_free(tve_staged *x)
{
    free(x->sealed);
    free(x->spends);
    free(x->outcome);
}

void tve_staging_reset(tve_staging *g)
{
    for (size_t i = 0; i < g->n; i++) staged_free(&g->txs[i]);
    g->n = 0;
    g->height = 0;
    g->closed = false;
    g->have_bloom = false;
    memset(g->bloom, 0, sizeof g->bloom);
    tve_table_clear(&g->by_txid);
    tve_table_clear(&g->spends);
}

void tve_staging_free(tve_staging *g)
{
    tve_staging_reset(g);
    free(g->txs);
    tve_table_free(&g->by_txid);
    tve_table_free(&g->spends);
    memset(g, 0, sizeof *g);
}

static void *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (d != NULL && n > 0) memcpy(d, p, n);
    return d;
}

veil_status tve_staging_add(tve_staging *g, uint32_t index, const uint8_t txid[static TVE_TXID_LEN],
                            const uint8_t *sealed, size_t sealed_len, const uint8_t *outcome,
                            size_t outcome_len, const veil_tx_outpoint *inputs, size_t n_inputs)
{
    ENSURE(g->n < TVE_BLOCK_MAX_TXS, VEIL_ERR_TVE_TOO_MANY);
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        tve_staged *grown = realloc(g->txs, cap * sizeof *grown);
        ENSURE(grown != NULL, VEIL_ERR_NOMEM);
        g->txs = grown;
        g->cap = cap;
    }
    tve_staged x = {0};
    veil_status st = VEIL_OK;
    memcpy(x.txid, txid, TVE_TXID_LEN);
    x.index = index;
    x.sealed = dup_bytes(sealed, sealed_len);
    x.sealed_len = sealed_len;
    x.outcome = dup_bytes(outcome, outcome_len);
    x.outcome_len = outcome_len;
    x.spends = calloc(n_inputs ? n_inputs : 1, sizeof *x.spends);
    x.n_spends = n_inputs;
    ENSURE_OUT(x.sealed != NULL && x.outcome != NULL && x.spends != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < n_inputs; i++) {
        memcpy(x.spends[i], inputs[i].txid, TVE_TXID_LEN);
        veil_put_u32(x.spends[i] + TVE_TXID_LEN, inputs[i].index);
    }
    TRY_OUT(tve_table_put(&g->by_txid, txid, (uint32_t)g->n));
    for (size_t i = 0; i < n_inputs; i++) TRY_OUT(tve_table_put(&g->spends, x.spends[i], index));
    g->txs[g->n++] = x;
    return VEIL_OK;
out:
    staged_free(&x);
    return st;
}

static int staged_cmp(const void *a, const void *b)
{
    uint32_t x = ((const tve_staged *)a)->index, y = ((const tve_staged *)b)->index;
    return x < y ? -1 : x > y;
}

veil_status tve_staging_sort(tve_staging *g)
{
    if (g->n > 1) qsort(g->txs, g->n, sizeof *g->txs, staged_cmp); /* txs may be NULL */
    tve_table_clear(&g->by_txid);
    for (size_t i = 0; i < g->n; i++) TRY(tve_table_put(&g->by_txid, g->txs[i].txid, (uint32_t)i));
    return VEIL_OK;
}

const tve_staged *tve_staging_find(const tve_staging *g, const uint8_t txid[static TVE_TXID_LEN],
                                   uint32_t visible)
{
    uint32_t pos;
    if (!tve_table_get(&g->by_txid, txid, &pos)) return NULL;
    const tve_staged *x = &g->txs[pos];
    return x->index < visible ? x : NULL;
}

bool tve_staging_spends(const tve_staging *g, const uint8_t outpoint[static TVE_OUTPOINT_LEN],
                        uint32_t visible)
{
    uint32_t index;
    return tve_table_get(&g->spends, outpoint, &index) && index < visible;
}
