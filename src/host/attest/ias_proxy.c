/* The per-node attestation proxy and the report client (ias_service.h). */
#include "host/attest/ias_service.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "hostutil/fileio.h"

#define MAX_ALLOW 16u
#define REPLY_MAX (IAS_REPORT_MAX_LEN + 1024u)

/* ---- HTTP calls (curl) --------------------------------------------------------------- */
typedef struct sink {
    char *p;
    size_t n;
    bool over;
} sink;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    sink *s = ctx;
    size_t n = size * nmemb;
    if (s->over || s->n + n > REPLY_MAX) {
        s->over = true;
        return 0;
    }
    char *q = realloc(s->p, s->n + n + 1);
    if (q == NULL) return 0;
    memcpy(q + s->n, data, n);
    s->p = q;
    s->n += n;
    s->p[s->n] = '\0';
    return n;
}

char *ias_url_decode(const char *s)
{
    size_t n = strlen(s);
    char *o = malloc(n + 1), *w = o;
    if (o == NULL) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            *w++ = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            *w++ = s[i];
        }
    }
    *w = '\0';
    return o;
}

typedef ias_headers heads;

static char *header_value(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    if (n <= k + 1 || strncasecmp(line, name, k) != 0 || line[k] != ':') return NULL;
    const char *v = line + k + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    return strndup(v, (size_t)(end - v));
}

bool ias_header_line(ias_headers *h, const char *data, size_t n)
{
    char *v;
    if (n > 64 * 1024) return false;
    if ((v = header_value(data, n, "X-IASReport-Signature")) != NULL) free(h->signature), h->signature = v;
    else if ((v = header_value(data, n, "X-IASReport-Signing-Certificate")) != NULL) free(h->chain), h->chain = v;
    else if ((v = header_value(data, n, "Request-ID")) != NULL) free(h->request_id), h->request_id = v;
    return true;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
    size_t n = size * nmemb;
    return ias_header_line(ctx, data, n) ? n : 0;
}

/* One call: method GET (body NULL) or POST (JSON body). On VEIL_OK *status holds the
 * HTTP status; the reply and the IAS headers are in *s and *h. */
