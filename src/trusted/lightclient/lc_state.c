/* An enclave's light-client state (lc_state.h). */
#include "trusted/lightclient/lc_state.h"

#include <string.h>

#include "common/cursor.h"
#include "trusted/cmt/cmt_hash.h"
#include "trusted/lightclient/lc_wire.h"

static void advance_now(lc_state *s, const cmt_timestamp *t)
{
    if (cmt_timestamp_cmp(t, &s->now) > 0) s->now = *t;
}

static void remember(lc_state *s, const cmt_header *h, const uint8_t hash[static CMT_HASH_LEN])
{
    size_t slot;
    if (s->n_recent < LC_RECENT) {
        slot = (s->first + s->n_recent++) % LC_RECENT;
    } else {
        slot = s->first;
        s->first = (s->first + 1) % LC_RECENT;
    }
    lc_recent *r = &s->recent[slot];
    r->height = h->height;
    memcpy(r->hash, hash, CMT_HASH_LEN);
    memcpy(r->validators_hash, h->validators_hash.b, CMT_HASH_LEN); /* checked: 32 bytes */
    r->app_hash_len = h->app_hash.len;
    memcpy(r->app_hash, h->app_hash.b, h->app_hash.len);
    r->time = h->time;
}

static const lc_recent *find(const lc_state *s, int64_t height)
{
    for (size_t i = 0; i < s->n_recent; i++) {
        const lc_recent *r = &s->recent[(s->first + i) % LC_RECENT];
        if (r->height == height) return r;
    }
    return NULL;
}

/* The block stands on its own: valid signed header of this chain, its set hashing to
 * its header's, > 2/3 of that set signing. */
static veil_status self_consistent(const lc_light_block *lb, const char *chain_id)
{
    TRY(lc_signed_header_check(&lb->header, &lb->commit, chain_id));
    TRY(lc_validator_set_check(&lb->vals));
    uint8_t vh[CMT_HASH_LEN];
    TRY(lc_validator_set_hash(&lb->vals, vh));
    ENSURE(lb->header.validators_hash.len == CMT_HASH_LEN &&
               memcmp(vh, lb->header.validators_hash.b, CMT_HASH_LEN) == 0,
           VEIL_ERR_LC_VALSET_HASH);
    return lc_verify_commit_light(chain_id, &lb->vals, &lb->commit.block_id, lb->header.height,
                                  &lb->commit);
}

veil_status lc_state_init(lc_state *s, const lc_params *p, const lc_light_block *lb,
                          const uint8_t trusted_hash[static CMT_HASH_LEN],
                          const cmt_timestamp *host_now)
{
    s->initialized = false;
    uint8_t h[CMT_HASH_LEN];
    TRY(self_consistent(lb, lb->header.chain_id));
    TRY(cmt_header_hash(&lb->header, h));
    ENSURE(memcmp(h, trusted_hash, CMT_HASH_LEN) == 0, VEIL_ERR_LC_TRUST_HASH);
    s->params = *p;
    s->now = lb->header.time;
    advance_now(s, host_now);
    ENSURE(!lc_header_expired(&lb->header, p, &s->now), VEIL_ERR_LC_EXPIRED);
    memcpy(&s->trusted, lb, sizeof *lb);
    s->n_recent = s->first = 0;
    remember(s, &lb->header, h);
    s->initialized = true;
    return VEIL_OK;
}

