/* TCP helpers (tcp.h). */
#include "hostutil/tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "hostutil/fileio.h"

/* Splits "host:port" / "[v6]:port". */
static veil_status split_host_port(const char *hp, char *host, size_t hcap, char *port, size_t pcap)
{
    const char *colon = strrchr(hp, ':');
    ENSURE(colon != NULL && colon[1] != '\0', VEIL_ERR_ARG);
    const char *h = hp;
    size_t hlen = (size_t)(colon - hp);
    if (hlen >= 2 && hp[0] == '[' && hp[hlen - 1] == ']') {
        h = hp + 1;
        hlen -= 2;
    }
    ENSURE(hlen > 0 && hlen < hcap && strlen(colon + 1) < pcap, VEIL_ERR_ARG);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    strcpy(port, colon + 1);
    return VEIL_OK;
}

veil_status veil_tcp_connect(const char *host_port, int timeout_ms, int *out_fd)
{
    char host[256], port[16];
    if (split_host_port(host_port, host, sizeof host, port, sizeof port) != VEIL_OK) {
        veil_error_detail_set("'%s' is not host:port", host_port);
        return VEIL_ERR_ARG;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        veil_error_detail_set("resolving %s: %s", host_port, gai_strerror(gai));
        return VEIL_ERR_NET;
    }
    veil_status st = VEIL_ERR_NET;
    int err = 0;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                        ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (r != 0 && errno == EINPROGRESS) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            r = poll(&pfd, 1, timeout_ms);
            if (r == 0) {
                close(fd);
                st = VEIL_ERR_TIMEOUT;
                err = ETIMEDOUT;
                continue;
            }
            socklen_t sl = sizeof err;
            if (r > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 && err == 0)
                r = 0;
            else
                r = -1;
        } else if (r != 0) {
            err = errno;
        }
        if (r != 0) {
            close(fd);
            continue;
        }
        /* Back to blocking, with per-call timeouts. */
        int fl = fcntl(fd, F_GETFL);
        struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
            err = errno;
            close(fd);
            continue;
        }
        /* Request/response traffic: small messages must not wait for ACKs (Nagle). */
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        *out_fd = fd;
        st = VEIL_OK;
        break;
    }
    freeaddrinfo(res);
    if (st != VEIL_OK) veil_error_detail_set("connecting to %s: %s", host_port, strerror(err));
    return st;
}

veil_status veil_tcp_listen(const char *hostport, int backlog, int *fd_out, char *bound,
                            size_t bound_cap)
{
    char host[256], port[16];
    /* An empty host ("" or ":PORT") listens on every address. */
    if (hostport[0] == ':') {
        host[0] = '\0';
        snprintf(port, sizeof port, "%s", hostport + 1);
    } else if (split_host_port(hostport, host, sizeof host, port, sizeof port) != VEIL_OK) {
        veil_error_detail_set("%s: not HOST:PORT", hostport);
        return VEIL_ERR_ARG;
    }
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host[0] ? host : NULL, port, &hints, &ai) != 0) {
        veil_error_detail_set("cannot resolve %s", hostport);
        return VEIL_ERR_ARG;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, backlog) != 0) {
        veil_error_detail_set("listen %s: %s", hostport, strerror(errno));
        if (fd >= 0) close(fd);
        freeaddrinfo(ai);
        return VEIL_ERR_IO;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char h[NI_MAXHOST] = "?", p[16] = "?";
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    getnameinfo((struct sockaddr *)&ss, sl, h, sizeof h, p, sizeof p,
                NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(bound, bound_cap, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, p);
    *fd_out = fd;
    return VEIL_OK;
}

bool veil_tcp_send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}
