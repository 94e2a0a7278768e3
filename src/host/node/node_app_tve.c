/* The node's application logic (node_app.h; protocol and rules: docs/node.md): the session with the TVE. */
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
#include "host/tve/tve_client.h"
#include "hostutil/fileio.h"
#include "hostutil/keymap.h"
#include "tee/tee.h"
#include "veil/node.pb-c.h"
#include "veil/tve.pb-c.h"



/* --- the TVE ---------------------------------------------------------------------- */
/* Failures that say nothing about the request: the TVE is unreachable or hit a local
 * resource problem. Blocks wait these out rather than decide anything on them. */
bool node_tve_transient(veil_status st)
{
    return st == VEIL_ERR_TIMEOUT || st == VEIL_ERR_NET || st == VEIL_ERR_DB ||
           st == VEIL_ERR_IO || st == VEIL_ERR_NOMEM || st == VEIL_ERR_TEE_OUT_OF_MEMORY ||
           st == VEIL_ERR_TEE_ENCLAVE_FAULT;
}

static veil_status node_tve_identity_check(node_app *a, const Veil__Tve__StatusResponse *s)
{
    char why[512] = "";
    size_t w = 0;
    char got[65], want[65];
    if (s->mrsigner.len != 32 || s->mrenclave.len != 32) {
        veil_error_detail_set("TVE at %s reported no enclave identity", a->cfg.tve_endpoint);
        return VEIL_ERR_TVE_IDENTITY;
    }
    if (a->cfg.check_mrsigner && memcmp(s->mrsigner.data, a->cfg.mrsigner, 32) != 0) {
        veil_hex_encode(got, s->mrsigner.data, 32);
        veil_hex_encode(want, a->cfg.mrsigner, 32);
        w += (size_t)snprintf(why + w, sizeof why - w, "MRSIGNER is %.16s..., configured %.16s...; ",
                              got, want);
    }
    if (a->cfg.check_mrenclave && memcmp(s->mrenclave.data, a->cfg.mrenclave, 32) != 0 &&
        w < sizeof why) {
        veil_hex_encode(got, s->mrenclave.data, 32);
        veil_hex_encode(want, a->cfg.mrenclave, 32);
        w += (size_t)snprintf(why + w, sizeof why - w,
                              "MRENCLAVE is %.16s..., configured %.16s...; ", got, want);
    }
    if (a->cfg.check_min_svn && s->svn < a->cfg.min_svn && w < sizeof why)
        w += (size_t)snprintf(why + w, sizeof why - w, "SVN is %u, configured minimum %u; ",
                              s->svn, a->cfg.min_svn);
    if (s->debug && !a->cfg.allow_debug_tve && w < sizeof why)
        w += (size_t)snprintf(why + w, sizeof why - w, "it is a debug enclave; ");
    if (w == 0) return VEIL_OK;
    if (w >= 2 && w < sizeof why) why[w - 2] = '\0';
    veil_error_detail_set("refusing the TVE at %s: %s", a->cfg.tve_endpoint, why);
    return VEIL_ERR_TVE_IDENTITY;
}


static veil_status node_tve_status_raw(node_app *a, int timeout_ms, Veil__Tve__Response **resp)
{
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__StatusRequest sr = VEIL__TVE__STATUS_REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_STATUS;
    req.status = &sr;
    return tve_client_call(a->tve, &req, VEIL__TVE__RESPONSE__RESPONSE_STATUS, timeout_ms, resp);
}

