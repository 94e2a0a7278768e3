/* ABCI adapter for node_app (node_abci.h). Responses live in call memory. */
#include "host/node/node_abci.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"
#include "common/hex.h"
#include "hostutil/fileio.h"
#include "chain/node_tx.h"
#include "tendermint/crypto/proof.pb-c.h"

#define NODE_ABCI_VERSION "veil-node/0.1"
#define NODE_APP_VERSION 1

static uint64_t ts_seconds(const Google__Protobuf__Timestamp *t)
{
    return (t == NULL || t->seconds < 0) ? 0 : (uint64_t)t->seconds;
}

/* The exception text for a failed callback. */
static veil_status fail(abci_call *call, veil_status st)
{
    abci_call_fail(call, "%s", veil_error_detail());
    return st;
}

static veil_status cb_info(void *ctx, abci_call *call, const Tendermint__Abci__RequestInfo *req,
                           Tendermint__Abci__ResponseInfo *resp)
{
    (void)req;
    node_app *a = ctx;
    uint64_t h;
    uint8_t hash[32];
    bool has;
    node_app_info(a, &h, hash, &has);
    resp->data = (char *)"veil";
    resp->version = (char *)NODE_ABCI_VERSION;
    resp->app_version = NODE_APP_VERSION;
    resp->last_block_height = (int64_t)h;
    /* Before the first block CometBFT expects an empty hash with height 0. */
    if (has && h > 0) TRY(abci_call_bytes(call, hash, 32, &resp->last_block_app_hash));
    return VEIL_OK;
}

static veil_status cb_check_tx_batch(void *ctx, abci_call *call,
                                     const Tendermint__Abci__RequestCheckTx *const *reqs,
                                     Tendermint__Abci__ResponseCheckTx *const *resps, size_t n)
{
    node_app *a = ctx;
    const uint8_t **txs = abci_call_calloc(call, n, sizeof *txs);
    size_t *lens = abci_call_calloc(call, n, sizeof *lens);
    bool *recheck = abci_call_calloc(call, n, sizeof *recheck);
    node_tx_result *r = calloc(n, sizeof *r);
    if (txs == NULL || lens == NULL || recheck == NULL || r == NULL) {
        free(r);
        return VEIL_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        txs[i] = reqs[i]->tx.data;
        lens[i] = reqs[i]->tx.len;
        recheck[i] = reqs[i]->type == TENDERMINT__ABCI__CHECK_TX_TYPE__RECHECK;
    }
    veil_status st = node_app_check_tx_batch(a, txs, lens, recheck, n, r);
    for (size_t i = 0; st == VEIL_OK && i < n; i++) {
        resps[i]->code = r[i].code;
        if (r[i].code != 0) {
            resps[i]->codespace = (char *)NODE_ABCI_CODESPACE;
            resps[i]->log = abci_call_strdup(call, r[i].log);
            if (resps[i]->log == NULL) st = VEIL_ERR_NOMEM;
        }
    }
    free(r);
    return st == VEIL_OK ? VEIL_OK : fail(call, st);
}

static veil_status cb_init_chain(void *ctx, abci_call *call,
                                 const Tendermint__Abci__RequestInitChain *req,
                                 Tendermint__Abci__ResponseInitChain *resp)
{
    node_app *a = ctx;
    uint8_t hash[32];
    char err[512];
    if (req->initial_height < 0) return VEIL_ERR_ARG;
    veil_status st = node_app_init_chain(a, req->chain_id ? req->chain_id : "",
                                         (uint64_t)req->initial_height, ts_seconds(req->time),
                                         req->app_state_bytes.data, req->app_state_bytes.len, hash,
                                         err, sizeof err);
    if (st != VEIL_OK) {
        abci_call_fail(call, "genesis: %s", err);
        return st;
    }
    return abci_call_bytes(call, hash, 32, &resp->app_hash);
}

