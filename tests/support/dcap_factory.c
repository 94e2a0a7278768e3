/* Test-only SGX DCAP world (dcap_factory.h). */
#include "support/dcap_factory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "crypto/crypto_host.h"

#define DAY INT64_C(86400)

static void die(const char *what)
{
    fprintf(stderr, "dcap_factory: %s\n", what);
    abort();
}

static EVP_PKEY *new_key(void)
{
    EVP_PKEY *k;
    if (veil_p256_keygen(&k) != VEIL_OK) die("keygen");
    return k;
}

static void add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
    if (e == NULL || !X509_add_ext(x, e, -1)) die("extension");
    X509_EXTENSION_free(e);
}

static X509 *make_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
                       long serial, const uint8_t *sgx, size_t sgx_len);

X509 *dcapf_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
                 long serial)
{
    return make_cert(cn, pub, issuer, issuer_key, ca, serial, NULL, 0);
}

static X509 *make_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
                       long serial, const uint8_t *sgx, size_t sgx_len)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    if (x == NULL || n == NULL || !X509_set_version(x, 2) ||
        !ASN1_INTEGER_set(X509_get_serialNumber(x), serial) ||
        !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
        !X509_set_subject_name(x, n) ||
        !X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : n) ||
        !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(DCAPF_T0 - 365 * DAY)) ||
        !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(DCAPF_T0 + 365 * DAY)) ||
        !X509_set_pubkey(x, pub))
        die("certificate");
    X509_NAME_free(n);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    add_ext(x, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_ext(x, &ctx, NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    add_ext(x, &ctx, NID_subject_key_identifier, "hash");
    add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
    if (sgx != NULL) {
        ASN1_OBJECT *o = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        if (o == NULL || os == NULL || !ASN1_OCTET_STRING_set(os, sgx, (int)sgx_len)) die("sgx ext");
        X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os);
        if (e == NULL || !X509_add_ext(x, e, -1)) die("sgx ext");
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(os);
        ASN1_OBJECT_free(o);
    }
    if (!X509_sign(x, issuer_key, EVP_sha256())) die("sign certificate");
    return x;
}

static uint8_t *make_crl(X509 *issuer, EVP_PKEY *key, long revoked, size_t *len)
{
    X509_CRL *c = X509_CRL_new();
    ASN1_TIME *t = ASN1_TIME_new();
    if (c == NULL || t == NULL || !X509_CRL_set_version(c, 1) ||
        !X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer)) ||
        !ASN1_TIME_set(t, (time_t)(DCAPF_T0 - DAY)) || !X509_CRL_set1_lastUpdate(c, t) ||
        !ASN1_TIME_set(t, (time_t)(DCAPF_T0 + 365 * DAY)) || !X509_CRL_set1_nextUpdate(c, t))
        die("crl");
    if (revoked >= 0) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *s = ASN1_INTEGER_new();
        if (r == NULL || s == NULL || !ASN1_INTEGER_set(s, revoked) ||
            !X509_REVOKED_set_serialNumber(r, s) || !ASN1_TIME_set(t, (time_t)(DCAPF_T0 - 3600)) ||
            !X509_REVOKED_set_revocationDate(r, t) || !X509_CRL_add0_revoked(c, r))
            die("revoked");
        ASN1_INTEGER_free(s);
    }
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, NULL, NULL, c, 0);
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
    if (e == NULL || !X509_CRL_add_ext(c, e, -1)) die("crl akid");
    X509_EXTENSION_free(e);
    if (!X509_CRL_sort(c) || !X509_CRL_sign(c, key, EVP_sha256())) die("sign crl");
    ASN1_TIME_free(t);
    unsigned char *der = NULL;
    int n = i2d_X509_CRL(c, &der);
    if (n <= 0) die("crl der");
    X509_CRL_free(c);
    uint8_t *out = malloc((size_t)n);
    memcpy(out, der, (size_t)n);
    OPENSSL_free(der);
    *len = (size_t)n;
    return out;
}

