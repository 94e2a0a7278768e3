/* The host side of an enclave's light client (lc_follow.h). */
#include "host/lightclient/lc_follow.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cursor.h"
#include "host/lightclient/lc_rpc.h"
#include "hostutil/fileio.h"
#include "hostutil/log.h"
#include "trusted/lightclient/lc_enclave.h"
#include "trusted/lightclient/lc_wire.h"

struct lc_follow {
    lc_follow_config cfg;
    atomic_llong height; /* the enclave's latest verified height; 0: none */
    atomic_bool stopping;
    veil_status last; /* for logging a failure once, not every round */
    pthread_t thread;
    pthread_mutex_t lock; /* guards wake; with the conditions below */
    pthread_cond_t wake_cond, height_cond;
    bool wake; /* someone waits for a height: look again now */
};

#define ROUND_MS 250 /* between rounds when nobody waits */
#define EAGER_MS 20  /* between rounds while someone waits */

static struct timespec deadline_in(unsigned ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static veil_status fetch(lc_follow *f, int64_t height, lc_light_block *out)
{
    if (f->cfg.light_block != NULL) return f->cfg.light_block(f->cfg.chain_ctx, height, out);
    return lc_rpc_light_block(f->cfg.rpc, height, out);
}

static veil_status latest(lc_follow *f, int64_t *height)
{
    if (f->cfg.latest_height != NULL) return f->cfg.latest_height(f->cfg.chain_ctx, height);
    return lc_rpc_latest_height(f->cfg.rpc, height);
}

static void put_host_time(uint8_t out[static LC_ENCLAVE_TIME_LEN])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    veil_put_u64(out, (uint64_t)ts.tv_sec);
    veil_put_u32(out + 8, (uint32_t)ts.tv_nsec);
}

static void set_height(lc_follow *f, uint64_t h)
{
    pthread_mutex_lock(&f->lock);
    atomic_store(&f->height, (long long)h);
    pthread_cond_broadcast(&f->height_cond);
    pthread_mutex_unlock(&f->lock);
    if (f->cfg.height != NULL) veil_metric_set(f->cfg.height, h);
}

/* state_path: u64 BE height || the sealed state (the ecall's output as is). */
static void save(lc_follow *f, const uint8_t *out, size_t n)
{
    if (n <= 8) return;
    if (veil_file_write_atomic(f->cfg.state_path, out, n, 0600) != VEIL_OK)
        veil_log(VEIL_LOG_WARN, "cannot write %s: %s", f->cfg.state_path, veil_error_detail());
    set_height(f, veil_get_u64(out));
}

/* A light block, encoded for an ecall after `head` bytes the caller fills. */
static veil_status input(lc_follow *f, int64_t height, size_t head, uint8_t **in, size_t *in_len)
{
    lc_light_block *lb = malloc(sizeof *lb);
    ENSURE(lb != NULL, VEIL_ERR_NOMEM);
    cmt_buf e = {0};
    veil_status st = fetch(f, height, lb);
    if (st == VEIL_OK) st = lc_light_block_encode(lb, &e);
    free(lb);
    TRY(st);
    *in = malloc(head + e.len);
    if (*in != NULL) {
        memcpy(*in + head, e.p, e.len);
        *in_len = head + e.len;
    }
    cmt_buf_free(&e);
    ENSURE(*in != NULL, VEIL_ERR_NOMEM);
    return VEIL_OK;
}

