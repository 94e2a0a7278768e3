/* Attested-TLS server session: OpenSSL over a pair of memory BIOs. The host moves
 * ciphertext in and out through ratls_session_feed; no socket is ever touched. */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tee/tee.h"
#include "trusted/ratls/ratls_internal.h"

/* TLS accepts the peer's self-signed certificate (its key still has to sign the
 * handshake); the evidence in it is judged after the handshake, inside the enclave
 * (ratls_session_peer_verify), where a refusal has its own code. */
static int accept_any(int ok, X509_STORE_CTX *ctx)
{
    (void)ok, (void)ctx;
    return 1;
}

struct ratls_session {
    SSL *ssl;
    BIO *net_in;  /* bytes from the peer; SSL reads them */
    BIO *net_out; /* bytes for the peer; SSL writes them */
    bool handshake_done;
    bool closed;
    bool dead; /* fatal error: only draining the queued alert is left */
    uint8_t spki_hash[32]; /* of the certificate this session presents */
};

static veil_status session_new(ratls_identity *id, bool client, bool mutual,
                               ratls_session **out)
{
    ENSURE(id != NULL && out != NULL, VEIL_ERR_ARG);
    *out = NULL;
    ratls_session *s = tee_calloc(1, sizeof *s);
    ENSURE(s != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    SSL *ssl = SSL_new(id->ctx); /* takes a reference on the SSL_CTX */
    BIO *in = BIO_new(BIO_s_mem());
    BIO *out_bio = BIO_new(BIO_s_mem());
    if (ssl == NULL || in == NULL || out_bio == NULL) {
        SSL_free(ssl);
        BIO_free(in);
        BIO_free(out_bio);
        tee_free(s);
        return VEIL_ERR_CRYPTO;
    }
    /* An empty memory BIO means "retry later", not end of file. */
    BIO_set_mem_eof_return(in, -1);
    BIO_set_mem_eof_return(out_bio, -1);
    SSL_set_bio(ssl, in, out_bio); /* the SSL owns both BIOs now */
    if (mutual) SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
    if (client)
        SSL_set_connect_state(ssl);
    else
        SSL_set_accept_state(ssl);
    memcpy(s->spki_hash, id->spki_hash, sizeof s->spki_hash);
    s->ssl = ssl;
    s->net_in = in;
    s->net_out = out_bio;
    *out = s;
    return VEIL_OK;
}

veil_status ratls_session_new(ratls_identity *id, ratls_session **out)
{
    return session_new(id, false, false, out);
}

veil_status ratls_session_new_peer(ratls_identity *id, bool client, ratls_session **out)
{
    return session_new(id, client, true, out);
}

X509 *ratls_session_peer_cert(const ratls_session *s)
{
    return s != NULL && s->handshake_done ? SSL_get0_peer_certificate(s->ssl) : NULL;
}

size_t ratls_session_pending_out(const ratls_session *s)
{
    return s == NULL ? 0 : (size_t)BIO_ctrl_pending(s->net_out);
}

static void drain(ratls_session *s, uint8_t *out, size_t out_cap, size_t *out_len)
{
    *out_len = 0;
    while (*out_len < out_cap && BIO_ctrl_pending(s->net_out) > 0) {
        size_t chunk = out_cap - *out_len;
        if (chunk > (size_t)INT32_MAX) chunk = (size_t)INT32_MAX;
        int n = BIO_read(s->net_out, out + *out_len, (int)chunk);
        if (n <= 0) break;
        *out_len += (size_t)n;
    }
}

/* A failed SSL call: is it only waiting for more bytes, or fatal? */
static bool ssl_would_block(SSL *ssl, int ret)
{
    int e = SSL_get_error(ssl, ret);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

veil_status ratls_session_feed(ratls_session *s, const uint8_t *in, size_t in_len, uint8_t *out,
                               size_t out_cap, size_t *out_len)
{
    ENSURE(s != NULL && out_len != NULL && (in != NULL || in_len == 0) &&
               (out != NULL || out_cap == 0),
           VEIL_ERR_ARG);
    *out_len = 0;
    veil_status st = VEIL_OK;
    if (s->dead) {
        /* Let the host still send the alert that killed the session. */
        drain(s, out, out_cap, out_len);
        return *out_len > 0 ? VEIL_OK : VEIL_ERR_OUT_OF_ORDER;
    }
    if (in_len > 0) {
        size_t buffered = (size_t)BIO_ctrl_pending(s->net_in);
        ENSURE(in_len <= RATLS_MAX_BUFFERED_IN && buffered <= RATLS_MAX_BUFFERED_IN - in_len,
               VEIL_ERR_TOO_LARGE);
        ENSURE(BIO_write(s->net_in, in, (int)in_len) == (int)in_len, VEIL_ERR_CRYPTO);
    }
    if (!s->handshake_done) {
        ERR_clear_error();
        int r = SSL_do_handshake(s->ssl);
        if (r == 1) {
            s->handshake_done = true;
        } else if (!ssl_would_block(s->ssl, r)) {
            s->dead = true;
            s->closed = true;
            st = VEIL_ERR_RATLS_HANDSHAKE;
        }
        ERR_clear_error();
    }
    drain(s, out, out_cap, out_len);
    return st;
}

veil_status ratls_session_read(ratls_session *s, uint8_t *buf, size_t cap, size_t *n)
{
    ENSURE(s != NULL && n != NULL && (buf != NULL || cap == 0), VEIL_ERR_ARG);
    *n = 0;
    if (!s->handshake_done || s->closed || cap == 0) return VEIL_OK;
    ERR_clear_error();
    size_t got = 0;
    int r = SSL_read_ex(s->ssl, buf, cap, &got);
    if (r == 1) {
        *n = got;
        return VEIL_OK;
    }
    int e = SSL_get_error(s->ssl, r);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return VEIL_OK;
    s->closed = true;
    if (e == SSL_ERROR_ZERO_RETURN) return VEIL_OK; /* close_notify */
    s->dead = true;
    return VEIL_ERR_AUTH;
}

veil_status ratls_session_write(ratls_session *s, const uint8_t *data, size_t len)
{
    ENSURE(s != NULL && (data != NULL || len == 0), VEIL_ERR_ARG);
    ENSURE(s->handshake_done && !s->closed, VEIL_ERR_OUT_OF_ORDER);
    if (len == 0) return VEIL_OK;
    ERR_clear_error();
    size_t written = 0;
    /* Memory BIOs grow as needed, so a write never blocks and completes at once. */
    int r = SSL_write_ex(s->ssl, data, len, &written);
    ERR_clear_error();
    if (r != 1 || written != len) {
        s->dead = true;
        s->closed = true;
        return VEIL_ERR_CRYPTO;
    }
    return VEIL_OK;
}

void ratls_session_shutdown(ratls_session *s)
{
    if (s == NULL || s->dead) return;
    if (s->handshake_done) {
        (void)SSL_shutdown(s->ssl);
        ERR_clear_error();
    }
    s->closed = true;
}

bool ratls_session_handshake_done(const ratls_session *s)
{
    return s != NULL && s->handshake_done;
}

bool ratls_session_closed(const ratls_session *s) { return s == NULL || s->closed; }

void ratls_session_free(ratls_session *s)
{
    if (s == NULL) return;
    SSL_free(s->ssl); /* frees both BIOs and drops the SSL_CTX reference */
    tee_free(s);
}

veil_status ratls_session_evidence(const ratls_session *s, const uint8_t *nonce, size_t nonce_len,
                                   uint8_t *out, size_t cap, size_t *out_len)
{
    ENSURE(s != NULL && nonce != NULL && nonce_len >= 1 && nonce_len <= RATLS_NONCE_MAX,
           VEIL_ERR_ARG);
    return ratls_evidence_make(s->spki_hash, nonce, nonce_len, out, cap, out_len);
}
