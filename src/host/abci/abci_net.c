/* ABCI addresses and sockets. */
#include "host/abci/abci_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostutil/fileio.h"

static veil_status addr_bad(const char *s, const char *why)
{
    veil_error_detail_set("bad ABCI address '%s': %s", s, why);
    return VEIL_ERR_ARG;
}

veil_status abci_addr_parse(const char *s, abci_addr *out)
{
    memset(out, 0, sizeof *out);
    ENSURE(s != NULL, VEIL_ERR_ARG);
    if (strncmp(s, "unix://", 7) == 0) {
        const char *path = s + 7;
        if (*path == '\0') return addr_bad(s, "empty socket path");
        if (strlen(path) >= sizeof out->path) return addr_bad(s, "socket path too long");
        out->is_unix = true;
        memcpy(out->path, path, strlen(path) + 1);
        return VEIL_OK;
    }
    const char *hp = s;
    if (strncmp(s, "tcp://", 6) == 0)
        hp = s + 6;
    else if (strstr(s, "://") != NULL)
        return addr_bad(s, "scheme must be unix:// or tcp://");

    const char *colon;
    const char *host = hp;
    size_t host_len;
    if (*hp == '[') {
        const char *close = strchr(hp, ']');
        if (close == NULL || close[1] != ':') return addr_bad(s, "expected [IPv6]:PORT");
        host = hp + 1;
        host_len = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(hp, ':');
        if (colon == NULL) return addr_bad(s, "expected HOST:PORT");
        host_len = (size_t)(colon - hp);
        if (memchr(hp, ':', host_len) != NULL) return addr_bad(s, "IPv6 hosts need brackets");
    }
    const char *port = colon + 1;
    size_t port_len = strlen(port);
    if (host_len == 0) return addr_bad(s, "empty host");
    if (host_len >= sizeof out->host) return addr_bad(s, "host too long");
    if (port_len == 0 || port_len > 5 || strspn(port, "0123456789") != port_len)
        return addr_bad(s, "port must be a number");
    if (atoi(port) > 65535) return addr_bad(s, "port out of range");
    memcpy(out->host, host, host_len);
    memcpy(out->port, port, port_len);
    return VEIL_OK;
}

static veil_status unix_sockaddr(const abci_addr *a, struct sockaddr_un *sun)
{
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, a->path, strlen(a->path) + 1);
    return VEIL_OK;
}

/* Is something accepting connections on this unix socket path? */
static bool unix_path_live(const struct sockaddr_un *sun)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    bool live = connect(fd, (const struct sockaddr *)sun, sizeof *sun) == 0;
    close(fd);
    return live;
}

static veil_status listen_unix(const abci_addr *a, int *fd_out)
{
    struct sockaddr_un sun;
    TRY(unix_sockaddr(a, &sun));
    struct stat sb;
    if (lstat(a->path, &sb) == 0) {
        if (!S_ISSOCK(sb.st_mode)) {
            veil_error_detail_set("%s exists and is not a socket", a->path);
            return VEIL_ERR_EXISTS;
        }
        if (unix_path_live(&sun)) {
            veil_error_detail_set("another server is listening on %s", a->path);
            return VEIL_ERR_EXISTS;
        }
        /* A socket file left by a process that died: nobody answers on it. */
        if (unlink(a->path) != 0 && errno != ENOENT) {
            veil_error_detail_set("cannot remove stale socket %s: %s", a->path, strerror(errno));
            return VEIL_ERR_IO;
        }
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        veil_error_detail_set("socket: %s", strerror(errno));
        return VEIL_ERR_NET;
    }
    if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
        int e = errno;
        close(fd);
        veil_error_detail_set("bind %s: %s", a->path, strerror(e));
        return e == EADDRINUSE ? VEIL_ERR_EXISTS : VEIL_ERR_NET;
    }
    if (listen(fd, 16) != 0) {
        int e = errno;
        close(fd);
        unlink(a->path);
        veil_error_detail_set("listen %s: %s", a->path, strerror(e));
        return VEIL_ERR_NET;
    }
    *fd_out = fd;
    return VEIL_OK;
}

