/* An enclave's one light client (lc_enclave.h). */
#include "trusted/lightclient/lc_enclave.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "tee/tee.h"
#include "trusted/lightclient/lc_wire.h"

static atomic_flag g_lc_lock = ATOMIC_FLAG_INIT; /* guards g_lc and the counter id */
static lc_state *g_lc;                           /* tee_alloc'ed once, then kept */
/* The platform counter this state's seals are numbered with (tee_counter_increment):
 * drawn at INIT, carried in every seal, read back at RESUME. */
static uint8_t g_counter_id[TEE_COUNTER_ID_LEN];

#define COUNTER_HEAD (TEE_COUNTER_ID_LEN + 8u) /* counter id || its value, before the state */

static void lc_lock(void)
{
    while (atomic_flag_test_and_set_explicit(&g_lc_lock, memory_order_acquire)) {
    }
}
static void lc_unlock(void) { atomic_flag_clear_explicit(&g_lc_lock, memory_order_release); }

static cmt_timestamp host_time(const uint8_t in[static LC_ENCLAVE_TIME_LEN])
{
    cmt_timestamp t = {(int64_t)veil_get_u64(in), (int32_t)(veil_get_u32(in + 8) % 1000000000u)};
    return t;
}

#define AAD_LEN (sizeof LC_ENCLAVE_AAD - 1 + 8)

static void lc_aad(uint8_t aad[static AAD_LEN], int64_t height)
{
    memcpy(aad, LC_ENCLAVE_AAD, sizeof LC_ENCLAVE_AAD - 1);
    veil_put_u64(aad + sizeof LC_ENCLAVE_AAD - 1, (uint64_t)height);
}

/* out = u64 height || the state sealed to this image with the height as associated
 * data: counter id || counter value || lc_state encoding, the counter advanced first,
 * so no older seal carries its value. Called with the lock held. */
static veil_status seal_out(const lc_state *s, uint8_t *out, size_t cap, size_t *out_len)
{
    cmt_buf state = {0}, e = {0};
    uint8_t head[COUNTER_HEAD];
    uint64_t v = 0;
    TRY(lc_state_encode(s, &state));
    veil_status st = tee_counter_increment(g_counter_id, &v);
    if (st == VEIL_OK) {
        memcpy(head, g_counter_id, TEE_COUNTER_ID_LEN);
        veil_put_u64(head + TEE_COUNTER_ID_LEN, v);
        cmt_buf_put(&e, head, sizeof head);
        cmt_buf_put(&e, state.p, state.len);
        st = cmt_buf_status(&e);
    }
    uint8_t aad[AAD_LEN];
    lc_aad(aad, s->trusted.header.height);
    size_t n = 0;
    if (st == VEIL_OK && cap < 8) st = VEIL_ERR_BUFFER_TOO_SMALL;
    if (st == VEIL_OK)
        st = tee_seal(TEE_POLICY_MRENCLAVE, aad, sizeof aad, e.p, e.len, out + 8, cap - 8, &n);
    if (st == VEIL_OK) {
        veil_put_u64(out, (uint64_t)s->trusted.header.height);
        *out_len = 8 + n;
    }
    if (e.p != NULL) veil_wipe(e.p, e.len);
    veil_wipe(state.p, state.len);
    cmt_buf_free(&e);
    cmt_buf_free(&state);
    return st;
}

