/* Attested-TLS identity: an in-enclave P-256 key, a quote binding it, and the
 * self-signed certificate carrying the quote (docs/attested-tls.md). */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/crypto.h"
#include "tee/tee.h"
#include "trusted/ratls/ratls_evidence.h"
#include "trusted/ratls/ratls_internal.h"
/* 9999-12-31T23:59:59Z: the last instant an X.509 GeneralizedTime can express. */
#define RATLS_MAX_TIME 253402300799ull

/* A P-256 key whose private scalar comes from tee_random, not from OpenSSL's RNG (which
 * a port would have to seed from outside the enclave): 32 random bytes, redrawn until
 * they are a valid scalar (0 < d < n; a redraw happens with probability ~2^-32). With a
 * seed, candidate i is SHA-256-tagged("veil/ratls-key/v1", seed || u8 i) instead: the
 * same seed gives the same key. */
static veil_status key_generate(const uint8_t *seed, EVP_PKEY **out)
{
    veil_status st = VEIL_ERR_CRYPTO;
    uint8_t rnd[32], pub[65];
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    BIGNUM *d = BN_secure_new();
    EC_POINT *q = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    *out = NULL;
    ENSURE_OUT(g != NULL && d != NULL, VEIL_ERR_CRYPTO);
    for (int tries = 0;; tries++) {
        ENSURE_OUT(tries < 16, VEIL_ERR_CRYPTO);
        if (seed != NULL) {
            uint8_t in[33];
            memcpy(in, seed, 32);
            in[32] = (uint8_t)tries;
            veil_sha256_tagged(rnd, "veil/ratls-key/v1", in, sizeof in);
            veil_wipe(in, sizeof in);
        } else {
            TRY_OUT(tee_random(rnd, sizeof rnd));
        }
        ENSURE_OUT(BN_bin2bn(rnd, sizeof rnd, d) != NULL, VEIL_ERR_CRYPTO);
        if (!BN_is_zero(d) && BN_cmp(d, EC_GROUP_get0_order(g)) < 0) break;
    }
    q = EC_POINT_new(g);
    ENSURE_OUT(q != NULL && EC_POINT_mul(g, q, d, NULL, NULL, NULL) == 1 &&
                   EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof pub,
                                      NULL) == sizeof pub,
               VEIL_ERR_CRYPTO);
    bld = OSSL_PARAM_BLD_new();
    ENSURE_OUT(bld != NULL &&
                   OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1",
                                                   0) == 1 &&
                   OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) == 1 &&
                   OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
                                                    sizeof pub) == 1,
               VEIL_ERR_CRYPTO);
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    ENSURE_OUT(params != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
                   EVP_PKEY_fromdata(ctx, out, EVP_PKEY_KEYPAIR, params) == 1,
               VEIL_ERR_CRYPTO);
    st = VEIL_OK;
out:
    veil_wipe(rnd, sizeof rnd);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* holds a copy of the scalar: OpenSSL clears BN params on free */
    OSSL_PARAM_BLD_free(bld);
    EC_POINT_free(q);
    BN_clear_free(d);
    EC_GROUP_free(g);
    return st;
}

/* The key's DER SubjectPublicKeyInfo, and its SHA-256: what the "pubkey-hash" claim
 * names. */
static veil_status spki_of(EVP_PKEY *key, ratls_identity *id)
{
    unsigned char *spki = NULL;
    int n = i2d_PUBKEY(key, &spki);
    ENSURE(n > 0, VEIL_ERR_CRYPTO);
    veil_status st = (size_t)n <= sizeof id->spki ? VEIL_OK : VEIL_ERR_CRYPTO;
    if (st == VEIL_OK) {
        memcpy(id->spki, spki, (size_t)n);
        id->spki_len = (size_t)n;
        veil_sha256(id->spki_hash, spki, (size_t)n);
    }
    OPENSSL_free(spki);
    return st;
}

/* Fresh evidence for the key hashing to `hash`: claims {nonce?, pubkey-hash}, a quote
 * whose report data is SHA-256(claims) || zeros, both in tag 60000 (ratls_evidence.h). */
