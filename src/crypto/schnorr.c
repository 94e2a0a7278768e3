/* BIP-340 Schnorr signatures on libsecp256k1 (schnorrsig + extrakeys). Compiled into
 * enclave images: no OS headers, no heap. */
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_preallocated.h>
#include <secp256k1_schnorrsig.h>

#include "crypto/crypto.h"

/* secp256k1_context_static cannot create keypairs or sign (secp256k1.h), so one full
 * context is built on first use and shared: after creation the library only reads it,
 * which makes concurrent use safe. It lives in static storage rather than on the heap
 * because enclave images have a tight memory budget and nothing would ever free it.
 * libsecp256k1 0.2.0 needs 208 bytes; the size is checked at runtime. */
static alignas(max_align_t) unsigned char ctx_mem[1024];
static secp256k1_context *ctx_ptr;

enum { CTX_NONE, CTX_RUNNING, CTX_OK, CTX_FAILED };
static atomic_int ctx_state = CTX_NONE;

static veil_status get_ctx(const secp256k1_context **out)
{
    int s = atomic_load(&ctx_state);
    if (s == CTX_NONE) {
        int expected = CTX_NONE;
        if (atomic_compare_exchange_strong(&ctx_state, &expected, CTX_RUNNING)) {
            secp256k1_context *c = NULL;
            if (secp256k1_context_preallocated_size(SECP256K1_CONTEXT_NONE) <= sizeof ctx_mem)
                c = secp256k1_context_preallocated_create(ctx_mem, SECP256K1_CONTEXT_NONE);
            ctx_ptr = c;
            /* The release store publishes ctx_ptr to threads that load CTX_OK. */
            atomic_store(&ctx_state, c != NULL ? CTX_OK : CTX_FAILED);
        }
    }
    while ((s = atomic_load(&ctx_state)) == CTX_RUNNING) {
    }
    ENSURE(s == CTX_OK, VEIL_ERR_CRYPTO);
    *out = ctx_ptr;
    return VEIL_OK;
}

veil_status veil_schnorr_pubkey(uint8_t pk[static VEIL_SCHNORR_PUBKEY_LEN],
                                const uint8_t sk[static VEIL_SCHNORR_SECKEY_LEN])
{
    const secp256k1_context *ctx;
    TRY(get_ctx(&ctx));

    veil_status st = VEIL_OK;
    secp256k1_keypair kp;
    secp256k1_xonly_pubkey xpk;
    ENSURE_OUT(secp256k1_keypair_create(ctx, &kp, sk) == 1, VEIL_ERR_BAD_KEY);
    ENSURE_OUT(secp256k1_keypair_xonly_pub(ctx, &xpk, NULL, &kp) == 1, VEIL_ERR_CRYPTO);
    ENSURE_OUT(secp256k1_xonly_pubkey_serialize(ctx, pk, &xpk) == 1, VEIL_ERR_CRYPTO);
out:
    veil_wipe(&kp, sizeof kp);
    return st;
}

veil_status veil_schnorr_sign(uint8_t sig[static VEIL_SCHNORR_SIG_LEN], const void *msg,
                              size_t msg_len, const uint8_t sk[static VEIL_SCHNORR_SECKEY_LEN],
                              const uint8_t *aux_rand32)
{
    ENSURE(msg != NULL || msg_len == 0, VEIL_ERR_ARG);
    const secp256k1_context *ctx;
    TRY(get_ctx(&ctx));

    veil_status st = VEIL_OK;
    secp256k1_keypair kp;
    secp256k1_xonly_pubkey xpk;
    /* ndata is the BIP-340 aux_rand; NULL is read as 32 zero bytes by the library.
     * The field is non-const only for custom nonce functions; the default one reads it. */
    secp256k1_schnorrsig_extraparams extra = SECP256K1_SCHNORRSIG_EXTRAPARAMS_INIT;
    extra.ndata = (void *)(uintptr_t)aux_rand32;

    ENSURE_OUT(secp256k1_keypair_create(ctx, &kp, sk) == 1, VEIL_ERR_BAD_KEY);
    ENSURE_OUT(secp256k1_schnorrsig_sign_custom(ctx, sig, msg, msg_len, &kp, &extra) == 1,
               VEIL_ERR_CRYPTO);
    /* The library does not check its own output; BIP-340 recommends doing so, since a
     * faulty signature (e.g. from a glitch) can leak the secret key. */
    ENSURE_OUT(secp256k1_keypair_xonly_pub(ctx, &xpk, NULL, &kp) == 1, VEIL_ERR_CRYPTO);
    ENSURE_OUT(secp256k1_schnorrsig_verify(ctx, sig, msg, msg_len, &xpk) == 1, VEIL_ERR_CRYPTO);
out:
    veil_wipe(&kp, sizeof kp);
    if (st != VEIL_OK) veil_wipe(sig, VEIL_SCHNORR_SIG_LEN);
    return st;
}

veil_status veil_schnorr_verify(const uint8_t sig[static VEIL_SCHNORR_SIG_LEN], const void *msg,
                                size_t msg_len, const uint8_t pk[static VEIL_SCHNORR_PUBKEY_LEN])
{
    ENSURE(msg != NULL || msg_len == 0, VEIL_ERR_ARG);
    const secp256k1_context *ctx;
    TRY(get_ctx(&ctx));

    secp256k1_xonly_pubkey xpk;
    ENSURE(secp256k1_xonly_pubkey_parse(ctx, &xpk, pk) == 1, VEIL_ERR_BAD_KEY);
    ENSURE(secp256k1_schnorrsig_verify(ctx, sig, msg, msg_len, &xpk) == 1,
           VEIL_ERR_BAD_SIGNATURE);
    return VEIL_OK;
}
