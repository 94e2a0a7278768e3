/* The dev chain's engine: start-up handshake with the app, replay, and the block
 * production loop. The ordering of a block (docs/devchain.md, "Crash safety"):
 *
 *   PrepareProposal -> header, block id -> ProcessProposal (must ACCEPT)
 *   -> FinalizeBlock -> sign the precommit -> ONE store transaction (block, commit,
 *   FinalizeBlock response, tx index, next state) -> Commit to the app -> mempool
 *   update + recheck -> publish (RPC sees the block, broadcast_tx_commit wakes up)
 *
 * A crash before the store transaction loses the block (the app never committed it:
 * the next start proposes height H afresh). A crash after it leaves the app one block
 * behind; the next start replays H from the store (FinalizeBlock + Commit) and checks
 * that the app hash agrees. The app can therefore never be ahead of the store, and
 * the handshake refuses to start if it is (someone else's chain, or a store deleted
 * under a live app).
 */
#include "host/devchain/chain_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/crypto_host.h"
#include "trusted/cmt/cmt_hash.h"
#include "chain/cmt_time.h"
#include "hostutil/fileio.h"
#include "hostutil/log.h"


void devchain_config_defaults(devchain_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->rpc_addr = DEVCHAIN_DEFAULT_RPC;
    cfg->block_time_ms = DEVCHAIN_DEFAULT_BLOCK_TIME_MS;
    cfg->create_empty_blocks = true;
    cfg->tx_commit_timeout_ms = DEVCHAIN_DEFAULT_TX_COMMIT_TIMEOUT_MS;
    cfg->connect_wait_ms = DEVCHAIN_DEFAULT_CONNECT_WAIT_MS;
    cfg->mempool.max_txs = MEMPOOL_DEFAULT_MAX_TXS;
    cfg->mempool.max_bytes = MEMPOOL_DEFAULT_MAX_BYTES;
    cfg->mempool.max_tx_bytes = MEMPOOL_DEFAULT_MAX_TX_BYTES;
    cfg->mempool.cache_size = MEMPOOL_DEFAULT_CACHE_SIZE;
    cfg->log = stdout;
}

void devchain_log(devchain *dc, const char *fmt, ...)
{
    if (dc->cfg.log == NULL) return;
    va_list ap;
    va_start(ap, fmt);
    veil_vlog_to(dc->cfg.log, VEIL_LOG_INFO, fmt, ap);
    va_end(ap);
}

/* Sets the detail text and returns st, for errors that stop the chain. */
veil_status chain_failf(veil_status st, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    veil_error_detail_set("%s", buf);
    return st;
}

void chain_hex_short(char out[17], const uint8_t *p, size_t n)
{
    static const char d[] = "0123456789ABCDEF";
    size_t m = n < 8 ? n : 8;
    for (size_t i = 0; i < m; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * m] = '\0';
}

bool chain_stopping(const devchain *dc) { return *dc->stop != 0; }

/* ---- ABCI plumbing ---------------------------------------------------------------------------- */

ProtobufCBinaryData chain_bin(const void *p, size_t n)
{
    ProtobufCBinaryData b = {n, (uint8_t *)(uintptr_t)p};
    return b;
}

void chain_info_request(Tendermint__Abci__Request *req, Tendermint__Abci__RequestInfo *ri)
{
    static char version[] = DEVCHAIN_VERSION, abci_version[] = "2.0.0";
    tendermint__abci__request_info__init(ri);
    ri->version = version;
    ri->block_version = CMT_BLOCK_PROTOCOL;
    ri->p2p_version = DEVCHAIN_P2P_PROTOCOL;
    ri->abci_version = abci_version;
    tendermint__abci__request__init(req);
    req->value_case = TENDERMINT__ABCI__REQUEST__VALUE_INFO;
    req->info = ri;
}

