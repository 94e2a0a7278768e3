/* Unsigned LEB128 varints as protobuf and CometBFT's length prefixes use them. One codec
 * for every encoder and decoder (hosts and the trusted core). Portable; no allocation. */
#ifndef VEIL_COMMON_VARINT_H
#define VEIL_COMMON_VARINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define VEIL_VARINT_MAX_LEN 10

/* Bytes v takes (1..10). */
size_t veil_varint_len(uint64_t v);
/* Writes v (veil_varint_len(v) bytes) and returns how many. */
size_t veil_varint_put(uint8_t out[static 1], uint64_t v);
/* Reads a varint from p[0..len): *v and the bytes *used. As Go's binary.Uvarint: the
 * 10th byte may only carry bit 63. VEIL_ERR_TRUNCATED if p ends inside it,
 * VEIL_ERR_MALFORMED if it overflows 64 bits, or, with `minimal`, if it has a
 * redundant trailing zero group (a non-canonical encoding). */
VEIL_MUST_CHECK veil_status veil_varint_get(const uint8_t *p, size_t len, bool minimal, uint64_t *v,
                                            size_t *used);

#endif
