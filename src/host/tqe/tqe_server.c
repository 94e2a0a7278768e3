/* The TQE host: TCP accept loop, one thread per connection, ocalls (see tqe_server.h). */
#include "host/tqe/tqe_server.h"
#include "hostutil/log.h"
#include "hostutil/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/cursor.h"
#include "host/tve/tve_client.h"
#include "host/lightclient/lc_follow.h"
#include "host/tqe/tqe_chain.h"
#include "host/tqe/tqe_handoff.h"
#include "hostutil/fileio.h"
#include "hostutil/tcp.h"
#include "trusted/tqe/tqe_abi.h"
#include "veil/tve.pb-c.h"

#define READ_MAX (16u * 1024u)
#define RATE_SLOTS 1024u
#define RENEW_CHECK_SECONDS 600
/* Enclave heap: a query holds about 2 MiB while it runs (64 sealed txs and their
 * plaintexts), a connection 64 KiB of reassembly buffer. */
#define TQE_ENCLAVE_MEMORY ((size_t)256 << 20)

typedef struct bucket {
    bool used;
    struct in6_addr addr;
    double tokens;
    double last;
} bucket;

/* Open connections of one client address (count 0: free entry). */
typedef struct peer_count {
    struct in6_addr addr;
    unsigned count;
} peer_count;

struct tqe_server {
    tqe_server_config cfg;
    tee_platform *platform;
    tee_enclave *enclave;
    int listen_fd;
    char address[128];
    char cert_path[4096];
    char lc_path[4096];
    lc_follow *follower; /* the enclave's light client; NULL without an RPC */

    pthread_mutex_t tve_lock; /* tve_client is one thread at a time */
    tve_client *tve;

    pthread_mutex_t lock; /* guards the fields below */
    pthread_cond_t idle;
    unsigned active;
    atomic_bool stopping; /* connections end at their next poll slice */
    bucket buckets[RATE_SLOTS];
    peer_count peers[RATE_SLOTS]; /* max_clients <= 4096 open connections, few addresses */
};

/* Under s->lock: the entry of `addr`, or a free one (NULL if the table is full). */
static peer_count *peer_find(tqe_server *s, const struct in6_addr *addr)
{
    peer_count *free_slot = NULL;
    for (size_t i = 0; i < RATE_SLOTS; i++) {
        peer_count *p = &s->peers[i];
        if (p->count > 0 && memcmp(&p->addr, addr, sizeof *addr) == 0) return p;
        if (p->count == 0 && free_slot == NULL) free_slot = p;
    }
    if (free_slot != NULL) free_slot->addr = *addr;
    return free_slot;
}

typedef struct conn {
    tqe_server *srv;
    int fd;
    struct in6_addr peer;
} conn;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- rate limit ---------------------------------------------------------------------- */

/* Takes a token for addr; returns 0 when taken, else the seconds until one is due. */
static double rate_take(tqe_server *s, const struct in6_addr *addr)
{
    double rate = s->cfg.rate, burst = 2.0 * rate, t = now_s(), wait = 0;
    pthread_mutex_lock(&s->lock);
    bucket *b = NULL, *oldest = &s->buckets[0];
    for (size_t i = 0; i < RATE_SLOTS && b == NULL; i++) {
        bucket *c = &s->buckets[i];
        if (c->used && memcmp(&c->addr, addr, sizeof *addr) == 0) b = c;
        else if (!c->used || (oldest->used && c->last < oldest->last)) oldest = c;
    }
    if (b == NULL) { /* a new address replaces the least recently seen one */
        b = oldest;
        b->used = true;
        b->addr = *addr;
        b->tokens = burst;
        b->last = t;
    }
    b->tokens += (t - b->last) * rate;
    if (b->tokens > burst) b->tokens = burst;
    b->last = t;
    if (b->tokens >= 1.0)
        b->tokens -= 1.0;
    else
        wait = (1.0 - b->tokens) / rate;
    pthread_mutex_unlock(&s->lock);
    return wait;
}

/* --- ocalls ---------------------------------------------------------------------------- */

