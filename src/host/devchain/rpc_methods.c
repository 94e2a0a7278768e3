/* The JSON-RPC methods: CometBFT v0.38's rpc/core results, rendered as cmtjson does
 * (see cmt_json.h for the encoding rules). Error texts are CometBFT's where it has
 * one, so clients matching on them keep working. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host/devchain/chain_internal.h"
#include "trusted/cmt/cmt_hash.h"
#include "host/devchain/cmt_json.h"
#include "host/devchain/rpc_search.h"
#include "hostutil/fileio.h"

#define VALIDATORS_PER_PAGE_DEFAULT 30
#define VALIDATORS_PER_PAGE_MAX 100

/* Reports an error in the -32603 "Internal error" class (CometBFT's answer to every
 * error a method returns). */
veil_status rpc_internal(rpc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
veil_status rpc_internal(rpc_error *err, const char *fmt, ...)
{
    err->code = RPC_INTERNAL_ERROR;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->data, sizeof err->data, fmt, ap);
    va_end(ap);
    return VEIL_ERR_ARG;
}

#define OBJ(...) cmt_json_obj(__VA_ARGS__, NULL)

static json_t *done(json_t *v, json_t **result)
{
    *result = v;
    return v;
}

#define RETURN_RESULT(expr)                                                              \
    do {                                                                                 \
        if (done((expr), result) == NULL) return VEIL_ERR_NOMEM;                         \
        return VEIL_OK;                                                                  \
    } while (0)

/* ---- methods --------------------------------------------------------------------------------- */

static veil_status m_health(devchain *dc, const rpc_args *a, json_t **result, rpc_error *err)
{
    (void)dc;
    (void)a;
    (void)err;
    RETURN_RESULT(json_object());
}

static veil_status m_status(devchain *dc, const rpc_args *a, json_t **result, rpc_error *err)
{
    (void)a;
    (void)err;
    snapshot s;
    rpc_take_snapshot(dc, &s);
    /* CometBFT: time.Unix(0, 0) when there is no block yet. */
    static const cmt_timestamp zero_time = {0, 0};
    bool any = s.st.last_height > 0;
    char node_id[2 * CMT_ADDRESS_LEN + 1], rpc_addr[64];
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < CMT_ADDRESS_LEN; i++) {
        node_id[2 * i] = digits[dc->key.address[i] >> 4];
        node_id[2 * i + 1] = digits[dc->key.address[i] & 15];
    }
    node_id[2 * CMT_ADDRESS_LEN] = '\0';
    snprintf(rpc_addr, sizeof rpc_addr, "tcp://127.0.0.1:%u", dc->rpc_port);
    json_t *node_info = OBJ(
        "protocol_version",
        OBJ("p2p", cmt_json_u64(DEVCHAIN_P2P_PROTOCOL), "block", cmt_json_u64(CMT_BLOCK_PROTOCOL),
            "app", cmt_json_u64(s.st.app_version)),
        /* No P2P layer here: the dev chain's one listening address is its RPC's (a
         * client such as CosmJS's Comet38Client refuses an empty one). */
        "id", json_string(node_id), "listen_addr", json_string(rpc_addr), "network",
        json_string(dc->gen.chain_id), "version", json_string(DEVCHAIN_VERSION), "channels",
        json_string(""), "moniker", json_string("veil-devchain"), "other",
        OBJ("tx_index", json_string("on"), "rpc_address", json_string(rpc_addr)));
    const cmt_header *lh = any ? &s.last_header : NULL, *fh = any ? &s.first_header : NULL;
    json_t *sync = OBJ(
        "latest_block_hash", cmt_json_hex(s.last_block_id.hash.b, any ? s.last_block_id.hash.len : 0),
        "latest_app_hash", cmt_json_hex(lh ? lh->app_hash.b : NULL, lh ? lh->app_hash.len : 0),
        "latest_block_height", cmt_json_i64(s.st.last_height), "latest_block_time",
        cmt_json_time(lh ? &lh->time : &zero_time), "earliest_block_hash",
        cmt_json_hex(s.first_block_id.hash.b, any ? s.first_block_id.hash.len : 0),
        "earliest_app_hash", cmt_json_hex(fh ? fh->app_hash.b : NULL, fh ? fh->app_hash.len : 0),
        "earliest_block_height", cmt_json_i64(rpc_base_height(&s)), "earliest_block_time",
        cmt_json_time(fh ? &fh->time : &zero_time), "catching_up", json_false());
    json_t *vinfo = OBJ("address", cmt_json_hex(dc->key.address, CMT_ADDRESS_LEN), "pub_key",
                        cmt_json_pub_key(dc->key.pub_key), "voting_power",
                        cmt_json_i64(dc->val.voting_power));
    RETURN_RESULT(OBJ("node_info", node_info, "sync_info", sync, "validator_info", vinfo));
}

