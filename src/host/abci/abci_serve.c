/* One ABCI request in, one length-prefixed response out: decode, dispatch to the
 * app (or to a default), encode. No sockets here; abci_server.c drives it per
 * connection and the fuzz target drives it directly. */
#include <stdarg.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/abci/abci_server.h"

/* ---- per-request memory ------------------------------------------------------------ */

typedef struct abci_call_block {
    struct abci_call_block *next;
    alignas(max_align_t) unsigned char data[];
} abci_call_block;

struct abci_call {
    abci_call_block *blocks;
    char error[512];
};

void *abci_call_alloc(abci_call *call, size_t n)
{
    if (n == 0) n = 1;
    if (n > SIZE_MAX - sizeof(abci_call_block)) return NULL;
    abci_call_block *b = calloc(1, sizeof *b + n);
    if (b == NULL) return NULL;
    b->next = call->blocks;
    call->blocks = b;
    return b->data;
}

void *abci_call_calloc(abci_call *call, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) return NULL;
    return abci_call_alloc(call, total);
}

char *abci_call_strdup(abci_call *call, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = abci_call_alloc(call, n);
    if (p != NULL) memcpy(p, s, n);
    return p;
}

veil_status abci_call_bytes(abci_call *call, const void *p, size_t n, ProtobufCBinaryData *out)
{
    uint8_t *q = abci_call_alloc(call, n);
    ENSURE(q != NULL, VEIL_ERR_NOMEM);
    if (n > 0) memcpy(q, p, n);
    out->data = q;
    out->len = n;
    return VEIL_OK;
}

void abci_call_fail(abci_call *call, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call->error, sizeof call->error, fmt, ap);
    va_end(ap);
}

static void call_release(abci_call *call)
{
    while (call->blocks != NULL) {
        abci_call_block *next = call->blocks->next;
        free(call->blocks);
        call->blocks = next;
    }
}

/* ---- defaults (CometBFT's BaseApplication; state sync refused) ---------------------- */

static veil_status default_info(abci_call *call, const Tendermint__Abci__RequestInfo *req,
                                Tendermint__Abci__ResponseInfo *resp)
{
    (void)call, (void)req, (void)resp;
    return VEIL_OK;
}

static veil_status default_query(abci_call *call, const Tendermint__Abci__RequestQuery *req,
                                 Tendermint__Abci__ResponseQuery *resp)
{
    (void)call, (void)req, (void)resp;
    return VEIL_OK;
}

static veil_status default_check_tx(abci_call *call, const Tendermint__Abci__RequestCheckTx *req,
                                    Tendermint__Abci__ResponseCheckTx *resp)
{
    (void)call, (void)req, (void)resp;
    return VEIL_OK;
}

static veil_status default_init_chain(abci_call *call,
                                      const Tendermint__Abci__RequestInitChain *req,
                                      Tendermint__Abci__ResponseInitChain *resp)
{
    (void)call, (void)req, (void)resp;
    return VEIL_OK;
}

static veil_status default_prepare_proposal(abci_call *call,
                                            const Tendermint__Abci__RequestPrepareProposal *req,
                                            Tendermint__Abci__ResponsePrepareProposal *resp)
{
    if (req->n_txs == 0) return VEIL_OK;
    ProtobufCBinaryData *txs = abci_call_calloc(call, req->n_txs, sizeof *txs);
    ENSURE(txs != NULL, VEIL_ERR_NOMEM);
    /* Same rule as CometBFT's BaseApplication: stop at the first tx that would take
     * the running total above max_tx_bytes. The request outlives the encoding, so
     * the tx bytes are referenced, not copied. */
    int64_t total = 0;
    size_t n = 0;
    for (; n < req->n_txs; n++) {
        if (req->txs[n].len > (size_t)INT64_MAX - (size_t)total) break;
        total += (int64_t)req->txs[n].len;
        if (total > req->max_tx_bytes) break;
        txs[n] = req->txs[n];
    }
    resp->n_txs = n;
    resp->txs = txs;
    return VEIL_OK;
}

static veil_status default_process_proposal(abci_call *call,
                                            const Tendermint__Abci__RequestProcessProposal *req,
                                            Tendermint__Abci__ResponseProcessProposal *resp)
{
    (void)call, (void)req;
    resp->status = TENDERMINT__ABCI__RESPONSE_PROCESS_PROPOSAL__PROPOSAL_STATUS__ACCEPT;
    return VEIL_OK;
}

static veil_status default_extend_vote(abci_call *call,
                                       const Tendermint__Abci__RequestExtendVote *req,
                                       Tendermint__Abci__ResponseExtendVote *resp)
{
    (void)call, (void)req, (void)resp;
    return VEIL_OK;
}