static veil_status cb_check_tx(void *ctx, abci_call *call,
                               const Tendermint__Abci__RequestCheckTx *req,
                               Tendermint__Abci__ResponseCheckTx *resp)
{
    node_app *a = ctx;
    node_tx_result r;
    veil_status st = node_app_check_tx(a, req->tx.data, req->tx.len,
                                       req->type == TENDERMINT__ABCI__CHECK_TX_TYPE__RECHECK, &r);
    if (st != VEIL_OK) return fail(call, st);
    resp->code = r.code;
    if (r.code != 0) {
        resp->codespace = (char *)NODE_ABCI_CODESPACE;
        resp->log = abci_call_strdup(call, r.log);
        ENSURE(resp->log != NULL, VEIL_ERR_NOMEM);
    }
    return VEIL_OK;
}

static veil_status cb_prepare(void *ctx, abci_call *call,
                              const Tendermint__Abci__RequestPrepareProposal *req,
                              Tendermint__Abci__ResponsePrepareProposal *resp)
{
    node_app *a = ctx;
    size_t n = req->n_txs;
    const uint8_t **txs = abci_call_calloc(call, n ? n : 1, sizeof *txs);
    size_t *lens = abci_call_calloc(call, n ? n : 1, sizeof *lens);
    size_t *keep = abci_call_calloc(call, n ? n : 1, sizeof *keep);
    ENSURE(txs && lens && keep, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        txs[i] = req->txs[i].data;
        lens[i] = req->txs[i].len;
    }
    size_t n_keep, extra_len = 0;
    uint8_t *extra = abci_call_calloc(call, NODE_KEY_EPOCH_TX_MAX, 1);
    ENSURE(extra != NULL, VEIL_ERR_NOMEM);
    const uint8_t *proposer = req->proposer_address.len == NODE_PROPOSER_ADDRESS_LEN
                                  ? req->proposer_address.data
                                  : NULL;
    uint64_t max = req->max_tx_bytes > 0 ? (uint64_t)req->max_tx_bytes : 0;
    veil_status st = node_app_prepare(a, req->height > 0 ? (uint64_t)req->height : 0,
                                      ts_seconds(req->time), proposer, txs, lens, n, max, keep,
                                      &n_keep, extra, NODE_KEY_EPOCH_TX_MAX, &extra_len);
    if (st != VEIL_OK) return fail(call, st);
    size_t first = extra_len > 0;
    resp->txs = abci_call_calloc(call, n_keep + first, sizeof *resp->txs);
    ENSURE(resp->txs != NULL, VEIL_ERR_NOMEM);
    if (first) resp->txs[0] = (ProtobufCBinaryData){.len = extra_len, .data = extra};
    /* The request outlives the callback's use of it (abci_app.h), so point into it. */
    for (size_t i = 0; i < n_keep; i++) resp->txs[first + i] = req->txs[keep[i]];
    resp->n_txs = n_keep + first;
    return VEIL_OK;
}

static veil_status cb_process(void *ctx, abci_call *call,
                              const Tendermint__Abci__RequestProcessProposal *req,
                              Tendermint__Abci__ResponseProcessProposal *resp)
{
    (void)ctx, (void)call, (void)req;
    /* Invalid txs in a block are rejected one by one in FinalizeBlock, deterministically;
     * a proposal is never refused for them. */
    resp->status = TENDERMINT__ABCI__RESPONSE_PROCESS_PROPOSAL__PROPOSAL_STATUS__ACCEPT;
    return VEIL_OK;
}

