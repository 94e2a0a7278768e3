#include "host/devchain/rpc_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "hostutil/fileio.h"
#include "hostutil/http_mhd.h"
#include "hostutil/http_server.h"

struct rpc_server {
    struct MHD_Daemon *daemon;
    rpc_server_config cfg;
    uint16_t port;
};

/* Per-request state, from the first access-handler call to the completion callback. */
typedef http_body req_ctx;

/* An oversized body is read and dropped so the client gets its 400 reply; past this
 * much, the connection is simply closed. */
#define RPC_DRAIN_MAX ((size_t)64 << 20)

veil_status rpc_parse_listen_addr(const char *addr, char *host, size_t host_cap, uint16_t *port)
{
    if (strncmp(addr, "tcp://", 6) == 0) addr += 6;
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr) return VEIL_ERR_ARG;
    size_t hl = (size_t)(colon - addr);
    const char *h = addr;
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl + 1 > host_cap) return VEIL_ERR_ARG;
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (strcmp(host, "localhost") == 0) snprintf(host, host_cap, "127.0.0.1");
    struct in_addr a4;
    struct in6_addr a6;
    bool loopback = false;
    if (inet_pton(AF_INET, host, &a4) == 1) loopback = (ntohl(a4.s_addr) >> 24) == 127;
    else if (inet_pton(AF_INET6, host, &a6) == 1) loopback = IN6_IS_ADDR_LOOPBACK(&a6);
    if (!loopback) {
        veil_error_detail_set("RPC address %s: the dev chain listens on loopback only", addr);
        return VEIL_ERR_ARG;
    }
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || p > 65535) return VEIL_ERR_ARG;
    *port = (uint16_t)p;
    return VEIL_OK;
}

/* ---- replies -------------------------------------------------------------------------------- */

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *type,
                                 char *text, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *v)
{
    char *s = v ? json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(v);
    if (s == NULL) {
        static const char oom[] = "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32603,"
                                  "\"message\":\"Internal error\",\"data\":\"out of memory\"}}";
        s = strdup(oom);
        if (s == NULL) return MHD_NO;
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    return send_text(c, status, "application/json", s, strlen(s));
}

/* {"jsonrpc":"2.0","id":id,"error":{code,message,data}}: id omitted when NULL, data
 * when empty, as CometBFT's RPCResponse marshals them. */
static json_t *error_response(json_t *id, const rpc_error *e)
{
    json_t *r = json_object(), *err = json_object();
    int code = e->code ? e->code : RPC_INTERNAL_ERROR;
    if (r == NULL || err == NULL) {
        json_decref(r);
        json_decref(err);
        return NULL;
    }
    json_object_set_new(r, "jsonrpc", json_string("2.0"));
    if (id != NULL) json_object_set(r, "id", id);
    json_object_set_new(err, "code", json_integer(code));
    json_object_set_new(err, "message", json_string(rpc_error_message(code)));
    if (e->data[0] != '\0') {
        /* The text may quote bytes from the request: never emit invalid UTF-8. */
        json_t *d = json_string(e->data);
        json_object_set_new(err, "data", d ? d : json_string("(unprintable error text)"));
    }
    json_object_set_new(r, "error", err);
    return r;
}

static json_t *success_response(json_t *id, json_t *result)
{
    json_t *r = json_object();
    if (r == NULL || result == NULL) {
        json_decref(r);
        json_decref(result);
        return NULL;
    }
    json_object_set_new(r, "jsonrpc", json_string("2.0"));
    if (id != NULL) json_object_set(r, "id", id);
    json_object_set_new(r, "result", result);
    return r;
}

static json_t *run_method(rpc_server *s, json_t *id, const rpc_method_spec *m, const rpc_args *args,
                          bool *ok)
{
    json_t *result = NULL;
    rpc_error err = {0, ""};
    veil_status st = s->cfg.dispatch(s->cfg.ctx, m, args, &result, &err);
    *ok = st == VEIL_OK;
    if (st == VEIL_OK) return success_response(id, result);
    json_decref(result);
    if (err.code == 0) rpc_error_set(&err, RPC_INTERNAL_ERROR, "%s", veil_status_str(st));
    return error_response(id, &err);
}

static void appendf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void appendf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0) *len = *len + (size_t)n < cap ? *len + (size_t)n : cap - 1;
}