veil_status chain_abci_call(abci_client *c, const char *what, Tendermint__Abci__Request *req,
                             Tendermint__Abci__Response **resp)
{
    veil_status st = abci_client_call(c, req, resp);
    if (st != VEIL_OK) {
        const char *exc = abci_client_last_exception(c);
        return chain_failf(st, "ABCI %s: %s%s%s", what, veil_status_str(st), exc[0] ? ": " : "", exc);
    }
    return VEIL_OK;
}

static veil_status connect_one(devchain *dc, const char *name, abci_client **out)
{
    abci_client_config cc = {dc->cfg.abci_addr, 0, 0};
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    bool said = false;
    for (;;) {
        veil_status st = abci_client_connect(&cc, out);
        if (st == VEIL_OK) return VEIL_OK;
        if (st == VEIL_ERR_ARG) return chain_failf(st, "bad ABCI address %s", dc->cfg.abci_addr);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (waited >= dc->cfg.connect_wait_ms || chain_stopping(dc))
            return chain_failf(VEIL_ERR_NET, "cannot connect the %s connection to the app at %s (%s)",
                         name, dc->cfg.abci_addr, veil_error_detail());
        if (!said) {
            devchain_log(dc, "waiting for the app at %s", dc->cfg.abci_addr);
            said = true;
        }
        struct timespec d = {0, 100 * 1000 * 1000};
        nanosleep(&d, NULL);
    }
}

veil_status chain_connect_all(devchain *dc)
{
    /* CometBFT opens these four, in this order (proxy/multi_app_conn.go). */
    TRY(connect_one(dc, "query", &dc->query));
    TRY(connect_one(dc, "snapshot", &dc->snap));
    TRY(connect_one(dc, "mempool", &dc->mem));
    return connect_one(dc, "consensus", &dc->cons);
}

void chain_ts_pb(Google__Protobuf__Timestamp *out, const cmt_timestamp *t)
{
    google__protobuf__timestamp__init(out);
    out->seconds = t->seconds;
    out->nanos = t->nanos;
}

/* CommitInfo / ExtendedCommitInfo for a block's last commit: our one validator with
 * the flag of its signature. */

void chain_commit_info_build(const devchain *dc, const cmt_commit *c, commit_info_pb *o)
{
    tendermint__abci__commit_info__init(&o->ci);
    tendermint__abci__extended_commit_info__init(&o->eci);
    o->ci.round = o->eci.round = c->round;
    size_t n = c->n_sigs < CMT_MAX_COMMIT_SIGS ? c->n_sigs : CMT_MAX_COMMIT_SIGS;
    for (size_t i = 0; i < n; i++) {
        const cmt_commit_sig *s = &c->sigs[i];
        tendermint__abci__validator__init(&o->vals[i]);
        o->vals[i].address = chain_bin(s->validator_address.b, s->validator_address.len);
        o->vals[i].power =
            s->validator_address.len == CMT_ADDRESS_LEN &&
                    memcmp(s->validator_address.b, dc->key.address, CMT_ADDRESS_LEN) == 0
                ? dc->val.voting_power
                : 0;
        tendermint__abci__vote_info__init(&o->votes[i]);
        o->votes[i].validator = &o->vals[i];
        o->votes[i].block_id_flag = (Tendermint__Types__BlockIDFlag)s->block_id_flag;
        tendermint__abci__extended_vote_info__init(&o->evotes[i]);
        o->evotes[i].validator = &o->vals[i];
        o->evotes[i].block_id_flag = (Tendermint__Types__BlockIDFlag)s->block_id_flag;
        o->vote_ptrs[i] = &o->votes[i];
        o->evote_ptrs[i] = &o->evotes[i];
    }
    o->ci.n_votes = o->eci.n_votes = n;
    o->ci.votes = o->vote_ptrs;
    o->eci.votes = o->evote_ptrs;
}

ProtobufCBinaryData *chain_txs_pb(const cmt_slice *txs, size_t n)
{
    ProtobufCBinaryData *b = calloc(n ? n : 1, sizeof *b);
    if (b == NULL) return NULL;
    for (size_t i = 0; i < n; i++) b[i] = chain_bin(txs[i].p, txs[i].len);
    return b;
}

