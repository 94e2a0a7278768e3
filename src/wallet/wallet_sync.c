/* Sync: bloom filters -> block txids -> TQE queries (with decoys) -> the local index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "hostutil/fileio.h"
#include "veil/tx.pb-c.h"
#include "wallet/wallet.h"

static veil_status output_push(wallet *w, const wallet_output *o)
{
    if (w->n_outputs == w->cap_outputs) {
        size_t cap = w->cap_outputs ? 2 * w->cap_outputs : 16;
        wallet_output *p = realloc(w->outputs, cap * sizeof *p);
        ENSURE(p != NULL, VEIL_ERR_NOMEM);
        w->outputs = p;
        w->cap_outputs = cap;
    }
    w->outputs[w->n_outputs++] = *o;
    return VEIL_OK;
}

static veil_status history_push(wallet *w, const wallet_history *h)
{
    if (w->n_history == w->cap_history) {
        size_t cap = w->cap_history ? 2 * w->cap_history : 16;
        wallet_history *p = realloc(w->history, cap * sizeof *p);
        ENSURE(p != NULL, VEIL_ERR_NOMEM);
        w->history = p;
        w->cap_history = cap;
    }
    w->history[w->n_history++] = *h;
    return VEIL_OK;
}

static bool history_has(const wallet *w, const uint8_t txid[32])
{
    for (size_t i = 0; i < w->n_history; i++)
        if (memcmp(w->history[i].txid, txid, 32) == 0) return true;
    return false;
}

veil_status wallet_apply_tx(wallet *w, const uint8_t txid[static 32], uint64_t height,
                            const uint8_t *payload, size_t payload_len)
{
    veil_status st = VEIL_OK;
    veil_tx_body *body = malloc(sizeof *body);
    ENSURE(body != NULL, VEIL_ERR_NOMEM);
    /* The TQE is attested, but the txid check costs nothing and catches a mixed-up
     * answer. */
    uint8_t id[32];
    TRY_OUT(veil_tx_payload_open(payload, payload_len, NULL, body, id));
    ENSURE_OUT(memcmp(id, txid, 32) == 0, VEIL_ERR_TX_TXID_MISMATCH);
    if (history_has(w, txid)) goto out; /* already applied */

    wallet_history h = {.height = height, .kind = body->kind};
    memcpy(h.txid, txid, 32);
    for (size_t i = 0; i < body->n_inputs; i++) {
        for (size_t j = 0; j < w->n_outputs; j++) {
            wallet_output *o = &w->outputs[j];
            if (!o->spent && o->index == body->inputs[i].index &&
                memcmp(o->txid, body->inputs[i].txid, 32) == 0) {
                o->spent = true;
                memcpy(o->spent_by, txid, 32);
                h.spent += o->value;
            }
        }
    }
    for (size_t i = 0; i < body->n_outputs; i++) {
        const veil_tx_output *bo = &body->outputs[i];
        if (memcmp(bo->address, w->keys.spend_pk, 32) != 0) continue;
        wallet_output o = {.index = (uint32_t)i, .value = bo->value, .valid_from = bo->valid_from,
                           .height = height};
        memcpy(o.txid, txid, 32);
        memcpy(o.address, bo->address, 32);
        TRY_OUT(output_push(w, &o));
        h.received += bo->value;
    }
    bool ours = h.spent > 0 || h.received > 0 ||
                ((body->kind == VEIL_TX_KIND_DEPOSIT || body->kind == VEIL_TX_KIND_WITHDRAW) &&
                 memcmp(body->account, w->keys.spend_pk, 32) == 0);
    if (ours) TRY_OUT(history_push(w, &h));
out:
    if (body != NULL) veil_wipe(body, sizeof *body);
    free(body);
    return st;
}

veil_status wallet_record_committed(wallet *w, const wallet_built *b, uint64_t height)
{
    ENSURE(height > 0, VEIL_ERR_ARG);
    return wallet_apply_tx(w, b->txid, height, b->payload, b->payload_len);
}

/* Decoys are txids of confidential txs that are on chain, so the TQE (and its host,
 * which looks them up in the TVE's store) cannot tell them from the wallet's own: a
 * random 32-byte decoy is one the store never holds, which gives it away. The pool is
 * filled from the blocks the sync already read and from blocks drawn at random. */
#define DECOY_POOL 256
#define DECOY_DRAWS 16 /* random blocks read at most per query to fill the pool */
typedef struct decoy_pool {
    uint8_t ids[DECOY_POOL][32];
    size_t n;
} decoy_pool;

static void pool_add(decoy_pool *p, const uint8_t (*ids)[32], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t k = 0; k < p->n && !dup; k++) dup = memcmp(p->ids[k], ids[i], 32) == 0;
        if (dup) continue;
        if (p->n < DECOY_POOL)
            memcpy(p->ids[p->n++], ids[i], 32);
        else
            memcpy(p->ids[randombytes_uniform(DECOY_POOL)], ids[i], 32);
    }
}

/* Reads random blocks until the pool holds `want` txids or DECOY_DRAWS blocks are read. */
static veil_status pool_top_up(decoy_pool *p, const wallet_chain *chain, const char *chain_id,
                               uint64_t tip, size_t want)
{
    for (int d = 0; d < DECOY_DRAWS && p->n < want && tip > 0; d++) {
        uint64_t h = 1 + (tip > UINT32_MAX ? (uint64_t)randombytes_random() % tip
                                           : randombytes_uniform((uint32_t)tip));
        uint8_t(*ids)[32] = NULL;
        size_t n = 0;
        TRY(chain->txids(chain->ctx, h, chain_id, &ids, &n));
        pool_add(p, (const uint8_t(*)[32])ids, n);
        free(ids);
    }
    return VEIL_OK;
}