static veil_status pack_response(const Veil__Tve__Response *r, uint8_t *out, size_t cap,
                                 size_t *out_len)
{
    size_t n = veil__tve__response__get_packed_size(r);
    ENSURE(n <= cap, VEIL_ERR_BUFFER_TOO_SMALL);
    *out_len = veil__tve__response__pack(r, out);
    return VEIL_OK;
}

/* Calls the TVE; a TVE Error becomes an error Response for the enclave. */
static veil_status tve_forward(tqe_server *s, const Veil__Tve__Request *req,
                               Veil__Tve__Response__ResponseCase want, uint8_t *out, size_t cap,
                               size_t *out_len)
{
    Veil__Tve__Response *resp = NULL;
    pthread_mutex_lock(&s->tve_lock);
    veil_status st = tve_client_call(s->tve, req, want, 0, &resp);
    pthread_mutex_unlock(&s->tve_lock);
    if (st == VEIL_OK) {
        st = pack_response(resp, out, cap, out_len);
        veil__tve__response__free_unpacked(resp, NULL);
        return st;
    }
    if (st == VEIL_ERR_TIMEOUT || st == VEIL_ERR_NET || st == VEIL_ERR_DECODE)
        return VEIL_ERR_TQE_UNAVAILABLE;
    Veil__Tve__Error e = VEIL__TVE__ERROR__INIT;
    Veil__Tve__Response r = VEIL__TVE__RESPONSE__INIT;
    e.code = (uint32_t)st;
    e.name = (char *)veil_status_name(st);
    e.message = (char *)veil_status_str(st);
    r.response_case = VEIL__TVE__RESPONSE__RESPONSE_ERROR;
    r.error = &e;
    return pack_response(&r, out, cap, out_len);
}

static veil_status o_tve_encrypt(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                                 size_t out_cap, size_t *out_len)
{
    tqe_server *s = ctx;
    Veil__Tve__EncryptRequest *er = veil__tve__encrypt_request__unpack(NULL, in_len, in);
    ENSURE(er != NULL, VEIL_ERR_DECODE);
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_ENCRYPT;
    req.encrypt = er;
    veil_status st =
        tve_forward(s, &req, VEIL__TVE__RESPONSE__RESPONSE_ENCRYPT, out, out_cap, out_len);
    veil__tve__encrypt_request__free_unpacked(er, NULL);
    return st;
}

/* TQE_O_CHAIN_STATE: the records an order needs, with proofs, once this TQE's light
 * client has verified the header that proves them (it is the next block's: the order
 * waits for it, about one block interval). */
static veil_status o_chain_state(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                                 size_t out_cap, size_t *out_len)
{
    tqe_server *s = ctx;
    int64_t height = 0;
    if (s->follower == NULL) {
        veil_log(VEIL_LOG_WARN, "an encrypt needs the chain's state: this TQE runs without "
                                "--rpc, so it has none");
        return VEIL_ERR_TQE_UNAVAILABLE;
    }
    TRY(tqe_chain_fetch(s->cfg.rpc_url, (long)s->cfg.timeout_ms, in, in_len, out, out_cap,
                        out_len, &height));
    if (lc_follow_wait(s->follower, height, s->cfg.timeout_ms / 2) != VEIL_OK) {
        veil_log(VEIL_LOG_WARN, "an order waits for the light client: %s", veil_error_detail());
        return VEIL_ERR_TQE_NOT_SYNCED;
    }
    return VEIL_OK;
}

static veil_status o_tve_get_sealed(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                                    size_t out_cap, size_t *out_len)
{
    tqe_server *s = ctx;
    Veil__Tve__GetSealedTxsRequest *g = veil__tve__get_sealed_txs_request__unpack(NULL, in_len, in);
    ENSURE(g != NULL, VEIL_ERR_DECODE);
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_GET_SEALED_TXS;
    req.get_sealed_txs = g;
    veil_status st =
        tve_forward(s, &req, VEIL__TVE__RESPONSE__RESPONSE_GET_SEALED_TXS, out, out_cap, out_len);
    veil__tve__get_sealed_txs_request__free_unpacked(g, NULL);
    return st;
}

static const tee_ocall_fn g_ocalls[] = {o_tve_encrypt, o_tve_get_sealed, o_chain_state};

/* --- identity ---------------------------------------------------------------------------- */

