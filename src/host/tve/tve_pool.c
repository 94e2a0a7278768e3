/* A fixed pool of worker threads for verify-block. The threads live as long as the
 * service: creating threads per block would cost more than a small block's work.
 * Items are handed out through one atomic counter, so a slow tx never holds up the
 * others on its thread. */
#include <stdatomic.h>
#include <stdlib.h>

#include "host/tve/tve_internal.h"

struct tve_pool {
    unsigned n_threads; /* including the caller of tve_pool_run */
    pthread_t *workers; /* n_threads - 1 */
    unsigned started;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    uint64_t generation; /* bumped per run; workers wait for a new one */
    bool stop;
    unsigned busy; /* workers still inside the current run */
    /* the current run */
    tve_pool_fn fn;
    void *ctx;
    size_t n;
    atomic_size_t next;
};

typedef struct worker_arg {
    tve_pool *pool;
    unsigned id;
} worker_arg;

static void pool_drain(tve_pool *p, unsigned worker)
{
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n) return;
        p->fn(p->ctx, i, worker);
    }
}

static void *pool_worker(void *arg)
{
    worker_arg *wa = arg;
    tve_pool *p = wa->pool;
    unsigned id = wa->id;
    free(wa);
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        pool_drain(p, id);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0) pthread_cond_signal(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

veil_status tve_pool_create(unsigned n_threads, tve_pool **out)
{
    ENSURE(n_threads >= 1 && n_threads <= TVE_MAX_THREADS, VEIL_ERR_ARG);
    tve_pool *p = calloc(1, sizeof *p);
    ENSURE(p != NULL, VEIL_ERR_NOMEM);
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    atomic_init(&p->next, 0);
    p->workers = calloc(n_threads, sizeof *p->workers);
    if (p->workers == NULL) {
        tve_pool_destroy(p);
        return VEIL_ERR_NOMEM;
    }
    for (unsigned i = 1; i < n_threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (wa == NULL) {
            tve_pool_destroy(p);
            return VEIL_ERR_NOMEM;
        }
        wa->pool = p;
        wa->id = i;
        if (pthread_create(&p->workers[p->started], NULL, pool_worker, wa) != 0) {
            free(wa);
            tve_pool_destroy(p);
            return VEIL_ERR_INTERNAL;
        }
        p->started++;
    }
    *out = p;
    return VEIL_OK;
}

void tve_pool_destroy(tve_pool *p)
{
    if (p == NULL) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->started; i++) pthread_join(p->workers[i], NULL);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    pthread_mutex_destroy(&p->mu);
    free(p->workers);
    free(p);
}

void tve_pool_run(tve_pool *p, size_t n, tve_pool_fn fn, void *ctx)
{
    if (n == 0) return;
    /* A single item, or no workers: no reason to wake anyone. */
    if (n == 1 || p->started == 0) {
        for (size_t i = 0; i < n; i++) fn(ctx, i, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    atomic_store(&p->next, 0);
    p->busy = p->started;
    p->generation++;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);

    pool_drain(p, 0);

    pthread_mutex_lock(&p->mu);
    while (p->busy > 0) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
