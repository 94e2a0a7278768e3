/* Host-side internals of the sim backend, shared by its files and `veil platform`. */
#ifndef VEIL_TEE_SIM_HOST_H
#define VEIL_TEE_SIM_HOST_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tee/tee.h"

#define SIM_ROOT_SECRET_FILE "root_secret"
#define SIM_PCK_KEY_FILE "pck.key"
#define SIM_PCK_CERT_FILE "pck.crt"
#define SIM_ROOT_CA_KEY_FILE "root_ca.key"
#define SIM_ROOT_CA_CERT_FILE "root_ca.crt"
#define SIM_PCK_CA_KEY_FILE "pck_ca.key"
#define SIM_PCK_CA_CERT_FILE "pck_ca.crt"
#define SIM_TCB_KEY_FILE "tcb_signing.key"
#define SIM_TCB_CERT_FILE "tcb_signing.crt"
#define SIM_COLLATERAL_FILE "collateral.json"
#define SIM_ROOT_SECRET_LEN 32u
#define SIM_PCK_CHAIN_MAX 6144u /* PEM: PCK leaf || PCK CA || root */
#define SIM_QE_AUTH_LEN 32u

struct tee_platform {
    char dir[PATH_MAX];
    uint8_t root_secret[SIM_ROOT_SECRET_LEN];
    EVP_PKEY *pck_key; /* NULL until provisioned */
    char *pck_chain;   /* PEM: PCK leaf || PCK CA || root (the quote's certification data) */
    /* The quoting enclave's state: an attestation key drawn when the platform opens,
     * bound to the QE's report, which the PCK key signs (as SGX's QE does). */
    char attest_proxy[256]; /* "" : none */
    struct attest_collateral *collateral; /* tee_platform_set_collateral; NULL: none */
    EVP_PKEY *att_key;
    uint8_t cpusvn[16]; /* the platform's TCB, from its PCK certificate */
    uint16_t pcesvn;
    uint8_t qe_auth[SIM_QE_AUTH_LEN];
    uint8_t qe_report[384], qe_report_sig[64];
};

/* Provisioning: creates (or reuses) the authority in root_ca_dir (root CA, PCK CA, TCB
 * signing key, and its collateral.json if missing), and the platform's PCK key and
 * certificate chain (TCB components and PCESVN all tcb_level) plus root secret in dir.
 * An existing PCK is kept unless `force`. Prints nothing. */
VEIL_MUST_CHECK veil_status sim_platform_provision(const char *dir, const char *root_ca_dir,
                                                   uint8_t tcb_level, bool force);

/* Creates a platform: its root secret (the fuses) in dir, created 0700 if missing.
 * VEIL_ERR_EXISTS if it has one. tee_platform_open never creates it. */
VEIL_MUST_CHECK veil_status sim_platform_create(const char *dir);

/* Opens the platform and tells whether an attestation key exists. */
VEIL_MUST_CHECK veil_status sim_platform_is_provisioned(const char *dir, bool *provisioned);

/* Key derivation as the CPU does it (EGETKEY). */
VEIL_MUST_CHECK veil_status sim_cpu_derive(const tee_platform *p, tee_key_name name,
                                           tee_key_policy policy,
                                           const uint8_t identity[TEE_MEASUREMENT_LEN],
                                           uint16_t prodid, uint16_t svn, uint64_t attributes,
                                           const uint8_t key_id[TEE_KEY_ID_LEN],
                                           uint8_t key[TEE_KEY_LEN]);

/* The quoting enclave's fixed identity on every sim platform. */
void sim_qe_target_info(tee_target_info *out);

/* The most heap the enclave has held at once since it was loaded (its allocations and
 * the copies of ecall and ocall buffers, which count against its budget): what a
 * benchmark reports beside the enclave's memory limit. */
size_t sim_enclave_heap_peak(const tee_enclave *e);

/* The quoting service: verifies a report targeted at the QE and makes an SGX ECDSA
 * quote v3 of its body (docs/attestation.md). */
VEIL_MUST_CHECK veil_status sim_qe_quote(const tee_platform *p, const tee_report *report,
                                         uint8_t *out, size_t out_cap, size_t *out_len);

/* The 384-byte SGX report body of an identity and report data: CPUSVN = the platform's
 * TCB components (cpusvn), ATTRIBUTES.FLAGS = identity.attributes, MRENCLAVE,
 * MRSIGNER, ISVPRODID, ISVSVN, REPORTDATA; everything else zero. */
void sim_report_body_encode(const tee_report_body *b, const uint8_t cpusvn[16], uint8_t out[384]);

#endif
