/* IAS-style attestation report verification (ias.h). */
#include "host/attest/ias.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "chain/cmt_time.h"
#include "hostutil/fileio.h"

static veil_status bad(veil_status st, const char *what)
{
    veil_error_detail_set("attestation report: %s", what);
    return st;
}

/* isvEnclaveQuoteStatus -> a TCB status, or a refusal. */
static const struct {
    const char *name;
    bool ok;
    dcap_tcb_status status;
} g_statuses[] = {
    {"OK", true, DCAP_TCB_UP_TO_DATE},
    {"SW_HARDENING_NEEDED", true, DCAP_TCB_SW_HARDENING_NEEDED},
    {"CONFIGURATION_NEEDED", true, DCAP_TCB_CONFIGURATION_NEEDED},
    {"CONFIGURATION_AND_SW_HARDENING_NEEDED", true, DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED},
    {"GROUP_OUT_OF_DATE", true, DCAP_TCB_OUT_OF_DATE},
    {"GROUP_REVOKED", true, DCAP_TCB_REVOKED},
    {"SIGNATURE_INVALID", false, DCAP_TCB_REVOKED},
    {"SIGNATURE_REVOKED", false, DCAP_TCB_REVOKED},
    {"KEY_REVOKED", false, DCAP_TCB_REVOKED},
    {"SIGRL_VERSION_MISMATCH", false, DCAP_TCB_REVOKED},
};

static X509 *pem_cert(BIO *b) { return PEM_read_bio_X509(b, NULL, NULL, NULL); }

/* The signing certificate (first of the chain) verified to the pinned root at `at`. */
static veil_status chain_check(const char *chain_pem, const char *root_pem, int64_t at,
                               EVP_PKEY **key)
{
    veil_status st = VEIL_OK;
    X509 *leaf = NULL, *root = NULL, *x;
    STACK_OF(X509) *rest = sk_X509_new_null();
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    BIO *b = chain_pem != NULL ? BIO_new_mem_buf(chain_pem, -1) : NULL;
    BIO *r = root_pem != NULL ? BIO_new_mem_buf(root_pem, -1) : NULL;
    if (rest == NULL || store == NULL || ctx == NULL || b == NULL || r == NULL) {
        st = bad(VEIL_ERR_TEE_IAS_REPORT, "no signing chain or pinned root");
        goto out;
    }
    leaf = pem_cert(b);
    while ((x = pem_cert(b)) != NULL)
        if (!sk_X509_push(rest, x)) X509_free(x);
    root = pem_cert(r);
    ERR_clear_error();
    if (leaf == NULL || root == NULL || !X509_STORE_add_cert(store, root) ||
        !X509_STORE_CTX_init(ctx, store, leaf, rest)) {
        st = bad(VEIL_ERR_TEE_IAS_REPORT, "signing chain or pinned root does not parse");
        goto out;
    }
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)at);
    if (X509_verify_cert(ctx) != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        st = e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID
                 ? VEIL_ERR_TEE_COLLATERAL_EXPIRED
                 : VEIL_ERR_TEE_IAS_REPORT;
        veil_error_detail_set("attestation report signing chain: %s",
                              X509_verify_cert_error_string(e));
        goto out;
    }
    *key = X509_get_pubkey(leaf);
    if (*key == NULL || EVP_PKEY_get_base_id(*key) != EVP_PKEY_RSA || EVP_PKEY_get_bits(*key) < 2048)
        st = bad(VEIL_ERR_TEE_IAS_REPORT, "the signing key is not RSA-2048 or larger");
out:
    if (st != VEIL_OK && *key != NULL) {
        EVP_PKEY_free(*key);
        *key = NULL;
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_pop_free(rest, X509_free);
    X509_free(leaf);
    X509_free(root);
    BIO_free(b);
    BIO_free(r);
    return st;
}

/* Strict base64 (padded, no line breaks or spaces) into out (cap bytes); -1 if
 * malformed or too long. */
