/* The node's in-memory sparse Merkle tree (host side).
 *
 * Holds (key, value hash) leaves in a path-compressed binary trie and computes the
 * root and proofs of the compact tree of smt_verify.h: a branch exists only where two
 * non-empty subtrees meet; a leaf's hash is used as is wherever it is alone; a branch
 * is "lifted" through the empty levels above it (rare for random keys). Hashes are
 * cached per node and recomputed lazily for the paths that changed, so an update costs
 * about log2(n) hashes.
 *
 * The tree is rebuilt from the store at start-up (node_state.c) and is never written
 * to disk itself. Not thread-safe.
 */
#ifndef VEIL_HOST_NODE_SMT_H
#define VEIL_HOST_NODE_SMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "trusted/state/smt_verify.h"

typedef struct node_smt node_smt;

VEIL_MUST_CHECK veil_status node_smt_new(node_smt **out);
void node_smt_free(node_smt *t);

/* Inserts or replaces a leaf. VEIL_ERR_NOMEM. */
VEIL_MUST_CHECK veil_status node_smt_set(node_smt *t, const uint8_t key[static VEIL_SMT_HASH_LEN],
                                         const uint8_t value_hash[static VEIL_SMT_HASH_LEN]);
/* Removes a leaf. VEIL_ERR_NOT_FOUND if absent. */
VEIL_MUST_CHECK veil_status node_smt_delete(node_smt *t,
                                            const uint8_t key[static VEIL_SMT_HASH_LEN]);
/* Whether the leaf exists; its value hash in *value_hash (may be NULL). */
bool node_smt_get(const node_smt *t, const uint8_t key[static VEIL_SMT_HASH_LEN],
                  uint8_t *value_hash);
size_t node_smt_count(const node_smt *t);

/* The root (the app hash). */
void node_smt_root(node_smt *t, uint8_t root[static VEIL_SMT_HASH_LEN]);

/* A proof for key against the current root: of inclusion if the key is present
 * (*present = true, its value hash in value_hash if not NULL), else of absence. */
void node_smt_prove(node_smt *t, const uint8_t key[static VEIL_SMT_HASH_LEN],
                    veil_smt_proof *proof, bool *present, uint8_t *value_hash);

#endif
