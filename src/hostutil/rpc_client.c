#include "hostutil/rpc_client.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "common/hex.h"
#include "hostutil/fileio.h"

typedef struct body {
    char *p;
    size_t len, max;
    bool too_large;
} body;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    body *b = ctx;
    size_t n = size * nmemb;
    if (n > b->max - b->len) {
        b->too_large = true;
        return 0; /* makes curl stop with a write error */
    }
    char *p = realloc(b->p, b->len + n + 1);
    if (p == NULL) return 0;
    memcpy(p + b->len, data, n);
    b->len += n;
    p[b->len] = '\0';
    b->p = p;
    return n;
}

veil_status veil_rpc_get(const char *base_url, const char *path_and_query, long timeout_ms,
                         size_t max_body, json_t **result)
{
    veil_status st = VEIL_OK;
    size_t cap = strlen(base_url) + strlen(path_and_query) + 2;
    char *url = malloc(cap);
    CURL *c = curl_easy_init();
    body b = {.max = max_body};
    json_t *doc = NULL;
    ENSURE_OUT(url != NULL && c != NULL, VEIL_ERR_NOMEM);
    snprintf(url, cap, "%s/%s", base_url, path_and_query);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    if (b.too_large) {
        veil_error_detail_set("RPC %s: answer larger than %zu bytes", base_url, max_body);
        st = VEIL_ERR_TOO_LARGE;
        goto out;
    }
    if (rc != CURLE_OK) {
        veil_error_detail_set("RPC %s: %s", base_url, curl_easy_strerror(rc));
        st = VEIL_ERR_NET;
        goto out;
    }
    json_error_t je;
    doc = json_loads(b.p != NULL ? b.p : "", 0, &je);
    if (doc == NULL) {
        veil_error_detail_set("RPC %s: answer is not JSON (%s)", base_url, je.text);
        st = VEIL_ERR_DECODE;
        goto out;
    }
    json_t *err = json_object_get(doc, "error");
    if (err != NULL && !json_is_null(err)) {
        const char *msg = json_string_value(json_object_get(err, "message"));
        const char *data = json_string_value(json_object_get(err, "data"));
        veil_error_detail_set("RPC %s: %s%s%s", base_url, msg ? msg : "error", data ? ": " : "",
                              data ? data : "");
        st = VEIL_ERR_NET;
        goto out;
    }
    json_t *res = json_object_get(doc, "result");
    if (res == NULL) {
        veil_error_detail_set("RPC %s: answer has no result", base_url);
        st = VEIL_ERR_DECODE;
        goto out;
    }
    *result = json_incref(res);
out:
    json_decref(doc);
    if (c != NULL) curl_easy_cleanup(c);
    free(b.p);
    free(url);
    return st;
}

