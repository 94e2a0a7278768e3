/* The TDBE host (tdbe_host.h): sockets, the enclave's feed loop, the TVE's requests. */
#include "host/tdbe/tdbe_host.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/cursor.h"
#include "common/hex.h"
#include "crypto/crypto.h"
#include "host/tqe/tqe_handoff.h"
#include "host/tve/tve_client.h"
#include "hostutil/fileio.h"
#include "hostutil/tcp.h"
#include "hostutil/log.h"
#include "hostutil/metrics.h"
#include "hostutil/rpc_client.h"
#include "chain/node_tx.h"
#include "host/lightclient/lc_follow.h"
#include "trusted/tdbe/tdbe_abi.h"
#include "trusted/state/smt_verify.h"
#include "trusted/tdbe/tdbe_member.h"
#include "veil/tve.pb-c.h"
#include "wallet/wallet_rpc.h"

#define TDBE_POLL_MS 250u /* default poll_ms */

#define READ_MAX (16u * 1024u)
#define RENEW_CHECK_SECONDS 600

struct tdbe {
    tdbe_config cfg;
    tee_platform *platform;
    tee_enclave *enclave;
    tve_client *tve;
    pthread_mutex_t tve_lock; /* the 0MQ client is used by one thread at a time */
    int listen_fd;
    char address[300];
    char cert_path[4096];
    pthread_mutex_t lock; /* guards active */
    pthread_cond_t idle;
    unsigned active;
    atomic_bool stopping;
    veil_status last_fetch; /* for logging a failure once, not every round */
    veil_status last_join;
    char last_join_detail[256];
    bool joined;
    char lc_path[4096];
    lc_follow *follower; /* the enclave's light client (lc_follow.h) */
    /* The bootstrap in progress (fetch thread only): target 0 when none. */
    uint64_t boot_target, boot_height, boot_first, boot_txs, boot_bytes;
    double boot_start, boot_logged;
    size_t boot_peer; /* the peer the next round asks first */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static veil_status tve_call(tdbe *t, const Veil__Tve__Request *req,
                            Veil__Tve__Response__ResponseCase want, Veil__Tve__Response **resp)
{
    pthread_mutex_lock(&t->tve_lock);
    veil_status st = tve_client_call(t->tve, req, want, 0, resp);
    pthread_mutex_unlock(&t->tve_lock);
    return st;
}

/* TDBE_O_KEY_EXPORT: the TVE's export of one epoch key, sealed under the channel key. */
static veil_status o_key_export(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                                size_t out_cap, size_t *out_len)
{
    tdbe *t = ctx;
    ENSURE(in_len == 8, VEIL_ERR_MALFORMED);
    Veil__Tve__ExportKeyRequest er = VEIL__TVE__EXPORT_KEY_REQUEST__INIT;
    er.epoch = veil_get_u64(in);
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_EXPORT_KEY;
    req.export_key = &er;
    Veil__Tve__Response *resp;
    TRY(tve_call(t, &req, VEIL__TVE__RESPONSE__RESPONSE_EXPORT_KEY, &resp));
    size_t n = resp->export_key->sealed.len;
    veil_status st = n <= out_cap ? VEIL_OK : VEIL_ERR_BUFFER_TOO_SMALL;
    if (st == VEIL_OK) {
        memcpy(out, resp->export_key->sealed.data, n);
        *out_len = n;
    }
    veil__tve__response__free_unpacked(resp, NULL);
    return st;
}

/* A state record with its proof, for the enclave to check against its light client:
 * from the configured source, else the node's RPC (abci_query with prove; the state
 * after height H is in the app hash of header H + 1). Then waits (a block interval or
 * so, at most half the connection timeout) until the enclave's light client has
 * verified the header the proof is against. */
static veil_status state_proof_at(tdbe *t, uint8_t ns, const uint8_t *id, size_t id_len,
                                  const char *path, bool wait, uint8_t *out, size_t out_cap,
                                  size_t *out_len, int64_t *proof_height);

static veil_status state_proof(tdbe *t, uint8_t ns, const uint8_t *id, size_t id_len,
                               const char *path, uint8_t *out, size_t out_cap, size_t *out_len)
{
    int64_t h;
    return state_proof_at(t, ns, id, id_len, path, true, out, out_cap, out_len, &h);
}

/* The same; without `wait`, the caller waits for *proof_height itself (one wait for a
 * batch of proofs, not a block interval each). */
static veil_status state_proof_at(tdbe *t, uint8_t ns, const uint8_t *id, size_t id_len,
                                  const char *path, bool wait, uint8_t *out, size_t out_cap,
                                  size_t *out_len, int64_t *proof_height)
{
    veil_status st;
    if (t->cfg.state_proof != NULL) {
        st = t->cfg.state_proof(t->cfg.state_proof_ctx, ns, id, id_len, out, out_cap, out_len);
    } else {
        uint8_t *value = NULL, *proof = NULL;
        size_t vlen = 0, plen = 0;
        int64_t height = 0;
        st = veil_rpc_abci_proof(t->cfg.rpc, path, (long)t->cfg.timeout_ms, &height, &value, &vlen,
                                 &proof, &plen);
        if (st == VEIL_OK)
            st = tdbe_member_proof_encode(height + 1, value, vlen, proof, plen, out, out_cap,
                                          out_len);
        free(value);
        free(proof);
    }
    int64_t height = 0;
    if (st == VEIL_OK) st = tdbe_member_height(out, *out_len, &height);
    *proof_height = height;
    if (st == VEIL_OK && wait) st = lc_follow_wait(t->follower, height, t->cfg.timeout_ms / 2);
    if (st != VEIL_OK)
        veil_log(VEIL_LOG_WARN, "state proof of %s: %s (%s)", path, veil_status_str(st),
                 veil_error_detail());
    return st;
}

/* TDBE_O_MEMBERSHIP: a client's account record and its proof. */
static veil_status o_membership(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                                size_t out_cap, size_t *out_len)
{
    ENSURE(in_len == 32, VEIL_ERR_MALFORMED);
    char path[80], hex[65];
    veil_hex_encode(hex, in, 32);
    snprintf(path, sizeof path, "/account/%s", hex);
    return state_proof(ctx, VEIL_SMT_NS_ACCOUNT, in, 32, path, out, out_cap, out_len);
}

/* TDBE_O_EPOCH_PROOF: the chain's key epoch record and its proof. */
static veil_status o_epoch_proof(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                                 size_t out_cap, size_t *out_len)
{
    ENSURE(in_len == 8, VEIL_ERR_MALFORMED);
    char path[48];
    snprintf(path, sizeof path, "/key_epoch/%llu", (unsigned long long)veil_get_u64(in));
    return state_proof(ctx, VEIL_SMT_NS_KEY_EPOCH, in, 8, path, out, out_cap, out_len);
}

/* TDBE_O_TX_EXPORT: the TVE's next blocks for a peer (ExportBlocksRequest). */
static veil_status o_tx_export(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                               size_t out_cap, size_t *out_len)
{
    tdbe *t = ctx;
    ENSURE(in_len == 20, VEIL_ERR_MALFORMED);
    Veil__Tve__ExportBlocksRequest er = VEIL__TVE__EXPORT_BLOCKS_REQUEST__INIT;
    er.from_height = veil_get_u64(in);
    er.to_height = veil_get_u64(in + 8);
    er.max_bytes = veil_get_u32(in + 16);
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_EXPORT_BLOCKS;
    req.export_blocks = &er;
    Veil__Tve__Response *resp;
    TRY(tve_call(t, &req, VEIL__TVE__RESPONSE__RESPONSE_EXPORT_BLOCKS, &resp));
    const Veil__Tve__ExportBlocksResponse *r = resp->export_blocks;
    veil_writer w = veil_writer_init(out, out_cap);
    veil_status st = veil_write_u64(&w, r->last_height);
    if (st == VEIL_OK) st = veil_write_u32(&w, (uint32_t)r->n_records);
    for (size_t i = 0; st == VEIL_OK && i < r->n_records; i++) {
        st = veil_write_u32(&w, (uint32_t)r->records[i].len);
        if (st == VEIL_OK) st = veil_write_bytes(&w, r->records[i].data, r->records[i].len);
    }
    if (st == VEIL_OK) st = veil_write_bytes(&w, r->sealed.data, r->sealed.len);
    if (st != VEIL_OK) st = VEIL_ERR_BUFFER_TOO_SMALL;
    *out_len = w.len;
    veil__tve__response__free_unpacked(resp, NULL);
    if (st == VEIL_OK && t->cfg.export_filter != NULL)
        t->cfg.export_filter(t->cfg.export_filter_ctx, out, out_len, out_cap);
    return st;
}

/* TDBE_O_OUTPUT_PROOFS: the output record of each txid with its proof. */
static veil_status o_output_proofs(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                                   size_t out_cap, size_t *out_len)
{
    ENSURE(in_len >= 32 && in_len % 32 == 0 && in_len / 32 <= TDBE_PROOF_BATCH, VEIL_ERR_MALFORMED);
    tdbe *t = ctx;
    size_t at = 0, n = in_len / 32;
    int64_t newest = 0;
    if (t->cfg.state_proof == NULL) {
        /* One query for the batch: every proof against one app hash. */
        uint8_t *value = NULL, *proofs[TDBE_PROOF_BATCH];
        size_t value_len = 0, plens[TDBE_PROOF_BATCH];
        veil_status st = veil_rpc_abci_outputs(t->cfg.rpc, (const uint8_t(*)[32])in, n,
                                               (long)t->cfg.timeout_ms, &newest, &value,
                                               &value_len, proofs, plens);
        if (st != VEIL_OK) {
            veil_log(VEIL_LOG_WARN, "output proofs: %s (%s)", veil_status_str(st), veil_error_detail());
            return st;
        }
        veil_reader r = veil_reader_init(value, value_len);
        for (size_t i = 0; i < n && st == VEIL_OK; i++) {
            uint8_t present;
            uint32_t len;
            const uint8_t *rec;
            size_t k = 0;
            st = veil_read_u8(&r, &present) == VEIL_OK && veil_read_u32(&r, &len) == VEIL_OK &&
                         veil_read_view(&r, len, &rec) == VEIL_OK && present <= 1
                     ? VEIL_OK
                     : VEIL_ERR_DECODE;
            if (st == VEIL_OK && out_cap - at < 4) st = VEIL_ERR_BUFFER_TOO_SMALL;
            if (st == VEIL_OK)
                st = tdbe_member_proof_encode(newest + 1, present ? rec : NULL, len, proofs[i],
                                              plens[i], out + at + 4, out_cap - at - 4, &k);
            if (st == VEIL_OK) {
                veil_put_u32(out + at, (uint32_t)k);
                at += 4 + k;
            }
        }
        free(value);
        for (size_t i = 0; i < n; i++) free(proofs[i]);
        TRY(st);
        TRY(lc_follow_wait(t->follower, newest + 1, t->cfg.timeout_ms / 2));
        *out_len = at;
        return VEIL_OK;
    }
    for (size_t i = 0; i < n; i++) {
        char path[96], hex[65];
        size_t k = 0;
        int64_t h = 0;
        ENSURE(out_cap - at >= 4, VEIL_ERR_BUFFER_TOO_SMALL);
        veil_hex_encode(hex, in + 32 * i, 32);
        snprintf(path, sizeof path, "/output/%s", hex);
        TRY(state_proof_at(t, VEIL_SMT_NS_OUTPUT, in + 32 * i, 32, path, false, out + at + 4,
                           out_cap - at - 4, &k, &h));
        if (h > newest) newest = h;
        veil_put_u32(out + at, (uint32_t)k);
        at += 4 + k;
    }
    /* The headers the proofs are against, verified before the enclave looks. */
    TRY(lc_follow_wait(t->follower, newest, t->cfg.timeout_ms / 2));
    *out_len = at;
    return VEIL_OK;
}

static const tee_ocall_fn g_ocalls[] = {o_key_export, o_membership, o_epoch_proof, o_tx_export,
                                        o_output_proofs};

static veil_status identity_refresh(tdbe *t)
{
    uint8_t now[8], *cert = malloc(TDBE_CERT_MAX);
    ENSURE(cert != NULL, VEIL_ERR_NOMEM);
    size_t n = 0;
    veil_put_u64(now, (uint64_t)time(NULL));
    veil_status st =
        tee_enclave_call(t->enclave, TDBE_E_IDENTITY, now, sizeof now, cert, TDBE_CERT_MAX, &n);
    if (st == VEIL_OK) st = veil_file_write_atomic(t->cert_path, cert, n, 0644);
    free(cert);
    return st;
}

/* --- metrics ----------------------------------------------------------------------- */
static veil_metric m_served = {.name = "veil_tdbe_connections_served_total",
                               .help = "Peer connections accepted and served.",
                               .type = VEIL_METRIC_COUNTER};
static veil_metric m_busy = {.name = "veil_tdbe_connections_refused_total",
                             .help = "Peer connections closed at once (--max-peers reached).",
                             .type = VEIL_METRIC_COUNTER};
static veil_metric m_fetches = {.name = "veil_tdbe_fetches_total",
                                .help = "Key fetches from peers, successful or not.",
                                .type = VEIL_METRIC_COUNTER};
static veil_metric m_fetch_failed = {.name = "veil_tdbe_fetches_failed_total",
                                     .help = "Key fetches refused or failed (the log says why).",
                                     .type = VEIL_METRIC_COUNTER};
static veil_metric m_handed = {.name = "veil_tdbe_keys_handed_total",
                               .help = "Keys handed to this platform's TVE.",
                               .type = VEIL_METRIC_COUNTER};
static veil_metric m_waiting = {.name = "veil_tdbe_tve_waiting_for_key",
                                .help = "1 while this platform's TVE waits for the chain's key.",
                                .type = VEIL_METRIC_GAUGE};
static veil_metric m_lc_height = {.name = "veil_tdbe_lightclient_height",
                                  .help = "Latest header the enclave's light client verified.",
                                  .type = VEIL_METRIC_GAUGE};

static veil_metric m_boot_height = {.name = "veil_tdbe_bootstrap_height",
                                    .help = "The TVE's last committed height, as the bootstrap last saw it",
                                    .type = VEIL_METRIC_GAUGE};
static veil_metric m_boot_target = {.name = "veil_tdbe_bootstrap_target_height",
                                    .help = "The verified height the bootstrap fetches up to (0: not bootstrapping)",
                                    .type = VEIL_METRIC_GAUGE};
static veil_metric m_boot_txs = {.name = "veil_tdbe_bootstrap_txs_total",
                                 .help = "Txs fetched from peers, checked and committed to the TVE",
                                 .type = VEIL_METRIC_COUNTER};
static veil_metric m_boot_blocks = {.name = "veil_tdbe_bootstrap_blocks_total",
                                    .help = "Blocks fetched from peers, checked and committed to the TVE",
                                    .type = VEIL_METRIC_COUNTER};
static veil_metric m_boot_bytes = {.name = "veil_tdbe_bootstrap_bytes_total",
                                   .help = "Bytes of checked tx data handed to the TVE",
                                   .type = VEIL_METRIC_COUNTER};
static veil_metric m_boot_failed = {.name = "veil_tdbe_bootstrap_peer_failures_total",
                                    .help = "Tx-data streams from a peer that ended in a refusal or a failed check",
                                    .type = VEIL_METRIC_COUNTER};

void tdbe_metrics_register(void)
{
    veil_metric_register(&m_boot_height);
    veil_metric_register(&m_boot_target);
    veil_metric_register(&m_boot_txs);
    veil_metric_register(&m_boot_blocks);
    veil_metric_register(&m_boot_bytes);
    veil_metric_register(&m_boot_failed);
    veil_metric_register(&m_served);
    veil_metric_register(&m_busy);
    veil_metric_register(&m_fetches);
    veil_metric_register(&m_fetch_failed);
    veil_metric_register(&m_handed);
    veil_metric_register(&m_waiting);
    veil_metric_register(&m_lc_height);
}

/* --- moving bytes ------------------------------------------------------------------- */


/* What a FETCH_DATA connection does with each checked batch (TDBE_FEED_DATA). */
typedef struct data_sink {
    veil_status (*take)(tdbe *t, const uint8_t handle[4], void *ctx);
    void *ctx;
} data_sink;

/* Feeds `n` bytes (already after the handle in buf) and sends what the enclave answers,
 * draining queued output and handing checked batches to `sink`. *flags gets the last
 * flags. */
static veil_status feed(tdbe *t, int fd, uint8_t *buf, size_t n, uint8_t *out, uint8_t *flags,
                        const data_sink *sink)
{
    size_t len = 4 + n, got = 0;
    for (;;) {
        TRY(tee_enclave_call(t->enclave, TDBE_E_FEED, buf, len, out, TDBE_FEED_OUT_MAX, &got));
        ENSURE(got >= 1, VEIL_ERR_TEE_ENCLAVE_FAULT);
        *flags = out[0];
        ENSURE(veil_tcp_send_all(fd, out + 1, got - 1), VEIL_ERR_IO);
        if (*flags & TDBE_FEED_DATA) {
            ENSURE(sink != NULL, VEIL_ERR_TEE_ENCLAVE_FAULT);
            TRY(sink->take(t, buf, sink->ctx));
            len = 4;
            continue; /* the enclave reads the next message now */
        }
        /* Queued output goes out even after the close (a stream's last batches). */
        if (!(*flags & TDBE_FEED_MORE)) return VEIL_OK;
        len = 4;
    }
}

/* Runs one connection until the enclave closes it or a deadline passes. A FETCH
 * connection speaks first (its ClientHello). */
static veil_status pump_sink(tdbe *t, int fd, const uint8_t handle[4], bool speak_first,
                             const data_sink *sink);
static veil_status pump(tdbe *t, int fd, const uint8_t handle[4], bool speak_first)
{
    return pump_sink(t, fd, handle, speak_first, NULL);
}

static veil_status pump_sink(tdbe *t, int fd, const uint8_t handle[4], bool speak_first,
                             const data_sink *sink)
{
    uint8_t *in = malloc(4 + READ_MAX), *out = malloc(TDBE_FEED_OUT_MAX), flags = 0;
    veil_status st = VEIL_OK;
    ENSURE_OUT(in != NULL && out != NULL, VEIL_ERR_NOMEM);
    memcpy(in, handle, 4);
    double start = now_s(), handshake_until = start + t->cfg.handshake_ms / 1000.0;
    double idle_until = start + t->cfg.timeout_ms / 1000.0;
    if (speak_first) TRY_OUT(feed(t, fd, in, 0, out, &flags, sink));
    while (!(flags & TDBE_FEED_CLOSE)) {
        double now = now_s();
        ENSURE_OUT(now < idle_until && ((flags & TDBE_FEED_ESTABLISHED) || now < handshake_until),
                   VEIL_ERR_TIMEOUT);
        ENSURE_OUT(!atomic_load(&t->stopping), VEIL_ERR_TIMEOUT);
        struct pollfd p = {fd, POLLIN, 0};
        int pr = poll(&p, 1, 250);
        if (pr < 0 && errno == EINTR) continue;
        ENSURE_OUT(pr >= 0, VEIL_ERR_IO);
        if (pr == 0) continue;
        ssize_t r = recv(fd, in + 4, READ_MAX, 0);
        if (r < 0 && errno == EINTR) continue;
        ENSURE_OUT(r > 0, VEIL_ERR_IO); /* the peer closed or failed before we were done */
        TRY_OUT(feed(t, fd, in, (size_t)r, out, &flags, sink));
        idle_until = now_s() + t->cfg.timeout_ms / 1000.0; /* a batch's import is not idleness */
    }
out:
    free(in);
    free(out);
    return st;
}

static veil_status conn_open(tdbe *t, const uint8_t *in, size_t in_len, uint8_t handle[4])
{
    size_t n = 0;
    TRY(tee_enclave_call(t->enclave, TDBE_E_OPEN, in, in_len, handle, 4, &n));
    ENSURE(n == 4, VEIL_ERR_TEE_ENCLAVE_FAULT);
    return VEIL_OK;
}

static void conn_close(tdbe *t, const uint8_t handle[4])
{
    size_t n = 0;
    if (tee_enclave_call(t->enclave, TDBE_E_CLOSE, handle, 4, NULL, 0, &n) != VEIL_OK)
        veil_log(VEIL_LOG_WARN, "closing a peer connection failed");
}

/* --- serving ------------------------------------------------------------------------ */

typedef struct served {
    tdbe *t;
    int fd;
} served;

static void *serve_main(void *arg)
{
    served *c = arg;
    tdbe *t = c->t;
    uint8_t open_in[9], handle[4];
    open_in[0] = TDBE_ROLE_SERVE;
    veil_put_u64(open_in + 1, (uint64_t)time(NULL));
    veil_status st = conn_open(t, open_in, sizeof open_in, handle);
    if (st == VEIL_OK) {
        st = pump(t, c->fd, handle, false);
        conn_close(t, handle);
    }
    if (st != VEIL_OK && st != VEIL_ERR_IO)
        veil_log(VEIL_LOG_DEBUG, "a served peer connection ended: %s", veil_status_name(st));
    close(c->fd);
    free(c);
    pthread_mutex_lock(&t->lock);
    t->active--;
    pthread_cond_broadcast(&t->idle);
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

static void accept_one(tdbe *t)
{
    int fd = accept(t->listen_fd, NULL, NULL);
    if (fd < 0) return;
    struct timeval tv = {(time_t)(t->cfg.timeout_ms / 1000), 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pthread_mutex_lock(&t->lock);
    bool room = t->active < t->cfg.max_peers;
    if (room) t->active++;
    pthread_mutex_unlock(&t->lock);
    veil_metric_add(room ? &m_served : &m_busy, 1);
    served *c = room ? calloc(1, sizeof *c) : NULL;
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (c != NULL) {
        c->t = t;
        c->fd = fd;
    }
    if (c == NULL || pthread_create(&th, &attr, serve_main, c) != 0) {
        free(c);
        close(fd);
        if (room) {
            pthread_mutex_lock(&t->lock);
            t->active--;
            pthread_cond_broadcast(&t->idle);
            pthread_mutex_unlock(&t->lock);
        }
    }
    pthread_attr_destroy(&attr);
}

/* --- fetching ----------------------------------------------------------------------- */

veil_status tdbe_fetch(tdbe *t, const char *peer, uint64_t epoch,
                       const uint8_t commitment[static 32], uint8_t *sealed, size_t cap,
                       size_t *sealed_len, uint32_t *peer_code)
{
    return tdbe_fetch_at(t, peer, epoch, commitment, (int64_t)time(NULL), sealed, cap,
                         sealed_len, peer_code);
}

veil_status tdbe_fetch_at(tdbe *t, const char *peer, uint64_t epoch,
                          const uint8_t commitment[static 32], int64_t now, uint8_t *sealed,
                          size_t cap, size_t *sealed_len, uint32_t *peer_code)
{
    int fd;
    if (peer_code != NULL) *peer_code = 0;
    /* A transport failure, not a verdict (the detail says which). */
    if (veil_tcp_connect(peer, (int)t->cfg.timeout_ms, &fd) != VEIL_OK) return VEIL_ERR_IO;
    uint8_t open_in[9 + 8 + 32 + 32], handle[4], res[1 + TDBE_RESULT_MAX];
    open_in[0] = TDBE_ROLE_FETCH;
    veil_put_u64(open_in + 1, (uint64_t)now);
    veil_put_u64(open_in + 9, epoch);
    memcpy(open_in + 17, commitment, 32);
    memcpy(open_in + 49, t->cfg.account, 32);
    veil_status st = conn_open(t, open_in, sizeof open_in, handle);
    if (st == VEIL_OK) {
        veil_status pst = pump(t, fd, handle, true);
        size_t n = 0;
        /* The enclave's verdict says more than the transport's. */
        st = tee_enclave_call(t->enclave, TDBE_E_RESULT, handle, 4, res, sizeof res, &n);
        if (st == VEIL_ERR_OUT_OF_ORDER && pst != VEIL_OK) st = pst;
        if (st == VEIL_OK && n == 5 && res[0] == TDBE_RESULT_REFUSED) {
            if (peer_code != NULL) *peer_code = veil_get_u32(res + 1);
            st = VEIL_ERR_TDBE_REFUSED;
        } else if (st == VEIL_OK && n >= 1 && res[0] == TDBE_RESULT_KEY && n - 1 <= cap) {
            memcpy(sealed, res + 1, n - 1);
            *sealed_len = n - 1;
        } else if (st == VEIL_OK) {
            st = VEIL_ERR_TEE_ENCLAVE_FAULT;
        }
        conn_close(t, handle);
    }
    close(fd);
    return st;
}

/* While the TVE waits for a key of the chain (epoch 0's at genesis, or a later epoch's
 * it missed): ask the peers in turn, hand the first key the enclave accepts to the TVE.
 * False when a key is awaited and no peer served it (the next round waits retry_ms). */
static bool fetch_round(tdbe *t)
{
    Veil__Tve__StatusRequest sr = VEIL__TVE__STATUS_REQUEST__INIT;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_STATUS;
    req.status = &sr;
    Veil__Tve__Response *resp;
    if (tve_call(t, &req, VEIL__TVE__RESPONSE__RESPONSE_STATUS, &resp) != VEIL_OK) return false;
    uint8_t commitment[32];
    bool waiting = resp->status->awaited_key_commitment.len == 32;
    uint64_t epoch = resp->status->awaited_key_epoch;
    if (waiting) memcpy(commitment, resp->status->awaited_key_commitment.data, 32);
    veil__tve__response__free_unpacked(resp, NULL);
    veil_metric_set(&m_waiting, waiting ? 1 : 0);
    if (!waiting || t->cfg.n_peers == 0) return !waiting;
    if (!t->cfg.has_account) {
        if (t->last_fetch != VEIL_ERR_ARG)
            veil_log(VEIL_LOG_WARN, "the TVE waits for the chain's key, but peers serve only "
                                    "members and this TDBE has no --operator-key to name one");
        t->last_fetch = VEIL_ERR_ARG;
        return false;
    }

    uint8_t sealed[TDBE_RESULT_MAX];
    size_t len = 0;
    veil_status st = VEIL_ERR_TDBE_UNAVAILABLE;
    for (size_t i = 0; i < t->cfg.n_peers && !atomic_load(&t->stopping); i++) {
        uint32_t code = 0;
        st = tdbe_fetch(t, t->cfg.peers[i], epoch, commitment, sealed, sizeof sealed, &len, &code);
        veil_metric_add(&m_fetches, 1);
        if (st == VEIL_OK) break;
        veil_metric_add(&m_fetch_failed, 1);
        if (st != t->last_fetch && st == VEIL_ERR_TDBE_REFUSED)
            veil_log(VEIL_LOG_WARN, "key from peer %s: refused with code %u (%s)",
                     t->cfg.peers[i], code, veil_status_name((veil_status)code));
        else if (st != t->last_fetch)
            veil_log(VEIL_LOG_WARN, "key from peer %s: %s (%s)", t->cfg.peers[i],
                     veil_status_str(st), veil_status_name(st));
    }
    t->last_fetch = st;
    if (st != VEIL_OK) return false;
    Veil__Tve__ImportKeyRequest ir = VEIL__TVE__IMPORT_KEY_REQUEST__INIT;
    ir.epoch = epoch;
    ir.sealed.data = sealed;
    ir.sealed.len = len;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_IMPORT_KEY;
    req.import_key = &ir;
    st = tve_call(t, &req, VEIL__TVE__RESPONSE__RESPONSE_IMPORT_KEY, &resp);
    if (st == VEIL_OK) {
        char c[65];
        veil_hex_encode(c, commitment, 32);
        veil_log(VEIL_LOG_INFO, "handed the chain's key (epoch %llu, commitment %s) to the TVE",
                 (unsigned long long)epoch, c);
        veil_metric_add(&m_handed, 1);
        veil_metric_set(&m_waiting, 0);
        veil__tve__response__free_unpacked(resp, NULL);
    } else {
        veil_log(VEIL_LOG_WARN, "the TVE refused the fetched key: %s (%s)", veil_status_str(st),
                 veil_status_name(st));
    }
    return st == VEIL_OK;
}

/* --- bootstrap of tx data (docs/tdbe.md, "Bootstrap") ------------------------------------- */

/* Checked batches go to the TVE on a thread of their own, the committer, so that an
 * enclave checks batch k + 1 while the TVE commits batch k (its fsyncs). Several streams
 * (one per peer, each a range of heights) may feed it: the TVE commits in height order
 * only, so the committer takes the batch that starts where the TVE stands and holds
 * later ones, up to BOOT_QUEUE_MAX bytes; a stream whose batch is not next waits beyond
 * that. If no running stream can bring the next height any more (its peer failed),
 * later batches are dropped and their streams end: the next round fetches from where
 * the TVE stands. */
#define BOOT_QUEUE_MAX ((size_t)64 << 20)
#define BOOT_STREAMS_MAX 4u
#define BOOT_SEGMENT_MIN 64u /* blocks: a range shorter than two of these is one stream */

typedef struct boot_batch {
    uint64_t first;
    uint8_t *data;
    size_t len;
    tdbe_data_report *rep; /* its stream's */
    struct boot_batch *next;
} boot_batch;

typedef struct committer {
    tdbe *t;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    boot_batch *queue; /* by first height */
    size_t queued;     /* bytes */
    uint64_t next;     /* the first height the TVE lacks, as far as known */
    size_t n_streams;
    struct {
        uint64_t from, to;
        bool live;
    } streams[BOOT_STREAMS_MAX];
    bool closing;
    bool importing; /* a batch is with the TVE */
    veil_status failed; /* the TVE refused a batch: everything stops */
    pthread_t th;
    bool started;
} committer;

/* A stream's handle on the committer (the data sink's context). */
typedef struct stream_ctx {
    committer *c;
    veil_status refused; /* a batch the committer would not take */
    tdbe_data_report *rep;
} stream_ctx;

/* The progress line, at most every 5 s and at the end of a stream. */
static void boot_progress(tdbe *t, bool final)
{
    double now = now_s();
    if (!final && now < t->boot_logged + 5.0) return;
    t->boot_logged = now;
    double secs = now - t->boot_start;
    double rate = secs > 0 ? (double)t->boot_bytes / secs : 0;
    uint64_t left = t->boot_target > t->boot_height ? t->boot_target - t->boot_height : 0;
    double blocks_rate = secs > 0 ? (double)(t->boot_height - t->boot_first + 1) / secs : 0;
    char eta[32] = "-";
    if (blocks_rate > 0 && left > 0) snprintf(eta, sizeof eta, "%.0f s", (double)left / blocks_rate);
    veil_log(VEIL_LOG_INFO,
             "bootstrap: height %llu of %llu, %llu txs, %.1f MB, %.1f MB/s, ETA %s",
             (unsigned long long)t->boot_height, (unsigned long long)t->boot_target,
             (unsigned long long)t->boot_txs, (double)t->boot_bytes / 1e6, rate / 1e6, eta);
}

/* One checked batch (TDBE_RESULT_DATA || first || n || records || sealed) to the TVE;
 * *ib gets its answer (free with veil__tve__response__free_unpacked on *resp). */
static veil_status import_batch(tdbe *t, const boot_batch *bt, Veil__Tve__Response **resp)
{
    ProtobufCBinaryData *recs = NULL;
    veil_status st;
    veil_reader r = veil_reader_init(bt->data, bt->len);
    uint8_t kind;
    uint64_t first;
    uint32_t k;
    ENSURE(veil_read_u8(&r, &kind) == VEIL_OK && kind == TDBE_RESULT_DATA &&
               veil_read_u64(&r, &first) == VEIL_OK && veil_read_u32(&r, &k) == VEIL_OK &&
               k >= 1 && k <= 65536,
           VEIL_ERR_TEE_ENCLAVE_FAULT);
    recs = calloc(k, sizeof *recs);
    ENSURE(recs != NULL, VEIL_ERR_NOMEM);
    for (uint32_t i = 0; i < k; i++) {
        uint32_t len;
        const uint8_t *rec;
        ENSURE_OUT(veil_read_u32(&r, &len) == VEIL_OK && veil_read_view(&r, len, &rec) == VEIL_OK,
                   VEIL_ERR_TEE_ENCLAVE_FAULT);
        recs[i] = (ProtobufCBinaryData){.len = len, .data = (uint8_t *)rec};
    }
    Veil__Tve__ImportBlocksRequest ir = VEIL__TVE__IMPORT_BLOCKS_REQUEST__INIT;
    ir.records = recs;
    ir.n_records = k;
    ir.first_height = first;
    ir.sealed.data = (uint8_t *)r.p + r.pos;
    ir.sealed.len = r.len - r.pos;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_IMPORT_BLOCKS;
    req.import_blocks = &ir;
    st = tve_call(t, &req, VEIL__TVE__RESPONSE__RESPONSE_IMPORT_BLOCKS, resp);
out:
    free(recs);
    return st;
}

static void *commit_main(void *arg)
{
    committer *c = arg;
    tdbe *t = c->t;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!(c->queue != NULL && c->queue->first <= c->next) && !c->closing &&
               c->failed == VEIL_OK)
            pthread_cond_wait(&c->cond, &c->lock);
        if (c->failed != VEIL_OK || !(c->queue != NULL && c->queue->first <= c->next)) break;
        boot_batch *bt = c->queue;
        c->queue = bt->next;
        c->importing = true;
        pthread_mutex_unlock(&c->lock); /* streams keep queueing while the TVE commits */
        Veil__Tve__Response *resp = NULL;
        veil_status st = import_batch(t, bt, &resp);
        pthread_mutex_lock(&c->lock);
        c->importing = false;
        if (st == VEIL_OK) {
            const Veil__Tve__ImportBlocksResponse *ib = resp->import_blocks;
            if (ib->last_height + 1 > c->next) c->next = ib->last_height + 1;
            bt->rep->blocks += ib->blocks;
            bt->rep->txs += ib->txs;
            bt->rep->bytes += bt->len;
            bt->rep->last_height = ib->last_height;
            veil_metric_add(&m_boot_blocks, ib->blocks);
            veil_metric_add(&m_boot_txs, ib->txs);
            veil_metric_add(&m_boot_bytes, bt->len);
            veil_metric_set(&m_boot_height, ib->last_height);
            t->boot_height = ib->last_height;
            t->boot_txs += ib->txs;
            t->boot_bytes += bt->len;
            if (t->boot_target != 0) boot_progress(t, false);
        } else {
            c->failed = st;
            bt->rep->tve_refused = st;
        }
        if (resp != NULL) veil__tve__response__free_unpacked(resp, NULL);
        c->queued -= bt->len;
        free(bt->data);
        free(bt);
        pthread_cond_broadcast(&c->cond);
    }
    /* What cannot follow the TVE's height is dropped: fetched again next round. */
    while (c->queue != NULL) {
        boot_batch *bt = c->queue;
        c->queue = bt->next;
        c->queued -= bt->len;
        free(bt->data);
        free(bt);
    }
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static veil_status committer_start(committer *c, tdbe *t, uint64_t next)
{
    memset(c, 0, sizeof *c);
    c->t = t;
    c->next = next;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    ENSURE(pthread_create(&c->th, NULL, commit_main, c) == 0, VEIL_ERR_INTERNAL);
    c->started = true;
    return VEIL_OK;
}

/* Commits what follows the TVE's height, drops the rest, ends the thread. */
static void committer_close(committer *c)
{
    if (c->started) {
        pthread_mutex_lock(&c->lock);
        c->closing = true;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->th, NULL);
    }
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
}

/* Whether height `next` may still come (with the lock): a batch is being imported (it
 * moves `next`), a batch that starts there is queued (a stream may end before its last
 * batches are committed), or a running stream covers it. */
static bool next_coming(const committer *c)
{
    if (c->importing || (c->queue != NULL && c->queue->first <= c->next)) return true;
    for (size_t i = 0; i < c->n_streams; i++)
        if (c->streams[i].live && c->next >= c->streams[i].from && c->next <= c->streams[i].to)
            return true;
    return false;
}

/* TDBE_FEED_DATA: takes the checked batch from the enclave and queues it for the TVE. */
static veil_status take_batch(tdbe *t, const uint8_t handle[4], void *vctx)
{
    stream_ctx *sc = vctx;
    committer *c = sc->c;
    size_t n = 0;
    /* The enclave writes the batch straight into the buffer the queue keeps. */
    boot_batch *bt = calloc(1, sizeof *bt);
    uint8_t *data = malloc(TDBE_DATA_RESULT_MAX);
    veil_status st = bt != NULL && data != NULL ? VEIL_OK : VEIL_ERR_NOMEM;
    if (st == VEIL_OK)
        st = tee_enclave_call(t->enclave, TDBE_E_RESULT, handle, 4, data, TDBE_DATA_RESULT_MAX, &n);
    if (st == VEIL_OK && !(n >= 13 && data[0] == TDBE_RESULT_DATA)) st = VEIL_ERR_TEE_ENCLAVE_FAULT;
    if (st != VEIL_OK) {
        free(bt);
        free(data);
        return st;
    }
    uint8_t *fit = realloc(data, n);
    bt->data = fit != NULL ? fit : data;
    bt->first = veil_get_u64(bt->data + 1);
    bt->len = n;
    bt->rep = sc->rep;
    pthread_mutex_lock(&c->lock);
    /* The batch the TVE needs next always gets in; a later one waits while the queue is
     * full and the next height may still come. */
    while (c->failed == VEIL_OK && bt->first > c->next && c->queued + n > BOOT_QUEUE_MAX &&
           next_coming(c))
        pthread_cond_wait(&c->cond, &c->lock);
    if (c->failed != VEIL_OK) {
        st = c->failed;
    } else if (bt->first > c->next && !next_coming(c)) {
        st = VEIL_ERR_TDBE_STREAM; /* an earlier range's peer failed: this one waits in vain */
    } else {
        boot_batch **at = &c->queue;
        while (*at != NULL && (*at)->first < bt->first) at = &(*at)->next;
        bt->next = *at;
        *at = bt;
        c->queued += n;
        bt = NULL;
        pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->lock);
    if (bt != NULL) {
        free(bt->data);
        free(bt);
    }
    if (st != VEIL_OK) sc->refused = st;
    return st;
}

/* One stream of blocks from..to from `peer` into the committer's slot. */
static veil_status stream_fetch(tdbe *t, const char *peer, uint64_t from, uint64_t to,
                                tdbe_data_report *rep, committer *c, size_t slot)
{
    int fd = -1;
    uint8_t open_in[9 + 8 + 8 + 32], handle[4], res[17]; /* the stream's end */
    stream_ctx sc = {.c = c, .rep = rep};
    data_sink sink = {take_batch, &sc};
    veil_status st = VEIL_OK;
    /* A transport failure, not a verdict (the detail says which). */
    if (veil_tcp_connect(peer, (int)t->cfg.timeout_ms, &fd) != VEIL_OK) st = VEIL_ERR_IO;
    open_in[0] = TDBE_ROLE_FETCH_DATA;
    veil_put_u64(open_in + 1, (uint64_t)time(NULL));
    veil_put_u64(open_in + 9, from);
    veil_put_u64(open_in + 17, to);
    memcpy(open_in + 25, t->cfg.account, 32);
    if (st == VEIL_OK) st = conn_open(t, open_in, sizeof open_in, handle);
    if (st == VEIL_OK) {
        veil_status pst = pump_sink(t, fd, handle, true, &sink);
        size_t n = 0;
        st = tee_enclave_call(t->enclave, TDBE_E_RESULT, handle, 4, res, sizeof res, &n);
        /* Before the end: the transport's word (a stall, a truncated stream) or the
         * committer's (the TVE refused a batch, an earlier range failed). */
        if (st == VEIL_ERR_OUT_OF_ORDER) st = pst != VEIL_OK ? pst : VEIL_ERR_TDBE_STREAM;
        if (st == VEIL_OK && n == 9 && res[0] == TDBE_RESULT_END) {
            rep->peer_last = veil_get_u64(res + 1);
        } else if (st == VEIL_OK && n == 5 && res[0] == TDBE_RESULT_REFUSED) {
            rep->peer_code = veil_get_u32(res + 1);
            st = VEIL_ERR_TDBE_REFUSED;
        } else if (st == VEIL_OK && n == 17 && res[0] == TDBE_RESULT_FAILED) {
            st = (veil_status)veil_get_u32(res + 1);
            rep->fail_height = veil_get_u64(res + 5);
            rep->fail_index = veil_get_u32(res + 13);
            rep->failed_check = true;
            if (st == VEIL_OK) st = VEIL_ERR_TEE_ENCLAVE_FAULT;
        } else if (st == VEIL_OK) {
            st = VEIL_ERR_TEE_ENCLAVE_FAULT;
        }
        /* The peer ended, but a batch it sent went nowhere. */
        if (st == VEIL_OK && sc.refused != VEIL_OK) st = sc.refused;
        conn_close(t, handle);
    }
    pthread_mutex_lock(&c->lock);
    c->streams[slot].live = false;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    if (fd >= 0) close(fd);
    return st;
}

typedef struct stream_job {
    tdbe *t;
    const char *peer;
    uint64_t from, to;
    tdbe_data_report *rep;
    committer *c;
    size_t slot;
    veil_status st;
} stream_job;

static void *stream_main(void *arg)
{
    stream_job *j = arg;
    j->st = stream_fetch(j->t, j->peer, j->from, j->to, j->rep, j->c, j->slot);
    j->rep->status = j->st;
    return NULL;
}

veil_status tdbe_fetch_data_peers(tdbe *t, const char *const *peers, size_t n_peers, uint64_t from,
                                  uint64_t to, tdbe_data_report *reps)
{
    ENSURE(t->cfg.has_account && from >= 1 && from <= to && n_peers >= 1, VEIL_ERR_ARG);
    size_t k = n_peers < BOOT_STREAMS_MAX ? n_peers : BOOT_STREAMS_MAX;
    while (k > 1 && (to - from + 1) / k < BOOT_SEGMENT_MIN) k--;
    for (size_t i = 0; i < n_peers; i++) memset(&reps[i], 0, sizeof reps[i]);
    committer c;
    TRY(committer_start(&c, t, from));
    stream_job jobs[BOOT_STREAMS_MAX];
    pthread_t th[BOOT_STREAMS_MAX];
    bool running[BOOT_STREAMS_MAX] = {false};
    uint64_t span = (to - from + 1) / k;
    pthread_mutex_lock(&c.lock);
    c.n_streams = k;
    for (size_t i = 0; i < k; i++) {
        c.streams[i].from = from + i * span;
        c.streams[i].to = i + 1 == k ? to : from + (i + 1) * span - 1;
        c.streams[i].live = true;
    }
    pthread_mutex_unlock(&c.lock);
    for (size_t i = 0; i < k; i++)
        jobs[i] = (stream_job){.t = t, .peer = peers[i], .from = c.streams[i].from,
                               .to = c.streams[i].to, .rep = &reps[i], .c = &c, .slot = i};
    /* The first range on this thread, the others beside it. */
    for (size_t i = 1; i < k; i++) {
        running[i] = pthread_create(&th[i], NULL, stream_main, &jobs[i]) == 0;
        if (!running[i]) {
            jobs[i].st = reps[i].status = VEIL_ERR_INTERNAL;
            pthread_mutex_lock(&c.lock);
            c.streams[i].live = false;
            pthread_cond_broadcast(&c.cond);
            pthread_mutex_unlock(&c.lock);
        }
    }
    stream_main(&jobs[0]);
    for (size_t i = 1; i < k; i++)
        if (running[i]) pthread_join(th[i], NULL);
    committer_close(&c);
    /* The TVE's refusal first, else the first stream's failure in height order. */
    veil_status st = VEIL_OK;
    for (size_t i = 0; i < k && st == VEIL_OK; i++) st = reps[i].tve_refused;
    for (size_t i = 0; i < k && st == VEIL_OK; i++) st = jobs[i].st;
    return st;
}

veil_status tdbe_fetch_data(tdbe *t, const char *peer, uint64_t from, uint64_t to,
                            tdbe_data_report *rep)
{
    const char *peers[1] = {peer};
    return tdbe_fetch_data_peers(t, peers, 1, from, to, rep);
}

/* Logs one stream's end: a peer's refusal, a failed check (the block and tx), a
 * transport failure. */
static void boot_log_failure(tdbe *t, const char *peer, veil_status st, const tdbe_data_report *r)
{
    veil_metric_add(&m_boot_failed, 1);
    if (st == VEIL_ERR_TDBE_REFUSED)
        veil_log(VEIL_LOG_WARN, "tx data from peer %s: refused with code %u (%s)", peer,
                 r->peer_code, veil_status_name((veil_status)r->peer_code));
    else if (r->failed_check && r->fail_index != 0xffffffffu)
        veil_log(VEIL_LOG_WARN,
                 "tx data from peer %s: block %llu, tx %u: %s (%s); nothing of that batch kept",
                 peer, (unsigned long long)r->fail_height, r->fail_index, veil_status_str(st),
                 veil_status_name(st));
    else if (r->failed_check)
        veil_log(VEIL_LOG_WARN, "tx data from peer %s: block %llu: %s (%s); nothing of that batch kept",
                 peer, (unsigned long long)r->fail_height, veil_status_str(st), veil_status_name(st));
    else
        veil_log(VEIL_LOG_WARN, "tx data from peer %s: %s (%s)", peer, veil_status_str(st),
                 veil_status_name(st));
    (void)t;
}

/* While this platform's TVE lags the verified chain by more than bootstrap_lag blocks,
 * or at all while it waits for a key: fetch the blocks it lacks from the peers, from the first one on, each stream
 * resuming where the TVE's store stands (so a kill at any point loses nothing and
 * repeats nothing). A peer that fails hands over to the next. False when a round
 * ended with no peer serving. */
static bool boot_round(tdbe *t)
{
    if (!t->cfg.bootstrap || t->cfg.n_peers == 0 || !t->cfg.has_account) return true;
    if (t->cfg.has_account_sk && !t->joined) return true; /* peers serve members only */
    int64_t lc = tdbe_lc_height(t);
    if (lc < 2) return true;
    uint64_t target = (uint64_t)lc - 1; /* the state height whose app hash is verified */
    Veil__Tve__StatusRequest sr = VEIL__TVE__STATUS_REQUEST__INIT;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_STATUS;
    req.status = &sr;
    Veil__Tve__Response *resp;
    if (tve_call(t, &req, VEIL__TVE__RESPONSE__RESPONSE_STATUS, &resp) != VEIL_OK) return false;
    bool ready = resp->status->initialized;
    uint64_t last = resp->status->last_height;
    /* A TVE that waits for a key cannot judge the next block by itself: the key may be
     * one the chain destroyed already (a node that fell behind), so the blocks it lacks
     * come from peers then, however few. */
    bool waiting = resp->status->awaited_key_commitment.len == 32;
    veil__tve__response__free_unpacked(resp, NULL);
    veil_metric_set(&m_boot_height, last);
    if (!ready || last >= target || (!waiting && last + t->cfg.bootstrap_lag >= target)) {
        if (t->boot_target != 0) {
            veil_log(VEIL_LOG_INFO, "bootstrap done: the TVE is at height %llu", (unsigned long long)last);
            t->boot_target = 0;
            veil_metric_set(&m_boot_target, 0);
        }
        return true;
    }
    if (t->boot_target == 0) {
        t->boot_start = now_s();
        t->boot_first = last + 1;
        t->boot_txs = t->boot_bytes = 0;
        t->boot_logged = t->boot_start;
        veil_log(VEIL_LOG_INFO, "bootstrap: the TVE is at height %llu, the verified chain at %llu: "
                                "fetching tx data from peers",
                 (unsigned long long)last, (unsigned long long)target);
    }
    t->boot_target = target;
    t->boot_height = last;
    veil_metric_set(&m_boot_target, target);
    /* The peers from the one after the last that failed; the range split among up to
     * four of them (tdbe_fetch_data_peers). */
    const char *order[TDBE_MAX_PEERS];
    tdbe_data_report reps[TDBE_MAX_PEERS];
    size_t n = t->cfg.n_peers, first = t->boot_peer % n;
    for (size_t k = 0; k < n; k++) order[k] = t->cfg.peers[(first + k) % n];
    veil_status st = tdbe_fetch_data_peers(t, order, n, last + 1, target, reps);
    bool got = false, failed = false;
    for (size_t k = 0; k < n; k++) {
        if (reps[k].blocks > 0) got = true;
        if (reps[k].status == VEIL_OK) continue;
        /* Each peer whose stream failed is named (not the later ranges an earlier
         * failure stopped); the next round starts after the first. */
        if (!(failed && reps[k].status == VEIL_ERR_TDBE_STREAM && !reps[k].failed_check))
            boot_log_failure(t, order[k], reps[k].status, &reps[k]);
        if (!failed) t->boot_peer = (first + k + 1) % n;
        failed = true;
    }
    if (st == VEIL_OK) boot_progress(t, true);
    return got;
}

/* --- the light client ------------------------------------------------------------------ */

int64_t tdbe_lc_height(const tdbe *t) { return lc_follow_height(t->follower); }

/* --- joining ----------------------------------------------------------------------- */

veil_status tdbe_join_quote(tdbe *t, const char *chain_id, uint8_t *spki, size_t *spki_len,
                            uint8_t *quote, size_t *quote_len)
{
    size_t id_len = strlen(chain_id), n = 0;
    ENSURE(id_len <= 255 && t->cfg.has_account, VEIL_ERR_ARG);
    uint8_t in[1 + 255 + 32], *out = malloc(TDBE_JOIN_QUOTE_MAX);
    ENSURE(out != NULL, VEIL_ERR_NOMEM);
    in[0] = (uint8_t)id_len;
    memcpy(in + 1, chain_id, id_len);
    memcpy(in + 1 + id_len, t->cfg.account, 32);
    veil_status st = tee_enclave_call(t->enclave, TDBE_E_JOIN_QUOTE, in, 1 + id_len + 32, out,
                                      TDBE_JOIN_QUOTE_MAX, &n);
    size_t klen = n >= 2 ? veil_get_u16(out) : 0;
    if (st == VEIL_OK && (n < 2 || klen > 128 || n - 2 < klen || n - 2 - klen > NODE_QUOTE_MAX))
        st = VEIL_ERR_TEE_ENCLAVE_FAULT;
    if (st == VEIL_OK) {
        memcpy(spki, out + 2, klen);
        *spki_len = klen;
        memcpy(quote, out + 2 + klen, n - 2 - klen);
        *quote_len = n - 2 - klen;
    }
    free(out);
    return st;
}

/* Binds this enclave's key to the operator's account once: nothing to do when the
 * account's node binding is already this key; otherwise a node join, committed. */
static veil_status join_try(tdbe *t, uint64_t *height)
{
    wallet_rpc r;
    char chain_id[65];
    uint64_t tip, tip_time;
    Veil__Node__Account *acc = NULL;
    node_public_tx *tx = calloc(1, sizeof *tx);
    uint8_t *enc = malloc(NODE_CHAIN_TX_MAX);
    veil_status st;
    *height = 0;
    ENSURE_OUT(tx != NULL && enc != NULL, VEIL_ERR_NOMEM);
    TRY_OUT(wallet_rpc_init(&r, t->cfg.join_rpc != NULL ? t->cfg.join_rpc : t->cfg.rpc));
    TRY_OUT(wallet_rpc_tip(&r, &tip, &tip_time, chain_id));
    TRY_OUT(wallet_rpc_account(&r, t->cfg.account, &acc));
    TRY_OUT(tdbe_join_quote(t, chain_id, tx->enclave_pubkey, &tx->enclave_pubkey_len, tx->quote,
                            &tx->quote_len));
    bool validator_named = !t->cfg.has_validator ||
                           (acc->node != NULL && acc->node->validator_pubkey.len == 32 &&
                            memcmp(acc->node->validator_pubkey.data, t->cfg.validator_pk, 32) == 0);
    if (acc->node != NULL && acc->node->enclave_pubkey.len == tx->enclave_pubkey_len &&
        memcmp(acc->node->enclave_pubkey.data, tx->enclave_pubkey, tx->enclave_pubkey_len) == 0 &&
        validator_named) {
        st = VEIL_OK; /* joined before */
        goto out;
    }
    if (t->cfg.has_validator) {
        uint8_t msg[32];
        TRY_OUT(node_validator_key_message(chain_id, t->cfg.account, msg));
        crypto_sign_detached(tx->validator_signature, NULL, msg, sizeof msg, t->cfg.validator_sk);
        memcpy(tx->validator_pubkey, t->cfg.validator_pk, 32);
        tx->has_validator = true;
    }
    tee_identity id;
    tee_enclave_identity(t->enclave, &id);
    tx->kind = NODE_PUBLIC_NODE_JOIN;
    memcpy(tx->account, t->cfg.account, 32);
    tx->nonce = acc->nonce;
    memcpy(tx->mrenclave, id.mrenclave, 32);
    memcpy(tx->mrsigner, id.mrsigner, 32);
    size_t len = 0;
    TRY_OUT(node_public_tx_sign(tx, chain_id, t->cfg.account_sk));
    TRY_OUT(node_public_tx_encode(tx, enc, NODE_CHAIN_TX_MAX, &len));
    st = wallet_rpc_broadcast(&r, enc, len, height, NULL);
    if (st == VEIL_OK && *height == 0) *height = tip + 1;
out:
    if (acc != NULL) veil__node__account__free_unpacked(acc, NULL);
    free(enc);
    if (tx != NULL) veil_wipe(tx, sizeof *tx);
    free(tx);
    return st;
}

static void join_round(tdbe *t)
{
    if (t->joined || !t->cfg.has_account_sk || (t->cfg.rpc == NULL && t->cfg.join_rpc == NULL))
        return;
    uint64_t height = 0;
    char hex[65];
    veil_hex_encode(hex, t->cfg.account, 32);
    veil_status st = join_try(t, &height);
    if (st == VEIL_OK) {
        t->joined = true;
        if (height > 0)
            veil_log(VEIL_LOG_INFO, "node join committed at height %llu: account %s binds this "
                                    "TDBE's key%s",
                     (unsigned long long)height, hex,
                     t->cfg.has_validator ? " and this node's validator key" : "");
        else
            veil_log(VEIL_LOG_INFO, "account %s binds this TDBE's key%s (joined before)", hex,
                     t->cfg.has_validator ? " and this node's validator key" : "");
    } else if (st != t->last_join || strcmp(veil_error_detail(), t->last_join_detail) != 0) {
        veil_log(VEIL_LOG_WARN, "node join for account %s: %s (%s); retrying", hex,
                 veil_status_str(st), veil_error_detail());
        snprintf(t->last_join_detail, sizeof t->last_join_detail, "%s", veil_error_detail());
    }
    t->last_join = st;
}

/* --- lifecycle ---------------------------------------------------------------------- */

static veil_status listen_on(tdbe *t, const char *hostport)
{
    return veil_tcp_listen(hostport, 64, &t->listen_fd, t->address, sizeof t->address);
}

veil_status tdbe_open(const tdbe_config *cfg, tdbe **out)
{
    ENSURE(cfg->listen != NULL && cfg->tve_endpoint != NULL && cfg->home != NULL &&
               cfg->enclave_path != NULL && cfg->collateral != NULL &&
               cfg->n_peers <= TDBE_MAX_PEERS && (cfg->rpc != NULL || cfg->state_proof != NULL) &&
               (!cfg->has_account_sk || cfg->has_account),
           VEIL_ERR_ARG);
    tdbe *t = calloc(1, sizeof *t);
    ENSURE(t != NULL, VEIL_ERR_NOMEM);
    t->cfg = *cfg;
    if (t->cfg.max_peers == 0) t->cfg.max_peers = 16;
    if (t->cfg.timeout_ms == 0) t->cfg.timeout_ms = 10000;
    if (t->cfg.handshake_ms == 0) t->cfg.handshake_ms = 5000;
    if (t->cfg.retry_ms == 0) t->cfg.retry_ms = 2000;
    if (t->cfg.poll_ms == 0) t->cfg.poll_ms = TDBE_POLL_MS;
    if (t->cfg.bootstrap_lag == 0) t->cfg.bootstrap_lag = TDBE_BOOTSTRAP_LAG;
    t->listen_fd = -1;
    t->last_fetch = VEIL_OK;
    t->last_join = VEIL_OK;
    pthread_mutex_init(&t->lock, NULL);
    pthread_mutex_init(&t->tve_lock, NULL);
    pthread_cond_init(&t->idle, NULL);
    veil_status st;
    tee_ocall_table ocalls = {g_ocalls, sizeof g_ocalls / sizeof g_ocalls[0], t};
    TRY_OUT(veil_mkdir_p(cfg->home, 0700));
    TRY_OUT(veil_path_join(t->cert_path, sizeof t->cert_path, cfg->home, "tdbe-cert.der"));
    TRY_OUT(veil_path_join(t->lc_path, sizeof t->lc_path, cfg->home, "lc-state.sealed"));
    TRY_OUT(tve_client_open(cfg->tve_endpoint, (int)cfg->tve_timeout_ms, &t->tve));
    TRY_OUT(tee_platform_open(cfg->platform_dir, &t->platform));
    TRY_OUT(tee_platform_set_collateral(t->platform, cfg->collateral));
    TRY_OUT(tee_enclave_load(t->platform, cfg->enclave_path, &ocalls, TDBE_ENCLAVE_MEMORY,
                             &t->enclave));
    if ((st = tve_handoff_run(t->enclave, TDBE_E_HANDOFF_BEGIN, TDBE_E_HANDOFF_END, t->tve)) !=
        VEIL_OK) {
        char d[256];
        snprintf(d, sizeof d, "%s", veil_error_detail());
        veil_error_detail_set("hand-off with the TVE at %s failed: %s%s%s", cfg->tve_endpoint,
                              veil_status_str(st), d[0] ? ": " : "", d);
        goto out;
    }
    TRY_OUT(identity_refresh(t));
    TRY_OUT(listen_on(t, cfg->listen));
    lc_follow_config lf = {.enclave = t->enclave,
                           .e_init = TDBE_E_LC_INIT,
                           .e_resume = TDBE_E_LC_RESUME,
                           .e_update = TDBE_E_LC_UPDATE,
                           .rpc = t->cfg.rpc,
                           .state_path = t->lc_path,
                           .has_trust = t->cfg.has_trust,
                           .trust_height = t->cfg.trust_height,
                           .lc = t->cfg.lc,
                           .height = &m_lc_height,
                           .light_block = t->cfg.light_block,
                           .latest_height = t->cfg.latest_height,
                           .chain_ctx = t->cfg.chain_ctx};
    memcpy(lf.trust_hash, t->cfg.trust_hash, 32);
    TRY_OUT(lc_follow_start(&lf, &t->follower));
    *out = t;
    return VEIL_OK;
out:
    tdbe_close(t);
    return st;
}

const char *tdbe_address(const tdbe *t) { return t->address; }

void tdbe_identity(const tdbe *t, tee_identity *out) { tee_enclave_identity(t->enclave, out); }

tee_enclave *tdbe_enclave(const tdbe *t) { return t->enclave; }

/* Fetching runs beside serving: two members fetching from each other must not wait
 * for each other's accept loop. */
static void *fetch_main(void *arg)
{
    tdbe *t = arg;
    /* The TVE is asked every poll_ms whether it awaits a key (a new epoch's key is
     * wanted within its grace blocks); after a round no peer served, and for the join,
     * the next try waits retry_ms. Ticks of 50 ms keep the stop prompt. */
    unsigned join_in = 0, fetch_in = 0;
    const unsigned tick = 50;
    while (!atomic_load(&t->stopping)) {
        if (join_in == 0) {
            join_round(t);
            join_in = t->cfg.retry_ms;
        }
        if (fetch_in == 0) {
            bool ok = boot_round(t);
            ok = fetch_round(t) && ok;
            fetch_in = ok ? t->cfg.poll_ms : t->cfg.retry_ms;
        }
        usleep(tick * 1000);
        join_in = join_in > tick ? join_in - tick : 0;
        fetch_in = fetch_in > tick ? fetch_in - tick : 0;
    }
    return NULL;
}

veil_status tdbe_run(tdbe *t, volatile sig_atomic_t *stop)
{
    double next_renew = now_s() + RENEW_CHECK_SECONDS;
    pthread_t fetcher;
    ENSURE(pthread_create(&fetcher, NULL, fetch_main, t) == 0, VEIL_ERR_INTERNAL);
    veil_status st = VEIL_OK;
    while (!*stop) {
        struct pollfd p = {t->listen_fd, POLLIN, 0};
        int pr = poll(&p, 1, 250);
        if (pr < 0 && errno != EINTR) {
            st = VEIL_ERR_IO;
            break;
        }
        if (pr > 0) accept_one(t);
        double now = now_s();
        if (now >= next_renew) {
            if (identity_refresh(t) != VEIL_OK)
                veil_log(VEIL_LOG_WARN, "identity renewal failed; retrying");
            next_renew = now_s() + RENEW_CHECK_SECONDS;
        }
    }
    atomic_store(&t->stopping, true);
    pthread_join(fetcher, NULL);
    return st;
}

void tdbe_close(tdbe *t)
{
    if (t == NULL) return;
    if (t->listen_fd >= 0) close(t->listen_fd);
    atomic_store(&t->stopping, true);
    pthread_mutex_lock(&t->lock);
    while (t->active > 0) pthread_cond_wait(&t->idle, &t->lock);
    pthread_mutex_unlock(&t->lock);
    lc_follow_stop(t->follower);
    size_t n = 0;
    if (t->enclave != NULL &&
        tee_enclave_call(t->enclave, TDBE_E_SHUTDOWN, NULL, 0, NULL, 0, &n) != VEIL_OK)
        veil_log(VEIL_LOG_ERROR, "enclave shutdown failed");
    tee_enclave_destroy(t->enclave);
    tee_platform_close(t->platform);
    tve_client_close(t->tve);
    pthread_mutex_destroy(&t->lock);
    pthread_mutex_destroy(&t->tve_lock);
    pthread_cond_destroy(&t->idle);
    veil_wipe(t->cfg.account_sk, sizeof t->cfg.account_sk);
    veil_wipe(t->cfg.validator_sk, sizeof t->cfg.validator_sk);
    free(t);
}
