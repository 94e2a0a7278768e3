/* SGX DCAP quote verification against collateral (dcap.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "chain/cmt_time.h"
#include "common/hex.h"
#include "crypto/crypto.h"
#include "crypto/crypto_host.h"
#include "host/attest/dcap.h"
#include "hostutil/fileio.h"
#include "hostutil/json_raw.h"

#define OID_SGX_EXT "1.2.840.113741.1.13.1"
#define OID_SGX_TCB OID_SGX_EXT ".2"
#define OID_SGX_PCEID OID_SGX_EXT ".3"
#define OID_SGX_FMSPC OID_SGX_EXT ".4"
#define TCB_COMPONENTS 16

static const char *const g_status_names[] = {
    "UpToDate",  "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
    "OutOfDate", "OutOfDateConfigurationNeeded", "Revoked"};

const char *dcap_tcb_status_name(dcap_tcb_status s)
{
    return (unsigned)s < sizeof g_status_names / sizeof g_status_names[0] ? g_status_names[s] : "?";
}

bool dcap_tcb_status_parse(const char *name, dcap_tcb_status *out)
{
    for (size_t i = 0; name != NULL && i < sizeof g_status_names / sizeof g_status_names[0]; i++)
        if (strcmp(name, g_status_names[i]) == 0) {
            *out = (dcap_tcb_status)i;
            return true;
        }
    return false;
}

__attribute__((format(printf, 2, 3))) static veil_status fail(veil_status st, const char *fmt,
                                                              ...)
{
    char text[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    veil_error_detail_set("%s", text);
    return st;
}

void dcap_policy_default(dcap_policy *p)
{
    memset(p, 0, sizeof *p);
    p->accept[DCAP_TCB_UP_TO_DATE] = true;
}

veil_status dcap_policy_parse(const char *list, dcap_policy *p)
{
    dcap_policy_default(p);
    if (list == NULL) return VEIL_OK;
    char buf[256];
    if (strlen(list) >= sizeof buf) return fail(VEIL_ERR_USAGE, "%s", "--accept: list too long");
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *name = strtok_r(buf, ",", &save); name != NULL; name = strtok_r(NULL, ",", &save)) {
        dcap_tcb_status s;
        if (!dcap_tcb_status_parse(name, &s))
            return fail(VEIL_ERR_USAGE, "unknown TCB status '%s'", name);
        if (s == DCAP_TCB_REVOKED)
            return fail(VEIL_ERR_USAGE, "%s", "a Revoked platform is never accepted");
        p->accept[s] = true;
    }
    return VEIL_OK;
}

veil_status dcap_policy_check(const dcap_policy *p, const dcap_result *r)
{
    if (r->status != DCAP_TCB_REVOKED && (unsigned)r->status < DCAP_TCB_REVOKED &&
        p->accept[r->status])
        return VEIL_OK;
    return fail(VEIL_ERR_TEE_TCB_REFUSED, "TCB status %s is not accepted",
                dcap_tcb_status_name(r->status));
}

/* --- certificates and CRLs --------------------------------------------------------- */
/* Every PEM certificate in text, in order; NULL if none or one does not parse. */
static STACK_OF(X509) *certs_from_pem(const char *pem, size_t len)
{
    if (pem == NULL || len == 0 || len > DCAP_COLLATERAL_MAX_LEN) return NULL;
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    STACK_OF(X509) *sk = sk_X509_new_null();
    if (b == NULL || sk == NULL) goto bad;
    X509 *x;
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
        if (!sk_X509_push(sk, x)) {
            X509_free(x);
            goto bad;
        }
    ERR_clear_error(); /* the end of the text reads as an error */
    BIO_free(b);
    if (sk_X509_num(sk) == 0) {
        sk_X509_free(sk);
        return NULL;
    }
    return sk;
bad:
    BIO_free(b);
    sk_X509_pop_free(sk, X509_free);
    return NULL;
}

static X509_CRL *crl_parse(const uint8_t *p, size_t len)
{
    if (p == NULL || len == 0 || len > DCAP_COLLATERAL_MAX_LEN) return NULL;
    const uint8_t *q = p;
    X509_CRL *crl = d2i_X509_CRL(NULL, &q, (long)len);
    if (crl != NULL && q == p + len) return crl;
    X509_CRL_free(crl);
    BIO *b = BIO_new_mem_buf(p, (int)len);
    crl = b != NULL ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    return crl;
}

