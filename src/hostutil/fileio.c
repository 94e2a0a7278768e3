#define _GNU_SOURCE /* nftw */
#include "hostutil/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

static _Thread_local char g_detail[512];

const char *veil_error_detail(void) { return g_detail; }

void veil_error_detail_set(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_detail, sizeof g_detail, fmt, ap);
    va_end(ap);
}

void veil_error_detail_clear(void) { g_detail[0] = '\0'; }

static veil_status errno_status(int e)
{
    switch (e) {
    case ENOENT:
        return VEIL_ERR_NOT_FOUND;
    case EEXIST:
        return VEIL_ERR_EXISTS;
    case EACCES:
    case EPERM:
        return VEIL_ERR_PERMISSION;
    default:
        return VEIL_ERR_IO;
    }
}

veil_status veil_path_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    ENSURE(n >= 0 && (size_t)n < cap, VEIL_ERR_TOO_LARGE);
    return VEIL_OK;
}

veil_status veil_file_read_text(const char *path, size_t max, char **text, size_t *len)
{
    uint8_t *raw;
    size_t n;
    TRY(veil_file_read(path, max, &raw, &n));
    veil_status st = VEIL_OK;
    char *t = NULL;
    if (memchr(raw, 0, n) != NULL) {
        veil_error_detail_set("%s: not a text (it holds a NUL byte)", path);
        st = VEIL_ERR_MALFORMED;
    } else if ((t = malloc(n + 1)) == NULL) {
        st = VEIL_ERR_NOMEM;
    } else {
        memcpy(t, raw, n);
        t[n] = '\0';
        *text = t;
        if (len != NULL) *len = n;
    }
    sodium_memzero(raw, n);
    free(raw);
    return st;
}

veil_status veil_file_read(const char *path, size_t max, uint8_t **buf, size_t *len)
{
    veil_status st = VEIL_OK;
    uint8_t *data = NULL;
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        veil_error_detail_set("%s: %s", path, strerror(errno));
        return errno_status(errno);
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        veil_error_detail_set("%s: not a regular file", path);
        st = VEIL_ERR_IO;
        goto out;
    }
    if ((uint64_t)sb.st_size > max) {
        veil_error_detail_set("%s: %lld bytes, limit %zu", path, (long long)sb.st_size, max);
        st = VEIL_ERR_TOO_LARGE;
        goto out;
    }
    size_t size = (size_t)sb.st_size, got = 0;
    data = malloc(size ? size : 1);
    ENSURE_OUT(data != NULL, VEIL_ERR_NOMEM);
    while (got < size) {
        ssize_t r = read(fd, data + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            veil_error_detail_set("%s: read failed: %s", path, r < 0 ? strerror(errno) : "short");
            st = VEIL_ERR_IO;
            goto out;
        }
        got += (size_t)r;
    }
    *buf = data;
    *len = size;
    data = NULL;
out:
    free(data);
    close(fd);
    return st;
}

static veil_status write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return VEIL_ERR_IO;
        p += w;
        len -= (size_t)w;
    }
    return VEIL_OK;
}

static veil_status fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    ENSURE(strlen(path) < sizeof dir, VEIL_ERR_TOO_LARGE);
    strcpy(dir, path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) strcpy(dir, ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ENSURE(fd >= 0, VEIL_ERR_IO);
    int r = fsync(fd);
    close(fd);
    return r == 0 ? VEIL_OK : VEIL_ERR_IO;
}

static veil_status write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                                int exclusive)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
    ENSURE(n > 0 && (size_t)n < sizeof tmp, VEIL_ERR_TOO_LARGE);
    /* A fresh, unpredictable name created exclusively (mkstemp: O_EXCL, mode 0600), so
     * nothing planted in the directory can receive the data, and the final mode is
     * set before any byte of it is written. */
    int fd = mkstemp(tmp);
    if (fd >= 0) (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (fd < 0) {
        veil_error_detail_set("%s: %s", tmp, strerror(errno));
        return errno_status(errno);
    }
    veil_status st = fchmod(fd, mode) == 0 ? VEIL_OK : VEIL_ERR_IO;
    if (st == VEIL_OK) st = write_all(fd, data, len);
    if (st == VEIL_OK && fsync(fd) != 0) st = VEIL_ERR_IO;
    close(fd);
    if (st == VEIL_OK) {
        /* link() fails if the target exists, giving create-new semantics atomically. */
        int r = exclusive ? link(tmp, path) : rename(tmp, path);
        if (r != 0) {
            st = errno_status(errno);
            veil_error_detail_set("%s: %s", path, strerror(errno));
        }
    } else {
        veil_error_detail_set("%s: write failed", tmp);
    }
    if (exclusive || st != VEIL_OK) unlink(tmp);
    if (st == VEIL_OK) st = fsync_parent(path);
    return st;
}

