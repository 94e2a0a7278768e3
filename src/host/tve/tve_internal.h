/* Internals shared by the TVE service's files (tve_service.c, tve_block.c,
 * tve_staging.c, tve_pool.c). Not an API. */
#ifndef VEIL_HOST_TVE_INTERNAL_H
#define VEIL_HOST_TVE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "host/tve/tve_service.h"
#include "host/tve/tve_store.h"
#include "hostutil/keymap.h"
#include "hostutil/pb_arena.h"
#include "tee/tee.h"
#include "trusted/tve/tve_abi.h"
#include "trusted/tx/tx.h"
#include "veil/tve.pb-c.h"
#include "veil/tve_enclave.pb-c.h"

/* --- staging: the block being built ------------------------------------------------ */
typedef struct tve_staged {
    uint8_t txid[TVE_TXID_LEN];
    uint32_t index; /* position among the block's confidential txs */
    uint8_t *sealed;
    size_t sealed_len;
    uint8_t (*spends)[TVE_OUTPOINT_LEN];
    size_t n_spends;
    uint8_t *outcome; /* TxOutcome encoding */
    size_t outcome_len;
} tve_staged;

typedef struct tve_staging {
    uint64_t height; /* the block being built (last committed + 1); 0: nothing staged */
    bool closed;     /* end-block has returned the bloom: no more verify-tx DELIVER */
    bool have_bloom;
    uint8_t bloom[TVE_BLOOM_LEN];
    tve_staged *txs; /* ordered by index once a request completes */
    size_t n, cap;
    veil_keymap by_txid; /* txid -> position in txs */
    veil_keymap spends;  /* outpoint -> index of the staged tx consuming it */
    /* The verdict (0 or a status code) of each tx the block's verify-block asked about,
     * kept in the block record so a replay answers the same; n_codes 0: not known (a
     * block built by verify-tx). */
    uint32_t *codes;
    size_t n_codes;
} tve_staging;

void tve_staging_init(tve_staging *g);
void tve_staging_free(tve_staging *g);
/* Drops every staged tx; height becomes 0. */
void tve_staging_reset(tve_staging *g);
/* Appends a validated tx: copies sealed, outcome and the outpoints in `inputs`. On
 * failure (out of memory, more than TVE_BLOCK_MAX_TXS) the indexes may be left
 * inconsistent: the caller resets the staging. */
VEIL_MUST_CHECK veil_status tve_staging_add(tve_staging *g, uint32_t index,
                                            const uint8_t txid[static TVE_TXID_LEN],
                                            const uint8_t *sealed, size_t sealed_len,
                                            const uint8_t *outcome, size_t outcome_len,
                                            const veil_tx_outpoint *inputs, size_t n_inputs);
/* Records the block's verdicts, taking `codes` (malloc'ed, n of them). */
void tve_staging_take_codes(tve_staging *g, uint32_t *codes, size_t n);
/* Puts txs back in block order after a batch added them wave by wave. */
VEIL_MUST_CHECK veil_status tve_staging_sort(tve_staging *g);
/* The staged tx with this txid and index below `visible`, or NULL. */
const tve_staged *tve_staging_find(const tve_staging *g, const uint8_t txid[static TVE_TXID_LEN],
                                   uint32_t visible);
/* Whether a staged tx with index below `visible` consumes the outpoint. */
bool tve_staging_spends(const tve_staging *g, const uint8_t outpoint[static TVE_OUTPOINT_LEN],
                        uint32_t visible);

/* --- worker pool ------------------------------------------------------------------- */
typedef struct tve_pool tve_pool;
/* fn(ctx, item, worker) for every item in [0, n); worker < the pool's thread count. */
typedef void (*tve_pool_fn)(void *ctx, size_t item, unsigned worker);
/* n_threads >= 1 threads in all: the caller of tve_pool_run is one of them. */
VEIL_MUST_CHECK veil_status tve_pool_create(unsigned n_threads, tve_pool **out);
void tve_pool_destroy(tve_pool *p);
/* Runs fn over n items on every thread and returns when all are done. */
void tve_pool_run(tve_pool *p, size_t n, tve_pool_fn fn, void *ctx);