/* leaf, with `chain` as untrusted intermediates, up to the pinned root at time `at`,
 * every certificate checked against the CRLs. */
static veil_status chain_verify(X509 *root, X509 *leaf, STACK_OF(X509) *chain, X509_CRL *root_crl,
                                X509_CRL *pck_crl, int64_t at, veil_status chain_err,
                                const char *what)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    veil_status st = VEIL_OK;
    if (store == NULL || ctx == NULL || !X509_STORE_add_cert(store, root) ||
        (root_crl != NULL && !X509_STORE_add_crl(store, root_crl)) ||
        (pck_crl != NULL && !X509_STORE_add_crl(store, pck_crl)) ||
        !X509_STORE_CTX_init(ctx, store, leaf, chain)) {
        st = VEIL_ERR_NOMEM;
        goto out;
    }
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(vp, (time_t)at);
    X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL |
                                        X509_V_FLAG_X509_STRICT);
    if (X509_verify_cert(ctx) != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        const char *why = X509_verify_cert_error_string(e);
        if (e == X509_V_ERR_CERT_REVOKED)
            st = VEIL_ERR_TEE_PCK_REVOKED;
        else if (e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID ||
                 e == X509_V_ERR_CRL_HAS_EXPIRED || e == X509_V_ERR_CRL_NOT_YET_VALID)
            st = VEIL_ERR_TEE_COLLATERAL_EXPIRED;
        else
            st = chain_err;
        veil_error_detail_set("%s: %s (depth %d)", what, why, X509_STORE_CTX_get_error_depth(ctx));
    }
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return st;
}

/* --- signed JSON ------------------------------------------------------------------- */
/* "2019-09-05T07:47:07Z" (RFC 3339, as cmt_time_parse reads it) -> Unix seconds. */
static bool iso_time(const char *s, int64_t *out)
{
    cmt_timestamp t;
    if (s == NULL || cmt_time_parse(s, &t) != VEIL_OK) return false;
    *out = t.seconds;
    return true;
}

static bool hex_field(json_t *o, const char *key, uint8_t *out, size_t n)
{
    const char *h = json_string_value(json_object_get(o, key));
    return h != NULL && strlen(h) == 2 * n && veil_hex_decode_exact(out, n, h, 2 * n) == VEIL_OK;
}

typedef struct signed_doc {
    json_t *root;
    json_t *body; /* the signed member */
} signed_doc;

/* Parses {"<member>": {...}, "signature": "<128 hex>"}, checks the signature by
 * `signer` over the member's raw bytes, and its issueDate <= at < nextUpdate. */
static veil_status signed_doc_open(const char *doc, size_t len, const char *member,
                                   EVP_PKEY *signer, int64_t at, signed_doc *out)
{
    memset(out, 0, sizeof *out);
    if (doc == NULL || len == 0 || len > DCAP_COLLATERAL_MAX_LEN)
        return fail(VEIL_ERR_TEE_COLLATERAL, "%s: missing or too large", member);
    json_error_t je;
    out->root = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &je);
    out->body = json_object_get(out->root, member);
    size_t raw_off, raw_len;
    uint8_t sig[64];
    /* Intel signs the member's value exactly as it appears in the document. */
    if (!json_is_object(out->body) ||
        veil_json_raw_member(doc, len, member, &raw_off, &raw_len) != VEIL_OK ||
        !hex_field(out->root, "signature", sig, sizeof sig) || json_object_size(out->root) != 2) {
        json_decref(out->root);
        out->root = NULL;
        return fail(VEIL_ERR_TEE_COLLATERAL, "%s: not a signed collateral document", member);
    }
    if (veil_p256_verify(signer, doc + raw_off, raw_len, sig) != VEIL_OK) {
        json_decref(out->root);
        out->root = NULL;
        return fail(VEIL_ERR_TEE_COLLATERAL, "%s: signature does not verify", member);
    }
    int64_t issued, next;
    if (!iso_time(json_string_value(json_object_get(out->body, "issueDate")), &issued) ||
        !iso_time(json_string_value(json_object_get(out->body, "nextUpdate")), &next)) {
        json_decref(out->root);
        out->root = NULL;
        return fail(VEIL_ERR_TEE_COLLATERAL, "%s: bad issueDate or nextUpdate", member);
    }
    if (at < issued || at >= next) {
        json_decref(out->root);
        out->root = NULL;
        return fail(VEIL_ERR_TEE_COLLATERAL_EXPIRED, "%s: not valid at that time", member);
    }
    return VEIL_OK;
}

