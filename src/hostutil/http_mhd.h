/* The libmicrohttpd daemon both of Veil's HTTP servers run (http_server.h for the
 * attestation service and proxy, the dev chain's RPC server): an internal polling thread,
 * one thread per connection, bounded connections, idle timeout and per-connection memory.
 * Host only.
 */
#ifndef VEIL_HOSTUTIL_HTTP_MHD_H
#define VEIL_HOSTUTIL_HTTP_MHD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <microhttpd.h>

typedef struct http_mhd_config {
    const struct sockaddr_storage *addr; /* AF_INET or AF_INET6; port 0: any free port */
    unsigned max_connections;
    unsigned idle_timeout_s;
    size_t memory_limit;                  /* per connection */
    const char *tls_cert_pem, *tls_key_pem; /* both set: HTTPS */
    MHD_AccessHandlerCallback on_request;
    MHD_RequestCompletedCallback on_completed;
    void *cls; /* passed to both callbacks */
} http_mhd_config;

/* The running daemon, with the port it listens on in *port; NULL if it cannot listen. */
struct MHD_Daemon *http_mhd_start(const http_mhd_config *cfg, uint16_t *port);

#endif
