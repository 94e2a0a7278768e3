/* Thin crypto glue over Debian's libraries. Portable part: usable inside enclaves.
 *
 *   SHA-256, HMAC-SHA-256, HKDF-SHA-256  libsodium (crypto_hash_sha256 / hmacsha256)
 *   AES-256-GCM-SIV (RFC 8452)            libgcrypt (GCRY_CIPHER_MODE_GCM_SIV)
 *   BIP-340 Schnorr over secp256k1        libsecp256k1 (schnorrsig, extrakeys)
 *   constant-time compare, wiping        libsodium
 *
 * Nothing here reads a clock, a file or the environment, and nothing draws random
 * bytes: callers pass randomness in (hosts from crypto_host.h, enclaves from the TEE).
 * Call veil_crypto_init() once before anything else (idempotent, thread-safe).
 */
#ifndef VEIL_CRYPTO_CRYPTO_H
#define VEIL_CRYPTO_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define VEIL_SHA256_LEN 32
#define VEIL_AEAD_KEY_LEN 32
#define VEIL_AEAD_NONCE_LEN 12
#define VEIL_AEAD_TAG_LEN 16
#define VEIL_SCHNORR_SECKEY_LEN 32
#define VEIL_SCHNORR_PUBKEY_LEN 32 /* x-only */
#define VEIL_SCHNORR_SIG_LEN 64
/* HKDF-SHA-256 output limit (RFC 5869: 255 * HashLen). */
#define VEIL_HKDF_MAX_OUT (255u * 32u)

/* Initialises libgcrypt (version check, secure memory off, init finished) and
 * libsodium. Returns VEIL_ERR_CRYPTO if a library is unusable. */
VEIL_MUST_CHECK veil_status veil_crypto_init(void);

/* --- hashing ------------------------------------------------------------------- */
typedef struct veil_sha256_ctx {
    /* opaque; large enough for libsodium's crypto_hash_sha256_state */
    uint64_t opaque[16];
} veil_sha256_ctx;

void veil_sha256(uint8_t out[static VEIL_SHA256_LEN], const void *in, size_t len);
void veil_sha256_init(veil_sha256_ctx *ctx);
void veil_sha256_update(veil_sha256_ctx *ctx, const void *in, size_t len);
void veil_sha256_final(veil_sha256_ctx *ctx, uint8_t out[static VEIL_SHA256_LEN]);

/* Domain-separated hash: SHA-256(tag_len as u8 || tag || data). tag is a NUL-terminated
 * ASCII string of at most 255 bytes naming the purpose (e.g. "veil/txid/v1"). */
void veil_sha256_tagged(uint8_t out[static VEIL_SHA256_LEN], const char *tag, const void *in,
                        size_t len);

void veil_hmac_sha256(uint8_t out[static VEIL_SHA256_LEN], const void *key, size_t key_len,
                      const void *msg, size_t msg_len);

/* RFC 5869. out_len <= VEIL_HKDF_MAX_OUT else VEIL_ERR_ARG. salt may be NULL/0
 * (then HashLen zero bytes, per the RFC). */
VEIL_MUST_CHECK veil_status veil_hkdf_sha256(uint8_t *out, size_t out_len, const void *salt,
                                             size_t salt_len, const void *ikm, size_t ikm_len,
                                             const void *info, size_t info_len);

/* --- AES-256-GCM-SIV (RFC 8452) ------------------------------------------------- */
/* ct receives pt_len + VEIL_AEAD_TAG_LEN bytes (ciphertext || tag). pt and ct must not
 * overlap. aad and pt may be NULL when their length is 0. */
VEIL_MUST_CHECK veil_status veil_aead_seal(const uint8_t key[static VEIL_AEAD_KEY_LEN],
                                           const uint8_t nonce[static VEIL_AEAD_NONCE_LEN],
                                           const void *aad, size_t aad_len, const void *pt,
                                           size_t pt_len, uint8_t *ct);

/* ct_len includes the tag. pt receives ct_len - VEIL_AEAD_TAG_LEN bytes.
 * VEIL_ERR_AUTH if the tag does not verify (pt is then wiped); VEIL_ERR_TRUNCATED if
 * ct_len < VEIL_AEAD_TAG_LEN. */
VEIL_MUST_CHECK veil_status veil_aead_open(const uint8_t key[static VEIL_AEAD_KEY_LEN],
                                           const uint8_t nonce[static VEIL_AEAD_NONCE_LEN],
                                           const void *aad, size_t aad_len, const uint8_t *ct,
                                           size_t ct_len, uint8_t *pt);

/* --- BIP-340 Schnorr ------------------------------------------------------------ */
/* x-only public key of a secret key. VEIL_ERR_BAD_KEY if sk is 0 or >= group order. */
VEIL_MUST_CHECK veil_status veil_schnorr_pubkey(uint8_t pk[static VEIL_SCHNORR_PUBKEY_LEN],
                                                const uint8_t sk[static VEIL_SCHNORR_SECKEY_LEN]);

/* BIP-340 signature over a message of any length. aux_rand32 is 32 bytes of fresh
 * randomness, or NULL, which BIP-340 and libsecp256k1 treat as 32 zero bytes. */
VEIL_MUST_CHECK veil_status veil_schnorr_sign(uint8_t sig[static VEIL_SCHNORR_SIG_LEN],
                                              const void *msg, size_t msg_len,
                                              const uint8_t sk[static VEIL_SCHNORR_SECKEY_LEN],
                                              const uint8_t *aux_rand32);

/* VEIL_OK if valid; VEIL_ERR_BAD_KEY if pk is not a valid x-only key;
 * VEIL_ERR_BAD_SIGNATURE otherwise. */
VEIL_MUST_CHECK veil_status veil_schnorr_verify(const uint8_t sig[static VEIL_SCHNORR_SIG_LEN],
                                                const void *msg, size_t msg_len,
                                                const uint8_t pk[static VEIL_SCHNORR_PUBKEY_LEN]);

/* --- secrets -------------------------------------------------------------------- */
/* Ed25519 (RFC 8032) signature verification, libsodium's crypto_sign_verify_detached:
 * stricter than Go's crypto/ed25519 on adversarial encodings (it refuses small-order
 * public keys and non-canonical points), never laxer. */
#define VEIL_ED25519_PK_LEN 32
#define VEIL_ED25519_SIG_LEN 64
bool veil_ed25519_verify(const uint8_t sig[static VEIL_ED25519_SIG_LEN], const void *msg,
                         size_t len, const uint8_t pk[static VEIL_ED25519_PK_LEN]);

/* Constant-time equality of two n-byte buffers. */
bool veil_ct_equal(const void *a, const void *b, size_t n);
/* Wipes n bytes in a way the compiler cannot elide. */
void veil_wipe(void *p, size_t n);

#endif