/* --- the PCK certificate's SGX extension ------------------------------------------- */

static void oid_text(const ASN1_OBJECT *o, char *buf, size_t cap)
{
    if (OBJ_obj2txt(buf, (int)cap, o, 1) <= 0) buf[0] = '\0';
}

/* Elements of a DER SEQUENCE, each a SEQUENCE { OID, value }: calls fn per pair. */
typedef bool (*pair_fn)(void *ctx, const char *oid, const ASN1_TYPE *value);
static bool seq_pairs(const uint8_t *der, long len, pair_fn fn, void *ctx)
{
    const uint8_t *p = der;
    STACK_OF(ASN1_TYPE) *outer = d2i_ASN1_SEQUENCE_ANY(NULL, &p, len);
    bool ok = outer != NULL && p == der + len;
    for (int i = 0; ok && i < sk_ASN1_TYPE_num(outer); i++) {
        const ASN1_TYPE *e = sk_ASN1_TYPE_value(outer, i);
        ok = e->type == V_ASN1_SEQUENCE;
        if (!ok) break;
        const uint8_t *q = e->value.sequence->data;
        long qlen = e->value.sequence->length;
        STACK_OF(ASN1_TYPE) *pair = d2i_ASN1_SEQUENCE_ANY(NULL, &q, qlen);
        ok = pair != NULL && q == e->value.sequence->data + qlen && sk_ASN1_TYPE_num(pair) == 2 &&
             sk_ASN1_TYPE_value(pair, 0)->type == V_ASN1_OBJECT;
        if (ok) {
            char oid[80];
            oid_text(sk_ASN1_TYPE_value(pair, 0)->value.object, oid, sizeof oid);
            ok = fn(ctx, oid, sk_ASN1_TYPE_value(pair, 1));
        }
        sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
    }
    sk_ASN1_TYPE_pop_free(outer, ASN1_TYPE_free);
    return ok;
}

static bool small_int(const ASN1_TYPE *v, long max, long *out)
{
    if (v->type != V_ASN1_INTEGER) return false;
    long x = ASN1_INTEGER_get(v->value.integer);
    if (x < 0 || x > max) return false;
    *out = x;
    return true;
}

static bool tcb_pair(void *ctx, const char *oid, const ASN1_TYPE *v)
{
    dcap_pck_tcb *t = ctx;
    size_t plen = strlen(OID_SGX_TCB ".");
    if (strncmp(oid, OID_SGX_TCB ".", plen) != 0) return true; /* unknown: ignored */
    long n = strtol(oid + plen, NULL, 10), x;
    if (n >= 1 && n <= TCB_COMPONENTS) {
        if (!small_int(v, 255, &x)) return false;
        t->comp[n - 1] = (uint8_t)x;
    } else if (n == 17) {
        if (!small_int(v, 65535, &x)) return false;
        t->pcesvn = (uint16_t)x;
        t->have_tcb = true;
    }
    return true;
}

static bool octets(const ASN1_TYPE *v, uint8_t *out, size_t n)
{
    if (v->type != V_ASN1_OCTET_STRING || (size_t)v->value.octet_string->length != n) return false;
    memcpy(out, v->value.octet_string->data, n);
    return true;
}

static bool sgx_pair(void *ctx, const char *oid, const ASN1_TYPE *v)
{
    dcap_pck_tcb *t = ctx;
    if (strcmp(oid, OID_SGX_TCB) == 0)
        return v->type == V_ASN1_SEQUENCE &&
               seq_pairs(v->value.sequence->data, v->value.sequence->length, tcb_pair, t);
    if (strcmp(oid, OID_SGX_PCEID) == 0) return t->have_pceid = octets(v, t->pceid, 2);
    if (strcmp(oid, OID_SGX_FMSPC) == 0) return t->have_fmspc = octets(v, t->fmspc, 6);
    return true;
}

veil_status dcap_pck_tcb_read(X509 *pck, dcap_pck_tcb *t)
{
    memset(t, 0, sizeof *t);
    ASN1_OBJECT *oid = OBJ_txt2obj(OID_SGX_EXT, 1);
    int idx = oid != NULL ? X509_get_ext_by_OBJ(pck, oid, -1) : -1;
    ASN1_OBJECT_free(oid);
    if (idx < 0) return fail(VEIL_ERR_TEE_QUOTE_CHAIN, "%s", "PCK certificate: no SGX extension");
    ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(X509_get_ext(pck, idx));
    if (!seq_pairs(os->data, os->length, sgx_pair, t) || !t->have_tcb || !t->have_pceid ||
        !t->have_fmspc)
        return fail(VEIL_ERR_TEE_QUOTE_CHAIN, "%s", "PCK certificate: malformed SGX extension");
    return VEIL_OK;
}

