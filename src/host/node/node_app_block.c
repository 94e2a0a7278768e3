/* The node's application logic (node_app.h; protocol and rules: docs/node.md): CheckTx and the phases of a block. */
#include "host/node/node_app_internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/cursor.h"
#include "common/hex.h"
#include "host/node/node_genesis.h"
#include "host/node/node_state.h"
#include "chain/node_tx.h"
#include "host/node/node_rules.h"
#include "host/tve/tve_client.h"
#include "hostutil/fileio.h"
#include "hostutil/keymap.h"
#include "tee/tee.h"
#include "veil/node.pb-c.h"
#include "veil/tve.pb-c.h"



/* --- public checks of a block's txs ------------------------------------------------ */
/* What the txs so far in a block have claimed (phase 1 of a block, docs/node.md). */
typedef struct block_scan {
    bool pending;   /* read and write the block overlay (else committed state, no writes) */
    uint64_t height;
    uint64_t time;
    const uint8_t *proposer; /* the block's proposer (20 bytes); NULL outside a block */
    bool have_window;        /* w computed (at the first confidential tx) */
    node_epoch_window w;
    veil_keymap spent;     /* outpoint (36) -> claimed by an earlier tx of the block */
    veil_keymap created;   /* txid -> output count, confidential txs passed on to the TVE */
    veil_keymap locks;     /* address -> LOCK_* of confidential txs passed on to the TVE */
    node_val_update *vals; /* validator power changes (pending scans only) */
    size_t n_vals, cap_vals;
} block_scan;

static void scan_init(block_scan *b, bool pending, uint64_t height, uint64_t time)
{
    memset(b, 0, sizeof *b);
    b->pending = pending;
    b->height = height;
    b->time = time;
    veil_keymap_init(&b->spent, 36);
    veil_keymap_init(&b->created, 32);
    veil_keymap_init(&b->locks, 32);
}

static void scan_free(block_scan *b)
{
    veil_keymap_free(&b->spent);
    veil_keymap_free(&b->created);
    veil_keymap_free(&b->locks);
    free(b->vals);
}

/* Records a power change for CometBFT; a second change of one key in the block
 * replaces the first (CometBFT refuses a key twice in one update list). */
static veil_status scan_val_update(block_scan *b, const uint8_t pub_key[static 32], int64_t power)
{
    for (size_t i = 0; i < b->n_vals; i++)
        if (memcmp(b->vals[i].pub_key, pub_key, 32) == 0) {
            b->vals[i].power = power;
            return VEIL_OK;
        }
    if (b->n_vals == b->cap_vals) {
        size_t cap = b->cap_vals ? 2 * b->cap_vals : 8;
        node_val_update *p = realloc(b->vals, cap * sizeof *p);
        ENSURE(p != NULL, VEIL_ERR_NOMEM);
        b->vals = p;
        b->cap_vals = cap;
    }
    memcpy(b->vals[b->n_vals].pub_key, pub_key, 32);
    b->vals[b->n_vals++].power = power;
    return VEIL_OK;
}

/* The voting power an account's node has (docs/node.md, "Validators"). */
static int64_t account_power(const node_account *acc, uint64_t now)
{
    if (!acc->has_node || !acc->node.has_validator || acc->jailed_until > now) return 0;
    uint64_t p = acc->bonded / NODE_STAKE_PER_POWER;
    return p > (uint64_t)NODE_MAX_POWER ? NODE_MAX_POWER : (int64_t)p;
}

/* A public tx that passed the account rules, for an account whose node names a
 * validator key: the key must be this account's alone; its record follows the power,
 * and a change goes to CometBFT. *st becomes the tx's refusal, if any. */
static veil_status validator_follow(node_app *a, block_scan *b, const node_account *next,
                                    veil_status *st, const char **detail)
{
    if (!next->has_node || !next->node.has_validator) return VEIL_OK;
    node_validator vr;
    bool found;
    TRY(node_state_validator_get(a->st, b->pending, next->node.validator_pubkey, &vr, &found));
    if (found && memcmp(vr.account, next->address, 32) != 0) {
        *st = VEIL_ERR_NODE_VALIDATOR_KEY;
        *detail = "node join: the validator key is bound to another account";
        return VEIL_OK;
    }
    int64_t power = account_power(next, b->time), old = found ? vr.power : 0;
    if (!b->pending || (found && power == old)) return VEIL_OK;
    memcpy(vr.account, next->address, 32);
    vr.power = power;
    TRY(node_state_validator_put(a->st, next->node.validator_pubkey, &vr));
    if (power != old) TRY(scan_val_update(b, next->node.validator_pubkey, power));
    return VEIL_OK;
}

