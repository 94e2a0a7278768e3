/* The TVE service's block requests: verify-tx, verify-block (and their replay of a
 * committed height), end-block and commit-block. docs/tve-protocol.md. */
#include "host/tve/tve_service.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "hostutil/fileio.h"
#include "host/tve/tve_internal.h"
#include "hostutil/pb_arena.h"
#include "trusted/tve/tve_channel.h"
#include "trusted/tx/tx.h"

/* --- replay of a committed height -------------------------------------------------- */
/* A node that lags the TVE re-executes blocks the TVE has already committed. For those
 * heights DELIVER and end-block answer from the block record: the outcomes and bloom
 * as committed. A tx not in the record was not accepted in that block (806). */
typedef struct tve_replay {
    tve_store_block block;
    Veil__Tve__TxOutcome **outcomes; /* unpacked block.outcomes */
    veil_keymap by_txid;
} tve_replay;

static void replay_free(tve_replay *rp)
{
    for (size_t i = 0; rp->outcomes != NULL && i < rp->block.n; i++)
        if (rp->outcomes[i] != NULL) veil__tve__tx_outcome__free_unpacked(rp->outcomes[i], NULL);
    free(rp->outcomes);
    veil_keymap_free(&rp->by_txid);
    tve_store_block_free(&rp->block);
}

static veil_status replay_open(tve_service *s, uint64_t height, tve_replay *rp)
{
    veil_status st;
    memset(rp, 0, sizeof *rp);
    veil_keymap_init(&rp->by_txid, TVE_TXID_LEN);
    TRY(tve_store_block_get(s->store, height, &rp->block));
    rp->outcomes = calloc(rp->block.n ? rp->block.n : 1, sizeof *rp->outcomes);
    ENSURE_OUT(rp->outcomes != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < rp->block.n; i++) {
        rp->outcomes[i] =
            veil__tve__tx_outcome__unpack(NULL, rp->block.outcome_lens[i], rp->block.outcomes[i]);
        ENSURE_OUT(rp->outcomes[i] != NULL && tve_txid_ok(&rp->outcomes[i]->txid), VEIL_ERR_DB);
        TRY_OUT(veil_keymap_put(&rp->by_txid, rp->outcomes[i]->txid.data, (uint32_t)i));
    }
    return VEIL_OK;
out:
    replay_free(rp);
    return st;
}

static veil_status replay_find(const tve_replay *rp, const tve_tx_job *job,
                               Veil__Tve__TxOutcome **out)
{
    uint32_t i;
    ENSURE(job->shaped, VEIL_ERR_TX_MALFORMED);
    ENSURE(veil_keymap_get(&rp->by_txid, job->wire->txid, &i), VEIL_ERR_TVE_STAGING_MISMATCH);
    *out = rp->outcomes[i];
    return VEIL_OK;
}

/* Copies an outcome into the arena (the replay record is freed before packing). */
static Veil__Tve__TxOutcome *outcome_copy(veil_arena *a, const Veil__Tve__TxOutcome *o)
{
    Veil__Tve__TxOutcome *c = VEIL_ARENA_NEW(a, Veil__Tve__TxOutcome);
    uint8_t *bytes = veil_arena_alloc(a, o->txid.len + o->account.len + 1);
    if (c == NULL || bytes == NULL) return NULL;
    *c = *o;
    /* Nothing of the record may be referenced once it is freed. */
    c->base.n_unknown_fields = 0;
    c->base.unknown_fields = NULL;
    memcpy(bytes, o->txid.data, o->txid.len);
    c->txid.data = bytes;
    if (o->account.len > 0) memcpy(bytes + o->txid.len, o->account.data, o->account.len);
    c->account.data = bytes + o->txid.len;
    return c;
}