/* FinalizeBlock for a block (fresh or replayed). */
veil_status chain_finalize_block(devchain *dc, const cmt_block *blk,
                                  const uint8_t hash[static CMT_HASH_LEN],
                                  Tendermint__Abci__Response **resp)
{
    Tendermint__Abci__RequestFinalizeBlock fb = TENDERMINT__ABCI__REQUEST_FINALIZE_BLOCK__INIT;
    commit_info_pb ci;
    Google__Protobuf__Timestamp ts;
    chain_commit_info_build(dc, &blk->last_commit, &ci);
    chain_ts_pb(&ts, &blk->header.time);
    fb.txs = chain_txs_pb(blk->txs, blk->n_txs);
    if (fb.txs == NULL) return VEIL_ERR_NOMEM;
    fb.n_txs = blk->n_txs;
    fb.decided_last_commit = &ci.ci;
    fb.hash = chain_bin(hash, CMT_HASH_LEN);
    fb.height = blk->header.height;
    fb.time = &ts;
    fb.next_validators_hash =
        chain_bin(blk->header.next_validators_hash.b, blk->header.next_validators_hash.len);
    fb.proposer_address = chain_bin(blk->header.proposer_address.b, blk->header.proposer_address.len);
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_FINALIZE_BLOCK;
    req.finalize_block = &fb;
    veil_status st = chain_abci_call(dc->cons, "FinalizeBlock", &req, resp);
    free(fb.txs);
    if (st != VEIL_OK) return st;
    const Tendermint__Abci__ResponseFinalizeBlock *r = (*resp)->finalize_block;
    if (r->n_tx_results != blk->n_txs) {
        abci_response_free(*resp);
        *resp = NULL;
        return chain_failf(VEIL_ERR_MALFORMED,
                     "FinalizeBlock at height %lld returned %zu tx results for %zu txs",
                     (long long)blk->header.height, r->n_tx_results, blk->n_txs);
    }
    if (r->app_hash.len > CMT_MAX_HASH_LEN) {
        abci_response_free(*resp);
        *resp = NULL;
        return chain_failf(VEIL_ERR_TOO_LARGE, "FinalizeBlock returned a %zu-byte app hash (limit %d)",
                     r->app_hash.len, CMT_MAX_HASH_LEN);
    }
    return VEIL_OK;
}

veil_status chain_results_hash_of(const Tendermint__Abci__ResponseFinalizeBlock *r,
                                   uint8_t out[static CMT_HASH_LEN])
{
    cmt_exec_result *er = calloc(r->n_tx_results ? r->n_tx_results : 1, sizeof *er);
    if (er == NULL) return VEIL_ERR_NOMEM;
    for (size_t i = 0; i < r->n_tx_results; i++) {
        const Tendermint__Abci__ExecTxResult *x = r->tx_results[i];
        er[i].code = x->code;
        er[i].data.p = x->data.data;
        er[i].data.len = x->data.len;
        er[i].gas_wanted = x->gas_wanted;
        er[i].gas_used = x->gas_used;
    }
    veil_status st = cmt_results_hash(er, r->n_tx_results, out);
    free(er);
    return st;
}

/* Stored results of a height, decoded. */
veil_status chain_load_results(devchain *dc, int64_t height,
                                Tendermint__Abci__ResponseFinalizeBlock **out)
{
    uint8_t *raw;
    size_t len;
    TRY(store_get(dc->store, STORE_RESULTS, height, &raw, &len));
    *out = tendermint__abci__response_finalize_block__unpack(NULL, len, raw);
    free(raw);
    return *out ? VEIL_OK : chain_failf(VEIL_ERR_DECODE, "stored results at height %lld do not decode",
                                  (long long)height);
}

