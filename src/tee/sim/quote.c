/* Quotes of the sim backend: the quoting service (host) and quote verification.
 *
 * Quote layout (big-endian, docs/sealing-and-attestation.md):
 *   0  magic "VQUO"   4 version (u16 = 1)   6 reserved (u16 = 0)
 *   8  identity (76)  84 report_data (64)
 * 148  signature (64): ECDSA P-256 / SHA-256 over bytes [0, 148), r || s
 * 212  certificate length (u16)   214 PCK certificate (DER), issued by the root
 */
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "crypto/crypto_host.h"
#include "hostutil/fileio.h"
#include "tee/sim/sim_host.h"

#define QUOTE_VERSION 1u
#define QUOTE_SIGNED_LEN 148u
#define QUOTE_FIXED_LEN 214u
static const uint8_t quote_magic[4] = {'V', 'Q', 'U', 'O'};

_Static_assert(QUOTE_FIXED_LEN + SIM_QUOTE_CERT_MAX <= TEE_QUOTE_MAX_LEN, "quote size");

void sim_qe_target_info(tee_target_info *out)
{
    veil_sha256_tagged(out->mrenclave, "veil/sim/qe/v1", "quoting enclave", 15);
    out->attributes = 0;
}

veil_status sim_quote_build(EVP_PKEY *key, const uint8_t *cert_der, size_t cert_len,
                            const tee_report_body *body, uint8_t *out, size_t out_cap,
                            size_t *out_len)
{
    ENSURE(cert_len > 0 && cert_len <= SIM_QUOTE_CERT_MAX, VEIL_ERR_TEE_PLATFORM);
    ENSURE(out_cap >= QUOTE_FIXED_LEN + cert_len, VEIL_ERR_BUFFER_TOO_SMALL);
    memset(out, 0, QUOTE_FIXED_LEN);
    memcpy(out, quote_magic, sizeof quote_magic);
    veil_put_u16(out + 4, QUOTE_VERSION);
    tee_identity_serialize(&body->identity, out + 8);
    memcpy(out + 84, body->report_data, TEE_REPORT_DATA_LEN);
    TRY(veil_p256_sign(key, out, QUOTE_SIGNED_LEN, out + QUOTE_SIGNED_LEN));
    veil_put_u16(out + 212, (uint16_t)cert_len);
    memcpy(out + QUOTE_FIXED_LEN, cert_der, cert_len);
    *out_len = QUOTE_FIXED_LEN + cert_len;
    return VEIL_OK;
}

veil_status sim_qe_quote(const tee_platform *p, const tee_report *report, uint8_t *out,
                         size_t out_cap, size_t *out_len)
{
    uint8_t key[TEE_KEY_LEN], wire[TEE_REPORT_WIRE_LEN], mac[TEE_REPORT_MAC_LEN];
    tee_target_info qe;
    ENSURE(p->pck_key != NULL, VEIL_ERR_TEE_PLATFORM);
    /* The QE signs only what this platform's CPU reported to it: check the MAC with the
     * QE's own report key, as SGX's quoting enclave does. */
    sim_qe_target_info(&qe);
    TRY(sim_cpu_derive(p, TEE_KEY_REPORT, 0, qe.mrenclave, 0, 0, qe.attributes, report->key_id,
                       key));
    tee_report_serialize(report, wire);
    veil_hmac_sha256(mac, key, sizeof key, wire, TEE_REPORT_WIRE_LEN - TEE_REPORT_MAC_LEN);
    veil_wipe(key, sizeof key);
    ENSURE(veil_ct_equal(mac, report->mac, sizeof mac), VEIL_ERR_TEE_REPORT_MAC);
    return sim_quote_build(p->pck_key, p->pck_cert_der, p->pck_cert_len, &report->body, out, out_cap,
                           out_len);
}

veil_status sim_cert_tcb_level(X509 *cert, uint16_t *level)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(SIM_TCB_OID, 1);
    ENSURE(oid != NULL, VEIL_ERR_CRYPTO);
    int idx = X509_get_ext_by_OBJ(cert, oid, -1);
    ASN1_OBJECT_free(oid);
    ENSURE(idx >= 0, VEIL_ERR_TEE_QUOTE_FORMAT);
    ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
    ENSURE(os != NULL, VEIL_ERR_TEE_QUOTE_FORMAT);
    const unsigned char *d = ASN1_STRING_get0_data(os);
    long len = ASN1_STRING_length(os);
    ASN1_INTEGER *value = d2i_ASN1_INTEGER(NULL, &d, len);
    /* Exactly one INTEGER in 0..65535 and nothing after it. */
    int64_t v = -1;
    bool ok = value != NULL && d == ASN1_STRING_get0_data(os) + len &&
              ASN1_INTEGER_get_int64(&v, value) == 1 && v >= 0 && v <= UINT16_MAX;
    ASN1_INTEGER_free(value);
    ENSURE(ok, VEIL_ERR_TEE_QUOTE_FORMAT);
    *level = (uint16_t)v;
    return VEIL_OK;
}

