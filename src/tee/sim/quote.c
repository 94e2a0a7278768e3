/* Quotes of the sim backend: the quoting service (host side of the simulated QE).
 *
 * A quote is Intel's SGX ECDSA quote v3 (sgx_quote_3_t, docs/attestation.md), made by
 * the same builder as the simulated provisioning authority's (sim_pcs.h); host/attest
 * verifies it against the authority's collateral as it verifies a hardware quote.
 */
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/crypto_host.h"
#include "tee/sim/sim_host.h"
#include "tee/sim/sim_pcs.h"

_Static_assert(48 + 384 + 4 + 64 + 64 + 384 + 64 + 2 + SIM_QE_AUTH_LEN + 6 + SIM_PCK_CHAIN_MAX <=
                   TEE_QUOTE_MAX_LEN,
               "a quote fits TEE_QUOTE_MAX_LEN");

void sim_qe_target_info(tee_target_info *out)
{
    veil_sha256_tagged(out->mrenclave, "veil/sim/qe/v1", "quoting enclave", 15);
    out->attributes = 0;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void sim_report_body_encode(const tee_report_body *b, const uint8_t cpusvn[16], uint8_t out[384])
{
    memset(out, 0, 384);
    memcpy(out, cpusvn, 16);
    put_le(out + 48, b->identity.attributes, 8); /* ATTRIBUTES.FLAGS; XFRM 0 */
    memcpy(out + 64, b->identity.mrenclave, TEE_MEASUREMENT_LEN);
    memcpy(out + 128, b->identity.mrsigner, TEE_MEASUREMENT_LEN);
    put_le(out + 256, b->identity.prodid, 2);
    put_le(out + 258, b->identity.svn, 2);
    memcpy(out + 320, b->report_data, TEE_REPORT_DATA_LEN);
}

veil_status sim_qe_quote(const tee_platform *p, const tee_report *report, uint8_t *out,
                         size_t out_cap, size_t *out_len)
{
    uint8_t key[TEE_KEY_LEN], wire[TEE_REPORT_WIRE_LEN], mac[TEE_REPORT_MAC_LEN], body[384];
    tee_target_info qe;
    ENSURE(p->pck_key != NULL && p->att_key != NULL, VEIL_ERR_TEE_PLATFORM);
    /* The QE signs only what this platform's CPU reported to it: check the MAC with the
     * QE's own report key, as SGX's quoting enclave does. */
    sim_qe_target_info(&qe);
    TRY(sim_cpu_derive(p, TEE_KEY_REPORT, 0, qe.mrenclave, 0, 0, qe.attributes, report->key_id,
                       key));
    tee_report_serialize(report, wire);
    veil_hmac_sha256(mac, key, sizeof key, wire, TEE_REPORT_WIRE_LEN - TEE_REPORT_MAC_LEN);
    veil_wipe(key, sizeof key);
    ENSURE(veil_ct_equal(mac, report->mac, sizeof mac), VEIL_ERR_TEE_REPORT_MAC);
    sim_report_body_encode(&report->body, p->cpusvn, body);
    sim_pcs_quoter q = {.att_key = p->att_key,
                        .qe_svn = SIM_QE_ISVSVN,
                        .pce_svn = p->pcesvn,
                        .qe_report = p->qe_report,
                        .qe_report_sig = p->qe_report_sig,
                        .auth = p->qe_auth,
                        .auth_len = sizeof p->qe_auth,
                        .chain_pem = p->pck_chain};
    return sim_pcs_quote(&q, body, out, out_cap, out_len);
}
