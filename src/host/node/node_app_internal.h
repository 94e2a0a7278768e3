/* What the parts of the node's application share (node_app.c: the app, genesis,
 * commit and queries; node_app_tve.c: the TVE session; node_app_block.c: CheckTx and
 * the phases of a block). Not a public interface. */
#ifndef VEIL_HOST_NODE_APP_INTERNAL_H
#define VEIL_HOST_NODE_APP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "host/node/node_app.h"
#include "host/node/node_state.h"
#include "chain/node_tx.h"
#include "host/tve/tve_client.h"
#include "veil/tve.pb-c.h"

#define LOCK_DEPOSIT 1u
#define LOCK_WITHDRAW 2u
/* How often a request that timed out is retried while waiting for the TVE. */
#define TVE_RETRY_PAUSE_MS 500
/* verify-block may take long for a full block; its own timeout. */
#define TVE_BLOCK_TIMEOUT_MS 120000
/* The status probe while waiting for a TVE that does not answer. */
#define TVE_PROBE_TIMEOUT_MS 1000

struct node_app {
    node_config cfg;
    node_state *st;
    tve_client *tve;
    FILE *log;
    bool tve_checked; /* identity checked on the current connection */
    /* The block finalized and not yet committed. */
    bool have_block;
    uint64_t block_height, block_time;
    uint8_t block_hash[32];
    uint8_t *block_rec; /* BlockRecord encoding */
    size_t block_rec_len;
    size_t n_txs; /* txs in the block */
    size_t n_accepted;
    uint8_t (*accepted)[32];
    node_chain_tx *tx; /* scratch decode buffer (large) */
    uint64_t epoch_hint; /* the latest committed key epoch seen (node_epoch_latest) */
};

/* node_app.c */
#include "hostutil/metrics.h"
extern veil_metric node_m_checktx, node_m_checktx_refused, node_m_tve_us, node_m_tve_n,
    node_m_recheck_public,
    node_m_check_batches;
void node_log(node_app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void node_hex8(char out[17], const uint8_t *p);
void node_result_set(node_tx_result *r, veil_status code, const char *detail);
void node_block_clear(node_app *a);

/* node_app_tve.c: the TVE session */
/* Failures that say nothing about the request (unreachable TVE, local resources). */
bool node_tve_transient(veil_status st);
/* One request. Transport failures are retried (the socket is re-created each time)
 * until cfg.tve_wait_ms passes (0: forever) if `wait`; on every new connection the
 * TVE's identity is checked again before the request goes out. */
VEIL_MUST_CHECK veil_status node_tve_call(node_app *a, const Veil__Tve__Request *req,
                                          Veil__Tve__Response__ResponseCase want, int timeout_ms,
                                          bool wait, Veil__Tve__Response **resp);
void node_params_msg(node_app *a, uint64_t block_time, Veil__Tve__ChainParams *p);
void node_account_msg(node_account *acc, Veil__Tve__AccountState *m);
VEIL_MUST_CHECK veil_status node_tve_end_block(node_app *a, uint64_t height, bool wait,
                                               uint8_t bloom[256]);
/* with_window: also the key epochs the next block admits (from committed state). */
VEIL_MUST_CHECK veil_status node_tve_commit_block(node_app *a, uint64_t height,
                                                  const uint8_t app_hash[32],
                                                  const uint8_t (*txids)[32], size_t n, bool wait,
                                                  bool with_window);
VEIL_MUST_CHECK veil_status node_tve_verify_block(node_app *a, Veil__Tve__VerifyBlockRequest *vb,
                                                  bool wait, Veil__Tve__Response **resp);
VEIL_MUST_CHECK veil_status node_tve_sync(node_app *a, uint64_t target);
VEIL_MUST_CHECK veil_status node_tve_check_chain_key(node_app *a, const Veil__Tve__StatusResponse *s);
/* genesis_commitment: the genesis key_commitment, or NULL. *keyless: the TVE holds no
 * key (only possible with a genesis commitment); commitment is then not written. */
VEIL_MUST_CHECK veil_status node_tve_init_chain(node_app *a, const char *chain_id,
                                                const uint8_t *genesis_commitment,
                                                uint8_t commitment[32], bool *keyless);


/* node_epoch.c: key epochs (docs/key-epochs.md) */
typedef struct node_epoch_window {
    node_key_epoch current;  /* the epoch wallets encrypt under at the height */
    bool has_previous;       /* the epoch before is still in its grace period */
    node_key_epoch previous;
    bool has_next;           /* the next epoch is committed, not in use yet */
    node_key_epoch next;
    bool rotates;            /* a next epoch is due at next_due (none committed yet) */
    uint64_t next_due;
} node_epoch_window;
/* The latest epoch record (*any false: none, a chain that never had a key). */
VEIL_MUST_CHECK veil_status node_epoch_latest(node_app *a, bool pending, node_key_epoch *out,
                                              bool *any);
/* The epochs as seen by the block at `height`. */
VEIL_MUST_CHECK veil_status node_epoch_window_at(node_app *a, bool pending, uint64_t height,
                                                 node_epoch_window *w);
/* Whether a confidential tx under key_epoch is judged at all: VEIL_OK, or the verdict
 * VEIL_ERR_TX_KEY_EPOCH_EXPIRED (before the window) / VEIL_ERR_TX_UNKNOWN_KEY_EPOCH. */
VEIL_MUST_CHECK veil_status node_epoch_admits(const node_epoch_window *w, uint64_t key_epoch);
/* The rules of a key-epoch tx in the block at height built by proposer (NULL outside a
 * block): *verdict, and with VEIL_OK the epoch record written to pending state. */
VEIL_MUST_CHECK veil_status node_epoch_apply(node_app *a, bool pending, uint64_t height,
                                             const uint8_t *proposer, const node_key_epoch_tx *tx,
                                             veil_status *verdict, const char **detail);
/* PrepareProposal: if the next epoch is due at height, the TVE draws its key and *len
 * gets the key-epoch tx naming proposer (else 0). */
VEIL_MUST_CHECK veil_status node_epoch_draw(node_app *a, uint64_t height, const uint8_t *proposer,
                                            uint8_t *out, size_t cap, size_t *len);
/* node_app_tve.c: the TVE draws (or already drew) the key of epoch. */
VEIL_MUST_CHECK veil_status node_tve_draw_key(node_app *a, uint64_t epoch,
                                              uint8_t commitment[static 32]);

#endif