static veil_status cb_finalize(void *ctx, abci_call *call,
                               const Tendermint__Abci__RequestFinalizeBlock *req,
                               Tendermint__Abci__ResponseFinalizeBlock *resp)
{
    node_app *a = ctx;
    size_t n = req->n_txs;
    node_block_result br;
    const uint8_t **txs = abci_call_calloc(call, n ? n : 1, sizeof *txs);
    size_t *lens = abci_call_calloc(call, n ? n : 1, sizeof *lens);
    ENSURE(txs && lens, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        txs[i] = req->txs[i].data;
        lens[i] = req->txs[i].len;
    }
    if (req->height <= 0) return VEIL_ERR_ARG;
    const uint8_t *proposer = req->proposer_address.len == NODE_PROPOSER_ADDRESS_LEN
                                  ? req->proposer_address.data
                                  : NULL;
    veil_status st = node_app_finalize_block(a, (uint64_t)req->height, ts_seconds(req->time),
                                             proposer, txs, lens, n, &br);
    if (st != VEIL_OK) return fail(call, st);

    st = VEIL_ERR_NOMEM;
    resp->tx_results = abci_call_calloc(call, n ? n : 1, sizeof *resp->tx_results);
    if (resp->tx_results == NULL) goto out;
    for (size_t i = 0; i < n; i++) {
        Tendermint__Abci__ExecTxResult *r =
            ABCI_CALL_NEW(call, Tendermint__Abci__ExecTxResult, tendermint__abci__exec_tx_result__init);
        if (r == NULL) goto out;
        r->code = br.txs[i].code;
        if (r->code != 0) {
            r->codespace = (char *)NODE_ABCI_CODESPACE;
            if ((r->log = abci_call_strdup(call, br.txs[i].log)) == NULL) goto out;
        }
        resp->tx_results[i] = r;
    }
    resp->n_tx_results = n;
    if (br.n_val_updates > 0) {
        resp->validator_updates =
            abci_call_calloc(call, br.n_val_updates, sizeof *resp->validator_updates);
        if (resp->validator_updates == NULL) goto out;
        for (size_t i = 0; i < br.n_val_updates; i++) {
            Tendermint__Abci__ValidatorUpdate *u = ABCI_CALL_NEW(
                call, Tendermint__Abci__ValidatorUpdate, tendermint__abci__validator_update__init);
            Tendermint__Crypto__PublicKey *pk = ABCI_CALL_NEW(
                call, Tendermint__Crypto__PublicKey, tendermint__crypto__public_key__init);
            if (u == NULL || pk == NULL ||
                abci_call_bytes(call, br.val_updates[i].pub_key, 32, &pk->ed25519) != VEIL_OK)
                goto out;
            pk->sum_case = TENDERMINT__CRYPTO__PUBLIC_KEY__SUM_ED25519;
            u->pub_key = pk;
            u->power = br.val_updates[i].power;
            resp->validator_updates[i] = u;
        }
        resp->n_validator_updates = br.n_val_updates;
    }

    /* The block's view-key bloom filter, for wallets (docs/node.md, "Events"). */
    Tendermint__Abci__Event *ev =
        ABCI_CALL_NEW(call, Tendermint__Abci__Event, tendermint__abci__event__init);
    Tendermint__Abci__EventAttribute *at = ABCI_CALL_NEW(
        call, Tendermint__Abci__EventAttribute, tendermint__abci__event_attribute__init);
    Tendermint__Abci__Event **evs = abci_call_calloc(call, 1, sizeof *evs);
    Tendermint__Abci__EventAttribute **ats = abci_call_calloc(call, 1, sizeof *ats);
    char *hex = abci_call_alloc(call, 2 * VEIL_BLOOM_BYTES + 1);
    if (!ev || !at || !evs || !ats || !hex) goto out;
    veil_hex_encode(hex, br.bloom, VEIL_BLOOM_BYTES);
    at->key = (char *)NODE_ABCI_ATTR_BLOOM;
    at->value = hex;
    at->index = true;
    ats[0] = at;
    ev->type = (char *)NODE_ABCI_EVENT_BLOCK;
    ev->n_attributes = 1;
    ev->attributes = ats;
    evs[0] = ev;
    resp->events = evs;
    resp->n_events = 1;
    st = abci_call_bytes(call, br.app_hash, 32, &resp->app_hash);
out:
    node_block_result_free(&br);
    return st;
}