veil_status ratls_evidence_make(const uint8_t hash[static 32], const uint8_t *nonce,
                                size_t nonce_len, uint8_t *out, size_t cap, size_t *out_len)
{
    veil_status st;
    uint8_t claims[RATLS_CLAIMS_MAX], rd[TEE_REPORT_DATA_LEN];
    size_t claims_len = 0, quote_len = 0;
    uint8_t *quote = tee_alloc(TEE_QUOTE_MAX_LEN);
    ENSURE(quote != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    TRY_OUT(ratls_claims_encode(hash, nonce, nonce_len, claims, sizeof claims, &claims_len));
    ratls_claims_report_data(claims, claims_len, rd);
    TRY_OUT(tee_quote_create(rd, quote, TEE_QUOTE_MAX_LEN, &quote_len));
    st = ratls_evidence_encode(quote, quote_len, claims, claims_len, out, cap, out_len);
out:
    tee_free(quote);
    return st;
}

veil_status ratls_identity_evidence(const ratls_identity *id, const uint8_t *nonce,
                                    size_t nonce_len, uint8_t *out, size_t cap, size_t *out_len)
{
    ENSURE(id != NULL && nonce != NULL && nonce_len >= 1 && nonce_len <= RATLS_NONCE_MAX,
           VEIL_ERR_ARG);
    return ratls_evidence_make(id->spki_hash, nonce, nonce_len, out, cap, out_len);
}

veil_status ratls_evidence_report(const uint8_t *evidence, size_t evidence_len, uint8_t *out,
                                  size_t cap, size_t *out_len)
{
    ratls_evidence ev;
    TRY(ratls_evidence_decode(evidence, evidence_len, &ev));
    return tee_attestation_report(ev.quote, ev.quote_len, out, cap, out_len);
}

/* A non-critical extension holding `len` bytes: generic TLS clients (openssl s_client)
 * must still complete the handshake; RA-TLS verifiers refuse a certificate without
 * the evidence anyway. */
static veil_status add_extension(X509 *x, const char *oid_text, const uint8_t *p, size_t len)
{
    veil_status st = VEIL_ERR_CRYPTO;
    ASN1_OBJECT *oid = OBJ_txt2obj(oid_text, 1);
    ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    if (oid != NULL && val != NULL && ASN1_OCTET_STRING_set(val, p, (int)len) == 1)
        ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, val);
    if (ext != NULL && X509_add_ext(x, ext, -1) == 1) st = VEIL_OK;
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(val);
    ASN1_OBJECT_free(oid);
    return st;
}

/* The evidence (no nonce: a certificate is shown to every client) and, when the host
 * has an attestation proxy, the service's report on its quote, in two extensions. */
static veil_status evidence_extensions(X509 *x, const uint8_t hash[static 32])
{
    veil_status st = VEIL_OK;
    uint8_t *buf = tee_alloc(RATLS_EVIDENCE_MAX), *ias = tee_alloc(RATLS_IAS_MAX);
    size_t len = 0, ias_len = 0;
    ENSURE_OUT(buf != NULL && ias != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    TRY_OUT(ratls_evidence_make(hash, NULL, 0, buf, RATLS_EVIDENCE_MAX, &len));
    TRY_OUT(add_extension(x, RATLS_EVIDENCE_OID, buf, len));
    st = ratls_evidence_report(buf, len, ias, RATLS_IAS_MAX, &ias_len);
    if (st == VEIL_ERR_TEE_UNSUPPORTED) {
        st = VEIL_OK; /* no proxy: DCAP verifiers need nothing more */
        goto out;
    }
    TRY_OUT(st);
    /* The host's bytes are checked for shape before they go into a certificate. */
    ratls_ias shape;
    TRY_OUT(ratls_ias_decode(ias, ias_len, &shape));
    TRY_OUT(add_extension(x, RATLS_IAS_OID, ias, ias_len));
out:
    tee_free(buf);
    tee_free(ias);
    return st;
}

static veil_status cert_build(EVP_PKEY *key, uint64_t now, const uint8_t hash[static 32],
                              X509 **out)
{
    veil_status st = VEIL_OK;
    X509 *x = X509_new();
    ASN1_INTEGER *serial = NULL;
    BIGNUM *bn = NULL;
    ENSURE_OUT(x != NULL, VEIL_ERR_CRYPTO);
    ENSURE_OUT(X509_set_version(x, X509_VERSION_3) == 1, VEIL_ERR_CRYPTO);
    /* A random positive 127-bit serial (RFC 5280: unique per issuer, <= 20 bytes). */
    uint8_t rnd[16];
    TRY_OUT(tee_random(rnd, sizeof rnd));
    rnd[0] &= 0x7f;
    bn = BN_bin2bn(rnd, sizeof rnd, NULL);
    ENSURE_OUT(bn != NULL, VEIL_ERR_CRYPTO);
    serial = BN_to_ASN1_INTEGER(bn, NULL);
    ENSURE_OUT(serial != NULL && X509_set_serialNumber(x, serial) == 1, VEIL_ERR_CRYPTO);
    X509_NAME *name = X509_get_subject_name(x);
    ENSURE_OUT(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                          (const unsigned char *)"Veil", -1, -1, 0) == 1 &&
                   X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                              (const unsigned char *)"Veil attested TLS", -1,
                                              -1, 0) == 1 &&
                   X509_set_issuer_name(x, name) == 1,
               VEIL_ERR_CRYPTO);
    /* Times come from the host (no clock in the enclave); ASN1_TIME_set converts them
     * without reading any clock. */
    ENSURE_OUT(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(now - RATLS_CERT_SKEW_SECONDS)) &&
                   ASN1_TIME_set(X509_getm_notAfter(x),
                                 (time_t)(now + RATLS_CERT_LIFETIME_SECONDS +
                                          RATLS_CERT_SKEW_SECONDS)),
               VEIL_ERR_CRYPTO);
    ENSURE_OUT(X509_set_pubkey(x, key) == 1, VEIL_ERR_CRYPTO);
    TRY_OUT(evidence_extensions(x, hash));
    ENSURE_OUT(X509_sign(x, key, EVP_sha256()) > 0, VEIL_ERR_CRYPTO);
    *out = x;
    x = NULL;
