/* Quote verification for every Veil host (attest.h). */
#include "host/attest/attest.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "common/hex.h"
#include "host/attest/ias.h"
#include "hostutil/fileio.h"
#include "trusted/ratls/ratls_evidence.h"

/* The documents; texts are NUL-terminated. */
enum { D_ROOT, D_PCK, D_PCK_CHAIN, D_ROOT_CRL, D_PCK_CRL, D_TCB_INFO, D_TCB_CHAIN, D_QE_ID, N_DOCS };

static const struct {
    const char *member; /* in a bundle */
    const char *file;   /* in a directory */
    bool required, der; /* der: a CRL (hex in a bundle, DER or PEM in a file) */
} g_docs[N_DOCS] = {
    [D_ROOT] = {"trustedRootCaCert", "trustedRootCaCert.pem", true, false},
    [D_PCK] = {"pckCert", "pckCert.pem", false, false},
    [D_PCK_CHAIN] = {"pckSignChain", "pckSignChain.pem", false, false},
    [D_ROOT_CRL] = {"rootCaCrl", "rootCaCrl.der", true, true},
    [D_PCK_CRL] = {"intermediateCaCrl", "intermediateCaCrl.der", true, true},
    [D_TCB_INFO] = {"tcbInfo", "tcbInfo.json", true, false},
    [D_TCB_CHAIN] = {"tcbSignChain", "tcbSignChain.pem", true, false},
    [D_QE_ID] = {"qeIdentity", "qeIdentity.json", true, false},
};

struct attest_collateral {
    uint8_t *doc[N_DOCS];
    size_t len[N_DOCS];
    dcap_collateral view;
};

static veil_status fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static veil_status fail(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    veil_error_detail_set("collateral: %s", buf);
    return VEIL_ERR_TEE_COLLATERAL;
}

void attest_collateral_free(attest_collateral *c)
{
    if (c == NULL) return;
    for (int i = 0; i < N_DOCS; i++) free(c->doc[i]);
    free(c);
}

const dcap_collateral *attest_collateral_view(const attest_collateral *c)
{
    return &c->view;
}

static void make_view(attest_collateral *c)
{
    c->view = (dcap_collateral){.root_ca_pem = (const char *)c->doc[D_ROOT],
                                .pck_cert_pem = (const char *)c->doc[D_PCK],
                                .pck_chain_pem = (const char *)c->doc[D_PCK_CHAIN],
                                .root_crl = c->doc[D_ROOT_CRL],
                                .root_crl_len = c->len[D_ROOT_CRL],
                                .pck_crl = c->doc[D_PCK_CRL],
                                .pck_crl_len = c->len[D_PCK_CRL],
                                .tcb_info_json = (const char *)c->doc[D_TCB_INFO],
                                .tcb_info_len = c->len[D_TCB_INFO],
                                .tcb_chain_pem = (const char *)c->doc[D_TCB_CHAIN],
                                .qe_identity_json = (const char *)c->doc[D_QE_ID],
                                .qe_identity_len = c->len[D_QE_ID]};
}

/* A copy with a terminating NUL (texts are used as strings; a NUL inside is refused). */
static veil_status keep(attest_collateral *c, int i, const uint8_t *p, size_t n)
{
    if (!g_docs[i].der && memchr(p, 0, n) != NULL) return fail("%s: contains NUL", g_docs[i].member);
    c->doc[i] = malloc(n + 1);
    ENSURE(c->doc[i] != NULL, VEIL_ERR_NOMEM);
    memcpy(c->doc[i], p, n);
    c->doc[i][n] = 0;
    c->len[i] = n;
    return VEIL_OK;
}

veil_status attest_collateral_parse(const uint8_t *bundle, size_t len, attest_collateral **out)
{
    veil_status st = VEIL_OK;
    ENSURE(len <= ATTEST_BUNDLE_MAX, VEIL_ERR_TOO_LARGE);
    json_error_t jerr;
    json_t *o = json_loadb((const char *)bundle, len, JSON_REJECT_DUPLICATES, &jerr);
    attest_collateral *c = calloc(1, sizeof *c);
    ENSURE_OUT(c != NULL, VEIL_ERR_NOMEM);
    if (!json_is_object(o)) {
        st = fail("not a JSON object (%s)", o == NULL ? jerr.text : "another JSON type");
        goto out;
    }
    json_t *v = json_object_get(o, "version");
    if (!json_is_integer(v) || json_integer_value(v) != 1) {
        st = fail("version: want 1");
        goto out;
    }
    size_t known = 1;
    for (int i = 0; i < N_DOCS; i++) {
        v = json_object_get(o, g_docs[i].member);
        if (v == NULL) {
            if (g_docs[i].required) {
                st = fail("%s: missing", g_docs[i].member);
                goto out;
            }
            continue;
        }
        known++;
        if (!json_is_string(v) || json_string_length(v) == 0) {
            st = fail("%s: want a non-empty string", g_docs[i].member);
            goto out;
        }
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (!g_docs[i].der) {
            TRY_OUT(keep(c, i, (const uint8_t *)s, n));
            continue;
        }
        uint8_t *der = malloc(n / 2 + 1);
        ENSURE_OUT(der != NULL, VEIL_ERR_NOMEM);
        if (n % 2 != 0 || veil_hex_decode_exact(der, n / 2, s, n) != VEIL_OK) {
            free(der);
            st = fail("%s: want hex", g_docs[i].member);
            goto out;
        }
        st = keep(c, i, der, n / 2);
        free(der);
        TRY_OUT(st);
    }
    if (json_object_size(o) != known) {
        st = fail("unknown members (want exactly those of docs/attestation.md)");
        goto out;
    }
    make_view(c);
    *out = c;
    c = NULL;
out:
    json_decref(o);
    attest_collateral_free(c);
    return st;
}

