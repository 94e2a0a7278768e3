/* verify-block: a block's confidential txs validated in parallel inside the enclave.
 *
 * The result must be exactly what validating the txs one by one in block order would
 * give, on any number of threads. Two things couple txs of one block:
 *   - a tx may spend an output created by an earlier tx of the block;
 *   - two txs may spend the same output (the later one must fail as spent).
 * So the batch runs in dependency waves: a tx waits for the wave after every earlier tx
 * of the batch whose txid it references or whose inputs it shares. Within a wave no tx
 * depends on another, and N threads call E_VERIFY (DELIVER) concurrently. Each ecall
 * sees only the staged txs that precede it in block order (tve_call_ctx.visible), so even a
 * later tx staged in an earlier wave cannot feed an earlier one. Valid txs are staged
 * after their wave, then put back in block order.
 */
#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"
#include "host/tve/tve_internal.h"

#define WAVE_NONE UINT32_MAX /* decided before validation (duplicate, committed) */

typedef struct block_run {
    tve_service *s;
    tve_tx_job *jobs;
    const uint32_t *items; /* the current wave's job indices */
    uint64_t height;
    const Veil__Tve__ChainParams *params;
} block_run;

/* Shape and "already committed" checks: store reads only, so they run in parallel. */
static void block_prepare_one(void *ctx, size_t i, unsigned worker)
{
    (void)worker;
    block_run *b = ctx;
    tve_tx_job *j = &b->jobs[i];
    veil_status st = tve_job_prepare(j);
    if (st != VEIL_OK) {
        j->st = st;
        return;
    }
    if (!j->shaped) return;
    bool exists;
    st = tve_store_tx_exists(b->s->store, j->wire->txid, &exists);
    if (st != VEIL_OK)
        j->st = st;
    else if (exists)
        j->st = VEIL_ERR_TVE_TX_EXISTS;
}

static void block_verify_one(void *ctx, size_t k, unsigned worker)
{
    (void)worker;
    block_run *b = ctx;
    tve_job_verify(b->s, &b->jobs[b->items[k]], VEIL__TVE__MODE__DELIVER, b->height, b->params);
}

static uint32_t max_u32(uint32_t a, uint32_t b) { return a > b ? a : b; }

/* Assigns each undecided job its wave; marks duplicates. Returns the highest wave. */
static veil_status block_plan_waves(tve_tx_job *jobs, size_t n, uint32_t *wave, uint32_t *max_wave)
{
    veil_keymap producers, spenders;
    veil_status st = VEIL_OK;
    veil_keymap_init(&producers, TVE_TXID_LEN);
    veil_keymap_init(&spenders, TVE_OUTPOINT_LEN);
    *max_wave = 0;
    for (size_t i = 0; i < n; i++) {
        tve_tx_job *j = &jobs[i];
        uint32_t other;
        wave[i] = WAVE_NONE;
        if (j->st != VEIL_OK) continue;
        /* Without a well-formed txid and inputs the enclave rejects the tx on shape
         * alone; it neither depends on nor feeds anything. */
        if (!j->shaped) {
            wave[i] = 0;
            continue;
        }
        const veil_tx_wire *tx = j->wire;
        if (veil_keymap_get(&producers, tx->txid, &other)) {
            j->st = VEIL_ERR_TVE_DUPLICATE_TX;
            continue;
        }
        uint32_t w = 0;
        for (size_t k = 0; k < tx->n_inputs; k++) {
            uint8_t op[TVE_OUTPOINT_LEN];
            memcpy(op, tx->inputs[k].txid, TVE_TXID_LEN);
            veil_put_u32(op + TVE_TXID_LEN, tx->inputs[k].index);
            if (veil_keymap_get(&producers, op, &other)) w = max_u32(w, wave[other] + 1);
            if (veil_keymap_get(&spenders, op, &other)) w = max_u32(w, wave[other] + 1);
            TRY_OUT(veil_keymap_put(&spenders, op, (uint32_t)i));
        }
        TRY_OUT(veil_keymap_put(&producers, tx->txid, (uint32_t)i));
        wave[i] = w;
        *max_wave = max_u32(*max_wave, w);
    }
out:
    veil_keymap_free(&producers);
    veil_keymap_free(&spenders);
    return st;
}

