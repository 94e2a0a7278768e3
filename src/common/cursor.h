/* Bounded cursors over untrusted bytes (reader) and fixed-capacity output (writer).
 *
 * Every read fails with VEIL_ERR_TRUNCATED past the end and leaves the cursor where it
 * was; a message must be consumed exactly (veil_reader_finish fails on trailing bytes).
 * Integers are big-endian. Writers fail with VEIL_ERR_BUFFER_TOO_SMALL and never write
 * past their capacity. Portable: used by the trusted core and by hosts.
 */
#ifndef VEIL_COMMON_CURSOR_H
#define VEIL_COMMON_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

typedef struct veil_reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
} veil_reader;

typedef struct veil_writer {
    uint8_t *p;
    size_t cap;
    size_t len;
} veil_writer;

static inline veil_reader veil_reader_init(const uint8_t *p, size_t len)
{
    veil_reader r = {p, len, 0};
    return r;
}

static inline size_t veil_reader_left(const veil_reader *r) { return r->len - r->pos; }

VEIL_MUST_CHECK veil_status veil_read_u8(veil_reader *r, uint8_t *out);
VEIL_MUST_CHECK veil_status veil_read_u16(veil_reader *r, uint16_t *out);
VEIL_MUST_CHECK veil_status veil_read_u32(veil_reader *r, uint32_t *out);
VEIL_MUST_CHECK veil_status veil_read_u64(veil_reader *r, uint64_t *out);
/* Copies n bytes into out. */
VEIL_MUST_CHECK veil_status veil_read_bytes(veil_reader *r, void *out, size_t n);
/* Points *view at the next n bytes (no copy) and advances. */
VEIL_MUST_CHECK veil_status veil_read_view(veil_reader *r, size_t n, const uint8_t **view);
/* VEIL_ERR_TRAILING unless every byte was consumed. */
VEIL_MUST_CHECK veil_status veil_reader_finish(const veil_reader *r);

static inline veil_writer veil_writer_init(uint8_t *p, size_t cap)
{
    veil_writer w = {p, cap, 0};
    return w;
}

VEIL_MUST_CHECK veil_status veil_write_u8(veil_writer *w, uint8_t v);
VEIL_MUST_CHECK veil_status veil_write_u16(veil_writer *w, uint16_t v);
VEIL_MUST_CHECK veil_status veil_write_u32(veil_writer *w, uint32_t v);
VEIL_MUST_CHECK veil_status veil_write_u64(veil_writer *w, uint64_t v);
VEIL_MUST_CHECK veil_status veil_write_bytes(veil_writer *w, const void *p, size_t n);

/* Big-endian helpers for fixed layouts. */
static inline void veil_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void veil_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void veil_put_u64(uint8_t *p, uint64_t v)
{
    veil_put_u32(p, (uint32_t)(v >> 32));
    veil_put_u32(p + 4, (uint32_t)v);
}
static inline uint16_t veil_get_u16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t veil_get_u32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t veil_get_u64(const uint8_t *p)
{
    return ((uint64_t)veil_get_u32(p) << 32) | veil_get_u32(p + 4);
}

/* Overflow-checked size arithmetic. */
static inline int veil_add_overflows(size_t a, size_t b, size_t *out)
{
    return __builtin_add_overflow(a, b, out);
}

#endif
