/* ABCI framing: unsigned varint length prefix, bounded frame reader, writer. */
#include "common/varint.h"
#include "host/abci/abci_frame.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cursor.h"
#include "hostutil/fileio.h"

/* The reader asks the kernel for at least this much at a time. */
#define ABCI_READ_CHUNK ((size_t)64 << 10)

veil_status abci_frame_split(const uint8_t *p, size_t len, size_t max_body, const uint8_t **body,
                             size_t *body_len, size_t *consumed)
{
    uint64_t n;
    size_t used;
    TRY(veil_varint_get(p, len, false, &n, &used));
    ENSURE(n <= max_body, VEIL_ERR_TOO_LARGE);
    ENSURE(n <= len - used, VEIL_ERR_TRUNCATED);
    *body = p + used;
    *body_len = (size_t)n;
    *consumed = used + (size_t)n;
    return VEIL_OK;
}

/* ---- decoded message checks --------------------------------------------------------- */

/* Deeper than any ABCI message can nest; protobuf-c's own recursion is bounded by the
 * schema, so this only guards the walk. */
#define ABCI_MAX_DEPTH 64

static bool message_wellformed(const ProtobufCMessage *m, unsigned depth)
{
    if (depth > ABCI_MAX_DEPTH) return false;
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0) return false;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE) continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(const void *)(base + f->quantifier_offset);
            ProtobufCMessage *const *arr =
                *(ProtobufCMessage *const *const *)(const void *)(base + f->offset);
            for (size_t j = 0; j < n; j++)
                if (arr[j] != NULL && !message_wellformed(arr[j], depth + 1)) return false;
            continue;
        }
        /* A oneof member's storage is shared: only the member named by the case is
         * a message pointer. */
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(const void *)(base + f->quantifier_offset) != f->id)
            continue;
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(const void *)(base + f->offset);
        if (sub != NULL && !message_wellformed(sub, depth + 1)) return false;
    }
    return true;
}

bool abci_message_wellformed(const ProtobufCMessage *m)
{
    return m != NULL && message_wellformed(m, 0);
}

/* ---- output buffer ---------------------------------------------------------------- */

void abci_buf_free(abci_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static veil_status buf_reserve(abci_buf *b, size_t extra)
{
    size_t need;
    ENSURE(!veil_add_overflows(b->len, extra, &need), VEIL_ERR_OVERFLOW);
    if (need <= b->cap) return VEIL_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        ENSURE(cap <= SIZE_MAX / 2, VEIL_ERR_OVERFLOW);
        cap *= 2;
    }
    uint8_t *p = realloc(b->p, cap);
    ENSURE(p != NULL, VEIL_ERR_NOMEM);
    b->p = p;
    b->cap = cap;
    return VEIL_OK;
}

veil_status abci_buf_append(abci_buf *b, const void *p, size_t n)
{
    if (n == 0) return VEIL_OK;
    TRY(buf_reserve(b, n));
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return VEIL_OK;
}

veil_status abci_buf_append_frame(abci_buf *b, const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t prefix[VEIL_VARINT_MAX_LEN];
    size_t plen = veil_varint_put(prefix, (uint64_t)n);
    size_t total;
    ENSURE(!veil_add_overflows(plen, n, &total), VEIL_ERR_OVERFLOW);
    TRY(buf_reserve(b, total));
    memcpy(b->p + b->len, prefix, plen);
    size_t packed = protobuf_c_message_pack(msg, b->p + b->len + plen);
    ENSURE(packed == n, VEIL_ERR_INTERNAL);
    b->len += total;
    return VEIL_OK;
}

/* ---- time and poll helpers --------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline for poll(): -1 for none, 0 when expired. */
static int poll_timeout(int64_t deadline)
{
    if (deadline < 0) return -1;
    int64_t left = deadline - now_ms();
    if (left <= 0) return 0;
    return left > 60000 ? 60000 : (int)left;
}

static int64_t deadline_for(int timeout_ms)
{
    return timeout_ms > 0 ? now_ms() + timeout_ms : -1;
}

/* ---- reader ------------------------------------------------------------------------- */

void abci_frame_reader_init(abci_frame_reader *r, int fd, size_t max_body)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->max_body = max_body ? max_body : ABCI_FRAME_MAX_DEFAULT;
    /* Keeps the buffer arithmetic far from overflow. */
    if (r->max_body > SIZE_MAX / 4) r->max_body = SIZE_MAX / 4;
}

void abci_frame_reader_free(abci_frame_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = r->start = r->end = 0;
}

/* Makes room for at least ABCI_READ_CHUNK more bytes (or `want` in total), moving
 * unconsumed bytes to the front first. Growth follows received data: `want` is
 * never more than the bytes of a frame whose length already passed the limit. */
