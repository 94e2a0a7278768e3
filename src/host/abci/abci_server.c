/* ABCI socket server: accept loop, one thread per connection, ordered responses
 * written at each Flush. The request handling itself is abci_serve.c. */
#define _GNU_SOURCE /* accept4, pipe2 */
#include "host/abci/abci_server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host/abci/abci_net.h"
#include "hostutil/fileio.h"

/* Responses are written at each Flush; a client that pipelines more than this
 * without flushing gets them early (as Go's bufio.Writer in CometBFT's server does at
 * 4 KiB), so server memory stays bounded. */
#define ABCI_SERVER_WRITE_HIGH_WATER ((size_t)1 << 20)

typedef struct abci_conn {
    struct abci_conn *next;
    abci_server *srv;
    int fd; /* -1 once the connection thread closed it (under srv->lock) */
    pthread_t thread;
    bool done;
} abci_conn;

struct abci_server {
    abci_app app;
    abci_addr addr;
    size_t max_frame;
    unsigned max_conns;
    int listen_fd;
    int wake[2]; /* a byte on wake[1] ends the accept loop */
    dev_t sock_dev;
    ino_t sock_ino;
    pthread_t accept_thread;
    bool accept_running;

    pthread_mutex_t app_lock; /* serialises every app callback (abci_app.h) */
    pthread_mutex_t stop_lock;
    pthread_mutex_t lock; /* conns, n_open, stopping */
    abci_conn *conns;
    unsigned n_open;
    bool stopping;
    bool stopped;
};

