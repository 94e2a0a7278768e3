/* The TVE host's LMDB store (layout: tve_store.h). */
#include "host/tve/tve_store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <lmdb.h>
#include <pthread.h>

#include "common/cursor.h"
#include "hostutil/fileio.h"
#include "hostutil/keymap.h"
#include "hostutil/lmdb_env.h"

#define META_VERSION "version"
#define META_CHAIN_ID "chain_id"
#define META_KEY_EPOCH "key_epoch"
#define META_LAST_HEIGHT "last_height"
#define META_LAST_APP_HASH "last_app_hash"
#define META_AWAITED_KEY "awaited_key" /* the chain's commitment to a key drawn elsewhere */

/* Reader slots: one per concurrent read transaction (worker threads plus the service
 * thread), with room to spare. */
#define TVE_STORE_MAX_READERS 512u
/* A block record holds at most this many txs (the service bounds blocks lower). */
#define TVE_STORE_BLOCK_MAX_TXS 100000u

struct tve_store {
    int lock_fd; /* flock'ed HOME/tve.lock: one daemon per store */
    MDB_env *env;
    MDB_dbi meta, keys, txs, txids, spent, blocks;
    /* The txid index, in memory: txid -> ordinal -> place. Built from `txids` at open,
     * extended after each durable commit. */
    pthread_rwlock_t index_lock;
    bool have_lock;
    veil_keymap index;
    uint64_t *places; /* ordinal -> height << 32 | index */
    size_t n_places, cap_places;
};

/* A committed tx's place: height u64 BE || index u32 BE. Keys of `txs` and values of
 * `txids`; with an output index appended, keys of `spent`. */
#define POS_LEN 12u
#define SPENT_KEY_LEN (POS_LEN + 4u)

#define store_err veil_lmdb_err
#define val_of veil_lmdb_val

static MDB_val key_str(const char *s) { return val_of(s, strlen(s)); }

static veil_status put_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t v)
{
    uint8_t b[8];
    veil_put_u64(b, v);
    MDB_val k = key_str(key), d = val_of(b, sizeof b);
    int rc = mdb_put(txn, dbi, &k, &d, 0);
    return rc == 0 ? VEIL_OK : store_err("put", rc);
}

static veil_status get_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *v)
{
    MDB_val k = key_str(key), d;
    int rc = mdb_get(txn, dbi, &k, &d);
    if (rc != 0) return store_err("get", rc);
    if (d.mv_size != 8) {
        veil_error_detail_set("store: meta %s has %zu bytes", key, d.mv_size);
        return VEIL_ERR_DB;
    }
    *v = veil_get_u64(d.mv_data);
    return VEIL_OK;
}

/* The first open of a fresh store writes the layout version; later opens check it. */
static veil_status store_check_version(tve_store *s)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0) return store_err("begin", rc);
    veil_status st = VEIL_OK;
    MDB_val k = key_str(META_VERSION), d;
    rc = mdb_get(txn, s->meta, &k, &d);
    if (rc == MDB_NOTFOUND) {
        uint8_t b[4];
        veil_put_u32(b, TVE_STORE_VERSION);
        d = val_of(b, sizeof b);
        rc = mdb_put(txn, s->meta, &k, &d, 0);
        ENSURE_OUT(rc == 0, store_err("put", rc));
        rc = mdb_txn_commit(txn);
        txn = NULL;
        ENSURE_OUT(rc == 0, store_err("commit", rc));
    } else {
        ENSURE_OUT(rc == 0, store_err("get", rc));
        if (d.mv_size != 4 || veil_get_u32(d.mv_data) != TVE_STORE_VERSION) {
            if (d.mv_size == 4)
                veil_error_detail_set("TVE store layout version is %u, not %u (re-create the "
                                      "home; stores are not converted)",
                                      veil_get_u32(d.mv_data), TVE_STORE_VERSION);
            else
                veil_error_detail_set("TVE store layout version is not %u", TVE_STORE_VERSION);
            st = VEIL_ERR_BAD_VERSION;
        }
    }
out:
    if (txn != NULL) mdb_txn_abort(txn);
    return st;
}

static veil_status read_begin(tve_store *s, MDB_txn **txn)
{
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
    return rc == 0 ? VEIL_OK : store_err("begin", rc);
}

/* --- the txid index ----------------------------------------------------------------- */
static uint64_t place_pack(const uint8_t pos[static POS_LEN])
{
    return veil_get_u64(pos) << 32 | veil_get_u32(pos + 8);
}