static void outpoint_key(uint8_t k[36], const veil_tx_outpoint *o)
{
    memcpy(k, o->txid, 32);
    veil_put_u32(k + 32, o->index);
}

/* A confidential tx passed on to the TVE: what goes into its TxContext. */
typedef struct conf_job {
    size_t tx_index;               /* position in the block */
    veil_tx_wire *wire;            /* its public fields, as the scan decoded them */
    protobuf_c_boolean *spent;     /* n_inputs flags (all false: spent inputs are refused) */
    bool has_account;
    node_account account;
    Veil__Tve__AccountState account_msg;
    Veil__Tve__TxContext ctx;
} conf_job;

/* Public checks of one tx at its position. Public txs are applied to the overlay at
 * once (when scanning pending state); confidential ones that pass are recorded in the
 * scan and, if job is not NULL, described in *job for the TVE. *to_tve tells which. */
static veil_status scan_tx(node_app *a, block_scan *b, const uint8_t *tx, size_t len,
                           node_tx_result *res, conf_job *job, bool *to_tve)
{
    node_chain_tx *d = a->tx;
    const char *detail = NULL;
    *to_tve = false;
    veil_status st = node_chain_tx_decode(tx, len, node_state_meta(a->st)->chain_id, d);
    if (st != VEIL_OK) {
        node_result_set(res, st, "the tx does not decode");
        return VEIL_OK;
    }
    if (d->type == NODE_TX_KEY_EPOCH) {
        TRY(node_epoch_apply(a, b->pending, b->height, b->proposer, &d->key_epoch, &st, &detail));
        node_result_set(res, st, detail);
        return VEIL_OK;
    }
    if (d->type == NODE_TX_PUBLIC) {
        node_account acc, next;
        bool found;
        uint32_t lock;
        TRY(node_state_account_get(a->st, b->pending, d->pub.account, &acc, &found));
        if (veil_keymap_get(&b->locks, d->pub.account, &lock)) {
            node_result_set(res, VEIL_ERR_OUT_OF_ORDER,
                       "the account has a confidential tx earlier in this block; resubmit");
            return VEIL_OK;
        }
        node_public_env env = {node_state_params(a->st), node_app_chain_id(a), b->time,
                               b->height};
        st = node_public_apply(d, &env, found ? &acc : NULL, &next, &detail);
        if (st == VEIL_OK) TRY(validator_follow(a, b, &next, &st, &detail));
        if (st == VEIL_OK && b->pending) TRY(node_state_account_put(a->st, &next));
        node_result_set(res, st, detail);
        return VEIL_OK;
    }

    /* confidential: public fields against public state */
    const veil_tx_wire *w = &d->wire;
    node_output o;
    bool found;
    uint32_t v;
    if (!b->have_window) {
        TRY(node_epoch_window_at(a, b->pending, b->height, &b->w));
        b->have_window = true;
    }
    st = node_epoch_admits(&b->w, w->key_epoch);
    if (st != VEIL_OK) {
        node_result_set(res, st, st == VEIL_ERR_TX_KEY_EPOCH_EXPIRED
                                     ? "the tx's key epoch is past its grace period"
                                     : "the tx's key epoch is not in use on chain");
        return VEIL_OK;
    }
    TRY(node_state_output_get(a->st, b->pending, w->txid, &o, &found));
    if (found || veil_keymap_get(&b->created, w->txid, NULL)) {
        node_result_set(res, found ? VEIL_ERR_TVE_TX_EXISTS : VEIL_ERR_TVE_DUPLICATE_TX, NULL);
        return VEIL_OK;
    }
    for (size_t i = 0; i < w->n_inputs; i++) {
        const veil_tx_outpoint *in = &w->inputs[i];
        uint8_t k[36];
        uint32_t count;
        TRY(node_state_output_get(a->st, b->pending, in->txid, &o, &found));
        if (found) {
            count = o.output_count;
        } else if (veil_keymap_get(&b->created, in->txid, &count)) {
            o.spent = 0;
        } else {
            node_result_set(res, VEIL_ERR_TX_INPUT_NOT_FOUND, NULL);
            return VEIL_OK;
        }
        if (in->index >= count) {
            node_result_set(res, VEIL_ERR_TX_OUTPUT_INDEX_OUT_OF_RANGE, NULL);
            return VEIL_OK;
        }
        outpoint_key(k, in);
        if (((o.spent >> in->index) & 1u) || veil_keymap_get(&b->spent, k, NULL)) {
            node_result_set(res, VEIL_ERR_TX_INPUT_SPENT, NULL);
            return VEIL_OK;
        }
    }
    node_account acc;
    bool has_acc = false;
    if (w->kind != VEIL_TX_KIND_TRANSFER) {
        if (!w->has_account) {
            node_result_set(res, VEIL_ERR_TX_ACCOUNT_MISMATCH, NULL);
            return VEIL_OK;
        }
        TRY(node_state_account_get(a->st, b->pending, w->account, &acc, &has_acc));
        uint32_t lock = 0;
        (void)veil_keymap_get(&b->locks, w->account, &lock);
        if (w->kind == VEIL_TX_KIND_WITHDRAW) {
            if (!has_acc) {
                node_result_set(res, VEIL_ERR_TX_ACCOUNT_NOT_FOUND, NULL);
                return VEIL_OK;
            }
            /* A withdraw reads the nonce and unbonded stake an earlier withdraw of the
             * block may change: one per account per block. */
            if (lock & LOCK_WITHDRAW) {
                node_result_set(res, VEIL_ERR_OUT_OF_ORDER,
                           "the account has a withdraw earlier in this block; resubmit");
                return VEIL_OK;
            }
        }
        v = lock | (w->kind == VEIL_TX_KIND_WITHDRAW ? LOCK_WITHDRAW : LOCK_DEPOSIT);
        TRY(veil_keymap_put(&b->locks, w->account, v));
    }
    for (size_t i = 0; i < w->n_inputs; i++) {
        uint8_t k[36];
        outpoint_key(k, &w->inputs[i]);
        TRY(veil_keymap_put(&b->spent, k, 1));
    }
    TRY(veil_keymap_put(&b->created, w->txid, w->output_count));
    node_result_set(res, VEIL_OK, NULL);
    *to_tve = true;
    if (job == NULL) return VEIL_OK;

    memset(job, 0, sizeof *job);
    job->spent = calloc(w->n_inputs ? w->n_inputs : 1, sizeof *job->spent);
    job->wire = malloc(sizeof *job->wire);
    if (job->spent == NULL || job->wire == NULL) return VEIL_ERR_NOMEM;
    *job->wire = *w;
    veil__tve__tx_context__init(&job->ctx);
    /* The block's bytes, not a re-encoding: the enclave judges exactly what is on chain. */
    job->ctx.tx.data = (uint8_t *)d->conf;
    job->ctx.tx.len = d->conf_len;
    job->ctx.n_input_spent = w->n_inputs;
    job->ctx.input_spent = job->spent;
    if (has_acc) {
        job->has_account = true;
        job->account = acc;
        node_account_msg(&job->account, &job->account_msg);
        job->ctx.account = &job->account_msg;
    }
    return VEIL_OK;
}

