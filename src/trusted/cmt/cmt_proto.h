/* Minimal protobuf writer and reader with gogoproto's encoding rules, for the
 * encodings CometBFT hashes and signs.
 *
 * Why by hand and not protobuf-c: what CometBFT hashes is the exact byte output of
 * gogoproto, including details a generic encoder may do differently (non-nullable
 * sub-messages are always emitted, even when empty; zero scalars and empty bytes are
 * omitted; negative int32/int64 are 10-byte varints). Writing each field explicitly
 * keeps those rules visible next to the field numbers, and the vectors in
 * tests/devchain_vectors pin them down.
 *
 * Writer: a growable buffer that records allocation failure instead of returning it
 * from every call (check cmt_buf_status once at the end). Reader: a bounded cursor;
 * every read fails with VEIL_ERR_TRUNCATED past the end. Portable: memory comes from
 * cmt_mem_alloc, which the host (malloc, veil_cmt_mem_host) and the enclaves
 * (tee_alloc, veil_cmt_mem_tee) each provide.
 */
#ifndef VEIL_TRUSTED_CMT_PROTO_H
#define VEIL_TRUSTED_CMT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* Provided by exactly one of cmt_mem_host.c / cmt_mem_tee.c. */
void *cmt_mem_alloc(size_t n);
void cmt_mem_free(void *p);

enum { PB_WT_VARINT = 0, PB_WT_FIXED64 = 1, PB_WT_LEN = 2, PB_WT_FIXED32 = 5 };

typedef struct cmt_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
    bool oom;
    bool fixed; /* p is the caller's storage of cap bytes: never grown nor freed */
} cmt_buf;

/* A buffer over the caller's storage (an overflow sets oom instead of growing). */
static inline cmt_buf cmt_buf_fixed(uint8_t *p, size_t cap)
{
    cmt_buf b = {p, 0, cap, false, true};
    return b;
}

/* Zero-initialise a cmt_buf before use; free with cmt_buf_free. */
void cmt_buf_free(cmt_buf *b);
/* Keeps the allocation, forgets the content (and a previous failure). */
void cmt_buf_reset(cmt_buf *b);
/* VEIL_ERR_NOMEM if any append failed since the last reset. */
VEIL_MUST_CHECK veil_status cmt_buf_status(const cmt_buf *b);

void cmt_buf_put(cmt_buf *b, const void *p, size_t n);
void cmt_buf_varint(cmt_buf *b, uint64_t v);

/* Fields. The "omit" rules are proto3's: a zero scalar or empty bytes/string is not
 * written. */
void pb_put_uint(cmt_buf *b, unsigned field, uint64_t v);   /* uint32/uint64/enum */
void pb_put_int(cmt_buf *b, unsigned field, int64_t v);     /* int32/int64 */
void pb_put_sfixed64(cmt_buf *b, unsigned field, int64_t v);
void pb_put_bytes(cmt_buf *b, unsigned field, const void *p, size_t n);
/* Always written, also when empty: elements of repeated bytes, non-nullable messages. */
void pb_put_bytes_always(cmt_buf *b, unsigned field, const void *p, size_t n);
/* A sub-message already encoded in sub (always written). */
void pb_put_msg(cmt_buf *b, unsigned field, const cmt_buf *sub);

typedef struct pb_reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
} pb_reader;

static inline pb_reader pb_reader_init(const uint8_t *p, size_t len)
{
    pb_reader r = {p, len, 0};
    return r;
}
static inline bool pb_reader_done(const pb_reader *r) { return r->pos >= r->len; }

/* VEIL_ERR_MALFORMED for a varint longer than 10 bytes or above 64 bits, a field
 * number 0, or a wire type we do not know. */
VEIL_MUST_CHECK veil_status pb_read_varint(pb_reader *r, uint64_t *v);
VEIL_MUST_CHECK veil_status pb_read_tag(pb_reader *r, uint32_t *field, unsigned *wire_type);
VEIL_MUST_CHECK veil_status pb_read_len(pb_reader *r, const uint8_t **p, size_t *n);
VEIL_MUST_CHECK veil_status pb_read_fixed64(pb_reader *r, uint64_t *v);
/* Skips one field's value of the given wire type. */
VEIL_MUST_CHECK veil_status pb_skip(pb_reader *r, unsigned wire_type);

#endif