veil_status attest_collateral_load(const char *path, attest_collateral **out)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        veil_error_detail_set("%s: no such file or directory", path);
        return VEIL_ERR_NOT_FOUND;
    }
    if (!S_ISDIR(sb.st_mode)) {
        uint8_t *b = NULL;
        size_t n;
        TRY(veil_file_read(path, ATTEST_BUNDLE_MAX, &b, &n));
        veil_status st = attest_collateral_parse(b, n, out);
        free(b);
        if (st == VEIL_ERR_TEE_COLLATERAL) {
            char d[512];
            snprintf(d, sizeof d, "%s: %s", path, veil_error_detail());
            veil_error_detail_set("%s", d);
        }
        return st;
    }
    veil_status st = VEIL_OK;
    attest_collateral *c = calloc(1, sizeof *c);
    ENSURE(c != NULL, VEIL_ERR_NOMEM);
    for (int i = 0; i < N_DOCS; i++) {
        char p[PATH_MAX];
        TRY_OUT(veil_path_join(p, sizeof p, path, g_docs[i].file));
        uint8_t *b = NULL;
        size_t n;
        st = veil_file_read(p, DCAP_COLLATERAL_MAX_LEN, &b, &n);
        if (st == VEIL_ERR_NOT_FOUND && !g_docs[i].required) {
            st = VEIL_OK;
            continue;
        }
        if (st == VEIL_ERR_NOT_FOUND) veil_error_detail_set("%s: missing", p);
        TRY_OUT(st);
        st = keep(c, i, b, n);
        free(b);
        TRY_OUT(st);
    }
    make_view(c);
    *out = c;
    c = NULL;
out:
    attest_collateral_free(c);
    return st;
}

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

veil_status attest_quote_verify(const uint8_t *quote, size_t quote_len, const attest_collateral *c,
                                int64_t at, attest_claims *out)
{
    dcap_result r;
    TRY(dcap_verify(quote, quote_len, &c->view, at, &r));
    attest_claims_from_body(r.body, out);
    out->tcb_status = r.status;
    out->platform_status = r.platform_status;
    out->qe_status = r.qe_status;
    memcpy(out->advisory_ids, r.advisory_ids, sizeof out->advisory_ids);
    memcpy(out->fmspc, r.fmspc, sizeof out->fmspc);
    return VEIL_OK;
}

void attest_claims_from_body(const uint8_t b[DCAP_REPORT_BODY_LEN], attest_claims *out)
{
    memset(out, 0, sizeof *out);
    tee_identity *id = &out->body.identity;
    memcpy(id->mrenclave, b + DCAP_RB_MRENCLAVE, TEE_MEASUREMENT_LEN);
    memcpy(id->mrsigner, b + DCAP_RB_MRSIGNER, TEE_MEASUREMENT_LEN);
    id->prodid = (uint16_t)le(b + DCAP_RB_ISVPRODID, 2);
    id->svn = (uint16_t)le(b + DCAP_RB_ISVSVN, 2);
    id->attributes = le(b + DCAP_RB_ATTRIBUTES, 8);
    memcpy(out->body.report_data, b + DCAP_RB_REPORTDATA, TEE_REPORT_DATA_LEN);
}

veil_status attest_ias_claims(const uint8_t *ias, size_t ias_len, const uint8_t *quote,
                              size_t quote_len, const char *root_pem, int64_t at, int64_t max_age,
                              attest_claims *out)
{
    ratls_ias r;
    TRY(ratls_ias_decode(ias, ias_len, &r));
    char *sig = strndup((const char *)r.signature, r.signature_len);
    char *chain = strndup((const char *)r.chain, r.chain_len);
    veil_status st = sig != NULL && chain != NULL ? VEIL_OK : VEIL_ERR_NOMEM;
    ias_result res;
    if (st == VEIL_OK) {
        ias_report_check chk = {.body = (const char *)r.body,
                                .body_len = r.body_len,
                                .signature_b64 = sig,
                                .signing_chain_pem = chain,
                                .root_pem = root_pem,
                                .quote = quote,
                                .quote_len = quote_len,
                                .at = at,
                                .max_age = max_age};
        st = ias_report_verify(&chk, &res);
    }
    free(sig);
    free(chain);
    TRY(st);
    dcap_quote q;
    TRY(dcap_quote_parse(quote, quote_len, &q));
    attest_claims_from_body(q.body, out);
    out->tcb_status = out->platform_status = res.status;
    memcpy(out->advisory_ids, res.advisory_ids, sizeof out->advisory_ids);
    return VEIL_OK;
}

veil_status attest_claims_accept(const dcap_policy *p, const attest_claims *c)
{
    dcap_result r = {.status = c->tcb_status,
                     .platform_status = c->platform_status,
                     .qe_status = c->qe_status};
    memcpy(r.advisory_ids, c->advisory_ids, sizeof r.advisory_ids);
    return dcap_policy_check(p, &r);
}
