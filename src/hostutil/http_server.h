/* A small HTTP/1.1 (or HTTPS) server over libmicrohttpd for the attestation service and
 * its per-node proxy: one handler per request, the whole body first (bounded), one
 * thread per connection (bounded), idle connections closed. Host only.
 */
#ifndef VEIL_HOSTUTIL_HTTP_SERVER_H
#define VEIL_HOSTUTIL_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/status.h"

#define HTTP_MAX_HEADERS 4

typedef struct http_request {
    const char *method;
    const char *url;          /* path, without the query string */
    const uint8_t *body;      /* not NUL-terminated; NULL when empty */
    size_t body_len;
    const struct sockaddr *peer; /* the client's address */
    void *conn;               /* for http_request_header */
} http_request;

/* The value of a request header (case-insensitive name), or NULL. */
const char *http_request_header(const http_request *r, const char *name);

/* What the handler answers. body and header values are malloc'd and taken over. */
typedef struct http_response {
    unsigned status;
    const char *content_type; /* static */
    char *body;
    size_t body_len;
    size_t n_headers;
    struct {
        const char *name; /* static */
        char *value;
    } headers[HTTP_MAX_HEADERS];
} http_response;

/* Adds a header (value malloc'd, taken over; NULL or past HTTP_MAX_HEADERS: dropped,
 * freed). */
void http_response_header(http_response *r, const char *name, char *value);

/* Sets status and a JSON body {"error": message} (printf-style). */
void http_response_error(http_response *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef void (*http_handler_fn)(void *ctx, const http_request *req, http_response *resp);

/* A request body as libmicrohttpd hands it over, bounded: what this server and the dev
 * chain's RPC server (both on libmicrohttpd) keep per request. Zero-initialise. */
typedef struct http_body {
    char *data; /* not NUL-terminated */
    size_t len, cap;
    bool too_large;  /* over max: dropped, the request is to be refused */
    size_t drained;  /* bytes of an oversized body read and dropped so far */
} http_body;
/* At the request's first call: a Content-Length over max marks it too large at once. */
void http_body_begin(http_body *b, const char *content_length, size_t max);
/* One uploaded chunk: kept, or, once the body is over max, dropped (so the client
 * still gets its refusal). false: hang up (more than drain_max dropped, or out of
 * memory). */
bool http_body_feed(http_body *b, const char *data, size_t n, size_t max, size_t drain_max);
void http_body_free(http_body *b);

typedef struct http_server_config {
    const char *addr;          /* "HOST:PORT": an IPv4 or [IPv6] literal, or localhost */
    size_t max_body;           /* larger bodies get 413 without reaching the handler */
    unsigned max_connections;  /* 0: 32 */
    unsigned idle_timeout_s;   /* 0: 10 */
    const char *tls_cert_pem;  /* both set: HTTPS with this certificate (chain) and key */
    const char *tls_key_pem;
    http_handler_fn handler;   /* called concurrently from connection threads */
    void *ctx;
} http_server_config;

typedef struct http_server http_server;

/* VEIL_ERR_USAGE for a bad address, VEIL_ERR_NET if it cannot listen (detail says). */
VEIL_MUST_CHECK veil_status http_server_start(const http_server_config *cfg, http_server **out);
uint16_t http_server_port(const http_server *s);
void http_server_stop(http_server *s);

/* Parses "HOST:PORT" (IPv4 literal, [IPv6] literal, or localhost) into a socket address. */
VEIL_MUST_CHECK veil_status http_parse_addr(const char *addr, struct sockaddr_storage *out,
                                            socklen_t *len);

/* Whether an address is a loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104). */
int http_addr_is_loopback(const struct sockaddr *a);

#endif
