/* Hexadecimal encoding. Portable. */
#ifndef VEIL_COMMON_HEX_H
#define VEIL_COMMON_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* Writes 2*n lowercase hex digits and a NUL into out (capacity >= 2*n + 1). */
void veil_hex_encode(char *out, const uint8_t *in, size_t n);

/* Decodes exactly `len` hex chars (even, upper or lower case) into out (cap bytes).
 * *out_len receives len/2. VEIL_ERR_BAD_HEX on odd length or a non-hex digit,
 * VEIL_ERR_BUFFER_TOO_SMALL if it does not fit. */
VEIL_MUST_CHECK veil_status veil_hex_decode(uint8_t *out, size_t cap, const char *hex, size_t len,
                                            size_t *out_len);

/* Decodes a hex string that must encode exactly n bytes. */
VEIL_MUST_CHECK veil_status veil_hex_decode_exact(uint8_t *out, size_t n, const char *hex,
                                                  size_t len);

#endif
