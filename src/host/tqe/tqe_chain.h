/* tqe_chain.h — public chain state the TQE host adds to EncryptRequests, fetched from
 * the node's CometBFT-style RPC (status, abci_query /params and /account/<hex>).
 * Public data only: the TVE validates against it; a lying RPC can make a tx fail, not
 * leak. Host only. */
#ifndef VEIL_HOST_TQE_TQE_CHAIN_H
#define VEIL_HOST_TQE_TQE_CHAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/status.h"
#include "veil/tve.pb-c.h"

/* Fills p (chain_id strdup'd into *chain_id_out, free it) from rpc_url; with rpc_url
 * NULL uses chain_id, zero fees, at-least, block time = now. */
VEIL_MUST_CHECK veil_status tqe_chain_params(const char *rpc_url, const char *chain_id,
                                             Veil__Tve__ChainParams *p, char **chain_id_out);

/* The account's public state; *found false when the node has no such account (or there
 * is no RPC). */
VEIL_MUST_CHECK veil_status tqe_chain_account(const char *rpc_url, const uint8_t addr[32],
                                              Veil__Tve__AccountState *a, bool *found);

#endif
