/* attest.h — quote verification as every Veil host does it (wallets, node joins,
 * enclave-to-enclave TLS): one SGX DCAP verifier (dcap.h) for hardware and simulated
 * platforms, fed with collateral from a bundle file, a bundle in memory (a chain's
 * genesis), or a directory of Intel's QVL file names. docs/attestation.md.
 */
#ifndef VEIL_HOST_ATTEST_ATTEST_H
#define VEIL_HOST_ATTEST_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "host/attest/dcap.h"
#include "tee/tee.h"

#define ATTEST_BUNDLE_MAX (256u * 1024u)

/* Collateral, owned. */
typedef struct attest_collateral attest_collateral;

/* The bundle: one JSON object (docs/attestation.md, "Collateral bundle"):
 *   {"version": 1, "trustedRootCaCert": PEM, "rootCaCrl": hex DER,
 *    "intermediateCaCrl": hex DER, "tcbInfo": the signed TCB info JSON as a string,
 *    "tcbSignChain": PEM, "qeIdentity": the signed QE identity JSON as a string,
 *    optional "pckCert", "pckSignChain": PEM}
 * No other member. VEIL_ERR_TEE_COLLATERAL (detail: which member) if it is not exactly
 * that, VEIL_ERR_TOO_LARGE over ATTEST_BUNDLE_MAX. Signatures are checked at use. */
VEIL_MUST_CHECK veil_status attest_collateral_parse(const uint8_t *bundle, size_t len,
                                                    attest_collateral **out);
/* A bundle file, or a directory holding trustedRootCaCert.pem, rootCaCrl.der,
 * intermediateCaCrl.der (DER or PEM), tcbInfo.json, tcbSignChain.pem,
 * qeIdentity.json and optionally pckCert.pem, pckSignChain.pem. */
VEIL_MUST_CHECK veil_status attest_collateral_load(const char *path, attest_collateral **out);
void attest_collateral_free(attest_collateral *c);
const dcap_collateral *attest_collateral_view(const attest_collateral *c);

/* What a verified quote says. */
typedef struct attest_claims {
    tee_report_body body; /* the enclave's identity and report data */
    dcap_tcb_status tcb_status;
    dcap_tcb_status platform_status, qe_status;
    char advisory_ids[512];
    uint8_t fmspc[6];
} attest_claims;

/* The claims a 384-byte SGX report body names (identity and report data; the TCB
 * fields are left zero, UpToDate). */
void attest_claims_from_body(const uint8_t body[DCAP_REPORT_BODY_LEN], attest_claims *out);

/* Verifies an SGX ECDSA quote v3 against collateral at time `at` (Unix seconds; a
 * chain passes the block's time so that every validator reaches the same verdict), and
 * returns its claims. The TCB verdict is returned, not judged: callers apply their
 * dcap_policy (attest_claims_accept). Errors as dcap_verify. */
VEIL_MUST_CHECK veil_status attest_quote_verify(const uint8_t *quote, size_t quote_len,
                                                const attest_collateral *c, int64_t at,
                                                attest_claims *out);

/* Verifies an attestation report on a quote instead of the quote itself: `ias` is the
 * report as RA-TLS and node joins carry it (CBOR [body, signature, signing chain],
 * docs/ratls.md), checked by ias_report_verify under the pinned report-signing root at
 * time `at`, no older than max_age seconds, for exactly this quote. The claims are those
 * of the quote body the report vouches for, with the report's verdict as TCB and
 * platform status. Errors: ratls_ias_decode's, then ias_report_verify's. */
VEIL_MUST_CHECK veil_status attest_ias_claims(const uint8_t *ias, size_t ias_len,
                                              const uint8_t *quote, size_t quote_len,
                                              const char *root_pem, int64_t at, int64_t max_age,
                                              attest_claims *out);

/* VEIL_OK if the policy accepts the claims' TCB status, else VEIL_ERR_TEE_TCB_REFUSED
 * with the status and advisories in the detail. */
VEIL_MUST_CHECK veil_status attest_claims_accept(const dcap_policy *p, const attest_claims *c);

#endif
