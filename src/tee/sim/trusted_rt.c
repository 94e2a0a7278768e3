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

/* --- sealing --------------------------------------------------------------------
 * Blob layout (docs/sealing-and-attestation.md), big-endian:
 *   0  magic "VSEL"     4   version (1)      5  policy      6 prodid (u16)
 *   8  svn (u16)       10   reserved (6 bytes, zero)
 *  16  key_id (32)     48   nonce (12)      60  plaintext length (u32)
 *  64  ciphertext (plaintext length) || tag (16)
 * The AEAD (AES-256-GCM-SIV) authenticates header || caller's aad.
 */
#define SEAL_HEADER_LEN 64u
#define SEAL_VERSION 1u
static const uint8_t seal_magic[4] = {'V', 'S', 'E', 'L'};

_Static_assert(SEAL_HEADER_LEN + VEIL_AEAD_TAG_LEN == TEE_SEAL_OVERHEAD, "seal overhead");

typedef struct seal_header {
    uint8_t policy;
    uint16_t prodid;
    uint16_t svn;
    uint8_t key_id[TEE_KEY_ID_LEN];
    uint8_t nonce[VEIL_AEAD_NONCE_LEN];
    uint32_t pt_len;
} seal_header;

static veil_status seal_header_parse(const uint8_t *blob, size_t blob_len, seal_header *h)
{
    veil_reader r = veil_reader_init(blob, blob_len);
    uint8_t magic[4], version, reserved[6];
    TRY(veil_read_bytes(&r, magic, sizeof magic));
    ENSURE(memcmp(magic, seal_magic, sizeof magic) == 0, VEIL_ERR_BAD_MAGIC);
    TRY(veil_read_u8(&r, &version));
    ENSURE(version == SEAL_VERSION, VEIL_ERR_BAD_VERSION);
    TRY(veil_read_u8(&r, &h->policy));
    ENSURE(h->policy == TEE_POLICY_MRSIGNER || h->policy == TEE_POLICY_MRENCLAVE,
           VEIL_ERR_TEE_POLICY);
    TRY(veil_read_u16(&r, &h->prodid));
    TRY(veil_read_u16(&r, &h->svn));
    TRY(veil_read_bytes(&r, reserved, sizeof reserved));
    for (size_t i = 0; i < sizeof reserved; i++) ENSURE(reserved[i] == 0, VEIL_ERR_MALFORMED);
    TRY(veil_read_bytes(&r, h->key_id, sizeof h->key_id));
    TRY(veil_read_bytes(&r, h->nonce, sizeof h->nonce));
    TRY(veil_read_u32(&r, &h->pt_len));
    /* The declared length must account for every remaining byte. */
    ENSURE(veil_reader_left(&r) >= VEIL_AEAD_TAG_LEN, VEIL_ERR_TRUNCATED);
    ENSURE((size_t)h->pt_len + VEIL_AEAD_TAG_LEN == veil_reader_left(&r), VEIL_ERR_MALFORMED);
    return VEIL_OK;
}

static void seal_header_write(const seal_header *h, uint8_t out[static SEAL_HEADER_LEN])
{
    memset(out, 0, SEAL_HEADER_LEN);
    memcpy(out, seal_magic, sizeof seal_magic);
    out[4] = SEAL_VERSION;
    out[5] = h->policy;
    veil_put_u16(out + 6, h->prodid);
    veil_put_u16(out + 8, h->svn);
    memcpy(out + 16, h->key_id, TEE_KEY_ID_LEN);
    memcpy(out + 48, h->nonce, VEIL_AEAD_NONCE_LEN);
    veil_put_u32(out + 60, h->pt_len);
}