/* --- TCB levels ------------------------------------------------------------------ */
/* The components of a TCB info level: v2 names them sgxtcbcomp01svn..16, v3 lists them
 * in sgxtcbcomponents[].svn. */
static bool level_components(json_t *tcb, int version, long comp[TCB_COMPONENTS], long *pcesvn)
{
    for (int i = 0; i < TCB_COMPONENTS; i++) {
        json_t *v;
        if (version >= 3) {
            json_t *arr = json_object_get(tcb, "sgxtcbcomponents");
            if (json_array_size(arr) != TCB_COMPONENTS) return false;
            v = json_object_get(json_array_get(arr, (size_t)i), "svn");
        } else {
            char key[24];
            snprintf(key, sizeof key, "sgxtcbcomp%02dsvn", i + 1);
            v = json_object_get(tcb, key);
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255)
            return false;
        comp[i] = (long)json_integer_value(v);
    }
    json_t *p = json_object_get(tcb, "pcesvn");
    if (!json_is_integer(p) || json_integer_value(p) < 0 || json_integer_value(p) > 65535)
        return false;
    *pcesvn = (long)json_integer_value(p);
    return true;
}

static void advisories(json_t *level, char *out, size_t cap)
{
    out[0] = '\0';
    json_t *ids = json_object_get(level, "advisoryIDs"), *v;
    size_t i, used = 0;
    json_array_foreach(ids, i, v)
    {
        const char *s = json_string_value(v);
        if (s == NULL) continue;
        int n = snprintf(out + used, cap - used, "%s%s", used ? "," : "", s);
        if (n < 0 || (size_t)n >= cap - used) break;
        used += (size_t)n;
    }
}

#define MAX_LEVELS 64

typedef struct tcb_level {
    uint8_t comp[TCB_COMPONENTS];
    uint16_t pcesvn;
    dcap_tcb_status status;
    char advisories[sizeof ((dcap_result *)0)->advisory_ids];
} tcb_level;

typedef struct qe_tcb_level {
    uint16_t isvsvn;
    dcap_tcb_status status;
} qe_tcb_level;

/* TCB info and QE identity, checked and read into plain structures once. */
typedef struct collateral_c {
    uint8_t fmspc[6], pceid[2];
    tcb_level levels[MAX_LEVELS];
    size_t n_levels;
    uint8_t qe_mrsigner[32], misc[4], misc_mask[4], attr[16], attr_mask[16];
    uint16_t qe_prodid;
    qe_tcb_level qe_levels[MAX_LEVELS];
    size_t n_qe_levels;
} collateral_c;

static veil_status tcb_info_read(json_t *info, collateral_c *cc)
{
    json_t *ver = json_object_get(info, "version");
    int version = json_is_integer(ver) ? (int)json_integer_value(ver) : 0;
    if ((version != 2 && version != 3) || !hex_field(info, "fmspc", cc->fmspc, 6) ||
        !hex_field(info, "pceId", cc->pceid, 2))
        return fail(VEIL_ERR_TEE_COLLATERAL, "%s", "TCB info: not version 2 or 3, or no fmspc/pceId");
    json_t *levels = json_object_get(info, "tcbLevels"), *level;
    size_t i;
    if (json_array_size(levels) == 0 || json_array_size(levels) > MAX_LEVELS)
        return fail(VEIL_ERR_TEE_COLLATERAL, "TCB info: %zu TCB levels (1..%d)",
                    json_array_size(levels), MAX_LEVELS);
    json_array_foreach(levels, i, level)
    {
        long comp[TCB_COMPONENTS], pcesvn;
        tcb_level *l = &cc->levels[i];
        if (!level_components(json_object_get(level, "tcb"), version, comp, &pcesvn) ||
            !dcap_tcb_status_parse(json_string_value(json_object_get(level, "tcbStatus")),
                                   &l->status))
            return fail(VEIL_ERR_TEE_COLLATERAL, "%s", "TCB info: malformed TCB level");
        for (int k = 0; k < TCB_COMPONENTS; k++) l->comp[k] = (uint8_t)comp[k];
        l->pcesvn = (uint16_t)pcesvn;
        advisories(level, l->advisories, sizeof l->advisories);
    }
    cc->n_levels = json_array_size(levels);
    return VEIL_OK;
}

