/* The simulated provisioning authority's formats (sim_pcs.h). */
#include "tee/sim/sim_pcs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "crypto/crypto_host.h"

const uint8_t sim_pcs_fmspc[6] = {'V', 'E', 'I', 'L', 0x00, 0x00};

void sim_pcs_qe_mrsigner(uint8_t out[32])
{
    veil_sha256_tagged(out, "veil/sim/qe/v1", "signer", 6);
}

static veil_status add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
    ENSURE(e != NULL, VEIL_ERR_CRYPTO);
    int ok = X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok == 1 ? VEIL_OK : VEIL_ERR_CRYPTO;
}

static veil_status add_sgx_ext(X509 *x, const uint8_t *der, size_t len)
{
    veil_status st = VEIL_ERR_CRYPTO;
    ASN1_OBJECT *o = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *e = NULL;
    if (o != NULL && os != NULL && ASN1_OCTET_STRING_set(os, der, (int)len) == 1)
        e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os);
    if (e != NULL && X509_add_ext(x, e, -1) == 1) st = VEIL_OK;
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(o);
    return st;
}

static veil_status set_serial(X509 *x, uint64_t serial)
{
    uint8_t b[16];
    size_t n = sizeof b;
    if (serial == 0) {
        TRY(veil_random_bytes(b, sizeof b));
        b[0] &= 0x7f;
        b[0] |= 0x01; /* never zero, always 16 bytes */
    } else {
        for (int i = 0; i < 8; i++) b[i] = (uint8_t)(serial >> (56 - 8 * i));
        n = 8;
    }
    BIGNUM *bn = BN_bin2bn(b, (int)n, NULL);
    veil_status st = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL
                         ? VEIL_OK
                         : VEIL_ERR_CRYPTO;
    BN_free(bn);
    return st;
}

veil_status sim_pcs_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
                         uint64_t serial, int64_t not_before, int64_t not_after,
                         const uint8_t *sgx_ext, size_t sgx_ext_len, X509 **out)
{
    veil_status st = VEIL_OK;
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    ENSURE_OUT(x != NULL && n != NULL, VEIL_ERR_NOMEM);
    ENSURE_OUT(X509_set_version(x, X509_VERSION_3) == 1, VEIL_ERR_CRYPTO);
    TRY_OUT(set_serial(x, serial));
    ENSURE_OUT(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                                          (const unsigned char *)"Veil simulated TEE", -1, -1,
                                          0) == 1 &&
                   X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn,
                                              -1, -1, 0) == 1,
               VEIL_ERR_CRYPTO);
    ENSURE_OUT(X509_set_subject_name(x, n) == 1 &&
                   X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : n) == 1,
               VEIL_ERR_CRYPTO);
    ENSURE_OUT(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)not_before) != NULL &&
                   ASN1_TIME_set(X509_getm_notAfter(x), (time_t)not_after) != NULL &&
                   X509_set_pubkey(x, pub) == 1,
               VEIL_ERR_CRYPTO);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    TRY_OUT(add_ext(x, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE"));
    TRY_OUT(add_ext(x, &ctx, NID_key_usage,
                    ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature"));
    TRY_OUT(add_ext(x, &ctx, NID_subject_key_identifier, "hash"));
    TRY_OUT(add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always"));
    if (sgx_ext != NULL) TRY_OUT(add_sgx_ext(x, sgx_ext, sgx_ext_len));
    ENSURE_OUT(X509_sign(x, issuer_key, EVP_sha256()) > 0, VEIL_ERR_CRYPTO);
    *out = x;
    x = NULL;
out:
    X509_NAME_free(n);
    X509_free(x);
    return st;
}

veil_status sim_pcs_crl(X509 *issuer, EVP_PKEY *key, const uint64_t *revoked, size_t n_revoked,
                        int64_t this_update, int64_t next_update, uint8_t **der, size_t *len)
{
    veil_status st = VEIL_ERR_CRYPTO;
    X509_CRL *c = X509_CRL_new();
    ASN1_TIME *t = ASN1_TIME_new();
    X509_EXTENSION *e = NULL;
    unsigned char *d = NULL;
    ENSURE_OUT(c != NULL && t != NULL, VEIL_ERR_NOMEM);
    ENSURE_OUT(X509_CRL_set_version(c, 1) == 1 &&
                   X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer)) == 1 &&
                   ASN1_TIME_set(t, (time_t)this_update) != NULL &&
                   X509_CRL_set1_lastUpdate(c, t) == 1 &&
                   ASN1_TIME_set(t, (time_t)next_update) != NULL &&
                   X509_CRL_set1_nextUpdate(c, t) == 1,
               VEIL_ERR_CRYPTO);
    for (size_t i = 0; i < n_revoked; i++) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *s = ASN1_INTEGER_new();
        bool ok = r != NULL && s != NULL && ASN1_INTEGER_set_uint64(s, revoked[i]) == 1 &&
                  X509_REVOKED_set_serialNumber(r, s) == 1 &&
                  ASN1_TIME_set(t, (time_t)this_update) != NULL &&
                  X509_REVOKED_set_revocationDate(r, t) == 1 && X509_CRL_add0_revoked(c, r) == 1;
        ASN1_INTEGER_free(s);
        if (!ok) X509_REVOKED_free(r);
        ENSURE_OUT(ok, VEIL_ERR_CRYPTO);
    }
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, NULL, NULL, c, 0);
    e = X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
    ENSURE_OUT(e != NULL && X509_CRL_add_ext(c, e, -1) == 1, VEIL_ERR_CRYPTO);
    ENSURE_OUT(X509_CRL_sort(c) == 1 && X509_CRL_sign(c, key, EVP_sha256()) > 0, VEIL_ERR_CRYPTO);
    int n = i2d_X509_CRL(c, &d);
    ENSURE_OUT(n > 0, VEIL_ERR_CRYPTO);
    *der = malloc((size_t)n);
    ENSURE_OUT(*der != NULL, VEIL_ERR_NOMEM);
    memcpy(*der, d, (size_t)n);
    *len = (size_t)n;
    st = VEIL_OK;
out:
    OPENSSL_free(d);
    X509_EXTENSION_free(e);
    ASN1_TIME_free(t);
    X509_CRL_free(c);
    return st;
}

