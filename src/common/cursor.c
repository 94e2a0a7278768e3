#include "common/cursor.h"

#include <string.h>

veil_status veil_read_view(veil_reader *r, size_t n, const uint8_t **view)
{
    ENSURE(n <= r->len - r->pos, VEIL_ERR_TRUNCATED);
    *view = r->p + r->pos;
    r->pos += n;
    return VEIL_OK;
}

veil_status veil_read_bytes(veil_reader *r, void *out, size_t n)
{
    const uint8_t *v;
    TRY(veil_read_view(r, n, &v));
    if (n > 0) memcpy(out, v, n);
    return VEIL_OK;
}

veil_status veil_read_u8(veil_reader *r, uint8_t *out)
{
    const uint8_t *v;
    TRY(veil_read_view(r, 1, &v));
    *out = v[0];
    return VEIL_OK;
}

veil_status veil_read_u16(veil_reader *r, uint16_t *out)
{
    const uint8_t *v;
    TRY(veil_read_view(r, 2, &v));
    *out = veil_get_u16(v);
    return VEIL_OK;
}

veil_status veil_read_u32(veil_reader *r, uint32_t *out)
{
    const uint8_t *v;
    TRY(veil_read_view(r, 4, &v));
    *out = veil_get_u32(v);
    return VEIL_OK;
}

veil_status veil_read_u64(veil_reader *r, uint64_t *out)
{
    const uint8_t *v;
    TRY(veil_read_view(r, 8, &v));
    *out = veil_get_u64(v);
    return VEIL_OK;
}

veil_status veil_reader_finish(const veil_reader *r)
{
    return r->pos == r->len ? VEIL_OK : VEIL_ERR_TRAILING;
}

veil_status veil_write_bytes(veil_writer *w, const void *p, size_t n)
{
    ENSURE(n <= w->cap - w->len, VEIL_ERR_BUFFER_TOO_SMALL);
    if (n > 0) memcpy(w->p + w->len, p, n);
    w->len += n;
    return VEIL_OK;
}

veil_status veil_write_u8(veil_writer *w, uint8_t v) { return veil_write_bytes(w, &v, 1); }

veil_status veil_write_u16(veil_writer *w, uint16_t v)
{
    uint8_t b[2];
    veil_put_u16(b, v);
    return veil_write_bytes(w, b, sizeof b);
}

veil_status veil_write_u32(veil_writer *w, uint32_t v)
{
    uint8_t b[4];
    veil_put_u32(b, v);
    return veil_write_bytes(w, b, sizeof b);
}

veil_status veil_write_u64(veil_writer *w, uint64_t v)
{
    uint8_t b[8];
    veil_put_u64(b, v);
    return veil_write_bytes(w, b, sizeof b);
}