char *dcapf_pem(X509 *const *certs, size_t n)
{
    BIO *b = BIO_new(BIO_s_mem());
    for (size_t i = 0; i < n; i++)
        if (!PEM_write_bio_X509(b, certs[i])) die("pem");
    char *p;
    long len = BIO_get_mem_data(b, &p);
    char *out = malloc((size_t)len + 1);
    memcpy(out, p, (size_t)len);
    out[len] = 0;
    BIO_free(b);
    return out;
}

/* --- the SGX extension, DER by hand ------------------------------------------------ */
typedef struct der {
    uint8_t b[2048];
    size_t n;
} der;

static void der_put(der *d, uint8_t tag, const uint8_t *p, size_t n)
{
    if (d->n + n + 4 > sizeof d->b) die("der");
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
    der_put(out, 0x30, pair.b, pair.n);
}

static void der_int(der *out, int arc, int sub, unsigned v)
{
    uint8_t b[3];
    size_t n = 0;
    if (v > 255) b[n++] = (uint8_t)(v >> 8);
    b[n++] = (uint8_t)v;
    if (b[0] & 0x80) { /* positive INTEGER: a leading zero */
        memmove(b + 1, b, n);
        b[0] = 0;
        n++;
    }
    der_pair(out, arc, sub, 0x02, b, n);
}

static void sgx_extension(const dcapf_spec *s, der *out)
{
    der items = {0}, tcb = {0};
    static const uint8_t ppid[16], cpusvn[16];
    der_pair(&items, 1, 0, 0x04, ppid, 16);
    for (int i = 0; i < 16; i++) der_int(&tcb, 2, i + 1, s->pck_comp[i]);
    der_int(&tcb, 2, 17, s->pck_pcesvn);
    der_pair(&tcb, 2, 18, 0x04, cpusvn, 16);
    der_pair(&items, 2, 0, 0x30, tcb.b, tcb.n);
    static const uint8_t pceid[2];
    der_pair(&items, 3, 0, 0x04, pceid, 2);
    der_pair(&items, 4, 0, 0x04, s->pck_fmspc, 6);
    static const uint8_t type = 0;
    der_pair(&items, 5, 0, 0x0a, &type, 1);
    memset(out, 0, sizeof *out);
    der_put(out, 0x30, items.b, items.n);
}