static veil_status reader_make_room(abci_frame_reader *r, size_t want)
{
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    size_t need = r->end + ABCI_READ_CHUNK;
    if (want > need) need = want;
    if (need <= r->cap) return VEIL_OK;
    size_t cap = r->cap ? r->cap : ABCI_READ_CHUNK;
    while (cap < need) cap *= 2;
    /* Never grow past what the largest acceptable frame needs, plus one chunk. */
    size_t ceiling = r->max_body + VEIL_VARINT_MAX_LEN + ABCI_READ_CHUNK;
    if (cap > ceiling) cap = ceiling > need ? ceiling : need;
    uint8_t *p = realloc(r->buf, cap);
    ENSURE(p != NULL, VEIL_ERR_NOMEM);
    r->buf = p;
    r->cap = cap;
    return VEIL_OK;
}

/* One read(2) into the buffer. *got = 0 at EOF. */
static veil_status reader_read_once(abci_frame_reader *r, size_t want, size_t *got)
{
    TRY(reader_make_room(r, want));
    for (;;) {
        ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (n >= 0) {
            *got = (size_t)n;
            r->end += (size_t)n;
            if (n == 0) r->eof = true;
            return VEIL_OK;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            *got = SIZE_MAX; /* nothing now */
            return VEIL_OK;
        }
        veil_error_detail_set("abci read: %s", strerror(errno));
        return VEIL_ERR_NET;
    }
}

bool abci_frame_reader_has_frame(const abci_frame_reader *r)
{
    if (r->buf == NULL || r->end == r->start) return false;
    const uint8_t *body;
    size_t body_len, consumed;
    return abci_frame_split(r->buf + r->start, r->end - r->start, r->max_body, &body, &body_len,
                            &consumed) != VEIL_ERR_TRUNCATED;
}

veil_status abci_frame_reader_next(abci_frame_reader *r, int timeout_ms, const uint8_t **body,
                                   size_t *body_len, bool *eof)
{
    int64_t deadline = deadline_for(timeout_ms);
    *eof = false;
    for (;;) {
        size_t consumed = 0;
        size_t avail = r->end - r->start;
        /* No buffer yet until the first read: NULL + 0 is undefined in C. */
        const uint8_t *pending = r->buf != NULL ? r->buf + r->start : NULL;
        veil_status st = abci_frame_split(pending, avail, r->max_body, body, body_len, &consumed);
        if (st == VEIL_OK) {
            r->start += consumed;
            return VEIL_OK;
        }
        if (st != VEIL_ERR_TRUNCATED) return st;
        if (r->eof) {
            if (avail == 0) {
                *eof = true;
                return VEIL_OK;
            }
            return VEIL_ERR_TRUNCATED;
        }
        /* How much the frame needs in total, when the prefix is already complete. */
        size_t want = 0;
        uint64_t n;
        size_t used;
        if (veil_varint_get(pending, avail, false, &n, &used) == VEIL_OK)
            want = used + (size_t)n; /* n <= max_body here */

        struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, poll_timeout(deadline));
        if (pr < 0) {
            if (errno == EINTR) continue;
            veil_error_detail_set("abci poll: %s", strerror(errno));
            return VEIL_ERR_NET;
        }
        if (pr == 0) {
            if (deadline >= 0 && now_ms() >= deadline) return VEIL_ERR_TIMEOUT;
            continue;
        }
        size_t got;
        TRY(reader_read_once(r, want, &got));
    }
}

veil_status abci_frame_reader_pump(abci_frame_reader *r)
{
    for (;;) {
        struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, 0);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0 || r->eof) return VEIL_OK;
        size_t got;
        TRY(reader_read_once(r, 0, &got));
        if (got == 0 || got == SIZE_MAX) return VEIL_OK;
    }
}

/* ---- writer ------------------------------------------------------------------------- */

static ssize_t write_some(int fd, const uint8_t *p, size_t len)
{
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == ENOTSOCK) n = write(fd, p, len);
    return n;
}

veil_status abci_fd_write_all(int fd, const uint8_t *p, size_t len, int timeout_ms,
                              abci_frame_reader *drain)
{
    int64_t deadline = deadline_for(timeout_ms);
    while (len > 0) {
        ssize_t n = write_some(fd, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            veil_error_detail_set("abci write: %s", strerror(errno));
            return VEIL_ERR_NET;
        }
        struct pollfd pfd[2] = {{.fd = fd, .events = POLLOUT}, {.fd = -1}};
        if (drain != NULL && !drain->eof)
            pfd[1] = (struct pollfd){.fd = drain->fd, .events = POLLIN};
        int pr = poll(pfd, 2, poll_timeout(deadline));
        if (pr < 0) {
            if (errno == EINTR) continue;
            veil_error_detail_set("abci poll: %s", strerror(errno));
            return VEIL_ERR_NET;
        }
        if (pr == 0) {
            if (deadline >= 0 && now_ms() >= deadline) return VEIL_ERR_TIMEOUT;
            continue;
        }
        if (pfd[0].revents & (POLLERR | POLLNVAL)) {
            veil_error_detail_set("abci write: connection error");
            return VEIL_ERR_NET;
        }
        if (pfd[1].fd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP)))
            TRY(abci_frame_reader_pump(drain));
    }
    return VEIL_OK;
}