static enum MHD_Result send_endpoints(struct MHD_Connection *c)
{
    size_t cap = 8192, len = 0;
    char *html = malloc(cap);
    if (html == NULL) return MHD_NO;
    html[0] = '\0';
    appendf(html, cap, &len, "<html><body><br>Available endpoints:<br>");
    for (const rpc_method_spec *m = rpc_method_specs(); m->name != NULL; m++) {
        appendf(html, cap, &len, "<a href=\"/%s\">/%s", m->name, m->name);
        for (size_t i = 0; i < m->n_args; i++)
            appendf(html, cap, &len, "%s%s=_", i ? "&" : "?", m->args[i].name);
        appendf(html, cap, &len, "</a><br>");
    }
    appendf(html, cap, &len, "</body></html>");
    return send_text(c, MHD_HTTP_OK, "text/html", html, len);
}

/* ---- JSON-RPC over POST ------------------------------------------------------------------------ */

static enum MHD_Result handle_jsonrpc(rpc_server *s, struct MHD_Connection *c, const req_ctx *rq)
{
    if (rq->len == 0) return send_endpoints(c);
    rpc_body body;
    rpc_error err = {0, ""};
    veil_status st = rpc_body_parse(rq->data, rq->len, &body, &err);
    if (st == VEIL_ERR_NOMEM) return MHD_NO;
    if (st != VEIL_OK) return send_json(c, MHD_HTTP_INTERNAL_SERVER_ERROR, error_response(NULL, &err));

    /* Replies are counted as they are made: a batch whose replies would pass max_reply
     * gets one error instead (a 2 MiB batch once asked for a 71 MB reply). */
    size_t reply_bytes = 0;
    bool too_big = false;
    json_t *replies = json_array();
    for (size_t i = 0; replies != NULL && i < body.n; i++) {
        const rpc_call *call = &body.calls[i];
        if (call->id == NULL) continue; /* a notification gets no reply */
        json_t *reply;
        const rpc_method_spec *m = rpc_method_spec_find(call->method);
        rpc_args args;
        memset(&args, 0, sizeof args);
        err.data[0] = '\0';
        if (m == NULL) {
            rpc_error_set(&err, RPC_METHOD_NOT_FOUND, "%s", "");
            reply = error_response(call->id, &err);
        } else if ((st = rpc_args_from_json(m, call->params, s->cfg.max_body, &args, &err)) !=
                   VEIL_OK) {
            if (st == VEIL_ERR_NOMEM) rpc_error_set(&err, RPC_INTERNAL_ERROR, "out of memory");
            reply = error_response(call->id, &err);
        } else {
            bool ok;
            reply = run_method(s, call->id, m, &args, &ok);
        }
        rpc_args_free(&args);
        if (reply != NULL) reply_bytes += json_dumpb(reply, NULL, 0, JSON_COMPACT);
        if (reply_bytes > s->cfg.max_reply) {
            json_decref(reply);
            too_big = true;
            break;
        }
        if (reply == NULL || json_array_append_new(replies, reply) != 0) {
            json_decref(replies);
            replies = NULL;
        }
    }
    rpc_body_free(&body);
    if (replies == NULL) return MHD_NO;
    if (too_big) {
        json_decref(replies);
        rpc_error_set(&err, RPC_INVALID_REQUEST, "the reply would exceed %zu bytes; ask for less",
                      s->cfg.max_reply);
        return send_json(c, MHD_HTTP_OK, error_response(NULL, &err));
    }
    if (json_array_size(replies) == 0) {
        json_decref(replies);
        char *empty = strdup("");
        return empty ? send_text(c, MHD_HTTP_OK, "application/json", empty, 0) : MHD_NO;
    }
    /* CometBFT writes a lone reply as an object, even for a batch of one. */
    if (json_array_size(replies) == 1) {
        json_t *one = json_incref(json_array_get(replies, 0));
        json_decref(replies);
        return send_json(c, MHD_HTTP_OK, one);
    }
    return send_json(c, MHD_HTTP_OK, replies);
}

/* ---- URI form ------------------------------------------------------------------------------------ */