static veil_status http_call(const char *url, const char *ca_file, const char *key,
                             const char *body, unsigned timeout_ms, long *status, sink *s, heads *h)
{
    CURL *c = curl_easy_init();
    ENSURE(c != NULL, VEIL_ERR_NOMEM);
    struct curl_slist *hl = NULL;
    char kh[200];
    if (key != NULL) {
        snprintf(kh, sizeof kh, "Ocp-Apim-Subscription-Key: %s", key);
        hl = curl_slist_append(hl, kh);
    }
    if (body != NULL) hl = curl_slist_append(hl, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    if (ca_file != NULL) curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode rc = curl_easy_perform(c);
    veil_status st = VEIL_OK;
    if (rc != CURLE_OK) {
        veil_error_detail_set("%s: %s", url, s->over ? "answer too large" : curl_easy_strerror(rc));
        st = VEIL_ERR_TEE_IAS_UNAVAILABLE;
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return st;
}

void ias_headers_free(ias_headers *h)
{
    free(h->signature);
    free(h->chain);
    free(h->request_id);
}

/* ---- proxy -------------------------------------------------------------------------- */
struct ias_proxy {
    ias_proxy_config cfg;
    char *key;
    struct sockaddr_storage allow[MAX_ALLOW];
    size_t n_allow;
    pthread_mutex_t mu;
    double tokens;
    struct timespec last;
};

static veil_status parse_allow(ias_proxy *p, const char *list)
{
    char buf[1024], *save = NULL;
    ENSURE(strlen(list) < sizeof buf, VEIL_ERR_USAGE);
    strcpy(buf, list);
    for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        struct sockaddr_storage *a = &p->allow[p->n_allow];
        memset(a, 0, sizeof *a);
        if (p->n_allow == MAX_ALLOW) {
            veil_error_detail_set("--allow: at most %u addresses", MAX_ALLOW);
            return VEIL_ERR_USAGE;
        }
        if (inet_pton(AF_INET, t, &((struct sockaddr_in *)a)->sin_addr) == 1) {
            a->ss_family = AF_INET;
        } else if (inet_pton(AF_INET6, t, &((struct sockaddr_in6 *)a)->sin6_addr) == 1) {
            a->ss_family = AF_INET6;
        } else {
            veil_error_detail_set("--allow: %s is not an IP address", t);
            return VEIL_ERR_USAGE;
        }
        p->n_allow++;
    }
    return VEIL_OK;
}

veil_status ias_proxy_new(const ias_proxy_config *cfg, ias_proxy **out)
{
    ENSURE(cfg->service_url != NULL && cfg->key != NULL, VEIL_ERR_ARG);
    if (strncmp(cfg->service_url, "https://", 8) != 0) {
        veil_error_detail_set("the service URL must be https:// (the subscription key travels "
                              "to it)");
        return VEIL_ERR_USAGE;
    }
    ias_proxy *p = calloc(1, sizeof *p);
    ENSURE(p != NULL, VEIL_ERR_NOMEM);
    p->cfg = *cfg;
    if (p->cfg.rate_per_s <= 0) p->cfg.rate_per_s = 10;
    if (p->cfg.burst == 0) p->cfg.burst = 20;
    if (p->cfg.timeout_ms == 0) p->cfg.timeout_ms = 10000;
    p->key = strdup(cfg->key);
    veil_status st = p->key != NULL ? VEIL_OK : VEIL_ERR_NOMEM;
    if (st == VEIL_OK && cfg->allow != NULL) st = parse_allow(p, cfg->allow);
    if (st != VEIL_OK) {
        ias_proxy_free(p);
        return st;
    }
    p->tokens = p->cfg.burst;
    clock_gettime(CLOCK_MONOTONIC, &p->last);
    pthread_mutex_init(&p->mu, NULL);
    *out = p;
    return VEIL_OK;
}

void ias_proxy_free(ias_proxy *p)
{
    if (p == NULL) return;
    if (p->key != NULL) {
        veil_wipe(p->key, strlen(p->key));
        free(p->key);
    }
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static bool allowed(const ias_proxy *p, const struct sockaddr *peer)
{
    if (peer == NULL) return false;
    if (p->n_allow == 0) return http_addr_is_loopback(peer) != 0;
    const uint8_t *addr;
    size_t len;
    uint8_t mapped[4];
    if (peer->sa_family == AF_INET) {
        addr = (const uint8_t *)&((const struct sockaddr_in *)peer)->sin_addr;
        len = 4;
    } else {
        const struct in6_addr *x = &((const struct sockaddr_in6 *)peer)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(x)) {
            memcpy(mapped, x->s6_addr + 12, 4);
            addr = mapped;
            len = 4;
        } else {
            addr = x->s6_addr;
            len = 16;
        }
    }
    for (size_t i = 0; i < p->n_allow; i++) {
        const struct sockaddr_storage *a = &p->allow[i];
        if (a->ss_family == AF_INET && len == 4 &&
            memcmp(&((const struct sockaddr_in *)a)->sin_addr, addr, 4) == 0)
            return true;
        if (a->ss_family == AF_INET6 && len == 16 &&
            memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, addr, 16) == 0)
            return true;
    }
    return false;
}

/* Token bucket: true if a request may go now; else *retry_s says when one may. */
static bool take_token(ias_proxy *p, unsigned *retry_s)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&p->mu);
    double dt = (double)(now.tv_sec - p->last.tv_sec) + (double)(now.tv_nsec - p->last.tv_nsec) / 1e9;
    p->last = now;
    p->tokens += dt * p->cfg.rate_per_s;
    if (p->tokens > p->cfg.burst) p->tokens = p->cfg.burst;
    bool ok = p->tokens >= 1.0;
    if (ok) p->tokens -= 1.0;
    double wait = ok ? 0 : (1.0 - p->tokens) / p->cfg.rate_per_s;
    pthread_mutex_unlock(&p->mu);
    *retry_s = (unsigned)wait + 1;
    return ok;
}