out:
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    X509_free(x);
    return st;
}

static veil_status ctx_build(EVP_PKEY *key, X509 *cert, SSL_CTX **out)
{
    veil_status st = VEIL_OK;
    /* Either role: a server for wallets and peers, a client towards peers
     * (ratls_session_new_peer). */
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    ENSURE_OUT(ctx != NULL, VEIL_ERR_CRYPTO);
    ENSURE_OUT(SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1 &&
                   SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1,
               VEIL_ERR_CRYPTO);
    /* No resumption: every connection presents (and has verified) fresh evidence. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    ENSURE_OUT(SSL_CTX_set_num_tickets(ctx, 0) == 1, VEIL_ERR_CRYPTO);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    ENSURE_OUT(SSL_CTX_use_certificate(ctx, cert) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
                   SSL_CTX_check_private_key(ctx) == 1,
               VEIL_ERR_CRYPTO);
    *out = ctx;
    ctx = NULL;
out:
    SSL_CTX_free(ctx);
    return st;
}

static veil_status identity_create(uint64_t now_unix, const uint8_t *seed, ratls_identity **out)
{
    ENSURE(out != NULL, VEIL_ERR_ARG);
    *out = NULL;
    ENSURE(now_unix >= RATLS_CERT_SKEW_SECONDS &&
               now_unix <= RATLS_MAX_TIME - RATLS_CERT_LIFETIME_SECONDS - RATLS_CERT_SKEW_SECONDS,
           VEIL_ERR_ARG);
    /* No configuration file: the trusted side reads nothing from the file system. */
    ENSURE(OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) == 1, VEIL_ERR_CRYPTO);
    veil_status st = VEIL_OK;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    SSL_CTX *ctx = NULL;
    unsigned char *der = NULL;
    ratls_identity *id = tee_calloc(1, sizeof *id);
    ENSURE_OUT(id != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    TRY_OUT(key_generate(seed, &key));
    TRY_OUT(spki_of(key, id));
    TRY_OUT(cert_build(key, now_unix, id->spki_hash, &cert));
    TRY_OUT(ctx_build(key, cert, &ctx));
    int n = i2d_X509(cert, &der);
    ENSURE_OUT(n > 0, VEIL_ERR_CRYPTO);
    id->cert_der = tee_alloc((size_t)n);
    ENSURE_OUT(id->cert_der != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    memcpy(id->cert_der, der, (size_t)n);
    id->cert_len = (size_t)n;
    id->created = now_unix;
    id->ctx = ctx;
    ctx = NULL;
    *out = id;
    id = NULL;
out:
    OPENSSL_free(der);
    SSL_CTX_free(ctx);
    X509_free(cert);
    EVP_PKEY_free(key); /* the SSL_CTX keeps its own reference; freeing wipes key material */
    ratls_identity_free(id);
    return st;
}

veil_status ratls_identity_create(uint64_t now_unix, ratls_identity **out)
{
    return identity_create(now_unix, NULL, out);
}

veil_status ratls_identity_create_seeded(uint64_t now_unix, const uint8_t seed[static 32],
                                         ratls_identity **out)
{
    return identity_create(now_unix, seed, out);
}

void ratls_identity_spki(const ratls_identity *id, const uint8_t **der, size_t *len)
{
    *der = id->spki;
    *len = id->spki_len;
}

bool ratls_identity_needs_renewal(const ratls_identity *id, uint64_t now_unix)
{
    if (id == NULL) return true;
    /* Clock moved back before notBefore: the certificate would be refused. */
    if (now_unix < id->created) return id->created - now_unix >= RATLS_CERT_SKEW_SECONDS;
    return now_unix - id->created >= RATLS_CERT_LIFETIME_SECONDS;
}

void ratls_identity_cert_der(const ratls_identity *id, const uint8_t **der, size_t *len)
{
    *der = id->cert_der;
    *len = id->cert_len;
}

void ratls_identity_free(ratls_identity *id)
{
    if (id == NULL) return;
    SSL_CTX_free(id->ctx);
    tee_free(id->cert_der);
    tee_free(id);
}
