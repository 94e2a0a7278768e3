/* Judging the other enclave of a mutually attested TLS session, inside this enclave
 * (ratls_server.h, ratls_session_peer_verify). The quote goes to the platform's
 * verification service; nothing the host says about the peer is believed. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/crypto.h"
#include "tee/tee.h"
#include "trusted/ratls/ratls_internal.h"

/* The evidence extension's value: exactly one, non-critical. */
static veil_status evidence_ext(X509 *cert, const uint8_t **val, size_t *len)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(RATLS_EVIDENCE_OID, 1);
    ENSURE(oid != NULL, VEIL_ERR_CRYPTO);
    int i = X509_get_ext_by_OBJ(cert, oid, -1);
    int j = i < 0 ? -1 : X509_get_ext_by_OBJ(cert, oid, i);
    ASN1_OBJECT_free(oid);
    ENSURE(i >= 0, VEIL_ERR_RATLS_NO_EVIDENCE);
    ENSURE(j < 0, VEIL_ERR_RATLS_DUPLICATE_EXT);
    X509_EXTENSION *ext = X509_get_ext(cert, i);
    ENSURE(!X509_EXTENSION_get_critical(ext), VEIL_ERR_RATLS_CRITICAL);
    ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(ext);
    ENSURE(d != NULL, VEIL_ERR_RATLS_EVIDENCE_FORMAT);
    *val = ASN1_STRING_get0_data(d);
    *len = (size_t)ASN1_STRING_length(d);
    return VEIL_OK;
}

static veil_status check_validity(X509 *cert, int64_t now)
{
    time_t t = (time_t)now;
    int before = X509_cmp_time(X509_get0_notBefore(cert), &t); /* -1: notBefore <= now */
    int after = X509_cmp_time(X509_get0_notAfter(cert), &t);   /* 1: notAfter > now */
    ENSURE(before < 0 && after > 0, VEIL_ERR_RATLS_EXPIRED);
    return VEIL_OK;
}

/* SHA-256 of the certificate's SubjectPublicKeyInfo as encoded in it. */
static veil_status spki_hash(X509 *cert, uint8_t out[static 32])
{
    unsigned char *der = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    ENSURE(n > 0, VEIL_ERR_CRYPTO);
    veil_sha256(out, der, (size_t)n);
    OPENSSL_free(der);
    return VEIL_OK;
}

veil_status ratls_session_peer_spki_hash(const ratls_session *s, uint8_t out[static 32])
{
    ENSURE(s != NULL, VEIL_ERR_ARG);
    X509 *cert = ratls_session_handshake_done(s) ? ratls_session_peer_cert(s) : NULL;
    ENSURE(cert != NULL, VEIL_ERR_OUT_OF_ORDER);
    return spki_hash(cert, out);
}

veil_status ratls_session_peer_verify(const ratls_session *s, int64_t now, tee_quote_verdict *out)
{
    ENSURE(s != NULL && out != NULL, VEIL_ERR_ARG);
    ENSURE(ratls_session_handshake_done(s), VEIL_ERR_OUT_OF_ORDER);
    X509 *cert = ratls_session_peer_cert(s);
    ENSURE(cert != NULL, VEIL_ERR_RATLS_NO_EVIDENCE);
    EVP_PKEY *pk = X509_get0_pubkey(cert);
    ENSURE(pk != NULL && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC && X509_verify(cert, pk) == 1,
           VEIL_ERR_RATLS_CERT_SIGNATURE);
    TRY(check_validity(cert, now));
    const uint8_t *val;
    size_t len;
    TRY(evidence_ext(cert, &val, &len));
    ratls_evidence ev;
    TRY(ratls_evidence_decode(val, len, &ev));
    tee_quote_verdict v;
    TRY(tee_quote_verify(ev.quote, ev.quote_len, now, &v));
    uint8_t want[TEE_REPORT_DATA_LEN], hash[32];
    ratls_claims_report_data(ev.claims, ev.claims_len, want);
    ENSURE(veil_ct_equal(want, v.report_data, sizeof want), VEIL_ERR_RATLS_REPORT_DATA);
    TRY(spki_hash(cert, hash));
    ENSURE(veil_ct_equal(hash, ev.pubkey_hash, sizeof hash), VEIL_ERR_RATLS_KEY_BINDING);
    *out = v;
    return VEIL_OK;
}
