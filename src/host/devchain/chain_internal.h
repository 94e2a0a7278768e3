/* Internal state of a running dev chain, shared by chain.c (handshake, block
 * production) and rpc_methods.c (the JSON-RPC handlers). Not part of the API. */
#ifndef VEIL_HOST_DEVCHAIN_CHAIN_INTERNAL_H
#define VEIL_HOST_DEVCHAIN_CHAIN_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "host/abci/abci_client.h"
#include "host/devchain/cmt_types.h"
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

#endif