/* Room for `more` entries: afterwards index_add cannot fail for them. */
static veil_status index_reserve(tve_store *s, size_t more)
{
    size_t need;
    ENSURE(!veil_add_overflows(s->n_places, more, &need) && need <= UINT32_MAX,
           VEIL_ERR_TOO_LARGE);
    if (need > s->cap_places) {
        size_t cap = s->cap_places ? s->cap_places : 1024;
        while (cap < need) cap *= 2;
        uint64_t *p = realloc(s->places, cap * sizeof *p);
        ENSURE(p != NULL, VEIL_ERR_NOMEM);
        s->places = p;
        s->cap_places = cap;
    }
    return veil_keymap_reserve(&s->index, more);
}

static void index_add(tve_store *s, const uint8_t txid[static 32], uint64_t place)
{
    uint32_t ord = (uint32_t)s->n_places;
    s->places[s->n_places++] = place;
    veil_status reserved = veil_keymap_put(&s->index, txid, ord); /* cannot fail */
    (void)reserved;
}

/* Reads the `txids` log (place -> txid, in place order) into the index. */
static veil_status index_load(tve_store *s)
{
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    MDB_stat stat;
    MDB_val k, d;
    veil_status st = VEIL_OK;

    TRY(read_begin(s, &txn));
    int rc = mdb_stat(txn, s->txids, &stat);
    ENSURE_OUT(rc == 0, store_err("stat", rc));
    TRY_OUT(index_reserve(s, stat.ms_entries));
    rc = mdb_cursor_open(txn, s->txids, &cur);
    ENSURE_OUT(rc == 0, store_err("cursor_open", rc));
    for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        if (k.mv_size != POS_LEN || d.mv_size != TVE_TXID_LEN ||
            s->n_places >= stat.ms_entries || veil_keymap_get(&s->index, d.mv_data, NULL)) {
            veil_error_detail_set("store: damaged txid log entry");
            st = VEIL_ERR_DB;
            goto out;
        }
        index_add(s, d.mv_data, place_pack(k.mv_data));
    }
    ENSURE_OUT(rc == MDB_NOTFOUND, store_err("cursor_get", rc));
out:
    if (cur != NULL) mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return st;
}

/* The place of a committed tx: VEIL_ERR_NOT_FOUND if none. Thread-safe. */
static veil_status tx_pos(tve_store *s, const uint8_t txid[static 32], uint8_t pos[static POS_LEN])
{
    uint32_t ord;
    pthread_rwlock_rdlock(&s->index_lock);
    bool found = veil_keymap_get(&s->index, txid, &ord);
    uint64_t place = found ? s->places[ord] : 0;
    pthread_rwlock_unlock(&s->index_lock);
    if (!found) return VEIL_ERR_NOT_FOUND;
    veil_put_u64(pos, place >> 32);
    veil_put_u32(pos + 8, (uint32_t)place);
    return VEIL_OK;
}

veil_status tve_store_open(const char *home, bool no_sync, tve_store **out)
{
    char dir[PATH_MAX];
    veil_status st;

    TRY(veil_mkdir_p(home, 0700));
    TRY(veil_path_join(dir, sizeof dir, home, TVE_STORE_DIR));
    TRY(veil_mkdir_p(dir, 0700));
    tve_store *s = calloc(1, sizeof *s);
    ENSURE(s != NULL, VEIL_ERR_NOMEM);
    s->lock_fd = -1;
    veil_keymap_init(&s->index, TVE_TXID_LEN);
    if (pthread_rwlock_init(&s->index_lock, NULL) != 0) {
        free(s);
        return VEIL_ERR_NOMEM;
    }
    s->have_lock = true;
    /* Two daemons on one store would each stage and commit the same heights. */
    TRY_OUT(veil_dir_lock(home, TVE_STORE_LOCK, "another veil tve?", &s->lock_fd));
    static const char *const names[] = {"meta", "keys", "txs", "txids", "spent", "blocks"};
    MDB_dbi dbis[6];
    veil_lmdb_spec spec = {dir, TVE_STORE_MAP_SIZE, TVE_STORE_MAX_READERS, no_sync, names, dbis, 6};
    TRY_OUT(veil_lmdb_open(&spec, &s->env));
    s->meta = dbis[0], s->keys = dbis[1], s->txs = dbis[2], s->txids = dbis[3];
    s->spent = dbis[4], s->blocks = dbis[5];
    TRY_OUT(store_check_version(s));
    TRY_OUT(index_load(s));
    *out = s;
    s = NULL;
    st = VEIL_OK;
out:
    tve_store_close(s);
    return st;
}