/* The genesis document, as the file holds it (CometBFT's encoding). */
static veil_status m_genesis(devchain *dc, const rpc_args *a, json_t **result, rpc_error *err)
{
    (void)a;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/config/genesis.json", dc->cfg.home) >= (int)sizeof path)
        return rpc_internal(err, "genesis path too long");
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL) return rpc_internal(err, "genesis: %s", je.text);
    RETURN_RESULT(OBJ("genesis", doc));
}

/* CometBFT's ResultUnconfirmedTxs without the txs (as its num_unconfirmed_txs). */
static veil_status m_num_unconfirmed_txs(devchain *dc, const rpc_args *a, json_t **result,
                                         rpc_error *err)
{
    (void)a;
    (void)err;
    size_t n = mempool_count(dc->mp), bytes = mempool_total_bytes(dc->mp);
    RETURN_RESULT(OBJ("n_txs", cmt_json_i64((int64_t)n), "total", cmt_json_i64((int64_t)n),
                      "total_bytes", cmt_json_i64((int64_t)bytes), "txs", json_null()));
}

/* One validator and no peers. */
static veil_status m_net_info(devchain *dc, const rpc_args *a, json_t **result, rpc_error *err)
{
    (void)a;
    (void)err;
    char listener[80];
    snprintf(listener, sizeof listener, "Listener(@127.0.0.1:%u)", dc->rpc_port);
    RETURN_RESULT(OBJ("listening", json_true(), "listeners", json_pack("[s]", listener),
                      "n_peers", cmt_json_i64(0), "peers", json_array()));
}

static Tendermint__Abci__Response *query_call(devchain *dc, Tendermint__Abci__Request *req,
                                              rpc_error *err)
{
    Tendermint__Abci__Response *resp = NULL;
    pthread_mutex_lock(&dc->query_mu);
    veil_status st = abci_client_call(dc->query, req, &resp);
    pthread_mutex_unlock(&dc->query_mu);
    if (st != VEIL_OK) {
        rpc_internal(err, "ABCI query connection: %s", veil_status_str(st));
        return NULL;
    }
    return resp;
}

static veil_status m_abci_info(devchain *dc, const rpc_args *a, json_t **result, rpc_error *err)
{
    (void)a;
    Tendermint__Abci__RequestInfo ri;
    Tendermint__Abci__Request req;
    chain_info_request(&req, &ri);
    Tendermint__Abci__Response *resp = query_call(dc, &req, err);
    if (resp == NULL) return VEIL_ERR_NET;
    const Tendermint__Abci__ResponseInfo *r = resp->info;
    json_t *j = OBJ("response",
                    OBJ("data", cmt_json_text(r->data), "version", cmt_json_text(r->version),
                        "app_version", cmt_json_u64(r->app_version), "last_block_height",
                        cmt_json_i64(r->last_block_height), "last_block_app_hash",
                        rpc_b64pb(r->last_block_app_hash)));
    abci_response_free(resp);
    RETURN_RESULT(j);
}