static veil_status identity_refresh(tqe_server *s)
{
    uint8_t now[8], *cert = malloc(TQE_CERT_MAX);
    ENSURE(cert != NULL, VEIL_ERR_INTERNAL);
    size_t n = 0;
    veil_put_u64(now, (uint64_t)time(NULL));
    veil_status st = tee_enclave_call(s->enclave, TQE_E_IDENTITY, now, sizeof now, cert,
                                      TQE_CERT_MAX, &n);
    if (st == VEIL_OK) st = veil_file_write_atomic(s->cert_path, cert, n, 0644);
    free(cert);
    return st;
}

/* --- connections ----------------------------------------------------------------------- */


/* --- metrics (GET /metrics with --metrics) ------------------------------------------ */
static veil_metric m_conns_total = {.name = "veil_tqe_connections_total",
                                    .help = "Wallet connections accepted.",
                                    .type = VEIL_METRIC_COUNTER};
static veil_metric m_conns_open = {.name = "veil_tqe_connections_open",
                                   .help = "Wallet connections open now.",
                                   .type = VEIL_METRIC_GAUGE};
static veil_metric m_conns_refused = {.name = "veil_tqe_connections_refused_total",
                                      .help = "Connections refused (server or per-address limit).",
                                      .type = VEIL_METRIC_COUNTER};
static veil_metric m_established = {.name = "veil_tqe_sessions_established_total",
                                    .help = "Connections that completed the attested TLS handshake.",
                                    .type = VEIL_METRIC_COUNTER};

static veil_metric m_lc_height = {.name = "veil_tqe_lightclient_height",
                                  .help = "Latest header the enclave's light client verified.",
                                  .type = VEIL_METRIC_GAUGE};

void tqe_server_metrics_register(void)
{
    veil_metric_register(&m_lc_height);
    veil_metric_register(&m_conns_total);
    veil_metric_register(&m_conns_open);
    veil_metric_register(&m_conns_refused);
    veil_metric_register(&m_established);
}

/* A connection of `peer` ended (or never started): frees its place in both counts. */
static void conn_release(tqe_server *s, const struct in6_addr *peer)
{
    pthread_mutex_lock(&s->lock);
    s->active--;
    veil_metric_set(&m_conns_open, s->active);
    peer_count *pc = peer_find(s, peer);
    if (pc != NULL && pc->count > 0) pc->count--;
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->lock);
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    tqe_server *s = c->srv;
    uint8_t *in = malloc(4 + READ_MAX), *out = malloc(TQE_FEED_OUT_MAX);
    uint8_t handle[4];
    size_t n = 0;
    bool opened = false, established = false;
    if (in == NULL || out == NULL) goto done;
    if (tee_enclave_call(s->enclave, TQE_E_OPEN, NULL, 0, handle, sizeof handle, &n) != VEIL_OK ||
        n != 4)
        goto done;
    opened = true;
    memcpy(in, handle, 4);
    double start = now_s(), deadline = start + 20.0 * s->cfg.timeout_ms / 1000.0;
    double idle_until = start + s->cfg.timeout_ms / 1000.0;
    double handshake_until = start + s->cfg.handshake_ms / 1000.0;
    for (;;) {
        double t = now_s();
        if (t >= deadline || t >= idle_until || atomic_load(&s->stopping)) break;
        if (!established && t >= handshake_until) break;
        /* Short slices, so a stopping server does not wait for idle clients. */
        struct pollfd p = {c->fd, POLLIN, 0};
        int pr = poll(&p, 1, 250);
        if (pr < 0 && errno == EINTR) continue;
        if (pr < 0) break;
        if (pr == 0) continue;
        idle_until = now_s() + s->cfg.timeout_ms / 1000.0;
        ssize_t r = recv(c->fd, in + 4, READ_MAX, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        double wait;
        while ((wait = rate_take(s, &c->peer)) > 0) {
            struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
            nanosleep(&ts, NULL);
        }
        size_t feed_len = 4 + (size_t)r;
        bool close_now = false;
        for (;;) {
            if (tee_enclave_call(s->enclave, TQE_E_FEED, in, feed_len, out, TQE_FEED_OUT_MAX,
                                 &n) != VEIL_OK ||
                n < 1) {
                close_now = true;
                break;
            }
            if (!veil_tcp_send_all(c->fd, out + 1, n - 1)) {
                close_now = true;
                break;
            }
            if (out[0] & TQE_FEED_CLOSE) close_now = true;
            if ((out[0] & TQE_FEED_ESTABLISHED) && !established) {
                established = true;
                veil_metric_add(&m_established, 1);
            }
            if (close_now || !(out[0] & TQE_FEED_MORE)) break;
            feed_len = 4; /* drain queued output */
        }
        if (close_now) break;
    }
done:
    if (opened && tee_enclave_call(s->enclave, TQE_E_CLOSE, handle, 4, NULL, 0, &n) != VEIL_OK)
        veil_log(VEIL_LOG_WARN, "closing a connection failed");
    close(c->fd);
    free(in);
    free(out);
    struct in6_addr c_peer = c->peer;
    free(c);
    conn_release(s, &c_peer);
    return NULL;
}

