/* In-memory path-compressed sparse Merkle tree; see smt.h. */
#include "host/node/smt.h"

#include <stdlib.h>
#include <string.h>

#define LIFT_NONE 0xffffu

typedef struct smt_n {
    struct smt_n *child[2]; /* both NULL for a leaf */
    uint16_t depth;         /* branch: the bit its children differ in; leaf: 256 */
    uint16_t lifted_to;     /* depth `lifted` is valid for, or LIFT_NONE */
    bool dirty;             /* hash (and lifted) must be recomputed */
    uint8_t key[VEIL_SMT_HASH_LEN]; /* leaf: its key; branch: any key below it */
    uint8_t value_hash[VEIL_SMT_HASH_LEN];
    uint8_t hash[VEIL_SMT_HASH_LEN];   /* the subtree's hash at `depth` */
    uint8_t lifted[VEIL_SMT_HASH_LEN]; /* the same subtree seen from depth lifted_to */
} smt_n;

struct node_smt {
    smt_n *root;
    size_t count;
};

/* Every empty subtree hashes to zero (smt_verify.h). */
static const uint8_t g_zero[VEIL_SMT_HASH_LEN];

static bool smt_is_leaf(const smt_n *n) { return n->child[0] == NULL; }

/* First bit position where a and b differ, 256 if equal. */
static unsigned smt_first_diff(const uint8_t *a, const uint8_t *b)
{
    for (unsigned i = 0; i < VEIL_SMT_HASH_LEN; i++) {
        unsigned x = a[i] ^ b[i];
        if (x) return i * 8 + (unsigned)__builtin_clz(x) - (unsigned)(8 * sizeof(unsigned) - 8);
    }
    return VEIL_SMT_DEPTH;
}

veil_status node_smt_new(node_smt **out)
{
    node_smt *t = calloc(1, sizeof *t);
    ENSURE(t != NULL, VEIL_ERR_NOMEM);
    *out = t;
    return VEIL_OK;
}

static void smt_free_n(smt_n *n)
{
    if (n == NULL) return;
    smt_free_n(n->child[0]);
    smt_free_n(n->child[1]);
    free(n);
}

void node_smt_free(node_smt *t)
{
    if (t == NULL) return;
    smt_free_n(t->root);
    free(t);
}

size_t node_smt_count(const node_smt *t) { return t->count; }

static void smt_touch(smt_n *n)
{
    n->dirty = true;
    n->lifted_to = LIFT_NONE;
}

static void smt_rehash(node_smt *t, smt_n *n);

/* The hash of n's subtree seen from depth `to` (<= n->depth): a leaf's own hash (it is
 * alone all the way up), a branch's carried up through the empty levels between. */
static const uint8_t *smt_lift(node_smt *t, smt_n *n, unsigned to)
{
    smt_rehash(t, n);
    if (to == n->depth || smt_is_leaf(n)) return n->hash;
    if (n->lifted_to == to) return n->lifted;
    uint8_t h[VEIL_SMT_HASH_LEN], up[VEIL_SMT_HASH_LEN];
    memcpy(h, n->hash, sizeof h);
    for (unsigned d = n->depth; d-- > to;) {
        if (veil_smt_bit(n->key, d))
            veil_smt_node_hash(up, g_zero, h);
        else
            veil_smt_node_hash(up, h, g_zero);
        memcpy(h, up, sizeof h);
    }
    memcpy(n->lifted, h, sizeof h);
    n->lifted_to = (uint16_t)to;
    return n->lifted;
}

static void smt_rehash(node_smt *t, smt_n *n)
{
    if (!n->dirty) return;
    if (smt_is_leaf(n)) {
        veil_smt_leaf_hash(n->hash, n->key, n->value_hash);
    } else {
        uint8_t l[VEIL_SMT_HASH_LEN];
        memcpy(l, smt_lift(t, n->child[0], n->depth + 1u), sizeof l);
        veil_smt_node_hash(n->hash, l, smt_lift(t, n->child[1], n->depth + 1u));
    }
    n->dirty = false;
}

static smt_n *smt_leaf_new(const uint8_t *key, const uint8_t *value_hash)
{
    smt_n *n = calloc(1, sizeof *n);
    if (n == NULL) return NULL;
    n->depth = VEIL_SMT_DEPTH;
    memcpy(n->key, key, VEIL_SMT_HASH_LEN);
    memcpy(n->value_hash, value_hash, VEIL_SMT_HASH_LEN);
    smt_touch(n);
    return n;
}