static veil_status ensure_state(void)
{
    if (g_lc == NULL) {
        lc_state *s = tee_calloc(1, sizeof *s);
        ENSURE(s != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
        lc_lock();
        if (g_lc == NULL) {
            g_lc = s;
            s = NULL;
        }
        lc_unlock();
        tee_free(s);
    }
    return VEIL_OK;
}

veil_status lc_enclave_init(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                            size_t *out_len)
{
    const size_t head = LC_ENCLAVE_INIT_HEAD;
    ENSURE(in_len > head && in_len - head <= LC_WIRE_MAX, VEIL_ERR_MALFORMED);
    TRY(ensure_state());
    lc_params p = {.trusting_period_ns = (int64_t)veil_get_u64(in + 12),
                   .max_clock_drift_ns = (int64_t)veil_get_u64(in + 20),
                   .trust_num = veil_get_u32(in + 28),
                   .trust_den = veil_get_u32(in + 32)};
    ENSURE(p.trusting_period_ns > 0 && p.max_clock_drift_ns >= 0 && p.trust_den != 0 &&
               p.trust_num <= p.trust_den && 3ull * p.trust_num >= p.trust_den,
           VEIL_ERR_ARG);
    cmt_timestamp now = host_time(in);
    lc_light_block *lb = tee_alloc(sizeof *lb);
    lc_state *fresh = tee_calloc(1, sizeof *fresh);
    veil_status st = lb != NULL && fresh != NULL ? VEIL_OK : VEIL_ERR_TEE_OUT_OF_MEMORY;
    if (st == VEIL_OK) st = lc_light_block_decode(in + head, in_len - head, lb);
    if (st == VEIL_OK) st = lc_state_init(fresh, &p, lb, in + 36, &now);
    if (st == VEIL_OK) {
        lc_lock();
        st = g_lc->initialized ? VEIL_ERR_OUT_OF_ORDER : VEIL_OK; /* once per start */
        if (st == VEIL_OK) st = tee_random(g_counter_id, sizeof g_counter_id);
        if (st == VEIL_OK) {
            memcpy(g_lc, fresh, sizeof *fresh);
            st = seal_out(g_lc, out, out_cap, out_len);
            if (st != VEIL_OK) g_lc->initialized = false;
        }
        lc_unlock();
    }
    tee_free(lb);
    tee_free(fresh);
    return st;
}

veil_status lc_enclave_resume(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                              size_t *out_len)
{
    (void)out, (void)out_cap;
    *out_len = 0;
    ENSURE(in_len > 8 && in_len <= 8 + LC_ENCLAVE_SEALED_MAX, VEIL_ERR_MALFORMED);
    TRY(ensure_state());
    int64_t height = (int64_t)veil_get_u64(in);
    uint8_t aad[AAD_LEN];
    lc_aad(aad, height);
    size_t pt_len = 0, n = 0;
    TRY(tee_sealed_plaintext_len(in + 8, in_len - 8, &pt_len));
    ENSURE(pt_len <= LC_ENCLAVE_SEALED_MAX, VEIL_ERR_MALFORMED);
    uint8_t *pt = tee_alloc(pt_len ? pt_len : 1);
    lc_state *s = tee_calloc(1, sizeof *s);
    veil_status st = pt != NULL && s != NULL ? VEIL_OK : VEIL_ERR_TEE_OUT_OF_MEMORY;
    if (st == VEIL_OK) st = tee_unseal(in + 8, in_len - 8, aad, sizeof aad, pt, pt_len, &n);
    if (st == VEIL_OK && n < COUNTER_HEAD) st = VEIL_ERR_LC_MALFORMED;
    if (st == VEIL_OK) st = lc_state_decode(pt + COUNTER_HEAD, n - COUNTER_HEAD, s);
    if (st == VEIL_OK && s->trusted.header.height != height) st = VEIL_ERR_LC_MALFORMED;
    /* The newest seal carries the counter's current value; an older copy, a lower one. */
    uint64_t now = 0;
    if (st == VEIL_OK) st = tee_counter_read(pt, &now);
    if (st == VEIL_OK && veil_get_u64(pt + TEE_COUNTER_ID_LEN) != now) st = VEIL_ERR_LC_ROLLBACK;
    if (st == VEIL_OK) {
        lc_lock();
        st = g_lc->initialized ? VEIL_ERR_OUT_OF_ORDER : VEIL_OK;
        if (st == VEIL_OK) {
            memcpy(g_lc, s, sizeof *s);
            memcpy(g_counter_id, pt, TEE_COUNTER_ID_LEN);
        }
        lc_unlock();
    }
    if (pt != NULL) veil_wipe(pt, pt_len);
    tee_free(pt);
    tee_free(s);
    return st;
}

veil_status lc_enclave_update(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                              size_t *out_len)
{
    ENSURE(in_len > LC_ENCLAVE_TIME_LEN && in_len - LC_ENCLAVE_TIME_LEN <= LC_WIRE_MAX &&
               out_cap >= 8,
           VEIL_ERR_MALFORMED);
    TRY(ensure_state());
    cmt_timestamp now = host_time(in);
    lc_light_block *lb = tee_alloc(sizeof *lb);
    ENSURE(lb != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    veil_status st =
        lc_light_block_decode(in + LC_ENCLAVE_TIME_LEN, in_len - LC_ENCLAVE_TIME_LEN, lb);
    if (st == VEIL_OK) {
        lc_lock();
        int64_t before = g_lc->trusted.header.height;
        st = g_lc->initialized ? lc_state_update(g_lc, lb, &now) : VEIL_ERR_OUT_OF_ORDER;
        if (st == VEIL_OK && g_lc->trusted.header.height != before) {
            /* Not sealed (the counter store failed): the state in memory is ahead of any
             * seal, which the host learns from the error and retries. */
            st = seal_out(g_lc, out, out_cap, out_len);
        } else if (st == VEIL_OK) {
            veil_put_u64(out, (uint64_t)before);
            *out_len = 8;
        }
        lc_unlock();
    }
    tee_free(lb);
    return st;
}

veil_status lc_enclave_recent(int64_t height, lc_recent *out,
                              char chain_id[static CMT_MAX_CHAIN_ID_LEN + 1])
{
    veil_status st = VEIL_ERR_NOT_FOUND;
    lc_lock();
    if (g_lc != NULL && (st = lc_state_recent(g_lc, height, out)) == VEIL_OK)
        memcpy(chain_id, g_lc->trusted.header.chain_id, CMT_MAX_CHAIN_ID_LEN + 1);
    lc_unlock();
    return st;
}

void lc_enclave_shutdown(void)
{
    lc_lock();
    if (g_lc != NULL) veil_wipe(g_lc, sizeof *g_lc);
    tee_free(g_lc);
    g_lc = NULL;
    lc_unlock();
}
