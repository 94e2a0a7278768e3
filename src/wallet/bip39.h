/* BIP-39 English mnemonics for 256-bit entropy (24 words).
 *
 * Only the entropy <-> words mapping of BIP-39 is used: the words encode the wallet's
 * 32-byte master seed itself (entropy || first byte of SHA-256(entropy) as checksum,
 * split into 24 11-bit indices). BIP-39's PBKDF2 "seed" derivation is NOT applied, so
 * these words restore a Veil wallet but mean something else to a Bitcoin wallet.
 */
#ifndef VEIL_WALLET_BIP39_H
#define VEIL_WALLET_BIP39_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define WALLET_BIP39_WORDS 2048
#define WALLET_MNEMONIC_WORDS 24
#define WALLET_MNEMONIC_MAX (WALLET_MNEMONIC_WORDS * 9) /* 8 letters max + space/NUL */

extern const char *const wallet_bip39_english[WALLET_BIP39_WORDS];

/* 24 words separated by single spaces, NUL-terminated. */
void wallet_mnemonic_from_entropy(char out[static WALLET_MNEMONIC_MAX],
                                  const uint8_t entropy[static 32]);

/* Parses 24 words (separated by any ASCII whitespace, case-insensitive) and checks the
 * checksum. VEIL_ERR_WALLET_SEED for a wrong count, an unknown word or a bad checksum. */
VEIL_MUST_CHECK veil_status wallet_mnemonic_to_entropy(const char *words, uint8_t entropy[static 32]);

#endif