veil_status sim_pcs_pem(X509 *const *certs, size_t n, char **out)
{
    veil_status st = VEIL_ERR_CRYPTO;
    BIO *b = BIO_new(BIO_s_mem());
    ENSURE(b != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < n; i++)
        if (PEM_write_bio_X509(b, certs[i]) != 1) goto out;
    char *p;
    long len = BIO_get_mem_data(b, &p);
    ENSURE_OUT(len > 0, VEIL_ERR_CRYPTO);
    *out = malloc((size_t)len + 1);
    ENSURE_OUT(*out != NULL, VEIL_ERR_NOMEM);
    memcpy(*out, p, (size_t)len);
    (*out)[len] = 0;
    st = VEIL_OK;
out:
    BIO_free(b);
    return st;
}

/* --- Intel's SGX extension, DER by hand --------------------------------------------- */
typedef struct der {
    uint8_t b[SIM_PCS_SGX_EXT_MAX];
    size_t n;
    bool overflow;
} der;

static void der_put(der *d, uint8_t tag, const uint8_t *p, size_t n)
{
    if (d->overflow || d->n + n + 4 > sizeof d->b) {
        d->overflow = true;
        return;
    }
    d->b[d->n++] = tag;
    if (n < 128) {
        d->b[d->n++] = (uint8_t)n;
    } else {
        d->b[d->n++] = 0x82;
        d->b[d->n++] = (uint8_t)(n >> 8);
        d->b[d->n++] = (uint8_t)n;
    }
    memcpy(d->b + d->n, p, n);
    d->n += n;
}

/* SEQUENCE { OID 1.2.840.113741.1.13.1.<arc>[.<sub>], value } */
static void der_pair(der *out, int arc, int sub, uint8_t vtag, const uint8_t *v, size_t vlen)
{
    uint8_t oid[12] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01, (uint8_t)arc};
    size_t on = 10;
    if (sub > 0) oid[on++] = (uint8_t)sub;
    der pair = {0};
    der_put(&pair, 0x06, oid, on);
    der_put(&pair, vtag, v, vlen);
    if (pair.overflow) out->overflow = true;
    der_put(out, 0x30, pair.b, pair.n);
}

static void der_int(der *out, int arc, int sub, unsigned v)
{
    uint8_t b[3];
    size_t n = 0;
    if (v > 255) b[n++] = (uint8_t)(v >> 8);
    b[n++] = (uint8_t)v;
    if (b[0] & 0x80) { /* a positive INTEGER: a leading zero */
        memmove(b + 1, b, n);
        b[0] = 0;
        n++;
    }
    der_pair(out, arc, sub, 0x02, b, n);
}

