/* Intel SGX DCAP: ECDSA quote v3 and its verification against collateral (host only).
 *
 * The quote layout is Intel's sgx_quote_3_t (docs/attestation.md): a 48-byte header,
 * the enclave's 384-byte report body, then the signature data: ECDSA P-256 signature
 * over header || body, the attestation public key, the quoting enclave's (QE) report
 * body and its signature by the platform's PCK key, the QE authentication data, and the
 * certification data (type 5: PEM PCK leaf || intermediate || root).
 *
 * dcap_verify follows the order of Intel's Quote Verification Library: the PCK chain to
 * the pinned root with CRLs, the TCB info and the QE identity (signed JSON, their
 * signing chain, validity), the QE report's signature, the binding of the attestation
 * key to the QE report, the quote's signature, the QE identity match, then the TCB
 * level of the platform (PCK certificate's SGX extension against TCB info) and of the
 * QE. Everything is judged at a given time, never the wall clock.
 *
 * Every input is untrusted: the parsers are bounded and refuse trailing bytes.
 */
#ifndef VEIL_HOST_ATTEST_DCAP_H
#define VEIL_HOST_ATTEST_DCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "common/status.h"

#define DCAP_HEADER_LEN 48u
#define DCAP_REPORT_BODY_LEN 384u
#define DCAP_QUOTE_MAX_LEN (64u * 1024u)
#define DCAP_COLLATERAL_MAX_LEN (256u * 1024u) /* each JSON or PEM document */

/* Offsets in a 384-byte report body. */
enum {
    DCAP_RB_CPUSVN = 0,      /* 16 */
    DCAP_RB_MISCSELECT = 16, /* u32 LE */
    DCAP_RB_ATTRIBUTES = 48, /* 16 */
    DCAP_RB_MRENCLAVE = 64,  /* 32 */
    DCAP_RB_MRSIGNER = 128,  /* 32 */
    DCAP_RB_ISVPRODID = 256, /* u16 LE */
    DCAP_RB_ISVSVN = 258,    /* u16 LE */
    DCAP_RB_REPORTDATA = 320 /* 64 */
};

/* A parsed quote: pointers into the caller's bytes. */
typedef struct dcap_quote {
    uint16_t version, att_key_type, qe_svn, pce_svn;
    const uint8_t *header;        /* DCAP_HEADER_LEN, followed by the body: the signed bytes */
    const uint8_t *body;          /* DCAP_REPORT_BODY_LEN */
    const uint8_t *sig;           /* 64: r || s */
    const uint8_t *att_key;       /* 64: x || y */
    const uint8_t *qe_report;     /* DCAP_REPORT_BODY_LEN */
    const uint8_t *qe_report_sig; /* 64 */
    const uint8_t *qe_auth;
    size_t qe_auth_len;
    uint16_t cert_type;
    const uint8_t *cert_data;
    size_t cert_len;
} dcap_quote;

/* VEIL_ERR_TEE_QUOTE_FORMAT (detail says what) unless q is exactly one ECDSA P-256
 * quote of version 3. */
VEIL_MUST_CHECK veil_status dcap_quote_parse(const uint8_t *q, size_t len, dcap_quote *out);

/* The TCB of a PCK certificate, from Intel's SGX extension (1.2.840.113741.1.13.1). */
typedef struct dcap_pck_tcb {
    uint8_t comp[16];
    uint16_t pcesvn;
    uint8_t pceid[2];
    uint8_t fmspc[6];
    bool have_tcb, have_pceid, have_fmspc;
} dcap_pck_tcb;

/* VEIL_ERR_TEE_QUOTE_CHAIN unless pck has a well-formed SGX extension with TCB, PCE-ID
 * and FMSPC. */
VEIL_MUST_CHECK veil_status dcap_pck_tcb_read(X509 *pck, dcap_pck_tcb *t);

typedef enum dcap_tcb_status {
    DCAP_TCB_UP_TO_DATE = 0,
    DCAP_TCB_SW_HARDENING_NEEDED,
    DCAP_TCB_CONFIGURATION_NEEDED,
    DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    DCAP_TCB_OUT_OF_DATE,
    DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
    DCAP_TCB_REVOKED,
} dcap_tcb_status;

/* Intel's spelling ("UpToDate", ...). */
const char *dcap_tcb_status_name(dcap_tcb_status s);
/* The status of Intel's spelling; false if unknown. */
bool dcap_tcb_status_parse(const char *name, dcap_tcb_status *out);