/* Starts the enclave's light client: from its sealed state, else from the trust root. */
static veil_status start(lc_follow *f)
{
    uint8_t *blob = NULL, *in = NULL, *out = NULL;
    size_t len = 0, in_len = 0, n = 0;
    veil_status st = veil_file_read(f->cfg.state_path, LC_ENCLAVE_OUT_MAX, &blob, &len);
    if (st == VEIL_OK) {
        st = tee_enclave_call(f->cfg.enclave, f->cfg.e_resume, blob, len, NULL, 0, &n);
        if (st == VEIL_OK) {
            set_height(f, veil_get_u64(blob));
            veil_log(VEIL_LOG_INFO, "light client resumed at height %llu",
                     (unsigned long long)veil_get_u64(blob));
        } else if (st == VEIL_ERR_LC_ROLLBACK && st != f->last) {
            /* An older copy of the state: someone put it back, or this host died between
             * the enclave's seal and the file's replacement (docs/light-client.md). */
            veil_log(VEIL_LOG_ERROR,
                     "light client: rollback refused: %s is older than the newest state the "
                     "enclave sealed (%s: a copy put back, or a crash before the file was "
                     "replaced)%s",
                     f->cfg.state_path, veil_status_name(st),
                     f->cfg.has_trust ? "; starting again from the trust root"
                                      : "; give --trust-height and --trust-hash to start again");
        } else if (st != f->last) {
            veil_log(VEIL_LOG_ERROR, "light client: %s does not resume: %s (%s)%s",
                     f->cfg.state_path, veil_status_str(st), veil_status_name(st),
                     f->cfg.has_trust ? "; starting again from the trust root" : "");
        }
        free(blob);
        if (st == VEIL_OK || !f->cfg.has_trust) return st;
    }
    if (!f->cfg.has_trust) {
        veil_error_detail_set("no light-client state and no trust root (--trust-height, "
                              "--trust-hash)");
        return VEIL_ERR_ARG;
    }
    TRY(input(f, f->cfg.trust_height, LC_ENCLAVE_INIT_HEAD, &in, &in_len));
    put_host_time(in);
    veil_put_u64(in + 12, (uint64_t)f->cfg.lc.trusting_period_ns);
    veil_put_u64(in + 20, (uint64_t)f->cfg.lc.max_clock_drift_ns);
    veil_put_u32(in + 28, f->cfg.lc.trust_num);
    veil_put_u32(in + 32, f->cfg.lc.trust_den);
    memcpy(in + 36, f->cfg.trust_hash, 32);
    out = malloc(LC_ENCLAVE_OUT_MAX);
    st = out != NULL ? tee_enclave_call(f->cfg.enclave, f->cfg.e_init, in, in_len, out,
                                        LC_ENCLAVE_OUT_MAX, &n)
                     : VEIL_ERR_NOMEM;
    if (st == VEIL_OK) {
        save(f, out, n);
        veil_log(VEIL_LOG_INFO, "light client started from the trusted header at height %lld",
                 (long long)f->cfg.trust_height);
    }
    free(in);
    free(out);
    return st;
}

/* Verifies up to `target`: the host drives skipping verification, offering the block
 * halfway whenever the enclave answers that too little of its trusted set signed. */
static veil_status advance(lc_follow *f, int64_t target)
{
    int64_t stack[LC_MAX_BISECTION_DEPTH];
    size_t depth = 0;
    uint8_t *out = malloc(LC_ENCLAVE_OUT_MAX);
    ENSURE(out != NULL, VEIL_ERR_NOMEM);
    veil_status st = VEIL_OK;
    stack[depth++] = target;
    while (depth > 0 && st == VEIL_OK && !atomic_load(&f->stopping)) {
        int64_t h = stack[depth - 1];
        uint8_t *in = NULL;
        size_t in_len = 0, n = 0;
        st = input(f, h, LC_ENCLAVE_TIME_LEN, &in, &in_len);
        if (st != VEIL_OK) break;
        put_host_time(in);
        st = tee_enclave_call(f->cfg.enclave, f->cfg.e_update, in, in_len, out,
                              LC_ENCLAVE_OUT_MAX, &n);
        free(in);
        if (st == VEIL_OK) {
            save(f, out, n);
            depth--;
        } else if (st == VEIL_ERR_LC_NOT_ENOUGH_TRUST) {
            int64_t lo = atomic_load(&f->height), pivot = lo + (h - lo) / 2;
            if (pivot > lo && pivot < h && depth < LC_MAX_BISECTION_DEPTH) {
                stack[depth++] = pivot;
                st = VEIL_OK;
            }
        } else if (st == VEIL_ERR_LC_FORK) {
            veil_log(VEIL_LOG_ERROR, "ALARM: two valid headers at height %lld: the chain forked "
                                     "or the node lies; the light client keeps the one it "
                                     "verified and refuses the other",
                     (long long)h);
        }
    }
    free(out);
    return st;
}