veil_status devchain_load_block(devchain *dc, int64_t height, uint8_t **raw, cmt_block *blk,
                                cmt_block_id *id)
{
    size_t len;
    TRY(store_get(dc->store, STORE_BLOCK, height, raw, &len));
    veil_status st = cmt_decode_block(*raw, len, blk);
    if (st == VEIL_OK) {
        id->hash.len = CMT_HASH_LEN;
        st = cmt_header_hash(&blk->header, id->hash.b);
        if (st == VEIL_OK) st = cmt_part_set_header_of(*raw, len, &id->parts);
        if (st != VEIL_OK) cmt_block_free(blk);
    }
    if (st != VEIL_OK) {
        free(*raw);
        *raw = NULL;
    }
    return st;
}

veil_status chain_load_commit(devchain *dc, int64_t height, cmt_commit *c)
{
    uint8_t *raw;
    size_t len;
    TRY(store_get(dc->store, STORE_COMMIT, height, &raw, &len));
    veil_status st = cmt_decode_commit(raw, len, c);
    free(raw);
    return st;
}

/* Commit on the consensus connection, then bring the mempool in line with the new
 * app state: drop the block's txs, re-run CheckTx (RECHECK) on the rest and drop
 * those that now fail. The mempool connection is held throughout, so no CheckTx runs
 * against a half-committed app (CometBFT locks its mempool the same way). */
veil_status chain_commit_app(devchain *dc, const uint8_t (*hashes)[CMT_HASH_LEN], size_t n)
{
    pthread_mutex_lock(&dc->mem_mu);
    Tendermint__Abci__RequestCommit rc = TENDERMINT__ABCI__REQUEST_COMMIT__INIT;
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_COMMIT;
    req.commit = &rc;
    Tendermint__Abci__Response *resp = NULL;
    veil_status st = chain_abci_call(dc->cons, "Commit", &req, &resp);
    abci_response_free(resp);
    if (st == VEIL_OK && hashes != NULL) {
        mempool_update(dc->mp, hashes, n);
        mempool_batch rest;
        st = mempool_reap(dc->mp, -1, &rest);
        for (size_t i = 0; st == VEIL_OK && i < rest.n; i++) {
            Tendermint__Abci__RequestCheckTx ct = TENDERMINT__ABCI__REQUEST_CHECK_TX__INIT;
            ct.tx = chain_bin(rest.txs[i].p, rest.txs[i].len);
            ct.type = TENDERMINT__ABCI__CHECK_TX_TYPE__RECHECK;
            Tendermint__Abci__Request creq = TENDERMINT__ABCI__REQUEST__INIT;
            creq.value_case = TENDERMINT__ABCI__REQUEST__VALUE_CHECK_TX;
            creq.check_tx = &ct;
            Tendermint__Abci__Response *cresp = NULL;
            st = chain_abci_call(dc->mem, "CheckTx (recheck)", &creq, &cresp);
            if (st == VEIL_OK && cresp->check_tx->code != 0) mempool_remove(dc->mp, rest.hashes[i]);
            abci_response_free(cresp);
        }
        if (rest.txs != NULL) mempool_batch_free(&rest);
    }
    pthread_mutex_unlock(&dc->mem_mu);
    return st;
}

/* Publishes a stored-and-committed block to RPC readers. */
void chain_publish(devchain *dc, const store_state *st, const cmt_header *h,
                    const cmt_block_id *id, const cmt_commit *c, const ProtobufCBinaryData *app_hash,
                    const uint8_t results_hash[static CMT_HASH_LEN])
{
    pthread_mutex_lock(&dc->mu);
    dc->st = *st;
    dc->last_header = *h;
    dc->last_block_id = *id;
    dc->last_commit = *c;
    dc->app_hash.len = (uint8_t)app_hash->len;
    if (app_hash->len) memcpy(dc->app_hash.b, app_hash->data, app_hash->len);
    memcpy(dc->last_results_hash, results_hash, CMT_HASH_LEN);
    if (h->height == st->initial_height) {
        dc->first_header = *h;
        dc->first_block_id = *id;
    }
    dc->published++;
    pthread_cond_broadcast(&dc->cv);
    pthread_mutex_unlock(&dc->mu);
}

/* ---- consensus params from the app ---------------------------------------------------------- */

