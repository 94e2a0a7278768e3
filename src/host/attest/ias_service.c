/* The IAS-style attestation service (ias_service.h). */
#include "host/attest/ias_service.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "crypto/crypto_host.h"
#include "hostutil/fileio.h"

/* ---- answering --------------------------------------------------------------------- */
/* Strict base64 (padded, nothing else) of at most a quote's size. */
static bool b64_decode_strict(const char *s, size_t n, uint8_t **out, size_t *out_len)
{
    if (n == 0 || n / 4 * 3 > DCAP_QUOTE_MAX_LEN + 2) return false;
    uint8_t *b = malloc(n / 4 * 3 + 3);
    if (b == NULL) return false;
    if (sodium_base642bin(b, n / 4 * 3 + 3, s, n, NULL, out_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(b);
        return false;
    }
    *out = b;
    return true;
}

static char *b64_encode(const uint8_t *p, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *s = malloc(cap);
    if (s != NULL) sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
    return s;
}

/* Percent-encoding of everything but RFC 3986's unreserved characters. */
static char *url_encode(const char *s)
{
    size_t n = strlen(s);
    char *o = malloc(3 * n + 1), *w = o;
    if (o == NULL) return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            *w++ = (char)c;
        } else {
            snprintf(w, 4, "%%%02X", c);
            w += 3;
        }
    }
    *w = '\0';
    return o;
}

static bool key_ok(const ias_service *s, const char *given)
{
    if (given == NULL) return false;
    size_t n = strlen(given);
    bool ok = false;
    for (size_t i = 0; i < s->n_keys; i++)
        if (strlen(s->keys[i]) == n && CRYPTO_memcmp(s->keys[i], given, n) == 0) ok = true;
    return ok;
}

static char *random_hex(size_t bytes)
{
    uint8_t b[32];
    char *h = malloc(2 * bytes + 1);
    if (h == NULL || bytes > sizeof b || veil_random_bytes(b, bytes) != VEIL_OK) {
        free(h);
        return NULL;
    }
    veil_hex_encode(h, b, bytes);
    return h;
}

/* A verdict of the DCAP verifier in IAS v4's words; NULL: not an answer (the caller
 * says 400 or 503). */
static const char *ias_status(veil_status st, dcap_tcb_status s)
{
    switch (st) {
    case VEIL_OK:
        switch (s) {
        case DCAP_TCB_UP_TO_DATE: return "OK";
        case DCAP_TCB_SW_HARDENING_NEEDED: return "SW_HARDENING_NEEDED";
        case DCAP_TCB_CONFIGURATION_NEEDED: return "CONFIGURATION_NEEDED";
        case DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED:
            return "CONFIGURATION_AND_SW_HARDENING_NEEDED";
        case DCAP_TCB_OUT_OF_DATE:
        case DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED: return "GROUP_OUT_OF_DATE";
        case DCAP_TCB_REVOKED: return "GROUP_REVOKED";
        }
        return NULL;
    case VEIL_ERR_TEE_PCK_REVOKED: return "KEY_REVOKED";
    case VEIL_ERR_TEE_QUOTE_SIGNATURE:
    case VEIL_ERR_TEE_QUOTE_CHAIN:
    case VEIL_ERR_TEE_QE_IDENTITY:
    case VEIL_ERR_TEE_TCB_UNKNOWN: return "SIGNATURE_INVALID";
    default: return NULL;
    }
}

static void iso_us(char out[40], int64_t us)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%06ld", (long)(us % 1000000));
}

