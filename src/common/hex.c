/* Hex for secrets too (seeds, keys): no branch and no table lookup depends on a
 * secret nibble, so the time taken and the cache lines touched say nothing about the
 * bytes (the arithmetic is libsodium's sodium_bin2hex / sodium_hex2bin). Only whether
 * the input is valid hex shows. */
#include "common/hex.h"

/* '0'..'9' for 0..9, 'a'..'f' for 10..15: 87 + v, minus 39 when v < 10. */
static char hex_digit(unsigned v)
{
    return (char)(87u + v + (((v - 10u) >> 8) & ~38u));
}

void veil_hex_encode(char *out, const uint8_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digit((unsigned)in[i] >> 4);
        out[2 * i + 1] = hex_digit((unsigned)in[i] & 0x0fu);
    }
    out[2 * n] = '\0';
}

/* The nibble of a hex digit (either case), or -1. */
static int hex_value(char ch)
{
    unsigned c = (unsigned char)ch;
    unsigned num = c ^ 48u;                                  /* '0'..'9' -> 0..9 */
    unsigned num_ok = (num - 10u) >> 8 & 0xffu;              /* 0xff if num < 10 */
    unsigned alpha = (c & ~32u) - 55u;                       /* 'A'/'a'.. -> 10.. */
    unsigned alpha_ok = ((alpha - 10u) ^ (alpha - 16u)) >> 8 & 0xffu; /* 10 <= alpha < 16 */
    if ((num_ok | alpha_ok) == 0) return -1;
    return (int)((num_ok & num) | (alpha_ok & alpha));
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
