/* Bech32m (BIP-350) strings and Veil's key encodings.
 *
 * Veil shows 32-byte x-only keys as Bech32m strings: HRP "veil" for addresses (spend
 * public keys) and "veilview" for view public keys. The data part is the key's 256
 * bits regrouped into 5-bit symbols, most significant first, with the last symbol
 * zero-padded (BIP-173's convertbits(key, 8, 5, pad=true)): 52 symbols. Unlike segwit
 * addresses there is no witness-version symbol. Decoding refuses mixed case, a wrong
 * HRP, a bad checksum, a length other than 52 symbols and non-zero padding bits.
 * Portable; no allocation.
 */
#ifndef VEIL_WALLET_BECH32M_H
#define VEIL_WALLET_BECH32M_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define BECH32M_MAX_LEN 90 /* BIP-173's overall limit */
#define WALLET_HRP_ADDRESS "veil"
#define WALLET_HRP_VIEW "veilview"
/* "veilview" + "1" + 52 + 6 + NUL */
#define WALLET_KEY_STR_MAX 72
/* A payment address: what a payer needs, the spend key and the view key together, so a
 * payment can never name an output its recipient cannot find. HRP "veilpay", data the
 * 64 bytes spend || view as 103 symbols: 117 characters, above BIP-173's 90 (as with
 * BOLT 11 invoices, the checksum still detects any error of up to a few characters
 * with near certainty). */
#define WALLET_HRP_PAYMENT "veilpay"
#define WALLET_PAY_STR_MAX 118

/* Encodes hrp (lowercase ASCII 33..126) and n 5-bit symbols with a Bech32m checksum
 * into out (NUL-terminated). VEIL_ERR_ARG on a bad hrp or symbol, VEIL_ERR_TOO_LARGE
 * beyond 90 characters, VEIL_ERR_BUFFER_TOO_SMALL if cap is too small. */
VEIL_MUST_CHECK veil_status bech32m_encode(char *out, size_t cap, const char *hrp,
                                           const uint8_t *data5, size_t n);

/* Decodes a Bech32m string (len characters, no NUL needed): the HRP (lowercased,
 * NUL-terminated, into hrp[hrp_cap]) and the 5-bit data symbols without the checksum.
 * VEIL_ERR_MALFORMED for anything BIP-350 calls invalid (length, characters, mixed
 * case, missing separator, empty HRP, short or wrong checksum). */
VEIL_MUST_CHECK veil_status bech32m_decode(const char *s, size_t len, char *hrp, size_t hrp_cap,
                                           uint8_t *data5, size_t data_cap, size_t *n);

/* A 32-byte key as "<hrp>1..." (out: WALLET_KEY_STR_MAX bytes). */
VEIL_MUST_CHECK veil_status wallet_key_encode(char out[static WALLET_KEY_STR_MAX], const char *hrp,
                                              const uint8_t key[static 32]);
/* The inverse; VEIL_ERR_WALLET_ADDRESS for any malformed string or other HRP. */
VEIL_MUST_CHECK veil_status wallet_key_decode(const char *s, const char *hrp, uint8_t key[static 32]);

/* "veilpay1..." for a spend and a view public key (out: WALLET_PAY_STR_MAX bytes), and
 * the inverse (VEIL_ERR_WALLET_ADDRESS for anything else, other HRPs included). */
VEIL_MUST_CHECK veil_status wallet_payment_address_encode(char out[static WALLET_PAY_STR_MAX],
                                                          const uint8_t spend[static 32],
                                                          const uint8_t view[static 32]);
VEIL_MUST_CHECK veil_status wallet_payment_address_decode(const char *s, uint8_t spend[static 32],
                                                          uint8_t view[static 32]);

#endif
