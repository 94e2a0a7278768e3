/* What every LMDB store of Veil does the same way: open an environment with its named
 * databases, map LMDB's errors to Veil's codes, and hold a home directory's lock file so
 * one daemon (or command) owns it at a time. */
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

/* Takes an exclusive, non-blocking flock on DIR/NAME (created 0600) and returns its fd
 * in *fd (close it to release; the lock also dies with the process, so a kill -9 never
 * leaves it behind). VEIL_ERR_EXISTS if another process holds it, with a detail naming
 * DIR and `who` (e.g. "another veil tve?"); VEIL_ERR_IO otherwise. */
VEIL_MUST_CHECK veil_status veil_dir_lock(const char *dir, const char *name, const char *who,
                                          int *fd);

#endif