veil_status sim_pcs_sgx_extension(const uint8_t comp[16], uint16_t pcesvn, const uint8_t fmspc[6],
                                  uint8_t *out, size_t cap, size_t *len)
{
    static const uint8_t ppid[16], pceid[2], type = 0;
    der items = {0}, tcb = {0}, top = {0};
    der_pair(&items, 1, 0, 0x04, ppid, sizeof ppid);
    for (int i = 0; i < 16; i++) der_int(&tcb, 2, i + 1, comp[i]);
    der_int(&tcb, 2, 17, pcesvn);
    der_pair(&tcb, 2, 18, 0x04, comp, 16); /* CPUSVN: the components, as SGX defines them */
    der_pair(&items, 2, 0, 0x30, tcb.b, tcb.n);
    der_pair(&items, 3, 0, 0x04, pceid, sizeof pceid);
    der_pair(&items, 4, 0, 0x04, fmspc, 6);
    der_pair(&items, 5, 0, 0x0a, &type, 1);
    der_put(&top, 0x30, items.b, items.n);
    ENSURE(!tcb.overflow && !items.overflow && !top.overflow && top.n <= cap,
           VEIL_ERR_BUFFER_TOO_SMALL);
    memcpy(out, top.b, top.n);
    *len = top.n;
    return VEIL_OK;
}