/* The ocalls' context of one ecall (tee_enclave_call_ctx): which staged txs they may
 * see, those with index < visible. CHECK mode and encrypt see none (committed state
 * only); a DELIVER of block position i sees positions 0..i-1. */
typedef struct tve_call_ctx {
    tve_service *s;
    uint32_t visible;
} tve_call_ctx;

/* --- the service ------------------------------------------------------------------- */
typedef struct tve_resealed {
    uint64_t epoch;
    size_t len;
    uint8_t sealed[256];
} tve_resealed;

struct tve_service {
    tee_platform *platform;
    tee_enclave *enclave;
    tee_identity identity;
    tve_store *store;
    tve_store_meta meta; /* cached copy of the store's meta, refreshed on every write */
    tve_staging staging;
    /* Ocalls read the staging from worker threads while verify-block runs; the service
     * thread writes it only between waves. The lock makes that rule checkable. */
    pthread_rwlock_t staging_lock;
    tve_pool *pool;
    unsigned threads;
    tve_call_ctx committed_view; /* {this service, 0}: ocalls that see committed state */
    /* The key the last window named as missing (docs/key-epochs.md); the TDBE fetches
     * it. Not stored: the next commit names it again. */
    bool win_awaiting;
    uint64_t win_awaited_epoch;
    uint8_t win_awaited_commitment[32];
    uint64_t keys_destroyed; /* since start (metric) */
    /* Stored keys the enclave refused as destroyed at start, deleted after loading. */
#define TVE_STALE_KEYS_MAX 16
    size_t n_stale_keys;
    uint64_t stale_keys[TVE_STALE_KEYS_MAX];
    /* Stored keys in the form before key floors, sealed anew at start, rewritten after. */
    size_t n_resealed;
    tve_resealed resealed[TVE_STALE_KEYS_MAX];
};

/* The node's key window of a committed block, applied (tve_service_tqe.c): keys below
 * it destroyed (enclave and store), lost draws dropped, the missing one noted. */
VEIL_MUST_CHECK veil_status tve_apply_key_window(tve_service *s, const Veil__Tve__KeyWindow *w);
veil_status tve_handle_draw_key(tve_service *s, const Veil__Tve__DrawKeyRequest *req,
                                veil_arena *a, Veil__Tve__Response *resp);
/* Bootstrap (tve_service_boot.c). */
veil_status tve_handle_export_blocks(tve_service *s, const Veil__Tve__ExportBlocksRequest *req,
                                     veil_arena *a, Veil__Tve__Response *resp);
veil_status tve_handle_import_blocks(tve_service *s, const Veil__Tve__ImportBlocksRequest *req,
                                     veil_arena *a, Veil__Tve__Response *resp);

/* The ocall table the enclave is loaded with (tve_verify.c); its ctx is
 * s->committed_view, for calls that pass none. */
tee_ocall_table tve_ocall_table(tve_service *s);

/* One tx's verification, as verify-tx and verify-block share it. */
typedef struct tve_tx_job {
    const Veil__Tve__TxContext *ctx; /* from the request */
    uint32_t index;                  /* block position (DELIVER) */
    bool shaped;    /* the tx's public fields decode (host checks apply) */
    veil_tx_wire *wire; /* when shaped: its public fields, decoded once (tve_job_release) */
    veil_status st; /* result */
    Veil__Tve__Enclave__VerifyResult *result; /* on VEIL_OK; free_unpacked */
} tve_tx_job;

/* Decodes the public fields of the job's tx for the host's own rules (sets
 * job->shaped and job->wire; a tx that does not decode is left for the enclave to
 * refuse with its code). VEIL_ERR_NOMEM only. */
VEIL_MUST_CHECK veil_status tve_job_prepare(tve_tx_job *job);
void tve_job_release(tve_tx_job *job);
/* Runs E_VERIFY for one tx. params: the request's; height: DELIVER's height.
 * Sets job->st and job->result. Thread-safe. */
