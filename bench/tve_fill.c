/* Synthetic committed blocks for a TVE store: see tve_fill.h. */
#include "tve_fill.h"

#include <stdlib.h>
#include <string.h>

#include "host/tve/tve_store.h"

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

static void rng_bytes(uint64_t *s, uint8_t *out, size_t n)
{
    while (n > 0) {
        uint64_t v = rng_next(s);
        size_t k = n < 8 ? n : 8;
        memcpy(out, &v, k);
        out += k, n -= k;
    }
}

veil_status tve_fill(const tve_fill_spec *spec, uint64_t *last_height)
{
    tve_store *store = NULL;
    tve_store_meta meta;
    veil_status st;
    uint64_t rng = spec->seed * 0x9e3779b97f4a7c15u + 1;
    uint8_t(*txids)[32] = malloc((spec->n_txs ? spec->n_txs : 1) * 32);
    uint8_t *sealed = malloc((size_t)TVE_FILL_BLOCK * (spec->sealed_len ? spec->sealed_len : 1));
    uint8_t(*spends)[TVE_FILL_BLOCK * 2][TVE_OUTPOINT_LEN] = malloc(sizeof *spends);
    tve_store_tx *txs = calloc(TVE_FILL_BLOCK, sizeof *txs);
    ENSURE_OUT(txids != NULL && sealed != NULL && spends != NULL && txs != NULL, VEIL_ERR_NOMEM);
    TRY_OUT(tve_store_open(spec->home, true, &store));
    TRY_OUT(tve_store_meta_get(store, &meta));
    ENSURE_OUT(meta.initialized, VEIL_ERR_TVE_NOT_INITIALIZED);
    uint64_t height = meta.last_height;
    uint8_t bloom[TVE_STORE_BLOOM_LEN] = {0}, app_hash[32];
    for (uint64_t done = 0; done < spec->n_txs;) {
        size_t n = spec->n_txs - done < TVE_FILL_BLOCK ? (size_t)(spec->n_txs - done)
                                                       : TVE_FILL_BLOCK;
        rng_bytes(&rng, sealed, n * spec->sealed_len);
        for (size_t i = 0; i < n; i++) {
            uint64_t k = done + i;
            rng_bytes(&rng, txids[k], 32);
            size_t n_spends = 0;
            for (int j = 0; j < 2 && done > 0; j++) { /* earlier blocks' outputs */
                uint8_t *op = (*spends)[2 * i + (size_t)j];
                memcpy(op, txids[rng_next(&rng) % done], 32);
                memset(op + 32, 0, 4);
                op[35] = (uint8_t)j;
                n_spends++;
            }
            txs[i] = (tve_store_tx){.txid = txids[k],
                                    .sealed = sealed + i * spec->sealed_len,
                                    .sealed_len = spec->sealed_len,
                                    .spends = (const uint8_t(*)[TVE_OUTPOINT_LEN])(*spends)[2 * i],
                                    .n_spends = n_spends,
                                    .outcome = spec->outcome,
                                    .outcome_len = spec->outcome_len};
        }
        height++;
        if (done + n == spec->n_txs) {
            /* The last block through a synced store: its fsync flushes every page the
             * fill wrote, so that the measurement after the fill does not pay for it. */
            tve_store_close(store);
            store = NULL;
            TRY_OUT(tve_store_open(spec->home, false, &store));
        }
        rng_bytes(&rng, app_hash, sizeof app_hash);
        TRY_OUT(tve_store_commit_block(store, height, app_hash, sizeof app_hash, bloom, txs, n, NULL, 0));
        done += n;
    }
    *last_height = height;
    st = VEIL_OK;
out:
    tve_store_close(store);
    free(txids);
    free(sealed);
    free(spends);
    free(txs);
    return st;
}
