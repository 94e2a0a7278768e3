/* Host-only crypto: OS randomness and ECDSA P-256 via OpenSSL (attestation keys).
 * Not for enclave code: it reads the OS random source. */
#ifndef VEIL_CRYPTO_CRYPTO_HOST_H
#define VEIL_CRYPTO_CRYPTO_HOST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/status.h"

#define VEIL_P256_SIG_LEN 64   /* r || s, big-endian, 32 bytes each */
#define VEIL_P256_PUBKEY_LEN 65 /* uncompressed SEC1 point */

/* Fills buf from the OS CSPRNG (getrandom). VEIL_ERR_IO if it fails. */
VEIL_MUST_CHECK veil_status veil_random_bytes(void *buf, size_t n);

/* New P-256 key pair. Caller frees with EVP_PKEY_free. */
VEIL_MUST_CHECK veil_status veil_p256_keygen(EVP_PKEY **out);

/* ECDSA-SHA-256 over msg; signature as fixed 64-byte r||s. */
VEIL_MUST_CHECK veil_status veil_p256_sign(EVP_PKEY *key, const void *msg, size_t msg_len,
                                           uint8_t sig[static VEIL_P256_SIG_LEN]);

/* VEIL_OK or VEIL_ERR_BAD_SIGNATURE. Rejects r or s of 0 or >= n. */
VEIL_MUST_CHECK veil_status veil_p256_verify(EVP_PKEY *key, const void *msg, size_t msg_len,
                                             const uint8_t sig[static VEIL_P256_SIG_LEN]);

/* Uncompressed public point of a P-256 key, and the reverse (VEIL_ERR_BAD_KEY if the
 * point is not on the curve). */
VEIL_MUST_CHECK veil_status veil_p256_pubkey_export(EVP_PKEY *key,
                                                    uint8_t out[static VEIL_P256_PUBKEY_LEN]);
VEIL_MUST_CHECK veil_status veil_p256_pubkey_import(const uint8_t in[static VEIL_P256_PUBKEY_LEN],
                                                    EVP_PKEY **out);

#endif
