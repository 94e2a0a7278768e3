/* SHA-256, tagged hashing, HMAC-SHA-256 and HKDF-SHA-256, plus library initialisation.
 * Compiled into enclave images: no OS headers here.
 *
 * One-shot and tagged SHA-256 use libgcrypt once the libraries are initialised: it uses
 * the CPU's SHA instructions where there are some (about 4x libsodium's portable code on
 * a 65-byte input, the app hash's node size). Before initialisation, and for the
 * streaming interface, libsodium computes the same function. */
#include <assert.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <string.h>

#include <gcrypt.h>
#include <sodium.h>

#include "crypto/crypto.h"

/* GCM-SIV appeared in libgcrypt 1.10.0. */
#define VEIL_GCRYPT_MIN_VERSION "1.10.0"

static_assert(sizeof(crypto_hash_sha256_state) <= sizeof(veil_sha256_ctx),
              "veil_sha256_ctx too small for libsodium's SHA-256 state");
static_assert(alignof(crypto_hash_sha256_state) <= alignof(veil_sha256_ctx),
              "veil_sha256_ctx under-aligned for libsodium's SHA-256 state");
static_assert(crypto_hash_sha256_BYTES == VEIL_SHA256_LEN, "SHA-256 length mismatch");
static_assert(crypto_auth_hmacsha256_BYTES == VEIL_SHA256_LEN, "HMAC-SHA-256 length mismatch");

/* --- initialisation ------------------------------------------------------------- */

enum { INIT_NONE, INIT_RUNNING, INIT_OK, INIT_FAILED };
static atomic_int init_state = INIT_NONE;

static veil_status init_libraries(void)
{
    if (gcry_check_version(VEIL_GCRYPT_MIN_VERSION) == NULL) return VEIL_ERR_CRYPTO;
    /* Another component of the process may already have finished libgcrypt's
     * initialisation; control calls after that point are errors. */
    if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
        /* Secure memory needs mlock and privileges; our secrets are wiped explicitly. */
        if (gcry_control(GCRYCTL_DISABLE_SECMEM, 0) != 0) return VEIL_ERR_CRYPTO;
        if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0) != 0) return VEIL_ERR_CRYPTO;
    }
    /* 0: initialised now, 1: already initialised, -1: failure. */
    if (sodium_init() < 0) return VEIL_ERR_CRYPTO;
    return VEIL_OK;
}

veil_status veil_crypto_init(void)
{
    /* A hand-rolled once: pthread_once is not available inside enclave images. The
     * first caller runs the initialisation, concurrent callers spin until it is done,
     * and the outcome (success or failure) is sticky. The plain load first keeps the
     * common already-initialised path free of atomic read-modify-writes, since the AEAD
     * calls this on every message. */
    int s = atomic_load(&init_state);
    if (s == INIT_NONE) {
        int expected = INIT_NONE;
        if (atomic_compare_exchange_strong(&init_state, &expected, INIT_RUNNING)) {
            veil_status st = init_libraries();
            atomic_store(&init_state, st == VEIL_OK ? INIT_OK : INIT_FAILED);
            return st;
        }
    }
    while ((s = atomic_load(&init_state)) == INIT_RUNNING) {
    }
    return s == INIT_OK ? VEIL_OK : VEIL_ERR_CRYPTO;
}

/* --- SHA-256 -------------------------------------------------------------------- */

static crypto_hash_sha256_state *sha_state(veil_sha256_ctx *ctx)
{
    return (crypto_hash_sha256_state *)(void *)ctx->opaque;
}

/* libgcrypt may be used: veil_crypto_init has completed. */
static bool gcrypt_ready(void)
{
    return atomic_load_explicit(&init_state, memory_order_acquire) == INIT_OK;
}

void veil_sha256(uint8_t out[static VEIL_SHA256_LEN], const void *in, size_t len)
{
    if (gcrypt_ready()) {
        gcry_md_hash_buffer(GCRY_MD_SHA256, out, in, len);
        return;
    }
    crypto_hash_sha256(out, in, len);
}

void veil_sha256_init(veil_sha256_ctx *ctx) { crypto_hash_sha256_init(sha_state(ctx)); }

