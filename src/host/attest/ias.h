/* IAS-style attestation reports (API v4): verifying what an attestation service answered
 * about a quote (host only). docs/attestation.md, "Attestation reports".
 *
 * The service signs the exact bytes of its JSON answer with RSA-2048 PKCS#1 v1.5
 * SHA-256 (header X-IASReport-Signature, base64) under a signing certificate it sends
 * along (X-IASReport-Signing-Certificate, URL-encoded PEM); the verifier pins the
 * report-signing root. The report names the quote by its first 432 bytes
 * (isvEnclaveQuoteBody) and echoes the nonce of the request. */
#ifndef VEIL_HOST_ATTEST_IAS_H
#define VEIL_HOST_ATTEST_IAS_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "host/attest/dcap.h"

#define IAS_REPORT_MAX_LEN (64u * 1024u)
#define IAS_QUOTE_BODY_LEN 432u /* header 48 || report body 384 */

typedef struct ias_report_check {
    const char *body; /* the report JSON, exactly the bytes received */
    size_t body_len;
    const char *signature_b64;     /* X-IASReport-Signature */
    const char *signing_chain_pem; /* X-IASReport-Signing-Certificate, URL-decoded */
    const char *root_pem;          /* pinned report-signing root */
    const uint8_t *quote;          /* the quote that was submitted */
    size_t quote_len;
    const char *nonce; /* the request's nonce, or NULL if none was sent */
    int64_t at;        /* verification time, Unix seconds */
    int64_t max_age;   /* the report's timestamp must lie in [at - max_age, at + 60] */
} ias_report_check;

typedef struct ias_result {
    dcap_tcb_status status; /* isvEnclaveQuoteStatus, mapped (docs/attestation.md) */
    char advisory_ids[512];
    char id[64];
    int64_t timestamp;
} ias_result;

/* VEIL_OK with the status for the caller's dcap_policy; VEIL_ERR_TEE_IAS_REPORT (bad
 * JSON, chain or signature), VEIL_ERR_TEE_COLLATERAL_EXPIRED (a certificate outside its
 * validity, or a report older than max_age), VEIL_ERR_TEE_IAS_MISMATCH (another quote,
 * or the nonce not echoed), VEIL_ERR_TEE_QUOTE_SIGNATURE (the service found the quote's
 * signature invalid or revoked). */
VEIL_MUST_CHECK veil_status ias_report_verify(const ias_report_check *c, ias_result *out);

#endif
