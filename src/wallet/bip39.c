/* BIP-39 entropy <-> mnemonic (256-bit entropy only). */
#include "wallet/bip39.h"

#include <ctype.h>
#include <string.h>

#include "crypto/crypto.h"

/* Bit i of the 264-bit string entropy || checksum byte. */
static unsigned bit_at(const uint8_t buf[33], size_t i)
{
    return ((unsigned)buf[i / 8] >> (7u - (unsigned)(i % 8))) & 1u;
}

void wallet_mnemonic_from_entropy(char out[static WALLET_MNEMONIC_MAX],
                                  const uint8_t entropy[static 32])
{
    uint8_t buf[33];
    memcpy(buf, entropy, 32);
    uint8_t h[32];
    veil_sha256(h, entropy, 32);
    buf[32] = h[0]; /* 256 / 32 = 8 checksum bits */
    size_t pos = 0;
    for (size_t w = 0; w < WALLET_MNEMONIC_WORDS; w++) {
        unsigned idx = 0;
        for (size_t b = 0; b < 11; b++) idx = (idx << 1) | bit_at(buf, w * 11 + b);
        const char *word = wallet_bip39_english[idx];
        size_t l = strlen(word);
        if (w > 0) out[pos++] = ' ';
        memcpy(out + pos, word, l);
        pos += l;
    }
    out[pos] = '\0';
    veil_wipe(buf, sizeof buf);
}

static int word_index(const char *w, size_t len)
{
    int lo = 0, hi = WALLET_BIP39_WORDS - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const char *m = wallet_bip39_english[mid];
        int c = strncmp(m, w, len);
        if (c == 0 && m[len] != '\0') c = 1; /* m is longer: it sorts after w */
        if (c == 0) return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

veil_status wallet_mnemonic_to_entropy(const char *words, uint8_t entropy[static 32])
{
    uint8_t buf[33] = {0};
    size_t n = 0;
    const char *p = words;
    veil_status st = VEIL_OK;
    for (;;) {
        while (*p != '\0' && isspace((unsigned char)*p)) p++;
        if (*p == '\0') break;
        char w[9];
        size_t len = 0;
        while (*p != '\0' && !isspace((unsigned char)*p)) {
            ENSURE_OUT(len < 8, VEIL_ERR_WALLET_SEED);
            w[len++] = (char)tolower((unsigned char)*p++);
        }
        w[len] = '\0';
        int idx = word_index(w, len);
        ENSURE_OUT(idx >= 0 && n < WALLET_MNEMONIC_WORDS, VEIL_ERR_WALLET_SEED);
        for (size_t b = 0; b < 11; b++)
            if ((idx >> (10 - b)) & 1) buf[(n * 11 + b) / 8] |= (uint8_t)(0x80u >> ((n * 11 + b) % 8));
        n++;
    }
    ENSURE_OUT(n == WALLET_MNEMONIC_WORDS, VEIL_ERR_WALLET_SEED);
    uint8_t h[32];
    veil_sha256(h, buf, 32);
    ENSURE_OUT(h[0] == buf[32], VEIL_ERR_WALLET_SEED);
    memcpy(entropy, buf, 32);
out:
    veil_wipe(buf, sizeof buf);
    return st;
}
