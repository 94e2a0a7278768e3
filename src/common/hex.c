#include "common/hex.h"

void veil_hex_encode(char *out, const uint8_t *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

veil_status veil_hex_decode(uint8_t *out, size_t cap, const char *hex, size_t len, size_t *out_len)
{
    ENSURE(len % 2 == 0, VEIL_ERR_BAD_HEX);
    ENSURE(len / 2 <= cap, VEIL_ERR_BUFFER_TOO_SMALL);
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        ENSURE(hi >= 0 && lo >= 0, VEIL_ERR_BAD_HEX);
        out[i] = (uint8_t)((hi << 4) | lo);
    }
    *out_len = len / 2;
    return VEIL_OK;
}

veil_status veil_hex_decode_exact(uint8_t *out, size_t n, const char *hex, size_t len)
{
    size_t got;
    ENSURE(len == 2 * n, VEIL_ERR_BAD_HEX);
    return veil_hex_decode(out, n, hex, len, &got);
}
