/* Veil's part of CometBFT's genesis: the `app_state` JSON object (docs/node.md,
 * "Genesis"). CometBFT passes it to InitChain as app_state_bytes. Host only. */
#ifndef VEIL_HOST_NODE_GENESIS_H
#define VEIL_HOST_NODE_GENESIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "chain/node_records.h"

#define NODE_GENESIS_MAX_LEN ((size_t)16 << 20)
#define NODE_GENESIS_MAX_ACCOUNTS 100000u

typedef struct node_genesis {
    node_params params;
    size_t n_accounts;
    node_account *accounts; /* malloc'd */
    bool has_key_commitment; /* the epoch-0 key commitment the chain expects */
    uint8_t key_commitment[32];
} node_genesis;

/* Parses app_state. On failure returns VEIL_ERR_MALFORMED (or VEIL_ERR_TOO_LARGE,
 * VEIL_ERR_NOMEM) and writes a message naming the offending field into err (err_cap
 * bytes, may be 0). Strict: unknown keys, duplicate keys or accounts, numbers that are
 * not canonical decimal strings, amounts above the maximum supply and non-empty
 * "outputs" are all refused. */
VEIL_MUST_CHECK veil_status node_genesis_parse(const uint8_t *json, size_t len, node_genesis *out,
                                               char *err, size_t err_cap);
void node_genesis_free(node_genesis *g);

#endif