veil_status node_tve_call(node_app *a, const Veil__Tve__Request *req,
                            Veil__Tve__Response__ResponseCase want, int timeout_ms, bool wait,
                            Veil__Tve__Response **resp)
{
    const uint64_t t0 = veil_monotonic_us();
    long long logged = -1; /* ms since t0 of the last "waiting" line */
    for (;;) {
        veil_status st = VEIL_OK;
        if (!a->tve_checked) {
            Veil__Tve__Response *s = NULL;
            /* A short probe while the TVE is not known to answer, so a node waiting for
             * it says so within a second and notices a stop signal or --tve-wait in
             * time (the full request timeout applies once it answers). */
            st = node_tve_status_raw(a, wait ? TVE_PROBE_TIMEOUT_MS : 0, &s);
            if (st == VEIL_OK) {
                st = node_tve_identity_check(a, s->status);
                veil__tve__response__free_unpacked(s, NULL);
                if (st != VEIL_OK) return st;
                a->tve_checked = true;
            }
        }
        if (st == VEIL_OK) {
            st = tve_client_call(a->tve, req, want, timeout_ms, resp);
            if (st == VEIL_OK || !node_tve_transient(st)) return st;
        }
        /* Whatever answers next may be a restarted (or another) TVE. */
        a->tve_checked = false;
        if (!wait) return st;
        long long ms = (long long)((veil_monotonic_us() - t0) / 1000u);
        if (a->cfg.stop != NULL && *a->cfg.stop) {
            veil_error_detail_set("stopped while waiting for the TVE at %s", a->cfg.tve_endpoint);
            return VEIL_ERR_TIMEOUT;
        }
        if (a->cfg.tve_wait_ms > 0 && ms >= a->cfg.tve_wait_ms) {
            veil_error_detail_set("the TVE at %s did not answer within --tve-wait %d ms (%s)",
                                  a->cfg.tve_endpoint, a->cfg.tve_wait_ms,
                                  veil_status_str(st));
            return st;
        }
        if (logged < 0 || ms - logged >= 10000) {
            if (a->cfg.tve_wait_ms > 0)
                node_log(a, "waiting for the TVE at %s (%s); giving up after %d ms",
                         a->cfg.tve_endpoint, veil_status_str(st), a->cfg.tve_wait_ms);
            else
                node_log(a, "waiting for the TVE at %s (%s); Ctrl-C stops", a->cfg.tve_endpoint,
                         veil_status_str(st));
            logged = ms;
        }
        struct timespec pause = {0, TVE_RETRY_PAUSE_MS * 1000000L};
        nanosleep(&pause, NULL);
    }
}

void node_params_msg(node_app *a, uint64_t block_time, Veil__Tve__ChainParams *p)
{
    const node_params *np = node_state_params(a->st);
    veil__tve__chain_params__init(p);
    p->chain_id = (char *)node_state_meta(a->st)->chain_id;
    p->block_time = block_time;
    p->fee_base = np->fee_base;
    p->fee_per_byte = np->fee_per_byte;
    p->fee_rule = np->fee_rule == NODE_FEE_EXACT ? VEIL__TVE__FEE_RULE__FEE_RULE_EXACT
                                                 : VEIL__TVE__FEE_RULE__FEE_RULE_AT_LEAST;
}

void node_account_msg(node_account *acc, Veil__Tve__AccountState *m)
{
    veil__tve__account_state__init(m);
    m->address.data = acc->address;
    m->address.len = 32;
    m->bonded = acc->bonded;
    m->unbonded = acc->unbonded;
    m->unbonded_from = acc->unbonded_from;
    m->nonce = acc->nonce;
    m->jailed_until = acc->jailed_until;
}

veil_status node_tve_end_block(node_app *a, uint64_t height, bool wait, uint8_t bloom[256])
{
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__EndBlockRequest eb = VEIL__TVE__END_BLOCK_REQUEST__INIT;
    Veil__Tve__Response *r;
    eb.height = height;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_END_BLOCK;
    req.end_block = &eb;
    TRY(node_tve_call(a, &req, VEIL__TVE__RESPONSE__RESPONSE_END_BLOCK, 0, wait, &r));
    veil_status st = VEIL_OK;
    if (r->end_block->bloom.len != VEIL_BLOOM_BYTES) {
        veil_error_detail_set("TVE returned a bloom filter of %zu bytes", r->end_block->bloom.len);
        st = VEIL_ERR_DECODE;
    } else {
        memcpy(bloom, r->end_block->bloom.data, VEIL_BLOOM_BYTES);
    }
    veil__tve__response__free_unpacked(r, NULL);
    return st;
}

/* The key epochs the block after `height` admits, from committed state, for the TVE.
 * The message points into rec. */
typedef struct window_msg {
    node_epoch_window rec;
    Veil__Tve__KeyWindow w;
    Veil__Tve__KeyEpochInfo info[3], *ptrs[3];
} window_msg;