static veil_status chain_check(X509 *root, X509 *pck, time_t at)
{
    EVP_PKEY *root_key = X509_get0_pubkey(root);
    ENSURE(root_key != NULL, VEIL_ERR_TEE_QUOTE_CHAIN);
    if (X509_check_issued(root, pck) != X509_V_OK || X509_verify(pck, root_key) != 1) {
        veil_error_detail_set("attestation key certificate is not issued by the pinned root");
        return VEIL_ERR_TEE_QUOTE_CHAIN;
    }
    if (X509_cmp_time(X509_get0_notBefore(pck), &at) >= 0 ||
        X509_cmp_time(X509_get0_notAfter(pck), &at) <= 0) {
        veil_error_detail_set("attestation key certificate is outside its validity period");
        return VEIL_ERR_TEE_QUOTE_CHAIN;
    }
    return VEIL_OK;
}

veil_status tee_quote_verify_mem(const uint8_t *quote, size_t quote_len, const uint8_t *root_pem,
                                 size_t root_pem_len, uint16_t min_platform_tcb,
                                 tee_quote_claims *claims)
{
    return tee_quote_verify_mem_at(quote, quote_len, root_pem, root_pem_len, min_platform_tcb,
                                   (int64_t)time(NULL), claims);
}

veil_status tee_quote_verify_mem_at(const uint8_t *quote, size_t quote_len,
                                    const uint8_t *root_pem, size_t root_pem_len,
                                    uint16_t min_platform_tcb, int64_t at,
                                    tee_quote_claims *claims)
{
    veil_status st = VEIL_OK;
    X509 *root = NULL, *pck = NULL;
    BIO *b = NULL;

    /* Shape first: fixed part, magic, version, reserved, exact certificate length. */
    ENSURE(quote_len <= TEE_QUOTE_MAX_LEN, VEIL_ERR_TEE_QUOTE_FORMAT);
    ENSURE(quote_len >= QUOTE_FIXED_LEN, VEIL_ERR_TEE_QUOTE_FORMAT);
    ENSURE(memcmp(quote, quote_magic, sizeof quote_magic) == 0, VEIL_ERR_TEE_QUOTE_FORMAT);
    ENSURE(veil_get_u16(quote + 4) == QUOTE_VERSION, VEIL_ERR_TEE_QUOTE_FORMAT);
    ENSURE(veil_get_u16(quote + 6) == 0, VEIL_ERR_TEE_QUOTE_FORMAT);
    size_t cert_len = veil_get_u16(quote + 212);
    ENSURE(cert_len > 0 && cert_len <= SIM_QUOTE_CERT_MAX &&
               QUOTE_FIXED_LEN + cert_len == quote_len,
           VEIL_ERR_TEE_QUOTE_FORMAT);
    tee_quote_claims c;
    TRY(tee_identity_parse(quote + 8, TEE_IDENTITY_WIRE_LEN, &c.body.identity));
    memcpy(c.body.report_data, quote + 84, TEE_REPORT_DATA_LEN);

    const uint8_t *cp = quote + QUOTE_FIXED_LEN;
    pck = d2i_X509(NULL, &cp, (long)cert_len);
    ENSURE_OUT(pck != NULL && cp == quote + quote_len, VEIL_ERR_TEE_QUOTE_FORMAT);
    ENSURE_OUT(root_pem_len <= 64 * 1024, VEIL_ERR_TOO_LARGE);
    b = BIO_new_mem_buf(root_pem, (int)root_pem_len);
    ENSURE_OUT(b != NULL, VEIL_ERR_NOMEM);
    root = PEM_read_bio_X509(b, NULL, NULL, NULL);
    ENSURE_OUT(root != NULL, VEIL_ERR_MALFORMED);
    TRY_OUT(chain_check(root, pck, (time_t)at));
    TRY_OUT(sim_cert_tcb_level(pck, &c.platform_tcb));

    EVP_PKEY *pck_key = X509_get0_pubkey(pck);
    ENSURE_OUT(pck_key != NULL && EVP_PKEY_is_a(pck_key, "EC"), VEIL_ERR_TEE_QUOTE_CHAIN);
    st = veil_p256_verify(pck_key, quote, QUOTE_SIGNED_LEN, quote + QUOTE_SIGNED_LEN);
    ENSURE_OUT(st == VEIL_OK, VEIL_ERR_TEE_QUOTE_SIGNATURE);
    c.tcb_status = c.platform_tcb >= min_platform_tcb ? TEE_TCB_UP_TO_DATE : TEE_TCB_OUT_OF_DATE;
    *claims = c;
out:
    BIO_free(b);
    X509_free(root);
    X509_free(pck);
    return st;
}

veil_status tee_quote_verify(const uint8_t *quote, size_t quote_len,
                             const char *pinned_root_pem_path, uint16_t min_platform_tcb,
                             tee_quote_claims *claims)
{
    uint8_t *pem = NULL;
    size_t len;
    TRY(veil_file_read(pinned_root_pem_path, 64 * 1024, &pem, &len));
    veil_status st = tee_quote_verify_mem(quote, quote_len, pem, len, min_platform_tcb, claims);
    free(pem);
    return st;
}
