/* The TVE's transport: a 0MQ REP socket in front of a tve_service.
 *
 * One request at a time: a REP socket receives a request, then must send exactly one
 * reply before the next. Every frame gets a reply (an Error response if need be),
 * except frames above ZMQ_MAXMSGSIZE (TVE_BLOCK_FRAME_MAX + 1 MiB), which 0MQ drops
 * together with the connection before they reach us: a REQ peer that sent one waits
 * forever unless it uses a receive timeout (docs/tve-protocol.md, "Framing").
 */
#ifndef VEIL_HOST_TVE_SERVER_H
#define VEIL_HOST_TVE_SERVER_H

#include <signal.h>

#include "common/status.h"
#include "host/tve/tve_service.h"

typedef struct tve_server tve_server;

/* Binds a REP socket to endpoint ("ipc://PATH" or "tcp://HOST:PORT"). */
VEIL_MUST_CHECK veil_status tve_server_bind(tve_service *svc, const char *endpoint,
                                            tve_server **out);
/* Serves requests until *stop becomes nonzero (checked at least every 200 ms and on
 * every signal), logging to stderr per `log`. */
VEIL_MUST_CHECK veil_status tve_server_run(tve_server *srv, tve_log_level log,
                                           volatile sig_atomic_t *stop);
void tve_server_close(tve_server *srv);

/* Registers the TVE's metrics for svc (served by --metrics). */
void tve_server_metrics_register(tve_service *svc);

#endif
