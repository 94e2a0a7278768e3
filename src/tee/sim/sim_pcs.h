/* The simulated provisioning authority: what Intel's Provisioning Certification Service
 * (PCS) and Quoting Enclave do for a real SGX platform, done for the sim backend, so
 * that a simulated platform's quotes and their collateral have exactly Intel's formats
 * (docs/attestation.md) and one verifier judges both (host/attest).
 *
 *   - certificates: the root CA, the PCK platform CA, the TCB signing certificate and
 *     platform PCK certificates carrying Intel's SGX extension (1.2.840.113741.1.13.1:
 *     PPID, TCB components, PCESVN, CPUSVN, PCE-ID, FMSPC, SGX type);
 *   - CRLs, and TCB info (v3) and QE identity (v2) JSON signed as PCS signs them;
 *   - the ECDSA quote v3 (sgx_quote_3_t, certification data type 5).
 *
 * Host only. Tests use the same builders to make worlds that reach every verdict.
 */
#ifndef VEIL_TEE_SIM_PCS_H
#define VEIL_TEE_SIM_PCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/status.h"

#define SIM_PCS_REPORT_BODY_LEN 384u
#define SIM_PCS_SGX_EXT_MAX 1024u

/* The FMSPC of every simulated platform ("VEIL" 00 00), and the simulated QE. */
extern const uint8_t sim_pcs_fmspc[6];
#define SIM_QE_ISVPRODID 1u
#define SIM_QE_ISVSVN 1u
/* The simulated QE's MRSIGNER (a tagged hash; not Intel's). */
void sim_pcs_qe_mrsigner(uint8_t out[32]);

/* A certificate for `pub`, signed by issuer_key, issued by `issuer` (NULL: self-signed),
 * valid [not_before, not_after], CA or leaf extensions with key identifiers, and the SGX
 * extension when sgx_ext is not NULL. serial 0: a random one. */
VEIL_MUST_CHECK veil_status sim_pcs_cert(const char *cn, EVP_PKEY *pub, X509 *issuer,
                                         EVP_PKEY *issuer_key, bool ca, uint64_t serial,
                                         int64_t not_before, int64_t not_after,
                                         const uint8_t *sgx_ext, size_t sgx_ext_len, X509 **out);

/* The DER of Intel's SGX extension value for a platform at (comp, pcesvn) in fmspc. */
VEIL_MUST_CHECK veil_status sim_pcs_sgx_extension(const uint8_t comp[16], uint16_t pcesvn,
                                                  const uint8_t fmspc[6], uint8_t *out,
                                                  size_t cap, size_t *len);

/* A CRL of `issuer` (DER, malloc'd) revoking the given serials. */
VEIL_MUST_CHECK veil_status sim_pcs_crl(X509 *issuer, EVP_PKEY *key, const uint64_t *revoked,
                                        size_t n_revoked, int64_t this_update,
                                        int64_t next_update, uint8_t **der, size_t *len);

/* PEM text of certificates, in order (malloc'd). */
VEIL_MUST_CHECK veil_status sim_pcs_pem(X509 *const *certs, size_t n, char **out);

/* One TCB level of TCB info. */
typedef struct sim_pcs_level {
    uint8_t comp[16];
    uint16_t pcesvn;
    const char *status;     /* Intel's spelling: "UpToDate", "OutOfDate", ... */
    const char *advisories; /* JSON array text, e.g. "[\"INTEL-SA-00001\"]", or NULL */
} sim_pcs_level;

/* {"tcbInfo":{...v3...},"signature":"hex r||s"} signed by key (malloc'd). */
VEIL_MUST_CHECK veil_status sim_pcs_tcb_info(const uint8_t fmspc[6], const sim_pcs_level *levels,
                                             size_t n_levels, int64_t issued, int64_t next_update,
                                             EVP_PKEY *key, char **out);

/* {"enclaveIdentity":{...v2 QE...},"signature":"hex"} with one level (malloc'd). */
VEIL_MUST_CHECK veil_status sim_pcs_qe_identity(const uint8_t mrsigner[32], uint16_t level_svn,
                                                const char *status, int64_t issued,
                                                int64_t next_update, EVP_PKEY *key, char **out);

/* The QE's report for attestation key att_key and auth data: MRSIGNER qe_mrsigner,
 * ISVPRODID 1, ISVSVN qe_svn, REPORTDATA = SHA-256(att key x||y || auth) || 0^32, and
 * its signature by the PCK key. */
VEIL_MUST_CHECK veil_status sim_pcs_qe_report(EVP_PKEY *att_key, const uint8_t *auth,
                                              size_t auth_len, const uint8_t qe_mrsigner[32],
                                              uint16_t qe_svn, EVP_PKEY *pck_key,
                                              uint8_t report[SIM_PCS_REPORT_BODY_LEN],
                                              uint8_t sig[64]);

/* What a quote v3 is made of, besides the enclave's report body. */
typedef struct sim_pcs_quoter {
    EVP_PKEY *att_key;
    uint16_t qe_svn, pce_svn;
    const uint8_t *qe_report; /* SIM_PCS_REPORT_BODY_LEN */
    const uint8_t *qe_report_sig;
    const uint8_t *auth;
    size_t auth_len;
    const char *chain_pem; /* PCK leaf || PCK CA || root */
} sim_pcs_quoter;

/* The quote's length for a quoter. */
size_t sim_pcs_quote_len(const sim_pcs_quoter *q);
/* A quote v3 over `body` (the enclave's 384-byte report body). */
VEIL_MUST_CHECK veil_status sim_pcs_quote(const sim_pcs_quoter *q,
                                          const uint8_t body[SIM_PCS_REPORT_BODY_LEN],
                                          uint8_t *out, size_t cap, size_t *len);

/* The collateral bundle (docs/attestation.md, "Collateral bundle") of an authority
 * directory at time `now`: TCB info whose levels are "UpToDate" from current_level up
 * and "OutOfDate" below it, the QE identity, both CRLs, valid for `days` from an hour
 * before `now`. Written atomically to out_path. */
VEIL_MUST_CHECK veil_status sim_pcs_write_collateral(const char *root_ca_dir, uint8_t current_level,
                                                     int64_t now, unsigned days,
                                                     const char *out_path);

#endif