void tve_job_verify(tve_service *s, tve_tx_job *job, Veil__Tve__Mode mode, uint64_t height,
                    const Veil__Tve__ChainParams *params);
/* Stages a job that verified in DELIVER mode. */
VEIL_MUST_CHECK veil_status tve_job_stage(tve_service *s, const tve_tx_job *job);

/* verify-block for height last+1 (tve_block.c). Fills results (n entries) in block
 * order. Request-level failures return an error; per-tx failures are in jobs[i].st. */
/* A CHECK batch: every job validated against committed state, in parallel; each
 * job's st and result say its verdict (VEIL_ERR_TVE_TX_EXISTS for a committed tx). */
void tve_block_check(tve_service *s, const Veil__Tve__ChainParams *params, tve_tx_job *jobs,
                     size_t n);
VEIL_MUST_CHECK veil_status tve_block_verify(tve_service *s, uint64_t height,
                                             const Veil__Tve__ChainParams *params, tve_tx_job *jobs,
                                             size_t n);

/* E_END_BLOCK: the enclave's bloom for height (and its reset). */
VEIL_MUST_CHECK veil_status tve_enclave_end_block(tve_service *s, uint64_t height,
                                                  uint8_t bloom[static TVE_BLOOM_LEN]);


/* --- the request handlers (tve_service.c, tve_service_block.c, tve_service_tqe.c) --- */
veil_status tve_enclave_key_call(tve_service *s, uint32_t ecall, const ProtobufCMessage *call,
                                    Veil__Tve__Enclave__KeyResult **out);
veil_status tve_handle_init_chain(tve_service *s, const Veil__Tve__InitChainRequest *req,
                                     veil_arena *a, Veil__Tve__Response *resp);
veil_status tve_handle_status(tve_service *s, veil_arena *a, Veil__Tve__Response *resp);
bool tve_app_hash_equal(const uint8_t *a, size_t a_len, const ProtobufCBinaryData *b);
Veil__Tve__Error *tve_error_new(veil_arena *a, veil_status st);
veil_status tve_handle_check_chain(tve_service *s, const Veil__Tve__CheckChainRequest *req,
                                      veil_arena *a, Veil__Tve__Response *resp);
veil_status tve_params_check(const tve_service *s, const Veil__Tve__ChainParams *p);
bool tve_txid_ok(const ProtobufCBinaryData *b);
veil_status tve_require_initialized(const tve_service *s);
veil_status tve_handle_verify_tx(tve_service *s, const Veil__Tve__VerifyTxRequest *req,
                                    veil_arena *a, Veil__Tve__Response *resp);
veil_status tve_handle_commit_block(tve_service *s, const Veil__Tve__CommitBlockRequest *req,
                                       veil_arena *a, Veil__Tve__Response *resp, size_t *n_items);
veil_status tve_handle_end_block(tve_service *s, const Veil__Tve__EndBlockRequest *req,
                                    veil_arena *a, Veil__Tve__Response *resp);
veil_status tve_handle_verify_block(tve_service *s, const Veil__Tve__VerifyBlockRequest *req,
                                       veil_arena *a, Veil__Tve__Response *resp, size_t *n_items);
veil_status tve_handle_export_key(tve_service *s, const Veil__Tve__ExportKeyRequest *req,
                                  veil_arena *a, Veil__Tve__Response *resp);
veil_status tve_handle_import_key(tve_service *s, const Veil__Tve__ImportKeyRequest *req,
                                  veil_arena *a, Veil__Tve__Response *resp);
veil_status tve_handle_handoff(tve_service *s, const Veil__Tve__HandoffRequest *req,
                                  veil_arena *a, Veil__Tve__Response *resp);
veil_status tve_handle_get_sealed_txs(tve_service *s, const Veil__Tve__GetSealedTxsRequest *req,
                                         veil_arena *a, Veil__Tve__Response *resp, size_t *n_items);
veil_status tve_handle_encrypt(tve_service *s, const Veil__Tve__EncryptRequest *req,
                                  veil_arena *a, Veil__Tve__Response *resp);

#endif
