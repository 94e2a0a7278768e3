/* The node's public state (layout: node_state.h). */
#include "host/node/node_state.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>
#include <sodium.h>

#include "common/cursor.h"
#include "common/hex.h"
#include "host/node/smt.h"
#include "hostutil/fileio.h"
#include "hostutil/lmdb_env.h"

#define NODE_STORE_MAP_SIZE ((size_t)8 << 30) /* sparse: the file grows as used */
#define NODE_BLOCK_RECORD_MAX ((size_t)64 << 20)

#define META_VERSION "version"
#define META_CHAIN_ID "chain_id"
#define META_INITIAL_HEIGHT "initial_height"
#define META_GENESIS_TIME "genesis_time"
#define META_GENESIS_HASH "genesis_hash"
#define META_LAST_HEIGHT "last_height"
#define META_LAST_APP_HASH "last_app_hash"
#define META_LAST_BLOCK_TIME "last_block_time"
#define META_TVE_KEY_COMMITMENT "tve_key_commitment"

/* Which database a record lives in; also its tree namespace. */
typedef enum rec_ns {
    NS_ACCOUNT = VEIL_SMT_NS_ACCOUNT,
    NS_OUTPUT = VEIL_SMT_NS_OUTPUT,
    NS_PARAM = VEIL_SMT_NS_PARAM,
    NS_EPOCH = VEIL_SMT_NS_KEY_EPOCH,
    NS_VALIDATOR = VEIL_SMT_NS_VALIDATOR,
} rec_ns;

/* One record changed by the block being built. */
typedef struct ov_entry {
    uint8_t ns;
    uint8_t id_len;
    uint8_t id[32];
    uint8_t key[32];
    bool had_old; /* the tree held this key before the block */
    uint8_t old_vh[32];
    uint8_t *rec;
    size_t rec_len;
} ov_entry;

struct node_state {
    MDB_env *env;
    MDB_dbi meta_db, accounts, outputs, params_db, epochs, blocks, validators;
    node_meta meta;
    node_params params;         /* committed */
    node_params pending_params; /* as of the overlay */
    bool have_params;
    node_smt *smt;
    /* overlay: entries in insertion order, indexed by tree key */
    ov_entry *ov;
    size_t n_ov, cap_ov;
    uint32_t *slots; /* index + 1 into ov; 0 = free */
    size_t n_slots;  /* power of two */
};

static uint8_t g_slot_key[crypto_shorthash_KEYBYTES];
static pthread_once_t g_slot_once = PTHREAD_ONCE_INIT;
static void slot_key_init(void) { randombytes_buf(g_slot_key, sizeof g_slot_key); }

#define db_err veil_lmdb_err
#define val_of veil_lmdb_val

static MDB_dbi ns_dbi(const node_state *s, uint8_t ns)
{
    switch (ns) {
    case NS_ACCOUNT: return s->accounts;
    case NS_OUTPUT: return s->outputs;
    case NS_PARAM: return s->params_db;
    case NS_VALIDATOR: return s->validators;
    default: return s->epochs;
    }
}

/* --- overlay ------------------------------------------------------------------------ */
static size_t ov_slot(const node_state *s, const uint8_t key[32])
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, key, 32, g_slot_key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (size_t)v & (s->n_slots - 1);
}

static ov_entry *ov_find(const node_state *s, const uint8_t key[32])
{
    if (s->n_slots == 0) return NULL;
    for (size_t i = ov_slot(s, key);; i = (i + 1) & (s->n_slots - 1)) {
        uint32_t v = s->slots[i];
        if (v == 0) return NULL;
        if (memcmp(s->ov[v - 1].key, key, 32) == 0) return &s->ov[v - 1];
    }
}

static veil_status ov_grow(node_state *s)
{
    if (s->n_ov + 1 > s->cap_ov) {
        size_t cap = s->cap_ov ? s->cap_ov * 2 : 64;
        ov_entry *p = realloc(s->ov, cap * sizeof *p);
        ENSURE(p != NULL, VEIL_ERR_NOMEM);
        s->ov = p;
        s->cap_ov = cap;
    }
    if ((s->n_ov + 1) * 2 > s->n_slots) {
        size_t n = s->n_slots ? s->n_slots * 2 : 128;
        uint32_t *slots = calloc(n, sizeof *slots);
        ENSURE(slots != NULL, VEIL_ERR_NOMEM);
        free(s->slots);
        s->slots = slots;
        s->n_slots = n;
        for (size_t k = 0; k < s->n_ov; k++) {
            size_t i = ov_slot(s, s->ov[k].key);
            while (s->slots[i] != 0) i = (i + 1) & (n - 1);
            s->slots[i] = (uint32_t)(k + 1);
        }
    }
    return VEIL_OK;
}