veil_status chain_apply_param_updates(store_state *st,
                                       const Tendermint__Types__ConsensusParams *cp, int64_t height)
{
    if (cp == NULL) return VEIL_OK;
    if (cp->block != NULL) {
        int64_t mb = cp->block->max_bytes, mg = cp->block->max_gas;
        if ((mb <= 0 && mb != -1) || mb > BLOCK_MAX_SIZE_BYTES || mg < -1)
            return chain_failf(VEIL_ERR_ARG,
                         "the app set invalid block params at height %lld (max_bytes %lld, "
                         "max_gas %lld)",
                         (long long)height, (long long)mb, (long long)mg);
        if (mb != -1 && mb <= BLOCK_OVERHEAD_ONE_VALIDATOR)
            return chain_failf(VEIL_ERR_ARG, "block max_bytes %lld leaves no room for txs",
                         (long long)mb);
        st->block_max_bytes = mb;
        st->block_max_gas = mg;
    }
    if (cp->version != NULL) st->app_version = cp->version->app;
    return VEIL_OK;
}

int64_t chain_max_data_bytes(int64_t block_max_bytes)
{
    int64_t mb = block_max_bytes == -1 ? BLOCK_MAX_SIZE_BYTES : block_max_bytes;
    return mb - BLOCK_OVERHEAD_ONE_VALIDATOR;
}

/* ---- lifecycle ------------------------------------------------------------------------------------------- */

static void sleep_ms(devchain *dc, int64_t ms)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (chain_stopping(dc)) return;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed >= ms) return;
        int64_t left = ms - elapsed;
        if (left > 50) left = 50;
        struct timespec d = {0, (long)left * 1000000};
        nanosleep(&d, NULL);
    }
}