static veil_status
default_verify_vote_extension(abci_call *call,
                              const Tendermint__Abci__RequestVerifyVoteExtension *req,
                              Tendermint__Abci__ResponseVerifyVoteExtension *resp)
{
    (void)call, (void)req;
    resp->status = TENDERMINT__ABCI__RESPONSE_VERIFY_VOTE_EXTENSION__VERIFY_STATUS__ACCEPT;
    return VEIL_OK;
}

static veil_status default_finalize_block(abci_call *call,
                                          const Tendermint__Abci__RequestFinalizeBlock *req,
                                          Tendermint__Abci__ResponseFinalizeBlock *resp)
{
    if (req->n_txs == 0) return VEIL_OK;
    /* One result per tx, all "code 0": they can share one message. */
    Tendermint__Abci__ExecTxResult *ok =
        ABCI_CALL_NEW(call, Tendermint__Abci__ExecTxResult, tendermint__abci__exec_tx_result__init);
    Tendermint__Abci__ExecTxResult **results = abci_call_calloc(call, req->n_txs, sizeof *results);
    ENSURE(ok != NULL && results != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < req->n_txs; i++) results[i] = ok;
    resp->n_tx_results = req->n_txs;
    resp->tx_results = results;
    return VEIL_OK;
}

static veil_status default_commit(abci_call *call, const Tendermint__Abci__RequestCommit *req,
                                  Tendermint__Abci__ResponseCommit *resp)
{
    (void)call, (void)req, (void)resp;
    return VEIL_OK;
}

static veil_status default_list_snapshots(abci_call *call,
                                          const Tendermint__Abci__RequestListSnapshots *req,
                                          Tendermint__Abci__ResponseListSnapshots *resp)
{
    (void)call, (void)req, (void)resp;
    return VEIL_OK;
}

static veil_status default_offer_snapshot(abci_call *call,
                                          const Tendermint__Abci__RequestOfferSnapshot *req,
                                          Tendermint__Abci__ResponseOfferSnapshot *resp)
{
    (void)call, (void)req;
    resp->result = TENDERMINT__ABCI__RESPONSE_OFFER_SNAPSHOT__RESULT__ABORT;
    return VEIL_OK;
}

static veil_status
default_load_snapshot_chunk(abci_call *call, const Tendermint__Abci__RequestLoadSnapshotChunk *req,
                            Tendermint__Abci__ResponseLoadSnapshotChunk *resp)
{
    (void)call, (void)req, (void)resp;
    return VEIL_OK;
}

static veil_status
default_apply_snapshot_chunk(abci_call *call,
                             const Tendermint__Abci__RequestApplySnapshotChunk *req,
                             Tendermint__Abci__ResponseApplySnapshotChunk *resp)
{
    (void)call, (void)req;
    resp->result = TENDERMINT__ABCI__RESPONSE_APPLY_SNAPSHOT_CHUNK__RESULT__ABORT;
    return VEIL_OK;
}

/* ---- dispatch ---------------------------------------------------------------------- */

/* Storage for whichever response the request calls for. */
typedef union abci_resp_storage {
    Tendermint__Abci__ResponseException exception;
    Tendermint__Abci__ResponseEcho echo;
    Tendermint__Abci__ResponseFlush flush;
    Tendermint__Abci__ResponseInfo info;
    Tendermint__Abci__ResponseInitChain init_chain;
    Tendermint__Abci__ResponseQuery query;
    Tendermint__Abci__ResponseCheckTx check_tx;
    Tendermint__Abci__ResponseCommit commit;
    Tendermint__Abci__ResponseListSnapshots list_snapshots;
    Tendermint__Abci__ResponseOfferSnapshot offer_snapshot;
    Tendermint__Abci__ResponseLoadSnapshotChunk load_snapshot_chunk;
    Tendermint__Abci__ResponseApplySnapshotChunk apply_snapshot_chunk;
    Tendermint__Abci__ResponsePrepareProposal prepare_proposal;
    Tendermint__Abci__ResponseProcessProposal process_proposal;
    Tendermint__Abci__ResponseExtendVote extend_vote;
    Tendermint__Abci__ResponseVerifyVoteExtension verify_vote_extension;
    Tendermint__Abci__ResponseFinalizeBlock finalize_block;
} abci_resp_storage;

/* Runs one app method: the request and response oneof members share the method's
 * name, so one macro covers all of them. */
