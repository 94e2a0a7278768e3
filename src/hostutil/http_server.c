/* HTTP(S) server for small services (http_server.h). */
#include "hostutil/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "hostutil/fileio.h"
#include "hostutil/http_mhd.h"
#include "hostutil/log.h"

#define DRAIN_MAX (1u << 20) /* bytes of an oversized body read before hanging up */

struct http_server {
    http_server_config cfg;
    struct MHD_Daemon *daemon;
    uint16_t port;
};


void http_body_begin(http_body *b, const char *content_length, size_t max)
{
    if (content_length != NULL && strtoull(content_length, NULL, 10) > max) b->too_large = true;
}

bool http_body_feed(http_body *b, const char *data, size_t n, size_t max, size_t drain_max)
{
    if (b->too_large) {
        b->drained += n;
        return b->drained <= drain_max;
    }
    if (n > max - b->len) {
        http_body_free(b);
        b->too_large = true;
        b->drained = n;
        return b->drained <= drain_max;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        if (cap > max) cap = max;
        char *p = realloc(b->data, cap);
        if (p == NULL) return false;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    return true;
}

void http_body_free(http_body *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

const char *http_request_header(const http_request *r, const char *name)
{
    if (r->conn == NULL) return NULL;
    return MHD_lookup_connection_value((struct MHD_Connection *)r->conn, MHD_HEADER_KIND, name);
}

void http_response_header(http_response *r, const char *name, char *value)
{
    if (value == NULL || r->n_headers >= HTTP_MAX_HEADERS) {
        free(value);
        return;
    }
    r->headers[r->n_headers].name = name;
    r->headers[r->n_headers].value = value;
    r->n_headers++;
}

void http_response_error(http_response *r, unsigned status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *j = json_pack("{s:s}", "error", msg);
    free(r->body);
    r->body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    r->body_len = r->body != NULL ? strlen(r->body) : 0;
    r->status = status;
    r->content_type = "application/json";
    json_decref(j);
}

static void response_free(http_response *r)
{
    free(r->body);
    for (size_t i = 0; i < r->n_headers; i++) free(r->headers[i].value);
}

static enum MHD_Result reply(struct MHD_Connection *c, http_response *r)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->body_len, r->body != NULL ? r->body : (char *)"", r->body != NULL ? MHD_RESPMEM_MUST_FREE
                                                                              : MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        response_free(r);
        return MHD_NO;
    }
    r->body = NULL; /* owned by the response now */
    if (r->content_type != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    for (size_t i = 0; i < r->n_headers; i++)
        if (r->headers[i].value != NULL)
            MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
    enum MHD_Result ret = MHD_queue_response(c, r->status ? r->status : 500, resp);
    MHD_destroy_response(resp);
    response_free(r);
    return ret;
}

static void printable(char *out, size_t cap, const char *in)
{
    size_t i = 0;
    for (; in != NULL && in[i] != '\0' && i + 1 < cap; i++)
        out[i] = in[i] > 0x20 && in[i] < 0x7f ? in[i] : '?';
    out[i] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)version;
    http_server *s = cls;
    http_body *rq = *con_cls;
    if (rq == NULL) {
        rq = calloc(1, sizeof *rq);
        if (rq == NULL) return MHD_NO;
        *con_cls = rq;
        http_body_begin(rq, MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                        MHD_HTTP_HEADER_CONTENT_LENGTH),
                        s->cfg.max_body);
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return http_body_feed(rq, upload_data, n, s->cfg.max_body, DRAIN_MAX) ? MHD_YES : MHD_NO;
    }
    http_response r;
    memset(&r, 0, sizeof r);
    if (rq->too_large) {
        http_response_error(&r, 413, "request body larger than %zu bytes", s->cfg.max_body);
        return reply(c, &r);
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    http_request req = {.method = method,
                        .url = url,
                        .body = rq->len ? (const uint8_t *)rq->data : NULL,
                        .body_len = rq->len,
                        .peer = ci != NULL ? ci->client_addr : NULL,
                        .conn = c};
    s->cfg.handler(s->cfg.ctx, &req, &r);
    char peer[64] = "?";
    if (req.peer != NULL && req.peer->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)req.peer)->sin_addr, peer, sizeof peer);
    else if (req.peer != NULL && req.peer->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)req.peer)->sin6_addr, peer, sizeof peer);
    /* Method, path, status and sizes only: never a header (keys) or a body; the
     * client's text printable, so it cannot forge log lines. */
    char m[16], u[101];
    printable(m, sizeof m, method);
    printable(u, sizeof u, url);
    veil_log(r.status < 400 ? VEIL_LOG_INFO : VEIL_LOG_WARN, "%s %s from %s: %u, %zu bytes in, %zu out",
             m, u, peer, r.status, rq->len, r.body_len);
    return reply(c, &r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    http_body *rq = *con_cls;
    if (rq == NULL) return;
    http_body_free(rq);
    free(rq);
    *con_cls = NULL;
}

