/* Unsigned LEB128 varints (common/varint.h). */
#include "common/varint.h"

size_t veil_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t veil_varint_put(uint8_t out[static 1], uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

veil_status veil_varint_get(const uint8_t *p, size_t len, bool minimal, uint64_t *v, size_t *used)
{
    uint64_t x = 0;
    for (size_t i = 0; i < VEIL_VARINT_MAX_LEN; i++) {
        if (i == len) return VEIL_ERR_TRUNCATED;
        uint8_t b = p[i];
        if (i == VEIL_VARINT_MAX_LEN - 1 && b > 1) return VEIL_ERR_MALFORMED;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            if (minimal && i > 0 && b == 0) return VEIL_ERR_MALFORMED;
            *v = x;
            *used = i + 1;
            return VEIL_OK;
        }
    }
    return VEIL_ERR_MALFORMED;
}
