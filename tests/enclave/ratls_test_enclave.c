/* A test enclave serving attested TLS: an echo server over ratls_session. The host
 * only shuttles bytes between a socket and RT_FEED. */
#include <stdatomic.h>
#include <string.h>

#include "common/cursor.h"
#include "ratls_test_enclave.h"
#include "tee/tee.h"
#include "trusted/ratls/ratls_server.h"

static atomic_flag g_lock = ATOMIC_FLAG_INIT;
static ratls_identity *g_id;
static ratls_session *g_sessions[RT_MAX_SESSIONS];

static void lock(void)
{
    while (atomic_flag_test_and_set_explicit(&g_lock, memory_order_acquire)) {
    }
}
static void unlock(void) { atomic_flag_clear_explicit(&g_lock, memory_order_release); }

static veil_status read_u64_exact(const uint8_t *in, size_t in_len, uint64_t *v)
{
    veil_reader r = veil_reader_init(in, in_len);
    TRY(veil_read_u64(&r, v));
    return veil_reader_finish(&r);
}

static veil_status copy_cert(uint8_t *out, size_t out_cap, size_t *out_len)
{
    ENSURE(g_id != NULL, VEIL_ERR_OUT_OF_ORDER);
    const uint8_t *der;
    size_t len;
    ratls_identity_cert_der(g_id, &der, &len);
    ENSURE(len <= out_cap, VEIL_ERR_BUFFER_TOO_SMALL);
    memcpy(out, der, len);
    *out_len = len;
    return VEIL_OK;
}

static veil_status rt_create(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                             size_t *out_len)
{
    uint64_t now;
    TRY(read_u64_exact(in, in_len, &now));
    ratls_identity *id;
    TRY(ratls_identity_create(now, &id));
    lock();
    ratls_identity_free(g_id); /* open sessions keep their own reference */
    g_id = id;
    veil_status st = copy_cert(out, out_cap, out_len);
    unlock();
    return st;
}

static veil_status rt_cert(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                           size_t *out_len)
{
    (void)in, (void)in_len;
    lock();
    veil_status st = copy_cert(out, out_cap, out_len);
    unlock();
    return st;
}

static veil_status rt_new_session(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                                  size_t *out_len)
{
    (void)in, (void)in_len;
    ENSURE(out_cap >= 4, VEIL_ERR_BUFFER_TOO_SMALL);
    veil_status st = VEIL_ERR_LIMIT;
    lock();
    for (uint32_t i = 0; i < RT_MAX_SESSIONS; i++) {
        if (g_sessions[i] != NULL) continue;
        st = g_id == NULL ? VEIL_ERR_OUT_OF_ORDER : ratls_session_new(g_id, &g_sessions[i]);
        if (st == VEIL_OK) {
            veil_put_u32(out, i);
            *out_len = 4;
        }
        break;
    }
    unlock();
    return st;
}

static veil_status slot_of(veil_reader *r, uint32_t *slot)
{
    TRY(veil_read_u32(r, slot));
    ENSURE(*slot < RT_MAX_SESSIONS && g_sessions[*slot] != NULL, VEIL_ERR_NOT_FOUND);
    return VEIL_OK;
}

/* Feeds the bytes, echoes any plaintext received, and moves out what is queued. */
static veil_status rt_feed(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                           size_t *out_len)
{
    ENSURE(out_cap >= 1, VEIL_ERR_BUFFER_TOO_SMALL);
    veil_reader r = veil_reader_init(in, in_len);
    uint32_t slot;
    lock();
    veil_status st = slot_of(&r, &slot);
    if (st != VEIL_OK) {
        unlock();
        return st;
    }
    ratls_session *s = g_sessions[slot];
    size_t n = 0;
    st = ratls_session_feed(s, in + r.pos, veil_reader_left(&r), out + 1, out_cap - 1, &n);
    if (st == VEIL_OK && ratls_session_handshake_done(s)) {
        uint8_t buf[4096];
        size_t got;
        do {
            st = ratls_session_read(s, buf, sizeof buf, &got);
            if (st == VEIL_OK && got > 0) st = ratls_session_write(s, buf, got);
        } while (st == VEIL_OK && got > 0);
        size_t more = 0;
        if (st == VEIL_OK || st == VEIL_ERR_AUTH) {
            veil_status fst = ratls_session_feed(s, NULL, 0, out + 1 + n, out_cap - 1 - n, &more);
            if (st == VEIL_OK) st = fst;
        }
        n += more;
        memset(buf, 0, sizeof buf);
    }
    if (st == VEIL_ERR_RATLS_HANDSHAKE || st == VEIL_ERR_AUTH) st = VEIL_OK; /* alert in out */
    out[0] = (uint8_t)((ratls_session_closed(s) ? RT_FLAG_CLOSED : 0) |
                       (ratls_session_pending_out(s) > 0 ? RT_FLAG_MORE : 0) |
                       (ratls_session_handshake_done(s) ? RT_FLAG_HANDSHAKE_DONE : 0));
    *out_len = 1 + n;
    unlock();
    return st;
}

static veil_status rt_free_session(const uint8_t *in, size_t in_len, uint8_t *out,
                                   size_t out_cap, size_t *out_len)
{
    (void)out, (void)out_cap;
    veil_reader r = veil_reader_init(in, in_len);
    uint32_t slot;
    lock();
    veil_status st = slot_of(&r, &slot);
    if (st == VEIL_OK) {
        ratls_session_free(g_sessions[slot]);
        g_sessions[slot] = NULL;
        *out_len = 0;
    }
    unlock();
    return st;
}

static veil_status rt_needs_renewal(const uint8_t *in, size_t in_len, uint8_t *out,
                                    size_t out_cap, size_t *out_len)
{
    uint64_t now;
    TRY(read_u64_exact(in, in_len, &now));
    ENSURE(out_cap >= 1, VEIL_ERR_BUFFER_TOO_SMALL);
    lock();
    out[0] = ratls_identity_needs_renewal(g_id, now) ? 1 : 0;
    unlock();
    *out_len = 1;
    return VEIL_OK;
}

/* The sim does not reclaim an enclave's heap at unload: the host resets first. */
static veil_status rt_reset(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                            size_t *out_len)
{
    (void)in, (void)in_len, (void)out, (void)out_cap;
    lock();
    for (size_t i = 0; i < RT_MAX_SESSIONS; i++) {
        ratls_session_free(g_sessions[i]);
        g_sessions[i] = NULL;
    }
    ratls_identity_free(g_id);
    g_id = NULL;
    unlock();
    *out_len = 0;
    return VEIL_OK;
}

TEE_ENCLAVE_DEFINE(NULL, rt_create, rt_cert, rt_new_session, rt_feed, rt_free_session,
                   rt_needs_renewal, rt_reset);