static veil_status m_abci_query(devchain *dc, const rpc_args *a, json_t **result, rpc_error *err)
{
    char empty[] = "";
    Tendermint__Abci__RequestQuery q = TENDERMINT__ABCI__REQUEST_QUERY__INIT;
    q.path = a->present[0] ? (char *)a->bytes[0] : empty;
    q.data.data = a->bytes[1];
    q.data.len = a->present[1] ? a->len[1] : 0;
    q.height = a->present[2] ? a->i64[2] : 0;
    q.prove = a->present[3] && a->b[3];
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_QUERY;
    req.query = &q;
    Tendermint__Abci__Response *resp = query_call(dc, &req, err);
    if (resp == NULL) return VEIL_ERR_NET;
    const Tendermint__Abci__ResponseQuery *r = resp->query;
    json_t *ops = json_null();
    if (r->proof_ops != NULL) {
        json_t *arr = json_array();
        for (size_t i = 0; arr != NULL && i < r->proof_ops->n_ops; i++) {
            const Tendermint__Crypto__ProofOp *op = r->proof_ops->ops[i];
            json_t *o = OBJ("type", cmt_json_text(op->type), "key", rpc_b64pb(op->key), "data",
                            rpc_b64pb(op->data));
            if (o == NULL || json_array_append_new(arr, o) != 0) {
                json_decref(arr);
                arr = NULL;
            }
        }
        json_decref(ops);
        ops = OBJ("ops", arr);
    }
    json_t *j = OBJ("response",
                    OBJ("code", json_integer(r->code), "log", cmt_json_text(r->log), "info",
                        cmt_json_text(r->info), "index", cmt_json_i64(r->index), "key",
                        rpc_b64pb(r->key), "value", rpc_b64pb(r->value), "proofOps", ops, "height",
                        cmt_json_i64(r->height), "codespace", cmt_json_text(r->codespace)));
    abci_response_free(resp);
    RETURN_RESULT(j);
}

/* CheckTx(NEW) through the mempool's admission rules; on success *resp is the app's
 * answer (code 0: the tx is now in the mempool). */
static veil_status submit_tx(devchain *dc, const uint8_t *tx, size_t len,
                             const uint8_t hash[static CMT_HASH_LEN],
                             Tendermint__Abci__Response **resp, rpc_error *err)
{
    veil_status st = mempool_check_in(dc->mp, len, hash);
    if (st == VEIL_ERR_TOO_LARGE)
        return rpc_internal(err, "Tx too large. Max size is %zu, but got %zu",
                        dc->cfg.mempool.max_tx_bytes, len);
    if (st == VEIL_ERR_EXISTS) return rpc_internal(err, "tx already exists in cache");
    if (st == VEIL_ERR_LIMIT)
        return rpc_internal(err,
                        "mempool is full: number of txs %zu (max: %zu), total txs bytes %zu "
                        "(max: %zu)",
                        mempool_count(dc->mp), dc->cfg.mempool.max_txs,
                        mempool_total_bytes(dc->mp), dc->cfg.mempool.max_bytes);
    if (st != VEIL_OK) return rpc_internal(err, "%s", veil_status_str(st));

    st = devchain_check_tx(dc, tx, len, hash, resp);
    if (st != VEIL_OK) return rpc_internal(err, "CheckTx: %s", veil_status_str(st));
    return VEIL_OK;
}

static veil_status tx_arg(const rpc_args *a, rpc_error *err)
{
    if (!a->present[0]) return rpc_internal(err, "tx is empty");
    return VEIL_OK;
}