void ias_service_report(const ias_service *s, const uint8_t *req_body, size_t req_len,
                        int64_t now_us, http_response *r)
{
    json_error_t je;
    json_t *in = json_loadb((const char *)req_body, req_len, JSON_REJECT_DUPLICATES, &je);
    json_t *q = json_object_get(in, "isvEnclaveQuote"), *nonce = json_object_get(in, "nonce");
    uint8_t *quote = NULL;
    size_t quote_len = 0;
    json_t *out = NULL;
    char *body = NULL;
    if (!json_is_object(in) || !json_is_string(q) ||
        json_object_size(in) != 1u + (nonce != NULL ? 1u : 0u) ||
        (nonce != NULL && (!json_is_string(nonce) || json_string_length(nonce) > IAS_NONCE_MAX ||
                           strlen(json_string_value(nonce)) != json_string_length(nonce)))) {
        http_response_error(r, 400, "want {\"isvEnclaveQuote\": base64, \"nonce\": at most %u "
                                    "characters (optional)}",
                            IAS_NONCE_MAX);
        goto out;
    }
    if (!b64_decode_strict(json_string_value(q), json_string_length(q), &quote, &quote_len) ||
        quote_len < IAS_QUOTE_BODY_LEN) {
        http_response_error(r, 400, "isvEnclaveQuote: not a base64 quote");
        goto out;
    }
    dcap_result res;
    memset(&res, 0, sizeof res);
    veil_status st = dcap_verify(quote, quote_len, attest_collateral_view(s->collateral),
                                 now_us / 1000000, &res);
    const char *status = ias_status(st, res.status);
    if (status == NULL) {
        /* Out of date: the service's own collateral (503: nobody gets a report until it
         * is renewed), or the quote's certificates (400). */
        char why[300];
        snprintf(why, sizeof why, "%s", veil_error_detail());
        dcap_verifier *v = NULL;
        bool ours = st == VEIL_ERR_TEE_COLLATERAL_EXPIRED &&
                    dcap_verifier_new(attest_collateral_view(s->collateral), now_us / 1000000,
                                      &v) != VEIL_OK;
        dcap_verifier_free(v);
        http_response_error(r, ours ? 503 : 400, "%s: %s",
                            ours ? "the service's collateral" : "isvEnclaveQuote", why);
        goto out;
    }
    char ts[40], *id = random_hex(16), *qb = b64_encode(quote, IAS_QUOTE_BODY_LEN);
    iso_us(ts, now_us);
    out = json_object();
    if (id != NULL) json_object_set_new(out, "id", json_string(id));
    json_object_set_new(out, "timestamp", json_string(ts));
    json_object_set_new(out, "version", json_integer(4));
    json_object_set_new(out, "isvEnclaveQuoteStatus", json_string(status));
    if (qb != NULL) json_object_set_new(out, "isvEnclaveQuoteBody", json_string(qb));
    if (nonce != NULL) json_object_set(out, "nonce", nonce);
    if (st == VEIL_OK && res.advisory_ids[0] != '\0') {
        json_t *ids = json_array();
        char list[sizeof res.advisory_ids], *save = NULL;
        memcpy(list, res.advisory_ids, sizeof list);
        for (char *a = strtok_r(list, ",", &save); a != NULL; a = strtok_r(NULL, ",", &save))
            json_array_append_new(ids, json_string(a));
        json_object_set_new(out, "advisoryURL",
                            json_string("https://security-center.intel.com"));
        json_object_set_new(out, "advisoryIDs", ids);
    }
    free(id);
    free(qb);
    body = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    uint8_t sig[1024];
    size_t sig_len = sizeof sig;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool signed_ok = body != NULL && md != NULL &&
                     EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, s->report_key) == 1 &&
                     EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)body, strlen(body)) == 1;
    EVP_MD_CTX_free(md);
    if (!signed_ok) {
        http_response_error(r, 500, "could not sign the report");
        goto out;
    }
    r->status = 200;
    r->content_type = "application/json";
    r->body_len = strlen(body);
    r->body = body;
    body = NULL;
    http_response_header(r, "X-IASReport-Signature", b64_encode(sig, sig_len));
    http_response_header(r, "X-IASReport-Signing-Certificate", url_encode(s->signing_chain_pem));
out:
    free(body);
    json_decref(out);
    json_decref(in);
    free(quote);
}

void ias_service_handle_at(const ias_service *s, const http_request *req, int64_t now_us,
                           http_response *r)
{
    http_response_header(r, "Request-ID", random_hex(16));
    static const char report_path[] = "/attestation/v4/report",
                      sigrl_prefix[] = "/attestation/v4/sigrl/";
    bool is_report = strcmp(req->url, report_path) == 0;
    bool is_sigrl = strncmp(req->url, sigrl_prefix, sizeof sigrl_prefix - 1) == 0;
    if (!is_report && !is_sigrl) {
        http_response_error(r, 404, "no such resource");
        return;
    }
    if (strcmp(req->method, is_report ? "POST" : "GET") != 0) {
        http_response_error(r, 405, "%s only", is_report ? "POST" : "GET");
        return;
    }
    if (!key_ok(s, http_request_header(req, "Ocp-Apim-Subscription-Key"))) {
        http_response_error(r, 401, "missing or unknown Ocp-Apim-Subscription-Key");
        return;
    }
    if (is_sigrl) {
        const char *gid = req->url + sizeof sigrl_prefix - 1;
        uint8_t g[4];
        if (strlen(gid) != 8 || veil_hex_decode_exact(g, 4, gid, 8) != VEIL_OK) {
            http_response_error(r, 400, "the group id is 8 hex digits");
            return;
        }
        r->status = 200; /* no EPID group has a revocation list here */
        r->content_type = "application/octet-stream";
        return;
    }
    ias_service_report(s, req->body, req->body_len, now_us, r);
}

