/* The dev chain's HTTP server for the CometBFT JSON-RPC subset (libmicrohttpd).
 *
 * Listens on 127.0.0.1 (or ::1) only: the address must be a loopback host and a port
 * ("127.0.0.1:26657", "tcp://127.0.0.1:26657", "localhost:0" for any free port).
 * One thread per connection (broadcast_tx_commit blocks until its tx is committed).
 *
 * Routing and replies follow CometBFT v0.38's rpc/jsonrpc/server:
 *   POST (or any method) to "/" or "/v1" with a JSON body: JSON-RPC 2.0, single or
 *     batch; an empty body lists the endpoints (HTML); replies are HTTP 200, except a
 *     parse error (500) and a body over the limit (400, -32600 "Invalid Request").
 *   "/<method>?arg=value": the URI form; replies carry id -1; errors are HTTP 500.
 *   any other path: 404.
 * Host only.
 */
#ifndef VEIL_HOST_DEVCHAIN_RPC_SERVER_H
#define VEIL_HOST_DEVCHAIN_RPC_SERVER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "host/devchain/rpc_request.h"

typedef struct rpc_server rpc_server;

/* Runs one method. On VEIL_OK *result is a new reference; otherwise err is set (an
 * err->code of 0 is reported as -32603 Internal error). Called concurrently from
 * connection threads. */
typedef veil_status (*rpc_dispatch_fn)(void *ctx, const rpc_method_spec *m, const rpc_args *args,
                                       json_t **result, rpc_error *err);

typedef struct rpc_server_config {
    const char *addr;
    size_t max_body;          /* request bodies above this are refused */
    unsigned max_connections; /* 0: 64 */
    rpc_dispatch_fn dispatch;
    void *ctx;
    size_t max_reply;         /* bytes of one HTTP reply (a whole batch); 0: 16 MiB */
    unsigned idle_timeout_s;  /* a connection silent this long (a half-sent request
                               * included) is closed; 0: 10 */
} rpc_server_config;

/* VEIL_ERR_ARG for an address that is not loopback host:port; VEIL_ERR_NET if the
 * port cannot be bound (detail via veil_error_detail). */
VEIL_MUST_CHECK veil_status rpc_server_start(const rpc_server_config *cfg, rpc_server **out);
/* The bound port (useful after asking for port 0). */
uint16_t rpc_server_port(const rpc_server *s);
/* Stops accepting, waits for the connection threads, frees. NULL is a no-op. */
void rpc_server_stop(rpc_server *s);

/* Parses an RPC listen address into a loopback host and port. */
VEIL_MUST_CHECK veil_status rpc_parse_listen_addr(const char *addr, char *host, size_t host_cap,
                                                  uint16_t *port);

#endif