/* --- verify-tx --------------------------------------------------------------------- */
static veil_status verify_tx_deliver(tve_service *s, const Veil__Tve__VerifyTxRequest *req,
                                     tve_tx_job *job)
{
    tve_staging *g = &s->staging;
    uint64_t h = req->height;
    /* Once end-block has published the bloom, adding a tx would make it wrong. */
    ENSURE(!(g->height == h && g->closed), VEIL_ERR_OUT_OF_ORDER);
    ENSURE(g->n < TVE_BLOCK_MAX_TXS, VEIL_ERR_TVE_TOO_MANY);
    if (job->shaped) {
        const uint8_t *txid = job->wire->txid;
        ENSURE(tve_staging_find(g, txid, UINT32_MAX) == NULL, VEIL_ERR_TVE_DUPLICATE_TX);
        bool exists;
        TRY(tve_store_tx_exists(s->store, txid, &exists));
        ENSURE(!exists, VEIL_ERR_TVE_TX_EXISTS);
    }
    g->height = h;
    g->n_codes = 0; /* a block built tx by tx keeps no verdicts */
    job->index = (uint32_t)g->n;
    tve_job_verify(s, job, VEIL__TVE__MODE__DELIVER, h, req->params);
    TRY(job->st);
    veil_status st = tve_job_stage(s, job);
    if (st != VEIL_OK) {
        pthread_rwlock_wrlock(&s->staging_lock);
        tve_staging_reset(g);
        g->height = h;
        pthread_rwlock_unlock(&s->staging_lock);
    }
    return st;
}

static veil_status verify_tx_run(tve_service *s, const Veil__Tve__VerifyTxRequest *req,
                                 tve_tx_job *jp, veil_arena *a, Veil__Tve__Response *resp);

veil_status tve_handle_verify_tx(tve_service *s, const Veil__Tve__VerifyTxRequest *req,
                                    veil_arena *a, Veil__Tve__Response *resp)
{
    TRY(tve_require_initialized(s));
    TRY(tve_params_check(s, req->params));
    tve_tx_job job = {.ctx = req->tx};
    veil_status st = tve_job_prepare(&job);
    if (st == VEIL_OK) st = verify_tx_run(s, req, &job, a, resp);
    tve_job_release(&job);
    return st;
}