/* --- signed JSON ----------------------------------------------------------------- */
static void iso(char out[32], int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *sign_doc(const char *member, const char *body, EVP_PKEY *key)
{
    uint8_t sig[64];
    char hex[129];
    if (veil_p256_sign(key, body, strlen(body), sig) != VEIL_OK) die("sign json");
    veil_hex_encode(hex, sig, 64);
    size_t n = strlen(body) + strlen(member) + 200;
    char *doc = malloc(n);
    snprintf(doc, n, "{\"%s\":%s,\"signature\":\"%s\"}", member, body, hex);
    return doc;
}

static const uint8_t g_qe_mrsigner[32] = {0x44, 0x44, 0x44, 0x44};

static char *tcb_info(const dcapf_spec *s, EVP_PKEY *key)
{
    char issued[32], next[32], fmspc[13];
    iso(issued, DCAPF_T0 - DAY);
    iso(next, s->next_update);
    veil_hex_encode(fmspc, s->info_fmspc, 6);
    size_t cap = 4096 + s->n_levels * 1024, n = 0;
    char *b = malloc(cap);
    n += (size_t)snprintf(b + n, cap - n,
                          "{\"id\":\"SGX\",\"version\":3,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
                          "\"fmspc\":\"%s\",\"pceId\":\"0000\",\"tcbType\":0,"
                          "\"tcbEvaluationDataNumber\":1,\"tcbLevels\":[",
                          issued, next, fmspc);
    for (size_t i = 0; i < s->n_levels; i++) {
        const dcapf_level *l = &s->levels[i];
        n += (size_t)snprintf(b + n, cap - n, "%s{\"tcb\":{\"sgxtcbcomponents\":[", i ? "," : "");
        for (int k = 0; k < 16; k++)
            n += (size_t)snprintf(b + n, cap - n, "%s{\"svn\":%u}", k ? "," : "", l->comp[k]);
        n += (size_t)snprintf(b + n, cap - n,
                              "],\"pcesvn\":%u},\"tcbDate\":\"%s\",\"tcbStatus\":\"%s\"%s%s}",
                              l->pcesvn, issued, l->status, l->advisories ? ",\"advisoryIDs\":" : "",
                              l->advisories ? l->advisories : "");
    }
    snprintf(b + n, cap - n, "]}");
    char *doc = sign_doc("tcbInfo", b, key);
    free(b);
    return doc;
}

static char *qe_identity(const dcapf_spec *s, EVP_PKEY *key)
{
    char issued[32], next[32], mrsigner[65], body[2048];
    uint8_t signer[32];
    memcpy(signer, g_qe_mrsigner, 32);
    if (s->qe_other_mrsigner) signer[31] ^= 1;
    iso(issued, DCAPF_T0 - DAY);
    iso(next, s->next_update);
    veil_hex_encode(mrsigner, signer, 32);
    snprintf(body, sizeof body,
             "{\"id\":\"QE\",\"version\":2,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
             "\"tcbEvaluationDataNumber\":1,\"miscselect\":\"00000000\",\"miscselectMask\":"
             "\"FFFFFFFF\",\"attributes\":\"11000000000000000000000000000000\","
             "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\",\"mrsigner\":\"%s\","
             "\"isvprodid\":1,\"tcbLevels\":[{\"tcb\":{\"isvsvn\":%u},\"tcbDate\":\"%s\","
             "\"tcbStatus\":\"%s\"}]}",
             issued, next, mrsigner, s->qe_level_svn, issued, s->qe_status);
    return sign_doc("enclaveIdentity", body, key);
}

/* --- the quote ------------------------------------------------------------------- */
static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, size_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t *make_quote(const dcapf_spec *s, EVP_PKEY *pck_key, const char *chain_pem,
                           size_t *len)
{
    EVP_PKEY *att = new_key();
    uint8_t point[VEIL_P256_PUBKEY_LEN], auth[32];
    if (veil_p256_pubkey_export(att, point) != VEIL_OK) die("att key");
    memset(auth, 0x55, sizeof auth);
    size_t cert_len = strlen(chain_pem);
    size_t sig_len = 64 + 64 + DCAP_REPORT_BODY_LEN + 64 + 2 + sizeof auth + 2 + 4 + cert_len;
    size_t n = DCAP_HEADER_LEN + DCAP_REPORT_BODY_LEN + 4 + sig_len;
    uint8_t *q = calloc(1, n);
    put16(q, 3);
    put16(q + 2, 2);
    put16(q + 8, s->qe_isvsvn);
    put16(q + 10, s->pck_pcesvn);
    static const uint8_t intel[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                      0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
    memcpy(q + 12, intel, 16);
    uint8_t *body = q + DCAP_HEADER_LEN;
    memset(body + DCAP_RB_MRENCLAVE, 0x11, 32);
    memset(body + DCAP_RB_MRSIGNER, 0x22, 32);
    put16(body + DCAP_RB_ISVPRODID, 7);
    put16(body + DCAP_RB_ISVSVN, 3);
    memset(body + DCAP_RB_REPORTDATA, 0x33, 64);
    size_t off = DCAP_HEADER_LEN + DCAP_REPORT_BODY_LEN;
    put32(q + off, sig_len);
    off += 4;
    if (veil_p256_sign(att, q, DCAP_HEADER_LEN + DCAP_REPORT_BODY_LEN, q + off) != VEIL_OK)
        die("quote sig");
    off += 64;
    memcpy(q + off, point + 1, 64);
    off += 64;
    uint8_t *qe = q + off;
    qe[DCAP_RB_ATTRIBUTES] = 0x11;
    memcpy(qe + DCAP_RB_MRSIGNER, g_qe_mrsigner, 32);
    put16(qe + DCAP_RB_ISVPRODID, 1);
    put16(qe + DCAP_RB_ISVSVN, s->qe_isvsvn);
    uint8_t bind[64 + sizeof auth];
    memcpy(bind, point + 1, 64);
    memcpy(bind + 64, auth, sizeof auth);
    veil_sha256(qe + DCAP_RB_REPORTDATA, bind, sizeof bind);
    off += DCAP_REPORT_BODY_LEN;
    if (veil_p256_sign(pck_key, qe, DCAP_REPORT_BODY_LEN, q + off) != VEIL_OK) die("qe sig");
    off += 64;
    put16(q + off, sizeof auth);
    memcpy(q + off + 2, auth, sizeof auth);
    off += 2 + sizeof auth;
    put16(q + off, 5);
    put32(q + off + 2, cert_len);
    memcpy(q + off + 6, chain_pem, cert_len);
    EVP_PKEY_free(att);
    *len = n;
    return q;
}

void dcapf_spec_default(dcapf_spec *s)
{
    static const dcapf_level up = {{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, 5, "UpToDate",
                                   NULL};
    memset(s, 0, sizeof *s);
    memset(s->pck_comp, 2, 16);
    s->pck_pcesvn = 5;
    static const uint8_t fmspc[6] = {0x00, 0x60, 0x6a, 0x00, 0x00, 0x00};
    memcpy(s->pck_fmspc, fmspc, 6);
    memcpy(s->info_fmspc, fmspc, 6);
    s->levels = &up;
    s->n_levels = 1;
    s->qe_isvsvn = 3;
    s->qe_level_svn = 2;
    s->qe_status = "UpToDate";
    s->next_update = DCAPF_T0 + 30 * DAY;
}

void dcapf_build(const dcapf_spec *s, dcapf_world *w)
{
    memset(w, 0, sizeof *w);
    EVP_PKEY *root_key = new_key(), *ca_key = new_key(), *pck_key = new_key(),
             *tcb_key = new_key();
    X509 *root = make_cert("Test SGX Root CA", root_key, NULL, root_key, true, 1, NULL, 0);
    X509 *ca = make_cert("Test SGX PCK Platform CA", ca_key, root, root_key, true, 2, NULL, 0);
    der ext;
    sgx_extension(s, &ext);
    X509 *pck = make_cert("Test SGX PCK Certificate", pck_key, ca, ca_key, false, 77, ext.b, ext.n);
    X509 *tcb = make_cert("Test SGX TCB Signing", tcb_key, root, root_key, false, 3, NULL, 0);
    X509 *chain[3] = {pck, ca, root};
    char *chain_pem = dcapf_pem(chain, 3);
    X509 *tcb_chain[2] = {tcb, root};
    w->root_pem = dcapf_pem(&root, 1);
    w->tcb_chain_pem = dcapf_pem(tcb_chain, 2);
    w->root_crl = make_crl(root, root_key, -1, &w->root_crl_len);
    w->pck_crl = make_crl(ca, ca_key, s->revoke_pck ? 77 : -1, &w->pck_crl_len);
    w->tcb_info = tcb_info(s, tcb_key);
    w->qe_identity = qe_identity(s, tcb_key);
    w->quote = make_quote(s, pck_key, chain_pem, &w->quote_len);
    free(chain_pem);
    X509_free(root);
    X509_free(ca);
    X509_free(pck);
    X509_free(tcb);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(pck_key);
    EVP_PKEY_free(tcb_key);
}

void dcapf_free(dcapf_world *w)
{
    free(w->root_pem);
    free(w->tcb_chain_pem);
    free(w->tcb_info);
    free(w->qe_identity);
    free(w->root_crl);
    free(w->pck_crl);
    free(w->quote);
    memset(w, 0, sizeof *w);
}

dcap_collateral dcapf_collateral(const dcapf_world *w)
{
    dcap_collateral c = {.root_ca_pem = w->root_pem,
                         .root_crl = w->root_crl,
                         .root_crl_len = w->root_crl_len,
                         .pck_crl = w->pck_crl,
                         .pck_crl_len = w->pck_crl_len,
                         .tcb_info_json = w->tcb_info,
                         .tcb_info_len = strlen(w->tcb_info),
                         .tcb_chain_pem = w->tcb_chain_pem,
                         .qe_identity_json = w->qe_identity,
                         .qe_identity_len = strlen(w->qe_identity)};
    return c;
}
