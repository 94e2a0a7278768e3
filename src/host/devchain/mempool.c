#include "host/devchain/mempool.h"

#include <pthread.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>

#include "hostutil/keymap.h"

typedef struct mp_entry {
    uint8_t hash[CMT_HASH_LEN];
    size_t len;
    uint8_t data[];
} mp_entry;

struct mempool {
    mempool_limits lim;
    pthread_mutex_t mu;
    mp_entry **pool; /* FIFO */
    size_t n, cap;
    size_t bytes;
    size_t pending; /* checked in, CheckTx in flight: counted against max_txs */
    /* Cache: a ring of the last cache_size hashes; count of valid slots. */
    uint8_t (*cache)[CMT_HASH_LEN];
    size_t cache_next, cache_count;
    /* Indexes, sized at creation so that no insert can fail: hash -> ring slot, and
     * the hashes in the pool. Every check-in looked both up by linear scans (15 000
     * compares), and a block's removal moved the pool once per tx. */
    veil_keymap cache_idx, pool_idx;
};

veil_status mempool_new(const mempool_limits *lim, mempool **out)
{
    mempool *mp = calloc(1, sizeof *mp);
    if (mp == NULL) return VEIL_ERR_NOMEM;
    mp->lim = *lim;
    if (mp->lim.cache_size == 0) mp->lim.cache_size = 1;
    mp->cache = calloc(mp->lim.cache_size, CMT_HASH_LEN);
    veil_keymap_init(&mp->cache_idx, CMT_HASH_LEN);
    veil_keymap_init(&mp->pool_idx, CMT_HASH_LEN);
    if (mp->cache == NULL || mp->lim.cache_size > UINT32_MAX ||
        veil_keymap_reserve(&mp->cache_idx, mp->lim.cache_size) != VEIL_OK ||
        veil_keymap_reserve(&mp->pool_idx, mp->lim.max_txs + 1) != VEIL_OK) {
        veil_keymap_free(&mp->cache_idx);
        veil_keymap_free(&mp->pool_idx);
        free(mp->cache);
        free(mp);
        return VEIL_ERR_NOMEM;
    }
    pthread_mutex_init(&mp->mu, NULL);
    *out = mp;
    return VEIL_OK;
}

void mempool_free(mempool *mp)
{
    if (mp == NULL) return;
    for (size_t i = 0; i < mp->n; i++) free(mp->pool[i]);
    free(mp->pool);
    free(mp->cache);
    veil_keymap_free(&mp->cache_idx);
    veil_keymap_free(&mp->pool_idx);
    pthread_mutex_destroy(&mp->mu);
    free(mp);
}

static bool cache_has(const mempool *mp, const uint8_t *hash)
{
    return veil_keymap_get(&mp->cache_idx, hash, NULL);
}

static void cache_push(mempool *mp, const uint8_t *hash)
{
    if (cache_has(mp, hash)) return;
    uint8_t *slot = mp->cache[mp->cache_next];
    /* The ring's oldest hash leaves (a zeroed slot was already removed). */
    if (mp->cache_count == mp->lim.cache_size) (void)veil_keymap_del(&mp->cache_idx, slot);
    memcpy(slot, hash, CMT_HASH_LEN);
    veil_status reserved = veil_keymap_put(&mp->cache_idx, hash, (uint32_t)mp->cache_next);
    (void)reserved; /* at most cache_size keys: reserved at creation */
    mp->cache_next = (mp->cache_next + 1) % mp->lim.cache_size;
    if (mp->cache_count < mp->lim.cache_size) mp->cache_count++;
}

static void cache_remove(mempool *mp, const uint8_t *hash)
{
    uint32_t i;
    if (!veil_keymap_get(&mp->cache_idx, hash, &i)) return;
    (void)veil_keymap_del(&mp->cache_idx, hash);
    /* Zero the slot: a zero hash is never looked up (it would need a SHA-256
     * preimage). */
    memset(mp->cache[i], 0, CMT_HASH_LEN);
}

static bool pool_has(const mempool *mp, const uint8_t *hash)
{
    return veil_keymap_get(&mp->pool_idx, hash, NULL);
}

static ssize_t pool_find(const mempool *mp, const uint8_t *hash)
{
    if (!pool_has(mp, hash)) return -1;
    for (size_t i = 0; i < mp->n; i++)
        if (memcmp(mp->pool[i]->hash, hash, CMT_HASH_LEN) == 0) return (ssize_t)i;
    return -1;
}

static void pool_remove_at(mempool *mp, size_t i)
{
    (void)veil_keymap_del(&mp->pool_idx, mp->pool[i]->hash);
    mp->bytes -= mp->pool[i]->len;
    free(mp->pool[i]);
    memmove(&mp->pool[i], &mp->pool[i + 1], (mp->n - i - 1) * sizeof mp->pool[0]);
    mp->n--;
}

veil_status mempool_check_in(mempool *mp, size_t tx_len, const uint8_t hash[static CMT_HASH_LEN])
{
    if (tx_len > mp->lim.max_tx_bytes) return VEIL_ERR_TOO_LARGE;
    veil_status st = VEIL_OK;
    pthread_mutex_lock(&mp->mu);
    if (cache_has(mp, hash) || pool_has(mp, hash)) st = VEIL_ERR_EXISTS;
    else if (mp->n + mp->pending >= mp->lim.max_txs || mp->bytes + tx_len > mp->lim.max_bytes)
        st = VEIL_ERR_LIMIT;
    if (st == VEIL_OK) {
        cache_push(mp, hash);
        mp->pending++;
    }
    pthread_mutex_unlock(&mp->mu);
    return st;
}