static void ov_clear(node_state *s)
{
    for (size_t i = 0; i < s->n_ov; i++) free(s->ov[i].rec);
    s->n_ov = 0;
    if (s->slots) memset(s->slots, 0, s->n_slots * sizeof *s->slots);
}

/* Puts a record into the overlay and the tree. */
static veil_status ov_put(node_state *s, uint8_t ns, const uint8_t *id, size_t id_len,
                          const uint8_t *rec, size_t rec_len)
{
    uint8_t key[32], vh[32];
    veil_smt_key(key, ns, id, id_len);
    veil_smt_value_hash(vh, rec, rec_len);
    uint8_t *copy = malloc(rec_len ? rec_len : 1);
    ENSURE(copy != NULL, VEIL_ERR_NOMEM);
    if (rec_len) memcpy(copy, rec, rec_len);
    ov_entry *e = ov_find(s, key);
    if (e == NULL) {
        veil_status st = ov_grow(s);
        if (st != VEIL_OK) {
            free(copy);
            return st;
        }
        e = &s->ov[s->n_ov];
        memset(e, 0, sizeof *e);
        e->ns = ns;
        e->id_len = (uint8_t)id_len;
        memcpy(e->id, id, id_len);
        memcpy(e->key, key, 32);
        e->had_old = node_smt_get(s->smt, key, e->old_vh);
        size_t i = ov_slot(s, key);
        while (s->slots[i] != 0) i = (i + 1) & (s->n_slots - 1);
        s->slots[i] = (uint32_t)(s->n_ov + 1);
        s->n_ov++;
    }
    veil_status st = node_smt_set(s->smt, key, vh);
    if (st != VEIL_OK) {
        free(copy);
        return st;
    }
    free(e->rec);
    e->rec = copy;
    e->rec_len = rec_len;
    return VEIL_OK;
}

/* Undoes the overlay's tree changes (the overlay itself stays). */
static void ov_undo_tree(node_state *s)
{
    for (size_t i = s->n_ov; i-- > 0;) {
        ov_entry *e = &s->ov[i];
        veil_status st = e->had_old ? node_smt_set(s->smt, e->key, e->old_vh)
                                    : node_smt_delete(s->smt, e->key);
        /* Setting an existing key allocates nothing; deleting a present key cannot
         * fail. Anything else means the tree is not what the overlay says. */
        if (st != VEIL_OK) abort();
    }
}

static veil_status ov_redo_tree(node_state *s)
{
    for (size_t i = 0; i < s->n_ov; i++) {
        uint8_t vh[32];
        veil_smt_value_hash(vh, s->ov[i].rec, s->ov[i].rec_len);
        TRY(node_smt_set(s->smt, s->ov[i].key, vh));
    }
    return VEIL_OK;
}

/* --- store helpers ------------------------------------------------------------------ */
static veil_status meta_put(MDB_txn *txn, MDB_dbi dbi, const char *key, const void *p, size_t n)
{
    MDB_val k = val_of(key, strlen(key)), d = val_of(p, n);
    int rc = mdb_put(txn, dbi, &k, &d, 0);
    return rc == 0 ? VEIL_OK : db_err("put", rc);
}

static veil_status meta_put_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t v)
{
    uint8_t b[8];
    veil_put_u64(b, v);
    return meta_put(txn, dbi, key, b, sizeof b);
}

/* *found false if absent; VEIL_ERR_DB if present with a length outside [min, max]. */
static veil_status meta_get(MDB_txn *txn, MDB_dbi dbi, const char *key, void *out, size_t min,
                            size_t max, size_t *len, bool *found)
{
    MDB_val k = val_of(key, strlen(key)), d;
    int rc = mdb_get(txn, dbi, &k, &d);
    *found = false;
    if (rc == MDB_NOTFOUND) return VEIL_OK;
    if (rc != 0) return db_err("get", rc);
    if (d.mv_size < min || d.mv_size > max) {
        veil_error_detail_set("node store: meta %s has %zu bytes", key, d.mv_size);
        return VEIL_ERR_DB;
    }
    memcpy(out, d.mv_data, d.mv_size);
    if (len) *len = d.mv_size;
    *found = true;
    return VEIL_OK;
}

