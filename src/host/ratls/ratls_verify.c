/* Verifier of attested-TLS certificates: self-signature, validity, evidence, quote
 * chain, key binding, identity policy, TCB (order and codes: ratls_verify.h). */
#include "host/ratls/ratls_verify.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "hostutil/fileio.h"

/* An extension's value, requiring at most one, non-critical; VEIL_ERR_RATLS_NO_EVIDENCE
 * when absent. */
static veil_status ext_value(X509 *cert, const char *oid_text, const uint8_t **val, size_t *len)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(oid_text, 1);
    ENSURE(oid != NULL, VEIL_ERR_CRYPTO);
    int i = X509_get_ext_by_OBJ(cert, oid, -1);
    int j = i < 0 ? -1 : X509_get_ext_by_OBJ(cert, oid, i);
    ASN1_OBJECT_free(oid);
    if (i < 0) {
        veil_error_detail_set("no extension %s in the certificate", oid_text);
        return VEIL_ERR_RATLS_NO_EVIDENCE;
    }
    if (j >= 0) {
        veil_error_detail_set("extension %s appears more than once", oid_text);
        return VEIL_ERR_RATLS_DUPLICATE_EXT;
    }
    X509_EXTENSION *ext = X509_get_ext(cert, i);
    /* Critical would make ordinary TLS clients refuse the certificate; the formats this
     * follows mark it non-critical, and a certificate that says otherwise is not one. */
    if (X509_EXTENSION_get_critical(ext)) {
        veil_error_detail_set("extension %s is marked critical", oid_text);
        return VEIL_ERR_RATLS_CRITICAL;
    }
    ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(ext);
    ENSURE(d != NULL, VEIL_ERR_RATLS_EVIDENCE_FORMAT);
    *val = ASN1_STRING_get0_data(d);
    *len = (size_t)ASN1_STRING_length(d);
    return VEIL_OK;
}

static veil_status evidence_ext_value(X509 *cert, const uint8_t **val, size_t *len)
{
    return ext_value(cert, RATLS_EVIDENCE_OID, val, len);
}

veil_status ratls_cert_evidence(X509 *cert, uint8_t **quote, size_t *quote_len)
{
    ENSURE(cert != NULL && quote != NULL && quote_len != NULL, VEIL_ERR_ARG);
    const uint8_t *val;
    size_t len;
    ratls_evidence ev;
    TRY(evidence_ext_value(cert, &val, &len));
    veil_status st = ratls_evidence_decode(val, len, &ev);
    if (st != VEIL_OK) {
        veil_error_detail_set("extension %s: %s", RATLS_EVIDENCE_OID, veil_status_str(st));
        return st;
    }
    *quote = malloc(ev.quote_len);
    ENSURE(*quote != NULL, VEIL_ERR_NOMEM);
    memcpy(*quote, ev.quote, ev.quote_len);
    *quote_len = ev.quote_len;
    return VEIL_OK;
}

static void hex32(char out[65], const uint8_t in[32]) { veil_hex_encode(out, in, 32); }

/* Sets a detail "what: expected E, got G" for two 32-byte values. */
static veil_status mismatch32(veil_status code, const char *what, const uint8_t *want,
                              const uint8_t *got)
{
    char w[65], g[65];
    hex32(w, want);
    hex32(g, got);
    veil_error_detail_set("%s: expected %s, got %s", what, w, g);
    return code;
}

static veil_status check_self_signature(X509 *cert)
{
    EVP_PKEY *pk = X509_get0_pubkey(cert);
    if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC) {
        veil_error_detail_set("certificate key is missing or not an EC key");
        return VEIL_ERR_RATLS_CERT_SIGNATURE;
    }
    if (X509_verify(cert, pk) != 1) {
        veil_error_detail_set("self-signature does not verify under the certificate's key");
        return VEIL_ERR_RATLS_CERT_SIGNATURE;
    }
    return VEIL_OK;
}

