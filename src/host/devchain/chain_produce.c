/* The dev chain's block production: propose, ProcessProposal, FinalizeBlock, sign, store,
 * Commit and publish (chain.c has the order and its crash safety). */
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

/* ---- block production ------------------------------------------------------------------------------- */

static veil_status prepare_proposal(devchain *dc, const mempool_batch *batch, int64_t height,
                                    const cmt_timestamp *btime, const cmt_commit *last_commit,
                                    int64_t max_data, Tendermint__Abci__Response **resp)
{
    Tendermint__Abci__RequestPrepareProposal pp = TENDERMINT__ABCI__REQUEST_PREPARE_PROPOSAL__INIT;
    commit_info_pb ci;
    Google__Protobuf__Timestamp ts;
    chain_commit_info_build(dc, last_commit, &ci);
    chain_ts_pb(&ts, btime);
    pp.max_tx_bytes = max_data;
    pp.txs = chain_txs_pb(batch->txs, batch->n);
    if (pp.txs == NULL) return VEIL_ERR_NOMEM;
    pp.n_txs = batch->n;
    pp.local_last_commit = &ci.eci;
    pp.height = height;
    pp.time = &ts;
    pp.next_validators_hash = chain_bin(dc->valset_hash, CMT_HASH_LEN);
    pp.proposer_address = chain_bin(dc->key.address, CMT_ADDRESS_LEN);
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_PREPARE_PROPOSAL;
    req.prepare_proposal = &pp;
    veil_status st = chain_abci_call(dc->cons, "PrepareProposal", &req, resp);
    free(pp.txs);
    return st;
}