#define ABCI_METHOD(NAME, UPPER, init_fn)                                                          \
    case TENDERMINT__ABCI__REQUEST__VALUE_##UPPER:                                                 \
        init_fn(&u->NAME);                                                                         \
        resp->value_case = TENDERMINT__ABCI__RESPONSE__VALUE_##UPPER;                              \
        resp->NAME = &u->NAME;                                                                     \
        if (lock != NULL) pthread_mutex_lock(lock);                                                \
        st = app->NAME != NULL ? app->NAME(app->ctx, call, req->NAME, &u->NAME)                    \
                               : default_##NAME(call, req->NAME, &u->NAME);                        \
        if (lock != NULL) pthread_mutex_unlock(lock);                                              \
        break;

static veil_status dispatch(const abci_app *app, pthread_mutex_t *lock, abci_call *call,
                            const Tendermint__Abci__Request *req, abci_resp_storage *u,
                            Tendermint__Abci__Response *resp)
{
    veil_status st = VEIL_ERR_INTERNAL;
    switch (req->value_case) {
        ABCI_METHOD(info, INFO, tendermint__abci__response_info__init)
        ABCI_METHOD(init_chain, INIT_CHAIN, tendermint__abci__response_init_chain__init)
        ABCI_METHOD(query, QUERY, tendermint__abci__response_query__init)
        ABCI_METHOD(check_tx, CHECK_TX, tendermint__abci__response_check_tx__init)
        ABCI_METHOD(commit, COMMIT, tendermint__abci__response_commit__init)
        ABCI_METHOD(list_snapshots, LIST_SNAPSHOTS, tendermint__abci__response_list_snapshots__init)
        ABCI_METHOD(offer_snapshot, OFFER_SNAPSHOT, tendermint__abci__response_offer_snapshot__init)
        ABCI_METHOD(load_snapshot_chunk, LOAD_SNAPSHOT_CHUNK,
                    tendermint__abci__response_load_snapshot_chunk__init)
        ABCI_METHOD(apply_snapshot_chunk, APPLY_SNAPSHOT_CHUNK,
                    tendermint__abci__response_apply_snapshot_chunk__init)
        ABCI_METHOD(prepare_proposal, PREPARE_PROPOSAL,
                    tendermint__abci__response_prepare_proposal__init)
        ABCI_METHOD(process_proposal, PROCESS_PROPOSAL,
                    tendermint__abci__response_process_proposal__init)
        ABCI_METHOD(extend_vote, EXTEND_VOTE, tendermint__abci__response_extend_vote__init)
        ABCI_METHOD(verify_vote_extension, VERIFY_VOTE_EXTENSION,
                    tendermint__abci__response_verify_vote_extension__init)
        ABCI_METHOD(finalize_block, FINALIZE_BLOCK, tendermint__abci__response_finalize_block__init)
    default:
        /* Echo, Flush and NOT_SET are handled by the caller. */
        return VEIL_ERR_INTERNAL;
    }
    return st;
}
#undef ABCI_METHOD

/* Appends a ResponseException carrying text. */
static veil_status append_exception(abci_buf *out, const char *text)
{
    Tendermint__Abci__ResponseException ex = TENDERMINT__ABCI__RESPONSE_EXCEPTION__INIT;
    Tendermint__Abci__Response resp = TENDERMINT__ABCI__RESPONSE__INIT;
    ex.error = (char *)text;
    resp.value_case = TENDERMINT__ABCI__RESPONSE__VALUE_EXCEPTION;
    resp.exception = &ex;
    return abci_buf_append_frame(out, &resp.base);
}

/* Describes a Request that decoded but names no method we know: typically a
 * pre-v0.38 method (SetOption 4, BeginBlock 7, DeliverTx 9, EndBlock 10). */
static void describe_unknown(const Tendermint__Abci__Request *req, char *text, size_t cap)
{
    if (req->base.n_unknown_fields > 0) {
        uint32_t tag = req->base.unknown_fields[req->base.n_unknown_fields - 1].tag;
        snprintf(text, cap,
                 "unknown request from client: field %u is not an ABCI 2.0 (CometBFT v0.38) method",
                 tag);
    } else {
        snprintf(text, cap, "unknown request from client: no method set");
    }
}

