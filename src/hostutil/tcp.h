/* TCP helpers the enclave services and their clients share (TQE, TDBE, attested-TLS
 * client). Host only. */
#ifndef VEIL_HOSTUTIL_TCP_H
#define VEIL_HOSTUTIL_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* Listens on HOST:PORT (port 0: any free port; an empty HOST: every address), with
 * SO_REUSEADDR and close-on-exec. *fd is the socket; `bound` gets "HOST:PORT" actually
 * bound ("[HOST]:PORT" for IPv6). VEIL_ERR_ARG (unresolvable, no port), VEIL_ERR_IO;
 * veil_error_detail says which. */
VEIL_MUST_CHECK veil_status veil_tcp_listen(const char *hostport, int backlog, int *fd,
                                            char *bound, size_t bound_cap);

/* Connects to "host:port" or "[v6]:port", trying each address within timeout_ms, and
 * leaves the socket blocking with send and receive timeouts of timeout_ms and
 * TCP_NODELAY. VEIL_ERR_ARG (not host:port), VEIL_ERR_NET (unresolvable, refused),
 * VEIL_ERR_TIMEOUT; veil_error_detail says which. */
VEIL_MUST_CHECK veil_status veil_tcp_connect(const char *host_port, int timeout_ms, int *out_fd);

/* Sends all n bytes (retrying on EINTR, never raising SIGPIPE); false on error or a
 * send timeout. */
bool veil_tcp_send_all(int fd, const uint8_t *p, size_t n);

#endif