static veil_status cb_commit(void *ctx, abci_call *call, const Tendermint__Abci__RequestCommit *req,
                             Tendermint__Abci__ResponseCommit *resp)
{
    (void)req;
    node_app *a = ctx;
    veil_status st = node_app_commit(a);
    if (st != VEIL_OK) return fail(call, st);
    resp->retain_height = 0; /* the node keeps every block record (TVE replay) */
    return VEIL_OK;
}

/* `/outputs/<hex txid>,<hex txid>,...` (at most NODE_QUERY_OUTPUTS_MAX): every output
 * record of the committed state at once, for a bootstrapping TDBE (docs/node.md §4):
 * value = per txid u8 present || u32 BE length || the record; with prove, one proof op
 * per txid in the same order. App callbacks run one at a time: every proof is against
 * the same app hash. */
static veil_status query_outputs(node_app *a, abci_call *call, const char *list, bool prove,
                                 Tendermint__Abci__ResponseQuery *resp)
{
    size_t len = strlen(list), n = (len + 1) / 65;
    ENSURE(len >= 64 && (len + 1) % 65 == 0 && n <= NODE_QUERY_OUTPUTS_MAX, VEIL_ERR_ARG);
    node_query_result *q = calloc(n, sizeof *q);
    ENSURE(q != NULL, VEIL_ERR_NOMEM);
    veil_status st = VEIL_OK;
    size_t value_len = 0;
    for (size_t i = 0; i < n && st == VEIL_OK; i++) {
        char path[8 + 64 + 1] = "/output/";
        if (i + 1 < n && list[65 * i + 64] != ',') st = VEIL_ERR_ARG;
        memcpy(path + 8, list + 65 * i, 64);
        path[72] = '\0';
        if (st == VEIL_OK) st = node_app_query(a, path, prove, &q[i]);
        value_len += 5 + q[i].value_len;
    }
    uint8_t *value = NULL;
    Tendermint__Crypto__ProofOps *ops = NULL;
    Tendermint__Crypto__ProofOp **opv = NULL;
    if (st == VEIL_OK) {
        value = abci_call_alloc(call, value_len);
        if (prove) {
            ops = ABCI_CALL_NEW(call, Tendermint__Crypto__ProofOps, tendermint__crypto__proof_ops__init);
            opv = abci_call_calloc(call, n, sizeof *opv);
        }
        if (value == NULL || (prove && (ops == NULL || opv == NULL))) st = VEIL_ERR_NOMEM;
    }
    for (size_t i = 0, at = 0; i < n && st == VEIL_OK; i++) {
        value[at] = q[i].value != NULL;
        veil_put_u32(value + at + 1, (uint32_t)q[i].value_len);
        if (q[i].value_len > 0) memcpy(value + at + 5, q[i].value, q[i].value_len);
        at += 5 + q[i].value_len;
        if (!prove) continue;
        Tendermint__Crypto__ProofOp *op =
            ABCI_CALL_NEW(call, Tendermint__Crypto__ProofOp, tendermint__crypto__proof_op__init);
        uint8_t *enc = abci_call_alloc(call, VEIL_SMT_PROOF_MAX_LEN);
        size_t enc_len = 0;
        st = op != NULL && enc != NULL ? veil_smt_proof_encode(&q[i].proof, enc, VEIL_SMT_PROOF_MAX_LEN, &enc_len)
                                       : VEIL_ERR_NOMEM;
        if (st == VEIL_OK) st = abci_call_bytes(call, q[i].key, 32, &op->key);
        if (st != VEIL_OK) break;
        op->type = (char *)NODE_ABCI_PROOF_OP;
        op->data.data = enc;
        op->data.len = enc_len;
        opv[i] = op;
    }
    if (st == VEIL_OK) {
        resp->height = (int64_t)q[0].height;
        resp->value.data = value;
        resp->value.len = value_len;
        st = abci_call_bytes(call, q[0].key, 32, &resp->key);
        if (prove) {
            ops->ops = opv;
            ops->n_ops = n;
            resp->proof_ops = ops;
        }
    }
    for (size_t i = 0; i < n; i++) node_query_result_free(&q[i]);
    free(q);
    return st;
}