static veil_status window_build(node_app *a, uint64_t height, window_msg *m)
{
    TRY(node_epoch_window_at(a, false, height + 1, &m->rec));
    veil__tve__key_window__init(&m->w);
    const node_key_epoch *list[3];
    size_t n = 0;
    if (m->rec.has_previous) list[n++] = &m->rec.previous;
    list[n++] = &m->rec.current;
    if (m->rec.has_next) list[n++] = &m->rec.next;
    for (size_t i = 0; i < n; i++) {
        veil__tve__key_epoch_info__init(&m->info[i]);
        m->info[i].epoch = list[i]->epoch;
        m->info[i].commitment.data = (uint8_t *)list[i]->commitment;
        m->info[i].commitment.len = list[i]->commitment_len;
        m->ptrs[i] = &m->info[i];
    }
    m->w.current_epoch = m->rec.current.epoch;
    m->w.n_epochs = n;
    m->w.epochs = m->ptrs;
    return VEIL_OK;
}

veil_status node_tve_commit_block(node_app *a, uint64_t height, const uint8_t app_hash[32],
                                    const uint8_t (*txids)[32], size_t n, bool wait,
                                    bool with_window)
{
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__CommitBlockRequest cb = VEIL__TVE__COMMIT_BLOCK_REQUEST__INIT;
    Veil__Tve__Response *r;
    window_msg wm;
    bool any_epoch = false;
    if (with_window) {
        node_key_epoch e0;
        TRY(node_state_epoch_get(a->st, false, 0, &e0, &any_epoch));
        if (any_epoch) {
            TRY(window_build(a, height, &wm));
            cb.keys = &wm.w;
        }
    }
    ProtobufCBinaryData *ids = calloc(n ? n : 1, sizeof *ids);
    ENSURE(ids != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        ids[i].data = (uint8_t *)txids[i];
        ids[i].len = 32;
    }
    cb.height = height;
    cb.app_hash.data = (uint8_t *)app_hash;
    cb.app_hash.len = 32;
    cb.n_txids = n;
    cb.txids = ids;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_COMMIT_BLOCK;
    req.commit_block = &cb;
    veil_status st = node_tve_call(a, &req, VEIL__TVE__RESPONSE__RESPONSE_COMMIT_BLOCK, 0, wait, &r);
    free(ids);
    if (st == VEIL_OK) veil__tve__response__free_unpacked(r, NULL);
    return st;
}

/* Sends a verify-block request (encoded) and returns the response. */
veil_status node_tve_verify_block(node_app *a, Veil__Tve__VerifyBlockRequest *vb, bool wait,
                                    Veil__Tve__Response **r)
{
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    if (vb->n_txs == 0) {
        /* Nothing to verify: end-block opens and closes the height by itself. */
        *r = calloc(1, sizeof **r);
        Veil__Tve__VerifyBlockResponse *e = calloc(1, sizeof *e);
        if (*r == NULL || e == NULL) {
            free(*r);
            free(e);
            *r = NULL;
            return VEIL_ERR_NOMEM;
        }
        veil__tve__response__init(*r);
        veil__tve__verify_block_response__init(e);
        (*r)->response_case = VEIL__TVE__RESPONSE__RESPONSE_VERIFY_BLOCK;
        (*r)->verify_block = e;
        return VEIL_OK;
    }
    req.request_case = VEIL__TVE__REQUEST__REQUEST_VERIFY_BLOCK;
    req.verify_block = vb;
    uint64_t t0 = veil_monotonic_us();
    /* A block with confidential txs and a TVE that waits for the chain's key (a node
     * that joined later; its TDBE fetches the key from peers): wait for the key rather
     * than record a verdict no other node would reach, or stop. */
    long long logged = -1;
    veil_status st;
    while ((st = node_tve_call(a, &req, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_BLOCK,
                               TVE_BLOCK_TIMEOUT_MS, wait, r)) == VEIL_ERR_TVE_NO_KEY &&
           wait) {
        long long ms = (long long)((veil_monotonic_us() - t0) / 1000u);
        if (a->cfg.stop != NULL && *a->cfg.stop) {
            veil_error_detail_set("stopped while waiting for the chain's key");
            return st;
        }
        if (logged < 0 || ms - logged >= 10000) {
            node_log(a, "block %llu holds confidential txs and the TVE does not hold the chain's "
                        "key yet: waiting for it (the TDBE fetches it from peers)",
                     (unsigned long long)vb->height);
            logged = ms;
        }
        struct timespec pause = {0, 200 * 1000000L};
        nanosleep(&pause, NULL);
    }
    TRY(st);
    veil_metric_add(&node_m_tve_us, veil_monotonic_us() - t0);
    veil_metric_add(&node_m_tve_n, 1);
    if ((*r)->verify_block->n_results != vb->n_txs) {
        veil_error_detail_set("TVE returned %zu results for %zu txs", (*r)->verify_block->n_results,
                              vb->n_txs);
        veil__tve__response__free_unpacked(*r, NULL);
        *r = NULL;
        return VEIL_ERR_DECODE;
    }
    return VEIL_OK;
}

