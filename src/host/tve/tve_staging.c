/* The staging of the block being built: validated txs in block order, indexed by txid
 * and by the outpoints they consume, waiting for commit-block. Host memory only: a
 * crash loses it, and the node re-delivers the block (docs/tve-protocol.md). */
#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"
#include "host/tve/tve_internal.h"

/* --- staging ----------------------------------------------------------------------- */
void tve_staging_init(tve_staging *g)
{
    memset(g, 0, sizeof *g);
    veil_keymap_init(&g->by_txid, TVE_TXID_LEN);
    veil_keymap_init(&g->spends, TVE_OUTPOINT_LEN);
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
    g->n_codes = 0;
    g->height = 0;
    g->closed = false;
    g->have_bloom = false;
    memset(g->bloom, 0, sizeof g->bloom);
    veil_keymap_clear(&g->by_txid);
    veil_keymap_clear(&g->spends);
}

void tve_staging_free(tve_staging *g)
{
    tve_staging_reset(g);
    free(g->txs);
    free(g->codes);
    veil_keymap_free(&g->by_txid);
    veil_keymap_free(&g->spends);
    memset(g, 0, sizeof *g);
}

void tve_staging_take_codes(tve_staging *g, uint32_t *codes, size_t n)
{
    free(g->codes);
    g->codes = codes;
    g->n_codes = n;
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
    TRY_OUT(veil_keymap_put(&g->by_txid, txid, (uint32_t)g->n));
    for (size_t i = 0; i < n_inputs; i++) TRY_OUT(veil_keymap_put(&g->spends, x.spends[i], index));
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
    veil_keymap_clear(&g->by_txid);
    for (size_t i = 0; i < g->n; i++) TRY(veil_keymap_put(&g->by_txid, g->txs[i].txid, (uint32_t)i));
    return VEIL_OK;
}

const tve_staged *tve_staging_find(const tve_staging *g, const uint8_t txid[static TVE_TXID_LEN],
                                   uint32_t visible)
{
    uint32_t pos;
    if (!veil_keymap_get(&g->by_txid, txid, &pos)) return NULL;
    const tve_staged *x = &g->txs[pos];
    return x->index < visible ? x : NULL;
}

bool tve_staging_spends(const tve_staging *g, const uint8_t outpoint[static TVE_OUTPOINT_LEN],
                        uint32_t visible)
{
    uint32_t index;
    return veil_keymap_get(&g->spends, outpoint, &index) && index < visible;
}