static veil_status qe_identity_read(json_t *id, collateral_c *cc)
{
    json_t *prod = json_object_get(id, "isvprodid");
    if (!hex_field(id, "mrsigner", cc->qe_mrsigner, 32) || !hex_field(id, "miscselect", cc->misc, 4) ||
        !hex_field(id, "miscselectMask", cc->misc_mask, 4) ||
        !hex_field(id, "attributes", cc->attr, 16) ||
        !hex_field(id, "attributesMask", cc->attr_mask, 16) || !json_is_integer(prod) ||
        json_integer_value(prod) < 0 || json_integer_value(prod) > 65535)
        return fail(VEIL_ERR_TEE_COLLATERAL, "%s", "QE identity: missing fields");
    cc->qe_prodid = (uint16_t)json_integer_value(prod);
    json_t *levels = json_object_get(id, "tcbLevels"), *level;
    size_t i;
    if (json_array_size(levels) == 0 || json_array_size(levels) > MAX_LEVELS)
        return fail(VEIL_ERR_TEE_COLLATERAL, "%s", "QE identity: no TCB levels, or too many");
    json_array_foreach(levels, i, level)
    {
        json_t *v = json_object_get(json_object_get(level, "tcb"), "isvsvn");
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 65535 ||
            !dcap_tcb_status_parse(json_string_value(json_object_get(level, "tcbStatus")),
                                   &cc->qe_levels[i].status))
            return fail(VEIL_ERR_TEE_COLLATERAL, "%s", "QE identity: malformed TCB level");
        cc->qe_levels[i].isvsvn = (uint16_t)json_integer_value(v);
    }
    cc->n_qe_levels = json_array_size(levels);
    return VEIL_OK;
}

static veil_status platform_level(const collateral_c *cc, const dcap_pck_tcb *t, dcap_result *r)
{
    if (memcmp(cc->fmspc, t->fmspc, 6) != 0)
        return fail(VEIL_ERR_TEE_TCB_UNKNOWN, "%s", "TCB info is for another FMSPC");
    if (memcmp(cc->pceid, t->pceid, 2) != 0)
        return fail(VEIL_ERR_TEE_TCB_UNKNOWN, "%s", "TCB info is for another PCE");
    memcpy(r->fmspc, cc->fmspc, 6);
    for (size_t i = 0; i < cc->n_levels; i++) {
        const tcb_level *l = &cc->levels[i];
        bool ok = t->pcesvn >= l->pcesvn;
        for (int k = 0; ok && k < TCB_COMPONENTS; k++) ok = t->comp[k] >= l->comp[k];
        if (!ok) continue;
        r->platform_status = l->status;
        memcpy(r->advisory_ids, l->advisories, sizeof r->advisory_ids);
        return VEIL_OK;
    }
    return fail(VEIL_ERR_TEE_TCB_UNKNOWN, "%s", "the platform's TCB is below every level");
}

static veil_status qe_level(const collateral_c *cc, const uint8_t *qe, dcap_result *r)
{
    if (memcmp(qe + DCAP_RB_MRSIGNER, cc->qe_mrsigner, 32) != 0)
        return fail(VEIL_ERR_TEE_QE_IDENTITY, "%s", "QE report: another MRSIGNER");
    uint16_t qe_prod = (uint16_t)(qe[DCAP_RB_ISVPRODID] | qe[DCAP_RB_ISVPRODID + 1] << 8);
    if (cc->qe_prodid != qe_prod)
        return fail(VEIL_ERR_TEE_QE_IDENTITY, "%s", "QE report: another ISVPRODID");
    /* Byte by byte, in report order, as Intel's QVL compares (and its sample data
     * agrees: the hex string lists the report's bytes). */
    for (int i = 0; i < 4; i++)
        if ((qe[DCAP_RB_MISCSELECT + i] & cc->misc_mask[i]) != (cc->misc[i] & cc->misc_mask[i]))
            return fail(VEIL_ERR_TEE_QE_IDENTITY, "%s", "QE report: MISCSELECT");
    for (int i = 0; i < 16; i++)
        if ((qe[DCAP_RB_ATTRIBUTES + i] & cc->attr_mask[i]) != (cc->attr[i] & cc->attr_mask[i]))
            return fail(VEIL_ERR_TEE_QE_IDENTITY, "%s", "QE report: ATTRIBUTES");
    uint16_t svn = (uint16_t)(qe[DCAP_RB_ISVSVN] | qe[DCAP_RB_ISVSVN + 1] << 8);
    for (size_t i = 0; i < cc->n_qe_levels; i++) {
        if (svn < cc->qe_levels[i].isvsvn) continue;
        r->qe_status = cc->qe_levels[i].status;
        return VEIL_OK;
    }
    return fail(VEIL_ERR_TEE_QE_IDENTITY, "%s", "the QE's ISVSVN is below every level");
}

