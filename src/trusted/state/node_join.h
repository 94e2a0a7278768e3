/* What a node join's quote binds (docs/node.md, "Transactions"): the report data that
 * ties an enclave key to one staking account on one chain, so the quote cannot be
 * replayed for another account or chain. Portable: the node checks it, an enclave
 * makes it. */
#ifndef VEIL_TRUSTED_STATE_NODE_JOIN_H
#define VEIL_TRUSTED_STATE_NODE_JOIN_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define NODE_ENCLAVE_PUBKEY_MAX 256
#define NODE_JOIN_REPORT_TAG "veil/node-join/v2"

/* SHA-256-tagged(NODE_JOIN_REPORT_TAG, u8 len(chain_id) || chain_id || account (32) ||
 * u16 BE len(key) || key) || 32 zero bytes. VEIL_ERR_ARG for a chain id over 255 bytes
 * or a key over NODE_ENCLAVE_PUBKEY_MAX. */
VEIL_MUST_CHECK veil_status node_join_report_data(const char *chain_id,
                                                  const uint8_t account[static 32],
                                                  const uint8_t *enclave_key, size_t key_len,
                                                  uint8_t out[static 64]);

#endif
