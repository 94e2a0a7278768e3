#include "trusted/tx/bloom.h"

#include <string.h>

#include "common/cursor.h"
#include "crypto/crypto.h"

void veil_bloom_clear(veil_bloom *b) { memset(b->bits, 0, sizeof b->bits); }

void veil_bloom_indices(const uint8_t key[static VEIL_BLOOM_KEY_LEN],
                        uint16_t idx[static VEIL_BLOOM_K])
{
    uint8_t h[VEIL_SHA256_LEN];
    veil_sha256_tagged(h, VEIL_BLOOM_TAG, key, VEIL_BLOOM_KEY_LEN);
    for (int i = 0; i < VEIL_BLOOM_K; i++)
        idx[i] = (uint16_t)(veil_get_u16(h + 2 * i) % VEIL_BLOOM_BITS);
}

void veil_bloom_add(veil_bloom *b, const uint8_t key[static VEIL_BLOOM_KEY_LEN])
{
    uint16_t idx[VEIL_BLOOM_K];
    veil_bloom_indices(key, idx);
    for (int i = 0; i < VEIL_BLOOM_K; i++)
        b->bits[idx[i] / 8] |= (uint8_t)(1u << (idx[i] % 8));
}

bool veil_bloom_contains(const veil_bloom *b, const uint8_t key[static VEIL_BLOOM_KEY_LEN])
{
    uint16_t idx[VEIL_BLOOM_K];
    veil_bloom_indices(key, idx);
    for (int i = 0; i < VEIL_BLOOM_K; i++)
        if (!(b->bits[idx[i] / 8] & (1u << (idx[i] % 8)))) return false;
    return true;
}

bool veil_bloom_is_empty(const veil_bloom *b)
{
    uint8_t any = 0;
    for (size_t i = 0; i < sizeof b->bits; i++) any |= b->bits[i];
    return any == 0;
}