/* --- the verifier -------------------------------------------------------------------- */
#define PCK_CACHE 8

/* A PCK chain that verified: by the SHA-256 of the bytes it came from. */
typedef struct pck_entry {
    bool used;
    uint8_t id[32];
    EVP_PKEY *key;
    dcap_pck_tcb tcb;
    uint64_t last_use;
} pck_entry;

/* An attestation key already imported: a platform's QE signs every quote with it. */
typedef struct att_entry {
    bool used;
    uint8_t xy[64];
    EVP_PKEY *key;
    uint64_t last_use;
} att_entry;

struct dcap_verifier {
    int64_t at;
    att_entry att[PCK_CACHE];
    X509 *root;
    STACK_OF(X509) *roots;
    X509_CRL *root_crl, *pck_crl;
    collateral_c cc;
    char *pck_pem; /* the collateral's PCK leaf || chain, for quotes without their own */
    size_t pck_pem_len;
    pck_entry pck[PCK_CACHE];
    uint64_t clock;
};

void dcap_verifier_free(dcap_verifier *v)
{
    if (v == NULL) return;
    sk_X509_pop_free(v->roots, X509_free);
    X509_CRL_free(v->root_crl);
    X509_CRL_free(v->pck_crl);
    for (size_t i = 0; i < PCK_CACHE; i++) EVP_PKEY_free(v->pck[i].key);
    for (size_t i = 0; i < PCK_CACHE; i++) EVP_PKEY_free(v->att[i].key);
    free(v->pck_pem);
    free(v);
}

veil_status dcap_verifier_new(const dcap_collateral *c, int64_t at, dcap_verifier **out)
{
    veil_status st;
    STACK_OF(X509) *tcb_chain = NULL;
    signed_doc tcb = {0}, qe = {0};
    dcap_verifier *v = calloc(1, sizeof *v);
    ENSURE(v != NULL, VEIL_ERR_NOMEM);
    v->at = at;
    v->roots = certs_from_pem(c->root_ca_pem, c->root_ca_pem ? strlen(c->root_ca_pem) : 0);
    ENSURE_OUT(v->roots != NULL && sk_X509_num(v->roots) == 1,
               fail(VEIL_ERR_TEE_COLLATERAL, "%s", "the pinned root is not one PEM certificate"));
    v->root = sk_X509_value(v->roots, 0);
    v->root_crl = crl_parse(c->root_crl, c->root_crl_len);
    v->pck_crl = crl_parse(c->pck_crl, c->pck_crl_len);
    ENSURE_OUT(v->root_crl != NULL && v->pck_crl != NULL,
               fail(VEIL_ERR_TEE_COLLATERAL, "%s", "a CRL is missing or malformed"));
    /* TCB info and QE identity, signed by the TCB signing certificate. */
    tcb_chain = certs_from_pem(c->tcb_chain_pem, c->tcb_chain_pem ? strlen(c->tcb_chain_pem) : 0);
    ENSURE_OUT(tcb_chain != NULL,
               fail(VEIL_ERR_TEE_COLLATERAL, "%s", "TCB signing chain does not parse"));
    X509 *tcb_signer = sk_X509_value(tcb_chain, 0);
    TRY_OUT(chain_verify(v->root, tcb_signer, tcb_chain, v->root_crl, NULL, at,
                         VEIL_ERR_TEE_COLLATERAL, "TCB signing chain"));
    EVP_PKEY *tcb_key = X509_get0_pubkey(tcb_signer);
    ENSURE_OUT(tcb_key != NULL, VEIL_ERR_TEE_COLLATERAL);
    TRY_OUT(signed_doc_open(c->tcb_info_json, c->tcb_info_len, "tcbInfo", tcb_key, at, &tcb));
    TRY_OUT(signed_doc_open(c->qe_identity_json, c->qe_identity_len, "enclaveIdentity", tcb_key, at,
                            &qe));
    TRY_OUT(tcb_info_read(tcb.body, &v->cc));
    TRY_OUT(qe_identity_read(qe.body, &v->cc));
    size_t a = c->pck_cert_pem ? strlen(c->pck_cert_pem) : 0;
    size_t b = c->pck_chain_pem ? strlen(c->pck_chain_pem) : 0;
    if (a > 0 && b > 0) {
        ENSURE_OUT(a + b + 1 <= DCAP_COLLATERAL_MAX_LEN,
                   fail(VEIL_ERR_TEE_COLLATERAL, "%s", "PCK certificate and chain too large"));
        v->pck_pem = malloc(a + b + 2);
        ENSURE_OUT(v->pck_pem != NULL, VEIL_ERR_NOMEM);
        memcpy(v->pck_pem, c->pck_cert_pem, a);
        v->pck_pem[a] = '\n';
        memcpy(v->pck_pem + a + 1, c->pck_chain_pem, b);
        v->pck_pem[a + b + 1] = '\0';
        v->pck_pem_len = a + b + 1;
    }
    *out = v;
    v = NULL;
    st = VEIL_OK;
out:
    json_decref(tcb.root);
    json_decref(qe.root);
    sk_X509_pop_free(tcb_chain, X509_free);
    dcap_verifier_free(v);
    return st;
}