veil_status http_parse_addr(const char *addr, struct sockaddr_storage *out, socklen_t *len)
{
    char host[64];
    const char *colon = strrchr(addr != NULL ? addr : "", ':');
    if (colon == NULL || (size_t)(colon - addr) >= sizeof host) goto bad;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port > 65535) goto bad;
    memset(out, 0, sizeof *out);
    struct sockaddr_in *a4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
    size_t hl = strlen(host);
    if (strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof *a4;
        return VEIL_OK;
    }
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1) {
            a6->sin6_family = AF_INET6;
            a6->sin6_port = htons((uint16_t)port);
            *len = sizeof *a6;
            return VEIL_OK;
        }
    }
bad:
    veil_error_detail_set("%s: want HOST:PORT (an IPv4 or [IPv6] literal, or localhost)",
                          addr != NULL ? addr : "(none)");
    return VEIL_ERR_USAGE;
}

int http_addr_is_loopback(const struct sockaddr *a)
{
    if (a == NULL) return 0;
    if (a->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
    if (a->sa_family == AF_INET6) {
        const struct in6_addr *x = &((const struct sockaddr_in6 *)a)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(x)) return 1;
        return IN6_IS_ADDR_V4MAPPED(x) && x->s6_addr[12] == 127;
    }
    return 0;
}

struct MHD_Daemon *http_mhd_start(const http_mhd_config *cfg, uint16_t *port)
{
    const struct sockaddr_storage *ss = cfg->addr;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    if (ss->ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    bool tls = cfg->tls_cert_pem != NULL && cfg->tls_key_pem != NULL;
    if (tls) flags |= MHD_USE_TLS;
    *port = ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
                                           : ((const struct sockaddr_in6 *)ss)->sin6_port);
    struct MHD_Daemon *d;
    if (tls)
        d = MHD_start_daemon(
            flags, *port, NULL, NULL, cfg->on_request, cfg->cls, MHD_OPTION_SOCK_ADDR,
            (const struct sockaddr *)ss, MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
            MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            cfg->memory_limit, MHD_OPTION_HTTPS_MEM_CERT, cfg->tls_cert_pem,
            MHD_OPTION_HTTPS_MEM_KEY, cfg->tls_key_pem, MHD_OPTION_NOTIFY_COMPLETED,
            cfg->on_completed, cfg->cls, MHD_OPTION_END);
    else
        d = MHD_start_daemon(
            flags, *port, NULL, NULL, cfg->on_request, cfg->cls, MHD_OPTION_SOCK_ADDR,
            (const struct sockaddr *)ss, MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
            MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            cfg->memory_limit, MHD_OPTION_NOTIFY_COMPLETED, cfg->on_completed, cfg->cls,
            MHD_OPTION_END);
    if (d == NULL) return NULL;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    if (info != NULL && getsockname(info->listen_fd, (struct sockaddr *)&bound, &bl) == 0)
        *port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                                 : ((struct sockaddr_in6 *)&bound)->sin6_port);
    return d;
}

veil_status http_server_start(const http_server_config *cfg, http_server **out)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    TRY(http_parse_addr(cfg->addr, &ss, &sl));
    ENSURE(cfg->handler != NULL && cfg->max_body > 0, VEIL_ERR_ARG);
    http_server *s = calloc(1, sizeof *s);
    ENSURE(s != NULL, VEIL_ERR_NOMEM);
    s->cfg = *cfg;
    if (s->cfg.max_connections == 0) s->cfg.max_connections = 32;
    if (s->cfg.idle_timeout_s == 0) s->cfg.idle_timeout_s = 10;
    bool tls = cfg->tls_cert_pem != NULL && cfg->tls_key_pem != NULL;
    http_mhd_config mc = {.addr = &ss,
                          .max_connections = s->cfg.max_connections,
                          .idle_timeout_s = s->cfg.idle_timeout_s,
                          .memory_limit = 128 * 1024,
                          .tls_cert_pem = cfg->tls_cert_pem,
                          .tls_key_pem = cfg->tls_key_pem,
                          .on_request = on_request,
                          .on_completed = on_completed,
                          .cls = s};
    s->daemon = http_mhd_start(&mc, &s->port);
    if (s->daemon == NULL) {
        veil_error_detail_set("cannot listen on %s%s", cfg->addr,
                              tls ? " (in use, or the TLS certificate/key does not load?)"
                                  : " (in use?)");
        free(s);
        return VEIL_ERR_NET;
    }
    *out = s;
    return VEIL_OK;
}

uint16_t http_server_port(const http_server *s) { return s->port; }

void http_server_stop(http_server *s)
{
    if (s == NULL) return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
