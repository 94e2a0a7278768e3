/* The 0MQ REP loop (tve_server.h). */
#include "host/tve/tve_server.h"
#include "hostutil/log.h"
#include "hostutil/metrics.h"
#include "trusted/tx/tx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "hostutil/fileio.h"

/* 0MQ refuses (and disconnects) above this; frames between TVE_BLOCK_FRAME_MAX and it
 * still reach the service, which answers VEIL_ERR_TOO_LARGE. */
#define TVE_ZMQ_MAXMSGSIZE ((int64_t)TVE_BLOCK_FRAME_MAX + (1 << 20))
#define TVE_POLL_MS 200

struct tve_server {
    tve_service *svc;
    void *ctx;
    void *sock;
};

static veil_status zmq_fail(const char *what)
{
    veil_error_detail_set("zmq %s: %s", what, zmq_strerror(zmq_errno()));
    return VEIL_ERR_NET;
}

veil_status tve_server_bind(tve_service *svc, const char *endpoint, tve_server **out)
{
    veil_status st = VEIL_OK;
    tve_server *srv = calloc(1, sizeof *srv);
    ENSURE(srv != NULL, VEIL_ERR_NOMEM);
    srv->svc = svc;
    srv->ctx = zmq_ctx_new();
    ENSURE_OUT(srv->ctx != NULL, zmq_fail("ctx_new"));
    srv->sock = zmq_socket(srv->ctx, ZMQ_REP);
    ENSURE_OUT(srv->sock != NULL, zmq_fail("socket"));
    int64_t max = TVE_ZMQ_MAXMSGSIZE;
    int linger = 0;
    ENSURE_OUT(zmq_setsockopt(srv->sock, ZMQ_MAXMSGSIZE, &max, sizeof max) == 0,
               zmq_fail("setsockopt"));
    /* Replies to a vanished peer are not worth waiting for at shutdown. */
    ENSURE_OUT(zmq_setsockopt(srv->sock, ZMQ_LINGER, &linger, sizeof linger) == 0,
               zmq_fail("setsockopt"));
    /* Whoever can connect can ask for sealed data and encryptions: an ipc socket is
     * created private to this user (the node runs as the same user). tcp:// is for
     * development only; protect it with the host's firewall. */
    mode_t old_mask = umask(077);
    int rc = zmq_bind(srv->sock, endpoint);
    umask(old_mask);
    if (rc != 0) {
        veil_error_detail_set("zmq bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
        st = VEIL_ERR_NET;
        goto out;
    }
    if (strncmp(endpoint, "ipc://", 6) == 0 && chmod(endpoint + 6, 0600) != 0) {
        veil_error_detail_set("chmod %s: %s", endpoint + 6, strerror(errno));
        st = VEIL_ERR_IO;
        goto out;
    }
    *out = srv;
    srv = NULL;
out:
    tve_server_close(srv);
    return st;
}

void tve_server_close(tve_server *srv)
{
    if (srv == NULL) return;
    if (srv->sock != NULL) zmq_close(srv->sock);
    if (srv->ctx != NULL) zmq_ctx_term(srv->ctx);
    free(srv);
}

static void free_reply(void *data, void *hint)
{
    (void)hint;
    free(data);
}

/* Receives one request (all its parts). *multipart: it had more than one part, which
 * the protocol does not allow; the parts are drained so the reply pairs with them. */
static int recv_request(void *sock, zmq_msg_t *msg, bool *multipart)
{
    zmq_msg_init(msg);
    if (zmq_msg_recv(msg, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(msg);
        return -1;
    }
    *multipart = false;
    bool more = zmq_msg_more(msg);
    while (more) {
        zmq_msg_t part;
        *multipart = true;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, 0) < 0) {
            zmq_msg_close(&part);
            break;
        }
        more = zmq_msg_more(&part);
        zmq_msg_close(&part);
    }
    return 0;
}

/* --- metrics (GET /metrics with --metrics) ------------------------------------------ */
static veil_metric m_requests = {.name = "veil_tve_requests_total",
                                 .help = "Requests answered.", .type = VEIL_METRIC_COUNTER};
static veil_metric m_errors = {.name = "veil_tve_request_errors_total",
                               .help = "Requests answered with an error.",
                               .type = VEIL_METRIC_COUNTER};
static veil_metric m_verify_us = {.name = "veil_tve_verify_microseconds_total",
                                  .help = "Time spent answering verify-tx and verify-block.",
                                  .type = VEIL_METRIC_COUNTER};
static veil_metric m_verify_n = {.name = "veil_tve_verify_requests_total",
                                 .help = "verify-tx and verify-block requests answered.",
                                 .type = VEIL_METRIC_COUNTER};
static veil_metric m_verify_txs = {.name = "veil_tve_verified_txs_total",
                                   .help = "Transactions in answered verify requests.",
                                   .type = VEIL_METRIC_COUNTER};
static uint64_t sample_decodes(void *ctx)
{
    (void)ctx;
    return veil_tx_wire_decodes();
}
static veil_metric m_decodes = {.name = "veil_tve_host_tx_decodes_total",
                                .help = "Wire txs whose public fields this host decoded (once per tx "
                                        "it judges).",
                                .type = VEIL_METRIC_COUNTER, .sample = sample_decodes};
static uint64_t sample_height(void *ctx) { return tve_service_last_height(ctx); }
static veil_metric m_height = {.name = "veil_tve_last_height",
                               .help = "Last committed height.", .type = VEIL_METRIC_GAUGE,
                               .sample = sample_height};