static veil_status cb_query(void *ctx, abci_call *call, const Tendermint__Abci__RequestQuery *req,
                            Tendermint__Abci__ResponseQuery *resp)
{
    node_app *a = ctx;
    node_query_result q;
    uint64_t h;
    uint8_t hash[32];
    bool has;
    node_app_info(a, &h, hash, &has);
    resp->codespace = (char *)NODE_ABCI_CODESPACE;
    if (req->height != 0 && (uint64_t)req->height != h) {
        resp->code = VEIL_ERR_ARG;
        resp->log = (char *)"only the last committed height can be queried";
        return VEIL_OK;
    }
    if (req->path != NULL && strncmp(req->path, "/outputs/", 9) == 0) {
        veil_status st = query_outputs(a, call, req->path + 9, req->prove, resp);
        if (st == VEIL_ERR_ARG || st == VEIL_ERR_BAD_HEX) {
            resp->code = (uint32_t)st;
            resp->log = (char *)"/outputs/ takes 1 to 256 txids (64 hex digits each), comma-separated";
            return VEIL_OK;
        }
        return st;
    }
    veil_status st = node_app_query(a, req->path ? req->path : "", req->prove, &q);
    if (st != VEIL_OK) {
        resp->code = (uint32_t)st;
        resp->log = (char *)(st == VEIL_ERR_ARG || st == VEIL_ERR_BAD_HEX
                                 ? "unknown path (use /account/<hex>, /output/<hex txid>, "
                                   "/params, /key_epoch/<n>)"
                                 : veil_status_str(st));
        return VEIL_OK;
    }
    resp->height = (int64_t)q.height;
    st = abci_call_bytes(call, q.key, 32, &resp->key);
    if (st == VEIL_OK && q.value) st = abci_call_bytes(call, q.value, q.value_len, &resp->value);
    if (st == VEIL_OK && q.value == NULL) resp->log = (char *)"not found";
    if (st == VEIL_OK && q.has_proof) {
        uint8_t *enc = abci_call_alloc(call, VEIL_SMT_PROOF_MAX_LEN);
        size_t enc_len;
        Tendermint__Crypto__ProofOps *ops =
            ABCI_CALL_NEW(call, Tendermint__Crypto__ProofOps, tendermint__crypto__proof_ops__init);
        Tendermint__Crypto__ProofOp *op =
            ABCI_CALL_NEW(call, Tendermint__Crypto__ProofOp, tendermint__crypto__proof_op__init);
        Tendermint__Crypto__ProofOp **opv = abci_call_calloc(call, 1, sizeof *opv);
        st = VEIL_ERR_NOMEM;
        if (enc && ops && op && opv) st = veil_smt_proof_encode(&q.proof, enc, VEIL_SMT_PROOF_MAX_LEN, &enc_len);
        if (st == VEIL_OK) {
            op->type = (char *)NODE_ABCI_PROOF_OP;
            op->key = resp->key;
            op->data.data = enc;
            op->data.len = enc_len;
            opv[0] = op;
            ops->ops = opv;
            ops->n_ops = 1;
            resp->proof_ops = ops;
        }
    }
    node_query_result_free(&q);
    return st;
}

abci_app node_abci_app(node_app *a)
{
    abci_app app;
    memset(&app, 0, sizeof app);
    app.ctx = a;
    app.info = cb_info;
    app.query = cb_query;
    app.check_tx = cb_check_tx;
    app.check_tx_batch = cb_check_tx_batch;
    app.init_chain = cb_init_chain;
    app.prepare_proposal = cb_prepare;
    app.process_proposal = cb_process;
    app.finalize_block = cb_finalize;
    app.commit = cb_commit;
    return app;
}