/* base64 (standard) into a malloc'd buffer (NULL text: NULL, length 0). */
static veil_status b64_dup(const char *b64, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (b64 == NULL) return VEIL_OK;
    size_t cap = strlen(b64) + 1;
    *out = malloc(cap);
    ENSURE(*out != NULL, VEIL_ERR_NOMEM);
    if (sodium_base642bin(*out, cap, b64, strlen(b64), NULL, len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(*out);
        *out = NULL;
        return VEIL_ERR_DECODE;
    }
    return VEIL_OK;
}

/* abci_query?path="path"[&prove=true]: the response object of *r (the caller decrefs
 * *r). VEIL_ERR_NOT_FOUND when the app answers with a non-zero code. */
static veil_status abci_query_get(const char *base_url, const char *path, bool prove,
                                  long timeout_ms, json_t **r, json_t **resp)
{
    size_t cap = strlen(path) + 64;
    char *q = malloc(cap);
    ENSURE(q != NULL, VEIL_ERR_NOMEM);
    int n = snprintf(q, cap, "abci_query?path=%%22%s%%22%s", path, prove ? "&prove=true" : "");
    veil_status st = n > 0 && (size_t)n < cap ? VEIL_OK : VEIL_ERR_TOO_LARGE;
    if (st == VEIL_OK) st = veil_rpc_get(base_url, q, timeout_ms, 16u << 20, r);
    free(q);
    TRY(st);
    *resp = json_object_get(*r, "response");
    json_int_t code = json_integer_value(json_object_get(*resp, "code"));
    if (code == 0) return VEIL_OK;
    const char *log = json_string_value(json_object_get(*resp, "log"));
    veil_error_detail_set("query %s: code %lld %s", path, (long long)code, log ? log : "");
    json_decref(*r);
    *r = NULL;
    return VEIL_ERR_NOT_FOUND;
}

veil_status veil_rpc_block_hash(const char *base_url, int64_t height, long timeout_ms,
                                char hex[static 65])
{
    char q[64];
    json_t *r = NULL;
    snprintf(q, sizeof q, "block?height=%lld", (long long)height);
    TRY(veil_rpc_get(base_url, q, timeout_ms, 4u << 20, &r));
    const char *h = json_string_value(json_object_get(json_object_get(r, "block_id"), "hash"));
    bool ok = h != NULL && strlen(h) == 64;
    if (ok) memcpy(hex, h, 65);
    json_decref(r);
    return ok ? VEIL_OK : VEIL_ERR_NOT_FOUND;
}

veil_status veil_rpc_abci_query(const char *base_url, const char *path, long timeout_ms,
                                uint8_t **value, size_t *len)
{
    json_t *r, *resp;
    *value = NULL;
    TRY(abci_query_get(base_url, path, false, timeout_ms, &r, &resp));
    const char *b64 = json_string_value(json_object_get(resp, "value"));
    veil_status st = b64 != NULL ? b64_dup(b64, value, len) : VEIL_ERR_NOT_FOUND;
    if (b64 == NULL) veil_error_detail_set("query %s: no value", path);
    json_decref(r);
    return st;
}

veil_status veil_rpc_abci_proof(const char *base_url, const char *path, long timeout_ms,
                                int64_t *height, uint8_t **value, size_t *value_len,
                                uint8_t **proof, size_t *proof_len)
{
    json_t *r, *resp;
    *value = NULL;
    *proof = NULL;
    TRY(abci_query_get(base_url, path, true, timeout_ms, &r, &resp));
    const char *h = json_string_value(json_object_get(resp, "height"));
    json_t *ops = json_object_get(json_object_get(resp, "proofOps"), "ops");
    const char *pb64 = json_string_value(json_object_get(json_array_get(ops, 0), "data"));
    char *end = NULL;
    unsigned long long hv = h != NULL ? strtoull(h, &end, 10) : 0;
    veil_status st = pb64 != NULL && json_array_size(ops) == 1 && end != NULL && *end == '\0' &&
                             end != h && hv <= INT64_MAX
                         ? VEIL_OK
                         : VEIL_ERR_DECODE;
    if (st == VEIL_OK) st = b64_dup(json_string_value(json_object_get(resp, "value")), value, value_len);
    if (st == VEIL_OK && *value_len == 0) { /* an absent record */
        free(*value);
        *value = NULL;
    }
    if (st == VEIL_OK) st = b64_dup(pb64, proof, proof_len);
    if (st == VEIL_OK) {
        *height = (int64_t)hv;
    } else {
        free(*value);
        *value = NULL;
        veil_error_detail_set("query %s: the answer carries no proof, or does not decode", path);
    }
    json_decref(r);
    return st;
}

veil_status veil_rpc_abci_outputs(const char *base_url, const uint8_t (*txids)[32], size_t n,
                                  long timeout_ms, int64_t *height, uint8_t **value,
                                  size_t *value_len, uint8_t **proofs, size_t *proof_lens)
{
    json_t *r, *resp;
    *value = NULL;
    for (size_t i = 0; i < n; i++) proofs[i] = NULL;
    ENSURE(n >= 1, VEIL_ERR_ARG);
    char *path = malloc(9 + 65 * n);
    ENSURE(path != NULL, VEIL_ERR_NOMEM);
    memcpy(path, "/outputs/", 9);
    for (size_t i = 0; i < n; i++) {
        veil_hex_encode(path + 9 + 65 * i, txids[i], 32);
        path[9 + 65 * i + 64] = i + 1 < n ? ',' : '\0';
    }
    veil_status st = abci_query_get(base_url, path, true, timeout_ms, &r, &resp);
    free(path);
    TRY(st);
    const char *h = json_string_value(json_object_get(resp, "height"));
    json_t *ops = json_object_get(json_object_get(resp, "proofOps"), "ops");
    char *end = NULL;
    unsigned long long hv = h != NULL ? strtoull(h, &end, 10) : 0;
    st = json_array_size(ops) == n && end != NULL && *end == '\0' && end != h && hv <= INT64_MAX
             ? VEIL_OK
             : VEIL_ERR_DECODE;
    if (st == VEIL_OK) st = b64_dup(json_string_value(json_object_get(resp, "value")), value, value_len);
    for (size_t i = 0; st == VEIL_OK && i < n; i++) {
        const char *pb64 = json_string_value(json_object_get(json_array_get(ops, i), "data"));
        st = pb64 != NULL ? b64_dup(pb64, &proofs[i], &proof_lens[i]) : VEIL_ERR_DECODE;
    }
    if (st == VEIL_OK) {
        *height = (int64_t)hv;
    } else {
        free(*value);
        *value = NULL;
        for (size_t i = 0; i < n; i++) {
            free(proofs[i]);
            proofs[i] = NULL;
        }
        veil_error_detail_set("query /outputs/ (%zu txids): the answer carries no proofs, or does "
                              "not decode", n);
    }
    json_decref(r);
    return st;
}
