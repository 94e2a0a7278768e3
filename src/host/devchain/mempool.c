#include "host/devchain/mempool.h"

#include <pthread.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>

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
    /* Cache: a ring of the last cache_size hashes; count of valid slots. Linear scans
     * are fine at these sizes (SHA-256 first words differ almost always). */
    uint8_t (*cache)[CMT_HASH_LEN];
    size_t cache_next, cache_count;
};

veil_status mempool_new(const mempool_limits *lim, mempool **out)
{
    mempool *mp = calloc(1, sizeof *mp);
    if (mp == NULL) return VEIL_ERR_NOMEM;
    mp->lim = *lim;
    if (mp->lim.cache_size == 0) mp->lim.cache_size = 1;
    mp->cache = calloc(mp->lim.cache_size, CMT_HASH_LEN);
    if (mp->cache == NULL) {
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
    pthread_mutex_destroy(&mp->mu);
    free(mp);
}

static ssize_t cache_find(const mempool *mp, const uint8_t *hash)
{
    for (size_t i = 0; i < mp->cache_count; i++)
        if (memcmp(mp->cache[i], hash, CMT_HASH_LEN) == 0) return (ssize_t)i;
    return -1;
}

static void cache_push(mempool *mp, const uint8_t *hash)
{
    if (cache_find(mp, hash) >= 0) return;
    memcpy(mp->cache[mp->cache_next], hash, CMT_HASH_LEN);
    mp->cache_next = (mp->cache_next + 1) % mp->lim.cache_size;
    if (mp->cache_count < mp->lim.cache_size) mp->cache_count++;
}

static void cache_remove(mempool *mp, const uint8_t *hash)
{
    ssize_t i = cache_find(mp, hash);
    if (i < 0) return;
    /* Zero the slot: a zero hash is never looked up (it would need a SHA-256
     * preimage). */
    memset(mp->cache[i], 0, CMT_HASH_LEN);
}

static ssize_t pool_find(const mempool *mp, const uint8_t *hash)
{
    for (size_t i = 0; i < mp->n; i++)
        if (memcmp(mp->pool[i]->hash, hash, CMT_HASH_LEN) == 0) return (ssize_t)i;
    return -1;
}

static void pool_remove_at(mempool *mp, size_t i)
{
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
    if (cache_find(mp, hash) >= 0 || pool_find(mp, hash) >= 0) st = VEIL_ERR_EXISTS;
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
    if (st == VEIL_OK) {
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
    for (size_t i = 0; i < n; i++) {
        ssize_t at = pool_find(mp, hashes[i]);
        if (at >= 0) pool_remove_at(mp, (size_t)at);
        cache_push(mp, hashes[i]);
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