/* Replays the stored block `height` into a TVE whose last committed height is
 * height - 1: verify-block from the record as it was sent, end-block, commit-block.
 * The TVE must accept exactly the txs it accepted the first time. */
static veil_status node_tve_replay_block(node_app *a, uint64_t height)
{
    uint8_t *raw = NULL;
    size_t raw_len;
    Veil__Node__BlockRecord *rec = NULL;
    Veil__Tve__VerifyBlockRequest *vb = NULL;
    Veil__Tve__Response *r = NULL;
    uint8_t (*ids)[32] = NULL;
    uint8_t bloom[VEIL_BLOOM_BYTES];
    veil_status st;

    st = node_state_block_get(a->st, height, &raw, &raw_len);
    if (st == VEIL_ERR_NOT_FOUND)
        veil_error_detail_set("the node has no record of block %llu to replay into the TVE",
                              (unsigned long long)height);
    TRY(st);
    rec = veil__node__block_record__unpack(NULL, raw_len, raw);
    ENSURE_OUT(rec != NULL && rec->height == height && rec->app_hash.len == 32, VEIL_ERR_DB);
    vb = veil__tve__verify_block_request__unpack(NULL, rec->verify_block.len, rec->verify_block.data);
    ENSURE_OUT(vb != NULL && vb->height == height, VEIL_ERR_DB);
    TRY_OUT(node_tve_verify_block(a, vb, true, &r));
    size_t k = 0;
    for (size_t i = 0; i < r->verify_block->n_results; i++) {
        const Veil__Tve__TxResult *x = r->verify_block->results[i];
        if (x->result_case != VEIL__TVE__TX_RESULT__RESULT_OK) continue;
        ENSURE_OUT(k < rec->n_accepted_txids && x->ok->txid.len == 32 &&
                       rec->accepted_txids[k].len == 32 &&
                       memcmp(x->ok->txid.data, rec->accepted_txids[k].data, 32) == 0,
                   VEIL_ERR_TVE_STAGING_MISMATCH);
        k++;
    }
    ENSURE_OUT(k == rec->n_accepted_txids, VEIL_ERR_TVE_STAGING_MISMATCH);
    TRY_OUT(node_tve_end_block(a, height, true, bloom));
    ids = calloc(k ? k : 1, 32);
    ENSURE_OUT(ids != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < k; i++) memcpy(ids[i], rec->accepted_txids[i].data, 32);
    TRY_OUT(node_tve_commit_block(a, height, rec->app_hash.data, (const uint8_t(*)[32])ids, k, true,
                                  false));
    char h[17];
    node_hex8(h, rec->app_hash.data);
    node_log(a, "replayed block %llu into the TVE (%zu confidential txs, app hash %s...)",
         (unsigned long long)height, k, h);
out:
    if (st == VEIL_ERR_TVE_STAGING_MISMATCH)
        veil_error_detail_set("the TVE disagrees with the node about which txs of block %llu "
                              "are valid: the two stores have diverged",
                              (unsigned long long)height);
    free(ids);
    if (r) veil__tve__response__free_unpacked(r, NULL);
    if (vb) veil__tve__verify_block_request__free_unpacked(vb, NULL);
    if (rec) veil__node__block_record__free_unpacked(rec, NULL);
    free(raw);
    return st;
}

/* Brings the TVE up to the node's height `target` (its committed height, or the
 * height before the block being executed) by replaying stored blocks. A TVE ahead of
 * `target` is left alone: the node catches up through CometBFT's replay, and the TVE
 * answers those heights from its own records. */
