/* Blocking attested-TLS 1.3 client over TCP (OpenSSL). The server's certificate is
 * judged by ratls_verify_cert alone, from a certificate-verify callback that replaces
 * OpenSSL's chain building: there is no CA store to fall back on. */
#include "host/ratls/ratls_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/cursor.h"
#include "hostutil/fileio.h"
#include "hostutil/tcp.h"

struct ratls_client {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    const ratls_policy *policy; /* only during the handshake */
    veil_status verify_status;
    attest_claims claims;
};

static int verify_cb(X509_STORE_CTX *sctx, void *arg)
{
    ratls_client *c = arg;
    X509 *leaf = X509_STORE_CTX_get0_cert(sctx);
    if (leaf == NULL) {
        c->verify_status = VEIL_ERR_RATLS_NO_EVIDENCE;
        veil_error_detail_set("the server sent no certificate");
    } else {
        c->verify_status = ratls_verify_cert(leaf, c->policy, time(NULL), &c->claims);
    }
    if (c->verify_status != VEIL_OK) {
        X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    return 1;
}

/* A failed SSL I/O call: timeout, peer gone, or protocol failure. */
static veil_status io_error(SSL *ssl, int r)
{
    int e = SSL_get_error(ssl, r);
    int saved = errno;
    ERR_clear_error();
    if (e == SSL_ERROR_ZERO_RETURN) {
        veil_error_detail_set("the server closed the connection");
        return VEIL_ERR_NET;
    }
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ||
        (e == SSL_ERROR_SYSCALL && (saved == EAGAIN || saved == EWOULDBLOCK))) {
        veil_error_detail_set("no answer from the server in time");
        return VEIL_ERR_TIMEOUT;
    }
    veil_error_detail_set("TLS connection failed (%s)",
                          e == SSL_ERROR_SYSCALL ? strerror(saved) : "protocol error");
    return VEIL_ERR_NET;
}

veil_status ratls_client_connect(const char *host_port, const ratls_policy *p, int timeout_ms,
                                 ratls_client **out)
{
    ENSURE(host_port != NULL && p != NULL && out != NULL, VEIL_ERR_ARG);
    *out = NULL;
    if (p->mrsigner == NULL && p->mrenclave == NULL) {
        veil_error_detail_set("the policy accepts no MRSIGNER or MRENCLAVE");
        return VEIL_ERR_ARG;
    }
    if (timeout_ms <= 0) timeout_ms = 30000;
    veil_status st = VEIL_OK;
    ratls_client *c = calloc(1, sizeof *c);
    ENSURE(c != NULL, VEIL_ERR_NOMEM);
    c->fd = -1;
    c->policy = p;
    c->verify_status = VEIL_ERR_RATLS_HANDSHAKE;
    TRY_OUT(veil_tcp_connect(host_port, timeout_ms, &c->fd));
    c->ctx = SSL_CTX_new(TLS_client_method());
    ENSURE_OUT(c->ctx != NULL, VEIL_ERR_CRYPTO);
    ENSURE_OUT(SSL_CTX_set_min_proto_version(c->ctx, TLS1_3_VERSION) == 1 &&
                   SSL_CTX_set_max_proto_version(c->ctx, TLS1_3_VERSION) == 1,
               VEIL_ERR_CRYPTO);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_cert_verify_callback(c->ctx, verify_cb, c);
    SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_OFF);
    c->ssl = SSL_new(c->ctx);
    ENSURE_OUT(c->ssl != NULL && SSL_set_fd(c->ssl, c->fd) == 1, VEIL_ERR_CRYPTO);
    ERR_clear_error();
    veil_error_detail_clear();
    int r = SSL_connect(c->ssl);
    if (r != 1) {
        if (c->verify_status != VEIL_OK && c->verify_status != VEIL_ERR_RATLS_HANDSHAKE) {
            st = c->verify_status; /* the verifier's detail stays */
        } else {
            unsigned long e = ERR_peek_error();
            char buf[256] = "";
            if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
            int saved = errno;
            int se = SSL_get_error(c->ssl, r);
            if (se == SSL_ERROR_SYSCALL && (saved == EAGAIN || saved == EWOULDBLOCK)) {
                veil_error_detail_set("TLS handshake with %s timed out", host_port);
                st = VEIL_ERR_TIMEOUT;
            } else {
                veil_error_detail_set("TLS handshake with %s failed: %s", host_port,
                                      buf[0] ? buf : "connection closed");
                st = VEIL_ERR_RATLS_HANDSHAKE;
            }
        }
        ERR_clear_error();
        goto out;
    }
    /* The callback ran and accepted (a resumed session would skip it: none exist). */
    ENSURE_OUT(c->verify_status == VEIL_OK, VEIL_ERR_RATLS_HANDSHAKE);
    c->policy = NULL;
    *out = c;
    c = NULL;