void ias_service_handle(void *ctx, const http_request *req, http_response *resp)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    ias_service_handle_at(ctx, req, (int64_t)tv.tv_sec * 1000000 + tv.tv_usec, resp);
}

/* ---- keys ------------------------------------------------------------------------- */
void ias_keys_free(char **keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        veil_wipe(keys[i], strlen(keys[i]));
        free(keys[i]);
    }
    free(keys);
}

veil_status ias_keys_load(const char *path, char ***keys, size_t *n)
{
    uint8_t *buf = NULL;
    size_t len;
    TRY(veil_file_check_private(path));
    TRY(veil_file_read(path, 64 * 1024, &buf, &len));
    veil_status st = VEIL_OK;
    char **k = calloc(IAS_MAX_KEYS, sizeof *k);
    size_t count = 0, line = 0;
    ENSURE_OUT(k != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && buf[j] != '\n') j++;
        size_t a = i, b = j;
        line++;
        while (a < b && (buf[a] == ' ' || buf[a] == '\t')) a++;
        while (b > a && (buf[b - 1] == ' ' || buf[b - 1] == '\t' || buf[b - 1] == '\r')) b--;
        i = j + 1;
        if (a == b || buf[a] == '#') continue;
        bool printable = b - a <= 128;
        for (size_t x = a; printable && x < b; x++) printable = buf[x] > 0x20 && buf[x] < 0x7f;
        if (!printable || count == IAS_MAX_KEYS) {
            veil_error_detail_set("%s:%zu: a key is 1..128 printable characters without spaces, "
                                  "at most %u keys",
                                  path, line, IAS_MAX_KEYS);
            st = VEIL_ERR_MALFORMED;
            goto out;
        }
        k[count] = strndup((const char *)buf + a, b - a);
        ENSURE_OUT(k[count] != NULL, VEIL_ERR_NOMEM);
        count++;
    }
    if (count == 0) {
        veil_error_detail_set("%s: no key", path);
        st = VEIL_ERR_MALFORMED;
        goto out;
    }
    *keys = k;
    *n = count;
    k = NULL;
out:
    if (k != NULL) ias_keys_free(k, count);
    veil_wipe(buf, len);
    free(buf);
    return st;
}

/* ---- home ------------------------------------------------------------------------- */
static veil_status pem_out(const char *path, EVP_PKEY *key, X509 *cert)
{
    BIO *b = BIO_new(BIO_s_mem());
    ENSURE(b != NULL, VEIL_ERR_NOMEM);
    veil_status st = VEIL_ERR_CRYPTO;
    if ((key != NULL ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)
                     : PEM_write_bio_X509(b, cert)) == 1) {
        char *data;
        long n = BIO_get_mem_data(b, &data);
        st = veil_file_write_atomic(path, data, (size_t)n, key != NULL ? 0600 : 0644);
    }
    BIO_free(b);
    return st;
}

static veil_status ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    ENSURE(e != NULL, VEIL_ERR_USAGE);
    int ok = X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok == 1 ? VEIL_OK : VEIL_ERR_CRYPTO;
}

