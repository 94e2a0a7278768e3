/* The TVE service: request decoding, the state machine, responses.
 *
 * One handler per request type (handle_*). Each reads the decoded request, checks the
 * service state, calls the enclave and fills a Response whose sub-messages live in a
 * per-request arena; tve_service_handle turns any handler error into an Error response,
 * so every frame gets exactly one reply. Rules and codes: docs/tve-protocol.md.
 */
#include "host/tve/tve_service.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "hostutil/fileio.h"
#include "host/tve/tve_internal.h"
#include "trusted/tve/tve_channel.h"
#include "trusted/tx/tx.h"

/* --- per-request arena ------------------------------------------------------------- */
/* Responses are trees of protobuf-c structs; allocating them from one list freed after
 * packing keeps every handler free of cleanup code. Unpacked enclave results are
 * registered too, so the response may point into them. */
typedef struct arena_node {
    struct arena_node *next;
    ProtobufCMessage *msg; /* freed with protobuf_c_message_free_unpacked, or NULL */
    alignas(max_align_t) unsigned char data[];
} arena_node;

typedef struct tve_arena {
    arena_node *head;
} tve_arena;

static void *arena_alloc(tve_arena *a, size_t n)
{
    if (n > SIZE_MAX - sizeof(arena_node)) return NULL;
    arena_node *node = calloc(1, sizeof *node + n);
    if (node == NULL) return NULL;
    node->next = a->head;
    a->head = node;
    return node->data;
}

#define ARENA_NEW(a, type) ((type *)arena_alloc((a), sizeof(type)))

/* Takes ownership of an unpacked message (freed with the arena). */
static veil_status arena_keep(tve_arena *a, ProtobufCMessage *msg)
{
    arena_node *node = calloc(1, sizeof *node);
    if (node == NULL) {
        protobuf_c_message_free_unpacked(msg, NULL);
        return VEIL_ERR_NOMEM;
    }
    node->msg = msg;
    node->next = a->head;
    a->head = node;
    return VEIL_OK;
}

static void arena_free(tve_arena *a)
{
    while (a->head != NULL) {
        arena_node *n = a->head;
        a->head = n->next;
        if (n->msg != NULL) protobuf_c_message_free_unpacked(n->msg, NULL);
        free(n);
    }
}

/* --- helpers ----------------------------------------------------------------------- */
static Veil__Tve__Error *error_new(tve_arena *a, veil_status st)
{
    Veil__Tve__Error *e = ARENA_NEW(a, Veil__Tve__Error);
    if (e == NULL) return NULL;
    veil__tve__error__init(e);
    e->code = (uint32_t)st;
    /* Fixed texts only: nothing from the request or the enclave is echoed. */
    e->name = (char *)veil_status_name(st);
    e->message = (char *)veil_status_str(st);
    return e;
}

static bool txid_ok(const ProtobufCBinaryData *b) { return b->len == TVE_TXID_LEN; }

/* App hashes may be empty, and protobuf-c leaves empty bytes fields NULL. */
static bool app_hash_equal(const uint8_t *a, size_t a_len, const ProtobufCBinaryData *b)
{
    return a_len == b->len && (a_len == 0 || memcmp(a, b->data, a_len) == 0);
}

/* The request's ChainParams must be present and for this chain. */
static veil_status params_check(const tve_service *s, const Veil__Tve__ChainParams *p)
{
    ENSURE(p != NULL && p->chain_id != NULL, VEIL_ERR_MALFORMED);
    ENSURE(strcmp(p->chain_id, s->meta.chain_id) == 0, VEIL_ERR_TVE_CHAIN_MISMATCH);
    return VEIL_OK;
}

static veil_status require_initialized(const tve_service *s)
{
    ENSURE(s->meta.initialized, VEIL_ERR_TVE_NOT_INITIALIZED);
    return VEIL_OK;
}

/* --- enclave calls ----------------------------------------------------------------- */
static veil_status enclave_status(tve_service *s, tve_arena *a,
                                  Veil__Tve__Enclave__StatusResult **out)
{
    uint8_t buf[512];
    size_t len = 0;
    TRY(tee_enclave_call(s->enclave, TVE_E_STATUS, NULL, 0, buf, sizeof buf, &len));
    Veil__Tve__Enclave__StatusResult *r = veil__tve__enclave__status_result__unpack(NULL, len, buf);
    ENSURE(r != NULL, VEIL_ERR_TEE_ENCLAVE_FAULT);
    TRY(arena_keep(a, &r->base));
    *out = r;
    return VEIL_OK;
}

