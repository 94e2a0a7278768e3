/* LMDB environments and error codes (hostutil/lmdb_env.h). */
#include "hostutil/lmdb_env.h"

#include <errno.h>

#include "hostutil/fileio.h"

veil_status veil_lmdb_err(const char *what, int rc)
{
    veil_error_detail_set("lmdb %s: %s", what, mdb_strerror(rc));
    if (rc == MDB_NOTFOUND) return VEIL_ERR_NOT_FOUND;
    if (rc == ENOMEM) return VEIL_ERR_NOMEM;
    if (rc == MDB_MAP_FULL) return VEIL_ERR_TOO_LARGE;
    return VEIL_ERR_DB;
}

veil_status veil_lmdb_open(const veil_lmdb_spec *spec, MDB_env **out)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    veil_status st = VEIL_OK;
    int rc = mdb_env_create(&env);
    if (rc != 0) return veil_lmdb_err("env_create", rc);
    rc = mdb_env_set_maxdbs(env, (MDB_dbi)(spec->n_dbs + 1));
    if (rc == 0) rc = mdb_env_set_mapsize(env, spec->map_size);
    if (rc == 0 && spec->max_readers != 0) rc = mdb_env_set_maxreaders(env, spec->max_readers);
    ENSURE_OUT(rc == 0, veil_lmdb_err("env_set", rc));
    /* The default sync mode makes every commit durable before it returns. */
    rc = mdb_env_open(env, spec->dir, MDB_NOTLS | (spec->no_sync ? MDB_NOSYNC : 0), 0600);
    if (rc != 0) {
        st = veil_lmdb_err("env_open", rc);
        veil_error_detail_set("lmdb open %s: %s", spec->dir, mdb_strerror(rc));
        goto out;
    }
    /* Reader slots of a killed process would pin old pages (the file only grows). */
    int dead;
    rc = mdb_reader_check(env, &dead);
    ENSURE_OUT(rc == 0, veil_lmdb_err("reader_check", rc));
    rc = mdb_txn_begin(env, NULL, 0, &txn);
    ENSURE_OUT(rc == 0, veil_lmdb_err("begin", rc));
    for (size_t i = 0; i < spec->n_dbs && rc == 0; i++)
        rc = mdb_dbi_open(txn, spec->db_names[i], MDB_CREATE, &spec->dbis[i]);
    ENSURE_OUT(rc == 0, veil_lmdb_err("dbi_open", rc));
    rc = mdb_txn_commit(txn);
    txn = NULL;
    ENSURE_OUT(rc == 0, veil_lmdb_err("commit", rc));
    *out = env;
    return VEIL_OK;
out:
    if (txn != NULL) mdb_txn_abort(txn);
    mdb_env_close(env);
    return st;
}