static veil_status check_validity(X509 *cert, time_t now)
{
    time_t t = now;
    const ASN1_TIME *nb = X509_get0_notBefore(cert), *na = X509_get0_notAfter(cert);
    int before = X509_cmp_time(nb, &t); /* -1: nb <= now */
    int after = X509_cmp_time(na, &t);  /* 1: na > now */
    if (before == 0 || after == 0) {
        veil_error_detail_set("certificate validity times are malformed");
        return VEIL_ERR_RATLS_EXPIRED;
    }
    if (before > 0 || after < 0) {
        struct tm tm;
        char nows[32] = "", nbs[32] = "", nas[32] = "";
        if (gmtime_r(&t, &tm) != NULL) strftime(nows, sizeof nows, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (ASN1_TIME_to_tm(nb, &tm) == 1) strftime(nbs, sizeof nbs, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (ASN1_TIME_to_tm(na, &tm) == 1) strftime(nas, sizeof nas, "%Y-%m-%dT%H:%M:%SZ", &tm);
        veil_error_detail_set("certificate %s: valid from %s to %s, now is %s",
                              before > 0 ? "is not yet valid" : "has expired", nbs, nas, nows);
        return VEIL_ERR_RATLS_EXPIRED;
    }
    return VEIL_OK;
}

/* The quote vouches for the claims (report data = SHA-256(claims) || zeros), and the
 * claims name the key that signed the TLS handshake (pubkey-hash = SHA-256 of its
 * SubjectPublicKeyInfo as encoded in the certificate). */
static veil_status check_binding(const uint8_t *spki, size_t spki_len, const ratls_evidence *ev,
                                 const attest_claims *c)
{
    uint8_t want[TEE_REPORT_DATA_LEN], hash[32];
    ratls_claims_report_data(ev->claims, ev->claims_len, want);
    if (CRYPTO_memcmp(want, c->body.report_data, TEE_REPORT_DATA_LEN) != 0) {
        char w[129], g[129];
        veil_hex_encode(w, want, TEE_REPORT_DATA_LEN);
        veil_hex_encode(g, c->body.report_data, TEE_REPORT_DATA_LEN);
        veil_error_detail_set("report data is not SHA-256(claims) || zeros: expected %s, got %s",
                              w, g);
        return VEIL_ERR_RATLS_REPORT_DATA;
    }
    veil_sha256(hash, spki, spki_len);
    if (CRYPTO_memcmp(hash, ev->pubkey_hash, 32) != 0)
        return mismatch32(VEIL_ERR_RATLS_KEY_BINDING,
                          "the claims' pubkey-hash does not bind the certificate key",
                          hash, ev->pubkey_hash);
    return VEIL_OK;
}

static veil_status check_identity(const ratls_policy *p, const attest_claims *c)
{
    const tee_identity *id = &c->body.identity;
    if ((id->attributes & TEE_ATTR_DEBUG) != 0 && !p->allow_debug) {
        veil_error_detail_set("enclave attributes 0x%016llx have the DEBUG bit; expected a "
                              "production enclave",
                              (unsigned long long)id->attributes);
        return VEIL_ERR_RATLS_DEBUG;
    }
    tee_identity_policy ip = {p->mrenclave, p->mrsigner, p->has_prodid, p->prodid,
                              p->has_min_svn, p->min_svn};
    switch (tee_identity_check(&ip, id)) {
    case TEE_IDENTITY_OK:
        break;
    case TEE_IDENTITY_MRSIGNER:
        return mismatch32(VEIL_ERR_RATLS_MRSIGNER, "MRSIGNER", p->mrsigner, id->mrsigner);
    case TEE_IDENTITY_MRENCLAVE:
        return mismatch32(VEIL_ERR_RATLS_MRENCLAVE, "MRENCLAVE", p->mrenclave, id->mrenclave);
    case TEE_IDENTITY_PRODID:
        veil_error_detail_set("enclave product id: expected %u, got %u", p->prodid, id->prodid);
        return VEIL_ERR_RATLS_PRODID;
    case TEE_IDENTITY_SVN:
        veil_error_detail_set("enclave SVN: expected >= %u, got %u", p->min_svn, id->svn);
        return VEIL_ERR_RATLS_SVN;
    }
    if (attest_claims_accept(&p->tcb, c) != VEIL_OK) {
        veil_error_detail_set("platform TCB status %s (platform %s, QE %s%s%s) is not one the "
                              "policy accepts",
                              dcap_tcb_status_name(c->tcb_status),
                              dcap_tcb_status_name(c->platform_status),
                              dcap_tcb_status_name(c->qe_status),
                              c->advisory_ids[0] ? "; advisories " : "", c->advisory_ids);
        return VEIL_ERR_RATLS_TCB;
    }
    return VEIL_OK;
}

static veil_status check_policy_shape(const ratls_policy *p)
{
    ENSURE(p != NULL, VEIL_ERR_ARG);
    if (p->mrsigner == NULL && p->mrenclave == NULL) {
        veil_error_detail_set("the policy accepts no MRSIGNER or MRENCLAVE");
        return VEIL_ERR_ARG;
    }
    if (p->mrenclave == NULL && (!p->has_prodid || !p->has_min_svn)) {
        veil_error_detail_set("a policy that pins MRSIGNER must also pin the product id and a "
                              "minimum SVN (or pin MRENCLAVE)");
        return VEIL_ERR_ARG;
    }
    if (p->attestation == RATLS_ATTEST_IAS ? p->ias_root_pem == NULL
                                           : (p->collateral_path == NULL && p->collateral == NULL)) {
        veil_error_detail_set(p->attestation == RATLS_ATTEST_IAS
                                  ? "the policy pins no report-signing root"
                                  : "the policy names no attestation collateral");
        return VEIL_ERR_ARG;
    }
    return VEIL_OK;
}

/* Step 5 under an IAS policy: the service's report on the quote (ias-report bytes),
 * signed under the pinned root, not older than the policy's maximum age, for exactly
 * this quote; the claims are then read from the quote body the report vouches for. */
static veil_status ias_quote_verify(const uint8_t *quote, size_t quote_len, const uint8_t *ias,
                                    size_t ias_len, const ratls_policy *p, time_t now,
                                    attest_claims *c)
{
    if (ias == NULL) {
        veil_error_detail_set("no attestation report (extension %s) beside the evidence; the "
                              "policy wants one",
                              RATLS_IAS_OID);
        return VEIL_ERR_RATLS_NO_EVIDENCE;
    }
    veil_status st = attest_ias_claims(ias, ias_len, quote, quote_len, p->ias_root_pem,
                                       (int64_t)now,
                                       p->ias_max_age > 0 ? p->ias_max_age
                                                          : RATLS_IAS_DEFAULT_MAX_AGE,
                                       c);
    if (st == VEIL_ERR_RATLS_EVIDENCE_FORMAT || st == VEIL_ERR_TOO_LARGE ||
        st == VEIL_ERR_TRAILING)
        veil_error_detail_set("attestation report (%s): %s", RATLS_IAS_OID, veil_status_str(st));
    return st;
}

/* Steps 4-12 on evidence bytes for the key whose DER SPKI is given: decode, quote,
 * binding, nonce (if one is expected), identity and TCB. */
static veil_status verify_evidence(const uint8_t *ev_bytes, size_t ev_len, const uint8_t *ias,
                                   size_t ias_len, const uint8_t *spki, size_t spki_len,
                                   const ratls_policy *p, const uint8_t *nonce, size_t nonce_len,
                                   time_t now, attest_claims *claims)
{
    ratls_evidence ev;
    veil_status st = ratls_evidence_decode(ev_bytes, ev_len, &ev);
    if (st != VEIL_OK) {
        veil_error_detail_set("evidence (%s): %s", RATLS_EVIDENCE_OID, veil_status_str(st));
        return st;
    }
    attest_claims c;
    if (p->attestation == RATLS_ATTEST_IAS) {
        st = ias_quote_verify(ev.quote, ev.quote_len, ias, ias_len, p, now, &c);
    } else {
        attest_collateral *loaded = NULL;
        const attest_collateral *coll = p->collateral;
        if (p->collateral_path != NULL) {
            st = attest_collateral_load(p->collateral_path, &loaded);
            if (st != VEIL_OK) return st;
            coll = loaded;
        }
        st = attest_quote_verify(ev.quote, ev.quote_len, coll, (int64_t)now, &c);
        attest_collateral_free(loaded);
    }
    if (st != VEIL_OK) {
        if (veil_error_detail()[0] == '\0')
            veil_error_detail_set("quote in the evidence: %s", veil_status_str(st));
        return st;
    }
    TRY(check_binding(spki, spki_len, &ev, &c));
    if (nonce != NULL &&
        (ev.nonce == NULL || ev.nonce_len != nonce_len ||
         CRYPTO_memcmp(ev.nonce, nonce, nonce_len) != 0)) {
        veil_error_detail_set(ev.nonce == NULL ? "the evidence carries no nonce"
                                               : "the evidence carries another nonce (replayed?)");
        return VEIL_ERR_RATLS_NONCE;
    }
    TRY(check_identity(p, &c));
    if (claims != NULL) *claims = c;
    return VEIL_OK;
}

/* The certificate's SubjectPublicKeyInfo exactly as encoded in it (free with
 * OPENSSL_free). */
static veil_status cert_spki(X509 *cert, unsigned char **spki, size_t *len)
{
    *spki = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), spki);
    ENSURE(n > 0, VEIL_ERR_CRYPTO);
    *len = (size_t)n;
    return VEIL_OK;
}