veil_status node_smt_set(node_smt *t, const uint8_t key[static VEIL_SMT_HASH_LEN],
                         const uint8_t value_hash[static VEIL_SMT_HASH_LEN])
{
    smt_n **pp = &t->root;
    /* Nodes are marked dirty on the way down; a no-op update only costs rehashing. */
    while (*pp != NULL) {
        smt_n *n = *pp;
        unsigned p = smt_first_diff(key, n->key);
        if (p < n->depth) {
            /* The key leaves n's path above n: a new branch at p holds both. */
            smt_n *leaf = smt_leaf_new(key, value_hash);
            smt_n *br = calloc(1, sizeof *br);
            if (leaf == NULL || br == NULL) {
                free(leaf);
                free(br);
                return VEIL_ERR_NOMEM;
            }
            br->depth = (uint16_t)p;
            memcpy(br->key, key, VEIL_SMT_HASH_LEN);
            unsigned b = veil_smt_bit(key, p);
            br->child[b] = leaf;
            br->child[!b] = n;
            smt_touch(br);
            *pp = br;
            t->count++;
            return VEIL_OK;
        }
        smt_touch(n);
        if (smt_is_leaf(n)) { /* p == 256: same key */
            memcpy(n->value_hash, value_hash, VEIL_SMT_HASH_LEN);
            return VEIL_OK;
        }
        pp = &n->child[veil_smt_bit(key, n->depth)];
    }
    *pp = smt_leaf_new(key, value_hash);
    ENSURE(*pp != NULL, VEIL_ERR_NOMEM);
    t->count++;
    return VEIL_OK;
}

veil_status node_smt_delete(node_smt *t, const uint8_t key[static VEIL_SMT_HASH_LEN])
{
    smt_n **path[VEIL_SMT_DEPTH + 2];
    size_t depth = 0;
    smt_n **pp = &t->root;
    while (*pp != NULL && !smt_is_leaf(*pp)) {
        path[depth++] = pp;
        pp = &(*pp)->child[veil_smt_bit(key, (*pp)->depth)];
    }
    ENSURE(*pp != NULL && memcmp((*pp)->key, key, VEIL_SMT_HASH_LEN) == 0, VEIL_ERR_NOT_FOUND);
    smt_n *leaf = *pp;
    if (depth == 0) {
        t->root = NULL;
    } else {
        /* The leaf's parent branch is replaced by the leaf's sibling. */
        smt_n **ppar = path[depth - 1];
        smt_n *par = *ppar;
        *ppar = par->child[par->child[0] == leaf ? 1 : 0];
        free(par);
        depth--;
    }
    free(leaf);
    for (size_t i = 0; i < depth; i++) smt_touch(*path[i]);
    t->count--;
    return VEIL_OK;
}

bool node_smt_get(const node_smt *t, const uint8_t key[static VEIL_SMT_HASH_LEN],
                  uint8_t *value_hash)
{
    const smt_n *n = t->root;
    while (n != NULL && !smt_is_leaf(n)) n = n->child[veil_smt_bit(key, n->depth)];
    if (n == NULL || memcmp(n->key, key, VEIL_SMT_HASH_LEN) != 0) return false;
    if (value_hash) memcpy(value_hash, n->value_hash, VEIL_SMT_HASH_LEN);
    return true;
}

void node_smt_root(node_smt *t, uint8_t root[static VEIL_SMT_HASH_LEN])
{
    if (t->root == NULL)
        memcpy(root, g_zero, VEIL_SMT_HASH_LEN);
    else
        memcpy(root, smt_lift(t, t->root, 0), VEIL_SMT_HASH_LEN);
}

void node_smt_prove(node_smt *t, const uint8_t key[static VEIL_SMT_HASH_LEN],
                    veil_smt_proof *proof, bool *present, uint8_t *value_hash)
{
    uint8_t root[VEIL_SMT_HASH_LEN];
    node_smt_root(t, root); /* every cached hash is now current */
    memset(proof->bitmap, 0, sizeof proof->bitmap);
    proof->n_siblings = 0;
    proof->has_other = false;
    *present = false;
    /* Walking down visits depths in increasing order, which is the proof's order. */
    smt_n *n = t->root;
    while (n != NULL) {
        if (smt_is_leaf(n)) {
            /* The leaf is alone in the subtree where the path ends: the key's own, or
             * another that proves the key absent. */
            if (memcmp(n->key, key, VEIL_SMT_HASH_LEN) == 0) {
                *present = true;
                if (value_hash) memcpy(value_hash, n->value_hash, VEIL_SMT_HASH_LEN);
            } else {
                proof->has_other = true;
                memcpy(proof->other_key, n->key, VEIL_SMT_HASH_LEN);
                memcpy(proof->other_value_hash, n->value_hash, VEIL_SMT_HASH_LEN);
            }
            break;
        }
        unsigned p = smt_first_diff(key, n->key);
        unsigned d;
        const uint8_t *h;
        if (p < n->depth) {
            /* The key's path leaves the branch's above it: the branch's whole subtree is
             * the sibling at p and the key's side below is empty. */
            d = p;
            h = smt_lift(t, n, p + 1);
            n = NULL;
        } else {
            unsigned b = veil_smt_bit(key, n->depth);
            d = n->depth;
            h = smt_lift(t, n->child[!b], n->depth + 1u);
            n = n->child[b];
        }
        proof->bitmap[d >> 3] |= (uint8_t)(0x80u >> (d & 7));
        memcpy(proof->siblings[proof->n_siblings++], h, VEIL_SMT_HASH_LEN);
    }
}
