/* The sparse Merkle tree's hashing rules and proof verifier. Portable: compiled into
 * hosts today and meant for enclaves (the light client); no OS headers here. */
#include "host/node/smt_verify.h"

#include <string.h>

#include "crypto/crypto.h"

void veil_smt_key(uint8_t key[static VEIL_SMT_HASH_LEN], uint8_t ns, const uint8_t *id,
                  size_t id_len)
{
    uint8_t buf[1 + 255];
    if (id_len > 255) __builtin_trap(); /* ids are fixed, short names: a programming error */
    buf[0] = ns;
    if (id_len) memcpy(buf + 1, id, id_len);
    veil_sha256_tagged(key, VEIL_SMT_TAG_KEY, buf, 1 + id_len);
}

void veil_smt_value_hash(uint8_t out[static VEIL_SMT_HASH_LEN], const uint8_t *value,
                         size_t len)
{
    veil_sha256_tagged(out, VEIL_SMT_TAG_VALUE, value, len);
}

void veil_smt_leaf_hash(uint8_t out[static VEIL_SMT_HASH_LEN],
                        const uint8_t key[static VEIL_SMT_HASH_LEN],
                        const uint8_t value_hash[static VEIL_SMT_HASH_LEN])
{
    uint8_t buf[2 * VEIL_SMT_HASH_LEN];
    memcpy(buf, key, VEIL_SMT_HASH_LEN);
    memcpy(buf + VEIL_SMT_HASH_LEN, value_hash, VEIL_SMT_HASH_LEN);
    veil_sha256_tagged(out, VEIL_SMT_TAG_LEAF, buf, sizeof buf);
}

void veil_smt_node_hash(uint8_t out[static VEIL_SMT_HASH_LEN],
                        const uint8_t left[static VEIL_SMT_HASH_LEN],
                        const uint8_t right[static VEIL_SMT_HASH_LEN])
{
    uint8_t buf[2 * VEIL_SMT_HASH_LEN];
    memcpy(buf, left, VEIL_SMT_HASH_LEN);
    memcpy(buf + VEIL_SMT_HASH_LEN, right, VEIL_SMT_HASH_LEN);
    veil_sha256_tagged(out, VEIL_SMT_TAG_NODE, buf, sizeof buf);
}

static size_t smt_popcount(const uint8_t bitmap[static VEIL_SMT_BITMAP_LEN])
{
    size_t n = 0;
    for (size_t i = 0; i < VEIL_SMT_BITMAP_LEN; i++) n += (size_t)__builtin_popcount(bitmap[i]);
    return n;
}

veil_status veil_smt_proof_encode(const veil_smt_proof *p, uint8_t *out, size_t cap,
                                  size_t *out_len)
{
    ENSURE(p->n_siblings == smt_popcount(p->bitmap), VEIL_ERR_ARG);
    size_t need = VEIL_SMT_BITMAP_LEN + p->n_siblings * VEIL_SMT_HASH_LEN;
    ENSURE(cap >= need, VEIL_ERR_BUFFER_TOO_SMALL);
    memcpy(out, p->bitmap, VEIL_SMT_BITMAP_LEN);
    if (p->n_siblings) memcpy(out + VEIL_SMT_BITMAP_LEN, p->siblings, p->n_siblings * VEIL_SMT_HASH_LEN);
    *out_len = need;
    return VEIL_OK;
}

veil_status veil_smt_proof_decode(const uint8_t *in, size_t len, veil_smt_proof *out)
{
    ENSURE(len >= VEIL_SMT_BITMAP_LEN, VEIL_ERR_TRUNCATED);
    memcpy(out->bitmap, in, VEIL_SMT_BITMAP_LEN);
    out->n_siblings = smt_popcount(out->bitmap);
    size_t need = VEIL_SMT_BITMAP_LEN + out->n_siblings * VEIL_SMT_HASH_LEN;
    ENSURE(len >= need, VEIL_ERR_TRUNCATED);
    ENSURE(len == need, VEIL_ERR_MALFORMED);
    if (out->n_siblings)
        memcpy(out->siblings, in + VEIL_SMT_BITMAP_LEN, out->n_siblings * VEIL_SMT_HASH_LEN);
    return VEIL_OK;
}

veil_status veil_smt_verify(const uint8_t root[static VEIL_SMT_HASH_LEN],
                            const uint8_t key[static VEIL_SMT_HASH_LEN],
                            const uint8_t *value_hash, const veil_smt_proof *proof)
{
    ENSURE(proof->n_siblings <= VEIL_SMT_DEPTH && proof->n_siblings == smt_popcount(proof->bitmap),
           VEIL_ERR_MALFORMED);
    /* Walk up from the leaf. The empty subtree hashes are recomputed on the way (one
     * extra hash per level) so that this file needs no table and no initialisation. */
    uint8_t h[VEIL_SMT_HASH_LEN], empty[VEIL_SMT_HASH_LEN];
    memset(empty, 0, sizeof empty); /* empty(256): the empty leaf */
    if (value_hash)
        veil_smt_leaf_hash(h, key, value_hash);
    else
        memset(h, 0, sizeof h);
    size_t next = proof->n_siblings; /* siblings are stored root first: consume backwards */
    for (int d = VEIL_SMT_DEPTH - 1; d >= 0; d--) {
        /* here `empty` is empty(d+1), the hash of an empty sibling at this level */
        const uint8_t *sib = empty;
        if (veil_smt_bit(proof->bitmap, (unsigned)d)) {
            if (next == 0) return VEIL_ERR_MALFORMED;
            sib = proof->siblings[--next];
        }
        uint8_t up[VEIL_SMT_HASH_LEN];
        if (veil_smt_bit(key, (unsigned)d))
            veil_smt_node_hash(up, sib, h);
        else
            veil_smt_node_hash(up, h, sib);
        memcpy(h, up, sizeof h);
        veil_smt_node_hash(up, empty, empty);
        memcpy(empty, up, sizeof empty);
    }
    ENSURE(next == 0, VEIL_ERR_MALFORMED);
    return veil_ct_equal(h, root, VEIL_SMT_HASH_LEN) ? VEIL_OK : VEIL_ERR_AUTH;
}

veil_status veil_smt_verify_record(const uint8_t root[static VEIL_SMT_HASH_LEN], uint8_t ns,
                                   const uint8_t *id, size_t id_len, const uint8_t *value,
                                   size_t value_len, const veil_smt_proof *proof)
{
    uint8_t key[VEIL_SMT_HASH_LEN], vh[VEIL_SMT_HASH_LEN];
    ENSURE(id_len <= 255 && (id != NULL || id_len == 0), VEIL_ERR_ARG);
    veil_smt_key(key, ns, id, id_len);
    if (value == NULL) return veil_smt_verify(root, key, NULL, proof);
    veil_smt_value_hash(vh, value, value_len);
    return veil_smt_verify(root, key, vh, proof);
}