out:
    ratls_client_close(c);
    return st;
}

const attest_claims *ratls_client_peer_claims(const ratls_client *c) { return &c->claims; }

X509 *ratls_client_peer_cert(const ratls_client *c) { return SSL_get0_peer_certificate(c->ssl); }

static veil_status write_all(ratls_client *c, const uint8_t *p, size_t len)
{
    while (len > 0) {
        size_t n = 0;
        int r = SSL_write_ex(c->ssl, p, len, &n);
        if (r != 1) return io_error(c->ssl, r);
        p += n;
        len -= n;
    }
    return VEIL_OK;
}

static veil_status read_all(ratls_client *c, uint8_t *p, size_t len)
{
    while (len > 0) {
        size_t n = 0;
        int r = SSL_read_ex(c->ssl, p, len, &n);
        if (r != 1) return io_error(c->ssl, r);
        p += n;
        len -= n;
    }
    return VEIL_OK;
}

veil_status ratls_client_send_msg(ratls_client *c, const uint8_t *msg, size_t len)
{
    ENSURE(c != NULL && (msg != NULL || len == 0), VEIL_ERR_ARG);
    ENSURE(len <= RATLS_MSG_MAX, VEIL_ERR_TOO_LARGE);
    /* Length and body in one TLS record: two small writes make two TCP segments, and
     * the second waits for the peer's delayed ACK (about 40 ms a request). */
    uint8_t *frame = malloc(len + 4);
    ENSURE(frame != NULL, VEIL_ERR_NOMEM);
    veil_put_u32(frame, (uint32_t)len);
    if (len > 0) memcpy(frame + 4, msg, len);
    veil_status st = write_all(c, frame, len + 4);
    free(frame);
    return st;
}

veil_status ratls_client_recv_msg(ratls_client *c, size_t max_len, uint8_t **msg, size_t *len)
{
    ENSURE(c != NULL && msg != NULL && len != NULL, VEIL_ERR_ARG);
    *msg = NULL;
    *len = 0;
    if (max_len == 0 || max_len > RATLS_MSG_MAX) max_len = RATLS_MSG_MAX;
    uint8_t hdr[4];
    TRY(read_all(c, hdr, sizeof hdr));
    uint32_t n = veil_get_u32(hdr);
    if (n > max_len) {
        veil_error_detail_set("message of %u bytes exceeds the limit of %zu", n, max_len);
        return VEIL_ERR_TOO_LARGE;
    }
    uint8_t *buf = malloc(n == 0 ? 1 : n);
    ENSURE(buf != NULL, VEIL_ERR_NOMEM);
    veil_status st = read_all(c, buf, n);
    if (st != VEIL_OK) {
        free(buf);
        return st;
    }
    *msg = buf;
    *len = n;
    return VEIL_OK;
}

void ratls_client_close(ratls_client *c)
{
    if (c == NULL) return;
    if (c->ssl != NULL) {
        if (SSL_is_init_finished(c->ssl)) (void)SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0) close(c->fd);
    ERR_clear_error();
    free(c);
}
