/* The dev chain's start-up handshake with the app: InitChain, replay of stored blocks the
 * app has not committed, and the published state (chain.c has the block order). */
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
    chain_ts_pb(&ts, &g->genesis_time);
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
    pk.ed25519 = chain_bin(dc->key.pub_key, CMT_PUBKEY_LEN);
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
    ic.app_state_bytes = chain_bin(g->app_state, g->app_state_len);
    ic.initial_height = g->initial_height;
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_INIT_CHAIN;
    req.init_chain = &ic;
    Tendermint__Abci__Response *resp = NULL;
    TRY(chain_abci_call(dc->cons, "InitChain", &req, &resp));
    const Tendermint__Abci__ResponseInitChain *r = resp->init_chain;
    veil_status s = VEIL_OK;
    cmt_bytes init_hash;
    if (r->n_validators != 0 && !validators_are_ours(dc, r->validators, r->n_validators)) {
        s = chain_failf(VEIL_ERR_ARG, "InitChain returned another validator set: the dev chain signs "
                                "alone, with the genesis key and power");
        goto out;
    }
    if (r->app_hash.len > CMT_MAX_HASH_LEN) {
        s = chain_failf(VEIL_ERR_TOO_LARGE, "InitChain returned a %zu-byte app hash", r->app_hash.len);
        goto out;
    }
    init_hash = g->app_hash;
    if (r->app_hash.len > 0) {
        init_hash.len = (uint8_t)r->app_hash.len;
        memcpy(init_hash.b, r->app_hash.data, r->app_hash.len);
    }
    if (fresh) {
        st->init_app_hash = init_hash;
        s = chain_apply_param_updates(st, r->consensus_params, g->initial_height);
        if (s == VEIL_OK) s = store_put_state(dc->store, st);
    } else if (init_hash.len != st->init_app_hash.len ||
               memcmp(init_hash.b, st->init_app_hash.b, init_hash.len) != 0) {
        char a[17], b[17];
        chain_hex_short(a, init_hash.b, init_hash.len);
        chain_hex_short(b, st->init_app_hash.b, st->init_app_hash.len);
        s = chain_failf(VEIL_ERR_TVE_APP_HASH_MISMATCH,
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
    TRY_OUT(chain_load_results(dc, height, &stored));
    TRY_OUT(chain_finalize_block(dc, &blk, id.hash.b, &resp));
    const ProtobufCBinaryData *got = &resp->finalize_block->app_hash;
    if (got->len != stored->app_hash.len ||
        (got->len && memcmp(got->data, stored->app_hash.data, got->len) != 0)) {
        char a[17], b[17];
        chain_hex_short(a, got->data, got->len);
        chain_hex_short(b, stored->app_hash.data, stored->app_hash.len);
        st = chain_failf(VEIL_ERR_TVE_APP_HASH_MISMATCH,
                   "replaying height %lld: the app computed app hash %s..., the chain recorded "
                   "%s... (the app's state diverged from its own blocks)",
                   (long long)height, a, b);
        goto out;
    }
    TRY_OUT(chain_commit_app(dc, NULL, 0));
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
    TRY(chain_load_commit(dc, st->last_height, &dc->last_commit));
    Tendermint__Abci__ResponseFinalizeBlock *r;
    TRY(chain_load_results(dc, st->last_height, &r));
    veil_status s = chain_results_hash_of(r, dc->last_results_hash);
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

veil_status chain_handshake(devchain *dc)
{
    const genesis_doc *g = &dc->gen;
    Tendermint__Abci__RequestInfo ri;
    Tendermint__Abci__Request req;
    chain_info_request(&req, &ri);
    Tendermint__Abci__Response *resp = NULL;
    pthread_mutex_lock(&dc->query_mu);
    veil_status s = chain_abci_call(dc->query, "Info", &req, &resp);
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
    if (app_height < 0) return chain_failf(VEIL_ERR_ARG, "the app reports height %lld", (long long)app_height);

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
        return chain_failf(VEIL_ERR_ARG, "config/genesis.json changed since this chain's block store "
                                   "(data/) was created; restore it, or remove data/ to start "
                                   "a new chain");
    }
    /* As CometBFT's Handshaker: the app's version goes into every later header. */
    st.app_version = app_version;
    int64_t store_height = st.last_height;
    devchain_log(dc, "handshake: app at height %lld, block store at height %lld",
                 (long long)app_height, (long long)store_height);

    if (app_height > store_height)
        return chain_failf(VEIL_ERR_TVE_HEIGHT,
                     "the app is at height %lld but this chain's block store ends at %lld: the "
                     "app belongs to another chain, or data/ was removed under it (reset the "
                     "app's state too, or restore data/)",
                     (long long)app_height, (long long)store_height);
    if (app_height == 0) {
        TRY(init_chain(dc, &st, fresh));
    } else {
        /* The app committed app_height: its app hash must be the one we stored. */
        Tendermint__Abci__ResponseFinalizeBlock *r;
        TRY(chain_load_results(dc, app_height, &r));
        bool same = r->app_hash.len == app_hash.len &&
                    (app_hash.len == 0 || memcmp(r->app_hash.data, app_hash.b, app_hash.len) == 0);
        tendermint__abci__response_finalize_block__free_unpacked(r, NULL);
        if (!same)
            return chain_failf(VEIL_ERR_TVE_APP_HASH_MISMATCH,
                         "the app's app hash at height %lld differs from the one this chain "
                         "recorded: the app's state does not belong to this chain",
                         (long long)app_height);
    }
    if (!fresh) TRY(store_put_state(dc->store, &st)); /* app_version */
    int64_t from = app_height == 0 ? st.initial_height : app_height + 1;
    for (int64_t h = from; h <= store_height && !chain_stopping(dc); h++) {
        TRY(replay_block(dc, h));
        devchain_log(dc, "replayed height %lld", (long long)h);
    }
    return load_published(dc, &st);
}

