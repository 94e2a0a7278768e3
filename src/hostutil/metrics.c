/* Prometheus text exposition over libmicrohttpd (hostutil/metrics.h). */
#include "hostutil/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "hostutil/fileio.h"

#define METRICS_MAX 64

static veil_metric *g_metrics[METRICS_MAX];
static size_t g_n;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

void veil_metric_register(veil_metric *m)
{
    pthread_mutex_lock(&g_mu);
    bool dup = false;
    for (size_t i = 0; i < g_n; i++) dup |= g_metrics[i] == m;
    if (!dup && g_n < METRICS_MAX) g_metrics[g_n++] = m;
    pthread_mutex_unlock(&g_mu);
}

char *veil_metrics_render(void)
{
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    if (out == NULL) return NULL;
    out[0] = '\0';
    pthread_mutex_lock(&g_mu);
    for (size_t i = 0; i < g_n; i++) {
        veil_metric *m = g_metrics[i];
        uint64_t v = m->sample != NULL ? m->sample(m->sample_ctx)
                                       : atomic_load_explicit(&m->value, memory_order_relaxed);
        char line[512];
        int n = snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", m->name,
                         m->help, m->name, m->type == VEIL_METRIC_COUNTER ? "counter" : "gauge",
                         m->name, (unsigned long long)v);
        if (n < 0 || (size_t)n >= sizeof line) continue;
        if (len + (size_t)n + 1 > cap) {
            char *grown = realloc(out, cap * 2);
            if (grown == NULL) break;
            out = grown;
            cap *= 2;
        }
        memcpy(out + len, line, (size_t)n + 1);
        len += (size_t)n;
    }
    pthread_mutex_unlock(&g_mu);
    return out;
}

struct veil_metrics_server {
    struct MHD_Daemon *daemon;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_len, void **con_cls)
{
    (void)cls, (void)version, (void)upload, (void)upload_len, (void)con_cls;
    struct MHD_Response *r;
    unsigned code = MHD_HTTP_OK;
    if (strcmp(method, "GET") != 0 || strcmp(url, "/metrics") != 0) {
        static const char nf[] = "not found: GET /metrics\n";
        code = strcmp(method, "GET") != 0 ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND;
        r = MHD_create_response_from_buffer(sizeof nf - 1, (void *)nf, MHD_RESPMEM_PERSISTENT);
    } else {
        char *text = veil_metrics_render();
        if (text == NULL) return MHD_NO;
        r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        if (r != NULL)
            MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
    }
    if (r == NULL) return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

veil_status veil_metrics_serve(const char *addr, veil_metrics_server **out, uint16_t *port)
{
    char host[64];
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || (size_t)(colon - addr) >= sizeof host) {
        veil_error_detail_set("--metrics %s: expected HOST:PORT", addr);
        return VEIL_ERR_ARG;
    }
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    if (*end != '\0' || colon[1] == '\0' || p > 65535 || inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        veil_error_detail_set("--metrics %s: expected an IPv4 HOST:PORT", addr);
        return VEIL_ERR_ARG;
    }
    a.sin_port = htons((uint16_t)p);
    veil_metrics_server *s = calloc(1, sizeof *s);
    if (s == NULL) return VEIL_ERR_NOMEM;
    s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, (uint16_t)p, NULL,
                                 NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
                                 (struct sockaddr *)&a, MHD_OPTION_CONNECTION_LIMIT, 8u,
                                 MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (s->daemon == NULL) {
        free(s);
        veil_error_detail_set("--metrics %s: cannot listen (in use?)", addr);
        return VEIL_ERR_NET;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_in bound;
    socklen_t bl = sizeof bound;
    *port = (uint16_t)p;
    if (info != NULL && getsockname(info->listen_fd, (struct sockaddr *)&bound, &bl) == 0)
        *port = ntohs(bound.sin_port);
    *out = s;
    return VEIL_OK;
}

void veil_metrics_stop(veil_metrics_server *s)
{
    if (s == NULL) return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
