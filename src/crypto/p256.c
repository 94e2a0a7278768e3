/* ECDSA P-256 (attestation keys) on OpenSSL 3's EVP interfaces. Host only.
 *
 * Signatures travel as fixed 64-byte r||s; OpenSSL speaks DER, so both directions
 * convert. Only the provider APIs are used (the EC_KEY family is deprecated in 3.0). */
#include <stdbool.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "crypto/crypto_host.h"

#define P256_SCALAR_LEN 32
#define P256_GROUP "prime256v1"
/* Largest DER ECDSA-Sig-Value for P-256: SEQUENCE of two 33-byte INTEGERs. */
#define P256_DER_SIG_MAX 72

/* The group order n, big-endian (SEC 2, secp256r1). */
static const uint8_t p256_order[P256_SCALAR_LEN] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

/* OpenSSL leaves failure details on a thread-local queue; we report through veil_status
 * instead, so drop them rather than let them leak into unrelated later diagnostics. */
static veil_status fail(veil_status st)
{
    ERR_clear_error();
    return st;
}

/* Rejects keys of another type or curve, which would otherwise sign or verify with
 * different semantics than callers expect. */
static veil_status check_p256(EVP_PKEY *key)
{
    char group[32];
    size_t len = 0;
    ENSURE(key != NULL, VEIL_ERR_ARG);
    if (!EVP_PKEY_is_a(key, "EC") ||
        EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &len) != 1 ||
        strcmp(group, P256_GROUP) != 0)
        return fail(VEIL_ERR_BAD_KEY);
    return VEIL_OK;
}

/* 0 < v < n, with v a 32-byte big-endian scalar. */
static bool scalar_in_range(const uint8_t v[P256_SCALAR_LEN])
{
    static const uint8_t zero[P256_SCALAR_LEN];
    return memcmp(v, zero, sizeof zero) != 0 && memcmp(v, p256_order, sizeof p256_order) < 0;
}

veil_status veil_p256_keygen(EVP_PKEY **out)
{
    ENSURE(out != NULL, VEIL_ERR_ARG);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (key == NULL) return fail(VEIL_ERR_CRYPTO);
    *out = key;
    return VEIL_OK;
}

veil_status veil_p256_sign(EVP_PKEY *key, const void *msg, size_t msg_len,
                           uint8_t sig[static VEIL_P256_SIG_LEN])
{
    ENSURE(msg != NULL || msg_len == 0, VEIL_ERR_ARG);
    TRY(check_p256(key));

    veil_status st = VEIL_OK;
    EVP_MD_CTX *md = NULL;
    ECDSA_SIG *es = NULL;
    uint8_t der[P256_DER_SIG_MAX];
    size_t der_len = sizeof der;
    const BIGNUM *r, *s;

    md = EVP_MD_CTX_new();
    ENSURE_OUT(md != NULL, VEIL_ERR_NOMEM);
    ENSURE_OUT(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1, VEIL_ERR_CRYPTO);
    ENSURE_OUT(EVP_DigestSign(md, der, &der_len, msg_len > 0 ? msg : (const void *)"", msg_len) ==
                   1,
               VEIL_ERR_CRYPTO);

    const unsigned char *p = der;
    es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    ENSURE_OUT(es != NULL && p == der + der_len, VEIL_ERR_CRYPTO);
    ECDSA_SIG_get0(es, &r, &s);
    ENSURE_OUT(BN_bn2binpad(r, sig, P256_SCALAR_LEN) == P256_SCALAR_LEN &&
                   BN_bn2binpad(s, sig + P256_SCALAR_LEN, P256_SCALAR_LEN) == P256_SCALAR_LEN,
               VEIL_ERR_CRYPTO);
out:
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(md);
    if (st != VEIL_OK) {
        memset(sig, 0, VEIL_P256_SIG_LEN);
        ERR_clear_error();
    }
    return st;
}