veil_status abci_serve_request(const abci_app *app, pthread_mutex_t *app_lock, const uint8_t *body,
                               size_t body_len, abci_buf *out, abci_serve_next *next)
{
    char text[700];
    Tendermint__Abci__Request *req = tendermint__abci__request__unpack(NULL, body_len, body);
    if (req != NULL && !abci_message_wellformed(&req->base)) {
        tendermint__abci__request__free_unpacked(req, NULL);
        req = NULL;
    }
    if (req == NULL) {
        /* The bytes are not a Request. CometBFT's server just drops the connection;
         * Veil says why first, then drops it. */
        snprintf(text, sizeof text,
                 "cannot decode request: %zu bytes are not a tendermint.abci.Request", body_len);
        *next = ABCI_SERVE_FLUSH_CLOSE;
        return append_exception(out, text);
    }

    veil_status st = VEIL_OK;
    abci_call call = {0};
    abci_resp_storage u;
    Tendermint__Abci__Response resp = TENDERMINT__ABCI__RESPONSE__INIT;
    *next = ABCI_SERVE_BUFFER;

    switch (req->value_case) {
    case TENDERMINT__ABCI__REQUEST__VALUE_ECHO:
        tendermint__abci__response_echo__init(&u.echo);
        u.echo.message = req->echo->message;
        resp.value_case = TENDERMINT__ABCI__RESPONSE__VALUE_ECHO;
        resp.echo = &u.echo;
        st = abci_buf_append_frame(out, &resp.base);
        break;
    case TENDERMINT__ABCI__REQUEST__VALUE_FLUSH:
        tendermint__abci__response_flush__init(&u.flush);
        resp.value_case = TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH;
        resp.flush = &u.flush;
        st = abci_buf_append_frame(out, &resp.base);
        *next = ABCI_SERVE_FLUSH;
        break;
    case TENDERMINT__ABCI__REQUEST__VALUE__NOT_SET:
        describe_unknown(req, text, sizeof text);
        st = append_exception(out, text);
        *next = ABCI_SERVE_FLUSH;
        break;
    default: {
        veil_status app_st = dispatch(app, app_lock, &call, req, &u, &resp);
        if (app_st == VEIL_OK) {
            st = abci_buf_append_frame(out, &resp.base);
        } else {
            snprintf(text, sizeof text, "%s: %s%s%s", veil_status_name(app_st),
                     veil_status_str(app_st), call.error[0] ? ": " : "", call.error);
            st = append_exception(out, text);
            *next = ABCI_SERVE_FLUSH;
        }
        break;
    }
    }
    call_release(&call);
    tendermint__abci__request__free_unpacked(req, NULL);
    return st;
}

/* ---- a pipelined run of CheckTx ------------------------------------------------------ */
Tendermint__Abci__Request *abci_decode_check_tx(const uint8_t *body, size_t body_len)
{
    Tendermint__Abci__Request *req = tendermint__abci__request__unpack(NULL, body_len, body);
    if (req == NULL) return NULL;
    if (!abci_message_wellformed(&req->base) ||
        req->value_case != TENDERMINT__ABCI__REQUEST__VALUE_CHECK_TX) {
        tendermint__abci__request__free_unpacked(req, NULL);
        return NULL;
    }
    return req;
}

veil_status abci_serve_check_batch(const abci_app *app, pthread_mutex_t *app_lock,
                                   Tendermint__Abci__Request **reqs, size_t n, abci_buf *out,
                                   abci_serve_next *next)
{
    abci_call call = {0};
    veil_status st = VEIL_OK;
    const Tendermint__Abci__RequestCheckTx **creqs = calloc(n, sizeof *creqs);
    Tendermint__Abci__ResponseCheckTx *all = calloc(n, sizeof *all);
    Tendermint__Abci__ResponseCheckTx **resps = calloc(n, sizeof *resps);
    *next = ABCI_SERVE_BUFFER;
    if (creqs == NULL || all == NULL || resps == NULL) {
        st = VEIL_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        creqs[i] = reqs[i]->check_tx;
        tendermint__abci__response_check_tx__init(&all[i]);
        resps[i] = &all[i];
    }
    if (app_lock != NULL) pthread_mutex_lock(app_lock);
    veil_status app_st = app->check_tx_batch(app->ctx, &call, creqs, resps, n);
    if (app_lock != NULL) pthread_mutex_unlock(app_lock);
    char text[700];
    if (app_st != VEIL_OK) {
        snprintf(text, sizeof text, "%s: %s%s%s", veil_status_name(app_st),
                 veil_status_str(app_st), call.error[0] ? ": " : "", call.error);
        *next = ABCI_SERVE_FLUSH;
    }
    for (size_t i = 0; i < n && st == VEIL_OK; i++) {
        if (app_st != VEIL_OK) {
            st = append_exception(out, text);
            continue;
        }
        Tendermint__Abci__Response resp = TENDERMINT__ABCI__RESPONSE__INIT;
        resp.value_case = TENDERMINT__ABCI__RESPONSE__VALUE_CHECK_TX;
        resp.check_tx = resps[i];
        st = abci_buf_append_frame(out, &resp.base);
    }
out:
    call_release(&call);
    for (size_t i = 0; i < n; i++) tendermint__abci__request__free_unpacked(reqs[i], NULL);
    free(creqs);
    free(all);
    free(resps);
    return st;
}