static veil_status m_broadcast_sync(devchain *dc, const rpc_args *a, json_t **result,
                                    rpc_error *err, bool async)
{
    TRY(tx_arg(a, err));
    uint8_t hash[CMT_HASH_LEN];
    cmt_tx_hash(a->bytes[0], a->len[0], hash);
    Tendermint__Abci__Response *resp;
    TRY(submit_tx(dc, a->bytes[0], a->len[0], hash, &resp, err));
    const Tendermint__Abci__ResponseCheckTx *r = resp->check_tx;
    json_t *j;
    if (async) /* CometBFT answers before CheckTx: always code 0 */
        j = OBJ("code", json_integer(0), "data", json_string(""), "log", json_string(""),
                "codespace", json_string(""), "hash", cmt_json_hex(hash, CMT_HASH_LEN));
    else
        j = OBJ("code", json_integer(r->code), "data", cmt_json_hex(r->data.data, r->data.len),
                "log", cmt_json_text(r->log), "codespace", cmt_json_text(r->codespace), "hash",
                cmt_json_hex(hash, CMT_HASH_LEN));
    abci_response_free(resp);
    RETURN_RESULT(j);
}

static veil_status m_broadcast_tx_sync(devchain *dc, const rpc_args *a, json_t **result,
                                       rpc_error *err)
{
    return m_broadcast_sync(dc, a, result, err, false);
}

static veil_status m_broadcast_tx_async(devchain *dc, const rpc_args *a, json_t **result,
                                        rpc_error *err)
{
    return m_broadcast_sync(dc, a, result, err, true);
}

