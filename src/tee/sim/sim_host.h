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
#define SIM_ROOT_SECRET_LEN 32u
/* The platform TCB level travels in the PCK certificate under this OID (a UUID-based
 * OID, 2.25.<uuid>, so no registry is needed). extnValue: the DER of an INTEGER in
 * 0..65535. */
#define SIM_TCB_OID "2.25.276518643080334685377597489766280041568"
#define SIM_QUOTE_CERT_MAX 4096u

struct tee_platform {
    char dir[PATH_MAX];
    uint8_t root_secret[SIM_ROOT_SECRET_LEN];
    EVP_PKEY *pck_key;     /* NULL until provisioned */
    uint8_t *pck_cert_der; /* certified by the provisioning root */
    size_t pck_cert_len;
};

/* Provisioning: creates (or reuses) the provisioning root CA in root_ca_dir, and the
 * platform's attestation key and certificate (with tcb_level) plus root secret in dir.
 * An existing PCK is kept unless `force`. Prints nothing. */
VEIL_MUST_CHECK veil_status sim_platform_provision(const char *dir, const char *root_ca_dir,
                                                   uint16_t tcb_level, bool force);

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

/* The quoting service: verifies a report targeted at the QE and signs its body. */
VEIL_MUST_CHECK veil_status sim_qe_quote(const tee_platform *p, const tee_report *report,
                                         uint8_t *out, size_t out_cap, size_t *out_len);

/* Builds a quote from a body with a given key and cert (tests forge quotes with it). */
VEIL_MUST_CHECK veil_status sim_quote_build(EVP_PKEY *key, const uint8_t *cert_der,
                                            size_t cert_len, const tee_report_body *body,
                                            uint8_t *out, size_t out_cap, size_t *out_len);

/* Reads the TCB level extension of a PCK certificate. */
VEIL_MUST_CHECK veil_status sim_cert_tcb_level(X509 *cert, uint16_t *level);

#endif