static veil_status meta_get_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *v)
{
    uint8_t b[8];
    bool found;
    TRY(meta_get(txn, dbi, key, b, 8, 8, NULL, &found));
    *v = found ? veil_get_u64(b) : 0;
    return VEIL_OK;
}

static veil_status state_load_meta(node_state *s, MDB_txn *txn)
{
    node_meta *m = &s->meta;
    size_t len;
    bool found;
    memset(m, 0, sizeof *m);
    TRY(meta_get(txn, s->meta_db, META_CHAIN_ID, m->chain_id, 1, NODE_CHAIN_ID_MAX, &len, &found));
    if (!found) return VEIL_OK;
    m->chain_id[len] = '\0';
    m->initialized = true;
    TRY(meta_get_u64(txn, s->meta_db, META_INITIAL_HEIGHT, &m->initial_height));
    TRY(meta_get_u64(txn, s->meta_db, META_GENESIS_TIME, &m->genesis_time));
    TRY(meta_get(txn, s->meta_db, META_GENESIS_HASH, m->genesis_hash, 32, 32, NULL, &found));
    TRY(meta_get_u64(txn, s->meta_db, META_LAST_HEIGHT, &m->last_height));
    TRY(meta_get(txn, s->meta_db, META_LAST_APP_HASH, m->last_app_hash, 32, 32, NULL, &found));
    ENSURE(found, VEIL_ERR_DB);
    TRY(meta_get_u64(txn, s->meta_db, META_LAST_BLOCK_TIME, &m->last_block_time));
    TRY(meta_get(txn, s->meta_db, META_TVE_KEY_COMMITMENT, m->tve_key_commitment, 0, 32,
                 &m->tve_key_commitment_len, &found));
    if (!found) m->tve_key_commitment_len = 0;
    return VEIL_OK;
}

static veil_status state_check_version(node_state *s, MDB_txn *txn)
{
    uint8_t b[4];
    bool found;
    TRY(meta_get(txn, s->meta_db, META_VERSION, b, 4, 4, NULL, &found));
    if (!found) {
        veil_put_u32(b, NODE_STORE_VERSION);
        return meta_put(txn, s->meta_db, META_VERSION, b, 4);
    }
    if (veil_get_u32(b) != NODE_STORE_VERSION) {
        veil_error_detail_set("node store layout version is %u, not %u", veil_get_u32(b),
                              NODE_STORE_VERSION);
        return VEIL_ERR_BAD_VERSION;
    }
    return VEIL_OK;
}

/* Loads every leaf of one database into the tree. */
static veil_status state_load_leaves(node_state *s, MDB_txn *txn, uint8_t ns)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, ns_dbi(s, ns), &cur);
    if (rc != 0) return db_err("cursor_open", rc);
    veil_status st = VEIL_OK;
    MDB_val k, d;
    for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        uint8_t key[32], vh[32];
        ENSURE_OUT(k.mv_size <= 32, VEIL_ERR_DB);
        veil_smt_key(key, ns, k.mv_data, k.mv_size);
        veil_smt_value_hash(vh, d.mv_data, d.mv_size);
        TRY_OUT(node_smt_set(s->smt, key, vh));
        if (ns == NS_PARAM) {
            TRY_OUT(node_params_decode(d.mv_data, d.mv_size, &s->params));
            s->have_params = true;
        }
    }
    if (rc != MDB_NOTFOUND) st = db_err("cursor_get", rc);
out:
    mdb_cursor_close(cur);
    return st;
}

