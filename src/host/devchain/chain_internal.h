/* Internal state of a running dev chain, shared by chain.c (handshake, block
 * production) and rpc_methods.c (the JSON-RPC handlers). Not part of the API. */
#ifndef VEIL_HOST_DEVCHAIN_CHAIN_INTERNAL_H
#define VEIL_HOST_DEVCHAIN_CHAIN_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "host/abci/abci_client.h"
#include "trusted/cmt/cmt_types.h"
#include "host/devchain/devchain.h"
#include "host/devchain/genesis.h"
#include "host/devchain/mempool.h"
#include "host/devchain/privval.h"
#include "host/devchain/rpc_request.h"
#include "host/devchain/rpc_server.h"
#include "host/devchain/store.h"

#define DEVCHAIN_VERSION "0.38.0-veil-devchain" /* what status reports as node version */
#define DEVCHAIN_P2P_PROTOCOL 8u

typedef struct devchain {
    devchain_config cfg;
    volatile sig_atomic_t *stop;
    size_t max_body;

    privval_key key;
    genesis_doc gen;
    cmt_validator val;
    uint8_t valset_hash[CMT_HASH_LEN];

    devchain_store *store;
    int lock_fd; /* flock on HOME/data/devchain.lock: one producer per home */
    mempool *mp;
    abci_client *cons, *mem, *query, *snap;
    pthread_mutex_t mem_mu;   /* the mempool connection; held across Commit + recheck */
    pthread_mutex_t query_mu; /* the query connection */
    /* CheckTx requests of RPC threads waiting to be sent together (checktx.c). */
    pthread_mutex_t chk_mu;
    pthread_cond_t chk_cv;
    struct check_waiter *chk_head, *chk_tail;
    bool chk_leader; /* an RPC thread is sending a batch */
    rpc_server *rpc;
    _Atomic unsigned rpc_port; /* set once the server is up (status reports it) */

    /* Published chain state: written by the producer, read by RPC threads; all under
     * mu. "Published" = stored AND committed by the app. */
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled after every published block */
    store_state st;
    cmt_header last_header; /* valid when st.last_height > 0 */
    cmt_block_id last_block_id;
    cmt_commit last_commit;
    cmt_bytes app_hash; /* after the last block (goes into the next header) */
    uint8_t last_results_hash[CMT_HASH_LEN];
    cmt_header first_header; /* the block at the initial height, when it exists */
    cmt_block_id first_block_id;
    uint64_t published; /* blocks published since start */
    bool exiting;       /* devchain_run is shutting down: waiters give up */
    bool warned_validator_updates;
    bool said_waiting;
} devchain;

/* The RPC dispatcher (rpc_methods.c). */
veil_status devchain_dispatch(void *ctx, const rpc_method_spec *m, const rpc_args *args,
                              json_t **result, rpc_error *err);

/* Loads the stored block at height with its id; raw holds the bytes blk points into
 * (free both with free(raw) and cmt_block_free). */
VEIL_MUST_CHECK veil_status devchain_load_block(devchain *dc, int64_t height, uint8_t **raw,
                                                cmt_block *blk, cmt_block_id *id);

/* Formats a log line (no secrets, no tx contents). */
void devchain_log(devchain *dc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));


/* --- shared by chain.c (ABCI plumbing, lifecycle), chain_handshake.c and
 * chain_produce.c ------------------------------------------------------------------ */
/* types.MaxDataBytes for one validator and no evidence (v0.38 block.go):
 * MaxOverheadForBlock 11 + MaxHeaderBytes 626 + MaxCommitBytes(1) = 94 + (109 + 2). */
#define BLOCK_OVERHEAD_ONE_VALIDATOR 842
#define BLOCK_MAX_SIZE_BYTES 104857600 /* types.MaxBlockSizeBytes, for max_bytes = -1 */

typedef struct commit_info_pb {
    Tendermint__Abci__CommitInfo ci;
    Tendermint__Abci__ExtendedCommitInfo eci;
    Tendermint__Abci__VoteInfo votes[CMT_MAX_COMMIT_SIGS];
    Tendermint__Abci__ExtendedVoteInfo evotes[CMT_MAX_COMMIT_SIGS];
    Tendermint__Abci__VoteInfo *vote_ptrs[CMT_MAX_COMMIT_SIGS];
    Tendermint__Abci__ExtendedVoteInfo *evote_ptrs[CMT_MAX_COMMIT_SIGS];
    Tendermint__Abci__Validator vals[CMT_MAX_COMMIT_SIGS];
} commit_info_pb;