veil_status mempool_add(mempool *mp, const uint8_t *tx, size_t len,
                        const uint8_t hash[static CMT_HASH_LEN])
{
    mp_entry *e = malloc(sizeof *e + (len ? len : 1));
    if (e == NULL) {
        mempool_forget(mp, hash);
        return VEIL_ERR_NOMEM;
    }
    memcpy(e->hash, hash, CMT_HASH_LEN);
    e->len = len;
    if (len) memcpy(e->data, tx, len);
    veil_status st = VEIL_OK;
    pthread_mutex_lock(&mp->mu);
    if (mp->pending > 0) mp->pending--;
    if (mp->bytes + len > mp->lim.max_bytes) {
        st = VEIL_ERR_LIMIT;
    } else if (mp->n == mp->cap) {
        size_t cap = mp->cap ? mp->cap * 2 : 64;
        mp_entry **p = realloc(mp->pool, cap * sizeof *p);
        if (p == NULL) st = VEIL_ERR_NOMEM;
        else {
            mp->pool = p;
            mp->cap = cap;
        }
    }
    /* check_in keeps both from happening; the index's reserved room depends on it. */
    if (st == VEIL_OK && mp->n > mp->lim.max_txs) st = VEIL_ERR_LIMIT;
    if (st == VEIL_OK && pool_has(mp, hash)) {
        free(e);
        pthread_mutex_unlock(&mp->mu);
        return VEIL_ERR_EXISTS;
    }
    if (st == VEIL_OK) {
        veil_status reserved = veil_keymap_put(&mp->pool_idx, hash, 1);
        (void)reserved; /* at most max_txs + 1 keys: reserved at creation */
        mp->pool[mp->n++] = e;
        mp->bytes += len;
    } else {
        cache_remove(mp, hash);
        free(e);
    }
    pthread_mutex_unlock(&mp->mu);
    return st;
}

void mempool_forget(mempool *mp, const uint8_t hash[static CMT_HASH_LEN])
{
    pthread_mutex_lock(&mp->mu);
    if (mp->pending > 0) mp->pending--;
    cache_remove(mp, hash);
    pthread_mutex_unlock(&mp->mu);
}

static size_t framed_size(size_t len)
{
    /* types.ComputeProtoSizeForTxs for one tx: field tag + varint length + bytes. */
    size_t v = 1;
    for (size_t x = len; x >= 0x80; x >>= 7) v++;
    return 1 + v + len;
}

veil_status mempool_reap(mempool *mp, int64_t max_bytes, mempool_batch *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&mp->mu);
    size_t n = 0, total = 0, used = 0;
    for (; n < mp->n; n++) {
        size_t f = framed_size(mp->pool[n]->len);
        if (max_bytes >= 0 && used + f > (uint64_t)max_bytes) break;
        used += f;
        total += mp->pool[n]->len;
    }
    veil_status st = VEIL_OK;
    out->txs = calloc(n ? n : 1, sizeof *out->txs);
    out->hashes = calloc(n ? n : 1, CMT_HASH_LEN);
    out->data = malloc(total ? total : 1);
    if (out->txs == NULL || out->hashes == NULL || out->data == NULL) {
        st = VEIL_ERR_NOMEM;
    } else {
        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
            memcpy(out->data + off, mp->pool[i]->data, mp->pool[i]->len);
            out->txs[i].p = out->data + off;
            out->txs[i].len = mp->pool[i]->len;
            memcpy(out->hashes[i], mp->pool[i]->hash, CMT_HASH_LEN);
            off += mp->pool[i]->len;
        }
        out->n = n;
    }
    pthread_mutex_unlock(&mp->mu);
    if (st != VEIL_OK) mempool_batch_free(out);
    return st;
}

void mempool_batch_free(mempool_batch *b)
{
    free(b->txs);
    free(b->hashes);
    free(b->data);
    memset(b, 0, sizeof *b);
}

void mempool_update(mempool *mp, const uint8_t (*hashes)[CMT_HASH_LEN], size_t n)
{
    pthread_mutex_lock(&mp->mu);
    /* Committed txs leave the index, then the pool in one pass (order kept). */
    size_t gone = 0;
    for (size_t i = 0; i < n; i++) {
        if (veil_keymap_del(&mp->pool_idx, hashes[i])) gone++;
        cache_push(mp, hashes[i]);
    }
    if (gone > 0) {
        size_t keep = 0;
        for (size_t i = 0; i < mp->n; i++) {
            if (pool_has(mp, mp->pool[i]->hash)) {
                mp->pool[keep++] = mp->pool[i];
            } else {
                mp->bytes -= mp->pool[i]->len;
                free(mp->pool[i]);
            }
        }
        mp->n = keep;
    }
    pthread_mutex_unlock(&mp->mu);
}

void mempool_remove(mempool *mp, const uint8_t hash[static CMT_HASH_LEN])
{
    pthread_mutex_lock(&mp->mu);
    ssize_t at = pool_find(mp, hash);
    if (at >= 0) pool_remove_at(mp, (size_t)at);
    cache_remove(mp, hash);
    pthread_mutex_unlock(&mp->mu);
}

size_t mempool_count(mempool *mp)
{
    pthread_mutex_lock(&mp->mu);
    size_t n = mp->n;
    pthread_mutex_unlock(&mp->mu);
    return n;
}

size_t mempool_total_bytes(mempool *mp)
{
    pthread_mutex_lock(&mp->mu);
    size_t n = mp->bytes;
    pthread_mutex_unlock(&mp->mu);
    return n;
}