static void job_release(conf_job *job)
{
    free(job->spent);
    free(job->wire);
    memset(job, 0, sizeof *job);
}

static void jobs_free(conf_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) job_release(&jobs[i]);
    free(jobs);
}

/* What one verify-block may carry (the TVE refuses more: TVE_BLOCK_MAX_TXS, and a
 * 32 MiB request). A block beyond them, which a byzantine proposer could build, must
 * not halt the chain: the excess confidential txs are refused one by one, in block
 * order, the same way on every validator. */
#define NODE_BLOCK_MAX_CONF_TXS 10000u
#define NODE_BLOCK_MAX_CONF_BYTES (24u << 20)

/* --- CheckTx ---------------------------------------------------------------------- */
static veil_status node_check_tx_run(node_app *a, const node_meta *m, const uint8_t *tx,
                                     size_t len, bool recheck, node_tx_result *res);

veil_status node_app_check_tx(node_app *a, const uint8_t *tx, size_t len, bool recheck,
                              node_tx_result *res)
{
    const node_meta *m = node_state_meta(a->st);
    if (!m->initialized) {
        node_result_set(res, VEIL_ERR_TVE_NOT_INITIALIZED, "the chain has not started");
        return VEIL_OK;
    }
    veil_status st = node_check_tx_run(a, m, tx, len, recheck, res);
    veil_metric_add(&node_m_checktx, 1);
    if (st == VEIL_OK && res->code != 0) veil_metric_add(&node_m_checktx_refused, 1);
    return st;
}