void chain_hex_short(char out[17], const uint8_t *p, size_t n);
veil_status chain_load_commit(devchain *dc, int64_t height, cmt_commit *c);
veil_status chain_connect_all(devchain *dc);
veil_status chain_apply_param_updates(store_state *st,
                                       const Tendermint__Types__ConsensusParams *cp, int64_t height);
veil_status chain_failf(veil_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
veil_status chain_finalize_block(devchain *dc, const cmt_block *blk,
                                  const uint8_t hash[static CMT_HASH_LEN],
                                  Tendermint__Abci__Response **resp);
veil_status chain_produce_block(devchain *dc, bool *produced);
void chain_ts_pb(Google__Protobuf__Timestamp *out, const cmt_timestamp *t);
void chain_commit_info_build(const devchain *dc, const cmt_commit *c, commit_info_pb *o);
veil_status chain_commit_app(devchain *dc, const uint8_t (*hashes)[CMT_HASH_LEN], size_t n);
ProtobufCBinaryData *chain_txs_pb(const cmt_slice *txs, size_t n);
bool chain_stopping(const devchain *dc);
int64_t chain_max_data_bytes(int64_t block_max_bytes);
void chain_publish(devchain *dc, const store_state *st, const cmt_header *h,
                    const cmt_block_id *id, const cmt_commit *c, const ProtobufCBinaryData *app_hash,
                    const uint8_t results_hash[static CMT_HASH_LEN]);
veil_status chain_handshake(devchain *dc);
veil_status chain_results_hash_of(const Tendermint__Abci__ResponseFinalizeBlock *r,
                                   uint8_t out[static CMT_HASH_LEN]);
veil_status chain_abci_call(abci_client *c, const char *what, Tendermint__Abci__Request *req,
                             Tendermint__Abci__Response **resp);
veil_status chain_load_results(devchain *dc, int64_t height,
                                Tendermint__Abci__ResponseFinalizeBlock **out);
ProtobufCBinaryData chain_bin(const void *p, size_t n);


/* A consistent view of the published chain, taken under the lock. */
typedef struct snapshot {
    store_state st;
    cmt_header last_header, first_header;
    cmt_block_id last_block_id, first_block_id;
    uint64_t published;
} snapshot;

/* shared with rpc_render.c */
json_t *rpc_b64pb(ProtobufCBinaryData b);
json_t *rpc_events_json(Tendermint__Abci__Event **ev, size_t n, bool null_if_empty);
json_t *rpc_exec_result_json(const Tendermint__Abci__ExecTxResult *r);
json_t *rpc_check_tx_json(const Tendermint__Abci__ResponseCheckTx *r);
json_t *rpc_validator_updates_json(Tendermint__Abci__ValidatorUpdate **v, size_t n);
json_t *rpc_params_json(const Tendermint__Types__ConsensusParams *p);
void rpc_take_snapshot(devchain *dc, snapshot *s);
int64_t rpc_base_height(const snapshot *s);
veil_status rpc_resolve_height_upto(const snapshot *s, const rpc_args *a, size_t i,
                                       int64_t latest, int64_t *out, rpc_error *err);
veil_status rpc_resolve_height(const snapshot *s, const rpc_args *a, size_t i, int64_t *out,
                                  rpc_error *err);
veil_status rpc_load_results(devchain *dc, int64_t height,
                                Tendermint__Abci__ResponseFinalizeBlock **out, rpc_error *err);
veil_status rpc_internal(rpc_error *err, const char *fmt, ...);

/* The Info request CometBFT sends (its versions), into *req and *ri. */
void chain_info_request(Tendermint__Abci__Request *req, Tendermint__Abci__RequestInfo *ri);

/* CheckTx(NEW) of one tx through the mempool connection, sent together with the
 * requests other RPC threads make meanwhile (checktx.c); on code 0 the tx enters the
 * mempool (mempool_add), otherwise its check-in is forgotten. *resp: the app's answer
 * (abci_response_free). Errors: the connection failed or answered out of order. */
VEIL_MUST_CHECK veil_status devchain_check_tx(devchain *dc, const uint8_t *tx, size_t len,
                                              const uint8_t hash[static CMT_HASH_LEN],
                                              Tendermint__Abci__Response **resp);

#endif
