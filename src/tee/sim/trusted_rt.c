/* The sim backend's trusted runtime: linked into every enclave image.
 *
 * It implements the trusted side of tee.h on top of the CPU operations the loader
 * hands to the image's entry point (sim_abi.h). Sealing, report verification and
 * quote requests are computed here, inside the enclave, from keys the CPU derives
 * for this enclave's measured identity, as SGX's trusted runtime does with EGETKEY.
 * No I/O, no clock, no environment: everything external goes through `ops`.
 */
#include <string.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "tee/sim/sim_abi.h"
#include "tee/tee.h"

static const sim_cpu_ops *g_ops;
static sim_cpu *g_cpu;

/* The only symbol an enclave image exports (see enclave.map). */
__attribute__((visibility("default"))) veil_status
veil_sim_enclave_entry(const sim_cpu_ops *ops, sim_cpu *cpu, const tee_enclave_def **def);

veil_status veil_sim_enclave_entry(const sim_cpu_ops *ops, sim_cpu *cpu,
                                   const tee_enclave_def **def)
{
    ENSURE(ops != NULL && ops->abi_version == SIM_ABI_VERSION, VEIL_ERR_TEE_LOAD);
    g_ops = ops;
    g_cpu = cpu;
    TRY(veil_crypto_init());
    if (tee_enclave_definition.init != NULL) TRY(tee_enclave_definition.init());
    *def = &tee_enclave_definition;
    return VEIL_OK;
}

veil_status tee_random(void *buf, size_t n) { return g_ops->random(g_cpu, buf, n); }

veil_status tee_counter_increment(const uint8_t id[static TEE_COUNTER_ID_LEN], uint64_t *value)
{
    return g_ops->counter(g_cpu, id, 1, value);
}

veil_status tee_counter_read(const uint8_t id[static TEE_COUNTER_ID_LEN], uint64_t *value)
{
    return g_ops->counter(g_cpu, id, 0, value);
}

void tee_self_identity(tee_identity *out) { g_ops->identity(g_cpu, out); }

void tee_self_target_info(tee_target_info *out)
{
    tee_identity id;
    tee_self_identity(&id);
    memcpy(out->mrenclave, id.mrenclave, TEE_MEASUREMENT_LEN);
    out->attributes = id.attributes;
}

veil_status tee_derive_key(tee_key_name name, tee_key_policy policy, uint16_t svn,
                           const uint8_t key_id[static TEE_KEY_ID_LEN],
                           uint8_t key[static TEE_KEY_LEN])
{
    /* Report keys are only for the report calls, which pick the key id themselves. */
    ENSURE(name == TEE_KEY_SEAL || name == TEE_KEY_APP, VEIL_ERR_TEE_POLICY);
    sim_key_request req = {.name = name, .policy = policy, .svn = svn};
    memcpy(req.key_id, key_id, TEE_KEY_ID_LEN);
    return g_ops->getkey(g_cpu, &req, key);
}


/* --- reports and quotes --------------------------------------------------------- */
veil_status tee_report_create(const tee_target_info *target,
                              const uint8_t report_data[static TEE_REPORT_DATA_LEN],
                              tee_report *out)
{
    return g_ops->report(g_cpu, target, report_data, out);
}

veil_status tee_report_verify(const tee_report *r)
{
    uint8_t key[TEE_KEY_LEN], wire[TEE_REPORT_WIRE_LEN], mac[TEE_REPORT_MAC_LEN];
    sim_key_request req = {.name = TEE_KEY_REPORT};
    memcpy(req.key_id, r->key_id, TEE_KEY_ID_LEN);
    TRY(g_ops->getkey(g_cpu, &req, key));
    tee_report_serialize(r, wire);
    veil_hmac_sha256(mac, key, sizeof key, wire, TEE_REPORT_WIRE_LEN - TEE_REPORT_MAC_LEN);
    veil_wipe(key, sizeof key);
    return veil_ct_equal(mac, r->mac, sizeof mac) ? VEIL_OK : VEIL_ERR_TEE_REPORT_MAC;
}

veil_status tee_quote_create(const uint8_t report_data[static TEE_REPORT_DATA_LEN], uint8_t *out,
                             size_t out_cap, size_t *out_len)
{
    tee_target_info qe;
    tee_report report;
    g_ops->qe_target_info(g_cpu, &qe);
    TRY(tee_report_create(&qe, report_data, &report));
    return g_ops->quote(g_cpu, &report, out, out_cap, out_len);
}

veil_status tee_attestation_report(const uint8_t *quote, size_t quote_len, uint8_t *out,
                                   size_t out_cap, size_t *out_len)
{
    return g_ops->attestation_report(g_cpu, quote, quote_len, out, out_cap, out_len);
}

veil_status tee_quote_verify(const uint8_t *quote, size_t quote_len, int64_t at,
                             tee_quote_verdict *out)
{
    ENSURE(quote != NULL && out != NULL, VEIL_ERR_ARG);
    return g_ops->verify_quote(g_cpu, quote, quote_len, at, out);
}

/* --- memory and ocalls ---------------------------------------------------------- */
void *tee_alloc(size_t n) { return g_ops->alloc(g_cpu, n); }

void *tee_calloc(size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) return NULL;
    void *p = tee_alloc(n);
    if (p != NULL) memset(p, 0, n);
    return p;
}

void tee_free(void *p)
{
    if (p != NULL) g_ops->free(g_cpu, p);
}

veil_status tee_ocall(uint32_t index, const uint8_t *in, size_t in_len, uint8_t *out,
                      size_t out_cap, size_t *out_len)
{
    return g_ops->ocall(g_cpu, index, in, in_len, out, out_cap, out_len);
}
