/* The node's side of the node <-> TVE protocol (proto/veil/tve.proto): a 0MQ REQ
 * socket with timeouts.
 *
 * A REQ socket that sent a request and never got the reply cannot send again, so on a
 * timeout the socket is closed and a fresh one connected: the next call starts
 * clean, whether the TVE restarted or only answered late (a late answer to the old
 * socket is dropped with it). Sends use ZMQ_IMMEDIATE, so a TVE that is not running
 * shows up as a timeout rather than a request queued forever. Host only; one thread at
 * a time.
 */
#ifndef VEIL_HOST_TVE_TVE_CLIENT_H
#define VEIL_HOST_TVE_TVE_CLIENT_H

#include <stdint.h>

#include "common/status.h"
#include "veil/tve.pb-c.h"

#define TVE_CLIENT_RESPONSE_MAX ((int64_t)64 << 20)
#define TVE_CLIENT_DEFAULT_TIMEOUT_MS 30000

typedef struct tve_client tve_client;

/* endpoint: "ipc://PATH" or "tcp://HOST:PORT". Connecting never blocks. */
VEIL_MUST_CHECK veil_status tve_client_open(const char *endpoint, int timeout_ms,
                                            tve_client **out);
void tve_client_close(tve_client *c);
const char *tve_client_endpoint(const tve_client *c);

/* Sends req and receives the Response. Returns
 *   VEIL_OK        *resp holds a response of case `want` (free with
 *                  veil__tve__response__free_unpacked)
 *   the TVE's code when it answered with an Error (veil_error_detail has its message)
 *   VEIL_ERR_TIMEOUT  no answer within timeout_ms (0: the client's default); the
 *                  socket has been re-created
 *   VEIL_ERR_NET / VEIL_ERR_DECODE  transport failure / an answer that is not a
 *                  Response of the expected kind */
VEIL_MUST_CHECK veil_status tve_client_call(tve_client *c, const Veil__Tve__Request *req,
                                            Veil__Tve__Response__ResponseCase want,
                                            int timeout_ms, Veil__Tve__Response **resp);

#endif
