/* The rules of the public txs (unbond, unjail, node join) the node validates itself,
 * over txs decoded by chain/node_tx.h. Node join quotes are verified against the
 * chain's attestation collateral (attest_quote_verify) or by the attestation service's
 * report under its pinned root, at the block's time. docs/node.md, "Transactions". */
#ifndef VEIL_HOST_NODE_RULES_H
#define VEIL_HOST_NODE_RULES_H

#include "chain/node_records.h"
#include "chain/node_tx.h"

/* What a public tx is checked against. */
typedef struct node_public_env {
    const node_params *params;
    const char *chain_id; /* the chain's id: node joins' quotes are bound to it */
    uint64_t block_time;
    uint64_t height; /* unused by the rules today; recorded for diagnostics */
} node_public_env;

/* Applies the rules of a public tx (signature already hashed by decode) to the
 * account's current state: acc NULL if the account does not exist. On VEIL_OK *next
 * is the account after the tx. On failure *detail (if not NULL) names the rule that
 * failed, for the log (never secret). */

VEIL_MUST_CHECK veil_status node_public_apply(const node_chain_tx *tx, const node_public_env *env,
                                              const node_account *acc, node_account *next,
                                              const char **detail);

#endif
