/* ratls_verify.h — verifier of Veil attested-TLS certificates (host side).
 *
 * A certificate is accepted only if every check below passes, in this order (each
 * failure has its own status and a veil_error_detail() naming what did not match,
 * expected vs got in hex; docs/attested-tls.md):
 *   1. self-signature under the certificate's own key      VEIL_ERR_RATLS_CERT_SIGNATURE
 *   2. validity period against `now`                         VEIL_ERR_RATLS_EXPIRED
 *   3. evidence extension present / well-formed              VEIL_ERR_RATLS_NO_EVIDENCE,
 *                                                            VEIL_ERR_RATLS_EVIDENCE_FORMAT
 *   4. quote: chain to the pinned provisioning root and      VEIL_ERR_TEE_QUOTE_CHAIN,
 *      quote signature                                       VEIL_ERR_TEE_QUOTE_SIGNATURE,
 *                                                            VEIL_ERR_TEE_QUOTE_FORMAT
 *   5. report data binds the certificate's key               VEIL_ERR_RATLS_KEY_BINDING
 *   6. debug attribute (unless allow_debug)                  VEIL_ERR_RATLS_DEBUG
 *   7. MRSIGNER, MRENCLAVE (those the policy sets)           VEIL_ERR_RATLS_MRSIGNER,
 *                                                            VEIL_ERR_RATLS_MRENCLAVE
 *   8. product id (if has_prodid)                            VEIL_ERR_RATLS_PRODID
 *   9. minimum SVN (if has_min_svn)                          VEIL_ERR_RATLS_SVN
 *  10. platform TCB (unless allow_out_of_date_tcb)           VEIL_ERR_RATLS_TCB
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
#include "tee/tee.h"

#define RATLS_EVIDENCE_OID "2.23.133.5.4.9"
#define RATLS_REPORT_DATA_TAG "veil/ratls/v1"
/* CBOR tag of Veil sim quotes inside the tagged-evidence extension
 * (docs/attested-tls.md explains the choice). */
#define RATLS_CBOR_TAG_VEIL_SIM_QUOTE 0x5645494Cu /* 1447381324, ASCII "VEIL" */
#define RATLS_CERT_MAX_LEN (64u * 1024u)

/* What a verifier accepts. Pointers are borrowed for the duration of each call.
 * The identity is pinned either by MRENCLAVE (one exact image), or by MRSIGNER together
 * with a product id and a minimum SVN: a signer signs many products (test enclaves,
 * other services, old vulnerable versions), so a signer pin alone accepts all of them.
 * A policy that pins neither, or pins a signer without both product id and minimum
 * SVN, is refused with VEIL_ERR_ARG. The platform TCB floor must be meaningful too:
 * min_platform_tcb 0 (any platform) needs allow_out_of_date_tcb said explicitly. */
typedef struct ratls_policy {
    const uint8_t *mrsigner;  /* TEE_MEASUREMENT_LEN bytes, or NULL: any signer */
    const uint8_t *mrenclave; /* TEE_MEASUREMENT_LEN bytes, or NULL: any image */
    int has_prodid;
    uint16_t prodid;
    int has_min_svn;
    uint16_t min_svn;
    bool allow_debug;
    bool allow_out_of_date_tcb;
    uint16_t min_platform_tcb; /* platform TCB level below this is "out of date" */
    const char *root_pem_path; /* pinned provisioning root (PEM file), or: */
    const uint8_t *root_pem;   /* the same PEM in memory (used when path is NULL) */
    size_t root_pem_len;
} ratls_policy;

/* Checks `cert` (not modified) against `p` at time `now` (the verifier's clock).
 * On VEIL_OK, *claims (may be NULL) holds the verified identity and TCB. */
VEIL_MUST_CHECK veil_status ratls_verify_cert(X509 *cert, const ratls_policy *p, time_t now,
                                              tee_quote_claims *claims);

/* Same, from DER bytes (VEIL_ERR_MALFORMED if they are not exactly one certificate). */
VEIL_MUST_CHECK veil_status ratls_verify_cert_der(const uint8_t *der, size_t len,
                                                  const ratls_policy *p, time_t now,
                                                  tee_quote_claims *claims);

/* Extracts the quote from the evidence extension of `cert` without checking it:
 * *quote points into a copy owned by the caller (free with free()).
 * VEIL_ERR_RATLS_NO_EVIDENCE / VEIL_ERR_RATLS_EVIDENCE_FORMAT. */
VEIL_MUST_CHECK veil_status ratls_cert_evidence(X509 *cert, uint8_t **quote, size_t *quote_len);

/* Parses the extension value (the CBOR bytes inside the OCTET STRING): exactly one
 * tag RATLS_CBOR_TAG_VEIL_SIM_QUOTE over a byte string of 1..TEE_QUOTE_MAX_LEN bytes,
 * nothing after it. *quote points into `cbor`. */
VEIL_MUST_CHECK veil_status ratls_evidence_parse(const uint8_t *cbor, size_t len,
                                                 const uint8_t **quote, size_t *quote_len);

/* The expected report data for a DER SubjectPublicKeyInfo. */
void ratls_report_data(const uint8_t *spki_der, size_t spki_len,
                       uint8_t out[static TEE_REPORT_DATA_LEN]);

#endif
