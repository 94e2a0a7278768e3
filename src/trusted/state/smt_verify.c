/* The sparse Merkle tree's hashing rules and proof verifier. Portable: compiled into
 * hosts today and meant for enclaves (the light client); no OS headers here. */
#include "trusted/state/smt_verify.h"

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
    size_t sib_len = p->n_siblings * VEIL_SMT_HASH_LEN;
    size_t need = VEIL_SMT_BITMAP_LEN + sib_len + (p->has_other ? 2 * VEIL_SMT_HASH_LEN : 0);
    ENSURE(cap >= need, VEIL_ERR_BUFFER_TOO_SMALL);
    memcpy(out, p->bitmap, VEIL_SMT_BITMAP_LEN);
    if (p->n_siblings) memcpy(out + VEIL_SMT_BITMAP_LEN, p->siblings, sib_len);
    if (p->has_other) {
        memcpy(out + VEIL_SMT_BITMAP_LEN + sib_len, p->other_key, VEIL_SMT_HASH_LEN);
        memcpy(out + VEIL_SMT_BITMAP_LEN + sib_len + VEIL_SMT_HASH_LEN, p->other_value_hash,
               VEIL_SMT_HASH_LEN);
    }
    *out_len = need;
    return VEIL_OK;
}

veil_status veil_smt_proof_decode(const uint8_t *in, size_t len, veil_smt_proof *out)
{
    ENSURE(len >= VEIL_SMT_BITMAP_LEN, VEIL_ERR_TRUNCATED);
    memcpy(out->bitmap, in, VEIL_SMT_BITMAP_LEN);
    out->n_siblings = smt_popcount(out->bitmap);
    size_t sib_len = out->n_siblings * VEIL_SMT_HASH_LEN;
    size_t need = VEIL_SMT_BITMAP_LEN + sib_len;
    ENSURE(len >= need, VEIL_ERR_TRUNCATED);
    ENSURE(len == need || len == need + 2 * VEIL_SMT_HASH_LEN, VEIL_ERR_MALFORMED);
    if (out->n_siblings) memcpy(out->siblings, in + VEIL_SMT_BITMAP_LEN, sib_len);
    out->has_other = len > need;
    if (out->has_other) {
        memcpy(out->other_key, in + need, VEIL_SMT_HASH_LEN);
        memcpy(out->other_value_hash, in + need + VEIL_SMT_HASH_LEN, VEIL_SMT_HASH_LEN);
    } else {
        memset(out->other_key, 0, VEIL_SMT_HASH_LEN);
        memset(out->other_value_hash, 0, VEIL_SMT_HASH_LEN);
    }
    return VEIL_OK;
}

static bool smt_is_zero(const uint8_t h[static VEIL_SMT_HASH_LEN])
{
    uint8_t acc = 0;
    for (size_t i = 0; i < VEIL_SMT_HASH_LEN; i++) acc |= h[i];
    return acc == 0;
}

veil_status veil_smt_verify(const uint8_t root[static VEIL_SMT_HASH_LEN],
                            const uint8_t key[static VEIL_SMT_HASH_LEN],
                            const uint8_t *value_hash, const veil_smt_proof *proof)
{
    ENSURE(proof->n_siblings <= VEIL_SMT_DEPTH && proof->n_siblings == smt_popcount(proof->bitmap),
           VEIL_ERR_MALFORMED);
    ENSURE(!(value_hash != NULL && proof->has_other), VEIL_ERR_MALFORMED);
    /* Where the path ends: just below the deepest carried sibling. */
    unsigned end = 0;
    for (unsigned d = VEIL_SMT_DEPTH; d-- > 0;)
        if (veil_smt_bit(proof->bitmap, d)) {
            end = d + 1;
            break;
        }
    uint8_t h[VEIL_SMT_HASH_LEN], zero[VEIL_SMT_HASH_LEN];
    memset(zero, 0, sizeof zero);
    if (value_hash != NULL) {
        veil_smt_leaf_hash(h, key, value_hash);
    } else if (proof->has_other) {
        /* Another leaf alone in the key's subtree at depth `end`: it must share the
         * key's first `end` bits and be another key. */
        ENSURE(memcmp(proof->other_key, key, VEIL_SMT_HASH_LEN) != 0, VEIL_ERR_MALFORMED);
        for (unsigned d = 0; d < end; d++)
            ENSURE(veil_smt_bit(proof->other_key, d) == veil_smt_bit(key, d), VEIL_ERR_MALFORMED);
        veil_smt_leaf_hash(h, proof->other_key, proof->other_value_hash);
    } else {
        memset(h, 0, sizeof h);
    }
    size_t next = proof->n_siblings; /* siblings are stored root first: consume backwards */
    for (unsigned d = end; d-- > 0;) {
        const uint8_t *sib = zero;
        if (veil_smt_bit(proof->bitmap, d)) {
            sib = proof->siblings[--next];
            /* An empty sibling is never carried: the canonical proof is the only one. */
            ENSURE(!smt_is_zero(sib), VEIL_ERR_MALFORMED);
        }
        uint8_t up[VEIL_SMT_HASH_LEN];
        if (veil_smt_bit(key, d))
            veil_smt_node_hash(up, sib, h);
        else
            veil_smt_node_hash(up, h, sib);
        memcpy(h, up, sizeof h);
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