veil_status lc_state_update(lc_state *s, const lc_light_block *lb, const cmt_timestamp *host_now)
{
    ENSURE(s->initialized, VEIL_ERR_OUT_OF_ORDER);
    advance_now(s, host_now);
    const lc_recent *known = find(s, lb->header.height);
    if (known != NULL || lb->header.height <= s->trusted.header.height) {
        uint8_t h[CMT_HASH_LEN];
        /* An older height than the ring holds: it cannot be compared; refuse it. */
        ENSURE(known != NULL, VEIL_ERR_LC_HEIGHT);
        TRY(cmt_header_hash(&lb->header, h));
        if (memcmp(h, known->hash, CMT_HASH_LEN) == 0) return VEIL_OK;
        /* Another header at a verified height. If the validators of that height signed
         * it too, they equivocated: the chain forked. Refuse, never switch. */
        if (lb->header.validators_hash.len == CMT_HASH_LEN &&
            memcmp(lb->header.validators_hash.b, known->validators_hash, CMT_HASH_LEN) == 0 &&
            self_consistent(lb, s->trusted.header.chain_id) == VEIL_OK)
            return VEIL_ERR_LC_FORK;
        return VEIL_ERR_LC_HEIGHT;
    }
    TRY(lc_verify(&s->trusted.header, &s->trusted.vals, lb, &s->params, &s->now));
    uint8_t h[CMT_HASH_LEN];
    TRY(cmt_header_hash(&lb->header, h));
    memcpy(&s->trusted, lb, sizeof *lb);
    remember(s, &lb->header, h);
    advance_now(s, &lb->header.time);
    return VEIL_OK;
}

veil_status lc_state_recent(const lc_state *s, int64_t height, lc_recent *out)
{
    const lc_recent *r = s->initialized ? find(s, height) : NULL;
    ENSURE(r != NULL, VEIL_ERR_NOT_FOUND);
    *out = *r;
    return VEIL_OK;
}

veil_status lc_state_app_hash(const lc_state *s, int64_t height,
                              uint8_t out[static CMT_MAX_HASH_LEN], size_t *len)
{
    const lc_recent *r = s->initialized ? find(s, height) : NULL;
    ENSURE(r != NULL, VEIL_ERR_NOT_FOUND);
    memcpy(out, r->app_hash, r->app_hash_len);
    *len = r->app_hash_len;
    return VEIL_OK;
}

/* --- serialization ------------------------------------------------------------------ */
#define LC_STATE_VERSION 2u
#define RECENT_LEN (8u + 2u * CMT_HASH_LEN + 1u + CMT_MAX_HASH_LEN + 12u)

veil_status lc_state_encode(const lc_state *s, cmt_buf *out)
{
    ENSURE(s->initialized, VEIL_ERR_OUT_OF_ORDER);
    cmt_buf lb = {0};
    TRY(lc_light_block_encode(&s->trusted, &lb));
    uint8_t head[4 + 4 + 8 + 8 + 4 + 4 + 8 + 4 + 4 + 4];
    size_t n = 0;
    memcpy(head, LC_STATE_MAGIC, 4), n += 4;
    veil_put_u32(head + n, LC_STATE_VERSION), n += 4;
    veil_put_u64(head + n, (uint64_t)s->params.trusting_period_ns), n += 8;
    veil_put_u64(head + n, (uint64_t)s->params.max_clock_drift_ns), n += 8;
    veil_put_u32(head + n, s->params.trust_num), n += 4;
    veil_put_u32(head + n, s->params.trust_den), n += 4;
    veil_put_u64(head + n, (uint64_t)s->now.seconds), n += 8;
    veil_put_u32(head + n, (uint32_t)s->now.nanos), n += 4;
    veil_put_u32(head + n, (uint32_t)lb.len), n += 4;
    veil_put_u32(head + n, (uint32_t)s->n_recent), n += 4;
    memset(out, 0, sizeof *out);
    cmt_buf_put(out, head, n);
    cmt_buf_put(out, lb.p, lb.len);
    for (size_t i = 0; i < s->n_recent; i++) {
        const lc_recent *r = &s->recent[(s->first + i) % LC_RECENT];
        uint8_t rec[RECENT_LEN] = {0};
        veil_put_u64(rec, (uint64_t)r->height);
        memcpy(rec + 8, r->hash, CMT_HASH_LEN);
        memcpy(rec + 8 + CMT_HASH_LEN, r->validators_hash, CMT_HASH_LEN);
        rec[8 + 2 * CMT_HASH_LEN] = r->app_hash_len;
        memcpy(rec + 9 + 2 * CMT_HASH_LEN, r->app_hash, r->app_hash_len);
        veil_put_u64(rec + RECENT_LEN - 12, (uint64_t)r->time.seconds);
        veil_put_u32(rec + RECENT_LEN - 4, (uint32_t)r->time.nanos);
        cmt_buf_put(out, rec, sizeof rec);
    }
    cmt_buf_free(&lb);
    veil_status st = cmt_buf_status(out);
    if (st != VEIL_OK) cmt_buf_free(out);
    return st;
}

