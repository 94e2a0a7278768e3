/* The sim backend's ABI between the loader (playing the CPU and the platform's
 * quoting service) and an enclave image's trusted runtime.
 *
 * An enclave image exports exactly one symbol, SIM_ENCLAVE_ENTRY_SYMBOL. The loader
 * calls it once with the CPU's operation table; the enclave returns its definition
 * (ecall table and init hook). Every operation that SGX would implement as a CPU
 * instruction (EGETKEY, EREPORT, RDRAND) or as an architectural service (quoting
 * enclave, untrusted runtime for ocalls, enclave heap) is one entry here. The
 * operations act on behalf of the enclave whose `cpu` handle they receive: the
 * identity used for key derivation is the one the loader measured, not one the
 * enclave claims.
 */
#ifndef VEIL_TEE_SIM_ABI_H
#define VEIL_TEE_SIM_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "tee/tee.h"

#define SIM_ABI_VERSION 4u /* 2: attestation_report; 3: verify_quote; 4: counter */
#define SIM_ENCLAVE_ENTRY_SYMBOL "veil_sim_enclave_entry"

typedef struct sim_cpu sim_cpu;

/* EGETKEY request. For TEE_KEY_REPORT, policy/svn are ignored and the key is the
 * caller's own report key for key_id. */
typedef struct sim_key_request {
    tee_key_name name;
    tee_key_policy policy;
    uint16_t svn;
    uint8_t key_id[TEE_KEY_ID_LEN];
} sim_key_request;

typedef struct sim_cpu_ops {
    uint32_t abi_version;
    veil_status (*random)(sim_cpu *cpu, void *buf, size_t n);
    veil_status (*getkey)(sim_cpu *cpu, const sim_key_request *req, uint8_t key[TEE_KEY_LEN]);
    veil_status (*report)(sim_cpu *cpu, const tee_target_info *target,
                          const uint8_t report_data[TEE_REPORT_DATA_LEN], tee_report *out);
    void (*identity)(sim_cpu *cpu, tee_identity *out);
    void (*qe_target_info)(sim_cpu *cpu, tee_target_info *out);
    /* Hands a report targeted at the quoting enclave to the platform's quoting service. */
    veil_status (*quote)(sim_cpu *cpu, const tee_report *report_for_qe, uint8_t *out,
                         size_t out_cap, size_t *out_len);
    void *(*alloc)(sim_cpu *cpu, size_t n);
    void (*free)(sim_cpu *cpu, void *p);
    veil_status (*ocall)(sim_cpu *cpu, uint32_t index, const uint8_t *in, size_t in_len,
                         uint8_t *out, size_t out_cap, size_t *out_len);
    /* An attestation report on a quote, through the platform's attestation proxy. */
    veil_status (*attestation_report)(sim_cpu *cpu, const uint8_t *quote, size_t quote_len,
                                      uint8_t *out, size_t out_cap, size_t *out_len);
    /* The platform's quote verification service (tee_quote_verify). */
    veil_status (*verify_quote)(sim_cpu *cpu, const uint8_t *quote, size_t quote_len, int64_t at,
                                tee_quote_verdict *out);
    /* The platform's monotonic counter (id) of the calling enclave's MRENCLAVE: read it,
     * or (increment) add one durably first; *value is the result. */
    veil_status (*counter)(sim_cpu *cpu, const uint8_t id[TEE_COUNTER_ID_LEN], int increment,
                           uint64_t *value);
} sim_cpu_ops;

typedef veil_status (*sim_enclave_entry_fn)(const sim_cpu_ops *ops, sim_cpu *cpu,
                                            const tee_enclave_def **def);

/* Key derivation input layout (both sides agree on nothing else: the CPU derives). */
#define SIM_KDF_LABEL "veil/sim/egetkey/v1"

#endif
