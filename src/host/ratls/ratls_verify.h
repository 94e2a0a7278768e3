/* ratls_verify.h — verifier of Veil attested-TLS certificates (host side).
 *
 * A certificate is accepted only if every check below passes, in this order (each
 * failure has its own status and a veil_error_detail() naming what did not match,
 * expected vs got in hex; docs/attested-tls.md):
 *   1. self-signature under the certificate's own key      VEIL_ERR_RATLS_CERT_SIGNATURE
 *   2. validity period against `now`                         VEIL_ERR_RATLS_EXPIRED
 *   3. evidence extension present, once, non-critical        VEIL_ERR_RATLS_NO_EVIDENCE,
 *                                                            VEIL_ERR_RATLS_DUPLICATE_EXT,
 *                                                            VEIL_ERR_RATLS_CRITICAL
 *   4. evidence decodes strictly: tag 60000 [quote, claims]  ratls_evidence_decode's codes
 *   5. quote: SGX DCAP verification against the policy's    attest_quote_verify's codes
 *      collateral at `now` (attest.h: PCK chain to its       (VEIL_ERR_TEE_QUOTE_*,
 *      pinned root, CRLs, TCB info, QE identity, QE report,   VEIL_ERR_TEE_COLLATERAL*,
 *      key binding, quote signature, TCB level)               VEIL_ERR_TEE_PCK_REVOKED, ...)
 *   5b. report data = SHA-256(claims) || 32 zero bytes       VEIL_ERR_RATLS_REPORT_DATA
 *   5c. claims' pubkey-hash = SHA-256(certificate SPKI)      VEIL_ERR_RATLS_KEY_BINDING
 *   5d. the expected nonce (ratls_verify_evidence only)      VEIL_ERR_RATLS_NONCE
 *   6. debug attribute (unless allow_debug)                  VEIL_ERR_RATLS_DEBUG
 *   7. MRSIGNER, MRENCLAVE (those the policy sets)           VEIL_ERR_RATLS_MRSIGNER,
 *                                                            VEIL_ERR_RATLS_MRENCLAVE
 *   8. product id (if has_prodid)                            VEIL_ERR_RATLS_PRODID
 *   9. minimum SVN (if has_min_svn)                          VEIL_ERR_RATLS_SVN
 *  10. TCB status accepted by the policy's `tcb`             VEIL_ERR_RATLS_TCB
 * Ordinary CA validation plays no part: trust comes from the evidence only.
 */
#ifndef VEIL_HOST_RATLS_RATLS_VERIFY_H
#define VEIL_HOST_RATLS_RATLS_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/status.h"
#include "host/attest/attest.h"
#include "host/attest/ias.h"
#include "tee/tee.h"
#include "trusted/ratls/ratls_evidence.h"

/* The evidence format (tag 60000 [quote, claims]) and its OID. */
#define RATLS_CERT_MAX_LEN (64u * 1024u)

/* What a verifier accepts. Pointers are borrowed for the duration of each call.
 * The identity is pinned either by MRENCLAVE (one exact image), or by MRSIGNER together
 * with a product id and a minimum SVN: a signer signs many products (test enclaves,
 * other services, old vulnerable versions), so a signer pin alone accepts all of them.
 * A policy that pins neither, or pins a signer without both product id and minimum
 * SVN, is refused with VEIL_ERR_ARG. The TCB statuses accepted are `tcb`, set with
 * dcap_policy_default (UpToDate only) or dcap_policy_parse; Revoked is never accepted.
 * Collateral is required (VEIL_ERR_ARG without). */
/* How a verifier judges the quote: SGX DCAP against collateral, or an attestation
 * service's report on it (IAS-style: the certificate's second extension, RATLS_IAS_OID,
 * signed under a pinned report-signing root). */
typedef enum ratls_attestation { RATLS_ATTEST_DCAP = 0, RATLS_ATTEST_IAS = 1 } ratls_attestation;
/* A certificate's report is fetched when its identity is made: it may be as old as the
 * certificate (24 h + 1 h of skew). */
#define RATLS_IAS_DEFAULT_MAX_AGE (25 * 3600)

typedef struct ratls_policy {
    const uint8_t *mrsigner;  /* TEE_MEASUREMENT_LEN bytes, or NULL: any signer */
    const uint8_t *mrenclave; /* TEE_MEASUREMENT_LEN bytes, or NULL: any image */
    int has_prodid;
    uint16_t prodid;
    int has_min_svn;
    uint16_t min_svn;
    bool allow_debug;
    dcap_policy tcb;                     /* TCB statuses accepted */
    ratls_attestation attestation;       /* how the quote is judged (default DCAP) */
    /* DCAP: */
    const char *collateral_path;         /* a collateral bundle or QVL directory, or: */
    const attest_collateral *collateral; /* loaded collateral (used when path is NULL) */
    /* IAS: */
    const char *ias_root_pem;            /* the pinned report-signing root (PEM text) */
    int64_t ias_max_age;                 /* oldest report accepted, seconds (0: default) */
} ratls_policy;

/* Checks `cert` (not modified) against `p` at time `now` (the verifier's clock).
 * On VEIL_OK, *claims (may be NULL) holds the verified identity and TCB. */
VEIL_MUST_CHECK veil_status ratls_verify_cert(X509 *cert, const ratls_policy *p, time_t now,
                                              attest_claims *claims);

/* Same, from DER bytes (VEIL_ERR_MALFORMED if they are not exactly one certificate). */
VEIL_MUST_CHECK veil_status ratls_verify_cert_der(const uint8_t *der, size_t len,
                                                  const ratls_policy *p, time_t now,
                                                  attest_claims *claims);

/* Extracts the quote from the evidence extension of `cert` without checking it:
 * *quote points into a copy owned by the caller (free with free()).
 * VEIL_ERR_RATLS_NO_EVIDENCE / VEIL_ERR_RATLS_EVIDENCE_FORMAT. */
VEIL_MUST_CHECK veil_status ratls_cert_evidence(X509 *cert, uint8_t **quote, size_t *quote_len);

/* Verifies standalone evidence (ratls_evidence.h) for the key of `cert`, which must
 * carry exactly `nonce` (1..RATLS_NONCE_MAX bytes) in its claims: what a client checks
 * after the handshake, having sent the nonce (VEIL_ERR_RATLS_NONCE otherwise). Same
 * policy, steps and codes as ratls_verify_cert from step 4 on; the certificate itself
 * (signature, validity) is the caller's to have checked. */
VEIL_MUST_CHECK veil_status ratls_verify_evidence(const uint8_t *evidence, size_t evidence_len,
                                                  const uint8_t *ias, size_t ias_len,
                                                  X509 *cert, const ratls_policy *p,
                                                  const uint8_t *nonce, size_t nonce_len,
                                                  attest_claims *claims);

#endif