veil_status node_tve_sync(node_app *a, uint64_t target)
{
    const node_meta *m = node_state_meta(a->st);
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__CheckChainRequest cc = VEIL__TVE__CHECK_CHAIN_REQUEST__INIT;
    Veil__Tve__Response *r;
    uint8_t hash[32];
    cc.chain_id = (char *)m->chain_id;
    cc.height = target;
    if (target > 0) {
        if (target == m->last_height) {
            memcpy(hash, m->last_app_hash, 32);
        } else {
            uint8_t *raw;
            size_t len;
            TRY(node_state_block_get(a->st, target, &raw, &len));
            Veil__Node__BlockRecord *rec = veil__node__block_record__unpack(NULL, len, raw);
            free(raw);
            ENSURE(rec != NULL && rec->app_hash.len == 32, VEIL_ERR_DB);
            memcpy(hash, rec->app_hash.data, 32);
            veil__node__block_record__free_unpacked(rec, NULL);
        }
        cc.app_hash.data = hash;
        cc.app_hash.len = 32;
    }
    req.request_case = VEIL__TVE__REQUEST__REQUEST_CHECK_CHAIN;
    req.check_chain = &cc;
    veil_status st = node_tve_call(a, &req, VEIL__TVE__RESPONSE__RESPONSE_CHECK_CHAIN, 0, true, &r);
    if (st == VEIL_ERR_TVE_APP_HASH_MISMATCH)
        veil_error_detail_set("the TVE committed a different app hash at height %llu: the node's "
                              "and the TVE's stores have diverged",
                              (unsigned long long)target);
    if (st == VEIL_ERR_TVE_CHAIN_MISMATCH)
        veil_error_detail_set("the TVE serves another chain than '%s'", m->chain_id);
    TRY(st);
    uint64_t tve_height = r->check_chain->last_height;
    Veil__Tve__CheckChainResponse__Verdict v = r->check_chain->verdict;
    veil__tve__response__free_unpacked(r, NULL);
    switch (v) {
    case VEIL__TVE__CHECK_CHAIN_RESPONSE__VERDICT__IN_SYNC:
        return VEIL_OK;
    case VEIL__TVE__CHECK_CHAIN_RESPONSE__VERDICT__NODE_BEHIND:
        node_log(a, "the TVE is ahead (height %llu, node %llu): the node catches up as CometBFT "
                "replays blocks",
             (unsigned long long)tve_height, (unsigned long long)target);
        return VEIL_OK;
    case VEIL__TVE__CHECK_CHAIN_RESPONSE__VERDICT__TVE_BEHIND:
        node_log(a, "the TVE is behind (height %llu, node %llu): replaying",
             (unsigned long long)tve_height, (unsigned long long)target);
        for (uint64_t h = tve_height + 1; h <= target; h++) TRY(node_tve_replay_block(a, h));
        return VEIL_OK;
    default:
        veil_error_detail_set("TVE answered check-chain with no verdict");
        return VEIL_ERR_DECODE;
    }
}

/* The TVE's chain and key must be the ones this node's chain was started with. */
veil_status node_tve_check_chain_key(node_app *a, const Veil__Tve__StatusResponse *s)
{
    const node_meta *m = node_state_meta(a->st);
    if (strcmp(s->chain_id, m->chain_id) != 0) {
        veil_error_detail_set("the TVE at %s serves chain '%.64s', this node '%s'",
                              a->cfg.tve_endpoint, s->chain_id, m->chain_id);
        return VEIL_ERR_TVE_CHAIN_MISMATCH;
    }
    if (s->key_epoch == 0 && m->tve_key_commitment_len == 32 &&
        (s->key_commitment.len != 32 ||
         memcmp(s->key_commitment.data, m->tve_key_commitment, 32) != 0)) {
        veil_error_detail_set("the TVE at %s holds another obfuscation key than the one this "
                              "chain started with (was its store replaced?)",
                              a->cfg.tve_endpoint);
        return VEIL_ERR_TVE_IDENTITY;
    }
    return VEIL_OK;
}

