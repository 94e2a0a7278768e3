/* lc_follow.h — the host side of an enclave's light client (lc_enclave.h): a thread
 * that starts it (from its sealed state, else from the operator's trust root), then
 * follows the chain every 250 ms (every 20 ms while lc_follow_wait waits), driving
 * skipping verification (it offers the block halfway whenever the enclave asks for more
 * trust) and saving each sealed state the enclave returns. A fork the enclave refuses is logged as an ALARM. Host only. */
#ifndef VEIL_HOST_LIGHTCLIENT_LC_FOLLOW_H
#define VEIL_HOST_LIGHTCLIENT_LC_FOLLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "common/status.h"
#include "hostutil/metrics.h"
#include "tee/tee.h"
#include "trusted/lightclient/lc.h"

typedef struct lc_follow_config {
    tee_enclave *enclave;
    uint32_t e_init, e_resume, e_update; /* the image's lc_enclave ecalls */
    const char *rpc;                     /* the node's CometBFT RPC */
    const char *state_path;              /* the sealed state: u64 BE height || blob */
    /* A first start needs a trust root: a height and its header hash. */
    bool has_trust;
    int64_t trust_height;
    uint8_t trust_hash[32];
    lc_params lc;        /* zero: lc_params_default */
    veil_metric *height; /* a gauge of the latest verified height, or NULL */
    /* Tests: light blocks from here instead of the RPC. */
    veil_status (*light_block)(void *ctx, int64_t height, lc_light_block *out);
    veil_status (*latest_height)(void *ctx, int64_t *height);
    void *chain_ctx;
} lc_follow_config;

typedef struct lc_follow lc_follow;

/* Starts the thread; the configuration's strings must outlive it. */
VEIL_MUST_CHECK veil_status lc_follow_start(const lc_follow_config *cfg, lc_follow **out);
/* Stops and joins the thread; NULL is ignored. */
void lc_follow_stop(lc_follow *f);
/* The latest height the enclave verified (0: not started yet). */
int64_t lc_follow_height(const lc_follow *f);
/* Waits up to timeout_ms for the enclave to have verified `height`: VEIL_ERR_TIMEOUT
 * (detail set) otherwise, at once if the follower is stopping. */
VEIL_MUST_CHECK veil_status lc_follow_wait(const lc_follow *f, int64_t height,
                                           unsigned timeout_ms);

#endif
