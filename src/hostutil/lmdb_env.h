/* What every LMDB store of Veil does the same way: open an environment with its named
 * databases and map LMDB's errors to Veil's codes. (One owner per home directory:
 * veil_dir_lock in hostutil/fileio.h.) */
#ifndef VEIL_HOSTUTIL_LMDB_ENV_H
#define VEIL_HOSTUTIL_LMDB_ENV_H

#include <stdbool.h>
#include <stddef.h>

#include <lmdb.h>

#include "common/status.h"

typedef struct veil_lmdb_spec {
    const char *dir;       /* an existing directory */
    size_t map_size;       /* bytes */
    unsigned max_readers;  /* 0: LMDB's default */
    bool no_sync;          /* MDB_NOSYNC (tests and benchmarks only) */
    const char *const *db_names;
    MDB_dbi *dbis;         /* out: one per name */
    size_t n_dbs;
} veil_lmdb_spec;

/* Creates and opens the environment (MDB_NOTLS: read transactions are not tied to
 * threads), clears reader slots of dead processes and opens (creating) the named
 * databases in one committed transaction. The detail names the directory on failure. */
VEIL_MUST_CHECK veil_status veil_lmdb_open(const veil_lmdb_spec *spec, MDB_env **env);

/* LMDB's rc as a Veil code, with the detail "lmdb <what>: <message>":
 * MDB_NOTFOUND -> VEIL_ERR_NOT_FOUND, ENOMEM -> VEIL_ERR_NOMEM, MDB_MAP_FULL ->
 * VEIL_ERR_TOO_LARGE, anything else -> VEIL_ERR_DB. */
VEIL_MUST_CHECK veil_status veil_lmdb_err(const char *what, int rc);

static inline MDB_val veil_lmdb_val(const void *p, size_t n)
{
    MDB_val v = {n, (void *)p};
    return v;
}


#endif
