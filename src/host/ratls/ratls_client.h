/* ratls_client.h — blocking attested-TLS 1.3 client (host side; the wallet uses it).
 *
 * Connects over TCP, runs a TLS 1.3 handshake (only 1.3) and accepts the server only
 * if its certificate passes ratls_verify_cert under the given policy at the local
 * clock; ordinary CA validation is not used. Messages are framed as a 4-byte
 * big-endian length followed by that many bytes (at most RATLS_MSG_MAX).
 * The process should ignore SIGPIPE: OpenSSL writes to the socket with write(2).
 * One client is used by one thread at a time.
 */
#ifndef VEIL_HOST_RATLS_RATLS_CLIENT_H
#define VEIL_HOST_RATLS_RATLS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "host/ratls/ratls_verify.h"
#include "tee/tee.h"

#define RATLS_MSG_MAX (16u * 1024u * 1024u)

typedef struct ratls_client ratls_client;

/* host_port: "host:port" or "[v6addr]:port". timeout_ms bounds the connect and the
 * handshake, and then every later send/recv (<= 0: 30 s). Errors: VEIL_ERR_ARG
 * (bad address or policy), VEIL_ERR_NET (resolve/connect failure),
 * VEIL_ERR_TIMEOUT, the verifier's code when the certificate is refused (with its
 * detail), VEIL_ERR_RATLS_HANDSHAKE for any other TLS failure. */
VEIL_MUST_CHECK veil_status ratls_client_connect(const char *host_port, const ratls_policy *p,
                                                 int timeout_ms, ratls_client **out);

/* The verified claims of the server (valid until ratls_client_close). */
const attest_claims *ratls_client_peer_claims(const ratls_client *c);
/* The server's certificate the handshake verified (owned by the connection). */
X509 *ratls_client_peer_cert(const ratls_client *c);

/* Sends one framed message (len <= RATLS_MSG_MAX, else VEIL_ERR_TOO_LARGE). */
VEIL_MUST_CHECK veil_status ratls_client_send_msg(ratls_client *c, const uint8_t *msg, size_t len);

/* Receives one framed message of at most max_len bytes (0: RATLS_MSG_MAX); the length
 * prefix is checked before anything is allocated (VEIL_ERR_TOO_LARGE; the stream is
 * then out of step and the caller must close). *msg is
 * malloc'ed, freed by the caller. VEIL_ERR_NET if the peer closed, VEIL_ERR_TIMEOUT. */
VEIL_MUST_CHECK veil_status ratls_client_recv_msg(ratls_client *c, size_t max_len, uint8_t **msg,
                                                  size_t *len);

/* Sends close_notify, closes the socket, frees. NULL is a no-op. */
void ratls_client_close(ratls_client *c);

#endif
