/* Host file helpers: bounded reads, crash-safe writes, private files. Host only. */
#ifndef VEIL_HOSTUTIL_FILEIO_H
#define VEIL_HOSTUTIL_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/status.h"

/* Reads a whole file of at most max bytes into a malloc'd buffer (caller frees).
 * VEIL_ERR_NOT_FOUND if absent, VEIL_ERR_TOO_LARGE over max, VEIL_ERR_IO otherwise. */
VEIL_MUST_CHECK veil_status veil_file_read(const char *path, size_t max, uint8_t **buf,
                                           size_t *len);

/* The same for a text (PEM, JSON): NUL-terminated, len without the NUL (len may be
 * NULL); VEIL_ERR_MALFORMED if the file holds a NUL byte. The intermediate copy is
 * wiped, so keys read this way leave one copy, the caller's. */
VEIL_MUST_CHECK veil_status veil_file_read_text(const char *path, size_t max, char **text,
                                                size_t *len);

/* Writes data to path atomically: a temporary file in the same directory, fsync,
 * rename, fsync of the directory. A crash leaves either the old or the new file. */
VEIL_MUST_CHECK veil_status veil_file_write_atomic(const char *path, const void *data, size_t len,
                                                   mode_t mode);

/* Like veil_file_write_atomic but fails with VEIL_ERR_EXISTS if path exists. */
VEIL_MUST_CHECK veil_status veil_file_create_new(const char *path, const void *data, size_t len,
                                                 mode_t mode);

/* Creates a directory and its parents (like mkdir -p). */
VEIL_MUST_CHECK veil_status veil_mkdir_p(const char *path, mode_t mode);

/* VEIL_ERR_PERMISSION if the file is readable or writable by group or others. */
VEIL_MUST_CHECK veil_status veil_file_check_private(const char *path);

/* Joins dir and name into out (cap bytes). VEIL_ERR_TOO_LARGE if it does not fit. */
VEIL_MUST_CHECK veil_status veil_path_join(char *out, size_t cap, const char *dir,
                                           const char *name);

/* The path of the running executable (/proc/self/exe). */
VEIL_MUST_CHECK veil_status veil_self_exe(char *out, size_t cap);

/* Where the signed enclave images are: $VEIL_ENCLAVE_DIR if set; else
 * <directory of the running executable>/enclaves if it exists (a build tree); else the
 * install directory chosen at configure time (VEIL_ENCLAVE_INSTALL_DIR). */
VEIL_MUST_CHECK veil_status veil_enclave_dir(char *out, size_t cap);
/* <veil_enclave_dir>/<image>. */
VEIL_MUST_CHECK veil_status veil_enclave_image_path(const char *image, char *out, size_t cap);

/* A human-readable detail for the last failure on this thread (errno text, file name),
 * or "" if none. Host-side companion to veil_status_str. */
const char *veil_error_detail(void);
void veil_error_detail_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void veil_error_detail_clear(void);

/* Removes path and everything below it (no symlink is followed). Best effort: for
 * temporary directories of tests and tools. */
void veil_remove_tree(const char *path);

/* Microseconds on the monotonic clock (for intervals and latencies, never dates). */
uint64_t veil_monotonic_us(void);

/* A daemon's pid file: "<pid>\n", written atomically once the daemon serves (so its
 * presence means ready), removed at a clean stop. NULL path: nothing. */
VEIL_MUST_CHECK veil_status veil_pidfile_write(const char *path);
void veil_pidfile_remove(const char *path);

/* Takes an exclusive flock on path (created 0600), waiting for it if `wait`, and
 * returns its fd (close it to release; the lock dies with the process).
 * VEIL_ERR_EXISTS if !wait and another process holds it; VEIL_ERR_IO otherwise. */
VEIL_MUST_CHECK veil_status veil_path_lock(const char *path, bool wait, int *fd);

/* Takes an exclusive, non-blocking flock on DIR/NAME (created 0600) and returns its fd
 * in *fd (close it to release; the lock also dies with the process, so a kill -9 never
 * leaves it behind). VEIL_ERR_EXISTS if another process holds it, with a detail naming
 * DIR and `who` (e.g. "another veil tve?"); VEIL_ERR_IO otherwise. */
VEIL_MUST_CHECK veil_status veil_dir_lock(const char *dir, const char *name, const char *who,
                                          int *fd);

#endif
