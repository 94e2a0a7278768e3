/* ABCI socket client: CometBFT's side of an ABCI connection, for the dev chain and
 * the tests. One abci_client is one connection (CometBFT opens four: consensus,
 * mempool, query, snapshot; open four clients to do the same). Not thread-safe: use
 * each client from one thread at a time.
 *
 * Requests are buffered by abci_client_send and written by abci_client_flush, which
 * appends a Flush request, exactly as CometBFT's socket client does; responses come
 * back in request order, the Flush response last. abci_client_call does the whole
 * round trip for one request. Host only.
 */
#ifndef VEIL_HOST_ABCI_CLIENT_H
#define VEIL_HOST_ABCI_CLIENT_H

#include <stddef.h>

#include "common/status.h"
#include "host/abci/abci_frame.h"
#include "tendermint/abci/types.pb-c.h"

typedef struct abci_client abci_client;

typedef struct abci_client_config {
    const char *addr; /* "unix:///path", "tcp://host:port" or "host:port" */
    int timeout_ms;   /* connect, and each send/receive; 0: wait forever */
    size_t max_frame; /* largest response body accepted; 0: ABCI_FRAME_MAX_DEFAULT */
} abci_client_config;

/* Connects (one attempt). VEIL_ERR_ARG (bad address), VEIL_ERR_NET (refused,
 * unreachable), VEIL_ERR_TIMEOUT. Details via veil_error_detail(). */
VEIL_MUST_CHECK veil_status abci_client_connect(const abci_client_config *cfg, abci_client **out);

/* Closes the connection and frees. NULL is a no-op. */
void abci_client_close(abci_client *c);

/* Appends one request to the output buffer (nothing is written yet). */
VEIL_MUST_CHECK veil_status abci_client_send(abci_client *c, const Tendermint__Abci__Request *req);

/* Appends a Flush request and writes the whole buffer. The caller then receives one
 * response per request sent, then the Flush response. */
VEIL_MUST_CHECK veil_status abci_client_flush(abci_client *c);

/* Writes raw bytes as they are (tests use it to send malformed frames); flushes the
 * buffered requests first. */
VEIL_MUST_CHECK veil_status abci_client_send_raw(abci_client *c, const void *p, size_t n);

/* Receives the next response; free it with abci_response_free.
 * VEIL_ERR_NET if the server closed the connection, VEIL_ERR_TIMEOUT,
 * VEIL_ERR_DECODE / VEIL_ERR_MALFORMED / VEIL_ERR_TOO_LARGE for a bad frame. */
VEIL_MUST_CHECK veil_status abci_client_recv(abci_client *c, Tendermint__Abci__Response **resp);

/* abci_client_recv, and the response must be of type `want`: an exception is
 * VEIL_ERR_NET (its text in abci_client_last_exception), another type
 * VEIL_ERR_OUT_OF_ORDER. For pipelined requests: send several, flush, then receive
 * each response in order and the Flush response last. */
VEIL_MUST_CHECK veil_status abci_client_recv_expect(abci_client *c,
                                                    Tendermint__Abci__Response__ValueCase want,
                                                    Tendermint__Abci__Response **resp);

/* One synchronous round trip: send(req), flush, receive the response and the Flush
 * response. On VEIL_OK *resp is the response of the request's own type (caller frees).
 * An exception from the server gives VEIL_ERR_NET with the exception text in
 * veil_error_detail() and in abci_client_last_exception(); a response of another
 * type, or a missing Flush response, VEIL_ERR_OUT_OF_ORDER. A Flush request is
 * answered by its own response alone. */
VEIL_MUST_CHECK veil_status abci_client_call(abci_client *c, const Tendermint__Abci__Request *req,
                                             Tendermint__Abci__Response **resp);

/* After any error from abci_client_call/recv (exception, mismatch, timeout) the
 * connection's position in the response stream is unknown: close it. CometBFT's own
 * client stops for good on an exception. */

/* The text of the last ResponseException received on this client, or "". */
const char *abci_client_last_exception(const abci_client *c);

/* Frees a response from abci_client_recv/abci_client_call. NULL is a no-op. */
void abci_response_free(Tendermint__Abci__Response *resp);

/* The response oneof case that answers a request oneof case
 * (TENDERMINT__ABCI__RESPONSE__VALUE__NOT_SET for none). */
Tendermint__Abci__Response__ValueCase
abci_response_case_for(Tendermint__Abci__Request__ValueCase rc);

#endif