static veil_status verify_tx_run(tve_service *s, const Veil__Tve__VerifyTxRequest *req,
                                 tve_tx_job *jp, veil_arena *a, Veil__Tve__Response *resp)
{
    tve_tx_job job = *jp;
    Veil__Tve__VerifyTxResponse *r = VEIL_ARENA_NEW(a, Veil__Tve__VerifyTxResponse);
    ENSURE(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__verify_tx_response__init(r);

    switch (req->mode) {
    case VEIL__TVE__MODE__CHECK:
        if (job.shaped) {
            bool exists;
            TRY(tve_store_tx_exists(s->store, job.wire->txid, &exists));
            ENSURE(!exists, VEIL_ERR_TVE_TX_EXISTS);
        }
        tve_job_verify(s, &job, VEIL__TVE__MODE__CHECK, 0, req->params);
        break;
    case VEIL__TVE__MODE__DELIVER: {
        uint64_t last = s->meta.last_height;
        if (req->height >= 1 && req->height <= last) {
            tve_replay rp;
            Veil__Tve__TxOutcome *o;
            TRY(replay_open(s, req->height, &rp));
            veil_status st = replay_find(&rp, &job, &o);
            if (st == VEIL_OK) {
                r->outcome = outcome_copy(a, o);
                if (r->outcome == NULL) st = VEIL_ERR_NOMEM;
            }
            replay_free(&rp);
            TRY(st);
            goto done;
        }
        ENSURE(req->height == last + 1, VEIL_ERR_TVE_HEIGHT);
        job.st = verify_tx_deliver(s, req, &job);
        break;
    }
    default:
        return VEIL_ERR_MALFORMED;
    }
    if (job.result != NULL) TRY(veil_arena_keep(a, &job.result->base));
    TRY(job.st);
    r->outcome = job.result->outcome;
done:
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_VERIFY_TX;
    resp->verify_tx = r;
    return VEIL_OK;
}

/* --- verify-block ------------------------------------------------------------------ */
static veil_status block_results(veil_arena *a, Veil__Tve__VerifyBlockResponse *r, size_t n)
{
    /* n <= TVE_BLOCK_MAX_TXS: no overflow. One block for all results. */
    Veil__Tve__TxResult *all = veil_arena_alloc(a, (n ? n : 1) * sizeof *all);
    r->results = veil_arena_alloc(a, (n ? n : 1) * sizeof *r->results);
    ENSURE(all != NULL && r->results != NULL, VEIL_ERR_NOMEM);
    r->n_results = n;
    for (size_t i = 0; i < n; i++) {
        veil__tve__tx_result__init(&all[i]);
        r->results[i] = &all[i];
    }
    return VEIL_OK;
}

static veil_status result_set(veil_arena *a, Veil__Tve__TxResult *res, veil_status st,
                              Veil__Tve__TxOutcome *o)
{
    if (st == VEIL_OK) {
        res->result_case = VEIL__TVE__TX_RESULT__RESULT_OK;
        res->ok = o;
    } else {
        res->result_case = VEIL__TVE__TX_RESULT__RESULT_ERROR;
        res->error = tve_error_new(a, st);
        ENSURE(res->error != NULL, VEIL_ERR_NOMEM);
    }
    return VEIL_OK;
}

/* With the block's verdicts kept: tx i of the request gets verdict i, an accepted one
 * the next outcome in order, provided the txids agree (a request of another length or
 * order than the first execution's gets 806 throughout). */
static veil_status replay_at(const tve_replay *rp, size_t n_txs, size_t i, size_t *k,
                             const tve_tx_job *job, Veil__Tve__TxOutcome **out)
{
    if (n_txs != rp->block.n_codes) return VEIL_ERR_TVE_STAGING_MISMATCH;
    uint32_t code = rp->block.codes[i];
    if (code != 0) {
        veil_status st = (veil_status)code;
        return veil_status_is_tx_verdict(st) ? st : VEIL_ERR_TVE_STAGING_MISMATCH;
    }
    size_t at = (*k)++;
    ENSURE(at < rp->block.n && job->shaped, VEIL_ERR_TVE_STAGING_MISMATCH);
    ENSURE(memcmp(rp->outcomes[at]->txid.data, job->wire->txid, TVE_TXID_LEN) == 0,
           VEIL_ERR_TVE_STAGING_MISMATCH);
    *out = rp->outcomes[at];
    return VEIL_OK;
}

static veil_status verify_block_replay(tve_service *s, const Veil__Tve__VerifyBlockRequest *req,
                                       veil_arena *a, Veil__Tve__VerifyBlockResponse *r)
{
    tve_replay rp;
    veil_status st;
    size_t k = 0;
    TRY(replay_open(s, req->height, &rp));
    for (size_t i = 0; i < req->n_txs; i++) {
        Veil__Tve__TxOutcome *o = NULL;
        tve_tx_job job = {.ctx = req->txs[i]};
        veil_status tx_st = tve_job_prepare(&job);
        if (rp.block.n_codes > 0)
            tx_st = replay_at(&rp, req->n_txs, i, &k, &job, &o);
        else if (tx_st == VEIL_OK)
            tx_st = replay_find(&rp, &job, &o);
        tve_job_release(&job);
        ENSURE_OUT(tx_st != VEIL_ERR_NOMEM, VEIL_ERR_NOMEM);
        if (tx_st == VEIL_OK) {
            o = outcome_copy(a, o);
            ENSURE_OUT(o != NULL, VEIL_ERR_NOMEM);
        }
        TRY_OUT(result_set(a, r->results[i], tx_st, o));
    }
    st = VEIL_OK;
out:
    replay_free(&rp);
    return st;
}

/* Keeps the verdicts of the block being built for its record. */
static veil_status record_codes(tve_service *s, const tve_tx_job *jobs, size_t n)
{
    uint32_t *codes = calloc(n ? n : 1, sizeof *codes);
    ENSURE(codes != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) codes[i] = (uint32_t)jobs[i].st;
    pthread_rwlock_wrlock(&s->staging_lock);
    tve_staging_take_codes(&s->staging, codes, n);
    pthread_rwlock_unlock(&s->staging_lock);
    return VEIL_OK;
}

veil_status tve_handle_verify_block(tve_service *s, const Veil__Tve__VerifyBlockRequest *req,
                                       veil_arena *a, Veil__Tve__Response *resp, size_t *n_items)
{
    veil_status st = VEIL_OK;
    tve_tx_job *jobs = NULL;

    *n_items = req->n_txs;
    TRY(tve_require_initialized(s));
    ENSURE(req->n_txs <= TVE_BLOCK_MAX_TXS, VEIL_ERR_TVE_TOO_MANY);
    TRY(tve_params_check(s, req->params));
    Veil__Tve__VerifyBlockResponse *r = VEIL_ARENA_NEW(a, Veil__Tve__VerifyBlockResponse);
    ENSURE(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__verify_block_response__init(r);
    TRY(block_results(a, r, req->n_txs));

    uint64_t last = s->meta.last_height;
    if (req->mode == VEIL__TVE__MODE__CHECK) {
        /* Mempool batch: a verdict per tx; nothing here fails the request. */
        jobs = calloc(req->n_txs ? req->n_txs : 1, sizeof *jobs);
        ENSURE(jobs != NULL, VEIL_ERR_NOMEM);
        for (size_t i = 0; i < req->n_txs; i++) jobs[i].ctx = req->txs[i];
        tve_block_check(s, req->params, jobs, req->n_txs);
        for (size_t i = 0; i < req->n_txs; i++) {
            if (jobs[i].result != NULL && st == VEIL_OK)
                st = veil_arena_keep(a, &jobs[i].result->base);
            else if (jobs[i].result != NULL)
                veil__tve__enclave__verify_result__free_unpacked(jobs[i].result, NULL);
            if (st == VEIL_OK)
                st = result_set(a, r->results[i], jobs[i].st,
                                jobs[i].st == VEIL_OK ? jobs[i].result->outcome : NULL);
            tve_job_release(&jobs[i]);
        }
        free(jobs);
        TRY(st);
    } else if (req->mode != VEIL__TVE__MODE__MODE_UNSPECIFIED &&
               req->mode != VEIL__TVE__MODE__DELIVER) {
        return VEIL_ERR_MALFORMED;
    } else if (req->height >= 1 && req->height <= last) {
        TRY(verify_block_replay(s, req, a, r));
    } else {
        ENSURE(req->height == last + 1, VEIL_ERR_TVE_HEIGHT);
        jobs = calloc(req->n_txs ? req->n_txs : 1, sizeof *jobs);
        ENSURE(jobs != NULL, VEIL_ERR_NOMEM);
        for (size_t i = 0; i < req->n_txs; i++) jobs[i].ctx = req->txs[i];
        st = tve_block_verify(s, req->height, req->params, jobs, req->n_txs);
        /* Results go to the arena whatever happened, so they are freed once. */
        for (size_t i = 0; i < req->n_txs; i++) {
            if (jobs[i].result == NULL) continue;
            veil_status k = veil_arena_keep(a, &jobs[i].result->base);
            if (k != VEIL_OK) {
                jobs[i].result = NULL;
                if (jobs[i].st == VEIL_OK) jobs[i].st = k;
                if (st == VEIL_OK) st = k;
            }
        }
        /* A local failure (store, memory, enclave) fails the whole request: recorded
         * as one tx's verdict it would make this validator disagree with the others. */
        for (size_t i = 0; st == VEIL_OK && i < req->n_txs; i++) {
            if (jobs[i].st == VEIL_OK || veil_status_is_tx_verdict(jobs[i].st)) continue;
            veil_error_detail_set("tx %zu of block %llu: %s (a local failure, not a verdict)", i,
                                  (unsigned long long)req->height, veil_status_name(jobs[i].st));
            st = jobs[i].st;
        }
        for (size_t i = 0; st == VEIL_OK && i < req->n_txs; i++)
            st = result_set(a, r->results[i], jobs[i].st,
                            jobs[i].st == VEIL_OK ? jobs[i].result->outcome : NULL);
        if (st == VEIL_OK) st = record_codes(s, jobs, req->n_txs);
        for (size_t i = 0; i < req->n_txs; i++) tve_job_release(&jobs[i]);
        free(jobs);
        TRY(st);
    }
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_VERIFY_BLOCK;
    resp->verify_block = r;
    return VEIL_OK;
}

/* --- end-block --------------------------------------------------------------------- */
veil_status tve_handle_end_block(tve_service *s, const Veil__Tve__EndBlockRequest *req,
                                    veil_arena *a, Veil__Tve__Response *resp)
{
    TRY(tve_require_initialized(s));
    Veil__Tve__EndBlockResponse *r = VEIL_ARENA_NEW(a, Veil__Tve__EndBlockResponse);
    uint8_t *bloom = veil_arena_alloc(a, TVE_BLOOM_LEN);
    ENSURE(r != NULL && bloom != NULL, VEIL_ERR_NOMEM);
    veil__tve__end_block_response__init(r);
    uint64_t h = req->height, last = s->meta.last_height;
    tve_staging *g = &s->staging;

    if (h >= 1 && h <= last) {
        tve_store_block b;
        TRY(tve_store_block_get(s->store, h, &b));
        memcpy(bloom, b.bloom, TVE_BLOOM_LEN);
        r->tx_count = (uint32_t)b.n;
        tve_store_block_free(&b);
    } else {
        ENSURE(h == last + 1, VEIL_ERR_TVE_HEIGHT);
        /* The enclave hands the bloom out once and resets it; keeping it here makes
         * end-block idempotent for a node that retries. */
        if (!(g->height == h && g->have_bloom)) {
            if (g->height != h) {
                pthread_rwlock_wrlock(&s->staging_lock);
                tve_staging_reset(g);
                pthread_rwlock_unlock(&s->staging_lock);
                g->height = h;
            }
            TRY(tve_enclave_end_block(s, h, g->bloom));
            g->have_bloom = true;
        }
        g->closed = true;
        memcpy(bloom, g->bloom, TVE_BLOOM_LEN);
        r->tx_count = (uint32_t)g->n;
    }
    r->bloom.data = bloom;
    r->bloom.len = TVE_BLOOM_LEN;
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_END_BLOCK;
    resp->end_block = r;
    return VEIL_OK;
}

/* --- commit-block ------------------------------------------------------------------ */
static veil_status commit_next(tve_service *s, const Veil__Tve__CommitBlockRequest *req)
{
    tve_staging *g = &s->staging;
    size_t n = g->height == req->height ? g->n : 0;
    tve_store_tx *txs = NULL;
    veil_status st = VEIL_OK;

    /* The node lists what it accepted; anything else staged or missing means the two
     * sides saw different blocks. Staging is kept so the node can re-verify. */
    ENSURE(req->n_txids == n, VEIL_ERR_TVE_STAGING_MISMATCH);
    for (size_t i = 0; i < n; i++)
        ENSURE(memcmp(req->txids[i].data, g->txs[i].txid, TVE_TXID_LEN) == 0,
               VEIL_ERR_TVE_STAGING_MISMATCH);
    if (!(g->height == req->height && g->have_bloom)) {
        TRY(tve_enclave_end_block(s, req->height, g->bloom));
        g->have_bloom = true;
        g->height = req->height;
    }
    size_t accepted = 0;
    for (size_t i = 0; i < g->n_codes; i++) accepted += g->codes[i] == 0;
    bool codes_ok = g->height == req->height && accepted == n;
    txs = calloc(n ? n : 1, sizeof *txs);
    ENSURE(txs != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        const tve_staged *x = &g->txs[i];
        txs[i] = (tve_store_tx){.txid = x->txid,
                                .sealed = x->sealed,
                                .sealed_len = x->sealed_len,
                                .spends = (const uint8_t(*)[TVE_OUTPOINT_LEN])x->spends,
                                .n_spends = x->n_spends,
                                .outcome = x->outcome,
                                .outcome_len = x->outcome_len};
    }
    TRY_OUT(tve_store_commit_block(s->store, req->height, req->app_hash.data, req->app_hash.len,
                                   g->bloom, txs, n, g->codes, codes_ok ? g->n_codes : 0));
    s->meta.last_height = req->height;
    if (req->app_hash.len > 0) memcpy(s->meta.last_app_hash, req->app_hash.data, req->app_hash.len);
    s->meta.last_app_hash_len = req->app_hash.len;
    pthread_rwlock_wrlock(&s->staging_lock);
    tve_staging_reset(g);
    pthread_rwlock_unlock(&s->staging_lock);
out:
    free(txs);
    return st;
}

/* Committing an already committed height again: success if it is the same block. */
static veil_status commit_again(tve_service *s, const Veil__Tve__CommitBlockRequest *req,
                                uint32_t *tx_count)
{
    tve_replay rp;
    veil_status st = VEIL_OK;
    TRY(replay_open(s, req->height, &rp));
    ENSURE_OUT(tve_app_hash_equal(rp.block.app_hash, rp.block.app_hash_len, &req->app_hash),
               VEIL_ERR_TVE_APP_HASH_MISMATCH);
    ENSURE_OUT(req->n_txids == rp.block.n, VEIL_ERR_TVE_STAGING_MISMATCH);
    for (size_t i = 0; i < req->n_txids; i++)
        ENSURE_OUT(memcmp(req->txids[i].data, rp.outcomes[i]->txid.data, TVE_TXID_LEN) == 0,
                   VEIL_ERR_TVE_STAGING_MISMATCH);
    *tx_count = (uint32_t)rp.block.n;
out:
    replay_free(&rp);
    return st;
}

veil_status tve_handle_commit_block(tve_service *s, const Veil__Tve__CommitBlockRequest *req,
                                       veil_arena *a, Veil__Tve__Response *resp, size_t *n_items)
{
    *n_items = req->n_txids;
    TRY(tve_require_initialized(s));
    ENSURE(req->n_txids <= TVE_BLOCK_MAX_TXS, VEIL_ERR_TVE_TOO_MANY);
    ENSURE(req->app_hash.len <= TVE_APP_HASH_MAX, VEIL_ERR_TOO_LARGE);
    for (size_t i = 0; i < req->n_txids; i++) ENSURE(tve_txid_ok(&req->txids[i]), VEIL_ERR_MALFORMED);
    Veil__Tve__CommitBlockResponse *r = VEIL_ARENA_NEW(a, Veil__Tve__CommitBlockResponse);
    ENSURE(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__commit_block_response__init(r);
    uint64_t h = req->height, last = s->meta.last_height;
    if (h >= 1 && h <= last) {
        TRY(commit_again(s, req, &r->tx_count));
    } else {
        ENSURE(h == last + 1, VEIL_ERR_TVE_HEIGHT);
        TRY(commit_next(s, req));
        r->tx_count = (uint32_t)req->n_txids;
    }
    if (req->keys != NULL) TRY(tve_apply_key_window(s, req->keys));
    r->height = h;
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_COMMIT_BLOCK;
    resp->commit_block = r;
    return VEIL_OK;
}