veil_status lc_state_decode(const uint8_t *in, size_t len, lc_state *s)
{
    const size_t head = 52;
    s->initialized = false;
    ENSURE(len >= head && memcmp(in, LC_STATE_MAGIC, 4) == 0 &&
               veil_get_u32(in + 4) == LC_STATE_VERSION,
           VEIL_ERR_LC_MALFORMED);
    s->params.trusting_period_ns = (int64_t)veil_get_u64(in + 8);
    s->params.max_clock_drift_ns = (int64_t)veil_get_u64(in + 16);
    s->params.trust_num = veil_get_u32(in + 24);
    s->params.trust_den = veil_get_u32(in + 28);
    s->now.seconds = (int64_t)veil_get_u64(in + 32);
    s->now.nanos = (int32_t)veil_get_u32(in + 40);
    uint32_t lb_len = veil_get_u32(in + 44), n_recent = veil_get_u32(in + 48);
    ENSURE(s->params.trusting_period_ns > 0 && s->params.max_clock_drift_ns >= 0 &&
               s->params.trust_den != 0 && s->params.trust_num <= s->params.trust_den &&
               3ull * s->params.trust_num >= s->params.trust_den && s->now.nanos >= 0 &&
               s->now.nanos < 1000000000 && n_recent >= 1 && n_recent <= LC_RECENT &&
               lb_len <= LC_WIRE_MAX && len == head + lb_len + (size_t)n_recent * RECENT_LEN,
           VEIL_ERR_LC_MALFORMED);
    TRY(lc_light_block_decode(in + head, lb_len, &s->trusted));
    ENSURE(self_consistent(&s->trusted, s->trusted.header.chain_id) == VEIL_OK,
           VEIL_ERR_LC_MALFORMED);
    s->first = 0;
    s->n_recent = n_recent;
    const uint8_t *p = in + head + lb_len;
    for (size_t i = 0; i < n_recent; i++, p += RECENT_LEN) {
        lc_recent *r = &s->recent[i];
        r->height = (int64_t)veil_get_u64(p);
        memcpy(r->hash, p + 8, CMT_HASH_LEN);
        memcpy(r->validators_hash, p + 8 + CMT_HASH_LEN, CMT_HASH_LEN);
        r->app_hash_len = p[8 + 2 * CMT_HASH_LEN];
        ENSURE(r->app_hash_len <= CMT_MAX_HASH_LEN && (i == 0 || r->height > s->recent[i - 1].height),
               VEIL_ERR_LC_MALFORMED);
        memcpy(r->app_hash, p + 9 + 2 * CMT_HASH_LEN, r->app_hash_len);
        r->time.seconds = (int64_t)veil_get_u64(p + RECENT_LEN - 12);
        r->time.nanos = (int32_t)veil_get_u32(p + RECENT_LEN - 4);
        ENSURE(r->time.nanos >= 0 && r->time.nanos < 1000000000 &&
                   (i == 0 || cmt_timestamp_cmp(&r->time, &s->recent[i - 1].time) > 0),
               VEIL_ERR_LC_MALFORMED);
    }
    /* The newest remembered height is the trusted block's, with its hash. */
    uint8_t h[CMT_HASH_LEN];
    TRY(cmt_header_hash(&s->trusted.header, h));
    const lc_recent *last = &s->recent[n_recent - 1];
    ENSURE(last->height == s->trusted.header.height && memcmp(last->hash, h, CMT_HASH_LEN) == 0 &&
               cmt_timestamp_cmp(&last->time, &s->trusted.header.time) == 0,
           VEIL_ERR_LC_MALFORMED);
    s->initialized = true;
    return VEIL_OK;
}