void tve_store_close(tve_store *s)
{
    if (s == NULL) return;
    if (s->env != NULL) mdb_env_close(s->env);
    if (s->lock_fd >= 0) close(s->lock_fd);
    veil_keymap_free(&s->index);
    free(s->places);
    if (s->have_lock) pthread_rwlock_destroy(&s->index_lock);
    free(s);
}

veil_status tve_store_meta_get(tve_store *s, tve_store_meta *out)
{
    MDB_txn *txn;
    MDB_val k, d;
    veil_status st = VEIL_OK;

    memset(out, 0, sizeof *out);
    TRY(read_begin(s, &txn));
    k = key_str(META_CHAIN_ID);
    int rc = mdb_get(txn, s->meta, &k, &d);
    if (rc == MDB_NOTFOUND) goto out; /* not initialised: all zero */
    ENSURE_OUT(rc == 0, store_err("get", rc));
    ENSURE_OUT(d.mv_size >= 1 && d.mv_size <= TVE_CHAIN_ID_MAX, VEIL_ERR_DB);
    memcpy(out->chain_id, d.mv_data, d.mv_size);
    out->chain_id[d.mv_size] = '\0';
    TRY_OUT(get_u64(txn, s->meta, META_KEY_EPOCH, &out->key_epoch));
    TRY_OUT(get_u64(txn, s->meta, META_LAST_HEIGHT, &out->last_height));
    k = key_str(META_LAST_APP_HASH);
    rc = mdb_get(txn, s->meta, &k, &d);
    ENSURE_OUT(rc == 0, store_err("get", rc));
    ENSURE_OUT(d.mv_size <= TVE_APP_HASH_MAX, VEIL_ERR_DB);
    if (d.mv_size > 0) memcpy(out->last_app_hash, d.mv_data, d.mv_size);
    out->last_app_hash_len = d.mv_size;
    k = key_str(META_AWAITED_KEY);
    rc = mdb_get(txn, s->meta, &k, &d);
    if (rc == 0) {
        ENSURE_OUT(d.mv_size == 32, VEIL_ERR_DB);
        memcpy(out->awaited_commitment, d.mv_data, 32);
        out->awaiting = true;
    } else {
        ENSURE_OUT(rc == MDB_NOTFOUND, store_err("get", rc));
    }
    out->initialized = true;
out:
    mdb_txn_abort(txn);
    if (st != VEIL_OK) memset(out, 0, sizeof *out);
    return st;
}

veil_status tve_store_init_chain(tve_store *s, const char *chain_id, uint64_t epoch,
                                 const uint8_t *sealed_key, size_t sealed_key_len,
                                 const uint8_t *awaited)
{
    size_t id_len = strlen(chain_id);
    ENSURE(id_len >= 1 && id_len <= TVE_CHAIN_ID_MAX, VEIL_ERR_ARG);
    MDB_txn *txn;
    veil_status st = VEIL_OK;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0) return store_err("begin", rc);

    MDB_val k = key_str(META_CHAIN_ID), d = val_of(chain_id, id_len);
    rc = mdb_put(txn, s->meta, &k, &d, MDB_NOOVERWRITE);
    ENSURE_OUT(rc != MDB_KEYEXIST, VEIL_ERR_EXISTS);
    ENSURE_OUT(rc == 0, store_err("put", rc));
    TRY_OUT(put_u64(txn, s->meta, META_KEY_EPOCH, epoch));
    TRY_OUT(put_u64(txn, s->meta, META_LAST_HEIGHT, 0));
    k = key_str(META_LAST_APP_HASH);
    d = val_of("", 0);
    rc = mdb_put(txn, s->meta, &k, &d, 0);
    ENSURE_OUT(rc == 0, store_err("put", rc));
    if (sealed_key != NULL) { /* NULL: initialised without a key (awaits the chain's) */
        uint8_t ek[8];
        veil_put_u64(ek, epoch);
        k = val_of(ek, sizeof ek);
        d = val_of(sealed_key, sealed_key_len);
        rc = mdb_put(txn, s->keys, &k, &d, 0);
        ENSURE_OUT(rc == 0, store_err("put", rc));
    }
    if (awaited != NULL) {
        k = key_str(META_AWAITED_KEY);
        d = val_of(awaited, 32);
        rc = mdb_put(txn, s->meta, &k, &d, 0);
        ENSURE_OUT(rc == 0, store_err("put", rc));
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    ENSURE_OUT(rc == 0, store_err("commit", rc));
out:
    if (txn != NULL) mdb_txn_abort(txn);
    return st;
}