veil_status veil_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    return write_atomic(path, data, len, mode, 0);
}

veil_status veil_file_create_new(const char *path, const void *data, size_t len, mode_t mode)
{
    return write_atomic(path, data, len, mode, 1);
}

veil_status veil_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    ENSURE(strlen(path) > 0 && strlen(path) < sizeof buf, VEIL_ERR_ARG);
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST) {
            veil_error_detail_set("%s: %s", buf, strerror(errno));
            return errno_status(errno);
        }
        *p = '/';
    }
    if (mkdir(buf, mode) != 0 && errno != EEXIST) {
        veil_error_detail_set("%s: %s", buf, strerror(errno));
        return errno_status(errno);
    }
    return VEIL_OK;
}

veil_status veil_file_check_private(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        veil_error_detail_set("%s: %s", path, strerror(errno));
        return errno_status(errno);
    }
    if ((sb.st_mode & 077) != 0) {
        veil_error_detail_set("%s has mode %03o; it must be 0600 (chmod 600 %s)", path,
                              (unsigned)(sb.st_mode & 0777), path);
        return VEIL_ERR_PERMISSION;
    }
    return VEIL_OK;
}

veil_status veil_self_exe(char *out, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", out, cap - 1);
    if (n <= 0 || (size_t)n >= cap - 1) {
        veil_error_detail_set("cannot resolve /proc/self/exe");
        return VEIL_ERR_NOT_FOUND;
    }
    out[n] = '\0';
    return VEIL_OK;
}

veil_status veil_enclave_dir(char *out, size_t cap)
{
    const char *env = getenv("VEIL_ENCLAVE_DIR");
    int w;
    if (env != NULL && env[0] != '\0') {
        w = snprintf(out, cap, "%s", env);
        ENSURE(w >= 0 && (size_t)w < cap, VEIL_ERR_TOO_LARGE);
        return VEIL_OK;
    }
    /* A build tree: the images sit next to the binary. */
    char exe[PATH_MAX];
    TRY(veil_self_exe(exe, sizeof exe));
    char *slash = strrchr(exe, '/');
    ENSURE(slash != NULL, VEIL_ERR_NOT_FOUND);
    *slash = '\0';
    w = snprintf(out, cap, "%s/enclaves", exe);
    ENSURE(w >= 0 && (size_t)w < cap, VEIL_ERR_TOO_LARGE);
    struct stat sb;
    if (stat(out, &sb) == 0 && S_ISDIR(sb.st_mode)) return VEIL_OK;
    /* An installed veil: the directory chosen at configure time. */
    w = snprintf(out, cap, "%s", VEIL_ENCLAVE_INSTALL_DIR);
    ENSURE(w >= 0 && (size_t)w < cap, VEIL_ERR_TOO_LARGE);
    return VEIL_OK;
}

veil_status veil_enclave_image_path(const char *image, char *out, size_t cap)
{
    char dir[PATH_MAX];
    TRY(veil_enclave_dir(dir, sizeof dir));
    int w = snprintf(out, cap, "%s/%s", dir, image);
    ENSURE(w >= 0 && (size_t)w < cap, VEIL_ERR_TOO_LARGE);
    return VEIL_OK;
}

veil_status veil_path_lock(const char *path, bool wait, int *fd)
{
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (f < 0) {
        veil_error_detail_set("%s: %s", path, strerror(errno));
        return VEIL_ERR_IO;
    }
    int rc;
    do {
        rc = flock(f, LOCK_EX | (wait ? 0 : LOCK_NB));
    } while (rc != 0 && errno == EINTR && wait);
    if (rc != 0) {
        veil_status st = errno == EWOULDBLOCK ? VEIL_ERR_EXISTS : VEIL_ERR_IO;
        veil_error_detail_set("%s: %s", path, strerror(errno));
        close(f);
        return st;
    }
    *fd = f;
    return VEIL_OK;
}

veil_status veil_dir_lock(const char *dir, const char *name, const char *who, int *fd)
{
    char path[PATH_MAX];
    TRY(veil_path_join(path, sizeof path, dir, name));
    veil_status st = veil_path_lock(path, false, fd);
    if (st == VEIL_ERR_EXISTS) veil_error_detail_set("%s is in use by another process (%s)", dir, who);
    return st;
}

veil_status veil_pidfile_write(const char *path)
{
    if (path == NULL) return VEIL_OK;
    char text[32];
    int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    return veil_file_write_atomic(path, text, (size_t)n, 0644);
}

void veil_pidfile_remove(const char *path)
{
    if (path != NULL) (void)unlink(path);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    (void)remove(path);
    return 0;
}

void veil_remove_tree(const char *path)
{
    if (path != NULL && path[0] != '\0') (void)nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

uint64_t veil_monotonic_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}
