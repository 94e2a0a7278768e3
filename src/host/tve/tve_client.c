/* 0MQ REQ client for the TVE (tve_client.h). */
#include "host/tve/tve_client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "hostutil/fileio.h"

struct tve_client {
    void *ctx;
    void *sock;
    char *endpoint;
    int timeout_ms;
};

static veil_status zfail(const char *what)
{
    veil_error_detail_set("zmq %s: %s", what, zmq_strerror(zmq_errno()));
    return VEIL_ERR_NET;
}

static void client_drop_socket(tve_client *c)
{
    if (c->sock) zmq_close(c->sock);
    c->sock = NULL;
}

static veil_status client_connect(tve_client *c)
{
    int one = 1, zero = 0;
    int64_t max = TVE_CLIENT_RESPONSE_MAX;
    c->sock = zmq_socket(c->ctx, ZMQ_REQ);
    ENSURE(c->sock != NULL, zfail("socket"));
    if (zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_IMMEDIATE, &one, sizeof one) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0) {
        veil_status st = zfail("setsockopt");
        client_drop_socket(c);
        return st;
    }
    if (zmq_connect(c->sock, c->endpoint) != 0) {
        veil_error_detail_set("zmq connect %s: %s", c->endpoint, zmq_strerror(zmq_errno()));
        client_drop_socket(c);
        return VEIL_ERR_NET;
    }
    return VEIL_OK;
}

veil_status tve_client_open(const char *endpoint, int timeout_ms, tve_client **out)
{
    ENSURE(endpoint != NULL && (strncmp(endpoint, "ipc://", 6) == 0 ||
                                strncmp(endpoint, "tcp://", 6) == 0),
           VEIL_ERR_ARG);
    tve_client *c = calloc(1, sizeof *c);
    ENSURE(c != NULL, VEIL_ERR_NOMEM);
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : TVE_CLIENT_DEFAULT_TIMEOUT_MS;
    c->endpoint = strdup(endpoint);
    c->ctx = zmq_ctx_new();
    veil_status st = VEIL_ERR_NOMEM;
    if (c->endpoint == NULL) goto fail;
    st = zfail("ctx_new");
    if (c->ctx == NULL) goto fail;
    st = client_connect(c);
    if (st != VEIL_OK) goto fail;
    *out = c;
    return VEIL_OK;
fail:
    tve_client_close(c);
    return st;
}

void tve_client_close(tve_client *c)
{
    if (c == NULL) return;
    client_drop_socket(c);
    if (c->ctx) zmq_ctx_term(c->ctx);
    free(c->endpoint);
    free(c);
}

const char *tve_client_endpoint(const tve_client *c) { return c->endpoint; }

veil_status tve_client_call(tve_client *c, const Veil__Tve__Request *req,
                            Veil__Tve__Response__ResponseCase want, int timeout_ms,
                            Veil__Tve__Response **resp)
{
    *resp = NULL;
    if (c->sock == NULL) TRY(client_connect(c));
    /* Sending only waits for a connection (ZMQ_IMMEDIATE): the default timeout, or a
     * shorter one the caller asks for (a probe). The answer may take longer for a big
     * request. */
    int tmo = timeout_ms > 0 ? timeout_ms : c->timeout_ms;
    int send_tmo = tmo < c->timeout_ms ? tmo : c->timeout_ms;
    if (zmq_setsockopt(c->sock, ZMQ_SNDTIMEO, &send_tmo, sizeof send_tmo) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_RCVTIMEO, &tmo, sizeof tmo) != 0)
        return zfail("setsockopt");

    size_t n = protobuf_c_message_get_packed_size(&req->base);
    uint8_t *buf = malloc(n ? n : 1);
    ENSURE(buf != NULL, VEIL_ERR_NOMEM);
    protobuf_c_message_pack(&req->base, buf);
    int rc;
    do {
        rc = zmq_send(c->sock, buf, n, 0);
    } while (rc < 0 && zmq_errno() == EINTR);
    free(buf);
    if (rc < 0) {
        veil_status st = zmq_errno() == EAGAIN ? VEIL_ERR_TIMEOUT : zfail("send");
        if (st == VEIL_ERR_TIMEOUT)
            veil_error_detail_set("TVE at %s is not reachable", c->endpoint);
        client_drop_socket(c);
        return st;
    }

    zmq_msg_t msg;
    zmq_msg_init(&msg);
    do {
        rc = zmq_msg_recv(&msg, c->sock, 0);
    } while (rc < 0 && zmq_errno() == EINTR);
    if (rc < 0) {
        veil_status st = zmq_errno() == EAGAIN ? VEIL_ERR_TIMEOUT : zfail("recv");
        if (st == VEIL_ERR_TIMEOUT)
            veil_error_detail_set("TVE at %s did not answer within %d ms", c->endpoint, tmo);
        zmq_msg_close(&msg);
        client_drop_socket(c);
        return st;
    }
    veil_status st = VEIL_OK;
    if (zmq_msg_more(&msg)) {
        /* The protocol is single-frame; a multi-part answer leaves the socket in a
         * state we do not want to reason about. */
        zmq_msg_close(&msg);
        client_drop_socket(c);
        veil_error_detail_set("TVE answered with a multi-part message");
        return VEIL_ERR_DECODE;
    }
    Veil__Tve__Response *r =
        veil__tve__response__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
    zmq_msg_close(&msg);
    if (r == NULL) {
        veil_error_detail_set("TVE answer does not decode as a Response");
        return VEIL_ERR_DECODE;
    }
    if (r->response_case == VEIL__TVE__RESPONSE__RESPONSE_ERROR) {
        const Veil__Tve__Error *e = r->error;
        st = veil_status_from_wire(e->code);
        /* The text comes from another process and ends up in our log: printable
         * characters only, so it cannot forge log lines. */
        char text[201];
        size_t len = 0;
        for (const char *m = e->message ? e->message : ""; *m != '\0' && len < sizeof text - 1;
             m++)
            text[len++] = (*m >= 0x20 && *m < 0x7f) ? *m : '?';
        text[len] = '\0';
        veil_error_detail_set("TVE: %s", text);
        veil__tve__response__free_unpacked(r, NULL);
        return st;
    }
    if (r->response_case != want) {
        veil__tve__response__free_unpacked(r, NULL);
        veil_error_detail_set("TVE answered with a response of another kind");
        return VEIL_ERR_DECODE;
    }
    *resp = r;
    return st;
}