/* AEAD associated data = header || caller's aad, assembled in enclave memory. */
static veil_status seal_aad_build(const uint8_t header[static SEAL_HEADER_LEN], const void *aad,
                                  size_t aad_len, uint8_t **out, size_t *out_len)
{
    size_t n;
    ENSURE(!veil_add_overflows(SEAL_HEADER_LEN, aad_len, &n), VEIL_ERR_TOO_LARGE);
    uint8_t *buf = tee_alloc(n);
    ENSURE(buf != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    memcpy(buf, header, SEAL_HEADER_LEN);
    if (aad_len > 0) memcpy(buf + SEAL_HEADER_LEN, aad, aad_len);
    *out = buf;
    *out_len = n;
    return VEIL_OK;
}

veil_status tee_sealed_plaintext_len(const uint8_t *blob, size_t blob_len, size_t *pt_len)
{
    seal_header h;
    TRY(seal_header_parse(blob, blob_len, &h));
    *pt_len = h.pt_len;
    return VEIL_OK;
}

veil_status tee_seal(tee_key_policy policy, const void *aad, size_t aad_len, const void *pt,
                     size_t pt_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    veil_status st;
    uint8_t key[TEE_KEY_LEN], header[SEAL_HEADER_LEN];
    uint8_t *full_aad = NULL;
    size_t full_aad_len;
    tee_identity self;

    ENSURE(policy == TEE_POLICY_MRSIGNER || policy == TEE_POLICY_MRENCLAVE, VEIL_ERR_TEE_POLICY);
    ENSURE(pt_len <= TEE_SEAL_MAX_PLAINTEXT, VEIL_ERR_TOO_LARGE);
    ENSURE(out_cap >= TEE_SEAL_OVERHEAD + pt_len, VEIL_ERR_BUFFER_TOO_SMALL);

    tee_self_identity(&self);
    seal_header h = {.policy = (uint8_t)policy, .prodid = self.prodid, .svn = self.svn,
                     .pt_len = (uint32_t)pt_len};
    TRY(tee_random(h.key_id, sizeof h.key_id));
    TRY(tee_random(h.nonce, sizeof h.nonce));
    TRY(tee_derive_key(TEE_KEY_SEAL, policy, self.svn, h.key_id, key));
    seal_header_write(&h, header);
    TRY_OUT(seal_aad_build(header, aad, aad_len, &full_aad, &full_aad_len));
    TRY_OUT(veil_aead_seal(key, h.nonce, full_aad, full_aad_len, pt, pt_len,
                           out + SEAL_HEADER_LEN));
    memcpy(out, header, SEAL_HEADER_LEN);
    *out_len = TEE_SEAL_OVERHEAD + pt_len;
out:
    veil_wipe(key, sizeof key);
    tee_free(full_aad);
    return st;
}

veil_status tee_unseal(const uint8_t *blob, size_t blob_len, const void *aad, size_t aad_len,
                       uint8_t *out, size_t out_cap, size_t *out_len)
{
    veil_status st;
    seal_header h;
    uint8_t key[TEE_KEY_LEN];
    uint8_t *full_aad = NULL;
    size_t full_aad_len;
    tee_identity self;

    TRY(seal_header_parse(blob, blob_len, &h));
    ENSURE(out_cap >= h.pt_len, VEIL_ERR_BUFFER_TOO_SMALL);
    tee_self_identity(&self);
    /* Clear refusals for what this enclave can never open; everything else (other
     * signer, other image, any altered byte) fails authentication below. */
    ENSURE(h.prodid == self.prodid, VEIL_ERR_TEE_PRODID);
    ENSURE(h.svn <= self.svn, VEIL_ERR_TEE_SVN);
    TRY(tee_derive_key(TEE_KEY_SEAL, (tee_key_policy)h.policy, h.svn, h.key_id, key));
    TRY_OUT(seal_aad_build(blob, aad, aad_len, &full_aad, &full_aad_len));
    st = veil_aead_open(key, h.nonce, full_aad, full_aad_len, blob + SEAL_HEADER_LEN,
                        (size_t)h.pt_len + VEIL_AEAD_TAG_LEN, out);
    if (st == VEIL_ERR_AUTH) st = VEIL_ERR_TEE_UNSEAL;
    if (st == VEIL_OK) *out_len = h.pt_len;
out:
    veil_wipe(key, sizeof key);
    tee_free(full_aad);
    return st;
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
