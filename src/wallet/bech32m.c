/* Bech32m: BIP-173's format with BIP-350's checksum constant. */
#include "wallet/bech32m.h"

#include <stdbool.h>
#include <string.h>

#define BECH32M_CONST 0x2bc830a3u

static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t polymod_step(uint32_t chk, uint8_t v)
{
    static const uint32_t gen[5] = {0x3b6a57b2u, 0x26508e6du, 0x1ea119fau, 0x3d4233ddu,
                                    0x2a1462b3u};
    uint8_t top = (uint8_t)(chk >> 25);
    chk = ((chk & 0x1ffffffu) << 5) ^ v;
    for (int i = 0; i < 5; i++)
        if ((top >> i) & 1) chk ^= gen[i];
    return chk;
}

static uint32_t hrp_polymod(const char *hrp, size_t hlen)
{
    uint32_t chk = 1;
    for (size_t i = 0; i < hlen; i++) chk = polymod_step(chk, (uint8_t)hrp[i] >> 5);
    chk = polymod_step(chk, 0);
    for (size_t i = 0; i < hlen; i++) chk = polymod_step(chk, (uint8_t)hrp[i] & 31);
    return chk;
}

static int charset_rev(char c)
{
    const char *p = (c != '\0') ? strchr(charset, c) : NULL;
    return p ? (int)(p - charset) : -1;
}

static veil_status encode_max(char *out, size_t cap, const char *hrp, const uint8_t *data5, size_t n,
                              size_t max_len)
{
    size_t hlen = strlen(hrp);
    ENSURE(hlen >= 1 && hlen <= 83, VEIL_ERR_ARG);
    for (size_t i = 0; i < hlen; i++)
        ENSURE(hrp[i] >= 33 && hrp[i] <= 126 && !(hrp[i] >= 'A' && hrp[i] <= 'Z'), VEIL_ERR_ARG);
    ENSURE(n <= max_len, VEIL_ERR_TOO_LARGE);
    size_t total = hlen + 1 + n + 6;
    ENSURE(total <= max_len, VEIL_ERR_TOO_LARGE);
    ENSURE(cap > total, VEIL_ERR_BUFFER_TOO_SMALL);
    uint32_t chk = hrp_polymod(hrp, hlen);
    memcpy(out, hrp, hlen);
    out[hlen] = '1';
    for (size_t i = 0; i < n; i++) {
        ENSURE(data5[i] < 32, VEIL_ERR_ARG);
        chk = polymod_step(chk, data5[i]);
        out[hlen + 1 + i] = charset[data5[i]];
    }
    for (int i = 0; i < 6; i++) chk = polymod_step(chk, 0);
    chk ^= BECH32M_CONST;
    for (int i = 0; i < 6; i++) out[hlen + 1 + n + (size_t)i] = charset[(chk >> (5 * (5 - i))) & 31];
    out[total] = '\0';
    return VEIL_OK;
}

veil_status bech32m_encode(char *out, size_t cap, const char *hrp, const uint8_t *data5, size_t n)
{
    return encode_max(out, cap, hrp, data5, n, BECH32M_MAX_LEN);
}