static void *conn_main(void *arg)
{
    abci_conn *c = arg;
    abci_server *s = c->srv;
    abci_frame_reader r;
    abci_buf out = {0};
    abci_frame_reader_init(&r, c->fd, s->max_frame);

    const uint8_t *body = NULL;
    size_t len = 0;
    bool ahead = false; /* body holds a frame read while gathering CheckTx, not served */
    for (;;) {
        bool eof, lost = false;
        /* A framing error (bad varint, oversized, stream ending mid-frame) cannot be
         * answered in order: the stream has lost sync. Close, as CometBFT does. */
        if (!ahead && (abci_frame_reader_next(&r, 0, &body, &len, &eof) != VEIL_OK || eof)) break;
        ahead = false;
        abci_serve_next next;
        Tendermint__Abci__Request *first =
            s->app.check_tx_batch != NULL ? abci_decode_check_tx(body, len) : NULL;
        if (first != NULL) {
            /* The CheckTx requests already received behind this one go to the app
             * together (a pipelining client sends many, then Flush). */
            Tendermint__Abci__Request *batch[ABCI_CHECK_BATCH_MAX];
            size_t n = 0;
            batch[n++] = first;
            while (n < ABCI_CHECK_BATCH_MAX && abci_frame_reader_pump(&r) == VEIL_OK &&
                   abci_frame_reader_has_frame(&r)) {
                if (abci_frame_reader_next(&r, 0, &body, &len, &eof) != VEIL_OK || eof) {
                    lost = true;
                    break;
                }
                Tendermint__Abci__Request *q = abci_decode_check_tx(body, len);
                if (q == NULL) { /* served next, in order */
                    ahead = true;
                    break;
                }
                batch[n++] = q;
            }
            if (abci_serve_check_batch(&s->app, &s->app_lock, batch, n, &out, &next) != VEIL_OK ||
                lost)
                break;
        } else if (abci_serve_request(&s->app, &s->app_lock, body, len, &out, &next) != VEIL_OK) {
            break;
        }
        if (next != ABCI_SERVE_BUFFER || out.len >= ABCI_SERVER_WRITE_HIGH_WATER) {
            veil_status st = abci_fd_write_all(c->fd, out.p, out.len, 0, NULL);
            out.len = 0;
            if (st != VEIL_OK || next == ABCI_SERVE_FLUSH_CLOSE) break;
        }
    }
    /* Responses still buffered were never flushed: CometBFT would not read them
     * either (it always flushes before waiting). */
    abci_frame_reader_free(&r);
    abci_buf_free(&out);

    pthread_mutex_lock(&s->lock);
    close(c->fd);
    c->fd = -1;
    c->done = true;
    s->n_open--;
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Joins and frees finished connections (accept thread only, or stop after it). */
static void reap(abci_server *s, bool all)
{
    for (;;) {
        abci_conn *victim = NULL;
        pthread_mutex_lock(&s->lock);
        for (abci_conn **pp = &s->conns; *pp != NULL; pp = &(*pp)->next) {
            if (all || (*pp)->done) {
                victim = *pp;
                *pp = victim->next;
                break;
            }
        }
        pthread_mutex_unlock(&s->lock);
        if (victim == NULL) return;
        pthread_join(victim->thread, NULL);
        free(victim);
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *accept_main(void *arg)
{
    abci_server *s = arg;
    for (;;) {
        struct pollfd pfd[2] = {{.fd = s->listen_fd, .events = POLLIN},
                                {.fd = s->wake[0], .events = POLLIN}};
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR) continue;
            sleep_ms(10);
            continue;
        }
        if (pfd[1].revents) return NULL;
        if (!(pfd[0].revents & POLLIN)) continue;

        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            /* Out of descriptors or memory: back off instead of spinning. */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                sleep_ms(100);
            continue;
        }
        if (!s->addr.is_unix) {
            int one = 1;
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        reap(s, false);

        abci_conn *c = calloc(1, sizeof *c);
        pthread_mutex_lock(&s->lock);
        if (c == NULL || s->stopping || s->n_open >= s->max_conns) {
            pthread_mutex_unlock(&s->lock);
            free(c);
            close(fd);
            continue;
        }
        c->srv = s;
        c->fd = fd;
        c->next = s->conns;
        s->conns = c;
        s->n_open++;
        /* Created under the lock so that stop sees either no connection or one whose
         * thread exists. */
        if (pthread_create(&c->thread, NULL, conn_main, c) != 0) {
            s->conns = c->next;
            s->n_open--;
            close(fd);
            free(c);
        }
        pthread_mutex_unlock(&s->lock);
    }
}

veil_status abci_server_start(const abci_server_config *cfg, const abci_app *app, abci_server **out)
{
    ENSURE(cfg != NULL && app != NULL && out != NULL && cfg->listen_addr != NULL, VEIL_ERR_ARG);
    abci_server *s = calloc(1, sizeof *s);
    ENSURE(s != NULL, VEIL_ERR_NOMEM);
    veil_status st;
    s->listen_fd = -1;
    s->wake[0] = s->wake[1] = -1;
    s->app = *app;
    s->max_frame = cfg->max_frame ? cfg->max_frame : ABCI_FRAME_MAX_DEFAULT;
    s->max_conns =
        cfg->max_connections ? cfg->max_connections : ABCI_SERVER_MAX_CONNECTIONS_DEFAULT;
    pthread_mutex_init(&s->app_lock, NULL);
    pthread_mutex_init(&s->stop_lock, NULL);
    pthread_mutex_init(&s->lock, NULL);

    TRY_OUT(abci_addr_parse(cfg->listen_addr, &s->addr));
    TRY_OUT(abci_listen(&s->addr, &s->listen_fd));
    if (s->addr.is_unix) {
        struct stat sb;
        if (stat(s->addr.path, &sb) == 0) {
            s->sock_dev = sb.st_dev;
            s->sock_ino = sb.st_ino;
        }
    }
    if (pipe2(s->wake, O_CLOEXEC) != 0) {
        veil_error_detail_set("pipe: %s", strerror(errno));
        st = VEIL_ERR_IO;
        goto out;
    }
    if (pthread_create(&s->accept_thread, NULL, accept_main, s) != 0) {
        veil_error_detail_set("cannot start the ABCI accept thread");
        st = VEIL_ERR_INTERNAL;
        goto out;
    }
    s->accept_running = true;
    *out = s;
    return VEIL_OK;
out:
    abci_server_free(s);
    return st;
}

veil_status abci_server_address(const abci_server *s, char *out, size_t cap)
{
    ENSURE(s != NULL && s->listen_fd >= 0, VEIL_ERR_ARG);
    return abci_addr_format_bound(&s->addr, s->listen_fd, out, cap);
}

unsigned abci_server_connection_count(abci_server *s)
{
    pthread_mutex_lock(&s->lock);
    unsigned n = s->n_open;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void abci_server_stop(abci_server *s)
{
    if (s == NULL) return;
    pthread_mutex_lock(&s->stop_lock);
    if (s->stopped) {
        pthread_mutex_unlock(&s->stop_lock);
        return;
    }
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_mutex_unlock(&s->lock);

    bool ran = s->accept_running; /* false when start failed half-way */
    if (s->accept_running) {
        ssize_t w;
        do {
            w = write(s->wake[1], "x", 1);
        } while (w < 0 && errno == EINTR);
        pthread_join(s->accept_thread, NULL);
        s->accept_running = false;
    }
    /* Let the app cut short a callback that could block for long, then wake every
     * connection thread: blocked reads see EOF, blocked writes fail. */
    if (ran && s->app.interrupt != NULL) s->app.interrupt(s->app.ctx);
    pthread_mutex_lock(&s->lock);
    for (abci_conn *c = s->conns; c != NULL; c = c->next)
        if (c->fd >= 0) shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_unlock(&s->lock);
    reap(s, true);

    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
        /* Remove the socket file only if it is still the one this server bound. */
        struct stat sb;
        if (s->addr.is_unix && lstat(s->addr.path, &sb) == 0 && sb.st_dev == s->sock_dev &&
            sb.st_ino == s->sock_ino)
            unlink(s->addr.path);
    }
    s->stopped = true;
    pthread_mutex_unlock(&s->stop_lock);
}

void abci_server_free(abci_server *s)
{
    if (s == NULL) return;
    abci_server_stop(s);
    for (int i = 0; i < 2; i++)
        if (s->wake[i] >= 0) close(s->wake[i]);
    pthread_mutex_destroy(&s->app_lock);
    pthread_mutex_destroy(&s->stop_lock);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