/* One durable transaction: put (sealed_key not NULL) or delete the key of epoch, and
 * with clear_awaited drop "awaited_key". */
static veil_status key_write(tve_store *s, uint64_t epoch, const uint8_t *sealed_key,
                             size_t sealed_key_len, bool clear_awaited)
{
    MDB_txn *txn;
    veil_status st = VEIL_OK;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0) return store_err("begin", rc);
    uint8_t ek[8];
    veil_put_u64(ek, epoch);
    MDB_val k = val_of(ek, sizeof ek), d = val_of(sealed_key, sealed_key_len);
    rc = sealed_key != NULL ? mdb_put(txn, s->keys, &k, &d, 0) : mdb_del(txn, s->keys, &k, NULL);
    ENSURE_OUT(rc == 0 || (sealed_key == NULL && rc == MDB_NOTFOUND), store_err("put", rc));
    if (clear_awaited) {
        k = key_str(META_AWAITED_KEY);
        rc = mdb_del(txn, s->meta, &k, NULL);
        ENSURE_OUT(rc == 0 || rc == MDB_NOTFOUND, store_err("del", rc));
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    ENSURE_OUT(rc == 0, store_err("commit", rc));
out:
    if (txn != NULL) mdb_txn_abort(txn);
    return st;
}

veil_status tve_store_key_del(tve_store *s, uint64_t epoch)
{
    return key_write(s, epoch, NULL, 0, false);
}

veil_status tve_store_key_add(tve_store *s, uint64_t epoch, const uint8_t *sealed_key,
                              size_t sealed_key_len)
{
    ENSURE(sealed_key != NULL && sealed_key_len > 0, VEIL_ERR_ARG);
    return key_write(s, epoch, sealed_key, sealed_key_len, false);
}

veil_status tve_store_key_put(tve_store *s, uint64_t epoch, const uint8_t *sealed_key,
                              size_t sealed_key_len)
{
    ENSURE(sealed_key != NULL && sealed_key_len > 0, VEIL_ERR_ARG);
    return key_write(s, epoch, sealed_key, sealed_key_len, true);
}

veil_status tve_store_keys_each(tve_store *s, tve_store_key_fn fn, void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    MDB_val k, d;
    veil_status st = VEIL_OK;

    TRY(read_begin(s, &txn));
    int rc = mdb_cursor_open(txn, s->keys, &cur);
    ENSURE_OUT(rc == 0, store_err("cursor_open", rc));
    for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        ENSURE_OUT(k.mv_size == 8, VEIL_ERR_DB);
        TRY_OUT(fn(ctx, veil_get_u64(k.mv_data), d.mv_data, d.mv_size));
    }
    ENSURE_OUT(rc == MDB_NOTFOUND, store_err("cursor_get", rc));
out:
    if (cur != NULL) mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return st;
}

veil_status tve_store_tx_get(tve_store *s, const uint8_t txid[static 32], uint8_t *out, size_t cap,
                             size_t *out_len)
{
    MDB_txn *txn;
    veil_status st = VEIL_OK;
    uint8_t pos[POS_LEN];
    /* The index first: it learns a tx only after its commit, so a read transaction
     * begun after the lookup sees the tx. */
    TRY(tx_pos(s, txid, pos));
    TRY(read_begin(s, &txn));
    MDB_val k = val_of(pos, POS_LEN), d;
    int rc = mdb_get(txn, s->txs, &k, &d);
    if (rc == MDB_NOTFOUND) veil_error_detail_set("store: the txid index points at no tx");
    ENSURE_OUT(rc != MDB_NOTFOUND, VEIL_ERR_DB);
    ENSURE_OUT(rc == 0, store_err("get", rc));
    ENSURE_OUT(d.mv_size <= cap, VEIL_ERR_BUFFER_TOO_SMALL);
    if (d.mv_size > 0) memcpy(out, d.mv_data, d.mv_size);
    *out_len = d.mv_size;
out:
    mdb_txn_abort(txn);
    return st;
}

veil_status tve_store_tx_exists(tve_store *s, const uint8_t txid[static 32], bool *exists)
{
    uint8_t pos[POS_LEN];
    veil_status st = tx_pos(s, txid, pos);
    *exists = st == VEIL_OK;
    return st == VEIL_ERR_NOT_FOUND ? VEIL_OK : st;
}