static veil_status decode_max(const char *s, size_t len, char *hrp, size_t hrp_cap, uint8_t *data5,
                              size_t data_cap, size_t *n, size_t max_len)
{
    ENSURE(len >= 8 && len <= max_len, VEIL_ERR_MALFORMED);
    bool lower = false, upper = false;
    size_t sep = len;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        ENSURE(c >= 33 && c <= 126, VEIL_ERR_MALFORMED);
        if (c >= 'a' && c <= 'z') lower = true;
        if (c >= 'A' && c <= 'Z') upper = true;
        if (c == '1') sep = i; /* the last '1' separates: HRPs may contain '1' */
    }
    ENSURE(!(lower && upper), VEIL_ERR_MALFORMED);
    ENSURE(sep != len && sep >= 1 && len - sep - 1 >= 6, VEIL_ERR_MALFORMED);
    ENSURE(sep < hrp_cap, VEIL_ERR_BUFFER_TOO_SMALL);
    size_t ndata = len - sep - 1 - 6;
    ENSURE(ndata <= data_cap, VEIL_ERR_BUFFER_TOO_SMALL);
    for (size_t i = 0; i < sep; i++) {
        char c = s[i];
        hrp[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    hrp[sep] = '\0';
    uint32_t chk = hrp_polymod(hrp, sep);
    for (size_t i = sep + 1; i < len; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        int v = charset_rev(c);
        ENSURE(v >= 0, VEIL_ERR_MALFORMED);
        chk = polymod_step(chk, (uint8_t)v);
        if (i - sep - 1 < ndata) data5[i - sep - 1] = (uint8_t)v;
    }
    ENSURE(chk == BECH32M_CONST, VEIL_ERR_MALFORMED);
    *n = ndata;
    return VEIL_OK;
}

veil_status bech32m_decode(const char *s, size_t len, char *hrp, size_t hrp_cap, uint8_t *data5,
                           size_t data_cap, size_t *n)
{
    return decode_max(s, len, hrp, hrp_cap, data5, data_cap, n, BECH32M_MAX_LEN);
}

/* n bytes as 5-bit symbols, most significant first, the last symbol zero-padded
 * (convertbits(bytes, 8, 5, pad=true)). */
static size_t bytes_to5(const uint8_t *in, size_t n, uint8_t *d)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            d[k++] = (acc >> bits) & 31;
        }
        acc &= (1u << bits) - 1;
    }
    if (bits > 0) d[k++] = (uint8_t)((acc << (5 - bits)) & 31);
    return k;
}

/* The inverse for exactly n bytes: the symbol count must be the one bytes_to5 gives and
 * the padding bits zero. */
static bool bytes_from5(const uint8_t *d, size_t nd, uint8_t *out, size_t n)
{
    if (nd != (n * 8 + 4) / 5) return false;
    uint32_t acc = 0;
    int bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < nd; i++) {
        acc = (acc << 5) | d[i];
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (k < n) out[k++] = (uint8_t)(acc >> bits);
        }
        acc &= (1u << bits) - 1;
    }
    return k == n && bits < 5 && acc == 0;
}

veil_status wallet_payment_address_encode(char out[static WALLET_PAY_STR_MAX],
                                          const uint8_t spend[static 32],
                                          const uint8_t view[static 32])
{
    uint8_t both[64], d[103];
    memcpy(both, spend, 32);
    memcpy(both + 32, view, 32);
    size_t n = bytes_to5(both, sizeof both, d);
    return encode_max(out, WALLET_PAY_STR_MAX, WALLET_HRP_PAYMENT, d, n, WALLET_PAY_STR_MAX - 1);
}

veil_status wallet_payment_address_decode(const char *s, uint8_t spend[static 32],
                                          uint8_t view[static 32])
{
    char got[WALLET_PAY_STR_MAX];
    uint8_t d[WALLET_PAY_STR_MAX], both[64];
    size_t n;
    ENSURE(decode_max(s, strlen(s), got, sizeof got, d, sizeof d, &n, WALLET_PAY_STR_MAX - 1) ==
               VEIL_OK,
           VEIL_ERR_WALLET_ADDRESS);
    ENSURE(strcmp(got, WALLET_HRP_PAYMENT) == 0 && bytes_from5(d, n, both, sizeof both),
           VEIL_ERR_WALLET_ADDRESS);
    memcpy(spend, both, 32);
    memcpy(view, both + 32, 32);
    return VEIL_OK;
}

veil_status wallet_key_encode(char out[static WALLET_KEY_STR_MAX], const char *hrp,
                              const uint8_t key[static 32])
{
    uint8_t d[52];
    size_t n = bytes_to5(key, 32, d);
    return bech32m_encode(out, WALLET_KEY_STR_MAX, hrp, d, n);
}

veil_status wallet_key_decode(const char *s, const char *hrp, uint8_t key[static 32])
{
    char got[BECH32M_MAX_LEN];
    uint8_t d[BECH32M_MAX_LEN];
    size_t n;
    ENSURE(bech32m_decode(s, strlen(s), got, sizeof got, d, sizeof d, &n) == VEIL_OK,
           VEIL_ERR_WALLET_ADDRESS);
    /* 52 symbols = 260 bits: 32 bytes and 4 padding bits, which must be zero. */
    ENSURE(strcmp(got, hrp) == 0 && bytes_from5(d, n, key, 32), VEIL_ERR_WALLET_ADDRESS);
    return VEIL_OK;
}