veil_status node_state_open(const char *home, bool no_sync, node_state **out)
{
    char data[PATH_MAX], dir[PATH_MAX];
    veil_status st;
    MDB_txn *txn = NULL;
    int rc;

    (void)pthread_once(&g_slot_once, slot_key_init);
    TRY(veil_path_join(data, sizeof data, home, NODE_DATA_DIR));
    TRY(veil_path_join(dir, sizeof dir, data, NODE_STORE_DIR));
    TRY(veil_mkdir_p(dir, 0700));
    node_state *s = calloc(1, sizeof *s);
    ENSURE(s != NULL, VEIL_ERR_NOMEM);
    TRY_OUT(node_smt_new(&s->smt));
    static const char *const names[] = {"meta",   "accounts", "outputs",   "params",
                                        "epochs", "blocks",   "validators"};
    MDB_dbi dbis[7];
    veil_lmdb_spec spec = {dir, NODE_STORE_MAP_SIZE, 0, no_sync, names, dbis, 7};
    TRY_OUT(veil_lmdb_open(&spec, &s->env));
    s->meta_db = dbis[0], s->accounts = dbis[1], s->outputs = dbis[2], s->params_db = dbis[3];
    s->epochs = dbis[4], s->blocks = dbis[5], s->validators = dbis[6];
    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    ENSURE_OUT(rc == 0, db_err("begin", rc));
    TRY_OUT(state_check_version(s, txn));
    TRY_OUT(state_load_meta(s, txn));
    TRY_OUT(state_load_leaves(s, txn, NS_ACCOUNT));
    TRY_OUT(state_load_leaves(s, txn, NS_OUTPUT));
    TRY_OUT(state_load_leaves(s, txn, NS_PARAM));
    TRY_OUT(state_load_leaves(s, txn, NS_EPOCH));
    TRY_OUT(state_load_leaves(s, txn, NS_VALIDATOR));
    rc = mdb_txn_commit(txn);
    txn = NULL;
    ENSURE_OUT(rc == 0, db_err("commit", rc));
    s->pending_params = s->params;
    if (s->meta.initialized) {
        uint8_t root[32];
        node_smt_root(s->smt, root);
        if (memcmp(root, s->meta.last_app_hash, 32) != 0) {
            char a[65], b[65];
            veil_hex_encode(a, root, 32);
            veil_hex_encode(b, s->meta.last_app_hash, 32);
            veil_error_detail_set("node store is damaged: its records hash to %.16s..., the "
                                  "committed app hash is %.16s...", a, b);
            st = VEIL_ERR_DB;
            goto out;
        }
    }
    *out = s;
    return VEIL_OK;
out:
    if (txn) mdb_txn_abort(txn);
    node_state_close(s);
    return st;
}

void node_state_close(node_state *s)
{
    if (s == NULL) return;
    ov_clear(s);
    free(s->ov);
    free(s->slots);
    node_smt_free(s->smt);
    if (s->env) mdb_env_close(s->env);
    free(s);
}

const node_meta *node_state_meta(const node_state *s) { return &s->meta; }

const node_params *node_state_params(const node_state *s) { return &s->pending_params; }

/* Reads one record: the overlay's if pending and present there, else the store's.
 * *rec points into the overlay or a copy in buf. */
static veil_status state_get(node_state *s, bool pending, uint8_t ns, const uint8_t *id,
                             size_t id_len, uint8_t *buf, size_t cap, size_t *len, bool *found)
{
    *found = false;
    if (pending) {
        uint8_t key[32];
        veil_smt_key(key, ns, id, id_len);
        const ov_entry *e = ov_find(s, key);
        if (e != NULL) {
            ENSURE(e->rec_len <= cap, VEIL_ERR_DB);
            memcpy(buf, e->rec, e->rec_len);
            *len = e->rec_len;
            *found = true;
            return VEIL_OK;
        }
    }
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) return db_err("begin", rc);
    MDB_val k = val_of(id, id_len), d;
    rc = mdb_get(txn, ns_dbi(s, ns), &k, &d);
    veil_status st = VEIL_OK;
    if (rc == 0) {
        if (d.mv_size > cap) {
            veil_error_detail_set("node store: record of %zu bytes", d.mv_size);
            st = VEIL_ERR_DB;
        } else {
            memcpy(buf, d.mv_data, d.mv_size);
            *len = d.mv_size;
            *found = true;
        }
    } else if (rc != MDB_NOTFOUND) {
        st = db_err("get", rc);
    }
    mdb_txn_abort(txn);
    return st;
}

