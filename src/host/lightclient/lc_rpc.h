/* lc_rpc.h — light blocks from a CometBFT RPC (CometBFT's, or the dev chain's):
 * /commit?height=H (the signed header) and /validators?height=H (every page). What the
 * node says is not believed: lc_verify judges it. Host only. */
#ifndef VEIL_HOST_LIGHTCLIENT_LC_RPC_H
#define VEIL_HOST_LIGHTCLIENT_LC_RPC_H

#include <stdint.h>

#include "common/status.h"
#include "trusted/lightclient/lc.h"

/* VEIL_ERR_NET (detail: the RPC's answer) when the node cannot be asked or has no
 * such height; lc_json's codes for an answer of the wrong shape. */
VEIL_MUST_CHECK veil_status lc_rpc_light_block(const char *url, int64_t height,
                                               lc_light_block *out);
/* The node's latest committed height (status). */
VEIL_MUST_CHECK veil_status lc_rpc_latest_height(const char *url, int64_t *height);

#endif
