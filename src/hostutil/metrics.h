/* Prometheus metrics of a daemon: counters and gauges updated lock-free from any thread,
 * served as the text exposition format (version 0.0.4) on GET /metrics by
 * `--metrics HOST:PORT`. Names and help texts are fixed strings; values never carry
 * anything from a tx. docs/operations.md lists every metric. */
#ifndef VEIL_HOSTUTIL_METRICS_H
#define VEIL_HOSTUTIL_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/status.h"

typedef enum veil_metric_type { VEIL_METRIC_COUNTER, VEIL_METRIC_GAUGE } veil_metric_type;

typedef struct veil_metric {
    const char *name; /* e.g. "veil_tve_requests_total" */
    const char *help;
    veil_metric_type type;
    _Atomic uint64_t value;
    /* Optional: computed at scrape time instead of `value` (e.g. a store's size). */
    uint64_t (*sample)(void *ctx);
    void *sample_ctx;
} veil_metric;

/* Registers a metric (static storage; at most 64 per process). */
void veil_metric_register(veil_metric *m);
static inline void veil_metric_add(veil_metric *m, uint64_t n)
{
    atomic_fetch_add_explicit(&m->value, n, memory_order_relaxed);
}
static inline void veil_metric_set(veil_metric *m, uint64_t v)
{
    atomic_store_explicit(&m->value, v, memory_order_relaxed);
}

/* The exposition text of every registered metric (malloc'ed, NUL-terminated). */
char *veil_metrics_render(void);

typedef struct veil_metrics_server veil_metrics_server;
/* Serves GET /metrics on addr ("HOST:PORT", an IPv4 address; port 0: any free one).
 * *port gets the bound port. VEIL_ERR_ARG for a bad address, VEIL_ERR_NET if it cannot
 * listen. */
VEIL_MUST_CHECK veil_status veil_metrics_serve(const char *addr, veil_metrics_server **out,
                                               uint16_t *port);
void veil_metrics_stop(veil_metrics_server *s);

#endif
