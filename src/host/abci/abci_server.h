/* ABCI socket server: the node's side of the connection CometBFT v0.38 (or the dev
 * chain) opens to the application.
 *
 * Listens on "unix:///abs/path.sock", "tcp://HOST:PORT" or "HOST:PORT" (tcp, as
 * CometBFT's proxy_app accepts). Accepts any number of connections up to a limit
 * (CometBFT opens four: consensus, mempool, query, snapshot), one thread each. Per
 * connection, requests are served strictly in order and responses are buffered until
 * a Flush request arrives (then all buffered responses and the Flush response are
 * written), until 1 MiB is pending, or until an exception. App callbacks are
 * serialised by one mutex across all connections (see abci_app.h).
 *
 * Malformed input (docs/abci.md has the full table):
 *   bad varint prefix, frame above max_frame, stream ending inside a frame
 *       -> the connection is closed without a reply (the byte stream cannot be
 *          resynchronised; CometBFT's server does the same)
 *   frame body that does not decode as a Request
 *       -> ResponseException, then close (CometBFT closes without the exception)
 *   Request with no known method set (empty, or only a pre-0.38 field such as
 *   BeginBlock) -> ResponseException, connection kept
 *   callback error -> ResponseException, connection kept
 * Other connections are never affected. Host only.
 */
#ifndef VEIL_HOST_ABCI_SERVER_H
#define VEIL_HOST_ABCI_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "host/abci/abci_app.h"
#include "host/abci/abci_frame.h"

#define ABCI_SERVER_MAX_CONNECTIONS_DEFAULT 32u

typedef struct abci_server_config {
    const char *listen_addr;  /* required; see above */
    size_t max_frame;         /* largest request body; 0: ABCI_FRAME_MAX_DEFAULT */
    unsigned max_connections; /* simultaneous; 0: ABCI_SERVER_MAX_CONNECTIONS_DEFAULT.
                                 Connections beyond it are closed at once. */
} abci_server_config;

typedef struct abci_server abci_server;

/* Binds, listens and starts the accept thread; returns once the socket accepts
 * connections. app is copied; app->ctx must outlive the server.
 * A unix socket path left behind by a dead server is unlinked; if another server
 * answers on it, or a tcp port is taken, VEIL_ERR_EXISTS. A path that exists and is
 * not a socket is never removed (VEIL_ERR_EXISTS). Bad address: VEIL_ERR_ARG.
 * Details via veil_error_detail(). */
VEIL_MUST_CHECK veil_status abci_server_start(const abci_server_config *cfg, const abci_app *app,
                                              abci_server **out);

/* The address actually bound, in listen_addr syntax ("tcp://127.0.0.1:40123" after
 * asking for port 0). VEIL_ERR_BUFFER_TOO_SMALL if cap is too small. */
VEIL_MUST_CHECK veil_status abci_server_address(const abci_server *s, char *out, size_t cap);

/* Number of connections currently open (for tests and status output). */
unsigned abci_server_connection_count(abci_server *s);

/* Stops accepting, calls app->interrupt (if set), shuts every connection down, waits
 * for all threads (a callback in progress finishes first: see abci_app.interrupt)
 * and removes the unix socket file. Safe from any thread except inside an app
 * callback; idempotent. */
void abci_server_stop(abci_server *s);

/* Stops (if running) and frees. NULL is a no-op. */
void abci_server_free(abci_server *s);

/* ---- Lower level: one request, no socket (the server's connection threads, the
 * fuzz target and the golden-frame tests use this). ---- */

typedef enum abci_serve_next {
    ABCI_SERVE_BUFFER = 0,  /* keep the response buffered, read the next request */
    ABCI_SERVE_FLUSH,       /* write everything buffered now (Flush or exception) */
    ABCI_SERVE_FLUSH_CLOSE, /* write everything buffered, then close the connection */
} abci_serve_next;

/* Decodes one request body, runs it (holding app_lock, if not NULL, around the
 * callback) and appends the length-prefixed Response frame to out. Returns VEIL_OK
 * with *next set for every input, however malformed; an error return means a local
 * failure (out of memory): close the connection. */
VEIL_MUST_CHECK veil_status abci_serve_request(const abci_app *app, pthread_mutex_t *app_lock,
                                               const uint8_t *body, size_t body_len, abci_buf *out,
                                               abci_serve_next *next);

/* At most this many pipelined CheckTx requests go to one check_tx_batch call. */
#define ABCI_CHECK_BATCH_MAX 256u

/* The request body as a well-formed Request carrying CheckTx (caller frees with
 * tendermint__abci__request__free_unpacked), or NULL for anything else. */
Tendermint__Abci__Request *abci_decode_check_tx(const uint8_t *body, size_t body_len);

/* Answers n (>= 1) decoded CheckTx requests through app->check_tx_batch (holding
 * app_lock, if not NULL), appending one Response frame per request, in order. Frees
 * the requests. *next: ABCI_SERVE_BUFFER, or ABCI_SERVE_FLUSH after an exception. An
 * error return is a local failure (out of memory): close the connection. */
VEIL_MUST_CHECK veil_status abci_serve_check_batch(const abci_app *app, pthread_mutex_t *app_lock,
                                                   Tendermint__Abci__Request **reqs, size_t n,
                                                   abci_buf *out, abci_serve_next *next);

#endif