/* The `spent` key of an outpoint: its tx's place || output index. */
static void spent_key(const uint8_t pos[static POS_LEN],
                      const uint8_t outpoint[static TVE_OUTPOINT_LEN],
                      uint8_t key[static SPENT_KEY_LEN])
{
    memcpy(key, pos, POS_LEN);
    memcpy(key + POS_LEN, outpoint + TVE_TXID_LEN, 4);
}

veil_status tve_store_is_spent(tve_store *s, const uint8_t outpoint[static TVE_OUTPOINT_LEN],
                               bool *spent)
{
    MDB_txn *txn;
    uint8_t pos[POS_LEN], key[SPENT_KEY_LEN];
    *spent = false;
    veil_status st = tx_pos(s, outpoint, pos);
    if (st == VEIL_ERR_NOT_FOUND) return VEIL_OK; /* an output of no committed tx */
    TRY(st);
    spent_key(pos, outpoint, key);
    TRY(read_begin(s, &txn));
    MDB_val k = val_of(key, SPENT_KEY_LEN), d;
    int rc = mdb_get(txn, s->spent, &k, &d);
    mdb_txn_abort(txn);
    if (rc != 0 && rc != MDB_NOTFOUND) return store_err("get", rc);
    *spent = rc == 0;
    return VEIL_OK;
}

/* Serialises a block record (layout in tve_store.h). */
static veil_status block_record_build(const uint8_t *app_hash, size_t app_hash_len,
                                      const uint8_t bloom[TVE_STORE_BLOOM_LEN],
                                      const tve_store_tx *txs, size_t n, const uint32_t *codes,
                                      size_t n_codes, uint8_t **rec, size_t *rec_len)
{
    ENSURE(app_hash_len <= TVE_APP_HASH_MAX && n <= TVE_STORE_BLOCK_MAX_TXS &&
               n_codes <= TVE_STORE_BLOCK_MAX_TXS,
           VEIL_ERR_ARG);
    size_t len = 1 + app_hash_len + TVE_STORE_BLOOM_LEN + 4 + (n_codes > 0 ? 4 + 4 * n_codes : 0);
    for (size_t i = 0; i < n; i++) {
        ENSURE(txs[i].outcome_len <= UINT32_MAX, VEIL_ERR_ARG);
        ENSURE(!veil_add_overflows(len, 4 + txs[i].outcome_len, &len), VEIL_ERR_OVERFLOW);
    }
    uint8_t *p = malloc(len);
    ENSURE(p != NULL, VEIL_ERR_NOMEM);
    veil_writer w = veil_writer_init(p, len);
    veil_status st = VEIL_OK;
    TRY_OUT(veil_write_u8(&w, (uint8_t)app_hash_len));
    TRY_OUT(veil_write_bytes(&w, app_hash, app_hash_len));
    TRY_OUT(veil_write_bytes(&w, bloom, TVE_STORE_BLOOM_LEN));
    TRY_OUT(veil_write_u32(&w, (uint32_t)n));
    for (size_t i = 0; i < n; i++) {
        TRY_OUT(veil_write_u32(&w, (uint32_t)txs[i].outcome_len));
        TRY_OUT(veil_write_bytes(&w, txs[i].outcome, txs[i].outcome_len));
    }
    if (n_codes > 0) {
        TRY_OUT(veil_write_u32(&w, (uint32_t)n_codes));
        for (size_t i = 0; i < n_codes; i++) TRY_OUT(veil_write_u32(&w, codes[i]));
    }
    *rec = p;
    *rec_len = w.len;
    p = NULL;
out:
    free(p);
    return st;
}