/* The PCK key and TCB of a chain in PEM text: verified once, then from the cache. */
static veil_status pck_lookup(dcap_verifier *v, const uint8_t *pem, size_t len,
                              veil_status bad_format, const pck_entry **out)
{
    uint8_t id[32];
    veil_sha256(id, pem, len);
    for (size_t i = 0; i < PCK_CACHE; i++)
        if (v->pck[i].used && memcmp(v->pck[i].id, id, 32) == 0) {
            v->pck[i].last_use = ++v->clock;
            *out = &v->pck[i];
            return VEIL_OK;
        }
    veil_status st;
    STACK_OF(X509) *chain = certs_from_pem((const char *)pem, len);
    ENSURE_OUT(chain != NULL && sk_X509_num(chain) >= 2,
               fail(bad_format, "%s", "the PCK certificate chain does not parse"));
    X509 *pck = sk_X509_value(chain, 0);
    /* As Intel's QVL: the chain the quote carries ends in the pinned root itself. */
    ENSURE_OUT(X509_cmp(sk_X509_value(chain, sk_X509_num(chain) - 1), v->root) == 0,
               fail(VEIL_ERR_TEE_QUOTE_CHAIN, "%s",
                    "PCK chain: its root is not the pinned root certificate"));
    TRY_OUT(chain_verify(v->root, pck, chain, v->root_crl, v->pck_crl, v->at,
                         VEIL_ERR_TEE_QUOTE_CHAIN, "PCK chain"));
    dcap_pck_tcb t;
    TRY_OUT(dcap_pck_tcb_read(pck, &t));
    EVP_PKEY *key = X509_get_pubkey(pck);
    ENSURE_OUT(key != NULL, fail(VEIL_ERR_TEE_QUOTE_CHAIN, "%s", "PCK certificate: no key"));
    pck_entry *e = &v->pck[0];
    for (size_t i = 1; i < PCK_CACHE && e->used; i++)
        if (!v->pck[i].used || v->pck[i].last_use < e->last_use) e = &v->pck[i];
    EVP_PKEY_free(e->key);
    *e = (pck_entry){.used = true, .key = key, .tcb = t, .last_use = ++v->clock};
    memcpy(e->id, id, 32);
    *out = e;
    st = VEIL_OK;
out:
    sk_X509_pop_free(chain, X509_free);
    return st;
}

/* The attestation key as an EVP_PKEY (owned by the verifier): imported once. */
static veil_status att_lookup(dcap_verifier *v, const uint8_t xy[static 64], EVP_PKEY **out)
{
    for (size_t i = 0; i < PCK_CACHE; i++)
        if (v->att[i].used && memcmp(v->att[i].xy, xy, 64) == 0) {
            v->att[i].last_use = ++v->clock;
            *out = v->att[i].key;
            return VEIL_OK;
        }
    uint8_t point[VEIL_P256_PUBKEY_LEN];
    EVP_PKEY *key;
    point[0] = 0x04;
    memcpy(point + 1, xy, 64);
    if (veil_p256_pubkey_import(point, &key) != VEIL_OK)
        return fail(VEIL_ERR_TEE_QUOTE_SIGNATURE, "%s", "the attestation key is not a P-256 point");
    att_entry *e = &v->att[0];
    for (size_t i = 1; i < PCK_CACHE && e->used; i++)
        if (!v->att[i].used || v->att[i].last_use < e->last_use) e = &v->att[i];
    EVP_PKEY_free(e->key);
    *e = (att_entry){.used = true, .key = key, .last_use = ++v->clock};
    memcpy(e->xy, xy, 64);
    *out = key;
    return VEIL_OK;
}