veil_status node_state_account_get(node_state *s, bool pending, const uint8_t address[static 32],
                                   node_account *out, bool *found)
{
    uint8_t buf[NODE_RECORD_MAX];
    size_t len;
    TRY(state_get(s, pending, NS_ACCOUNT, address, 32, buf, sizeof buf, &len, found));
    if (!*found) return VEIL_OK;
    veil_status st = node_account_decode(buf, len, out);
    ENSURE(st == VEIL_OK, VEIL_ERR_DB);
    ENSURE(memcmp(out->address, address, 32) == 0, VEIL_ERR_DB);
    return VEIL_OK;
}

veil_status node_state_output_get(node_state *s, bool pending, const uint8_t txid[static 32],
                                  node_output *out, bool *found)
{
    uint8_t buf[64];
    size_t len;
    TRY(state_get(s, pending, NS_OUTPUT, txid, 32, buf, sizeof buf, &len, found));
    if (!*found) return VEIL_OK;
    ENSURE(node_output_decode(buf, len, out) == VEIL_OK, VEIL_ERR_DB);
    return VEIL_OK;
}

veil_status node_state_epoch_get(node_state *s, bool pending, uint64_t epoch, node_key_epoch *out,
                                 bool *found)
{
    uint8_t buf[128], id[8];
    size_t len;
    veil_put_u64(id, epoch);
    TRY(state_get(s, pending, NS_EPOCH, id, 8, buf, sizeof buf, &len, found));
    if (!*found) return VEIL_OK;
    ENSURE(node_key_epoch_decode(buf, len, out) == VEIL_OK, VEIL_ERR_DB);
    return VEIL_OK;
}

veil_status node_state_validator_get(node_state *s, bool pending, const uint8_t pub_key[static 32],
                                     node_validator *out, bool *found)
{
    uint8_t buf[128];
    size_t len;
    TRY(state_get(s, pending, NS_VALIDATOR, pub_key, 32, buf, sizeof buf, &len, found));
    if (!*found) return VEIL_OK;
    ENSURE(node_validator_decode(buf, len, out) == VEIL_OK, VEIL_ERR_DB);
    return VEIL_OK;
}

veil_status node_state_validator_put(node_state *s, const uint8_t pub_key[static 32],
                                     const node_validator *v)
{
    uint8_t buf[128];
    size_t len;
    TRY(node_validator_encode(v, buf, sizeof buf, &len));
    return ov_put(s, NS_VALIDATOR, pub_key, 32, buf, len);
}

veil_status node_state_account_put(node_state *s, const node_account *a)
{
    uint8_t buf[NODE_RECORD_MAX];
    size_t len;
    TRY(node_account_encode(a, buf, sizeof buf, &len));
    return ov_put(s, NS_ACCOUNT, a->address, 32, buf, len);
}

veil_status node_state_output_put(node_state *s, const uint8_t txid[static 32],
                                  const node_output *o)
{
    uint8_t buf[64];
    size_t len;
    TRY(node_output_encode(o, buf, sizeof buf, &len));
    return ov_put(s, NS_OUTPUT, txid, 32, buf, len);
}

veil_status node_state_params_put(node_state *s, const node_params *p)
{
    uint8_t buf[NODE_RECORD_MAX];
    size_t len;
    TRY(node_params_encode(p, buf, sizeof buf, &len));
    TRY(ov_put(s, NS_PARAM, (const uint8_t *)NODE_PARAMS_ID, strlen(NODE_PARAMS_ID), buf, len));
    s->pending_params = *p;
    return VEIL_OK;
}

veil_status node_state_epoch_put(node_state *s, const node_key_epoch *e)
{
    uint8_t buf[128], id[8];
    size_t len;
    TRY(node_key_epoch_encode(e, buf, sizeof buf, &len));
    veil_put_u64(id, e->epoch);
    return ov_put(s, NS_EPOCH, id, 8, buf, len);
}

bool node_state_pending(const node_state *s) { return s->n_ov != 0; }

void node_state_app_hash(node_state *s, uint8_t out[static 32]) { node_smt_root(s->smt, out); }

void node_state_rollback(node_state *s)
{
    ov_undo_tree(s);
    ov_clear(s);
    s->pending_params = s->params;
}

