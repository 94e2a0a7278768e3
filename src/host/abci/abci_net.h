/* ABCI addresses and sockets (internal to src/host/abci): the address syntax of
 * CometBFT's proxy_app setting, listening and connecting. */
#ifndef VEIL_HOST_ABCI_NET_H
#define VEIL_HOST_ABCI_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/un.h>

#include "common/status.h"

typedef struct abci_addr {
    bool is_unix;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* unix */
    char host[256];                                         /* tcp, brackets removed */
    char port[8];                                           /* tcp */
} abci_addr;

/* "unix://PATH", "tcp://HOST:PORT", or "HOST:PORT" (tcp). IPv6 hosts in brackets.
 * VEIL_ERR_ARG with a detail for anything else (empty path, path too long for
 * sun_path, missing or non-numeric port). */
VEIL_MUST_CHECK veil_status abci_addr_parse(const char *s, abci_addr *out);

/* Binds and listens (close-on-exec). Unix: a stale socket file is unlinked, a live
 * one or a non-socket file gives VEIL_ERR_EXISTS. Tcp: SO_REUSEADDR; a port in use
 * gives VEIL_ERR_EXISTS. */
VEIL_MUST_CHECK veil_status abci_listen(const abci_addr *a, int *fd_out);

/* Connects within timeout_ms (0: no limit). VEIL_ERR_NET / VEIL_ERR_TIMEOUT. */
VEIL_MUST_CHECK veil_status abci_connect(const abci_addr *a, int timeout_ms, int *fd_out);

/* Formats the address a listening socket is bound to ("unix://..." / "tcp://h:p"). */
VEIL_MUST_CHECK veil_status abci_addr_format_bound(const abci_addr *a, int fd, char *out,
                                                   size_t cap);

#endif
