/* Test-only: a whole SGX DCAP world under a generated root — PCK chain with the SGX
 * extension, CRLs, signed TCB info and QE identity, and quotes v3 (certification data
 * type 5) — so that tests can reach every verdict and refusal of host/attest/dcap.h. */
#ifndef VEIL_TESTS_DCAP_FACTORY_H
#define VEIL_TESTS_DCAP_FACTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "host/attest/dcap.h"
#include "tee/sim/sim_pcs.h"

#define DCAPF_T0 INT64_C(1735689600) /* 2025-01-01: every certificate valid from a year before */

typedef sim_pcs_level dcapf_level;

typedef struct dcapf_spec {
    uint8_t pck_comp[16]; /* the platform's TCB in its PCK certificate */
    uint16_t pck_pcesvn;
    uint8_t pck_fmspc[6];
    uint8_t info_fmspc[6]; /* TCB info's FMSPC */
    const dcapf_level *levels;
    size_t n_levels;
    uint16_t qe_isvsvn;    /* in the QE report */
    uint16_t qe_level_svn; /* the QE identity's one level */
    const char *qe_status;
    bool qe_other_mrsigner; /* the QE identity names another signer */
    bool revoke_pck;        /* the PCK CA's CRL lists the PCK certificate */
    int64_t next_update;    /* of TCB info and QE identity */
} dcapf_spec;

/* The spec's defaults: comps all 2, PCESVN 5, FMSPC 00606a000000 on both sides, one
 * level at exactly that TCB "UpToDate", QE SVN 3 against level 2 "UpToDate", next
 * update DCAPF_T0 + 30 days. */
void dcapf_spec_default(dcapf_spec *s);

typedef struct dcapf_world {
    char *root_pem, *tcb_chain_pem, *tcb_info, *qe_identity;
    uint8_t *root_crl, *pck_crl;
    size_t root_crl_len, pck_crl_len;
    uint8_t *quote;
    size_t quote_len;
} dcapf_world;

/* A certificate valid DCAPF_T0 +- 365 days, with CA or leaf extensions and key
 * identifiers, signed by issuer_key (issuer NULL: self-signed); any key type. And the
 * PEM text of certificates (malloc'd). Both die on failure. */
X509 *dcapf_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
                 long serial);
char *dcapf_pem(X509 *const *certs, size_t n);

/* Builds everything (dies on any failure: a test fixture). */
void dcapf_build(const dcapf_spec *s, dcapf_world *w);
void dcapf_free(dcapf_world *w);
/* The collateral view of a world (pointers into it). */
dcap_collateral dcapf_collateral(const dcapf_world *w);

#endif