static veil_status node_check_tx_run(node_app *a, const node_meta *m, const uint8_t *tx,
                                     size_t len, bool recheck, node_tx_result *res)
{
    block_scan b;
    conf_job job;
    bool to_tve;
    memset(&job, 0, sizeof job);
    scan_init(&b, false, m->last_height + 1, m->last_block_time);
    veil_status st = scan_tx(a, &b, tx, len, res, &job, &to_tve);
    scan_free(&b);
    if (st != VEIL_OK || !to_tve) {
        job_release(&job);
        return st;
    }
    if (recheck && job.wire->kind == VEIL_TX_KIND_TRANSFER) {
        /* The public checks above passed: nothing the TVE judged can have changed. */
        veil_metric_add(&node_m_recheck_public, 1);
        job_release(&job);
        return VEIL_OK;
    }
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__VerifyTxRequest vt = VEIL__TVE__VERIFY_TX_REQUEST__INIT;
    Veil__Tve__ChainParams params;
    Veil__Tve__Response *r = NULL;
    node_params_msg(a, m->last_block_time, &params);
    vt.mode = VEIL__TVE__MODE__CHECK;
    vt.height = m->last_height + 1;
    vt.params = &params;
    vt.tx = &job.ctx;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_VERIFY_TX;
    req.verify_tx = &vt;
    /* The mempool does not wait for a TVE that is down: the tx is refused. */
    uint64_t t0 = veil_monotonic_us();
    st = node_tve_call(a, &req, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_TX, 0, false, &r);
    veil_metric_add(&node_m_tve_us, veil_monotonic_us() - t0);
    veil_metric_add(&node_m_tve_n, 1);
    if (st == VEIL_OK) {
        node_result_set(res, VEIL_OK, NULL);
        veil__tve__response__free_unpacked(r, NULL);
    } else {
        node_result_set(res, st, node_tve_transient(st) ? "the TVE is not reachable" : NULL);
    }
    job_release(&job);
    return VEIL_OK;
}