static void deadline_after(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

static veil_status m_broadcast_tx_commit(devchain *dc, const rpc_args *a, json_t **result,
                                         rpc_error *err)
{
    TRY(tx_arg(a, err));
    uint8_t hash[CMT_HASH_LEN];
    cmt_tx_hash(a->bytes[0], a->len[0], hash);
    Tendermint__Abci__Response *resp;
    uint64_t seen;
    pthread_mutex_lock(&dc->mu);
    seen = dc->published;
    pthread_mutex_unlock(&dc->mu);
    TRY(submit_tx(dc, a->bytes[0], a->len[0], hash, &resp, err));
    if (resp->check_tx->code != 0) {
        /* CometBFT: the CheckTx result, an empty tx_result, height 0; no error. */
        json_t *j = OBJ("check_tx", rpc_check_tx_json(resp->check_tx), "tx_result",
                        rpc_exec_result_json(NULL), "hash", cmt_json_hex(hash, CMT_HASH_LEN),
                        "height", cmt_json_i64(0));
        abci_response_free(resp);
        RETURN_RESULT(j);
    }
    struct timespec deadline;
    deadline_after(&deadline, dc->cfg.tx_commit_timeout_ms);
    int64_t height = 0;
    uint32_t index = 0;
    veil_status st = VEIL_OK;
    for (;;) {
        veil_status f = store_find_tx(dc->store, hash, &height, &index);
        pthread_mutex_lock(&dc->mu);
        /* Only a published block counts: stored but not yet committed by the app is not
         * "included" for a client that then queries the app. */
        if (f == VEIL_OK && height <= dc->st.last_height) {
            pthread_mutex_unlock(&dc->mu);
            break;
        }
        int rc = 0;
        while (dc->published == seen && rc != ETIMEDOUT && !dc->exiting && *dc->stop == 0)
            rc = pthread_cond_timedwait(&dc->cv, &dc->mu, &deadline);
        seen = dc->published;
        bool quit = dc->exiting || *dc->stop != 0;
        pthread_mutex_unlock(&dc->mu);
        if (rc == ETIMEDOUT || quit) {
            st = rpc_internal(err, "timed out waiting for tx to be included in a block");
            break;
        }
    }
    if (st != VEIL_OK) {
        abci_response_free(resp);
        return st;
    }
    Tendermint__Abci__ResponseFinalizeBlock *fb;
    st = rpc_load_results(dc, height, &fb, err);
    if (st != VEIL_OK) {
        abci_response_free(resp);
        return st;
    }
    json_t *j = OBJ("check_tx", rpc_check_tx_json(resp->check_tx), "tx_result",
                    rpc_exec_result_json(index < fb->n_tx_results ? fb->tx_results[index] : NULL),
                    "hash", cmt_json_hex(hash, CMT_HASH_LEN), "height", cmt_json_i64(height));
    tendermint__abci__response_finalize_block__free_unpacked(fb, NULL);
    abci_response_free(resp);
    RETURN_RESULT(j);
}

static veil_status m_block(devchain *dc, const rpc_args *a, json_t **result, rpc_error *err)
{
    snapshot s;
    rpc_take_snapshot(dc, &s);
    int64_t h;
    TRY(rpc_resolve_height(&s, a, 0, &h, err));
    if (h == 0) { /* no block yet: CometBFT answers an empty id and a null block */
        cmt_block_id zero;
        memset(&zero, 0, sizeof zero);
        RETURN_RESULT(OBJ("block_id", cmt_json_block_id(&zero), "block", json_null()));
    }
    uint8_t *raw;
    cmt_block blk;
    cmt_block_id id;
    if (devchain_load_block(dc, h, &raw, &blk, &id) != VEIL_OK)
        return rpc_internal(err, "could not load block at height %lld", (long long)h);
    json_t *j = OBJ("block_id", cmt_json_block_id(&id), "block", cmt_json_block(&blk));
    cmt_block_free(&blk);
    free(raw);
    RETURN_RESULT(j);
}

static veil_status m_block_results(devchain *dc, const rpc_args *a, json_t **result, rpc_error *err)
{
    snapshot s;
    rpc_take_snapshot(dc, &s);
    int64_t h;
    TRY(rpc_resolve_height(&s, a, 0, &h, err));
    if (h == 0) return rpc_internal(err, "could not find results for height #0");
    Tendermint__Abci__ResponseFinalizeBlock *fb;
    TRY(rpc_load_results(dc, h, &fb, err));
    json_t *txs = json_null();
    if (fb->n_tx_results > 0) {
        json_decref(txs);
        txs = json_array();
        for (size_t i = 0; txs != NULL && i < fb->n_tx_results; i++)
            if (json_array_append_new(txs, rpc_exec_result_json(fb->tx_results[i])) != 0) {
                json_decref(txs);
                txs = NULL;
            }
    }
    json_t *j = OBJ("height", cmt_json_i64(h), "txs_results", txs, "finalize_block_events",
                    rpc_events_json(fb->events, fb->n_events, true), "validator_updates",
                    rpc_validator_updates_json(fb->validator_updates, fb->n_validator_updates),
                    "consensus_param_updates", rpc_params_json(fb->consensus_param_updates),
                    "app_hash", rpc_b64pb(fb->app_hash));
    tendermint__abci__response_finalize_block__free_unpacked(fb, NULL);
    RETURN_RESULT(j);
}

static veil_status m_commit(devchain *dc, const rpc_args *a, json_t **result, rpc_error *err)
{
    snapshot s;
    rpc_take_snapshot(dc, &s);
    int64_t h;
    TRY(rpc_resolve_height(&s, a, 0, &h, err));
    if (h == 0) return rpc_internal(err, "height must be greater than 0, but got 0");
    uint8_t *raw, *craw;
    size_t clen;
    cmt_block blk;
    cmt_block_id id;
    cmt_commit c;
    if (devchain_load_block(dc, h, &raw, &blk, &id) != VEIL_OK)
        return rpc_internal(err, "could not load block at height %lld", (long long)h);
    veil_status st = store_get(dc->store, STORE_COMMIT, h, &craw, &clen);
    if (st == VEIL_OK) {
        st = cmt_decode_commit(craw, clen, &c);
        free(craw);
    }
    json_t *j = NULL;
    if (st == VEIL_OK)
        /* CometBFT: the latest height's commit is the "seen" commit, not yet included
         * in a block (canonical false); older ones are canonical. */
        j = OBJ("signed_header",
                OBJ("header", cmt_json_header(&blk.header), "commit", cmt_json_commit(&c)),
                "canonical", json_boolean(h < s.st.last_height));
    cmt_block_free(&blk);
    free(raw);
    if (st != VEIL_OK) return rpc_internal(err, "could not load commit at height %lld", (long long)h);
    RETURN_RESULT(j);
}

static veil_status m_validators(devchain *dc, const rpc_args *a, json_t **result, rpc_error *err)
{
    snapshot s;
    rpc_take_snapshot(dc, &s);
    int64_t h;
    int64_t next = s.st.last_height ? s.st.last_height + 1 : s.st.initial_height;
    TRY(rpc_resolve_height_upto(&s, a, 0, next, &h, err));
    int64_t per_page = a->present[2] ? a->i64[2] : VALIDATORS_PER_PAGE_DEFAULT;
    if (per_page < 1) per_page = VALIDATORS_PER_PAGE_DEFAULT;
    if (per_page > VALIDATORS_PER_PAGE_MAX) per_page = VALIDATORS_PER_PAGE_MAX;
    int64_t page = a->present[1] ? a->i64[1] : 1;
    const int64_t total = 1, pages = 1;
    if (page < 1 || page > pages)
        return rpc_internal(err, "page should be within [1, %lld] range, given %lld", (long long)pages,
                        (long long)page);
    json_t *v = OBJ("address", cmt_json_hex(dc->key.address, CMT_ADDRESS_LEN), "pub_key",
                    cmt_json_pub_key(dc->key.pub_key), "voting_power",
                    cmt_json_i64(dc->val.voting_power), "proposer_priority", cmt_json_i64(0));
    json_t *vals = json_array();
    if (vals != NULL && (v == NULL || json_array_append_new(vals, v) != 0)) {
        json_decref(vals);
        vals = NULL;
    }
    RETURN_RESULT(OBJ("block_height", cmt_json_i64(h), "validators", vals, "count",
                      cmt_json_i64(total), "total", cmt_json_i64(total)));
}

static json_t *tx_proof_json(const cmt_block *blk, size_t index)
{
    uint8_t (*hashes)[CMT_HASH_LEN] = calloc(blk->n_txs, CMT_HASH_LEN);
    cmt_slice *leaves = calloc(blk->n_txs, sizeof *leaves);
    json_t *j = NULL;
    if (hashes != NULL && leaves != NULL) {
        for (size_t i = 0; i < blk->n_txs; i++) {
            cmt_tx_hash(blk->txs[i].p, blk->txs[i].len, hashes[i]);
            leaves[i].p = hashes[i];
            leaves[i].len = CMT_HASH_LEN;
        }
        uint8_t root[CMT_HASH_LEN], leaf[CMT_HASH_LEN], aunts[CMT_MERKLE_MAX_AUNTS][CMT_HASH_LEN];
        size_t na;
        cmt_merkle_root(leaves, blk->n_txs, root);
        if (cmt_merkle_proof(leaves, blk->n_txs, index, leaf, aunts, &na) == VEIL_OK) {
            json_t *arr = json_array();
            for (size_t i = 0; arr != NULL && i < na; i++)
                if (json_array_append_new(arr, cmt_json_b64(aunts[i], CMT_HASH_LEN)) != 0) {
                    json_decref(arr);
                    arr = NULL;
                }
            j = OBJ("root_hash", cmt_json_hex(root, CMT_HASH_LEN), "data",
                    cmt_json_b64_str(blk->txs[index].p, blk->txs[index].len), "proof",
                    OBJ("total", cmt_json_i64((int64_t)blk->n_txs), "index",
                        cmt_json_i64((int64_t)index), "leaf_hash", cmt_json_b64(leaf, CMT_HASH_LEN),
                        "aunts", arr));
        }
    }
    free(hashes);
    free(leaves);
    return j;
}

static veil_status m_tx(devchain *dc, const rpc_args *a, json_t **result, rpc_error *err)
{
    if (!a->present[0] || a->len[0] != CMT_HASH_LEN)
        return rpc_internal(err, "tx (%s) not found", a->present[0] ? "malformed hash" : "");
    int64_t height;
    uint32_t index;
    char hex[2 * CMT_HASH_LEN + 1];
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < CMT_HASH_LEN; i++) {
        hex[2 * i] = digits[a->bytes[0][i] >> 4];
        hex[2 * i + 1] = digits[a->bytes[0][i] & 15];
    }
    hex[2 * CMT_HASH_LEN] = '\0';
    snapshot s;
    rpc_take_snapshot(dc, &s);
    if (store_find_tx(dc->store, a->bytes[0], &height, &index) != VEIL_OK ||
        height > s.st.last_height)
        return rpc_internal(err, "tx (%s) not found", hex);
    uint8_t *raw = NULL;
    cmt_block blk;
    cmt_block_id id;
    if (devchain_load_block(dc, height, &raw, &blk, &id) != VEIL_OK)
        return rpc_internal(err, "tx (%s) not found", hex);
    if (index >= blk.n_txs) {
        cmt_block_free(&blk);
        free(raw);
        return rpc_internal(err, "tx (%s) not found", hex);
    }
    Tendermint__Abci__ResponseFinalizeBlock *fb;
    veil_status st = rpc_load_results(dc, height, &fb, err);
    json_t *j = NULL;
    if (st == VEIL_OK) {
        json_t *proof = NULL;
        if (a->present[1] && a->b[1]) proof = tx_proof_json(&blk, index);
        j = OBJ("hash", cmt_json_hex(a->bytes[0], CMT_HASH_LEN), "height", cmt_json_i64(height),
                "index", json_integer(index), "tx_result",
                rpc_exec_result_json(index < fb->n_tx_results ? fb->tx_results[index] : NULL), "tx",
                cmt_json_b64_str(blk.txs[index].p, blk.txs[index].len));
        if (j != NULL && proof != NULL && json_object_set_new(j, "proof", proof) != 0) {
            json_decref(j);
            j = NULL;
        } else if (j == NULL) {
            json_decref(proof);
        }
        tendermint__abci__response_finalize_block__free_unpacked(fb, NULL);
    }
    cmt_block_free(&blk);
    free(raw);
    TRY(st);
    RETURN_RESULT(j);
}

