/* The app hash's sparse Merkle tree: hashing rules, proof format and the verifier.
 *
 * Portable: no I/O, no allocation, no OS headers — so an enclave's light client can
 * check an account against a trusted app hash with exactly this code (smt_verify.c).
 *
 * The tree (docs/node.md, "App hash"), format 2: a compact sparse Merkle tree.
 *   - 256 levels; a leaf's path is its 256-bit key, read from the most significant
 *     bit of key[0] (depth 0, just below the root) to the least significant bit of
 *     key[31] (depth 255). Bit 0 goes left.
 *   - key        = SHA-256-tagged("veil/smt/key/v1",   u8 namespace || id)
 *   - value hash = SHA-256-tagged("veil/smt/value/v1", record bytes)
 *   - leaf       = SHA-256-tagged("veil/smt/leaf/v2",  key || value hash)
 *   - node       = SHA-256-tagged("veil/smt/node/v2",  left || right)
 *   - the hash of a subtree: 32 zero bytes if it is empty; the leaf hash if it holds
 *     exactly one leaf (the leaf sits as high as it is alone: no hash per empty level
 *     below); otherwise node(left subtree, right subtree).
 * The app hash is the root: zero for the empty tree. An update costs about log2(n)
 * hashes instead of 256.
 *
 * A proof for a key lists the siblings along its path down to where the path ends:
 * sibling d is the hash of the subtree at depth d+1 beside the path, under the node at
 * depth d. Only non-empty siblings are carried; a 256-bit bitmap (same bit order as
 * keys) says which. The path ends at depth L = (deepest carried sibling) + 1, or 0 if
 * none, in one of three ways:
 *   - inclusion: the key's own leaf is the subtree at depth L;
 *   - absence, empty: the subtree at depth L on the key's path is empty;
 *   - absence, other leaf: it is another key's leaf (key' agreeing with the key on bits
 *     0..L-1), carried as key' || its value hash.
 * Encoding: bitmap (32) || the carried siblings (32 each, root side first) || for the
 * last case only, key' (32) || value hash' (32). Carried siblings are never zero.
 */
#ifndef VEIL_TRUSTED_STATE_SMT_VERIFY_H
#define VEIL_TRUSTED_STATE_SMT_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define VEIL_SMT_DEPTH 256
#define VEIL_SMT_HASH_LEN 32
#define VEIL_SMT_BITMAP_LEN 32
#define VEIL_SMT_PROOF_MAX_LEN \
    (VEIL_SMT_BITMAP_LEN + VEIL_SMT_DEPTH * VEIL_SMT_HASH_LEN + 2 * VEIL_SMT_HASH_LEN)

#define VEIL_SMT_TAG_KEY "veil/smt/key/v1"
#define VEIL_SMT_TAG_VALUE "veil/smt/value/v1"
#define VEIL_SMT_TAG_LEAF "veil/smt/leaf/v2"
#define VEIL_SMT_TAG_NODE "veil/smt/node/v2"

/* Namespaces of the node's state (the first byte hashed into a key). Stable. */
enum veil_smt_namespace {
    VEIL_SMT_NS_ACCOUNT = 1,   /* id: address (32 bytes) */
    VEIL_SMT_NS_OUTPUT = 2,    /* id: txid (32 bytes) */
    VEIL_SMT_NS_PARAM = 3,     /* id: parameter set name ("chain") */
    VEIL_SMT_NS_KEY_EPOCH = 4, /* id: epoch as u64 big-endian */
    VEIL_SMT_NS_VALIDATOR = 5, /* id: consensus public key (32 bytes) */
};

typedef struct veil_smt_proof {
    uint8_t bitmap[VEIL_SMT_BITMAP_LEN];
    size_t n_siblings; /* = number of bits set in bitmap */
    uint8_t siblings[VEIL_SMT_DEPTH][VEIL_SMT_HASH_LEN]; /* root side first */
    bool has_other;    /* absence: another key's leaf ends the path */
    uint8_t other_key[VEIL_SMT_HASH_LEN];
    uint8_t other_value_hash[VEIL_SMT_HASH_LEN];
} veil_smt_proof;

/* The bit of key at depth d (0..255). */
static inline unsigned veil_smt_bit(const uint8_t key[static VEIL_SMT_HASH_LEN], unsigned d)
{
    return ((unsigned)key[d >> 3] >> (7u - (d & 7u))) & 1u;
}

/* Hashing rules (see above). id may be NULL when id_len is 0. id_len <= 255. */
void veil_smt_key(uint8_t key[static VEIL_SMT_HASH_LEN], uint8_t ns, const uint8_t *id,
                  size_t id_len);
void veil_smt_value_hash(uint8_t out[static VEIL_SMT_HASH_LEN], const uint8_t *value,
                         size_t len);
void veil_smt_leaf_hash(uint8_t out[static VEIL_SMT_HASH_LEN],
                        const uint8_t key[static VEIL_SMT_HASH_LEN],
                        const uint8_t value_hash[static VEIL_SMT_HASH_LEN]);
void veil_smt_node_hash(uint8_t out[static VEIL_SMT_HASH_LEN],
                        const uint8_t left[static VEIL_SMT_HASH_LEN],
                        const uint8_t right[static VEIL_SMT_HASH_LEN]);

/* Encodes a proof (32 + 32 * n_siblings bytes, + 64 with another leaf). VEIL_ERR_ARG if
 * n_siblings disagrees with the bitmap; VEIL_ERR_BUFFER_TOO_SMALL. */
VEIL_MUST_CHECK veil_status veil_smt_proof_encode(const veil_smt_proof *p, uint8_t *out,
                                                  size_t cap, size_t *out_len);
/* Decodes a proof: VEIL_ERR_TRUNCATED / VEIL_ERR_MALFORMED unless the length is exactly
 * 32 + 32 * popcount(bitmap), or that + 64 (another leaf). */
VEIL_MUST_CHECK veil_status veil_smt_proof_decode(const uint8_t *in, size_t len,
                                                  veil_smt_proof *out);

/* Recomputes the root from the leaf and the proof. value_hash NULL: the proof claims
 * the key is absent. VEIL_OK if the result equals root; VEIL_ERR_AUTH otherwise;
 * VEIL_ERR_MALFORMED if the proof is inconsistent (a zero sibling, another leaf in an
 * inclusion proof or one not on the key's path). Compares in constant time. */
VEIL_MUST_CHECK veil_status veil_smt_verify(const uint8_t root[static VEIL_SMT_HASH_LEN],
                                            const uint8_t key[static VEIL_SMT_HASH_LEN],
                                            const uint8_t *value_hash,
                                            const veil_smt_proof *proof);

/* The same, from a record: value NULL proves absence (value_len is then ignored); a
 * non-NULL value, even of length 0, is a present record. */
VEIL_MUST_CHECK veil_status veil_smt_verify_record(const uint8_t root[static VEIL_SMT_HASH_LEN],
                                                   uint8_t ns, const uint8_t *id, size_t id_len,
                                                   const uint8_t *value, size_t value_len,
                                                   const veil_smt_proof *proof);

#endif