static veil_status enclave_key_call(tve_service *s, uint32_t ecall, const ProtobufCMessage *call,
                                    Veil__Tve__Enclave__KeyResult **out)
{
    uint8_t in[TVE_KEY_OUT_MAX + 64], buf[TVE_KEY_OUT_MAX];
    size_t in_len = protobuf_c_message_get_packed_size(call), len = 0;
    ENSURE(in_len <= sizeof in, VEIL_ERR_TOO_LARGE);
    protobuf_c_message_pack(call, in);
    TRY(tee_enclave_call(s->enclave, ecall, in, in_len, buf, sizeof buf, &len));
    *out = veil__tve__enclave__key_result__unpack(NULL, len, buf);
    ENSURE(*out != NULL, VEIL_ERR_TEE_ENCLAVE_FAULT);
    return VEIL_OK;
}

/* --- status ------------------------------------------------------------------------ */
static veil_status handle_status(tve_service *s, tve_arena *a, Veil__Tve__Response *resp)
{
    Veil__Tve__Enclave__StatusResult *es;
    TRY(enclave_status(s, a, &es));
    Veil__Tve__StatusResponse *r = ARENA_NEW(a, Veil__Tve__StatusResponse);
    ENSURE(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__status_response__init(r);
    r->mrenclave.data = s->identity.mrenclave;
    r->mrenclave.len = TEE_MEASUREMENT_LEN;
    r->mrsigner.data = s->identity.mrsigner;
    r->mrsigner.len = TEE_MEASUREMENT_LEN;
    r->prodid = s->identity.prodid;
    r->svn = s->identity.svn;
    r->debug = (s->identity.attributes & TEE_ATTR_DEBUG) != 0;
    r->initialized = s->meta.initialized;
    r->chain_id = s->meta.chain_id;
    r->key_epoch = es->has_key ? es->key_epoch : s->meta.key_epoch;
    r->key_commitment = es->key_commitment;
    r->last_height = s->meta.last_height;
    r->last_app_hash.data = s->meta.last_app_hash;
    r->last_app_hash.len = s->meta.last_app_hash_len;
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_STATUS;
    resp->status = r;
    return VEIL_OK;
}

/* --- init-chain -------------------------------------------------------------------- */
static veil_status handle_init_chain(tve_service *s, const Veil__Tve__InitChainRequest *req,
                                     tve_arena *a, Veil__Tve__Response *resp)
{
    size_t id_len = req->chain_id != NULL ? strlen(req->chain_id) : 0;
    ENSURE(id_len >= 1 && id_len <= TVE_CHAIN_ID_MAX, VEIL_ERR_MALFORMED);
    Veil__Tve__InitChainResponse *r = ARENA_NEW(a, Veil__Tve__InitChainResponse);
    ENSURE(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__init_chain_response__init(r);

    if (s->meta.initialized) {
        /* Idempotent: the node may resend init-chain after a crash of either side. */
        ENSURE(strcmp(req->chain_id, s->meta.chain_id) == 0, VEIL_ERR_TVE_CHAIN_MISMATCH);
        Veil__Tve__Enclave__StatusResult *es;
        TRY(enclave_status(s, a, &es));
        ENSURE(es->has_key, VEIL_ERR_TVE_NO_KEY);
        r->key_epoch = es->key_epoch;
        r->key_commitment = es->key_commitment;
    } else {
        Veil__Tve__Enclave__GenerateKeyCall call = VEIL__TVE__ENCLAVE__GENERATE_KEY_CALL__INIT;
        Veil__Tve__Enclave__KeyResult *kr;
        call.epoch = 0;
        TRY(enclave_key_call(s, TVE_E_GENERATE_KEY, &call.base, &kr));
        TRY(arena_keep(a, &kr->base));
        ENSURE(kr->epoch == 0 && kr->sealed_key.len > 0, VEIL_ERR_TEE_ENCLAVE_FAULT);
        /* The key exists only in enclave memory until this commit: a crash before it
         * leaves the store uninitialised and the node simply sends init-chain again. */
        TRY(tve_store_init_chain(s->store, req->chain_id, 0, kr->sealed_key.data,
                                 kr->sealed_key.len));
        s->meta.initialized = true;
        memcpy(s->meta.chain_id, req->chain_id, id_len + 1);
        s->meta.key_epoch = 0;
        s->meta.last_height = 0;
        s->meta.last_app_hash_len = 0;
        r->key_epoch = 0;
        r->key_commitment = kr->key_commitment;
    }
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_INIT_CHAIN;
    resp->init_chain = r;
    return VEIL_OK;
}

/* --- check-chain ------------------------------------------------------------------- */
static veil_status handle_check_chain(tve_service *s, const Veil__Tve__CheckChainRequest *req,
                                      tve_arena *a, Veil__Tve__Response *resp)
{
    const tve_store_meta *m = &s->meta;
    if (m->initialized)
        ENSURE(req->chain_id != NULL && strcmp(req->chain_id, m->chain_id) == 0,
               VEIL_ERR_TVE_CHAIN_MISMATCH);
    ENSURE(req->app_hash.len <= TVE_APP_HASH_MAX, VEIL_ERR_TOO_LARGE);
    Veil__Tve__CheckChainResponse *r = ARENA_NEW(a, Veil__Tve__CheckChainResponse);
    ENSURE(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__check_chain_response__init(r);

    if (req->height == m->last_height) {
        /* Height 0 has no app hash on our side to compare with. */
        if (req->height > 0)
            ENSURE(app_hash_equal(m->last_app_hash, m->last_app_hash_len, &req->app_hash),
                   VEIL_ERR_TVE_APP_HASH_MISMATCH);
        r->verdict = VEIL__TVE__CHECK_CHAIN_RESPONSE__VERDICT__IN_SYNC;
    } else if (req->height > m->last_height) {
        r->verdict = VEIL__TVE__CHECK_CHAIN_RESPONSE__VERDICT__TVE_BEHIND;
    } else {
        /* The node is behind: its last block must be the one we committed at that
         * height, else the two sides have diverged. */
        if (req->height > 0) {
            tve_store_block b;
            TRY(tve_store_block_get(s->store, req->height, &b));
            bool same = app_hash_equal(b.app_hash, b.app_hash_len, &req->app_hash);
            tve_store_block_free(&b);
            ENSURE(same, VEIL_ERR_TVE_APP_HASH_MISMATCH);
        }
        r->verdict = VEIL__TVE__CHECK_CHAIN_RESPONSE__VERDICT__NODE_BEHIND;
    }
    r->last_height = m->last_height;
    r->last_app_hash.data = s->meta.last_app_hash;
    r->last_app_hash.len = m->last_app_hash_len;
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_CHECK_CHAIN;
    resp->check_chain = r;
    return VEIL_OK;
}

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
        ENSURE_OUT(rp->outcomes[i] != NULL && txid_ok(&rp->outcomes[i]->txid), VEIL_ERR_DB);
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
static Veil__Tve__TxOutcome *outcome_copy(tve_arena *a, const Veil__Tve__TxOutcome *o)
{
    Veil__Tve__TxOutcome *c = ARENA_NEW(a, Veil__Tve__TxOutcome);
    uint8_t *bytes = arena_alloc(a, o->txid.len + o->account.len + 1);
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
                                 tve_tx_job *jp, tve_arena *a, Veil__Tve__Response *resp);

static veil_status handle_verify_tx(tve_service *s, const Veil__Tve__VerifyTxRequest *req,
                                    tve_arena *a, Veil__Tve__Response *resp)
{
    TRY(require_initialized(s));
    TRY(params_check(s, req->params));
    tve_tx_job job = {.ctx = req->tx};
    veil_status st = tve_job_prepare(&job);
    if (st == VEIL_OK) st = verify_tx_run(s, req, &job, a, resp);
    tve_job_release(&job);
    return st;
}

static veil_status verify_tx_run(tve_service *s, const Veil__Tve__VerifyTxRequest *req,
                                 tve_tx_job *jp, tve_arena *a, Veil__Tve__Response *resp)
{
    tve_tx_job job = *jp;
    Veil__Tve__VerifyTxResponse *r = ARENA_NEW(a, Veil__Tve__VerifyTxResponse);
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
    if (job.result != NULL) TRY(arena_keep(a, &job.result->base));
    TRY(job.st);
    r->outcome = job.result->outcome;
done:
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_VERIFY_TX;
    resp->verify_tx = r;
    return VEIL_OK;
}

/* --- verify-block ------------------------------------------------------------------ */
static veil_status block_results(tve_arena *a, Veil__Tve__VerifyBlockResponse *r, size_t n)
{
    /* n <= TVE_BLOCK_MAX_TXS: no overflow. One block for all results. */
    Veil__Tve__TxResult *all = arena_alloc(a, (n ? n : 1) * sizeof *all);
    r->results = arena_alloc(a, (n ? n : 1) * sizeof *r->results);
    ENSURE(all != NULL && r->results != NULL, VEIL_ERR_NOMEM);
    r->n_results = n;
    for (size_t i = 0; i < n; i++) {
        veil__tve__tx_result__init(&all[i]);
        r->results[i] = &all[i];
    }
    return VEIL_OK;
}

static veil_status result_set(tve_arena *a, Veil__Tve__TxResult *res, veil_status st,
                              Veil__Tve__TxOutcome *o)
{
    if (st == VEIL_OK) {
        res->result_case = VEIL__TVE__TX_RESULT__RESULT_OK;
        res->ok = o;
    } else {
        res->result_case = VEIL__TVE__TX_RESULT__RESULT_ERROR;
        res->error = error_new(a, st);
        ENSURE(res->error != NULL, VEIL_ERR_NOMEM);
    }
    return VEIL_OK;
}

static veil_status verify_block_replay(tve_service *s, const Veil__Tve__VerifyBlockRequest *req,
                                       tve_arena *a, Veil__Tve__VerifyBlockResponse *r)
{
    tve_replay rp;
    veil_status st;
    TRY(replay_open(s, req->height, &rp));
    for (size_t i = 0; i < req->n_txs; i++) {
        Veil__Tve__TxOutcome *o = NULL;
        tve_tx_job job = {.ctx = req->txs[i]};
        veil_status tx_st = tve_job_prepare(&job);
        if (tx_st == VEIL_OK) tx_st = replay_find(&rp, &job, &o);
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

static veil_status handle_verify_block(tve_service *s, const Veil__Tve__VerifyBlockRequest *req,
                                       tve_arena *a, Veil__Tve__Response *resp, size_t *n_items)
{
    veil_status st = VEIL_OK;
    tve_tx_job *jobs = NULL;

    *n_items = req->n_txs;
    TRY(require_initialized(s));
    ENSURE(req->n_txs <= TVE_BLOCK_MAX_TXS, VEIL_ERR_TVE_TOO_MANY);
    TRY(params_check(s, req->params));
    Veil__Tve__VerifyBlockResponse *r = ARENA_NEW(a, Veil__Tve__VerifyBlockResponse);
    ENSURE(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__verify_block_response__init(r);
    TRY(block_results(a, r, req->n_txs));

    uint64_t last = s->meta.last_height;
    if (req->height >= 1 && req->height <= last) {
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
            veil_status k = arena_keep(a, &jobs[i].result->base);
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
        for (size_t i = 0; i < req->n_txs; i++) tve_job_release(&jobs[i]);
        free(jobs);
        TRY(st);
    }
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_VERIFY_BLOCK;
    resp->verify_block = r;
    return VEIL_OK;
}

/* --- end-block --------------------------------------------------------------------- */
static veil_status handle_end_block(tve_service *s, const Veil__Tve__EndBlockRequest *req,
                                    tve_arena *a, Veil__Tve__Response *resp)
{
    TRY(require_initialized(s));
    Veil__Tve__EndBlockResponse *r = ARENA_NEW(a, Veil__Tve__EndBlockResponse);
    uint8_t *bloom = arena_alloc(a, TVE_BLOOM_LEN);
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
                                   g->bloom, txs, n));
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
    ENSURE_OUT(app_hash_equal(rp.block.app_hash, rp.block.app_hash_len, &req->app_hash),
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

static veil_status handle_commit_block(tve_service *s, const Veil__Tve__CommitBlockRequest *req,
                                       tve_arena *a, Veil__Tve__Response *resp, size_t *n_items)
{
    *n_items = req->n_txids;
    TRY(require_initialized(s));
    ENSURE(req->n_txids <= TVE_BLOCK_MAX_TXS, VEIL_ERR_TVE_TOO_MANY);
    ENSURE(req->app_hash.len <= TVE_APP_HASH_MAX, VEIL_ERR_TOO_LARGE);
    for (size_t i = 0; i < req->n_txids; i++) ENSURE(txid_ok(&req->txids[i]), VEIL_ERR_MALFORMED);
    Veil__Tve__CommitBlockResponse *r = ARENA_NEW(a, Veil__Tve__CommitBlockResponse);
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
    r->height = h;
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_COMMIT_BLOCK;
    resp->commit_block = r;
    return VEIL_OK;
}

/* --- get-sealed-txs ---------------------------------------------------------------- */
static veil_status handle_get_sealed_txs(tve_service *s, const Veil__Tve__GetSealedTxsRequest *req,
                                         tve_arena *a, Veil__Tve__Response *resp, size_t *n_items)
{
    *n_items = req->n_txids;
    TRY(require_initialized(s));
    ENSURE(req->n_txids <= TVE_GET_SEALED_MAX_TXIDS, VEIL_ERR_TVE_TOO_MANY);
    for (size_t i = 0; i < req->n_txids; i++) ENSURE(txid_ok(&req->txids[i]), VEIL_ERR_MALFORMED);
    Veil__Tve__GetSealedTxsResponse *r = ARENA_NEW(a, Veil__Tve__GetSealedTxsResponse);
    ENSURE(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__get_sealed_txs_response__init(r);
    r->n_txs = req->n_txids;
    r->txs = arena_alloc(a, (req->n_txids ? req->n_txids : 1) * sizeof *r->txs);
    ENSURE(r->txs != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < req->n_txids; i++) {
        Veil__Tve__SealedTx *t = ARENA_NEW(a, Veil__Tve__SealedTx);
        uint8_t *buf = arena_alloc(a, TVE_SEALED_TX_MAX);
        ENSURE(t != NULL && buf != NULL, VEIL_ERR_NOMEM);
        veil__tve__sealed_tx__init(t);
        t->txid = req->txids[i];
        size_t len = 0;
        veil_status st =
            tve_store_tx_get(s->store, req->txids[i].data, buf, TVE_SEALED_TX_MAX, &len);
        if (st != VEIL_ERR_NOT_FOUND) TRY(st);
        t->sealed.data = buf;
        t->sealed.len = st == VEIL_OK ? len : 0;
        r->txs[i] = t;
    }
    /* The stored blobs are sealed to the TVE's product: the enclave seals them again for
     * the TQE under their shared channel key. */
    size_t in_len = veil__tve__get_sealed_txs_response__get_packed_size(r), out_len = 0;
    uint8_t *in = arena_alloc(a, in_len ? in_len : 1), *out = arena_alloc(a, TVE_EXPORT_OUT_MAX);
    ENSURE(in != NULL && out != NULL, VEIL_ERR_NOMEM);
    veil__tve__get_sealed_txs_response__pack(r, in);
    TRY(tee_enclave_call(s->enclave, TVE_E_EXPORT, in, in_len, out, TVE_EXPORT_OUT_MAX, &out_len));
    Veil__Tve__GetSealedTxsResponse *x =
        veil__tve__get_sealed_txs_response__unpack(NULL, out_len, out);
    ENSURE(x != NULL, VEIL_ERR_TEE_ENCLAVE_FAULT);
    TRY(arena_keep(a, &x->base));
    ENSURE(x->n_txs == r->n_txs, VEIL_ERR_TEE_ENCLAVE_FAULT);
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_GET_SEALED_TXS;
    resp->get_sealed_txs = x;
    return VEIL_OK;
}

/* --- the TQE hand-off ---------------------------------------------------------------- */
static veil_status handle_handoff(tve_service *s, const Veil__Tve__HandoffRequest *req,
                                  tve_arena *a, Veil__Tve__Response *resp)
{
    ENSURE(req->tqe_report.len == TEE_REPORT_WIRE_LEN && req->tqe_pub.len == TVE_HANDOFF_PUB_LEN,
           VEIL_ERR_MALFORMED);
    uint8_t in[TEE_REPORT_WIRE_LEN + TVE_HANDOFF_PUB_LEN];
    memcpy(in, req->tqe_report.data, TEE_REPORT_WIRE_LEN);
    memcpy(in + TEE_REPORT_WIRE_LEN, req->tqe_pub.data, TVE_HANDOFF_PUB_LEN);
    uint8_t *out = arena_alloc(a, TVE_HANDOFF_BOX_LEN + TEE_REPORT_WIRE_LEN);
    ENSURE(out != NULL, VEIL_ERR_NOMEM);
    size_t out_len = 0;
    TRY(tee_enclave_call(s->enclave, TVE_E_HANDOFF, in, sizeof in, out,
                         TVE_HANDOFF_BOX_LEN + TEE_REPORT_WIRE_LEN, &out_len));
    ENSURE(out_len == TVE_HANDOFF_BOX_LEN + TEE_REPORT_WIRE_LEN, VEIL_ERR_TEE_ENCLAVE_FAULT);
    Veil__Tve__HandoffResponse *r = ARENA_NEW(a, Veil__Tve__HandoffResponse);
    ENSURE(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__handoff_response__init(r);
    r->box.data = out;
    r->box.len = TVE_HANDOFF_BOX_LEN;
    r->tve_report.data = out + TVE_HANDOFF_BOX_LEN;
    r->tve_report.len = TEE_REPORT_WIRE_LEN;
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_HANDOFF;
    resp->handoff = r;
    return VEIL_OK;
}

/* --- encrypt ----------------------------------------------------------------------- */
static veil_status handle_encrypt(tve_service *s, const Veil__Tve__EncryptRequest *req,
                                  tve_arena *a, Veil__Tve__Response *resp)
{
    uint8_t *in = NULL, *out = NULL;
    veil_status st = VEIL_OK;

    TRY(require_initialized(s));
    ENSURE(req->sealed_order.len >= 1, VEIL_ERR_MALFORMED);
    ENSURE(req->sealed_order.len <= TVE_SEALED_TX_MAX, VEIL_ERR_TOO_LARGE);
    ENSURE(req->n_input_spent <= VEIL_TX_MAX_INPUTS, VEIL_ERR_TX_TOO_MANY_INPUTS);
    TRY(params_check(s, req->params));

    Veil__Tve__Enclave__EncryptCall call = VEIL__TVE__ENCLAVE__ENCRYPT_CALL__INIT;
    call.sealed_order = req->sealed_order;
    call.params = req->params;
    call.n_input_spent = req->n_input_spent;
    call.input_spent = req->input_spent;
    call.account = req->account;
    size_t in_len = protobuf_c_message_get_packed_size(&call.base), out_len = 0;
    in = malloc(in_len ? in_len : 1);
    out = malloc(TVE_ENCRYPT_OUT_MAX);
    ENSURE_OUT(in != NULL && out != NULL, VEIL_ERR_NOMEM);
    protobuf_c_message_pack(&call.base, in);
    tve_visible = 0; /* encrypt validates against committed state */
    TRY_OUT(tee_enclave_call(s->enclave, TVE_E_ENCRYPT, in, in_len, out, TVE_ENCRYPT_OUT_MAX,
                             &out_len));
    Veil__Tve__Enclave__EncryptResult *er =
        veil__tve__enclave__encrypt_result__unpack(NULL, out_len, out);
    ENSURE_OUT(er != NULL, VEIL_ERR_TEE_ENCLAVE_FAULT);
    TRY_OUT(arena_keep(a, &er->base));
    /* The enclave's bytes are forwarded as they are (the TQE enclave judges them); a
     * committed txid never gets here: the enclave refuses it before any rule runs. */
    ENSURE_OUT(er->tx.len > 0 && er->tx.len <= VEIL_TX_MAX_WIRE_LEN, VEIL_ERR_TEE_ENCLAVE_FAULT);
    Veil__Tve__EncryptResponse *r = ARENA_NEW(a, Veil__Tve__EncryptResponse);
    ENSURE_OUT(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__encrypt_response__init(r);
    r->tx = er->tx;
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_ENCRYPT;
    resp->encrypt = r;
out:
    free(in);
    free(out);
    return st;
}

/* --- dispatch ---------------------------------------------------------------------- */
static const char *request_name(Veil__Tve__Request__RequestCase c)
{
    switch (c) {
    case VEIL__TVE__REQUEST__REQUEST_STATUS:
        return "status";
    case VEIL__TVE__REQUEST__REQUEST_INIT_CHAIN:
        return "init-chain";
    case VEIL__TVE__REQUEST__REQUEST_CHECK_CHAIN:
        return "check-chain";
    case VEIL__TVE__REQUEST__REQUEST_VERIFY_TX:
        return "verify-tx";
    case VEIL__TVE__REQUEST__REQUEST_VERIFY_BLOCK:
        return "verify-block";
    case VEIL__TVE__REQUEST__REQUEST_END_BLOCK:
        return "end-block";
    case VEIL__TVE__REQUEST__REQUEST_COMMIT_BLOCK:
        return "commit-block";
    case VEIL__TVE__REQUEST__REQUEST_GET_SEALED_TXS:
        return "get-sealed-txs";
    case VEIL__TVE__REQUEST__REQUEST_ENCRYPT:
        return "encrypt";
    case VEIL__TVE__REQUEST__REQUEST_HANDOFF:
        return "handoff";
    default:
        return "invalid";
    }
}

static veil_status service_dispatch(tve_service *s, const Veil__Tve__Request *req, tve_arena *a,
                                    Veil__Tve__Response *resp, size_t *n_items)
{
    switch (req->request_case) {
    case VEIL__TVE__REQUEST__REQUEST_STATUS:
        return handle_status(s, a, resp);
    case VEIL__TVE__REQUEST__REQUEST_INIT_CHAIN:
        return handle_init_chain(s, req->init_chain, a, resp);
    case VEIL__TVE__REQUEST__REQUEST_CHECK_CHAIN:
        return handle_check_chain(s, req->check_chain, a, resp);
    case VEIL__TVE__REQUEST__REQUEST_VERIFY_TX:
        return handle_verify_tx(s, req->verify_tx, a, resp);
    case VEIL__TVE__REQUEST__REQUEST_VERIFY_BLOCK:
        return handle_verify_block(s, req->verify_block, a, resp, n_items);
    case VEIL__TVE__REQUEST__REQUEST_END_BLOCK:
        return handle_end_block(s, req->end_block, a, resp);
    case VEIL__TVE__REQUEST__REQUEST_COMMIT_BLOCK:
        return handle_commit_block(s, req->commit_block, a, resp, n_items);
    case VEIL__TVE__REQUEST__REQUEST_GET_SEALED_TXS:
        return handle_get_sealed_txs(s, req->get_sealed_txs, a, resp, n_items);
    case VEIL__TVE__REQUEST__REQUEST_ENCRYPT:
        return handle_encrypt(s, req->encrypt, a, resp);
    case VEIL__TVE__REQUEST__REQUEST_HANDOFF:
        return handle_handoff(s, req->handoff, a, resp);
    default:
        return VEIL_ERR_TVE_UNKNOWN_REQUEST;
    }
}

static veil_status response_pack(const Veil__Tve__Response *resp, uint8_t **out, size_t *out_len)
{
    size_t len = protobuf_c_message_get_packed_size(&resp->base);
    uint8_t *buf = malloc(len ? len : 1);
    ENSURE(buf != NULL, VEIL_ERR_NOMEM);
    *out_len = protobuf_c_message_pack(&resp->base, buf);
    *out = buf;
    return VEIL_OK;
}

size_t tve_response_static_error(veil_status st, uint8_t *out, size_t cap)
{
    Veil__Tve__Error e = VEIL__TVE__ERROR__INIT;
    Veil__Tve__Response resp = VEIL__TVE__RESPONSE__INIT;
    e.code = (uint32_t)st;
    e.name = (char *)veil_status_name(st);
    e.message = (char *)veil_status_str(st);
    resp.response_case = VEIL__TVE__RESPONSE__RESPONSE_ERROR;
    resp.error = &e;
    size_t len = protobuf_c_message_get_packed_size(&resp.base);
    if (len > cap) return 0;
    return protobuf_c_message_pack(&resp.base, out);
}

veil_status tve_service_handle(tve_service *s, const uint8_t *req, size_t req_len, uint8_t **resp,
                               size_t *resp_len, tve_request_info *info)
{
    Veil__Tve__Request *r = NULL;
    Veil__Tve__Response out = VEIL__TVE__RESPONSE__INIT;
    tve_arena a = {NULL};
    veil_status st;

    info->name = "invalid";
    info->n_items = 0;
    /* Limits first: nothing is decoded from a frame over its limit. Only a verify-block
     * may be large, and it says so in its first byte. */
    if (req_len > TVE_BLOCK_FRAME_MAX || (req_len > TVE_FRAME_MAX && req[0] != TVE_BLOCK_TAG)) {
        st = VEIL_ERR_TOO_LARGE;
        goto reply;
    }
    r = veil__tve__request__unpack(NULL, req_len, req);
    if (r == NULL) {
        st = VEIL_ERR_TVE_UNKNOWN_REQUEST;
        goto reply;
    }
    info->name = request_name(r->request_case);
    /* A later field can override the oneof: a big frame must really be a block. */
    if (req_len > TVE_FRAME_MAX && r->request_case != VEIL__TVE__REQUEST__REQUEST_VERIFY_BLOCK) {
        st = VEIL_ERR_TOO_LARGE;
        goto reply;
    }
    st = service_dispatch(s, r, &a, &out, &info->n_items);
reply:
    info->status = st;
    if (st != VEIL_OK) {
        veil__tve__response__init(&out);
        out.response_case = VEIL__TVE__RESPONSE__RESPONSE_ERROR;
        out.error = error_new(&a, st);
    }
    veil_status pst = out.response_case == VEIL__TVE__RESPONSE__RESPONSE_ERROR && out.error == NULL
                          ? VEIL_ERR_NOMEM
                          : response_pack(&out, resp, resp_len);
    arena_free(&a);
    if (r != NULL) veil__tve__request__free_unpacked(r, NULL);
    return pst;
}

/* --- lifecycle --------------------------------------------------------------------- */
static veil_status identity_check(const tve_service_config *cfg, const tee_identity *id)
{
    char want[65], got[65];
    if (cfg->mrsigner != NULL && memcmp(cfg->mrsigner, id->mrsigner, TEE_MEASUREMENT_LEN) != 0) {
        veil_hex_encode(want, cfg->mrsigner, TEE_MEASUREMENT_LEN);
        veil_hex_encode(got, id->mrsigner, TEE_MEASUREMENT_LEN);
        veil_error_detail_set("enclave mrsigner %s, expected %s", got, want);
        return VEIL_ERR_TVE_IDENTITY;
    }
    if (cfg->mrenclave != NULL && memcmp(cfg->mrenclave, id->mrenclave, TEE_MEASUREMENT_LEN) != 0) {
        veil_hex_encode(want, cfg->mrenclave, TEE_MEASUREMENT_LEN);
        veil_hex_encode(got, id->mrenclave, TEE_MEASUREMENT_LEN);
        veil_error_detail_set("enclave mrenclave %s, expected %s", got, want);
        return VEIL_ERR_TVE_IDENTITY;
    }
    if (cfg->check_min_svn && id->svn < cfg->min_svn) {
        veil_error_detail_set("enclave svn %u, expected at least %u", id->svn, cfg->min_svn);
        return VEIL_ERR_TVE_IDENTITY;
    }
    return VEIL_OK;
}

static veil_status service_load_key(void *ctx, uint64_t epoch, const uint8_t *sealed,
                                    size_t sealed_len)
{
    tve_service *s = ctx;
    Veil__Tve__Enclave__LoadKeyCall call = VEIL__TVE__ENCLAVE__LOAD_KEY_CALL__INIT;
    Veil__Tve__Enclave__KeyResult *kr;
    call.epoch = epoch;
    call.sealed_key.data = (uint8_t *)sealed;
    call.sealed_key.len = sealed_len;
    veil_status st = enclave_key_call(s, TVE_E_LOAD_KEY, &call.base, &kr);
    if (st != VEIL_OK) {
        veil_error_detail_set("stored key of epoch %llu does not open in this enclave (another "
                              "signer, product or platform?)",
                              (unsigned long long)epoch);
        return st;
    }
    st = kr->epoch == epoch ? VEIL_OK : VEIL_ERR_TEE_ENCLAVE_FAULT;
    veil__tve__enclave__key_result__free_unpacked(kr, NULL);
    return st;
}

veil_status tve_service_open(const tve_service_config *cfg, tve_service **out)
{
    veil_status st;
    ENSURE(cfg != NULL && cfg->home != NULL && cfg->enclave_path != NULL, VEIL_ERR_ARG);
    tve_service *s = calloc(1, sizeof *s);
    ENSURE(s != NULL, VEIL_ERR_NOMEM);
    tve_staging_init(&s->staging);
    pthread_rwlock_init(&s->staging_lock, NULL);

    unsigned threads = cfg->threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    if (threads > TVE_MAX_THREADS) threads = TVE_MAX_THREADS;
    s->threads = threads;

    TRY_OUT(veil_crypto_init());
    TRY_OUT(tve_store_open(cfg->home, cfg->no_sync, &s->store));
    TRY_OUT(tve_store_meta_get(s->store, &s->meta));
    TRY_OUT(tee_platform_open(cfg->platform_dir, &s->platform));
    tee_ocall_table ocalls = tve_ocall_table(s);
    TRY_OUT(
        tee_enclave_load(s->platform, cfg->enclave_path, &ocalls, TVE_ENCLAVE_MEMORY, &s->enclave));
    tee_enclave_identity(s->enclave, &s->identity);
    TRY_OUT(identity_check(cfg, &s->identity));
    TRY_OUT(tve_store_keys_each(s->store, service_load_key, s));
    TRY_OUT(tve_pool_create(threads, &s->pool));
    *out = s;
    return VEIL_OK;
out:
    tve_service_close(s);
    return st;
}

void tve_service_close(tve_service *s)
{
    if (s == NULL) return;
    tve_pool_destroy(s->pool);
    tee_enclave_destroy(s->enclave);
    tee_platform_close(s->platform);
    tve_store_close(s->store);
    tve_staging_free(&s->staging);
    pthread_rwlock_destroy(&s->staging_lock);
    free(s);
}

void tve_service_identity(const tve_service *s, tee_identity *out) { *out = s->identity; }
uint64_t tve_service_last_height(const tve_service *s) { return s->meta.last_height; }
unsigned tve_service_threads(const tve_service *s) { return s->threads; }