static veil_status resolve(const abci_addr *a, bool passive, struct addrinfo **res)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    if (passive) hints.ai_flags = AI_PASSIVE;
    int rc = getaddrinfo(a->host, a->port, &hints, res);
    if (rc != 0) {
        veil_error_detail_set("cannot resolve %s: %s", a->host, gai_strerror(rc));
        return VEIL_ERR_NET;
    }
    return VEIL_OK;
}

static veil_status listen_tcp(const abci_addr *a, int *fd_out)
{
    struct addrinfo *res;
    TRY(resolve(a, true, &res));
    veil_status st = VEIL_ERR_NET;
    int last_errno = 0;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0) {
            *fd_out = fd;
            st = VEIL_OK;
            break;
        }
        last_errno = errno;
        close(fd);
    }
    freeaddrinfo(res);
    if (st != VEIL_OK) {
        veil_error_detail_set("listen on %s:%s: %s", a->host, a->port, strerror(last_errno));
        if (last_errno == EADDRINUSE) st = VEIL_ERR_EXISTS;
    }
    return st;
}

veil_status abci_listen(const abci_addr *a, int *fd_out)
{
    return a->is_unix ? listen_unix(a, fd_out) : listen_tcp(a, fd_out);
}

/* Non-blocking connect bounded by timeout_ms, then back to blocking mode. */
static veil_status connect_fd(int fd, const struct sockaddr *sa, socklen_t len, int timeout_ms)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return VEIL_ERR_NET;
    int rc = connect(fd, sa, len);
    if (rc != 0 && errno != EINPROGRESS && errno != EAGAIN) return VEIL_ERR_NET;
    if (rc != 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int pr;
        do {
            pr = poll(&pfd, 1, timeout_ms > 0 ? timeout_ms : -1);
        } while (pr < 0 && errno == EINTR);
        if (pr == 0) {
            errno = ETIMEDOUT;
            return VEIL_ERR_TIMEOUT;
        }
        int err = 0;
        socklen_t el = sizeof err;
        if (pr < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0) return VEIL_ERR_NET;
        if (err != 0) {
            errno = err;
            return VEIL_ERR_NET;
        }
    }
    if (fcntl(fd, F_SETFL, flags) < 0) return VEIL_ERR_NET;
    return VEIL_OK;
}

veil_status abci_connect(const abci_addr *a, int timeout_ms, int *fd_out)
{
    if (a->is_unix) {
        struct sockaddr_un sun;
        TRY(unix_sockaddr(a, &sun));
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return VEIL_ERR_NET;
        veil_status st = connect_fd(fd, (struct sockaddr *)&sun, sizeof sun, timeout_ms);
        if (st != VEIL_OK) {
            veil_error_detail_set("connect unix://%s: %s", a->path, strerror(errno));
            close(fd);
            return st;
        }
        *fd_out = fd;
        return VEIL_OK;
    }
    struct addrinfo *res;
    TRY(resolve(a, false, &res));
    veil_status st = VEIL_ERR_NET;
    int last_errno = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        st = connect_fd(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms);
        if (st == VEIL_OK) {
            int one = 1;
            /* Frames are written whole at each flush; Nagle would only add latency. */
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            *fd_out = fd;
            break;
        }
        last_errno = errno;
        close(fd);
    }
    freeaddrinfo(res);
    if (st != VEIL_OK)
        veil_error_detail_set("connect tcp://%s:%s: %s", a->host, a->port, strerror(last_errno));
    return st;
}

veil_status abci_addr_format_bound(const abci_addr *a, int fd, char *out, size_t cap)
{
    int n;
    if (a->is_unix) {
        n = snprintf(out, cap, "unix://%s", a->path);
    } else {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return VEIL_ERR_NET;
        char host[INET6_ADDRSTRLEN];
        unsigned port;
        if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
            port = ntohs(s6->sin6_port);
            n = snprintf(out, cap, "tcp://[%s]:%u", host, port);
        } else {
            const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
            port = ntohs(s4->sin_port);
            n = snprintf(out, cap, "tcp://%s:%u", host, port);
        }
    }
    ENSURE(n >= 0 && (size_t)n < cap, VEIL_ERR_BUFFER_TOO_SMALL);
    return VEIL_OK;
}
