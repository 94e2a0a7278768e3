/* AES-256-GCM-SIV (RFC 8452) on libgcrypt. Compiled into enclave images: no OS headers.
 *
 * libgcrypt's setiv derives the per-nonce keys into the handle, replacing the key
 * schedule, so a handle is good for exactly one message. Each call therefore opens its
 * own handle: simple, and safe to use from several threads at once. */
#include <assert.h>
#include <stdint.h>

#include <gcrypt.h>

#include "crypto/crypto.h"

/* RFC 8452 section 6: plaintext and AAD are each at most 2^36 bytes. */
#define AEAD_MAX_INPUT ((uint64_t)1 << 36)

static_assert(VEIL_AEAD_KEY_LEN == 32 && VEIL_AEAD_NONCE_LEN == 12 && VEIL_AEAD_TAG_LEN == 16,
              "AES-256-GCM-SIV sizes");

/* A handle keyed for one message with its nonce and AAD already absorbed. */
static veil_status open_handle(gcry_cipher_hd_t *out, const uint8_t *key, const uint8_t *nonce,
                               const void *aad, size_t aad_len)
{
    gcry_cipher_hd_t h = NULL;
    TRY(veil_crypto_init());
    if (gcry_cipher_open(&h, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM_SIV, 0) != 0)
        return VEIL_ERR_CRYPTO;
    if (gcry_cipher_setkey(h, key, VEIL_AEAD_KEY_LEN) != 0 ||
        gcry_cipher_setiv(h, nonce, VEIL_AEAD_NONCE_LEN) != 0 ||
        (aad_len > 0 && gcry_cipher_authenticate(h, aad, aad_len) != 0)) {
        gcry_cipher_close(h);
        return VEIL_ERR_CRYPTO;
    }
    *out = h;
    return VEIL_OK;
}

veil_status veil_aead_seal(const uint8_t key[static VEIL_AEAD_KEY_LEN],
                           const uint8_t nonce[static VEIL_AEAD_NONCE_LEN], const void *aad,
                           size_t aad_len, const void *pt, size_t pt_len, uint8_t *ct)
{
    ENSURE(ct != NULL, VEIL_ERR_ARG);
    ENSURE(aad != NULL || aad_len == 0, VEIL_ERR_ARG);
    ENSURE(pt != NULL || pt_len == 0, VEIL_ERR_ARG);
    ENSURE(aad_len <= AEAD_MAX_INPUT && pt_len <= AEAD_MAX_INPUT, VEIL_ERR_TOO_LARGE);

    veil_status st = VEIL_OK;
    gcry_cipher_hd_t h = NULL;
    TRY(open_handle(&h, key, nonce, aad, aad_len));
    /* GCM-SIV is two-pass, so the whole plaintext goes in one call; it must be made even
     * for an empty message because it is what computes the tag. libgcrypt reads a NULL
     * input as "in place", which for zero bytes is harmless. */
    ENSURE_OUT(gcry_cipher_encrypt(h, ct, pt_len, pt_len > 0 ? pt : NULL, pt_len) == 0,
               VEIL_ERR_CRYPTO);
    ENSURE_OUT(gcry_cipher_gettag(h, ct + pt_len, VEIL_AEAD_TAG_LEN) == 0, VEIL_ERR_CRYPTO);
out:
    gcry_cipher_close(h);
    if (st != VEIL_OK) veil_wipe(ct, pt_len + VEIL_AEAD_TAG_LEN);
    return st;
}

veil_status veil_aead_open(const uint8_t key[static VEIL_AEAD_KEY_LEN],
                           const uint8_t nonce[static VEIL_AEAD_NONCE_LEN], const void *aad,
                           size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
    ENSURE(ct != NULL || ct_len == 0, VEIL_ERR_ARG);
    ENSURE(ct_len >= VEIL_AEAD_TAG_LEN, VEIL_ERR_TRUNCATED);
    size_t pt_len = ct_len - VEIL_AEAD_TAG_LEN;
    ENSURE(pt != NULL || pt_len == 0, VEIL_ERR_ARG);
    ENSURE(aad != NULL || aad_len == 0, VEIL_ERR_ARG);
    ENSURE(aad_len <= AEAD_MAX_INPUT && pt_len <= AEAD_MAX_INPUT, VEIL_ERR_TOO_LARGE);

    veil_status st = VEIL_OK;
    gcry_cipher_hd_t h = NULL;
    uint8_t empty[1]; /* output target when there is no plaintext and pt may be NULL */
    uint8_t *dst = pt_len > 0 ? pt : empty;
    TRY(open_handle(&h, key, nonce, aad, aad_len));
    ENSURE_OUT(gcry_cipher_set_decryption_tag(h, ct + pt_len, VEIL_AEAD_TAG_LEN) == 0,
               VEIL_ERR_CRYPTO);
    /* With the tag set beforehand, decrypt verifies it and reports a mismatch. */
    gcry_error_t err = gcry_cipher_decrypt(h, dst, pt_len, ct, pt_len);
    if (gcry_err_code(err) == GPG_ERR_CHECKSUM) st = VEIL_ERR_AUTH;
    else if (err != 0) st = VEIL_ERR_CRYPTO;
out:
    gcry_cipher_close(h);
    /* Never hand back unauthenticated plaintext. */
    if (st != VEIL_OK && pt_len > 0) veil_wipe(pt, pt_len);
    return st;
}
