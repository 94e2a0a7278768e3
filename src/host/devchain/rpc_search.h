/* The dev chain's tx_search and block_search (rpc_search.c). */
#ifndef VEIL_HOST_DEVCHAIN_RPC_SEARCH_H
#define VEIL_HOST_DEVCHAIN_RPC_SEARCH_H

#include <jansson.h>

#include "host/devchain/chain_internal.h"

veil_status rpc_tx_search(devchain *dc, const rpc_args *a, json_t **result, rpc_error *err);
veil_status rpc_block_search(devchain *dc, const rpc_args *a, json_t **result, rpc_error *err);

#endif