veil_status node_state_commit(node_state *s, const node_meta *m, const uint8_t *rec,
                              size_t rec_len)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0) return db_err("begin", rc);
    veil_status st = VEIL_OK;
    for (size_t i = 0; i < s->n_ov; i++) {
        const ov_entry *e = &s->ov[i];
        MDB_val k = val_of(e->id, e->id_len), d = val_of(e->rec, e->rec_len);
        rc = mdb_put(txn, ns_dbi(s, e->ns), &k, &d, 0);
        ENSURE_OUT(rc == 0, db_err("put", rc));
    }
    ENSURE_OUT(m->initialized && strlen(m->chain_id) >= 1, VEIL_ERR_ARG);
    TRY_OUT(meta_put(txn, s->meta_db, META_CHAIN_ID, m->chain_id, strlen(m->chain_id)));
    TRY_OUT(meta_put_u64(txn, s->meta_db, META_INITIAL_HEIGHT, m->initial_height));
    TRY_OUT(meta_put_u64(txn, s->meta_db, META_GENESIS_TIME, m->genesis_time));
    TRY_OUT(meta_put(txn, s->meta_db, META_GENESIS_HASH, m->genesis_hash, 32));
    TRY_OUT(meta_put_u64(txn, s->meta_db, META_LAST_HEIGHT, m->last_height));
    TRY_OUT(meta_put(txn, s->meta_db, META_LAST_APP_HASH, m->last_app_hash, 32));
    TRY_OUT(meta_put_u64(txn, s->meta_db, META_LAST_BLOCK_TIME, m->last_block_time));
    TRY_OUT(meta_put(txn, s->meta_db, META_TVE_KEY_COMMITMENT, m->tve_key_commitment,
                     m->tve_key_commitment_len));
    if (rec != NULL) {
        uint8_t h[8];
        veil_put_u64(h, m->last_height);
        MDB_val k = val_of(h, 8), d = val_of(rec, rec_len);
        rc = mdb_put(txn, s->blocks, &k, &d, 0);
        ENSURE_OUT(rc == 0, db_err("put", rc));
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    ENSURE_OUT(rc == 0, db_err("commit", rc));
    s->meta = *m;
    s->params = s->pending_params;
    s->have_params = true;
    ov_clear(s);
out:
    if (txn) mdb_txn_abort(txn);
    return st;
}

veil_status node_state_block_get(node_state *s, uint64_t height, uint8_t **rec, size_t *len)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) return db_err("begin", rc);
    uint8_t h[8];
    veil_put_u64(h, height);
    MDB_val k = val_of(h, 8), d;
    veil_status st = VEIL_OK;
    rc = mdb_get(txn, s->blocks, &k, &d);
    if (rc == MDB_NOTFOUND) {
        st = VEIL_ERR_NOT_FOUND;
    } else if (rc != 0) {
        st = db_err("get", rc);
    } else if (d.mv_size > NODE_BLOCK_RECORD_MAX) {
        st = VEIL_ERR_DB;
    } else {
        *rec = malloc(d.mv_size ? d.mv_size : 1);
        if (*rec == NULL) {
            st = VEIL_ERR_NOMEM;
        } else {
            memcpy(*rec, d.mv_data, d.mv_size);
            *len = d.mv_size;
        }
    }
    mdb_txn_abort(txn);
    return st;
}

veil_status node_state_prove(node_state *s, uint8_t ns, const uint8_t *id, size_t id_len,
                             uint8_t **value, size_t *value_len, veil_smt_proof *proof)
{
    uint8_t key[32];
    uint8_t *buf = malloc(NODE_RECORD_MAX);
    ENSURE(buf != NULL, VEIL_ERR_NOMEM);
    bool found, present;
    *value = NULL;
    *value_len = 0;
    veil_status st = state_get(s, false, ns, id, id_len, buf, NODE_RECORD_MAX, value_len, &found);
    if (st != VEIL_OK) {
        free(buf);
        return st;
    }
    /* Proofs are against the committed root: step the tree back over the block being
     * built, if any, and forward again after. */
    veil_smt_key(key, ns, id, id_len);
    ov_undo_tree(s);
    node_smt_prove(s->smt, key, proof, &present, NULL);
    st = ov_redo_tree(s);
    if (st == VEIL_OK && present != found) st = VEIL_ERR_DB;
    if (st != VEIL_OK || !found) {
        free(buf);
        *value_len = 0;
        return st;
    }
    *value = buf;
    return VEIL_OK;
}