veil_status tve_block_verify(tve_service *s, uint64_t height, const Veil__Tve__ChainParams *params,
                             tve_tx_job *jobs, size_t n)
{
    uint32_t *wave = NULL, *items = NULL, *count = NULL;
    veil_status st = VEIL_OK;

    ENSURE(n <= TVE_BLOCK_MAX_TXS, VEIL_ERR_TVE_TOO_MANY);
    /* verify-block is the whole block: it replaces whatever was staged for this height
     * (this is how the node re-verifies after a staging mismatch), and the enclave's
     * bloom for the height starts over too. */
    if (s->staging.height == height) {
        uint8_t discard[TVE_BLOOM_LEN];
        TRY(tve_enclave_end_block(s, height, discard));
    }
    pthread_rwlock_wrlock(&s->staging_lock);
    tve_staging_reset(&s->staging);
    s->staging.height = height;
    pthread_rwlock_unlock(&s->staging_lock);

    for (size_t i = 0; i < n; i++) {
        jobs[i].index = (uint32_t)i;
        jobs[i].st = VEIL_OK;
        jobs[i].result = NULL;
    }
    block_run run = {s, jobs, NULL, height, params};
    tve_pool_run(s->pool, n, block_prepare_one, &run);

    wave = calloc(n ? n : 1, sizeof *wave);
    items = calloc(n ? n : 1, sizeof *items);
    ENSURE_OUT(wave != NULL && items != NULL, VEIL_ERR_NOMEM);
    uint32_t max_wave;
    TRY_OUT(block_plan_waves(jobs, n, wave, &max_wave));
    /* Counting sort of job indices by wave, keeping block order within a wave. */
    count = calloc((size_t)max_wave + 2, sizeof *count);
    ENSURE_OUT(count != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < n; i++)
        if (wave[i] != WAVE_NONE) count[wave[i] + 1]++;
    for (uint32_t w = 0; w <= max_wave; w++) count[w + 1] += count[w];
    uint32_t *fill = calloc((size_t)max_wave + 1, sizeof *fill);
    ENSURE_OUT(fill != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < n; i++)
        if (wave[i] != WAVE_NONE) items[count[wave[i]] + fill[wave[i]]++] = (uint32_t)i;
    free(fill);

    for (uint32_t w = 0; w <= max_wave; w++) {
        run.items = items + count[w];
        size_t in_wave = count[w + 1] - count[w];
        tve_pool_run(s->pool, in_wave, block_verify_one, &run);
        /* Stage this wave before the next one runs: later waves resolve against it. */
        for (size_t k = 0; k < in_wave; k++) {
            tve_tx_job *j = &jobs[run.items[k]];
            if (j->st == VEIL_OK) TRY_OUT(tve_job_stage(s, j));
        }
    }
    pthread_rwlock_wrlock(&s->staging_lock);
    st = tve_staging_sort(&s->staging);
    pthread_rwlock_unlock(&s->staging_lock);
out:
    if (st != VEIL_OK) {
        /* A request-level failure (out of memory): nothing of this batch may stay
         * staged, and the node gets an error for the whole request. */
        pthread_rwlock_wrlock(&s->staging_lock);
        tve_staging_reset(&s->staging);
        s->staging.height = height;
        pthread_rwlock_unlock(&s->staging_lock);
    }
    free(wave);
    free(items);
    free(count);
    return st;
}

/* --- a CHECK batch --------------------------------------------------------------- */
static void check_verify_one(void *ctx, size_t i, unsigned worker)
{
    (void)worker;
    block_run *b = ctx;
    tve_tx_job *j = &b->jobs[i];
    if (j->st != VEIL_OK) return; /* already committed, or a local failure */
    tve_job_verify(b->s, j, VEIL__TVE__MODE__CHECK, 0, b->params);
}

void tve_block_check(tve_service *s, const Veil__Tve__ChainParams *params, tve_tx_job *jobs,
                     size_t n)
{
    for (size_t i = 0; i < n; i++) {
        jobs[i].index = (uint32_t)i;
        jobs[i].st = VEIL_OK;
        jobs[i].result = NULL;
    }
    /* Each tx sees committed state only (visible 0), as verify-tx CHECK: no order, no
     * waves, nothing staged. */
    block_run run = {s, jobs, NULL, 0, params};
    tve_pool_run(s->pool, n, block_prepare_one, &run);
    tve_pool_run(s->pool, n, check_verify_one, &run);
}
