#include "host/devchain/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "common/cursor.h"
#include "hostutil/fileio.h"
#include "hostutil/lmdb_env.h"

/* Sparse on Linux: only what is written takes disk space. */
#define STORE_MAP_SIZE ((size_t)8 << 30)

struct devchain_store {
    MDB_env *env;
    MDB_dbi blocks, commits, results, txs, meta;
};

static veil_status db_fail(int rc, const char *what) { return veil_lmdb_err(what, rc); }

veil_status store_open(const char *dir, devchain_store **out)
{
    devchain_store *s = calloc(1, sizeof *s);
    if (s == NULL) return VEIL_ERR_NOMEM;
    /* NOTLS: read transactions are opened on RPC threads of libmicrohttpd. */
    static const char *const names[] = {"blocks", "commits", "results", "txs", "meta"};
    MDB_dbi dbis[5];
    veil_lmdb_spec spec = {dir, STORE_MAP_SIZE, 0, false, names, dbis, 5};
    veil_status st = veil_lmdb_open(&spec, &s->env);
    if (st != VEIL_OK) {
        free(s);
        return st;
    }
    s->blocks = dbis[0], s->commits = dbis[1], s->results = dbis[2], s->txs = dbis[3];
    s->meta = dbis[4];
    *out = s;
    return VEIL_OK;
}

void store_close(devchain_store *s)
{
    if (s == NULL) return;
    mdb_env_close(s->env);
    free(s);
}

/* ---- state record: fixed big-endian layout via the bounded cursors ---------------- */

#define STATE_RECORD_MAX 256

static veil_status state_encode(const store_state *st, uint8_t *buf, size_t cap, size_t *len)
{
    veil_writer w = veil_writer_init(buf, cap);
    TRY(veil_write_u32(&w, st->format));
    TRY(veil_write_bytes(&w, st->genesis_hash, CMT_HASH_LEN));
    TRY(veil_write_u64(&w, (uint64_t)st->initial_height));
    TRY(veil_write_u64(&w, (uint64_t)st->last_height));
    TRY(veil_write_u8(&w, st->init_app_hash.len));
    TRY(veil_write_bytes(&w, st->init_app_hash.b, st->init_app_hash.len));
    TRY(veil_write_u64(&w, (uint64_t)st->block_max_bytes));
    TRY(veil_write_u64(&w, (uint64_t)st->block_max_gas));
    TRY(veil_write_u64(&w, st->app_version));
    *len = w.len;
    return VEIL_OK;
}

static veil_status state_decode(const uint8_t *p, size_t len, store_state *st)
{
    memset(st, 0, sizeof *st);
    veil_reader r = veil_reader_init(p, len);
    uint64_t v;
    TRY(veil_read_u32(&r, &st->format));
    if (st->format != STORE_STATE_FORMAT) return VEIL_ERR_BAD_VERSION;
    TRY(veil_read_bytes(&r, st->genesis_hash, CMT_HASH_LEN));
    TRY(veil_read_u64(&r, &v));
    st->initial_height = (int64_t)v;
    TRY(veil_read_u64(&r, &v));
    st->last_height = (int64_t)v;
    TRY(veil_read_u8(&r, &st->init_app_hash.len));
    if (st->init_app_hash.len > CMT_MAX_HASH_LEN) return VEIL_ERR_MALFORMED;
    TRY(veil_read_bytes(&r, st->init_app_hash.b, st->init_app_hash.len));
    TRY(veil_read_u64(&r, &v));
    st->block_max_bytes = (int64_t)v;
    TRY(veil_read_u64(&r, &v));
    st->block_max_gas = (int64_t)v;
    TRY(veil_read_u64(&r, &st->app_version));
    return veil_reader_finish(&r);
}

static const char state_key[] = "state";

veil_status store_get_state(devchain_store *s, store_state *out)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) return db_fail(rc, "begin");
    MDB_val k = {sizeof state_key - 1, (void *)state_key}, v;
    rc = mdb_get(txn, s->meta, &k, &v);
    veil_status st;
    if (rc == MDB_NOTFOUND) st = VEIL_ERR_NOT_FOUND;
    else if (rc != 0) st = db_fail(rc, "get state");
    else st = state_decode(v.mv_data, v.mv_size, out);
    mdb_txn_abort(txn);
    return st;
}

static int put_state(devchain_store *s, MDB_txn *txn, const store_state *st)
{
    uint8_t buf[STATE_RECORD_MAX];
    size_t len;
    if (state_encode(st, buf, sizeof buf, &len) != VEIL_OK) return EINVAL;
    MDB_val k = {sizeof state_key - 1, (void *)state_key}, v = {len, buf};
    return mdb_put(txn, s->meta, &k, &v, 0);
}