/* Queries one batch of real txids (n <= 64 - decoys), up to `decoys` on-chain txids of
 * other txs shuffled in (fewer when the chain holds fewer). */
static veil_status query_batch(wallet *w, const wallet_tqe *tqe, uint64_t height,
                               const uint8_t (*real)[32], size_t n, size_t decoys,
                               const decoy_pool *pool, wallet_sync_stats *stats)
{
    uint8_t ids[WALLET_QUERY_MAX_TXIDS][32];
    size_t total = n;
    ENSURE(n + decoys <= WALLET_QUERY_MAX_TXIDS, VEIL_ERR_ARG);
    for (size_t i = 0; i < n; i++) memcpy(ids[i], real[i], 32);
    /* Each decoy an independent draw from the pool (neighbours in the pool come from the
     * same block), skipping the ones already in the query. */
    for (size_t tries = 0; pool->n > 0 && total < n + decoys && tries < 8 * (decoys + 1); tries++) {
        const uint8_t *cand = pool->ids[randombytes_uniform((uint32_t)pool->n)];
        bool taken = false;
        for (size_t i = 0; i < total && !taken; i++) taken = memcmp(ids[i], cand, 32) == 0;
        if (!taken) memcpy(ids[total++], cand, 32);
    }
    for (size_t i = total; i > 1; i--) { /* Fisher-Yates */
        size_t j = randombytes_uniform((uint32_t)i);
        uint8_t t[32];
        memcpy(t, ids[i - 1], 32);
        memcpy(ids[i - 1], ids[j], 32);
        memcpy(ids[j], t, 32);
    }
    wallet_tx_data *res = NULL;
    size_t nres = 0;
    veil_status st = tqe->query(tqe->ctx, &w->keys, (const uint8_t(*)[32])ids, total, &res, &nres);
    if (st != VEIL_OK) return st;
    stats->queried_txids += n;
    for (size_t i = 0; i < nres && st == VEIL_OK; i++) {
        bool asked = false;
        for (size_t k = 0; k < n; k++)
            if (memcmp(res[i].txid, real[k], 32) == 0) asked = true;
        if (!asked) continue; /* a decoy or something never asked for: ignore */
        st = wallet_apply_tx(w, res[i].txid, height, res[i].payload, res[i].payload_len);
        if (st == VEIL_OK) stats->txs_found++;
    }
    wallet_tx_data_free(res, nres);
    return st;
}

veil_status wallet_sync(wallet *w, const wallet_chain *chain, const wallet_tqe *tqe,
                        const wallet_sync_opts *opts, wallet_sync_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    ENSURE(opts->decoys < WALLET_QUERY_MAX_TXIDS, VEIL_ERR_ARG);
    uint64_t tip, time;
    char chain_id[65];
    TRY(chain->tip(chain->ctx, &tip, &time, chain_id));
    if (w->chain_id[0] == '\0') {
        snprintf(w->chain_id, sizeof w->chain_id, "%s", chain_id);
    } else if (strcmp(w->chain_id, chain_id) != 0) {
        veil_error_detail_set("wallet is for chain \"%s\", the node serves \"%s\"", w->chain_id,
                              chain_id);
        return VEIL_ERR_TX_WRONG_CHAIN_ID;
    }
    stats->from = w->synced_height + 1;
    stats->to = tip;
    size_t per_batch = WALLET_QUERY_MAX_TXIDS - opts->decoys;
    decoy_pool *pool = calloc(1, sizeof *pool);
    ENSURE(pool != NULL, VEIL_ERR_NOMEM);
    veil_status sync_st = VEIL_OK;
    for (uint64_t h = w->synced_height + 1; h <= tip && sync_st == VEIL_OK; h++) {
        veil_bloom bloom;
        bool present = false;
        TRY(chain->bloom(chain->ctx, h, &bloom, &present));
        uint64_t found_before = stats->txs_found;
        if (present && veil_bloom_contains(&bloom, w->keys.view_pk)) {
            stats->bloom_hits++;
            uint8_t(*ids)[32] = NULL;
            size_t n = 0;
            sync_st = chain->txids(chain->ctx, h, w->chain_id, &ids, &n);
            if (sync_st != VEIL_OK) break;
            if (opts->decoys > 0)
                sync_st = pool_top_up(pool, chain, w->chain_id, tip, opts->decoys + n);
            for (size_t off = 0; off < n && sync_st == VEIL_OK; off += per_batch) {
                size_t k = n - off < per_batch ? n - off : per_batch;
                sync_st = query_batch(w, tqe, h, (const uint8_t(*)[32])(ids + off), k,
                                      opts->decoys, pool, stats);
            }
            pool_add(pool, (const uint8_t(*)[32])ids, n); /* decoys for later queries */
            free(ids);
            if (sync_st != VEIL_OK) break;
        }
        w->synced_height = h;
        if (stats->txs_found != found_before && opts->checkpoint != NULL)
            sync_st = opts->checkpoint(opts->checkpoint_ctx, w);
        if (sync_st == VEIL_OK && opts->progress != NULL)
            opts->progress(opts->progress_ctx, h, tip, stats->txs_found);
    }
    free(pool);
    return sync_st;
}
