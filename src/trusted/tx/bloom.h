/* The per-block bloom filter of view keys.
 *
 * Each block publishes a 2048-bit filter of the view keys named by its valid
 * confidential txs, so a wallet learns which blocks to query without revealing its key.
 * Portable (enclaves, hosts, wallets); no allocation.
 *
 * Hashing (docs/transactions.md, "Bloom filter"): for a 32-byte view key vk,
 * h = SHA-256 tagged "veil/bloom/v1" over vk; the k = 3 bit indices are the big-endian
 * u16 values of h[0..2], h[2..4] and h[4..6], each mod 2048. Bit i lives in byte i / 8
 * at bit position i % 8 counted from the least significant bit.
 */
#ifndef VEIL_TRUSTED_TX_BLOOM_H
#define VEIL_TRUSTED_TX_BLOOM_H

#include <stdbool.h>
#include <stdint.h>

#define VEIL_BLOOM_BITS 2048
#define VEIL_BLOOM_BYTES (VEIL_BLOOM_BITS / 8)
#define VEIL_BLOOM_K 3
#define VEIL_BLOOM_KEY_LEN 32
#define VEIL_BLOOM_TAG "veil/bloom/v1"

typedef struct veil_bloom {
    uint8_t bits[VEIL_BLOOM_BYTES];
} veil_bloom;

/* All bits zero. */
void veil_bloom_clear(veil_bloom *b);
/* The k bit indices of a key, in order (exposed for tests and other implementations). */
void veil_bloom_indices(const uint8_t key[static VEIL_BLOOM_KEY_LEN],
                        uint16_t idx[static VEIL_BLOOM_K]);
void veil_bloom_add(veil_bloom *b, const uint8_t key[static VEIL_BLOOM_KEY_LEN]);
/* true if the key may have been added (false positives possible, no false negatives). */
bool veil_bloom_contains(const veil_bloom *b, const uint8_t key[static VEIL_BLOOM_KEY_LEN]);
bool veil_bloom_is_empty(const veil_bloom *b);

#endif