/* --- signed JSON ------------------------------------------------------------------- */
static void iso(char out[32], int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* {"<member>":<body>,"signature":"<hex r||s over body's bytes>"} */
static veil_status sign_doc(const char *member, const char *body, EVP_PKEY *key, char **out)
{
    uint8_t sig[64];
    char hex[129];
    TRY(veil_p256_sign(key, body, strlen(body), sig));
    veil_hex_encode(hex, sig, sizeof sig);
    size_t n = strlen(body) + strlen(member) + 160;
    *out = malloc(n);
    ENSURE(*out != NULL, VEIL_ERR_NOMEM);
    snprintf(*out, n, "{\"%s\":%s,\"signature\":\"%s\"}", member, body, hex);
    return VEIL_OK;
}

/* Appends to a growing buffer (dies never: reports overflow through *ok). */
typedef struct sbuf {
    char *b;
    size_t n, cap;
    bool ok;
} sbuf;

static void sb_printf(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *s, const char *fmt, ...)
{
    if (!s->ok) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(s->b + s->n, s->cap - s->n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= s->cap - s->n) {
        s->ok = false;
        return;
    }
    s->n += (size_t)k;
}

veil_status sim_pcs_tcb_info(const uint8_t fmspc[6], const sim_pcs_level *levels, size_t n_levels,
                             int64_t issued, int64_t next_update, EVP_PKEY *key, char **out)
{
    char is[32], nx[32], fm[13];
    iso(is, issued);
    iso(nx, next_update);
    veil_hex_encode(fm, fmspc, 6);
    sbuf s = {.cap = 1024 + n_levels * 1024, .ok = true};
    ENSURE(n_levels <= 64, VEIL_ERR_ARG);
    s.b = malloc(s.cap);
    ENSURE(s.b != NULL, VEIL_ERR_NOMEM);
    sb_printf(&s,
              "{\"id\":\"SGX\",\"version\":3,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
              "\"fmspc\":\"%s\",\"pceId\":\"0000\",\"tcbType\":0,"
              "\"tcbEvaluationDataNumber\":1,\"tcbLevels\":[",
              is, nx, fm);
    for (size_t i = 0; i < n_levels; i++) {
        const sim_pcs_level *l = &levels[i];
        sb_printf(&s, "%s{\"tcb\":{\"sgxtcbcomponents\":[", i ? "," : "");
        for (int k = 0; k < 16; k++) sb_printf(&s, "%s{\"svn\":%u}", k ? "," : "", l->comp[k]);
        sb_printf(&s, "],\"pcesvn\":%u},\"tcbDate\":\"%s\",\"tcbStatus\":\"%s\"%s%s}", l->pcesvn,
                  is, l->status, l->advisories ? ",\"advisoryIDs\":" : "",
                  l->advisories ? l->advisories : "");
    }
    sb_printf(&s, "]}");
    veil_status st = s.ok ? sign_doc("tcbInfo", s.b, key, out) : VEIL_ERR_TOO_LARGE;
    free(s.b);
    return st;
}

veil_status sim_pcs_qe_identity(const uint8_t mrsigner[32], uint16_t level_svn, const char *status,
                                int64_t issued, int64_t next_update, EVP_PKEY *key, char **out)
{
    char is[32], nx[32], signer[65], body[2048];
    iso(is, issued);
    iso(nx, next_update);
    veil_hex_encode(signer, mrsigner, 32);
    int n = snprintf(body, sizeof body,
                     "{\"id\":\"QE\",\"version\":2,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
                     "\"tcbEvaluationDataNumber\":1,\"miscselect\":\"00000000\",\"miscselectMask\":"
                     "\"FFFFFFFF\",\"attributes\":\"11000000000000000000000000000000\","
                     "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\",\"mrsigner\":\"%s\","
                     "\"isvprodid\":%u,\"tcbLevels\":[{\"tcb\":{\"isvsvn\":%u},\"tcbDate\":\"%s\","
                     "\"tcbStatus\":\"%s\"}]}",
                     is, nx, signer, SIM_QE_ISVPRODID, level_svn, is, status);
    ENSURE(n > 0 && (size_t)n < sizeof body, VEIL_ERR_TOO_LARGE);
    return sign_doc("enclaveIdentity", body, key, out);
}

/* --- the quote --------------------------------------------------------------------- */
static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, size_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Offsets (Intel's sgx_quote_3_t and sgx_report_body_t). */
enum { HDR_LEN = 48, RB_ATTRIBUTES = 48, RB_MRSIGNER = 128, RB_ISVPRODID = 256,
       RB_ISVSVN = 258, RB_REPORTDATA = 320 };

veil_status sim_pcs_qe_report(EVP_PKEY *att_key, const uint8_t *auth, size_t auth_len,
                              const uint8_t qe_mrsigner[32], uint16_t qe_svn, EVP_PKEY *pck_key,
                              uint8_t report[SIM_PCS_REPORT_BODY_LEN], uint8_t sig[64])
{
    uint8_t point[VEIL_P256_PUBKEY_LEN], bind[64 + 256];
    ENSURE(auth_len <= 256, VEIL_ERR_ARG);
    TRY(veil_p256_pubkey_export(att_key, point));
    memset(report, 0, SIM_PCS_REPORT_BODY_LEN);
    report[RB_ATTRIBUTES] = 0x11; /* INIT | MODE64BIT, as a production QE */
    memcpy(report + RB_MRSIGNER, qe_mrsigner, 32);
    put16(report + RB_ISVPRODID, SIM_QE_ISVPRODID);
    put16(report + RB_ISVSVN, qe_svn);
    memcpy(bind, point + 1, 64);
    memcpy(bind + 64, auth, auth_len);
    veil_sha256(report + RB_REPORTDATA, bind, 64 + auth_len);
    return veil_p256_sign(pck_key, report, SIM_PCS_REPORT_BODY_LEN, sig);
}

static size_t sig_data_len(const sim_pcs_quoter *q)
{
    return 64 + 64 + SIM_PCS_REPORT_BODY_LEN + 64 + 2 + q->auth_len + 2 + 4 + strlen(q->chain_pem);
}

size_t sim_pcs_quote_len(const sim_pcs_quoter *q)
{
    return HDR_LEN + SIM_PCS_REPORT_BODY_LEN + 4 + sig_data_len(q);
}

veil_status sim_pcs_quote(const sim_pcs_quoter *q, const uint8_t body[SIM_PCS_REPORT_BODY_LEN],
                          uint8_t *out, size_t cap, size_t *len)
{
    static const uint8_t intel_qe_vendor[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                                0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
    uint8_t point[VEIL_P256_PUBKEY_LEN];
    size_t n = sim_pcs_quote_len(q), cert_len = strlen(q->chain_pem);
    ENSURE(n <= cap, VEIL_ERR_BUFFER_TOO_SMALL);
    ENSURE(q->auth_len <= UINT16_MAX && cert_len <= UINT32_MAX, VEIL_ERR_ARG);
    TRY(veil_p256_pubkey_export(q->att_key, point));
    memset(out, 0, HDR_LEN);
    put16(out, 3);     /* version */
    put16(out + 2, 2); /* attestation key type: ECDSA-256-with-P-256 */
    /* 4: TEE type 0 (SGX), 6..8 reserved */
    put16(out + 8, q->qe_svn);
    put16(out + 10, q->pce_svn);
    memcpy(out + 12, intel_qe_vendor, sizeof intel_qe_vendor);
    /* 28: user data (20), zero */
    memcpy(out + HDR_LEN, body, SIM_PCS_REPORT_BODY_LEN);
    size_t off = HDR_LEN + SIM_PCS_REPORT_BODY_LEN;
    put32(out + off, sig_data_len(q));
    off += 4;
    TRY(veil_p256_sign(q->att_key, out, HDR_LEN + SIM_PCS_REPORT_BODY_LEN, out + off));
    off += 64;
    memcpy(out + off, point + 1, 64);
    off += 64;
    memcpy(out + off, q->qe_report, SIM_PCS_REPORT_BODY_LEN);
    off += SIM_PCS_REPORT_BODY_LEN;
    memcpy(out + off, q->qe_report_sig, 64);
    off += 64;
    put16(out + off, (unsigned)q->auth_len);
    if (q->auth_len > 0) memcpy(out + off + 2, q->auth, q->auth_len);
    off += 2 + q->auth_len;
    put16(out + off, 5); /* certification data: PCK leaf || intermediate || root, PEM */
    put32(out + off + 2, cert_len);
    memcpy(out + off + 6, q->chain_pem, cert_len);
    *len = n;
    return VEIL_OK;
}