void veil_sha256_update(veil_sha256_ctx *ctx, const void *in, size_t len)
{
    crypto_hash_sha256_update(sha_state(ctx), in, len);
}

void veil_sha256_final(veil_sha256_ctx *ctx, uint8_t out[static VEIL_SHA256_LEN])
{
    crypto_hash_sha256_final(sha_state(ctx), out);
    /* The state may have absorbed secret material (e.g. key derivation inputs). */
    sodium_memzero(ctx, sizeof *ctx);
}

void veil_sha256_tagged(uint8_t out[static VEIL_SHA256_LEN], const char *tag, const void *in,
                        size_t len)
{
    size_t tag_len = strlen(tag);
    /* Tags are compile-time constants; an over-long one is a programming error that
     * would otherwise silently break the length-prefixed encoding. */
    if (tag_len > 255) __builtin_trap();
    uint8_t prefix = (uint8_t)tag_len;

    if (gcrypt_ready()) {
        gcry_buffer_t iov[3] = {{.size = 1, .len = 1, .data = &prefix},
                                {.size = tag_len, .len = tag_len, .data = (void *)(uintptr_t)tag},
                                {.size = len, .len = len, .data = (void *)(uintptr_t)in}};
        if (gcry_md_hash_buffers(GCRY_MD_SHA256, 0, out, iov, 3) == 0) return;
    }
    veil_sha256_ctx ctx;
    veil_sha256_init(&ctx);
    veil_sha256_update(&ctx, &prefix, 1);
    veil_sha256_update(&ctx, tag, tag_len);
    veil_sha256_update(&ctx, in, len);
    veil_sha256_final(&ctx, out);
}

/* --- HMAC / HKDF ---------------------------------------------------------------- */

void veil_hmac_sha256(uint8_t out[static VEIL_SHA256_LEN], const void *key, size_t key_len,
                      const void *msg, size_t msg_len)
{
    static const uint8_t empty_key[1];
    crypto_auth_hmacsha256_state st;
    /* libsodium declares the key non-null even when its length is zero. */
    crypto_auth_hmacsha256_init(&st, key_len > 0 ? key : empty_key, key_len);
    crypto_auth_hmacsha256_update(&st, msg, msg_len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

/* libsodium 1.0.18 (Debian 12) predates crypto_kdf_hkdf_sha256, so RFC 5869 is built
 * here from HMAC. */
veil_status veil_hkdf_sha256(uint8_t *out, size_t out_len, const void *salt, size_t salt_len,
                             const void *ikm, size_t ikm_len, const void *info,
                             size_t info_len)
{
    ENSURE(out_len <= VEIL_HKDF_MAX_OUT, VEIL_ERR_ARG);
    ENSURE(out != NULL || out_len == 0, VEIL_ERR_ARG);

    /* Extract. An absent salt is HashLen zero bytes (RFC 5869 section 2.2). */
    static const uint8_t zero_salt[VEIL_SHA256_LEN];
    if (salt == NULL || salt_len == 0) {
        salt = zero_salt;
        salt_len = sizeof zero_salt;
    }
    uint8_t prk[VEIL_SHA256_LEN];
    veil_hmac_sha256(prk, salt, salt_len, ikm, ikm_len);

    /* Expand: T(i) = HMAC(PRK, T(i-1) || info || i), T(0) empty. */
    uint8_t t[VEIL_SHA256_LEN];
    size_t t_len = 0;
    crypto_auth_hmacsha256_state st;
    for (size_t done = 0, i = 1; done < out_len; i++) {
        uint8_t counter = (uint8_t)i; /* i <= 255 by the out_len bound */
        crypto_auth_hmacsha256_init(&st, prk, sizeof prk);
        crypto_auth_hmacsha256_update(&st, t, t_len);
        crypto_auth_hmacsha256_update(&st, info, info_len);
        crypto_auth_hmacsha256_update(&st, &counter, 1);
        crypto_auth_hmacsha256_final(&st, t);
        t_len = sizeof t;

        size_t n = out_len - done < sizeof t ? out_len - done : sizeof t;
        memcpy(out + done, t, n);
        done += n;
    }

    sodium_memzero(&st, sizeof st);
    sodium_memzero(t, sizeof t);
    sodium_memzero(prk, sizeof prk);
    return VEIL_OK;
}