void ias_proxy_handle(void *ctx, const http_request *req, http_response *r)
{
    ias_proxy *p = ctx;
    if (!allowed(p, req->peer)) {
        http_response_error(r, 403, "this proxy serves only its node's enclave hosts");
        return;
    }
    static const char report_path[] = "/attestation/v4/report",
                      sigrl_prefix[] = "/attestation/v4/sigrl/";
    bool is_report = strcmp(req->url, report_path) == 0;
    bool is_sigrl = strncmp(req->url, sigrl_prefix, sizeof sigrl_prefix - 1) == 0 &&
                    strlen(req->url) == sizeof sigrl_prefix - 1 + 8 &&
                    strspn(req->url + sizeof sigrl_prefix - 1, "0123456789abcdefABCDEF") == 8;
    if (!is_report && !is_sigrl) {
        http_response_error(r, 404, "this proxy forwards only POST %s and GET %s<gid>",
                            report_path, sigrl_prefix);
        return;
    }
    if (strcmp(req->method, is_report ? "POST" : "GET") != 0) {
        http_response_error(r, 405, "%s only", is_report ? "POST" : "GET");
        return;
    }
    unsigned retry;
    if (!take_token(p, &retry)) {
        char *ra = malloc(16);
        if (ra != NULL) snprintf(ra, 16, "%u", retry);
        http_response_header(r, "Retry-After", ra);
        http_response_error(r, 429, "rate limit: %.3g requests/s", p->cfg.rate_per_s);
        return;
    }
    char url[1024];
    if ((size_t)snprintf(url, sizeof url, "%s%s", p->cfg.service_url, req->url) >= sizeof url) {
        http_response_error(r, 500, "service URL too long");
        return;
    }
    char *body = NULL;
    if (is_report) { /* the body goes on as it came (the service judges it), NUL-ended */
        body = malloc(req->body_len + 1);
        if (body == NULL) {
            http_response_error(r, 500, "out of memory");
            return;
        }
        if (req->body_len) memcpy(body, req->body, req->body_len);
        body[req->body_len] = '\0';
        if (strlen(body) != req->body_len) {
            free(body);
            http_response_error(r, 400, "the request body contains NUL");
            return;
        }
    }
    sink s = {0};
    heads h = {0};
    long status = 0;
    veil_status st = http_call(url, p->cfg.service_ca, p->key, body, p->cfg.timeout_ms, &status,
                               &s, &h);
    free(body);
    if (st != VEIL_OK) {
        http_response_error(r, 502, "attestation service unreachable: %s", veil_error_detail());
    } else {
        r->status = (unsigned)status;
        r->content_type = "application/json";
        r->body = s.p;
        r->body_len = s.n;
        s.p = NULL;
        http_response_header(r, "X-IASReport-Signature", h.signature);
        http_response_header(r, "X-IASReport-Signing-Certificate", h.chain);
        http_response_header(r, "Request-ID", h.request_id);
        h.signature = h.chain = h.request_id = NULL;
    }
    free(s.p);
    ias_headers_free(&h);
}

/* ---- client ------------------------------------------------------------------------- */
void ias_fetched_free(ias_fetched *f)
{
    free(f->body);
    free(f->signature_b64);
    free(f->signing_chain_pem);
    memset(f, 0, sizeof *f);
}

veil_status ias_fetch_report(const char *base_url, const char *ca_file, const char *key,
                             const uint8_t *quote, size_t quote_len, const char *nonce,
                             unsigned timeout_ms, ias_fetched *out)
{
    memset(out, 0, sizeof *out);
    ENSURE(quote != NULL && quote_len > 0 && quote_len <= DCAP_QUOTE_MAX_LEN, VEIL_ERR_ARG);
    ENSURE(nonce == NULL || strlen(nonce) <= IAS_NONCE_MAX, VEIL_ERR_ARG);
    size_t b64_cap = sodium_base64_ENCODED_LEN(quote_len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(b64_cap);
    ENSURE(b64 != NULL, VEIL_ERR_NOMEM);
    sodium_bin2base64(b64, b64_cap, quote, quote_len, sodium_base64_VARIANT_ORIGINAL);
    json_t *j = json_pack("{s:s}", "isvEnclaveQuote", b64);
    free(b64);
    if (j != NULL && nonce != NULL) json_object_set_new(j, "nonce", json_string(nonce));
    char *body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    ENSURE(body != NULL, VEIL_ERR_NOMEM);
    char url[1024];
    if ((size_t)snprintf(url, sizeof url, "%s/attestation/v4/report", base_url) >= sizeof url) {
        free(body);
        return VEIL_ERR_USAGE;
    }
    sink s = {0};
    heads h = {0};
    long status = 0;
    veil_status st = http_call(url, ca_file, key, body, timeout_ms ? timeout_ms : 10000, &status,
                               &s, &h);
    free(body);
    if (st == VEIL_OK && status != 200) {
        json_t *e = s.p != NULL ? json_loads(s.p, 0, NULL) : NULL;
        const char *why = json_string_value(json_object_get(e, "error"));
        veil_error_detail_set("%s answered HTTP %ld%s%s", base_url, status, why ? ": " : "",
                              why ? why : "");
        json_decref(e);
        st = VEIL_ERR_TEE_IAS_REFUSED;
    }
    if (st == VEIL_OK && (h.signature == NULL || h.chain == NULL || s.p == NULL)) {
        veil_error_detail_set("attestation report: the answer lacks the report or its signature "
                              "headers");
        st = VEIL_ERR_TEE_IAS_REPORT;
    }
    if (st == VEIL_OK) {
        out->signing_chain_pem = ias_url_decode(h.chain);
        out->signature_b64 = h.signature;
        h.signature = NULL;
        out->body = s.p;
        out->body_len = s.n;
        s.p = NULL;
        if (out->signing_chain_pem == NULL) {
            ias_fetched_free(out);
            st = VEIL_ERR_NOMEM;
        }
    }
    free(s.p);
    ias_headers_free(&h);
    return st;
}
