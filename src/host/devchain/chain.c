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
#include "host/devchain/cmt_hash.h"
#include "host/devchain/cmt_time.h"
#include "hostutil/fileio.h"

/* types.MaxDataBytes for one validator and no evidence (v0.38 block.go):
 * MaxOverheadForBlock 11 + MaxHeaderBytes 626 + MaxCommitBytes(1) = 94 + (109 + 2). */
#define BLOCK_OVERHEAD_ONE_VALIDATOR 842
#define BLOCK_MAX_SIZE_BYTES 104857600 /* types.MaxBlockSizeBytes, for max_bytes = -1 */

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
    fputs("devchain: ", dc->cfg.log);
    vfprintf(dc->cfg.log, fmt, ap);
    fputc('\n', dc->cfg.log);
    fflush(dc->cfg.log);
    va_end(ap);
}

/* Sets the detail text and returns st, for errors that stop the chain. */
static veil_status failf(veil_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static veil_status failf(veil_status st, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    veil_error_detail_set("%s", buf);
    return st;
}

static void hex_short(char out[17], const uint8_t *p, size_t n)
{
    static const char d[] = "0123456789ABCDEF";
    size_t m = n < 8 ? n : 8;
    for (size_t i = 0; i < m; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * m] = '\0';
}

static bool stopping(const devchain *dc) { return *dc->stop != 0; }

/* ---- ABCI plumbing ---------------------------------------------------------------------------- */

static ProtobufCBinaryData bin(const void *p, size_t n)
{
    ProtobufCBinaryData b = {n, (uint8_t *)(uintptr_t)p};
    return b;
}

static veil_status abci_call(abci_client *c, const char *what, Tendermint__Abci__Request *req,
                             Tendermint__Abci__Response **resp)
{
    veil_status st = abci_client_call(c, req, resp);
    if (st != VEIL_OK) {
        const char *exc = abci_client_last_exception(c);
        return failf(st, "ABCI %s: %s%s%s", what, veil_status_str(st), exc[0] ? ": " : "", exc);
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
        if (st == VEIL_ERR_ARG) return failf(st, "bad ABCI address %s", dc->cfg.abci_addr);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (waited >= dc->cfg.connect_wait_ms || stopping(dc))
            return failf(VEIL_ERR_NET, "cannot connect the %s connection to the app at %s (%s)",
                         name, dc->cfg.abci_addr, veil_error_detail());
        if (!said) {
            devchain_log(dc, "waiting for the app at %s", dc->cfg.abci_addr);
            said = true;
        }
        struct timespec d = {0, 100 * 1000 * 1000};
        nanosleep(&d, NULL);
    }
}

static veil_status connect_all(devchain *dc)
{
    /* CometBFT opens these four, in this order (proxy/multi_app_conn.go). */
    TRY(connect_one(dc, "query", &dc->query));
    TRY(connect_one(dc, "snapshot", &dc->snap));
    TRY(connect_one(dc, "mempool", &dc->mem));
    return connect_one(dc, "consensus", &dc->cons);
}

static void ts_pb(Google__Protobuf__Timestamp *out, const cmt_timestamp *t)
{
    google__protobuf__timestamp__init(out);
    out->seconds = t->seconds;
    out->nanos = t->nanos;
}

/* CommitInfo / ExtendedCommitInfo for a block's last commit: our one validator with
 * the flag of its signature. */
typedef struct commit_info_pb {
    Tendermint__Abci__CommitInfo ci;
    Tendermint__Abci__ExtendedCommitInfo eci;
    Tendermint__Abci__VoteInfo votes[CMT_MAX_COMMIT_SIGS];
    Tendermint__Abci__ExtendedVoteInfo evotes[CMT_MAX_COMMIT_SIGS];
    Tendermint__Abci__VoteInfo *vote_ptrs[CMT_MAX_COMMIT_SIGS];
    Tendermint__Abci__ExtendedVoteInfo *evote_ptrs[CMT_MAX_COMMIT_SIGS];
    Tendermint__Abci__Validator vals[CMT_MAX_COMMIT_SIGS];
} commit_info_pb;

static void commit_info_build(const devchain *dc, const cmt_commit *c, commit_info_pb *o)
{
    tendermint__abci__commit_info__init(&o->ci);
    tendermint__abci__extended_commit_info__init(&o->eci);
    o->ci.round = o->eci.round = c->round;
    size_t n = c->n_sigs < CMT_MAX_COMMIT_SIGS ? c->n_sigs : CMT_MAX_COMMIT_SIGS;
    for (size_t i = 0; i < n; i++) {
        const cmt_commit_sig *s = &c->sigs[i];
        tendermint__abci__validator__init(&o->vals[i]);
        o->vals[i].address = bin(s->validator_address.b, s->validator_address.len);
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

static ProtobufCBinaryData *txs_pb(const cmt_slice *txs, size_t n)
{
    ProtobufCBinaryData *b = calloc(n ? n : 1, sizeof *b);
    if (b == NULL) return NULL;
    for (size_t i = 0; i < n; i++) b[i] = bin(txs[i].p, txs[i].len);
    return b;
}

/* FinalizeBlock for a block (fresh or replayed). */
static veil_status finalize_block(devchain *dc, const cmt_block *blk,
                                  const uint8_t hash[static CMT_HASH_LEN],
                                  Tendermint__Abci__Response **resp)
{
    Tendermint__Abci__RequestFinalizeBlock fb = TENDERMINT__ABCI__REQUEST_FINALIZE_BLOCK__INIT;
    commit_info_pb ci;
    Google__Protobuf__Timestamp ts;
    commit_info_build(dc, &blk->last_commit, &ci);
    ts_pb(&ts, &blk->header.time);
    fb.txs = txs_pb(blk->txs, blk->n_txs);
    if (fb.txs == NULL) return VEIL_ERR_NOMEM;
    fb.n_txs = blk->n_txs;
    fb.decided_last_commit = &ci.ci;
    fb.hash = bin(hash, CMT_HASH_LEN);
    fb.height = blk->header.height;
    fb.time = &ts;
    fb.next_validators_hash =
        bin(blk->header.next_validators_hash.b, blk->header.next_validators_hash.len);
    fb.proposer_address = bin(blk->header.proposer_address.b, blk->header.proposer_address.len);
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_FINALIZE_BLOCK;
    req.finalize_block = &fb;
    veil_status st = abci_call(dc->cons, "FinalizeBlock", &req, resp);
    free(fb.txs);
    if (st != VEIL_OK) return st;
    const Tendermint__Abci__ResponseFinalizeBlock *r = (*resp)->finalize_block;
    if (r->n_tx_results != blk->n_txs) {
        abci_response_free(*resp);
        *resp = NULL;
        return failf(VEIL_ERR_MALFORMED,
                     "FinalizeBlock at height %lld returned %zu tx results for %zu txs",
                     (long long)blk->header.height, r->n_tx_results, blk->n_txs);
    }
    if (r->app_hash.len > CMT_MAX_HASH_LEN) {
        abci_response_free(*resp);
        *resp = NULL;
        return failf(VEIL_ERR_TOO_LARGE, "FinalizeBlock returned a %zu-byte app hash (limit %d)",
                     r->app_hash.len, CMT_MAX_HASH_LEN);
    }
    return VEIL_OK;
}

static veil_status results_hash_of(const Tendermint__Abci__ResponseFinalizeBlock *r,
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
static veil_status load_results(devchain *dc, int64_t height,
                                Tendermint__Abci__ResponseFinalizeBlock **out)
{
    uint8_t *raw;
    size_t len;
    TRY(store_get(dc->store, STORE_RESULTS, height, &raw, &len));
    *out = tendermint__abci__response_finalize_block__unpack(NULL, len, raw);
    free(raw);
    return *out ? VEIL_OK : failf(VEIL_ERR_DECODE, "stored results at height %lld do not decode",
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

static veil_status load_commit(devchain *dc, int64_t height, cmt_commit *c)
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
static veil_status commit_app(devchain *dc, const uint8_t (*hashes)[CMT_HASH_LEN], size_t n)
{
    pthread_mutex_lock(&dc->mem_mu);
    Tendermint__Abci__RequestCommit rc = TENDERMINT__ABCI__REQUEST_COMMIT__INIT;
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_COMMIT;
    req.commit = &rc;
    Tendermint__Abci__Response *resp = NULL;
    veil_status st = abci_call(dc->cons, "Commit", &req, &resp);
    abci_response_free(resp);
    if (st == VEIL_OK && hashes != NULL) {
        mempool_update(dc->mp, hashes, n);
        mempool_batch rest;
        st = mempool_reap(dc->mp, -1, &rest);
        for (size_t i = 0; st == VEIL_OK && i < rest.n; i++) {
            Tendermint__Abci__RequestCheckTx ct = TENDERMINT__ABCI__REQUEST_CHECK_TX__INIT;
            ct.tx = bin(rest.txs[i].p, rest.txs[i].len);
            ct.type = TENDERMINT__ABCI__CHECK_TX_TYPE__RECHECK;
            Tendermint__Abci__Request creq = TENDERMINT__ABCI__REQUEST__INIT;
            creq.value_case = TENDERMINT__ABCI__REQUEST__VALUE_CHECK_TX;
            creq.check_tx = &ct;
            Tendermint__Abci__Response *cresp = NULL;
            st = abci_call(dc->mem, "CheckTx (recheck)", &creq, &cresp);
            if (st == VEIL_OK && cresp->check_tx->code != 0) mempool_remove(dc->mp, rest.hashes[i]);
            abci_response_free(cresp);
        }
        if (rest.txs != NULL) mempool_batch_free(&rest);
    }
    pthread_mutex_unlock(&dc->mem_mu);
    return st;
}

/* Publishes a stored-and-committed block to RPC readers. */
static void publish(devchain *dc, const store_state *st, const cmt_header *h,
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

static veil_status apply_param_updates(store_state *st,
                                       const Tendermint__Types__ConsensusParams *cp, int64_t height)
{
    if (cp == NULL) return VEIL_OK;
    if (cp->block != NULL) {
        int64_t mb = cp->block->max_bytes, mg = cp->block->max_gas;
        if ((mb <= 0 && mb != -1) || mb > BLOCK_MAX_SIZE_BYTES || mg < -1)
            return failf(VEIL_ERR_ARG,
                         "the app set invalid block params at height %lld (max_bytes %lld, "
                         "max_gas %lld)",
                         (long long)height, (long long)mb, (long long)mg);
        if (mb != -1 && mb <= BLOCK_OVERHEAD_ONE_VALIDATOR)
            return failf(VEIL_ERR_ARG, "block max_bytes %lld leaves no room for txs",
                         (long long)mb);
        st->block_max_bytes = mb;
        st->block_max_gas = mg;
    }
    if (cp->version != NULL) st->app_version = cp->version->app;
    return VEIL_OK;
}

static int64_t max_data_bytes(int64_t block_max_bytes)
{
    int64_t mb = block_max_bytes == -1 ? BLOCK_MAX_SIZE_BYTES : block_max_bytes;
    return mb - BLOCK_OVERHEAD_ONE_VALIDATOR;
}

/* ---- handshake ---------------------------------------------------------------------------------- */

static bool validators_are_ours(const devchain *dc, Tendermint__Abci__ValidatorUpdate **v, size_t n)
{
    if (n != 1 || v[0]->pub_key == NULL) return false;
    const Tendermint__Crypto__PublicKey *pk = v[0]->pub_key;
    return pk->sum_case == TENDERMINT__CRYPTO__PUBLIC_KEY__SUM_ED25519 &&
           pk->ed25519.len == CMT_PUBKEY_LEN &&
           memcmp(pk->ed25519.data, dc->key.pub_key, CMT_PUBKEY_LEN) == 0 &&
           v[0]->power == dc->val.voting_power;
}

static veil_status init_chain(devchain *dc, store_state *st, bool fresh)
{
    const genesis_doc *g = &dc->gen;
    Google__Protobuf__Timestamp ts;
    ts_pb(&ts, &g->genesis_time);
    Tendermint__Types__BlockParams bp = TENDERMINT__TYPES__BLOCK_PARAMS__INIT;
    bp.max_bytes = g->block_max_bytes;
    bp.max_gas = g->block_max_gas;
    Google__Protobuf__Duration dur = GOOGLE__PROTOBUF__DURATION__INIT;
    dur.seconds = g->evidence_max_age_duration_ns / 1000000000;
    dur.nanos = (int32_t)(g->evidence_max_age_duration_ns % 1000000000);
    Tendermint__Types__EvidenceParams ep = TENDERMINT__TYPES__EVIDENCE_PARAMS__INIT;
    ep.max_age_num_blocks = g->evidence_max_age_num_blocks;
    ep.max_age_duration = &dur;
    ep.max_bytes = g->evidence_max_bytes;
    char ed[] = "ed25519";
    char *types[] = {ed};
    Tendermint__Types__ValidatorParams vp = TENDERMINT__TYPES__VALIDATOR_PARAMS__INIT;
    vp.n_pub_key_types = 1;
    vp.pub_key_types = types;
    Tendermint__Types__VersionParams verp = TENDERMINT__TYPES__VERSION_PARAMS__INIT;
    verp.app = g->version_app;
    Tendermint__Types__ABCIParams ap = TENDERMINT__TYPES__ABCIPARAMS__INIT;
    ap.vote_extensions_enable_height = g->vote_extensions_enable_height;
    Tendermint__Types__ConsensusParams cp = TENDERMINT__TYPES__CONSENSUS_PARAMS__INIT;
    cp.block = &bp;
    cp.evidence = &ep;
    cp.validator = &vp;
    cp.version = &verp;
    cp.abci = &ap;
    Tendermint__Crypto__PublicKey pk = TENDERMINT__CRYPTO__PUBLIC_KEY__INIT;
    pk.sum_case = TENDERMINT__CRYPTO__PUBLIC_KEY__SUM_ED25519;
    pk.ed25519 = bin(dc->key.pub_key, CMT_PUBKEY_LEN);
    Tendermint__Abci__ValidatorUpdate vu = TENDERMINT__ABCI__VALIDATOR_UPDATE__INIT;
    vu.pub_key = &pk;
    vu.power = dc->val.voting_power;
    Tendermint__Abci__ValidatorUpdate *vus[] = {&vu};
    char chain_id[CMT_MAX_CHAIN_ID_LEN + 1];
    memcpy(chain_id, g->chain_id, sizeof chain_id);
    Tendermint__Abci__RequestInitChain ic = TENDERMINT__ABCI__REQUEST_INIT_CHAIN__INIT;
    ic.time = &ts;
    ic.chain_id = chain_id;
    ic.consensus_params = &cp;
    ic.n_validators = 1;
    ic.validators = vus;
    ic.app_state_bytes = bin(g->app_state, g->app_state_len);
    ic.initial_height = g->initial_height;
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_INIT_CHAIN;
    req.init_chain = &ic;
    Tendermint__Abci__Response *resp = NULL;
    TRY(abci_call(dc->cons, "InitChain", &req, &resp));
    const Tendermint__Abci__ResponseInitChain *r = resp->init_chain;
    veil_status s = VEIL_OK;
    cmt_bytes init_hash;
    if (r->n_validators != 0 && !validators_are_ours(dc, r->validators, r->n_validators)) {
        s = failf(VEIL_ERR_ARG, "InitChain returned another validator set: the dev chain signs "
                                "alone, with the genesis key and power");
        goto out;
    }
    if (r->app_hash.len > CMT_MAX_HASH_LEN) {
        s = failf(VEIL_ERR_TOO_LARGE, "InitChain returned a %zu-byte app hash", r->app_hash.len);
        goto out;
    }
    init_hash = g->app_hash;
    if (r->app_hash.len > 0) {
        init_hash.len = (uint8_t)r->app_hash.len;
        memcpy(init_hash.b, r->app_hash.data, r->app_hash.len);
    }
    if (fresh) {
        st->init_app_hash = init_hash;
        s = apply_param_updates(st, r->consensus_params, g->initial_height);
        if (s == VEIL_OK) s = store_put_state(dc->store, st);
    } else if (init_hash.len != st->init_app_hash.len ||
               memcmp(init_hash.b, st->init_app_hash.b, init_hash.len) != 0) {
        char a[17], b[17];
        hex_short(a, init_hash.b, init_hash.len);
        hex_short(b, st->init_app_hash.b, st->init_app_hash.len);
        s = failf(VEIL_ERR_TVE_APP_HASH_MISMATCH,
                  "InitChain returned app hash %s..., but this chain started from %s...", a, b);
    }
out:
    abci_response_free(resp);
    return s;
}

/* FinalizeBlock + Commit of a stored block the app lacks; the app hash must come out
 * as it did the first time. */
static veil_status replay_block(devchain *dc, int64_t height)
{
    uint8_t *raw = NULL;
    cmt_block blk;
    cmt_block_id id;
    Tendermint__Abci__ResponseFinalizeBlock *stored = NULL;
    Tendermint__Abci__Response *resp = NULL;
    veil_status st;
    TRY(devchain_load_block(dc, height, &raw, &blk, &id));
    TRY_OUT(load_results(dc, height, &stored));
    TRY_OUT(finalize_block(dc, &blk, id.hash.b, &resp));
    const ProtobufCBinaryData *got = &resp->finalize_block->app_hash;
    if (got->len != stored->app_hash.len ||
        (got->len && memcmp(got->data, stored->app_hash.data, got->len) != 0)) {
        char a[17], b[17];
        hex_short(a, got->data, got->len);
        hex_short(b, stored->app_hash.data, stored->app_hash.len);
        st = failf(VEIL_ERR_TVE_APP_HASH_MISMATCH,
                   "replaying height %lld: the app computed app hash %s..., the chain recorded "
                   "%s... (the app's state diverged from its own blocks)",
                   (long long)height, a, b);
        goto out;
    }
    TRY_OUT(commit_app(dc, NULL, 0));
out:
    abci_response_free(resp);
    if (stored) tendermint__abci__response_finalize_block__free_unpacked(stored, NULL);
    cmt_block_free(&blk);
    free(raw);
    return st;
}

/* Loads the published state from the store after the handshake. */
static veil_status load_published(devchain *dc, const store_state *st)
{
    static const uint8_t empty_root[CMT_HASH_LEN] = {
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
        0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
        0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55}; /* SHA-256("") */
    dc->st = *st;
    dc->app_hash = st->init_app_hash;
    memcpy(dc->last_results_hash, empty_root, CMT_HASH_LEN);
    if (st->last_height == 0) return VEIL_OK;
    uint8_t *raw;
    cmt_block blk;
    TRY(devchain_load_block(dc, st->last_height, &raw, &blk, &dc->last_block_id));
    dc->last_header = blk.header;
    cmt_block_free(&blk);
    free(raw);
    TRY(load_commit(dc, st->last_height, &dc->last_commit));
    Tendermint__Abci__ResponseFinalizeBlock *r;
    TRY(load_results(dc, st->last_height, &r));
    veil_status s = results_hash_of(r, dc->last_results_hash);
    dc->app_hash.len = (uint8_t)r->app_hash.len;
    if (r->app_hash.len) memcpy(dc->app_hash.b, r->app_hash.data, r->app_hash.len);
    tendermint__abci__response_finalize_block__free_unpacked(r, NULL);
    TRY(s);
    TRY(devchain_load_block(dc, st->initial_height, &raw, &blk, &dc->first_block_id));
    dc->first_header = blk.header;
    cmt_block_free(&blk);
    free(raw);
    return VEIL_OK;
}

static veil_status handshake(devchain *dc)
{
    const genesis_doc *g = &dc->gen;
    char version[] = DEVCHAIN_VERSION, abci_version[] = "2.0.0";
    Tendermint__Abci__RequestInfo ri = TENDERMINT__ABCI__REQUEST_INFO__INIT;
    ri.version = version;
    ri.block_version = CMT_BLOCK_PROTOCOL;
    ri.p2p_version = DEVCHAIN_P2P_PROTOCOL;
    ri.abci_version = abci_version;
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_INFO;
    req.info = &ri;
    Tendermint__Abci__Response *resp = NULL;
    pthread_mutex_lock(&dc->query_mu);
    veil_status s = abci_call(dc->query, "Info", &req, &resp);
    pthread_mutex_unlock(&dc->query_mu);
    TRY(s);
    int64_t app_height = resp->info->last_block_height;
    cmt_bytes app_hash = {0, {0}};
    uint64_t app_version = resp->info->app_version;
    if (resp->info->last_block_app_hash.len <= CMT_MAX_HASH_LEN) {
        app_hash.len = (uint8_t)resp->info->last_block_app_hash.len;
        if (app_hash.len) memcpy(app_hash.b, resp->info->last_block_app_hash.data, app_hash.len);
    }
    abci_response_free(resp);
    if (app_height < 0) return failf(VEIL_ERR_ARG, "the app reports height %lld", (long long)app_height);

    store_state st;
    bool fresh = false;
    s = store_get_state(dc->store, &st);
    if (s == VEIL_ERR_NOT_FOUND) {
        fresh = true;
        memset(&st, 0, sizeof st);
        st.format = STORE_STATE_FORMAT;
        memcpy(st.genesis_hash, g->file_hash, CMT_HASH_LEN);
        st.initial_height = g->initial_height;
        st.init_app_hash = g->app_hash;
        st.block_max_bytes = g->block_max_bytes;
        st.block_max_gas = g->block_max_gas;
    } else if (s != VEIL_OK) {
        return s;
    } else if (memcmp(st.genesis_hash, g->file_hash, CMT_HASH_LEN) != 0) {
        return failf(VEIL_ERR_ARG, "config/genesis.json changed since this chain's block store "
                                   "(data/) was created; restore it, or remove data/ to start "
                                   "a new chain");
    }
    /* As CometBFT's Handshaker: the app's version goes into every later header. */
    st.app_version = app_version;
    int64_t store_height = st.last_height;
    devchain_log(dc, "handshake: app at height %lld, block store at height %lld",
                 (long long)app_height, (long long)store_height);

    if (app_height > store_height)
        return failf(VEIL_ERR_TVE_HEIGHT,
                     "the app is at height %lld but this chain's block store ends at %lld: the "
                     "app belongs to another chain, or data/ was removed under it (reset the "
                     "app's state too, or restore data/)",
                     (long long)app_height, (long long)store_height);
    if (app_height == 0) {
        TRY(init_chain(dc, &st, fresh));
    } else {
        /* The app committed app_height: its app hash must be the one we stored. */
        Tendermint__Abci__ResponseFinalizeBlock *r;
        TRY(load_results(dc, app_height, &r));
        bool same = r->app_hash.len == app_hash.len &&
                    (app_hash.len == 0 || memcmp(r->app_hash.data, app_hash.b, app_hash.len) == 0);
        tendermint__abci__response_finalize_block__free_unpacked(r, NULL);
        if (!same)
            return failf(VEIL_ERR_TVE_APP_HASH_MISMATCH,
                         "the app's app hash at height %lld differs from the one this chain "
                         "recorded: the app's state does not belong to this chain",
                         (long long)app_height);
    }
    if (!fresh) TRY(store_put_state(dc->store, &st)); /* app_version */
    int64_t from = app_height == 0 ? st.initial_height : app_height + 1;
    for (int64_t h = from; h <= store_height && !stopping(dc); h++) {
        TRY(replay_block(dc, h));
        devchain_log(dc, "replayed height %lld", (long long)h);
    }
    return load_published(dc, &st);
}

/* ---- block production ------------------------------------------------------------------------------- */

static veil_status prepare_proposal(devchain *dc, const mempool_batch *batch, int64_t height,
                                    const cmt_timestamp *btime, const cmt_commit *last_commit,
                                    int64_t max_data, Tendermint__Abci__Response **resp)
{
    Tendermint__Abci__RequestPrepareProposal pp = TENDERMINT__ABCI__REQUEST_PREPARE_PROPOSAL__INIT;
    commit_info_pb ci;
    Google__Protobuf__Timestamp ts;
    commit_info_build(dc, last_commit, &ci);
    ts_pb(&ts, btime);
    pp.max_tx_bytes = max_data;
    pp.txs = txs_pb(batch->txs, batch->n);
    if (pp.txs == NULL) return VEIL_ERR_NOMEM;
    pp.n_txs = batch->n;
    pp.local_last_commit = &ci.eci;
    pp.height = height;
    pp.time = &ts;
    pp.next_validators_hash = bin(dc->valset_hash, CMT_HASH_LEN);
    pp.proposer_address = bin(dc->key.address, CMT_ADDRESS_LEN);
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_PREPARE_PROPOSAL;
    req.prepare_proposal = &pp;
    veil_status st = abci_call(dc->cons, "PrepareProposal", &req, resp);
    free(pp.txs);
    return st;
}

static veil_status process_proposal(devchain *dc, const cmt_block *blk,
                                    const uint8_t hash[static CMT_HASH_LEN], bool *accepted)
{
    Tendermint__Abci__RequestProcessProposal pp = TENDERMINT__ABCI__REQUEST_PROCESS_PROPOSAL__INIT;
    commit_info_pb ci;
    Google__Protobuf__Timestamp ts;
    commit_info_build(dc, &blk->last_commit, &ci);
    ts_pb(&ts, &blk->header.time);
    pp.txs = txs_pb(blk->txs, blk->n_txs);
    if (pp.txs == NULL) return VEIL_ERR_NOMEM;
    pp.n_txs = blk->n_txs;
    pp.proposed_last_commit = &ci.ci;
    pp.hash = bin(hash, CMT_HASH_LEN);
    pp.height = blk->header.height;
    pp.time = &ts;
    pp.next_validators_hash = bin(dc->valset_hash, CMT_HASH_LEN);
    pp.proposer_address = bin(dc->key.address, CMT_ADDRESS_LEN);
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_PROCESS_PROPOSAL;
    req.process_proposal = &pp;
    Tendermint__Abci__Response *resp = NULL;
    veil_status st = abci_call(dc->cons, "ProcessProposal", &req, &resp);
    free(pp.txs);
    if (st == VEIL_OK)
        *accepted = resp->process_proposal->status ==
                    TENDERMINT__ABCI__RESPONSE_PROCESS_PROPOSAL__PROPOSAL_STATUS__ACCEPT;
    abci_response_free(resp);
    return st;
}

static size_t framed_size(size_t len)
{
    size_t v = 1;
    for (size_t x = len; x >= 0x80; x >>= 7) v++;
    return 1 + v + len;
}

/* Produces, stores, commits and publishes one block. *produced is false when there
 * was nothing to do (no empty blocks wanted) or the app rejected the proposal. */
static veil_status produce_block(devchain *dc, bool *produced)
{
    *produced = false;
    /* Only this thread writes the published state: reading it without mu is safe. */
    const store_state cur = dc->st;
    const bool initial = cur.last_height == 0;
    const int64_t height = initial ? cur.initial_height : cur.last_height + 1;

    if (!dc->cfg.create_empty_blocks && mempool_count(dc->mp) == 0) {
        /* CometBFT still makes the "proof block" that puts the last app hash into a
         * header, and the first block. */
        bool proof_needed = initial || dc->app_hash.len != dc->last_header.app_hash.len ||
                            memcmp(dc->app_hash.b, dc->last_header.app_hash.b, dc->app_hash.len) != 0;
        if (!proof_needed) return VEIL_OK;
    }

    veil_status st = VEIL_OK;
    mempool_batch batch = {0, NULL, NULL, NULL};
    Tendermint__Abci__Response *prep = NULL, *fin = NULL;
    cmt_slice *txs = NULL;
    uint8_t (*hashes)[CMT_HASH_LEN] = NULL;
    cmt_buf enc = {0}, commit_enc = {0}, sign_bytes = {0};
    uint8_t *results = NULL;

    cmt_block blk;
    memset(&blk, 0, sizeof blk);
    cmt_header *h = &blk.header;
    h->version_block = CMT_BLOCK_PROTOCOL;
    h->version_app = cur.app_version;
    memcpy(h->chain_id, dc->gen.chain_id, sizeof h->chain_id);
    h->height = height;
    /* BFT time: the first block carries genesis time, every later one the (weighted
     * median, here: only) timestamp of the previous block's commit. */
    h->time = initial ? dc->gen.genesis_time : dc->last_commit.sigs[0].timestamp;
    if (!initial) {
        h->last_block_id = dc->last_block_id;
        blk.last_commit = dc->last_commit;
    }
    blk.has_last_commit = true;

    if (initial) {
        /* As CometBFT: no block before genesis time. */
        cmt_timestamp now = cmt_time_now();
        if (cmt_time_cmp(&now, &dc->gen.genesis_time) < 0) {
            if (!dc->said_waiting) {
                devchain_log(dc, "waiting for genesis time");
                dc->said_waiting = true;
            }
            goto out;
        }
    }
    const int64_t max_data = max_data_bytes(cur.block_max_bytes);
    TRY_OUT(mempool_reap(dc->mp, max_data, &batch));
    TRY_OUT(prepare_proposal(dc, &batch, height, &h->time, &blk.last_commit, max_data, &prep));
    const Tendermint__Abci__ResponsePrepareProposal *pr = prep->prepare_proposal;
    size_t total = 0;
    txs = calloc(pr->n_txs ? pr->n_txs : 1, sizeof *txs);
    hashes = calloc(pr->n_txs ? pr->n_txs : 1, CMT_HASH_LEN);
    ENSURE_OUT(txs != NULL && hashes != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < pr->n_txs; i++) {
        txs[i].p = pr->txs[i].data ? pr->txs[i].data : (const uint8_t *)"";
        txs[i].len = pr->txs[i].len;
        cmt_tx_hash(txs[i].p, txs[i].len, hashes[i]);
        total += framed_size(txs[i].len);
    }
    if ((int64_t)total > max_data) {
        st = failf(VEIL_ERR_TOO_LARGE,
                   "PrepareProposal returned %zu bytes of txs at height %lld, above max_tx_bytes "
                   "%lld",
                   total, (long long)height, (long long)max_data);
        goto out;
    }
    blk.txs = txs;
    blk.n_txs = pr->n_txs;

    h->data_hash.len = h->last_commit_hash.len = h->evidence_hash.len = CMT_HASH_LEN;
    TRY_OUT(cmt_txs_hash(blk.txs, blk.n_txs, h->data_hash.b));
    TRY_OUT(cmt_commit_hash(&blk.last_commit, h->last_commit_hash.b));
    cmt_merkle_root(NULL, 0, h->evidence_hash.b); /* no evidence, ever */
    TRY_OUT(cmt_bytes_set(&h->validators_hash, dc->valset_hash, CMT_HASH_LEN));
    h->next_validators_hash = h->validators_hash;
    h->consensus_hash.len = CMT_HASH_LEN;
    cmt_consensus_params_hash(cur.block_max_bytes, cur.block_max_gas, h->consensus_hash.b);
    h->app_hash = dc->app_hash;
    TRY_OUT(cmt_bytes_set(&h->last_results_hash, dc->last_results_hash, CMT_HASH_LEN));
    TRY_OUT(cmt_bytes_set(&h->proposer_address, dc->key.address, CMT_ADDRESS_LEN));

    cmt_encode_block(&enc, &blk);
    TRY_OUT(cmt_buf_status(&enc));
    cmt_block_id id;
    memset(&id, 0, sizeof id);
    id.hash.len = CMT_HASH_LEN;
    TRY_OUT(cmt_header_hash(h, id.hash.b));
    TRY_OUT(cmt_part_set_header_of(enc.p, enc.len, &id.parts));

    bool accepted = false;
    TRY_OUT(process_proposal(dc, &blk, id.hash.b, &accepted));
    if (!accepted) {
        /* CometBFT would prevote nil and try again in a new round; so do we, at the
         * next tick. */
        devchain_log(dc, "the app rejected the proposal for height %lld; retrying",
                     (long long)height);
        goto out;
    }

    TRY_OUT(finalize_block(dc, &blk, id.hash.b, &fin));
    const Tendermint__Abci__ResponseFinalizeBlock *fr = fin->finalize_block;
    store_state next = cur;
    next.last_height = height;
    TRY_OUT(apply_param_updates(&next, fr->consensus_param_updates, height));
    if (fr->n_validator_updates != 0 && !dc->warned_validator_updates) {
        devchain_log(dc, "the app returned validator updates at height %lld: ignored (the dev "
                         "chain has one validator)",
                     (long long)height);
        dc->warned_validator_updates = true;
    }
    uint8_t results_hash[CMT_HASH_LEN];
    TRY_OUT(results_hash_of(fr, results_hash));

    /* Our precommit: a vote time after the block time (CometBFT's voteTime). */
    cmt_commit commit;
    memset(&commit, 0, sizeof commit);
    commit.height = height;
    commit.round = 0;
    commit.block_id = id;
    commit.n_sigs = 1;
    cmt_commit_sig *sig = &commit.sigs[0];
    sig->block_id_flag = CMT_FLAG_COMMIT;
    TRY_OUT(cmt_bytes_set(&sig->validator_address, dc->key.address, CMT_ADDRESS_LEN));
    sig->timestamp = cmt_time_now();
    cmt_timestamp min_ts = cmt_time_add_ms(&h->time, 1);
    if (cmt_time_cmp(&sig->timestamp, &min_ts) < 0) sig->timestamp = min_ts;
    cmt_vote_sign_bytes(&sign_bytes, h->chain_id, CMT_MSG_PRECOMMIT, height, 0, &id, &sig->timestamp);
    TRY_OUT(cmt_buf_status(&sign_bytes));
    privval_sign(&dc->key, sign_bytes.p, sign_bytes.len, sig->signature);
    sig->signature_len = CMT_SIGNATURE_LEN;
    cmt_encode_commit(&commit_enc, &commit);
    TRY_OUT(cmt_buf_status(&commit_enc));

    size_t rlen = tendermint__abci__response_finalize_block__get_packed_size(fr);
    results = malloc(rlen ? rlen : 1);
    ENSURE_OUT(results != NULL, VEIL_ERR_NOMEM);
    tendermint__abci__response_finalize_block__pack(fr, results);

    st = store_commit_block(dc->store, &next, height, enc.p, enc.len, commit_enc.p, commit_enc.len,
                            results, rlen, (const uint8_t(*)[CMT_HASH_LEN])hashes, blk.n_txs);
    if (st != VEIL_OK) {
        st = failf(st, "storing height %lld: %s", (long long)height, veil_error_detail());
        goto out;
    }
    TRY_OUT(commit_app(dc, (const uint8_t(*)[CMT_HASH_LEN])hashes, blk.n_txs));
    publish(dc, &next, h, &id, &commit, &fr->app_hash, results_hash);
    *produced = true;

    char bh[17], ah[17];
    hex_short(bh, id.hash.b, id.hash.len);
    hex_short(ah, fr->app_hash.data, fr->app_hash.len);
    devchain_log(dc, "committed height %lld hash %s... txs %zu app_hash %s...", (long long)height,
                 bh, blk.n_txs, ah);
out:
    abci_response_free(prep);
    abci_response_free(fin);
    mempool_batch_free(&batch);
    free(txs);
    free(hashes);
    free(results);
    cmt_buf_free(&enc);
    cmt_buf_free(&commit_enc);
    cmt_buf_free(&sign_bytes);
    return st;
}

/* ---- lifecycle ------------------------------------------------------------------------------------------- */

static void sleep_ms(devchain *dc, int64_t ms)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (stopping(dc)) return;
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
    if (st != VEIL_OK) return failf(st, "%s: %s (%s)", path, veil_status_str(st), veil_error_detail());
    TRY(veil_path_join(path, sizeof path, dc->cfg.home, "config/genesis.json"));
    st = genesis_load(path, &dc->gen);
    if (st != VEIL_OK) return failf(st, "%s: %s", path, veil_error_detail());
    if (memcmp(dc->gen.validator.pub_key, dc->key.pub_key, CMT_PUBKEY_LEN) != 0)
        return failf(VEIL_ERR_BAD_KEY, "genesis.json's validator is not the key in "
                                       "priv_validator_key.json: the dev chain cannot sign for it");
    if (dc->gen.vote_extensions_enable_height != 0)
        return failf(VEIL_ERR_ARG, "genesis enables vote extensions, which the dev chain does "
                                   "not implement");
    dc->val = dc->gen.validator;
    TRY(cmt_validator_set_hash(&dc->val, 1, dc->valset_hash));
    /* Two producers on one store would fork the chain: the second one stops here. */
    TRY(veil_path_join(path, sizeof path, dc->cfg.home, "data"));
    TRY(veil_mkdir_p(path, 0700));
    TRY(veil_path_join(path, sizeof path, dc->cfg.home, "data/devchain.lock"));
    dc->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (dc->lock_fd < 0) return failf(VEIL_ERR_IO, "%s: %s", path, strerror(errno));
    if (flock(dc->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return failf(VEIL_ERR_EXISTS, "another veil devchain is running on %s", dc->cfg.home);
    TRY(veil_path_join(path, sizeof path, dc->cfg.home, "data/devchain"));
    st = veil_mkdir_p(path, 0700);
    if (st == VEIL_OK) st = store_open(path, &dc->store);
    if (st != VEIL_OK) return failf(st, "%s: %s", path, veil_error_detail());
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
        st = failf(st, "bad RPC address %s (want a loopback HOST:PORT)", cfg->rpc_addr);
        goto out;
    }
    TRY_OUT(load_home(dc));
    TRY_OUT(mempool_new(&cfg->mempool, &dc->mp));
    TRY_OUT(connect_all(dc));
    TRY_OUT(handshake(dc));
    if (stopping(dc)) goto out;
    rpc_server_config rc = {.addr = cfg->rpc_addr, .max_body = dc->max_body,
                            .dispatch = devchain_dispatch, .ctx = dc};
    st = rpc_server_start(&rc, &dc->rpc);
    if (st != VEIL_OK) {
        st = failf(st, "RPC on %s: %s", cfg->rpc_addr, veil_error_detail());
        goto out;
    }
    dc->rpc_port = rpc_server_port(dc->rpc);
    devchain_log(dc, "chain %s at height %lld; RPC on 127.0.0.1:%u; block time %lld ms",
                 dc->gen.chain_id, (long long)dc->st.last_height, dc->rpc_port,
                 (long long)cfg->block_time_ms);
    while (!stopping(dc)) {
        bool produced;
        TRY_OUT(produce_block(dc, &produced));
        sleep_ms(dc, produced || cfg->create_empty_blocks ? cfg->block_time_ms : 50);
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
    pthread_mutex_destroy(&dc->mu);
    pthread_cond_destroy(&dc->cv);
    free(dc);
    return st;
}