veil_status ratls_verify_cert(X509 *cert, const ratls_policy *p, time_t now,
                              attest_claims *claims)
{
    ENSURE(cert != NULL, VEIL_ERR_ARG);
    TRY(check_policy_shape(p));
    veil_error_detail_clear();
    TRY(veil_crypto_init());
    TRY(check_self_signature(cert));
    TRY(check_validity(cert, now));
    const uint8_t *val;
    size_t len, spki_len;
    TRY(evidence_ext_value(cert, &val, &len));
    const uint8_t *ias = NULL;
    size_t ias_len = 0;
    if (p->attestation == RATLS_ATTEST_IAS) {
        veil_status ist = ext_value(cert, RATLS_IAS_OID, &ias, &ias_len);
        if (ist != VEIL_OK && ist != VEIL_ERR_RATLS_NO_EVIDENCE) return ist;
    }
    unsigned char *spki;
    TRY(cert_spki(cert, &spki, &spki_len));
    veil_status st = verify_evidence(val, len, ias, ias_len, spki, spki_len, p, NULL, 0, now,
                                     claims);
    OPENSSL_free(spki);
    return st;
}

veil_status ratls_verify_evidence(const uint8_t *evidence, size_t evidence_len,
                                  const uint8_t *ias, size_t ias_len, X509 *cert,
                                  const ratls_policy *p, const uint8_t *nonce, size_t nonce_len,
                                  attest_claims *claims)
{
    ENSURE(evidence != NULL && cert != NULL && nonce != NULL && nonce_len >= 1 &&
               nonce_len <= RATLS_NONCE_MAX,
           VEIL_ERR_ARG);
    TRY(check_policy_shape(p));
    veil_error_detail_clear();
    TRY(veil_crypto_init());
    size_t spki_len;
    unsigned char *spki;
    TRY(cert_spki(cert, &spki, &spki_len));
    veil_status st = verify_evidence(evidence, evidence_len, ias, ias_len, spki, spki_len, p,
                                     nonce, nonce_len, time(NULL), claims);
    OPENSSL_free(spki);
    return st;
}

veil_status ratls_verify_cert_der(const uint8_t *der, size_t len, const ratls_policy *p,
                                  time_t now, attest_claims *claims)
{
    ENSURE(der != NULL, VEIL_ERR_ARG);
    ENSURE(len > 0 && len <= RATLS_CERT_MAX_LEN, VEIL_ERR_MALFORMED);
    const unsigned char *cp = der;
    X509 *x = d2i_X509(NULL, &cp, (long)len);
    if (x == NULL || cp != der + len) {
        X509_free(x);
        veil_error_detail_set("not exactly one DER certificate");
        return VEIL_ERR_MALFORMED;
    }
    veil_status st = ratls_verify_cert(x, p, now, claims);
    X509_free(x);
    return st;
}