static veil_status load_home(devchain *dc)
{
    char path[4096];
    TRY(veil_path_join(path, sizeof path, dc->cfg.home, "config/priv_validator_key.json"));
    veil_status st = privval_load(path, &dc->key);
    if (st != VEIL_OK) return chain_failf(st, "%s: %s (%s)", path, veil_status_str(st), veil_error_detail());
    TRY(veil_path_join(path, sizeof path, dc->cfg.home, "config/genesis.json"));
    st = genesis_load(path, &dc->gen);
    if (st != VEIL_OK) return chain_failf(st, "%s: %s", path, veil_error_detail());
    if (memcmp(dc->gen.validator.pub_key, dc->key.pub_key, CMT_PUBKEY_LEN) != 0)
        return chain_failf(VEIL_ERR_BAD_KEY, "genesis.json's validator is not the key in "
                                       "priv_validator_key.json: the dev chain cannot sign for it");
    if (dc->gen.vote_extensions_enable_height != 0)
        return chain_failf(VEIL_ERR_ARG, "genesis enables vote extensions, which the dev chain does "
                                   "not implement");
    dc->val = dc->gen.validator;
    TRY(cmt_validator_set_hash(&dc->val, 1, dc->valset_hash));
    /* Two producers on one store would fork the chain: the second one stops here. */
    TRY(veil_path_join(path, sizeof path, dc->cfg.home, "data"));
    TRY(veil_mkdir_p(path, 0700));
    TRY(veil_path_join(path, sizeof path, dc->cfg.home, "data/devchain.lock"));
    dc->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (dc->lock_fd < 0) return chain_failf(VEIL_ERR_IO, "%s: %s", path, strerror(errno));
    if (flock(dc->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return chain_failf(VEIL_ERR_EXISTS, "another veil devchain is running on %s", dc->cfg.home);
    TRY(veil_path_join(path, sizeof path, dc->cfg.home, "data/devchain"));
    st = veil_mkdir_p(path, 0700);
    if (st == VEIL_OK) st = store_open(path, &dc->store);
    if (st != VEIL_OK) return chain_failf(st, "%s: %s", path, veil_error_detail());
    return VEIL_OK;
}

veil_status devchain_run(const devchain_config *cfg, volatile sig_atomic_t *stop)
{
    TRY(veil_crypto_init());
    devchain *dc = calloc(1, sizeof *dc);
    if (dc == NULL) return VEIL_ERR_NOMEM;
    dc->cfg = *cfg;
    dc->stop = stop;
    dc->max_body = DEVCHAIN_BODY_OVERHEAD + cfg->mempool.max_tx_bytes;
    dc->lock_fd = -1;
    pthread_mutex_init(&dc->mem_mu, NULL);
    pthread_mutex_init(&dc->query_mu, NULL);
    pthread_mutex_init(&dc->chk_mu, NULL);
    pthread_cond_init(&dc->chk_cv, NULL);
    pthread_mutex_init(&dc->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* broadcast_tx_commit's deadline */
    pthread_cond_init(&dc->cv, &ca);
    pthread_condattr_destroy(&ca);

    veil_status st;
    char host[64];
    uint16_t port;
    /* A bad RPC address is a usage error: report it before touching the app. */
    st = rpc_parse_listen_addr(cfg->rpc_addr, host, sizeof host, &port);
    if (st != VEIL_OK) {
        st = chain_failf(st, "bad RPC address %s (want a loopback HOST:PORT)", cfg->rpc_addr);
        goto out;
    }
    TRY_OUT(load_home(dc));
    TRY_OUT(mempool_new(&cfg->mempool, &dc->mp));
    TRY_OUT(chain_connect_all(dc));
    TRY_OUT(chain_handshake(dc));
    if (chain_stopping(dc)) goto out;
    rpc_server_config rc = {.addr = cfg->rpc_addr, .max_body = dc->max_body,
                            .dispatch = devchain_dispatch, .ctx = dc};
    st = rpc_server_start(&rc, &dc->rpc);
    if (st != VEIL_OK) {
        st = chain_failf(st, "RPC on %s: %s", cfg->rpc_addr, veil_error_detail());
        goto out;
    }
    dc->rpc_port = rpc_server_port(dc->rpc);
    TRY_OUT(veil_pidfile_write(cfg->pid_file));
    devchain_log(dc, "chain %s at height %lld; RPC on 127.0.0.1:%u; block time %lld ms",
                 dc->gen.chain_id, (long long)dc->st.last_height, dc->rpc_port,
                 (long long)cfg->block_time_ms);
    while (!chain_stopping(dc)) {
        /* The block interval runs from a block's start, not from the end of its
         * production: a block that took 300 ms of a 1 s interval is followed 700 ms
         * later, and one that took longer than the interval at once. */
        uint64_t t0 = veil_monotonic_us();
        bool produced;
        TRY_OUT(chain_produce_block(dc, &produced));
        int64_t took = (int64_t)((veil_monotonic_us() - t0) / 1000u);
        int64_t interval = produced || cfg->create_empty_blocks ? cfg->block_time_ms : 50;
        if (took < interval) sleep_ms(dc, interval - took);
    }
    devchain_log(dc, "stopped at height %lld", (long long)dc->st.last_height);
out:
    /* Wake broadcast_tx_commit waiters so the RPC threads end promptly. */
    pthread_mutex_lock(&dc->mu);
    dc->exiting = true;
    pthread_cond_broadcast(&dc->cv);
    pthread_mutex_unlock(&dc->mu);
    rpc_server_stop(dc->rpc);
    abci_client_close(dc->cons);
    abci_client_close(dc->mem);
    abci_client_close(dc->query);
    abci_client_close(dc->snap);
    mempool_free(dc->mp);
    store_close(dc->store);
    if (dc->lock_fd >= 0) close(dc->lock_fd); /* releases the flock */
    genesis_free(&dc->gen);
    privval_wipe(&dc->key);
    pthread_mutex_destroy(&dc->mem_mu);
    pthread_mutex_destroy(&dc->query_mu);
    pthread_mutex_destroy(&dc->chk_mu);
    pthread_cond_destroy(&dc->chk_cv);
    pthread_mutex_destroy(&dc->mu);
    pthread_cond_destroy(&dc->cv);
    free(dc);
    return st;
}