veil_status node_app_check_tx_batch(node_app *a, const uint8_t *const *txs, const size_t *lens,
                                    const bool *recheck, size_t n, node_tx_result *res)
{
    const node_meta *m = node_state_meta(a->st);
    veil_status st = VEIL_OK;
    if (!m->initialized) {
        for (size_t i = 0; i < n; i++)
            node_result_set(&res[i], VEIL_ERR_TVE_NOT_INITIALIZED, "the chain has not started");
        return VEIL_OK;
    }
    conf_job *jobs = calloc(n ? n : 1, sizeof *jobs);
    size_t *which = calloc(n ? n : 1, sizeof *which);
    Veil__Tve__TxContext **ctxs = calloc(n ? n : 1, sizeof *ctxs);
    Veil__Tve__Response *r = NULL;
    size_t k = 0;
    ENSURE_OUT(jobs != NULL && which != NULL && ctxs != NULL, VEIL_ERR_NOMEM);
    /* The public checks, each tx on its own against committed state (a fresh scan each,
     * as one CheckTx at a time would see it). */
    for (size_t i = 0; i < n; i++) {
        block_scan b;
        bool to_tve;
        scan_init(&b, false, m->last_height + 1, m->last_block_time);
        st = scan_tx(a, &b, txs[i], lens[i], &res[i], &jobs[k], &to_tve);
        scan_free(&b);
        if (st != VEIL_OK) {
            job_release(&jobs[k]);
            goto out;
        }
        if (!to_tve) {
            job_release(&jobs[k]);
            continue;
        }
        if (recheck[i] && jobs[k].wire->kind == VEIL_TX_KIND_TRANSFER) {
            veil_metric_add(&node_m_recheck_public, 1); /* see node_check_tx_run */
            job_release(&jobs[k]);
            continue;
        }
        ctxs[k] = &jobs[k].ctx;
        which[k++] = i;
    }
    if (k > 0) {
        Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
        Veil__Tve__VerifyBlockRequest vb = VEIL__TVE__VERIFY_BLOCK_REQUEST__INIT;
        Veil__Tve__ChainParams params;
        node_params_msg(a, m->last_block_time, &params);
        vb.mode = VEIL__TVE__MODE__CHECK;
        vb.height = m->last_height + 1;
        vb.params = &params;
        vb.n_txs = k;
        vb.txs = ctxs;
        req.request_case = VEIL__TVE__REQUEST__REQUEST_VERIFY_BLOCK;
        req.verify_block = &vb;
        /* As one CheckTx: the mempool does not wait for a TVE that is down. */
        uint64_t t0 = veil_monotonic_us();
        veil_status tst = node_tve_call(a, &req, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_BLOCK, 0,
                                        false, &r);
        veil_metric_add(&node_m_tve_us, veil_monotonic_us() - t0);
        veil_metric_add(&node_m_tve_n, 1);
        veil_metric_add(&node_m_check_batches, 1);
        if (tst == VEIL_OK && r->verify_block->n_results != k) {
            veil_error_detail_set("the TVE answered %zu results for %zu txs",
                                  r->verify_block->n_results, k);
            tst = VEIL_ERR_TEE_ENCLAVE_FAULT;
        }
        for (size_t j = 0; j < k; j++) {
            node_tx_result *x = &res[which[j]];
            if (tst != VEIL_OK) {
                node_result_set(x, tst, node_tve_transient(tst) ? "the TVE is not reachable" : NULL);
                continue;
            }
            const Veil__Tve__TxResult *tr = r->verify_block->results[j];
            if (tr->result_case == VEIL__TVE__TX_RESULT__RESULT_OK)
                node_result_set(x, VEIL_OK, NULL);
            else if (tr->result_case == VEIL__TVE__TX_RESULT__RESULT_ERROR && tr->error->code != 0)
                node_result_set(x, (veil_status)tr->error->code, NULL);
            else
                node_result_set(x, VEIL_ERR_TEE_ENCLAVE_FAULT, "the TVE gave no verdict");
        }
    }
    veil_metric_add(&node_m_checktx, n);
    for (size_t i = 0; i < n; i++)
        if (res[i].code != 0) veil_metric_add(&node_m_checktx_refused, 1);
out:
    if (r != NULL) veil__tve__response__free_unpacked(r, NULL);
    for (size_t j = 0; jobs != NULL && j < k; j++) job_release(&jobs[j]);
    free(jobs);
    free(which);
    free(ctxs);
    return st;
}

/* --- PrepareProposal ---------------------------------------------------------------- */
veil_status node_app_prepare(node_app *a, uint64_t height, uint64_t time, const uint8_t *proposer,
                             const uint8_t *const *txs, const size_t *lens, size_t n,
                             uint64_t max_bytes, size_t *keep, size_t *n_keep, uint8_t *extra,
                             size_t extra_cap, size_t *extra_len)
{
    *n_keep = 0;
    uint64_t total = 0;
    /* The next epoch's key, when due, goes first: a proposer that cannot draw it (its
     * TVE is down) proposes without, and the next proposer tries. */
    veil_status dst = node_epoch_draw(a, height, proposer, extra, extra_cap, extra_len);
    if (dst != VEIL_OK) {
        node_log(a, "could not draw the next epoch's key for block %llu: %s (%s); the next "
                    "proposer will", (unsigned long long)height, veil_status_name(dst),
                 veil_error_detail());
        *extra_len = 0;
    }
    total = *extra_len;
    /* The scan applies public txs to the overlay; only do it on a clean one, and drop
     * the changes after. */
    bool scan = !node_state_pending(a->st) && node_state_meta(a->st)->initialized;
    block_scan b;
    scan_init(&b, true, height, time);
    /* Key-epoch txs from the mempool are dropped: only the proposer's own is valid. */
    veil_status st = VEIL_OK;
    size_t conf_txs = 0, conf_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (max_bytes && (lens[i] > max_bytes || total > max_bytes - lens[i])) continue;
        if (scan) {
            node_tx_result res;
            bool to_tve;
            st = scan_tx(a, &b, txs[i], lens[i], &res, NULL, &to_tve);
            if (st != VEIL_OK) break;
            if (res.code != VEIL_OK) continue;
            /* Confidential txs beyond one verify-block batch wait for the next block. */
            if (to_tve) {
                if (conf_txs >= NODE_BLOCK_MAX_CONF_TXS ||
                    conf_bytes + lens[i] > NODE_BLOCK_MAX_CONF_BYTES)
                    continue;
                conf_txs++;
                conf_bytes += lens[i];
            }
        }
        keep[(*n_keep)++] = i;
        total += lens[i];
    }
    scan_free(&b);
    if (scan) node_state_rollback(a->st);
    return st;
}