veil_status tve_store_commit_block(tve_store *s, uint64_t height, const uint8_t *app_hash,
                                   size_t app_hash_len,
                                   const uint8_t bloom[static TVE_STORE_BLOOM_LEN],
                                   const tve_store_tx *txs, size_t n, const uint32_t *codes,
                                   size_t n_codes)
{
    uint8_t *rec = NULL;
    size_t rec_len;
    MDB_txn *txn = NULL;
    MDB_val k, d;
    veil_status st;
    int rc;
    veil_keymap block; /* this block's txids -> index: duplicates, spends within it */
    veil_keymap_init(&block, TVE_TXID_LEN);

    ENSURE(height <= UINT32_MAX && n <= TVE_STORE_BLOCK_MAX_TXS, VEIL_ERR_ARG);
    if (n_codes > 0) {
        /* The verdicts name every tx the block asked about; the accepted ones are txs. */
        size_t ok = 0;
        for (size_t i = 0; i < n_codes; i++) ok += codes[i] == 0;
        ENSURE(ok == n, VEIL_ERR_ARG);
    }
    TRY(block_record_build(app_hash, app_hash_len, bloom, txs, n, codes, n_codes, &rec, &rec_len));
    TRY_OUT(veil_keymap_reserve(&block, n));
    for (size_t i = 0; i < n; i++) {
        bool exists;
        TRY_OUT(tve_store_tx_exists(s, txs[i].txid, &exists));
        ENSURE_OUT(!exists && !veil_keymap_get(&block, txs[i].txid, NULL),
                   VEIL_ERR_TVE_TX_EXISTS);
        TRY_OUT(veil_keymap_put(&block, txs[i].txid, (uint32_t)i));
    }
    /* Room in the index now, so that nothing can fail after the durable commit. */
    pthread_rwlock_wrlock(&s->index_lock);
    st = index_reserve(s, n);
    pthread_rwlock_unlock(&s->index_lock);
    TRY_OUT(st);

    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    ENSURE_OUT(rc == 0, store_err("begin", rc));
    for (size_t i = 0; i < n; i++) {
        /* Every write of a tx is an append in place order, which B-trees take at the
         * cost of a sequential write whatever the store's size. */
        uint8_t pos[POS_LEN];
        veil_put_u64(pos, height);
        veil_put_u32(pos + 8, (uint32_t)i);
        k = val_of(pos, POS_LEN);
        d = val_of(txs[i].sealed, txs[i].sealed_len);
        rc = mdb_put(txn, s->txs, &k, &d, MDB_APPEND);
        if (rc == 0) {
            d = val_of(txs[i].txid, TVE_TXID_LEN);
            rc = mdb_put(txn, s->txids, &k, &d, MDB_APPEND);
        }
        if (rc == MDB_KEYEXIST) veil_error_detail_set("store: height %llu is not after the last "
                                                      "stored tx", (unsigned long long)height);
        ENSURE_OUT(rc != MDB_KEYEXIST, VEIL_ERR_DB);
        ENSURE_OUT(rc == 0, store_err("put", rc));
        for (size_t j = 0; j < txs[i].n_spends; j++) {
            /* Keyed by the spent output's place: spends of recent outputs land together. */
            uint8_t spos[POS_LEN], sk[SPENT_KEY_LEN];
            uint32_t in_block;
            if (veil_keymap_get(&block, txs[i].spends[j], &in_block) && in_block < i) {
                veil_put_u64(spos, height);
                veil_put_u32(spos + 8, in_block);
                st = VEIL_OK;
            } else {
                st = tx_pos(s, txs[i].spends[j], spos);
            }
            if (st == VEIL_ERR_NOT_FOUND) {
                veil_error_detail_set("store: a tx spends an output of no stored tx");
                st = VEIL_ERR_DB;
            }
            TRY_OUT(st);
            spent_key(spos, txs[i].spends[j], sk);
            k = val_of(sk, SPENT_KEY_LEN);
            d = val_of("", 0);
            rc = mdb_put(txn, s->spent, &k, &d, 0);
            ENSURE_OUT(rc == 0, store_err("put", rc));
        }
    }
    uint8_t hk[8];
    veil_put_u64(hk, height);
    k = val_of(hk, sizeof hk);
    d = val_of(rec, rec_len);
    rc = mdb_put(txn, s->blocks, &k, &d, MDB_APPEND);
    if (rc == MDB_KEYEXIST) veil_error_detail_set("store: height %llu is not after the last "
                                                  "stored block", (unsigned long long)height);
    ENSURE_OUT(rc != MDB_KEYEXIST, VEIL_ERR_DB);
    ENSURE_OUT(rc == 0, store_err("put", rc));
    TRY_OUT(put_u64(txn, s->meta, META_LAST_HEIGHT, height));
    k = key_str(META_LAST_APP_HASH);
    d = val_of(app_hash_len > 0 ? app_hash : (const uint8_t *)"", app_hash_len);
    rc = mdb_put(txn, s->meta, &k, &d, 0);
    ENSURE_OUT(rc == 0, store_err("put", rc));
    /* The one durability point of a block: everything above or nothing. */
    rc = mdb_txn_commit(txn);
    txn = NULL;
    ENSURE_OUT(rc == 0, store_err("commit", rc));
    pthread_rwlock_wrlock(&s->index_lock);
    for (size_t i = 0; i < n; i++) index_add(s, txs[i].txid, height << 32 | i);
    pthread_rwlock_unlock(&s->index_lock);
    st = VEIL_OK;
out:
    if (txn != NULL) mdb_txn_abort(txn);
    veil_keymap_free(&block);
    free(rec);
    return st;
}

