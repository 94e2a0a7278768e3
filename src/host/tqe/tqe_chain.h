/* tqe_chain.h — the public chain state a TQE order is judged against, fetched with its
 * proofs from the node's CometBFT-style RPC (abci_query /params, /account/<hex>,
 * /output/<hex> with prove=true) for the enclave's TQE_O_CHAIN_STATE. Nothing the node
 * says is believed: the enclave verifies every record against an app hash its own light
 * client verified (tqe_state.h). Host only. */
#ifndef VEIL_HOST_TQE_TQE_CHAIN_H
#define VEIL_HOST_TQE_TQE_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* Answers a TQE_O_CHAIN_STATE request (tqe_state.h): every record asked, at one state
 * height h (asked again if a block commits in between), as an answer naming h + 1, the
 * header whose app hash proves it (*header_height). VEIL_ERR_MALFORMED for a request of
 * the wrong shape; VEIL_ERR_TQE_UNAVAILABLE if the node does not answer. */
VEIL_MUST_CHECK veil_status tqe_chain_fetch(const char *rpc_url, long timeout_ms,
                                            const uint8_t *req, size_t req_len, uint8_t *out,
                                            size_t cap, size_t *out_len, int64_t *header_height);

#endif