veil_status dcap_verifier_check(dcap_verifier *v, const uint8_t *quote, size_t quote_len,
                                dcap_result *out)
{
    dcap_quote q;
    veil_status st;
    EVP_PKEY *att = NULL;
    const pck_entry *pck;

    memset(out, 0, sizeof *out);
    TRY(dcap_quote_parse(quote, quote_len, &q));
    /* 1. The PCK chain: from the quote (certification data type 5) or the collateral. */
    if (q.cert_type == 5)
        TRY(pck_lookup(v, q.cert_data, q.cert_len, VEIL_ERR_TEE_QUOTE_FORMAT, &pck));
    else if (v->pck_pem != NULL)
        TRY(pck_lookup(v, (const uint8_t *)v->pck_pem, v->pck_pem_len, VEIL_ERR_TEE_COLLATERAL,
                       &pck));
    else
        return fail(VEIL_ERR_TEE_COLLATERAL, "%s",
                    "the quote carries no PCK chain and the collateral none either");
    /* 2. The QE report, signed by the PCK key. */
    ENSURE(veil_p256_verify(pck->key, q.qe_report, DCAP_REPORT_BODY_LEN, q.qe_report_sig) ==
               VEIL_OK,
           fail(VEIL_ERR_TEE_QUOTE_SIGNATURE, "%s", "QE report: PCK signature does not verify"));
    /* 3. The attestation key is the one the QE reported: SHA-256(key || auth data). */
    uint8_t h[32];
    uint8_t *bind = malloc(64 + q.qe_auth_len + 1);
    ENSURE(bind != NULL, VEIL_ERR_NOMEM);
    memcpy(bind, q.att_key, 64);
    if (q.qe_auth_len) memcpy(bind + 64, q.qe_auth, q.qe_auth_len);
    veil_sha256(h, bind, 64 + q.qe_auth_len);
    free(bind);
    static const uint8_t zero[32];
    ENSURE(memcmp(h, q.qe_report + DCAP_RB_REPORTDATA, 32) == 0 &&
               memcmp(q.qe_report + DCAP_RB_REPORTDATA + 32, zero, 32) == 0,
           fail(VEIL_ERR_TEE_QUOTE_SIGNATURE, "%s",
                "the attestation key is not the one the QE report binds"));
    /* 4. The quote's own signature. */
    TRY_OUT(att_lookup(v, q.att_key, &att));
    ENSURE_OUT(veil_p256_verify(att, q.header, DCAP_HEADER_LEN + DCAP_REPORT_BODY_LEN, q.sig) ==
                   VEIL_OK,
               fail(VEIL_ERR_TEE_QUOTE_SIGNATURE, "%s", "quote signature does not verify"));
    /* 5. Who the QE is, and the TCB levels; the verdict is the worse of the two (the
     * statuses are ordered by severity). */
    TRY_OUT(qe_level(&v->cc, q.qe_report, out));
    TRY_OUT(platform_level(&v->cc, &pck->tcb, out));
    out->status = out->platform_status > out->qe_status ? out->platform_status : out->qe_status;
    out->body = q.body;
    st = VEIL_OK;
out:
    if (st != VEIL_OK) memset(out, 0, sizeof *out);
    return st;
}

veil_status dcap_verify(const uint8_t *quote, size_t quote_len, const dcap_collateral *c,
                        int64_t at, dcap_result *out)
{
    dcap_verifier *v;
    memset(out, 0, sizeof *out);
    /* The quote's format first: a malformed quote is refused as such whatever the
     * collateral. */
    dcap_quote q;
    TRY(dcap_quote_parse(quote, quote_len, &q));
    TRY(dcap_verifier_new(c, at, &v));
    veil_status st = dcap_verifier_check(v, quote, quote_len, out);
    dcap_verifier_free(v);
    return st;
}