/* Parses a block record (ours, or a peer's in a bootstrap) into out, which takes rec.
 * Bounded; anything else than the layout is VEIL_ERR_DB. */
static veil_status block_parse(uint8_t *rec, size_t rec_len, tve_store_block *out)
{
    veil_status st;
    veil_reader r = veil_reader_init(rec, rec_len);
    uint8_t hl;
    uint32_t n;
    memset(out, 0, sizeof *out);
    out->record = rec;
    st = veil_read_u8(&r, &hl);
    if (st == VEIL_OK && hl > TVE_APP_HASH_MAX) st = VEIL_ERR_DB;
    if (st == VEIL_OK) st = veil_read_bytes(&r, out->app_hash, hl);
    if (st == VEIL_OK) st = veil_read_bytes(&r, out->bloom, TVE_STORE_BLOOM_LEN);
    if (st == VEIL_OK) st = veil_read_u32(&r, &n);
    if (st == VEIL_OK && n > TVE_STORE_BLOCK_MAX_TXS) st = VEIL_ERR_DB;
    ENSURE_OUT(st == VEIL_OK, VEIL_ERR_DB);
    out->app_hash_len = hl;
    out->outcomes = calloc(n ? n : 1, sizeof *out->outcomes);
    out->outcome_lens = calloc(n ? n : 1, sizeof *out->outcome_lens);
    ENSURE_OUT(out->outcomes != NULL && out->outcome_lens != NULL, VEIL_ERR_NOMEM);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len;
        ENSURE_OUT(veil_read_u32(&r, &len) == VEIL_OK, VEIL_ERR_DB);
        ENSURE_OUT(veil_read_view(&r, len, &out->outcomes[i]) == VEIL_OK, VEIL_ERR_DB);
        out->outcome_lens[i] = len;
    }
    out->n = n;
    if (r.pos < r.len) {
        /* Optional (older records lack it): the verdict of every tx the block asked
         * about, in the order asked. */
        uint32_t m, ok = 0;
        ENSURE_OUT(veil_read_u32(&r, &m) == VEIL_OK && m > 0 && m <= TVE_STORE_BLOCK_MAX_TXS,
                   VEIL_ERR_DB);
        out->codes = calloc(m, sizeof *out->codes);
        ENSURE_OUT(out->codes != NULL, VEIL_ERR_NOMEM);
        for (uint32_t i = 0; i < m; i++) {
            ENSURE_OUT(veil_read_u32(&r, &out->codes[i]) == VEIL_OK, VEIL_ERR_DB);
            ok += out->codes[i] == 0;
        }
        ENSURE_OUT(ok == n, VEIL_ERR_DB);
        out->n_codes = m;
    }
    ENSURE_OUT(veil_reader_finish(&r) == VEIL_OK, VEIL_ERR_DB);
    return VEIL_OK;
out:
    tve_store_block_free(out);
    return st;
}

veil_status tve_store_block_parse(const uint8_t *rec, size_t rec_len, tve_store_block *out)
{
    memset(out, 0, sizeof *out);
    uint8_t *copy = malloc(rec_len ? rec_len : 1);
    ENSURE(copy != NULL, VEIL_ERR_NOMEM);
    if (rec_len > 0) memcpy(copy, rec, rec_len);
    return block_parse(copy, rec_len, out);
}

veil_status tve_store_block_get(tve_store *s, uint64_t height, tve_store_block *out)
{
    MDB_txn *txn;
    veil_status st = VEIL_OK;
    uint8_t *rec = NULL;

    memset(out, 0, sizeof *out);
    TRY(read_begin(s, &txn));
    uint8_t hk[8];
    veil_put_u64(hk, height);
    MDB_val k = val_of(hk, sizeof hk), d;
    int rc = mdb_get(txn, s->blocks, &k, &d);
    ENSURE_OUT(rc != MDB_NOTFOUND, VEIL_ERR_NOT_FOUND);
    ENSURE_OUT(rc == 0, store_err("get", rc));
    rec = malloc(d.mv_size ? d.mv_size : 1);
    ENSURE_OUT(rec != NULL, VEIL_ERR_NOMEM);
    if (d.mv_size > 0) memcpy(rec, d.mv_data, d.mv_size);
    /* Our own record, but parsed like any bytes read from disk: bounded. */
    st = block_parse(rec, d.mv_size, out);
    rec = NULL;
out:
    mdb_txn_abort(txn);
    free(rec);
    return st;
}