static void accept_one(tqe_server *s)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept(s->listen_fd, (struct sockaddr *)&ss, &sl);
    if (fd < 0) return;
    struct in6_addr peer = {0};
    if (ss.ss_family == AF_INET)
        memcpy(&peer.s6_addr[12], &((struct sockaddr_in *)&ss)->sin_addr, 4);
    else if (ss.ss_family == AF_INET6)
        peer = ((struct sockaddr_in6 *)&ss)->sin6_addr;
    struct timeval tv = {(time_t)(s->cfg.timeout_ms / 1000),
                         (long)(s->cfg.timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    /* Answers are small and must not wait for the client's delayed ACK (Nagle). */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    pthread_mutex_lock(&s->lock);
    peer_count *pc = peer_find(s, &peer);
    bool room = s->active < s->cfg.max_clients && pc != NULL &&
                pc->count < s->cfg.max_per_address;
    if (room) {
        s->active++;
        pc->count++;
        veil_metric_add(&m_conns_total, 1);
        veil_metric_set(&m_conns_open, s->active);
    } else {
        veil_metric_add(&m_conns_refused, 1);
    }
    pthread_mutex_unlock(&s->lock);
    if (!room || rate_take(s, &peer) > 0) {
        if (room) conn_release(s, &peer);
        close(fd);
        return;
    }
    conn *c = calloc(1, sizeof *c);
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (c != NULL) {
        c->srv = s;
        c->fd = fd;
        c->peer = peer;
    }
    if (c == NULL || pthread_create(&th, &attr, conn_main, c) != 0) {
        free(c);
        close(fd);
        conn_release(s, &peer);
    }
    pthread_attr_destroy(&attr);
}

/* --- lifecycle --------------------------------------------------------------------------- */

static veil_status listen_on(tqe_server *s, const char *hostport)
{
    return veil_tcp_listen(hostport, 128, &s->listen_fd, s->address, sizeof s->address);
}

veil_status tqe_server_open(const tqe_server_config *cfg, tqe_server **out)
{
    ENSURE(cfg->listen != NULL && cfg->tve_endpoint != NULL && cfg->home != NULL &&
               cfg->enclave_path != NULL,
           VEIL_ERR_ARG);
    tqe_server *s = calloc(1, sizeof *s);
    ENSURE(s != NULL, VEIL_ERR_INTERNAL);
    s->cfg = *cfg;
    if (s->cfg.max_clients == 0) s->cfg.max_clients = 64;
    if (s->cfg.timeout_ms == 0) s->cfg.timeout_ms = 30000;
    if (s->cfg.rate == 0) s->cfg.rate = 50;
    if (s->cfg.max_per_address == 0) s->cfg.max_per_address = 8;
    if (s->cfg.handshake_ms == 0) s->cfg.handshake_ms = 5000;
    s->listen_fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->tve_lock, NULL);
    pthread_cond_init(&s->idle, NULL);
    veil_status st;
    tee_ocall_table ocalls = {g_ocalls, sizeof g_ocalls / sizeof g_ocalls[0], s};
    /* Before any thread exists: curl's global init is not thread-safe. */
    ENSURE_OUT(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK, VEIL_ERR_INTERNAL);
    TRY_OUT(veil_mkdir_p(cfg->home, 0700));
    TRY_OUT(veil_path_join(s->cert_path, sizeof s->cert_path, cfg->home, "tqe-cert.der"));
    TRY_OUT(tve_client_open(cfg->tve_endpoint, 0, &s->tve));
    TRY_OUT(tee_platform_open(cfg->platform_dir, &s->platform));
    TRY_OUT(tee_platform_set_attestation_proxy(s->platform, cfg->attest_proxy));
    TRY_OUT(tee_enclave_load(s->platform, cfg->enclave_path, &ocalls, TQE_ENCLAVE_MEMORY,
                             &s->enclave));
    /* The channel key before anything else: without it no order or stored tx moves. */
    if ((st = tqe_handoff(s->enclave, s->tve)) != VEIL_OK) {
        char d[256];
        snprintf(d, sizeof d, "%s", veil_error_detail());
        veil_error_detail_set("hand-off with the TVE at %s failed: %s%s%s", cfg->tve_endpoint,
                              veil_status_str(st), d[0] ? ": " : "", d);
        goto out;
    }
    TRY_OUT(identity_refresh(s));
    TRY_OUT(listen_on(s, cfg->listen));
    if (cfg->rpc_url != NULL) {
        lc_follow_config lf = {.enclave = s->enclave,
                               .e_init = TQE_E_LC_INIT,
                               .e_resume = TQE_E_LC_RESUME,
                               .e_update = TQE_E_LC_UPDATE,
                               .rpc = cfg->rpc_url,
                               .state_path = s->lc_path,
                               .has_trust = cfg->has_trust,
                               .trust_height = cfg->trust_height,
                               .lc = cfg->lc,
                               .height = &m_lc_height};
        memcpy(lf.trust_hash, cfg->trust_hash, 32);
        TRY_OUT(veil_path_join(s->lc_path, sizeof s->lc_path, cfg->home, "lc-state.sealed"));
        TRY_OUT(lc_follow_start(&lf, &s->follower));
    }
    *out = s;
    return VEIL_OK;
out:
    tqe_server_close(s);
    return st;
}