static uint64_t sample_store(void *ctx) { return tve_service_store_bytes(ctx); }
static veil_metric m_store = {.name = "veil_tve_store_bytes",
                              .help = "Bytes the sealed-tx store uses.", .type = VEIL_METRIC_GAUGE,
                              .sample = sample_store};

static uint64_t sample_epoch(void *ctx) { return tve_service_key_epoch(ctx); }
static veil_metric m_epoch = {.name = "veil_tve_key_epoch",
                              .help = "Current obfuscation key epoch (docs/key-epochs.md).",
                              .type = VEIL_METRIC_GAUGE, .sample = sample_epoch};
static uint64_t sample_awaited(void *ctx) { return tve_service_key_awaited(ctx); }
static veil_metric m_awaited = {.name = "veil_tve_key_awaited",
                                .help = "1 while the TVE waits for a key of the chain its TDBE "
                                        "fetches from peers.",
                                .type = VEIL_METRIC_GAUGE, .sample = sample_awaited};
static uint64_t sample_destroyed(void *ctx) { return tve_service_keys_destroyed(ctx); }
static veil_metric m_destroyed = {.name = "veil_tve_keys_destroyed_total",
                                  .help = "Epoch keys destroyed after their grace period.",
                                  .type = VEIL_METRIC_COUNTER, .sample = sample_destroyed};

void tve_server_metrics_register(tve_service *svc)
{
    m_height.sample_ctx = svc;
    m_store.sample_ctx = svc;
    m_epoch.sample_ctx = svc;
    m_awaited.sample_ctx = svc;
    m_destroyed.sample_ctx = svc;
    veil_metric *all[] = {&m_requests, &m_errors, &m_verify_us, &m_verify_n, &m_verify_txs,
                          &m_decodes, &m_height, &m_store, &m_epoch, &m_awaited, &m_destroyed};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) veil_metric_register(all[i]);
}

static void count_request(const tve_request_info *info, double us)
{
    veil_metric_add(&m_requests, 1);
    if (info->status != VEIL_OK) veil_metric_add(&m_errors, 1);
    if (strcmp(info->name, "verify-tx") == 0 || strcmp(info->name, "verify-block") == 0) {
        veil_metric_add(&m_verify_n, 1);
        veil_metric_add(&m_verify_us, (uint64_t)us);
        veil_metric_add(&m_verify_txs, info->n_items ? info->n_items : 1);
    }
}

static void log_request(tve_log_level log, const tve_request_info *info, size_t req_len, double us)
{
    if (log == TVE_LOG_NONE || (log == TVE_LOG_ERRORS && info->status == VEIL_OK)) return;
    /* Type, size, count, code and time: never anything from inside a tx. */
    if (info->status == VEIL_OK)
        veil_log(VEIL_LOG_INFO, "%s bytes=%zu items=%zu ok %.0fus", info->name, req_len,
                 info->n_items, us);
    else
        veil_log(VEIL_LOG_WARN, "%s bytes=%zu items=%zu error %d %s %.0fus", info->name, req_len,
                 info->n_items, (int)info->status, veil_status_name(info->status), us);
}

veil_status tve_server_run(tve_server *srv, tve_log_level log, volatile sig_atomic_t *stop)
{
    zmq_pollitem_t item = {srv->sock, 0, ZMQ_POLLIN, 0};
    while (!*stop) {
        int rc = zmq_poll(&item, 1, TVE_POLL_MS);
        if (rc < 0) {
            if (zmq_errno() == EINTR) continue;
            if (zmq_errno() == ETERM) break;
            return zmq_fail("poll");
        }
        if (rc == 0 || !(item.revents & ZMQ_POLLIN)) continue;

        zmq_msg_t msg;
        bool multipart;
        if (recv_request(srv->sock, &msg, &multipart) != 0) {
            if (zmq_errno() == EAGAIN || zmq_errno() == EINTR) continue;
            return zmq_fail("recv");
        }
        uint64_t t0 = veil_monotonic_us();
        const uint8_t *data = zmq_msg_data(&msg);
        size_t len = zmq_msg_size(&msg);
        uint8_t *reply = NULL;
        size_t reply_len = 0;
        tve_request_info info = {"invalid", VEIL_ERR_TVE_UNKNOWN_REQUEST, 0};
        veil_status st = VEIL_ERR_TVE_UNKNOWN_REQUEST;
        if (!multipart) {
            st = tve_service_handle(srv->svc, data, len, &reply, &reply_len, &info);
            if (st != VEIL_OK) info.status = st;
        }
        /* Counted before the reply leaves: a client that reads the metrics after its
         * answer sees its request in them. */
        double us = (double)(veil_monotonic_us() - t0);
        count_request(&info, us);
        if (reply == NULL) {
            /* Multipart frame, or no memory for a reply: a fixed error still goes out. */
            static uint8_t fixed[256];
            reply_len = tve_response_static_error(info.status, fixed, sizeof fixed);
            do rc = zmq_send(srv->sock, fixed, reply_len, 0);
            while (rc < 0 && zmq_errno() == EINTR);
        } else {
            zmq_msg_t out;
            zmq_msg_init_data(&out, reply, reply_len, free_reply, NULL);
            /* A signal must not cost the reply: REP would refuse the next receive. */
            do rc = zmq_msg_send(&out, srv->sock, 0);
            while (rc < 0 && zmq_errno() == EINTR);
            if (rc < 0) zmq_msg_close(&out);
        }
        zmq_msg_close(&msg);
        if (rc < 0 && zmq_errno() == ETERM) break;
        log_request(log, &info, len, us);
    }
    return VEIL_OK;
}