static veil_status process_proposal(devchain *dc, const cmt_block *blk,
                                    const uint8_t hash[static CMT_HASH_LEN], bool *accepted)
{
    Tendermint__Abci__RequestProcessProposal pp = TENDERMINT__ABCI__REQUEST_PROCESS_PROPOSAL__INIT;
    commit_info_pb ci;
    Google__Protobuf__Timestamp ts;
    chain_commit_info_build(dc, &blk->last_commit, &ci);
    chain_ts_pb(&ts, &blk->header.time);
    pp.txs = chain_txs_pb(blk->txs, blk->n_txs);
    if (pp.txs == NULL) return VEIL_ERR_NOMEM;
    pp.n_txs = blk->n_txs;
    pp.proposed_last_commit = &ci.ci;
    pp.hash = chain_bin(hash, CMT_HASH_LEN);
    pp.height = blk->header.height;
    pp.time = &ts;
    pp.next_validators_hash = chain_bin(dc->valset_hash, CMT_HASH_LEN);
    pp.proposer_address = chain_bin(dc->key.address, CMT_ADDRESS_LEN);
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_PROCESS_PROPOSAL;
    req.process_proposal = &pp;
    Tendermint__Abci__Response *resp = NULL;
    veil_status st = chain_abci_call(dc->cons, "ProcessProposal", &req, &resp);
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
/* Step 2 of a block: the header's hashes over what the proposal holds and the state it
 * builds on (data, last commit, evidence, validators, consensus params, app hash, last
 * results, proposer). */
static veil_status header_hashes(devchain *dc, const store_state *cur, cmt_block *blk)
{
    cmt_header *h = &blk->header;
    h->data_hash.len = h->last_commit_hash.len = h->evidence_hash.len = CMT_HASH_LEN;
    TRY(cmt_txs_hash(blk->txs, blk->n_txs, h->data_hash.b));
    TRY(cmt_commit_hash(&blk->last_commit, h->last_commit_hash.b));
    cmt_merkle_root(NULL, 0, h->evidence_hash.b); /* no evidence, ever */
    TRY(cmt_bytes_set(&h->validators_hash, dc->valset_hash, CMT_HASH_LEN));
    h->next_validators_hash = h->validators_hash;
    h->consensus_hash.len = CMT_HASH_LEN;
    cmt_consensus_params_hash(cur->block_max_bytes, cur->block_max_gas, h->consensus_hash.b);
    h->app_hash = dc->app_hash;
    TRY(cmt_bytes_set(&h->last_results_hash, dc->last_results_hash, CMT_HASH_LEN));
    return cmt_bytes_set(&h->proposer_address, dc->key.address, CMT_ADDRESS_LEN);
}

/* Step 4: our precommit for the block and its encoding: a vote time after the block
 * time (CometBFT's voteTime). */
static veil_status precommit_sign(devchain *dc, const cmt_header *h, const cmt_block_id *id,
                                  cmt_commit *commit, cmt_buf *commit_enc)
{
    cmt_buf sign_bytes = {0};
    veil_status st = VEIL_OK;
    memset(commit, 0, sizeof *commit);
    commit->height = h->height;
    commit->round = 0;
    commit->block_id = *id;
    commit->n_sigs = 1;
    cmt_commit_sig *sig = &commit->sigs[0];
    sig->block_id_flag = CMT_FLAG_COMMIT;
    TRY(cmt_bytes_set(&sig->validator_address, dc->key.address, CMT_ADDRESS_LEN));
    sig->timestamp = cmt_time_now();
    cmt_timestamp min_ts = cmt_time_add_ms(&h->time, 1);
    if (cmt_time_cmp(&sig->timestamp, &min_ts) < 0) sig->timestamp = min_ts;
    cmt_vote_sign_bytes(&sign_bytes, h->chain_id, CMT_MSG_PRECOMMIT, h->height, 0, id,
                        &sig->timestamp);
    TRY_OUT(cmt_buf_status(&sign_bytes));
    privval_sign(&dc->key, sign_bytes.p, sign_bytes.len, sig->signature);
    sig->signature_len = CMT_SIGNATURE_LEN;
    cmt_encode_commit(commit_enc, commit);
    st = cmt_buf_status(commit_enc);
out:
    cmt_buf_free(&sign_bytes);
    return st;
}

/* One block: (1) reap and PrepareProposal, (2) header, (3) ProcessProposal, then
 * FinalizeBlock, (4) precommit, (5) one store transaction, Commit, publish. */
veil_status chain_produce_block(devchain *dc, bool *produced)
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
    cmt_buf enc = {0}, commit_enc = {0};
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
    const int64_t max_data = chain_max_data_bytes(cur.block_max_bytes);
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
        st = chain_failf(VEIL_ERR_TOO_LARGE,
                   "PrepareProposal returned %zu bytes of txs at height %lld, above max_tx_bytes "
                   "%lld",
                   total, (long long)height, (long long)max_data);
        goto out;
    }
    blk.txs = txs;
    blk.n_txs = pr->n_txs;

    TRY_OUT(header_hashes(dc, &cur, &blk));

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

    TRY_OUT(chain_finalize_block(dc, &blk, id.hash.b, &fin));
    const Tendermint__Abci__ResponseFinalizeBlock *fr = fin->finalize_block;
    store_state next = cur;
    next.last_height = height;
    TRY_OUT(chain_apply_param_updates(&next, fr->consensus_param_updates, height));
    if (fr->n_validator_updates != 0 && !dc->warned_validator_updates) {
        devchain_log(dc, "the app returned validator updates at height %lld: ignored (the dev "
                         "chain has one validator)",
                     (long long)height);
        dc->warned_validator_updates = true;
    }
    uint8_t results_hash[CMT_HASH_LEN];
    TRY_OUT(chain_results_hash_of(fr, results_hash));

    cmt_commit commit;
    TRY_OUT(precommit_sign(dc, h, &id, &commit, &commit_enc));

    size_t rlen = tendermint__abci__response_finalize_block__get_packed_size(fr);
    results = malloc(rlen ? rlen : 1);
    ENSURE_OUT(results != NULL, VEIL_ERR_NOMEM);
    tendermint__abci__response_finalize_block__pack(fr, results);

    st = store_commit_block(dc->store, &next, height, enc.p, enc.len, commit_enc.p, commit_enc.len,
                            results, rlen, (const uint8_t(*)[CMT_HASH_LEN])hashes, blk.n_txs);
    if (st != VEIL_OK) {
        st = chain_failf(st, "storing height %lld: %s", (long long)height, veil_error_detail());
        goto out;
    }
    TRY_OUT(chain_commit_app(dc, (const uint8_t(*)[CMT_HASH_LEN])hashes, blk.n_txs));
    chain_publish(dc, &next, h, &id, &commit, &fr->app_hash, results_hash);
    *produced = true;

    char bh[17], ah[17];
    chain_hex_short(bh, id.hash.b, id.hash.len);
    chain_hex_short(ah, fr->app_hash.data, fr->app_hash.len);
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
    return st;
}