const char *tqe_server_address(const tqe_server *s) { return s->address; }

void tqe_server_identity(const tqe_server *s, tee_identity *out)
{
    tee_enclave_identity(s->enclave, out);
}

veil_status tqe_server_run(tqe_server *s, volatile sig_atomic_t *stop)
{
    double next_renew = now_s() + RENEW_CHECK_SECONDS;
    while (!*stop) {
        struct pollfd p = {s->listen_fd, POLLIN, 0};
        int pr = poll(&p, 1, 500);
        if (pr < 0 && errno != EINTR) return VEIL_ERR_IO;
        if (pr > 0) accept_one(s);
        if (now_s() >= next_renew) {
            /* The enclave renews only when the certificate is due (daily). */
            if (identity_refresh(s) != VEIL_OK)
                veil_log(VEIL_LOG_WARN, "identity renewal failed; retrying");
            next_renew = now_s() + RENEW_CHECK_SECONDS;
        }
    }
    return VEIL_OK;
}

void tqe_server_close(tqe_server *s)
{
    if (s == NULL) return;
    if (s->listen_fd >= 0) close(s->listen_fd);
    /* Connection threads hold the enclave: tell them to stop and wait (each notices
     * within a poll slice, or after the ecall in progress). */
    atomic_store(&s->stopping, true);
    pthread_mutex_lock(&s->lock);
    while (s->active > 0) pthread_cond_wait(&s->idle, &s->lock);
    pthread_mutex_unlock(&s->lock);
    lc_follow_stop(s->follower);
    size_t n = 0;
    if (s->enclave != NULL &&
        tee_enclave_call(s->enclave, TQE_E_SHUTDOWN, NULL, 0, NULL, 0, &n) != VEIL_OK)
        veil_log(VEIL_LOG_ERROR, "enclave shutdown failed");
    tee_enclave_destroy(s->enclave);
    tee_platform_close(s->platform);
    tve_client_close(s->tve);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->tve_lock);
    pthread_cond_destroy(&s->idle);
    free(s);
}