veil_status veil_p256_verify(EVP_PKEY *key, const void *msg, size_t msg_len,
                             const uint8_t sig[static VEIL_P256_SIG_LEN])
{
    ENSURE(msg != NULL || msg_len == 0, VEIL_ERR_ARG);
    TRY(check_p256(key));
    /* OpenSSL rejects these too, but the fixed encoding makes them cheap to refuse
     * before any parsing, and the contract should not rest on library internals. */
    ENSURE(scalar_in_range(sig) && scalar_in_range(sig + P256_SCALAR_LEN),
           VEIL_ERR_BAD_SIGNATURE);

    veil_status st = VEIL_OK;
    EVP_MD_CTX *md = NULL;
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    uint8_t der[P256_DER_SIG_MAX];

    es = ECDSA_SIG_new();
    r = BN_bin2bn(sig, P256_SCALAR_LEN, NULL);
    s = BN_bin2bn(sig + P256_SCALAR_LEN, P256_SCALAR_LEN, NULL);
    ENSURE_OUT(es != NULL && r != NULL && s != NULL, VEIL_ERR_NOMEM);
    ENSURE_OUT(ECDSA_SIG_set0(es, r, s) == 1, VEIL_ERR_CRYPTO);
    r = s = NULL; /* now owned by es */

    int der_len = i2d_ECDSA_SIG(es, NULL);
    ENSURE_OUT(der_len > 0 && (size_t)der_len <= sizeof der, VEIL_ERR_CRYPTO);
    unsigned char *p = der;
    ENSURE_OUT(i2d_ECDSA_SIG(es, &p) == der_len, VEIL_ERR_CRYPTO);

    md = EVP_MD_CTX_new();
    ENSURE_OUT(md != NULL, VEIL_ERR_NOMEM);
    ENSURE_OUT(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1, VEIL_ERR_CRYPTO);
    /* 1 is valid; 0 is a bad signature and negative values are malformed input, which
     * for a caller are the same thing. */
    ENSURE_OUT(EVP_DigestVerify(md, der, (size_t)der_len, msg_len > 0 ? msg : (const void *)"",
                                msg_len) == 1,
               VEIL_ERR_BAD_SIGNATURE);
out:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(md);
    if (st != VEIL_OK) ERR_clear_error();
    return st;
}

veil_status veil_p256_pubkey_export(EVP_PKEY *key, uint8_t out[static VEIL_P256_PUBKEY_LEN])
{
    TRY(check_p256(key));

    /* The affine coordinates are read individually because OSSL_PKEY_PARAM_PUB_KEY
     * follows the key's point-format setting and might come back compressed. */
    veil_status st = VEIL_OK;
    BIGNUM *x = NULL, *y = NULL;
    ENSURE_OUT(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
                   EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1,
               VEIL_ERR_BAD_KEY);
    out[0] = POINT_CONVERSION_UNCOMPRESSED;
    ENSURE_OUT(BN_bn2binpad(x, out + 1, P256_SCALAR_LEN) == P256_SCALAR_LEN &&
                   BN_bn2binpad(y, out + 1 + P256_SCALAR_LEN, P256_SCALAR_LEN) ==
                       P256_SCALAR_LEN,
               VEIL_ERR_CRYPTO);
out:
    BN_free(x);
    BN_free(y);
    if (st != VEIL_OK) ERR_clear_error();
    return st;
}

veil_status veil_p256_pubkey_import(const uint8_t in[static VEIL_P256_PUBKEY_LEN],
                                    EVP_PKEY **out)
{
    ENSURE(out != NULL, VEIL_ERR_ARG);
    ENSURE(in[0] == POINT_CONVERSION_UNCOMPRESSED, VEIL_ERR_BAD_KEY);

    veil_status st = VEIL_OK;
    EVP_PKEY_CTX *pctx = NULL, *check = NULL;
    EVP_PKEY *key = NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)P256_GROUP, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)in,
                                          VEIL_P256_PUBKEY_LEN),
        OSSL_PARAM_construct_end(),
    };

    pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    ENSURE_OUT(pctx != NULL, VEIL_ERR_CRYPTO);
    ENSURE_OUT(EVP_PKEY_fromdata_init(pctx) == 1, VEIL_ERR_CRYPTO);
    /* Decoding already refuses points off the curve; the explicit public-key check
     * below makes that a stated requirement rather than a side effect. */
    ENSURE_OUT(EVP_PKEY_fromdata(pctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1,
               VEIL_ERR_BAD_KEY);
    check = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    ENSURE_OUT(check != NULL, VEIL_ERR_CRYPTO);
    ENSURE_OUT(EVP_PKEY_public_check(check) == 1, VEIL_ERR_BAD_KEY);

    *out = key;
    key = NULL;
out:
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_CTX_free(pctx);
    if (st != VEIL_OK) ERR_clear_error();
    return st;
}