/* --- FinalizeBlock ------------------------------------------------------------------ */
void node_block_result_free(node_block_result *r)
{
    free(r->txs);
    r->txs = NULL;
    r->n = 0;
    free(r->val_updates);
    r->val_updates = NULL;
    r->n_val_updates = 0;
}

/* verify-block then end-block for the block being executed. A TVE that restarted or
 * lags is brought to height - 1 first; transport failures are waited out. */
static veil_status node_tve_run_block(node_app *a, Veil__Tve__VerifyBlockRequest *vb,
                                 Veil__Tve__Response **r, uint8_t bloom[VEIL_BLOOM_BYTES])
{
    for (unsigned attempt = 0;; attempt++) {
        veil_status st = node_tve_verify_block(a, vb, true, r);
        if (st == VEIL_OK) {
            st = node_tve_end_block(a, vb->height, true, bloom);
            if (st == VEIL_OK) return VEIL_OK;
            veil__tve__response__free_unpacked(*r, NULL);
            *r = NULL;
        }
        bool resync = st == VEIL_ERR_TVE_HEIGHT || st == VEIL_ERR_OUT_OF_ORDER ||
                      st == VEIL_ERR_TVE_STAGING_MISMATCH || node_tve_transient(st);
        if (!resync || attempt >= 3) return st;
        node_log(a, "TVE answered %s for block %llu: re-synchronising", veil_status_name(st),
             (unsigned long long)vb->height);
        TRY(node_tve_sync(a, vb->height - 1));
    }
}

/* Applies one accepted confidential tx's outcome to the overlay. */
static veil_status apply_outcome(node_app *a, uint64_t height, const conf_job *job,
                                 const Veil__Tve__TxOutcome *o)
{
    const veil_tx_wire *m = job->wire;
    /* The TVE reports what the public fields already say; anything else means the
     * TVE is not answering for this tx. */
    if (o->txid.len != 32 || memcmp(o->txid.data, m->txid, 32) != 0 ||
        (int)o->kind != (int)m->kind || o->output_count != m->output_count || o->fee != m->fee ||
        (m->kind != VEIL_TX_KIND_TRANSFER &&
         (o->account.len != 32 || memcmp(o->account.data, m->account, 32) != 0))) {
        veil_error_detail_set("the TVE's outcome for a tx contradicts its public fields");
        return VEIL_ERR_TVE_STAGING_MISMATCH;
    }
    for (size_t i = 0; i < m->n_inputs; i++) {
        node_output prev;
        bool found;
        TRY(node_state_output_get(a->st, true, m->inputs[i].txid, &prev, &found));
        ENSURE(found && m->inputs[i].index < prev.output_count, VEIL_ERR_TVE_STAGING_MISMATCH);
        prev.spent |= (uint64_t)1 << m->inputs[i].index;
        TRY(node_state_output_put(a->st, m->inputs[i].txid, &prev));
    }
    node_output created = {.output_count = m->output_count, .spent = 0, .height = height};
    TRY(node_state_output_put(a->st, m->txid, &created));
    if (m->kind == VEIL_TX_KIND_TRANSFER) return VEIL_OK;

    node_account acc;
    bool found;
    TRY(node_state_account_get(a->st, true, m->account, &acc, &found));
    if (m->kind == VEIL_TX_KIND_DEPOSIT) {
        if (!found) {
            memset(&acc, 0, sizeof acc);
            memcpy(acc.address, m->account, 32);
        }
        ENSURE(o->amount <= VEIL_TX_MAX_SUPPLY && acc.bonded <= VEIL_TX_MAX_SUPPLY - o->amount,
               VEIL_ERR_TX_SUM_OVERFLOW);
        acc.bonded += o->amount;
    } else {
        ENSURE(found && o->amount <= acc.unbonded && o->nonce == acc.nonce,
               VEIL_ERR_TVE_STAGING_MISMATCH);
        acc.unbonded -= o->amount;
        acc.nonce++;
    }
    return node_state_account_put(a->st, &acc);
}