veil_status tve_store_blocks_each(tve_store *s, uint64_t from, uint64_t to,
                                  tve_store_block_fn fn, void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *bc = NULL, *tc = NULL, *ic = NULL;
    veil_status st = VEIL_OK;
    const uint8_t **sealed = NULL, **txids = NULL;
    size_t *lens = NULL, cap = 0;
    TRY(read_begin(s, &txn));
    int rc = mdb_cursor_open(txn, s->blocks, &bc);
    if (rc == 0) rc = mdb_cursor_open(txn, s->txs, &tc);
    if (rc == 0) rc = mdb_cursor_open(txn, s->txids, &ic);
    ENSURE_OUT(rc == 0, store_err("cursor", rc));
    uint8_t hk[8];
    veil_put_u64(hk, from);
    MDB_val k = val_of(hk, sizeof hk), d;
    rc = mdb_cursor_get(bc, &k, &d, MDB_SET_RANGE);
    while (rc == 0) {
        ENSURE_OUT(k.mv_size == 8, VEIL_ERR_DB);
        uint64_t h = veil_get_u64(k.mv_data);
        if (h > to) break;
        veil_reader r = veil_reader_init(d.mv_data, d.mv_size);
        uint8_t hl;
        uint32_t n;
        const uint8_t *skip;
        ENSURE_OUT(veil_read_u8(&r, &hl) == VEIL_OK && veil_read_view(&r, hl, &skip) == VEIL_OK &&
                       veil_read_view(&r, TVE_STORE_BLOOM_LEN, &skip) == VEIL_OK &&
                       veil_read_u32(&r, &n) == VEIL_OK && n <= TVE_STORE_BLOCK_MAX_TXS,
                   VEIL_ERR_DB);
        if (n > cap) {
            const uint8_t **ns = realloc(sealed, n * sizeof *ns);
            if (ns != NULL) sealed = ns;
            const uint8_t **ni = realloc(txids, n * sizeof *ni);
            if (ni != NULL) txids = ni;
            size_t *nl = realloc(lens, n * sizeof *nl);
            if (nl != NULL) lens = nl;
            ENSURE_OUT(ns != NULL && ni != NULL && nl != NULL, VEIL_ERR_NOMEM);
            cap = n;
        }
        for (uint32_t i = 0; i < n; i++) {
            uint8_t pos[POS_LEN];
            veil_put_u64(pos, h);
            veil_put_u32(pos + 8, i);
            MDB_val tk = val_of(pos, POS_LEN), td;
            int trc = mdb_cursor_get(tc, &tk, &td, i == 0 ? MDB_SET_KEY : MDB_NEXT);
            ENSURE_OUT(trc == 0 && tk.mv_size == POS_LEN && memcmp(tk.mv_data, pos, POS_LEN) == 0,
                       VEIL_ERR_DB);
            sealed[i] = td.mv_data;
            lens[i] = td.mv_size;
            MDB_val ik = val_of(pos, POS_LEN), id;
            trc = mdb_cursor_get(ic, &ik, &id, i == 0 ? MDB_SET_KEY : MDB_NEXT);
            ENSURE_OUT(trc == 0 && ik.mv_size == POS_LEN && memcmp(ik.mv_data, pos, POS_LEN) == 0 &&
                           id.mv_size == TVE_TXID_LEN,
                       VEIL_ERR_DB);
            txids[i] = id.mv_data;
        }
        st = fn(ctx, h, d.mv_data, d.mv_size, txids, sealed, lens, n);
        if (st == VEIL_ERR_LIMIT) {
            st = VEIL_OK;
            break;
        }
        TRY_OUT(st);
        rc = mdb_cursor_get(bc, &k, &d, MDB_NEXT);
    }
    ENSURE_OUT(rc == 0 || rc == MDB_NOTFOUND, store_err("get", rc));
out:
    if (ic != NULL) mdb_cursor_close(ic);
    if (tc != NULL) mdb_cursor_close(tc);
    if (bc != NULL) mdb_cursor_close(bc);
    mdb_txn_abort(txn);
    free(sealed);
    free(txids);
    free(lens);
    return st;
}

void tve_store_block_free(tve_store_block *b)
{
    if (b == NULL) return;
    free(b->outcomes);
    free(b->outcome_lens);
    free(b->codes);
    free(b->record);
    memset(b, 0, sizeof *b);
}

uint64_t tve_store_bytes(tve_store *s)
{
    MDB_envinfo info;
    MDB_stat st;
    if (s == NULL || mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0) return 0;
    return (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
}