veil_status store_put_state(devchain_store *s, const store_state *st)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0) return db_fail(rc, "begin");
    rc = put_state(s, txn, st);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return db_fail(rc, "put state");
    }
    rc = mdb_txn_commit(txn);
    return rc == 0 ? VEIL_OK : db_fail(rc, "commit state");
}

veil_status store_commit_block(devchain_store *s, const store_state *st, int64_t height,
                               const uint8_t *block, size_t block_len, const uint8_t *commit,
                               size_t commit_len, const uint8_t *results, size_t results_len,
                               const uint8_t (*tx_hashes)[CMT_HASH_LEN], size_t n_txs)
{
    if (st->last_height != height) return VEIL_ERR_OUT_OF_ORDER;
    if (n_txs > UINT32_MAX) return VEIL_ERR_LIMIT;
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0) return db_fail(rc, "begin");
    /* Check the previous state inside the write txn: the single writer still wants
     * a hard guarantee that heights are gapless. */
    store_state prev;
    MDB_val sk = {sizeof state_key - 1, (void *)state_key}, sv;
    rc = mdb_get(txn, s->meta, &sk, &sv);
    if (rc != 0 || state_decode(sv.mv_data, sv.mv_size, &prev) != VEIL_OK ||
        height != (prev.last_height == 0 ? prev.initial_height : prev.last_height + 1)) {
        mdb_txn_abort(txn);
        return rc != 0 && rc != MDB_NOTFOUND ? db_fail(rc, "get state") : VEIL_ERR_OUT_OF_ORDER;
    }
    uint8_t hk[8];
    veil_put_u64(hk, (uint64_t)height);
    MDB_val key = {sizeof hk, hk};
    MDB_val vb = {block_len, (void *)block}, vc = {commit_len, (void *)commit},
            vr = {results_len, (void *)results};
    rc = mdb_put(txn, s->blocks, &key, &vb, MDB_NOOVERWRITE);
    if (rc == 0) rc = mdb_put(txn, s->commits, &key, &vc, MDB_NOOVERWRITE);
    if (rc == 0) rc = mdb_put(txn, s->results, &key, &vr, MDB_NOOVERWRITE);
    for (size_t i = 0; rc == 0 && i < n_txs; i++) {
        uint8_t loc[12];
        veil_put_u64(loc, (uint64_t)height);
        veil_put_u32(loc + 8, (uint32_t)i);
        MDB_val tk = {CMT_HASH_LEN, (void *)tx_hashes[i]}, tv = {sizeof loc, loc};
        /* A tx committed again (once the mempool cache has forgotten it) points at its
         * latest block, as CometBFT's kv tx indexer does. */
        rc = mdb_put(txn, s->txs, &tk, &tv, 0);
    }
    if (rc == 0) rc = put_state(s, txn, st);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return db_fail(rc, "write block");
    }
    rc = mdb_txn_commit(txn);
    return rc == 0 ? VEIL_OK : db_fail(rc, "commit block");
}

veil_status store_get(devchain_store *s, enum store_kind kind, int64_t height, uint8_t **buf,
                      size_t *len)
{
    MDB_dbi dbi = kind == STORE_BLOCK ? s->blocks : kind == STORE_COMMIT ? s->commits : s->results;
    if (height <= 0) return VEIL_ERR_NOT_FOUND;
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) return db_fail(rc, "begin");
    uint8_t hk[8];
    veil_put_u64(hk, (uint64_t)height);
    MDB_val k = {sizeof hk, hk}, v;
    rc = mdb_get(txn, dbi, &k, &v);
    veil_status st = VEIL_OK;
    if (rc == MDB_NOTFOUND) {
        st = VEIL_ERR_NOT_FOUND;
    } else if (rc != 0) {
        st = db_fail(rc, "get");
    } else {
        *buf = malloc(v.mv_size ? v.mv_size : 1);
        if (*buf == NULL) {
            st = VEIL_ERR_NOMEM;
        } else {
            memcpy(*buf, v.mv_data, v.mv_size);
            *len = v.mv_size;
        }
    }
    mdb_txn_abort(txn);
    return st;
}

veil_status store_find_tx(devchain_store *s, const uint8_t hash[static CMT_HASH_LEN],
                          int64_t *height, uint32_t *index)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) return db_fail(rc, "begin");
    MDB_val k = {CMT_HASH_LEN, (void *)hash}, v;
    rc = mdb_get(txn, s->txs, &k, &v);
    veil_status st = VEIL_OK;
    if (rc == MDB_NOTFOUND) {
        st = VEIL_ERR_NOT_FOUND;
    } else if (rc != 0) {
        st = db_fail(rc, "get tx");
    } else if (v.mv_size != 12) {
        st = VEIL_ERR_MALFORMED;
    } else {
        *height = (int64_t)veil_get_u64(v.mv_data);
        *index = veil_get_u32((const uint8_t *)v.mv_data + 8);
    }
    mdb_txn_abort(txn);
    return st;
}