veil_status node_tve_init_chain(node_app *a, const char *chain_id, const uint8_t *genesis_commitment,
                                uint8_t commitment[32], bool *keyless)
{
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__InitChainRequest ic = VEIL__TVE__INIT_CHAIN_REQUEST__INIT;
    Veil__Tve__Response *r;
    ic.chain_id = (char *)chain_id;
    if (genesis_commitment != NULL) {
        ic.key_commitment.data = (uint8_t *)genesis_commitment;
        ic.key_commitment.len = 32;
    }
    req.request_case = VEIL__TVE__REQUEST__REQUEST_INIT_CHAIN;
    req.init_chain = &ic;
    veil_status st = node_tve_call(a, &req, VEIL__TVE__RESPONSE__RESPONSE_INIT_CHAIN, 0, true, &r);
    if (st == VEIL_ERR_TVE_CHAIN_MISMATCH)
        veil_error_detail_set("the TVE at %s is already initialised for another chain",
                              a->cfg.tve_endpoint);
    TRY(st);
    /* Without a key only where the genesis names one (the TVE waits for that key). */
    *keyless = genesis_commitment != NULL && r->init_chain->key_commitment.len == 0;
    if (r->init_chain->key_epoch != 0 || (!*keyless && r->init_chain->key_commitment.len != 32)) {
        veil__tve__response__free_unpacked(r, NULL);
        veil_error_detail_set("TVE answered init-chain without an epoch-0 key commitment");
        return VEIL_ERR_DECODE;
    }
    if (!*keyless) memcpy(commitment, r->init_chain->key_commitment.data, 32);
    veil__tve__response__free_unpacked(r, NULL);
    return VEIL_OK;
}

veil_status node_app_start(node_app *a)
{
    const node_meta *m = node_state_meta(a->st);
    Veil__Tve__Response *r = NULL;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__StatusRequest sr = VEIL__TVE__STATUS_REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_STATUS;
    req.status = &sr;
    /* tve_call checks the identity before anything else goes out. */
    TRY(node_tve_call(a, &req, VEIL__TVE__RESPONSE__RESPONSE_STATUS, 0, true, &r));
    veil_status st = VEIL_OK;
    char id[17];
    node_hex8(id, r->status->mrenclave.data);
    node_log(a, "TVE at %s: MRENCLAVE %s..., SVN %u, height %llu", a->cfg.tve_endpoint, id,
         r->status->svn, (unsigned long long)r->status->last_height);
    if (!m->initialized) goto out; /* InitChain does the rest */
    if (!r->status->initialized) {
        /* The TVE committed init-chain before the node recorded genesis, so a TVE
         * without chain state lost its store: a fresh one would draw a new key and
         * could not read a single committed tx. */
        veil_error_detail_set("the TVE at %s has no chain state (its store is empty or was "
                              "replaced); it cannot serve chain '%s' at height %llu: restore "
                              "its store",
                              a->cfg.tve_endpoint, m->chain_id, (unsigned long long)m->last_height);
        st = VEIL_ERR_TVE_NOT_INITIALIZED;
        goto out;
    }
    TRY_OUT(node_tve_check_chain_key(a, r->status));
    TRY_OUT(node_tve_sync(a, m->last_height));
    node_hex8(id, m->last_app_hash);
    node_log(a, "chain %s at height %llu, app hash %s...: ready", m->chain_id,
         (unsigned long long)m->last_height, id);
out:
    if (r) veil__tve__response__free_unpacked(r, NULL);
    return st;
}


veil_status node_tve_draw_key(node_app *a, uint64_t epoch, uint8_t commitment[static 32])
{
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__DrawKeyRequest dk = VEIL__TVE__DRAW_KEY_REQUEST__INIT;
    Veil__Tve__Response *r;
    dk.epoch = epoch;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_DRAW_KEY;
    req.draw_key = &dk;
    /* A proposer does not wait long: without a key it proposes without one. */
    TRY(node_tve_call(a, &req, VEIL__TVE__RESPONSE__RESPONSE_DRAW_KEY, 5000, false, &r));
    veil_status st = VEIL_OK;
    if (r->draw_key->epoch != epoch || r->draw_key->key_commitment.len != 32) {
        veil_error_detail_set("TVE answered draw-key with another epoch or no commitment");
        st = VEIL_ERR_DECODE;
    } else {
        memcpy(commitment, r->draw_key->key_commitment.data, 32);
    }
    veil__tve__response__free_unpacked(r, NULL);
    return st;
}