/* ---- dispatch ---------------------------------------------------------------------------------- */

typedef veil_status (*method_fn)(devchain *dc, const rpc_args *a, json_t **result, rpc_error *err);

static const struct {
    const char *name;
    method_fn fn;
} handlers[] = {
    {"abci_info", m_abci_info},
    {"abci_query", m_abci_query},
    {"block", m_block},
    {"block_results", m_block_results},
    {"block_search", rpc_block_search},
    {"broadcast_tx_async", m_broadcast_tx_async},
    {"broadcast_tx_commit", m_broadcast_tx_commit},
    {"broadcast_tx_sync", m_broadcast_tx_sync},
    {"commit", m_commit},
    {"genesis", m_genesis},
    {"health", m_health},
    {"net_info", m_net_info},
    {"num_unconfirmed_txs", m_num_unconfirmed_txs},
    {"status", m_status},
    {"tx", m_tx},
    {"tx_search", rpc_tx_search},
    {"validators", m_validators},
};

veil_status devchain_dispatch(void *ctx, const rpc_method_spec *m, const rpc_args *args,
                              json_t **result, rpc_error *err)
{
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++) {
        if (strcmp(handlers[i].name, m->name) != 0) continue;
        veil_status st = handlers[i].fn(ctx, args, result, err);
        if (st == VEIL_ERR_NOMEM && err->code == 0) rpc_internal(err, "out of memory");
        return st;
    }
    err->code = RPC_METHOD_NOT_FOUND;
    err->data[0] = '\0';
    return VEIL_ERR_ARG;
}