static veil_status make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                             bool ca, long days, const char *san, X509 **out)
{
    veil_status st = VEIL_OK;
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    uint8_t serial[16];
    BIGNUM *bn = NULL;
    ENSURE_OUT(x != NULL && n != NULL, VEIL_ERR_NOMEM);
    TRY_OUT(veil_random_bytes(serial, sizeof serial));
    serial[0] = (uint8_t)((serial[0] & 0x7f) | 1);
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    ENSURE_OUT(bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
                   X509_set_version(x, X509_VERSION_3) == 1 &&
                   X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                                              (const unsigned char *)"Veil attestation service",
                                              -1, -1, 0) == 1 &&
                   X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
                                              -1, 0) == 1 &&
                   X509_set_subject_name(x, n) == 1 &&
                   X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n) == 1 &&
                   X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
                   X509_gmtime_adj(X509_getm_notAfter(x), days * 86400) != NULL &&
                   X509_set_pubkey(x, key) == 1,
               VEIL_ERR_CRYPTO);
    X509 *iss = issuer ? issuer : x;
    TRY_OUT(ext(x, iss, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE"));
    TRY_OUT(ext(x, iss, NID_key_usage, ca ? "critical,keyCertSign,cRLSign"
                                          : "critical,digitalSignature,keyEncipherment"));
    TRY_OUT(ext(x, iss, NID_subject_key_identifier, "hash"));
    TRY_OUT(ext(x, iss, NID_authority_key_identifier, "keyid:always"));
    if (san != NULL) {
        st = ext(x, iss, NID_subject_alt_name, san);
        if (st == VEIL_ERR_USAGE) veil_error_detail_set("names: not a list of DNS names or IPs");
        TRY_OUT(st);
        TRY_OUT(ext(x, iss, NID_ext_key_usage, "serverAuth"));
    }
    ENSURE_OUT(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0, VEIL_ERR_CRYPTO);
    *out = x;
    x = NULL;
out:
    BN_free(bn);
    X509_NAME_free(n);
    X509_free(x);
    return st;
}

static veil_status rsa_key(EVP_PKEY **out)
{
    *out = EVP_RSA_gen(2048);
    return *out != NULL ? VEIL_OK : VEIL_ERR_CRYPTO;
}

veil_status ias_service_init_home(const char *home, const char *names)
{
    char p[6][PATH_MAX];
    static const char *const files[6] = {IAS_TLS_CERT_FILE,   IAS_TLS_KEY_FILE,
                                         IAS_ROOT_CERT_FILE,  IAS_ROOT_KEY_FILE,
                                         IAS_SIGNING_CERT_FILE, IAS_SIGNING_KEY_FILE};
    TRY(veil_mkdir_p(home, 0700));
    for (int i = 0; i < 6; i++) TRY(veil_path_join(p[i], sizeof p[i], home, files[i]));
    veil_status st = VEIL_OK;
    EVP_PKEY *tls_key = NULL, *root_key = NULL, *sign_key = NULL;
    X509 *tls = NULL, *root = NULL, *sign = NULL;
    char san[1024];
    int n = snprintf(san, sizeof san, "DNS:localhost,IP:127.0.0.1,IP:::1");
    if (names != NULL && names[0] != '\0') {
        char list[768], *save = NULL;
        ENSURE(strlen(names) < sizeof list, VEIL_ERR_TOO_LARGE);
        strcpy(list, names);
        for (char *t = strtok_r(list, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
            bool ip = strspn(t, "0123456789.:abcdefABCDEF") == strlen(t) && strpbrk(t, ".:");
            n += snprintf(san + n, sizeof san - (size_t)n, ",%s:%s", ip ? "IP" : "DNS", t);
            ENSURE((size_t)n < sizeof san, VEIL_ERR_TOO_LARGE);
        }
    }
    if (access(p[1], F_OK) != 0) { /* TLS: certificate first, then the key */
        TRY_OUT(veil_p256_keygen(&tls_key));
        TRY_OUT(make_cert("Veil attestation service", tls_key, NULL, NULL, false, 3650, san, &tls));
        TRY_OUT(pem_out(p[0], NULL, tls));
        TRY_OUT(pem_out(p[1], tls_key, NULL));
    }
    if (access(p[3], F_OK) != 0) {
        TRY_OUT(rsa_key(&root_key));
        TRY_OUT(make_cert("Veil attestation report signing CA", root_key, NULL, NULL, true, 3650,
                          NULL, &root));
        TRY_OUT(rsa_key(&sign_key));
        TRY_OUT(make_cert("Veil attestation report signing", sign_key, root, root_key, false, 1825,
                          NULL, &sign));
        TRY_OUT(pem_out(p[2], NULL, root));
        TRY_OUT(pem_out(p[4], NULL, sign));
        TRY_OUT(pem_out(p[5], sign_key, NULL));
        TRY_OUT(pem_out(p[3], root_key, NULL));
    }
out:
    EVP_PKEY_free(tls_key);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(sign_key);
    X509_free(tls);
    X509_free(root);
    X509_free(sign);
    return st;
}
