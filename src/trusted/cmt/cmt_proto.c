#include "trusted/cmt/cmt_proto.h"

#include <string.h>

#include "common/varint.h"

void cmt_buf_free(cmt_buf *b)
{
    if (!b->fixed) cmt_mem_free(b->p);
    memset(b, 0, sizeof *b);
}

void cmt_buf_reset(cmt_buf *b)
{
    b->len = 0;
    b->oom = false;
}

veil_status cmt_buf_status(const cmt_buf *b) { return b->oom ? VEIL_ERR_NOMEM : VEIL_OK; }

static bool buf_reserve(cmt_buf *b, size_t n)
{
    if (b->oom) return false;
    size_t need;
    if (__builtin_add_overflow(b->len, n, &need)) {
        b->oom = true;
        return false;
    }
    if (need <= b->cap) return true;
    if (b->fixed) {
        b->oom = true;
        return false;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    uint8_t *p = cmt_mem_alloc(cap);
    if (p == NULL) {
        b->oom = true;
        return false;
    }
    if (b->len > 0) memcpy(p, b->p, b->len);
    cmt_mem_free(b->p);
    b->p = p;
    b->cap = cap;
    return true;
}

void cmt_buf_put(cmt_buf *b, const void *p, size_t n)
{
    if (n == 0 || !buf_reserve(b, n)) return;
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void cmt_buf_varint(cmt_buf *b, uint64_t v)
{
    uint8_t tmp[VEIL_VARINT_MAX_LEN];
    cmt_buf_put(b, tmp, veil_varint_put(tmp, v));
}

static void put_tag(cmt_buf *b, unsigned field, unsigned wt)
{
    cmt_buf_varint(b, ((uint64_t)field << 3) | wt);
}

void pb_put_uint(cmt_buf *b, unsigned field, uint64_t v)
{
    if (v == 0) return;
    put_tag(b, field, PB_WT_VARINT);
    cmt_buf_varint(b, v);
}

void pb_put_int(cmt_buf *b, unsigned field, int64_t v)
{
    /* Protobuf int32/int64: the two's complement value as a uint64 varint, so a
     * negative number always takes 10 bytes (int32 is sign-extended first). */
    if (v == 0) return;
    put_tag(b, field, PB_WT_VARINT);
    cmt_buf_varint(b, (uint64_t)v);
}

void pb_put_sfixed64(cmt_buf *b, unsigned field, int64_t v)
{
    if (v == 0) return;
    put_tag(b, field, PB_WT_FIXED64);
    uint64_t u = (uint64_t)v;
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(u >> (8 * i));
    cmt_buf_put(b, le, sizeof le);
}

void pb_put_bytes_always(cmt_buf *b, unsigned field, const void *p, size_t n)
{
    put_tag(b, field, PB_WT_LEN);
    cmt_buf_varint(b, n);
    cmt_buf_put(b, p, n);
}

void pb_put_bytes(cmt_buf *b, unsigned field, const void *p, size_t n)
{
    if (n == 0) return;
    pb_put_bytes_always(b, field, p, n);
}

void pb_put_msg(cmt_buf *b, unsigned field, const cmt_buf *sub)
{
    if (sub->oom) {
        b->oom = true;
        return;
    }
    pb_put_bytes_always(b, field, sub->p, sub->len);
}

veil_status pb_read_varint(pb_reader *r, uint64_t *v)
{
    size_t used;
    TRY(veil_varint_get(r->p + r->pos, r->len - r->pos, false, v, &used));
    r->pos += used;
    return VEIL_OK;
}

veil_status pb_read_tag(pb_reader *r, uint32_t *field, unsigned *wire_type)
{
    uint64_t t;
    size_t save = r->pos;
    veil_status st = pb_read_varint(r, &t);
    if (st != VEIL_OK) return st;
    unsigned wt = (unsigned)(t & 7);
    uint64_t f = t >> 3;
    if (f == 0 || f > 0x1fffffff ||
        (wt != PB_WT_VARINT && wt != PB_WT_FIXED64 && wt != PB_WT_LEN && wt != PB_WT_FIXED32)) {
        r->pos = save;
        return VEIL_ERR_MALFORMED;
    }
    *field = (uint32_t)f;
    *wire_type = wt;
    return VEIL_OK;
}

veil_status pb_read_len(pb_reader *r, const uint8_t **p, size_t *n)
{
    size_t save = r->pos;
    uint64_t len;
    veil_status st = pb_read_varint(r, &len);
    if (st != VEIL_OK) return st;
    if (len > r->len - r->pos) {
        r->pos = save;
        return VEIL_ERR_TRUNCATED;
    }
    *p = r->p + r->pos;
    *n = (size_t)len;
    r->pos += (size_t)len;
    return VEIL_OK;
}

veil_status pb_read_fixed64(pb_reader *r, uint64_t *v)
{
    if (r->len - r->pos < 8) return VEIL_ERR_TRUNCATED;
    uint64_t out = 0;
    for (int i = 0; i < 8; i++) out |= (uint64_t)r->p[r->pos + (size_t)i] << (8 * i);
    r->pos += 8;
    *v = out;
    return VEIL_OK;
}

veil_status pb_skip(pb_reader *r, unsigned wire_type)
{
    uint64_t v;
    const uint8_t *p;
    size_t n;
    switch (wire_type) {
    case PB_WT_VARINT:
        return pb_read_varint(r, &v);
    case PB_WT_FIXED64:
        return pb_read_fixed64(r, &v);
    case PB_WT_LEN:
        return pb_read_len(r, &p, &n);
    case PB_WT_FIXED32:
        if (r->len - r->pos < 4) return VEIL_ERR_TRUNCATED;
        r->pos += 4;
        return VEIL_OK;
    default:
        return VEIL_ERR_MALFORMED;
    }
}