static long b64_decode(const char *s, uint8_t *out, size_t cap)
{
    size_t len;
    if (sodium_base642bin(out, cap, s, strlen(s), NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return -1;
    return (long)len;
}

/* "2020-03-20T10:48:32.353294": IAS writes UTC without a zone; with the "Z" added it is
 * RFC 3339, which cmt_time_parse reads. */
static bool ias_time(const char *s, int64_t *out)
{
    char buf[64];
    cmt_timestamp t;
    if (s == NULL || strlen(s) + 2 > sizeof buf) return false;
    size_t n = strlen(s);
    snprintf(buf, sizeof buf, "%s%s", s, n > 0 && s[n - 1] == 'Z' ? "" : "Z");
    if (cmt_time_parse(buf, &t) != VEIL_OK) return false;
    *out = t.seconds;
    return true;
}

veil_status ias_report_verify(const ias_report_check *c, ias_result *out)
{
    veil_status st = VEIL_OK;
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *md = NULL;
    json_t *j = NULL;
    uint8_t sig[1024], body[IAS_QUOTE_BODY_LEN + 3];

    memset(out, 0, sizeof *out);
    if (c->body == NULL || c->body_len == 0 || c->body_len > IAS_REPORT_MAX_LEN)
        return bad(VEIL_ERR_TEE_IAS_REPORT, "missing or larger than 64 KiB");
    /* 1. The signature, over the exact bytes, by a key chained to the pinned root. */
    TRY(chain_check(c->signing_chain_pem, c->root_pem, c->at, &key));
    long sig_len = c->signature_b64 != NULL ? b64_decode(c->signature_b64, sig, sizeof sig) : -1;
    md = EVP_MD_CTX_new();
    if (sig_len <= 0 || md == NULL || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestVerify(md, sig, (size_t)sig_len, (const unsigned char *)c->body, c->body_len) != 1) {
        ERR_clear_error();
        st = bad(VEIL_ERR_TEE_IAS_REPORT, "signature does not verify");
        goto out;
    }
    /* 2. The report itself. */
    json_error_t je;
    j = json_loadb(c->body, c->body_len, JSON_REJECT_DUPLICATES, &je);
    json_t *ver = json_object_get(j, "version");
    const char *id = json_string_value(json_object_get(j, "id"));
    const char *ts = json_string_value(json_object_get(j, "timestamp"));
    const char *qs = json_string_value(json_object_get(j, "isvEnclaveQuoteStatus"));
    const char *qb = json_string_value(json_object_get(j, "isvEnclaveQuoteBody"));
    if (!json_is_object(j) || !json_is_integer(ver) || json_integer_value(ver) != 4 ||
        id == NULL || strlen(id) >= sizeof out->id || !ias_time(ts, &out->timestamp) ||
        qs == NULL || qb == NULL) {
        st = bad(VEIL_ERR_TEE_IAS_REPORT, "not a version 4 report");
        goto out;
    }
    snprintf(out->id, sizeof out->id, "%s", id);
    if (out->timestamp < c->at - c->max_age || out->timestamp > c->at + 60) {
        st = bad(VEIL_ERR_TEE_COLLATERAL_EXPIRED, "its timestamp is outside the accepted age");
        goto out;
    }
    /* 3. For this quote, and this request. */
    long bl = b64_decode(qb, body, sizeof body);
    if (bl != IAS_QUOTE_BODY_LEN || c->quote == NULL || c->quote_len < IAS_QUOTE_BODY_LEN ||
        memcmp(body, c->quote, IAS_QUOTE_BODY_LEN) != 0) {
        st = bad(VEIL_ERR_TEE_IAS_MISMATCH, "it names another quote");
        goto out;
    }
    const char *nonce = json_string_value(json_object_get(j, "nonce"));
    if ((c->nonce == NULL) != (nonce == NULL) || (nonce != NULL && strcmp(nonce, c->nonce) != 0)) {
        st = bad(VEIL_ERR_TEE_IAS_MISMATCH, "the nonce is not the request's");
        goto out;
    }
    /* 4. The service's verdict. */
    size_t k = 0, nk = sizeof g_statuses / sizeof g_statuses[0];
    while (k < nk && strcmp(g_statuses[k].name, qs) != 0) k++;
    if (k == nk) {
        st = bad(VEIL_ERR_TEE_IAS_REPORT, "unknown isvEnclaveQuoteStatus");
        goto out;
    }
    if (!g_statuses[k].ok) {
        veil_error_detail_set("attestation report: the service answered %s", qs);
        st = VEIL_ERR_TEE_QUOTE_SIGNATURE;
        goto out;
    }
    out->status = g_statuses[k].status;
    json_t *ids = json_object_get(j, "advisoryIDs"), *v;
    size_t i, used = 0;
    json_array_foreach(ids, i, v)
    {
        const char *a = json_string_value(v);
        if (a == NULL) continue;
        int n = snprintf(out->advisory_ids + used, sizeof out->advisory_ids - used, "%s%s",
                         used ? "," : "", a);
        if (n < 0 || (size_t)n >= sizeof out->advisory_ids - used) break;
        used += (size_t)n;
    }
out:
    if (st != VEIL_OK) memset(out, 0, sizeof *out);
    json_decref(j);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    return st;
}