/* Collateral, as PCCS serves it. PEM text, JSON text, CRLs in DER or PEM. */
typedef struct dcap_collateral {
    const char *root_ca_pem;   /* pinned root (Intel SGX Root CA, or a test root) */
    const char *pck_cert_pem;  /* the PCK leaf; NULL: the quote's certification data
                                  (type 5) carries leaf || intermediate || root */
    const char *pck_chain_pem; /* the PCK issuer chain; NULL with type 5 */
    const uint8_t *root_crl;   /* the root CA's CRL */
    size_t root_crl_len;
    const uint8_t *pck_crl;    /* the PCK issuer's CRL */
    size_t pck_crl_len;
    const char *tcb_info_json; /* {"tcbInfo": {...}, "signature": "hex"} (v2 or v3) */
    size_t tcb_info_len;
    const char *tcb_chain_pem; /* TCB signing certificate || root: signs TCB info and QE identity */
    const char *qe_identity_json; /* {"enclaveIdentity": {...}, "signature": "hex"} */
    size_t qe_identity_len;
} dcap_collateral;

typedef struct dcap_result {
    dcap_tcb_status status;          /* the verdict: the worse of the two below */
    dcap_tcb_status platform_status; /* PCK TCB against TCB info */
    dcap_tcb_status qe_status;       /* QE ISVSVN against the QE identity */
    char advisory_ids[512];          /* comma-separated, from the matched TCB level */
    uint8_t fmspc[6];
    const uint8_t *body; /* the enclave's report body in the quote (DCAP_RB_* offsets) */
} dcap_result;

/* Verifies quote at time `at` (Unix seconds). On VEIL_OK *out holds the TCB verdict,
 * which the caller's policy accepts or refuses (any status may be returned, Revoked
 * included). Errors: VEIL_ERR_TEE_QUOTE_FORMAT, VEIL_ERR_TEE_QUOTE_CHAIN (PCK chain),
 * VEIL_ERR_TEE_PCK_REVOKED, VEIL_ERR_TEE_COLLATERAL, VEIL_ERR_TEE_COLLATERAL_EXPIRED,
 * VEIL_ERR_TEE_QUOTE_SIGNATURE (QE report, key binding, or quote), VEIL_ERR_TEE_QE_IDENTITY,
 * VEIL_ERR_TEE_TCB_UNKNOWN; veil_error_detail says which check. */
VEIL_MUST_CHECK veil_status dcap_verify(const uint8_t *quote, size_t quote_len,
                                        const dcap_collateral *c, int64_t at, dcap_result *out);

/* Which TCB statuses a verifier accepts, like Gramine's RA_TLS_ALLOW_* options:
 * UpToDate by default, any other status only when configured, Revoked never. */
typedef struct dcap_policy {
    bool accept[DCAP_TCB_REVOKED]; /* indexed by status; Revoked has no slot */
} dcap_policy;

/* UpToDate only. */
void dcap_policy_default(dcap_policy *p);
/* The default plus a comma-separated list of Intel's status names ("" adds none).
 * VEIL_ERR_USAGE for an unknown name, or for Revoked, which no policy accepts. */
VEIL_MUST_CHECK veil_status dcap_policy_parse(const char *list, dcap_policy *p);
/* VEIL_OK if the verdict is accepted, else VEIL_ERR_TEE_TCB_REFUSED (detail: which). */
VEIL_MUST_CHECK veil_status dcap_policy_check(const dcap_policy *p, const dcap_result *r);

/* The same in two steps, for many quotes against one set of collateral: new checks the
 * collateral once (root, CRLs, TCB signing chain, TCB info, QE identity) at time `at`;
 * check verifies one quote, remembering the last 8 PCK chains that verified (by the
 * SHA-256 of their bytes) and the last 8 attestation keys it imported, so that a warm
 * check costs two ECDSA verifications. A
 * verifier is not thread-safe. check's result points into the quote. */
typedef struct dcap_verifier dcap_verifier;
VEIL_MUST_CHECK veil_status dcap_verifier_new(const dcap_collateral *c, int64_t at,
                                              dcap_verifier **out);
VEIL_MUST_CHECK veil_status dcap_verifier_check(dcap_verifier *v, const uint8_t *quote,
                                                size_t quote_len, dcap_result *out);
void dcap_verifier_free(dcap_verifier *v);

#endif