static void round_once(lc_follow *f)
{
    veil_status st;
    int64_t top = 0;
    if (atomic_load(&f->height) == 0)
        st = start(f);
    else if ((st = latest(f, &top)) == VEIL_OK && top > atomic_load(&f->height))
        st = advance(f, top);
    if (st != VEIL_OK && st != f->last)
        veil_log(VEIL_LOG_WARN, "light client: %s (%s)%s%s", veil_status_str(st),
                 veil_status_name(st), veil_error_detail()[0] ? ": " : "", veil_error_detail());
    f->last = st;
}

static void *follow_main(void *arg)
{
    lc_follow *f = arg;
    while (!atomic_load(&f->stopping)) {
        round_once(f);
        struct timespec until = deadline_in(ROUND_MS);
        pthread_mutex_lock(&f->lock);
        while (!f->wake && !atomic_load(&f->stopping) &&
               pthread_cond_timedwait(&f->wake_cond, &f->lock, &until) == 0) {
        }
        f->wake = false;
        pthread_mutex_unlock(&f->lock);
    }
    return NULL;
}

static void cond_init_monotonic(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

veil_status lc_follow_start(const lc_follow_config *cfg, lc_follow **out)
{
    ENSURE(cfg->enclave != NULL && cfg->state_path != NULL &&
               (cfg->rpc != NULL || cfg->light_block != NULL),
           VEIL_ERR_ARG);
    lc_follow *f = calloc(1, sizeof *f);
    ENSURE(f != NULL, VEIL_ERR_NOMEM);
    f->cfg = *cfg;
    if (f->cfg.lc.trusting_period_ns == 0) lc_params_default(&f->cfg.lc);
    f->last = VEIL_OK;
    pthread_mutex_init(&f->lock, NULL);
    cond_init_monotonic(&f->wake_cond);
    cond_init_monotonic(&f->height_cond);
    if (pthread_create(&f->thread, NULL, follow_main, f) != 0) {
        pthread_mutex_destroy(&f->lock);
        pthread_cond_destroy(&f->wake_cond);
        pthread_cond_destroy(&f->height_cond);
        free(f);
        return VEIL_ERR_INTERNAL;
    }
    *out = f;
    return VEIL_OK;
}

void lc_follow_stop(lc_follow *f)
{
    if (f == NULL) return;
    pthread_mutex_lock(&f->lock);
    atomic_store(&f->stopping, true);
    pthread_cond_broadcast(&f->wake_cond);
    pthread_cond_broadcast(&f->height_cond);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->wake_cond);
    pthread_cond_destroy(&f->height_cond);
    free(f);
}

int64_t lc_follow_height(const lc_follow *f)
{
    return f != NULL ? atomic_load(&((lc_follow *)f)->height) : 0;
}

veil_status lc_follow_wait(const lc_follow *f, int64_t height, unsigned timeout_ms)
{
    lc_follow *m = (lc_follow *)f;
    bool ok = false;
    if (m != NULL) {
        struct timespec end = deadline_in(timeout_ms), now;
        pthread_mutex_lock(&m->lock);
        for (;;) {
            ok = atomic_load(&m->height) >= height;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (ok || atomic_load(&m->stopping) || now.tv_sec > end.tv_sec ||
                (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
                break;
            /* The follower looks again now, and every EAGER_MS while this waits. */
            m->wake = true;
            pthread_cond_signal(&m->wake_cond);
            struct timespec slice = deadline_in(EAGER_MS);
            if (slice.tv_sec > end.tv_sec || (slice.tv_sec == end.tv_sec && slice.tv_nsec > end.tv_nsec))
                slice = end;
            pthread_cond_timedwait(&m->height_cond, &m->lock, &slice);
        }
        pthread_mutex_unlock(&m->lock);
    }
    if (!ok)
        veil_error_detail_set("the light client has not verified height %lld",
                              (long long)height);
    return ok ? VEIL_OK : VEIL_ERR_TIMEOUT;
}