static const char *uri_get(void *ctx, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)ctx, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result handle_uri(rpc_server *s, struct MHD_Connection *c,
                                  const rpc_method_spec *m)
{
    json_t *id = json_integer(-1); /* CometBFT: no id in the URI form */
    if (id == NULL) return MHD_NO;
    rpc_args args;
    rpc_error err = {0, ""};
    veil_status st = rpc_args_from_uri(m, uri_get, c, s->cfg.max_body, &args, &err);
    enum MHD_Result ret;
    if (st != VEIL_OK) {
        if (st == VEIL_ERR_NOMEM) rpc_error_set(&err, RPC_INTERNAL_ERROR, "out of memory");
        ret = send_json(c, MHD_HTTP_INTERNAL_SERVER_ERROR, error_response(id, &err));
    } else {
        bool ok;
        json_t *reply = run_method(s, id, m, &args, &ok);
        ret = send_json(c, ok ? MHD_HTTP_OK : MHD_HTTP_INTERNAL_SERVER_ERROR, reply);
    }
    rpc_args_free(&args);
    json_decref(id);
    return ret;
}

/* ---- libmicrohttpd callbacks ------------------------------------------------------------------------ */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)method;
    (void)version;
    rpc_server *s = cls;
    req_ctx *rq = *con_cls;
    if (rq == NULL) {
        rq = calloc(1, sizeof *rq);
        if (rq == NULL) return MHD_NO;
        *con_cls = rq;
        http_body_begin(rq, MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                        MHD_HTTP_HEADER_CONTENT_LENGTH),
                        s->cfg.max_body);
        return MHD_YES;
    }
    if (*upload_data_size != 0) { /* an oversized body is drained, answered at the end */
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return http_body_feed(rq, upload_data, n, s->cfg.max_body, RPC_DRAIN_MAX) ? MHD_YES
                                                                                 : MHD_NO;
    }

    /* The whole request has arrived. */
    if (rq->too_large) {
        rpc_error err;
        rpc_error_set(&err, RPC_INVALID_REQUEST,
                      "error reading request body: http: request body too large");
        return send_json(c, MHD_HTTP_BAD_REQUEST, error_response(NULL, &err));
    }
    const char *path = url;
    if (path[0] == '/' && path[1] != '\0' && strcmp(path, "/v1") != 0 &&
        strcmp(path, "/v1/") != 0) {
        const char *name = path + 1;
        if (strncmp(name, "v1/", 3) == 0) name += 3;
        const rpc_method_spec *m = rpc_method_spec_find(name);
        if (m == NULL) {
            char *nf = strdup("404 page not found\n");
            return nf ? send_text(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", nf,
                                  strlen(nf))
                      : MHD_NO;
        }
        return handle_uri(s, c, m);
    }
    return handle_jsonrpc(s, c, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    req_ctx *rq = *con_cls;
    if (rq == NULL) return;
    http_body_free(rq);
    free(rq);
    *con_cls = NULL;
}

veil_status rpc_server_start(const rpc_server_config *cfg, rpc_server **out)
{
    char host[64];
    uint16_t port;
    TRY(rpc_parse_listen_addr(cfg->addr, host, sizeof host, &port));
    rpc_server *s = calloc(1, sizeof *s);
    if (s == NULL) return VEIL_ERR_NOMEM;
    s->cfg = *cfg;
    if (s->cfg.max_connections == 0) s->cfg.max_connections = 64;
    if (s->cfg.max_reply == 0) s->cfg.max_reply = (size_t)16 << 20;
    if (s->cfg.idle_timeout_s == 0) s->cfg.idle_timeout_s = 10;

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
    } else {
        inet_pton(AF_INET6, host, &a6->sin6_addr);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
    }
    http_mhd_config mc = {.addr = &ss,
                          .max_connections = s->cfg.max_connections,
                          .idle_timeout_s = s->cfg.idle_timeout_s,
                          .memory_limit = 256 * 1024,
                          .on_request = on_request,
                          .on_completed = on_completed,
                          .cls = s};
    s->daemon = http_mhd_start(&mc, &s->port);
    if (s->daemon == NULL) {
        veil_error_detail_set("cannot listen on %s:%u (in use?)", host, (unsigned)port);
        free(s);
        return VEIL_ERR_NET;
    }
    *out = s;
    return VEIL_OK;
}

uint16_t rpc_server_port(const rpc_server *s) { return s->port; }

void rpc_server_stop(rpc_server *s)
{
    if (s == NULL) return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