veil_status node_app_finalize_block(node_app *a, uint64_t height, uint64_t time,
                                    const uint8_t *proposer, const uint8_t *const *txs,
                                    const size_t *lens, size_t n, node_block_result *out)
{
    const node_meta *m = node_state_meta(a->st);
    memset(out, 0, sizeof *out);
    ENSURE(m->initialized, VEIL_ERR_TVE_NOT_INITIALIZED);
    if (height != m->last_height + 1) {
        veil_error_detail_set("block %llu delivered after block %llu", (unsigned long long)height,
                              (unsigned long long)m->last_height);
        return VEIL_ERR_OUT_OF_ORDER;
    }
    /* Once per block the TVE's identity is checked again: the REQ socket reconnects
     * by itself, so a TVE swapped at the same endpoint would otherwise go unseen. */
    a->tve_checked = false;
    /* A repeat of FinalizeBlock before Commit starts over from committed state. */
    node_state_rollback(a->st);
    node_block_clear(a);

    veil_status st = VEIL_OK;
    block_scan b;
    conf_job *jobs = NULL;
    size_t n_jobs = 0;
    Veil__Tve__TxContext **ctxs = NULL;
    Veil__Tve__Response *r = NULL;
    uint8_t *vb_bytes = NULL;
    uint32_t *codes = NULL;
    ProtobufCBinaryData *acc_ids = NULL;
    scan_init(&b, true, height, time);
    b.proposer = proposer;
    out->n = n;
    out->txs = calloc(n ? n : 1, sizeof *out->txs);
    jobs = calloc(n ? n : 1, sizeof *jobs);
    ENSURE_OUT(out->txs != NULL && jobs != NULL, VEIL_ERR_NOMEM);

    /* Phase 1: public checks in block order; public txs take effect at once. */
    size_t conf_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        bool to_tve;
        TRY_OUT(scan_tx(a, &b, txs[i], lens[i], &out->txs[i], &jobs[n_jobs], &to_tve));
        if (!to_tve) continue;
        if (n_jobs >= NODE_BLOCK_MAX_CONF_TXS || conf_bytes + lens[i] > NODE_BLOCK_MAX_CONF_BYTES) {
            job_release(&jobs[n_jobs]);
            node_result_set(&out->txs[i], VEIL_ERR_TVE_TOO_MANY,
                       "the block's confidential txs exceed one verify-block batch");
            continue;
        }
        conf_bytes += lens[i];
        jobs[n_jobs++].tx_index = i;
    }

    /* Phase 2: the confidential txs that passed, as one batch. */
    Veil__Tve__VerifyBlockRequest vb = VEIL__TVE__VERIFY_BLOCK_REQUEST__INIT;
    Veil__Tve__ChainParams params;
    node_params_msg(a, time, &params);
    ctxs = calloc(n_jobs ? n_jobs : 1, sizeof *ctxs);
    ENSURE_OUT(ctxs != NULL, VEIL_ERR_NOMEM);
    for (size_t k = 0; k < n_jobs; k++) ctxs[k] = &jobs[k].ctx;
    vb.height = height;
    vb.params = &params;
    vb.n_txs = n_jobs;
    vb.txs = ctxs;
    size_t vb_len = veil__tve__verify_block_request__get_packed_size(&vb);
    vb_bytes = malloc(vb_len ? vb_len : 1);
    ENSURE_OUT(vb_bytes != NULL, VEIL_ERR_NOMEM);
    veil__tve__verify_block_request__pack(&vb, vb_bytes);
    TRY_OUT(node_tve_run_block(a, &vb, &r, out->bloom));
    /* A TVE without the key of an epoch the chain admits (the public checks above let
     * only those through) cannot judge those txs; every validator that holds the key
     * can. A verdict would fork this node off: it waits for the key instead, which its
     * TDBE fetches from a peer, and stops validating meanwhile. */
    for (long long waited_ms = 0, logged = -1;;) {
        uint64_t missing = UINT64_MAX;
        for (size_t k = 0; k < n_jobs && k < r->verify_block->n_results; k++) {
            const Veil__Tve__TxResult *x = r->verify_block->results[k];
            if (x->result_case == VEIL__TVE__TX_RESULT__RESULT_ERROR && x->error != NULL &&
                veil_status_from_wire(x->error->code) == VEIL_ERR_TX_UNKNOWN_KEY_EPOCH)
                missing = jobs[k].wire->key_epoch;
        }
        if (missing == UINT64_MAX) break;
        if (logged < 0 || waited_ms - logged >= 10000) {
            node_log(a, "block %llu: this node's TVE does not hold the key of epoch %llu, which "
                        "the chain admits: it stops validating confidential txs until its TDBE "
                        "fetches the key from a peer (docs/key-epochs.md)",
                     (unsigned long long)height, (unsigned long long)missing);
            logged = waited_ms;
        }
        if (a->cfg.stop != NULL && *a->cfg.stop) {
            veil_error_detail_set("stopped while waiting for the key of epoch %llu",
                                  (unsigned long long)missing);
            st = VEIL_ERR_TVE_NO_KEY;
            goto out;
        }
        struct timespec pause = {0, 200 * 1000000L};
        nanosleep(&pause, NULL);
        waited_ms += 200;
        veil__tve__response__free_unpacked(r, NULL);
        r = NULL;
        TRY_OUT(node_tve_run_block(a, &vb, &r, out->bloom));
    }

    /* Phase 3: outcomes, in block order. Under the per-block account rule no tx read
     * what these change, so applying them after the public txs is the same as in
     * order. */
    a->accepted = calloc(n_jobs ? n_jobs : 1, 32);
    ENSURE_OUT(a->accepted != NULL, VEIL_ERR_NOMEM);
    for (size_t k = 0; k < n_jobs; k++) {
        const Veil__Tve__TxResult *x = r->verify_block->results[k];
        node_tx_result *res = &out->txs[jobs[k].tx_index];
        if (x->result_case == VEIL__TVE__TX_RESULT__RESULT_OK && x->ok != NULL) {
            TRY_OUT(apply_outcome(a, height, &jobs[k], x->ok));
            memcpy(a->accepted[a->n_accepted++], jobs[k].wire->txid, 32);
        } else if (x->result_case == VEIL__TVE__TX_RESULT__RESULT_ERROR && x->error != NULL &&
                   veil_status_is_tx_verdict(veil_status_from_wire(x->error->code))) {
            node_result_set(res, veil_status_from_wire(x->error->code), NULL);
        } else {
            veil_error_detail_set("TVE returned no verdict for tx %zu", k);
            st = VEIL_ERR_DECODE;
            goto out;
        }
    }
    node_state_app_hash(a->st, out->app_hash);
    out->n_val_updates = b.n_vals;
    out->val_updates = b.vals; /* handed over */
    b.vals = NULL;
    b.n_vals = b.cap_vals = 0;

    /* The record the TVE replay needs, persisted with the block at Commit. */
    Veil__Node__BlockRecord rec = VEIL__NODE__BLOCK_RECORD__INIT;
    codes = calloc(n ? n : 1, sizeof *codes);
    acc_ids = calloc(a->n_accepted ? a->n_accepted : 1, sizeof *acc_ids);
    ENSURE_OUT(codes != NULL && acc_ids != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) codes[i] = out->txs[i].code;
    for (size_t k = 0; k < a->n_accepted; k++) {
        acc_ids[k].data = a->accepted[k];
        acc_ids[k].len = 32;
    }
    rec.height = height;
    rec.time = time;
    rec.app_hash.data = out->app_hash;
    rec.app_hash.len = 32;
    rec.verify_block.data = vb_bytes;
    rec.verify_block.len = vb_len;
    rec.n_accepted_txids = a->n_accepted;
    rec.accepted_txids = acc_ids;
    rec.n_codes = n;
    rec.codes = codes;
    a->block_rec_len = veil__node__block_record__get_packed_size(&rec);
    a->block_rec = malloc(a->block_rec_len ? a->block_rec_len : 1);
    ENSURE_OUT(a->block_rec != NULL, VEIL_ERR_NOMEM);
    veil__node__block_record__pack(&rec, a->block_rec);
    a->have_block = true;
    a->n_txs = n;
    a->block_height = height;
    a->block_time = time;
    memcpy(a->block_hash, out->app_hash, 32);
out:
    if (st != VEIL_OK) {
        node_state_rollback(a->st);
        node_block_clear(a);
        node_block_result_free(out);
    }
    free(codes);
    free(acc_ids);
    free(vb_bytes);
    free(ctxs);
    if (r) veil__tve__response__free_unpacked(r, NULL);
    jobs_free(jobs, n_jobs);
    scan_free(&b);
    return st;
}

