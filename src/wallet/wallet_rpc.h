/* The wallet's view of the chain through a CometBFT-compatible RPC (GET requests to
 * http://HOST:PORT/<method>?<query>): status, block_results (the "veil.block"
 * event's "bloom" attribute), block (txs), abci_query (/account/<hex>, /params),
 * broadcast_tx_commit. Host only (libcurl). */
#ifndef VEIL_WALLET_WALLET_RPC_H
#define VEIL_WALLET_WALLET_RPC_H

#include <jansson.h>

#include "veil/node.pb-c.h"
#include "wallet/wallet.h"

typedef struct wallet_rpc {
    char base[512]; /* e.g. "http://127.0.0.1:26657" without a trailing slash */
    long timeout_s;
} wallet_rpc;

VEIL_MUST_CHECK veil_status wallet_rpc_init(wallet_rpc *r, const char *base_url);
/* The JSON-RPC `result` (caller decrefs); VEIL_ERR_NET with detail on failure. */
VEIL_MUST_CHECK veil_status wallet_rpc_get(const wallet_rpc *r, const char *path_and_query,
                                           json_t **result);
/* A wallet_chain over this RPC (ctx = r). */
void wallet_rpc_chain(wallet_rpc *r, wallet_chain *out);

VEIL_MUST_CHECK veil_status wallet_rpc_tip(void *r, uint64_t *height, uint64_t *time,
                                           char chain_id[static 65]);
/* VEIL_ERR_NOT_FOUND if the node has no such account. Free with
 * veil__node__account__free_unpacked. */
VEIL_MUST_CHECK veil_status wallet_rpc_account(const wallet_rpc *r, const uint8_t addr[static 32],
                                               Veil__Node__Account **out);
VEIL_MUST_CHECK veil_status wallet_rpc_fee(const wallet_rpc *r, wallet_fee *fee);
/* broadcast_tx_commit: VEIL_OK only if both CheckTx and the block accepted it; a
 * refusal is VEIL_ERR_NET with the node's log as detail and its code in *refused (may
 * be NULL; 0 otherwise). *height (may be NULL) is the block it landed in. */
VEIL_MUST_CHECK veil_status wallet_rpc_broadcast(const wallet_rpc *r, const uint8_t *tx, size_t len,
                                                 uint64_t *height, uint32_t *refused);

#endif
