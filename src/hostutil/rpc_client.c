#include "hostutil/rpc_client.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

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

veil_status veil_rpc_abci_query(const char *base_url, const char *path, long timeout_ms,
                                uint8_t **value, size_t *len)
{
    char q[512];
    int n = snprintf(q, sizeof q, "abci_query?path=%%22%s%%22", path);
    ENSURE(n > 0 && (size_t)n < sizeof q, VEIL_ERR_TOO_LARGE);
    json_t *r;
    TRY(veil_rpc_get(base_url, q, timeout_ms, 4u << 20, &r));
    json_t *resp = json_object_get(r, "response");
    json_int_t code = json_integer_value(json_object_get(resp, "code"));
    const char *b64 = json_string_value(json_object_get(resp, "value"));
    veil_status st = VEIL_OK;
    *value = NULL;
    if (code != 0 || b64 == NULL) {
        const char *log = json_string_value(json_object_get(resp, "log"));
        veil_error_detail_set("query %s: code %lld %s", path, (long long)code, log ? log : "");
        st = VEIL_ERR_NOT_FOUND;
    } else {
        size_t cap = strlen(b64) + 1;
        *value = malloc(cap);
        if (*value == NULL || sodium_base642bin(*value, cap, b64, strlen(b64), NULL, len, NULL,
                                                sodium_base64_VARIANT_ORIGINAL) != 0) {
            free(*value);
            *value = NULL;
            st = VEIL_ERR_DECODE;
        }
    }
    json_decref(r);
    return st;
}

/* base64 (standard) into a malloc'd buffer; "" and NULL give NULL with length 0. */
static veil_status b64_dup(const char *b64, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (b64 == NULL || b64[0] == '\0') return VEIL_OK;
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

static uint64_t json_u64(json_t *j)
{
    const char *s = json_string_value(j);
    return s != NULL ? strtoull(s, NULL, 10) : (uint64_t)json_integer_value(j);
}

veil_status veil_rpc_abci_proof(const char *base_url, const char *path, long timeout_ms,
                                int64_t *height_out, uint8_t app_hash[static 32], uint8_t **value,
                                size_t *value_len,
                                uint8_t **proof, size_t *proof_len)
{
    char q[512];
    int n = snprintf(q, sizeof q, "abci_query?path=%%22%s%%22&prove=true", path);
    ENSURE(n > 0 && (size_t)n < sizeof q, VEIL_ERR_TOO_LARGE);
    *value = NULL;
    *proof = NULL;
    for (int attempt = 0; attempt < 5; attempt++) {
        json_t *info, *r;
        TRY(veil_rpc_get(base_url, "abci_info", timeout_ms, 64u << 10, &info));
        json_t *ir = json_object_get(info, "response");
        uint64_t info_height = json_u64(json_object_get(ir, "last_block_height"));
        uint8_t *hash = NULL;
        size_t hash_len = 0;
        veil_status st =
            b64_dup(json_string_value(json_object_get(ir, "last_block_app_hash")), &hash, &hash_len);
        json_decref(info);
        if (st == VEIL_OK && hash_len != 32) st = VEIL_ERR_DECODE;
        if (st == VEIL_OK) memcpy(app_hash, hash, 32);
        free(hash);
        if (st != VEIL_OK) {
            veil_error_detail_set("RPC %s: abci_info names no 32-byte app hash", base_url);
            return st;
        }
        TRY(veil_rpc_get(base_url, q, timeout_ms, 4u << 20, &r));
        json_t *resp = json_object_get(r, "response");
        json_int_t code = json_integer_value(json_object_get(resp, "code"));
        if (code != 0) {
            const char *log = json_string_value(json_object_get(resp, "log"));
            veil_error_detail_set("query %s: code %lld %s", path, (long long)code, log ? log : "");
            json_decref(r);
            return VEIL_ERR_NOT_FOUND;
        }
        uint64_t height = json_u64(json_object_get(resp, "height"));
        json_t *ops = json_object_get(json_object_get(resp, "proofOps"), "ops");
        const char *pb64 = json_string_value(json_object_get(json_array_get(ops, 0), "data"));
        st = pb64 != NULL && json_array_size(ops) == 1 ? VEIL_OK : VEIL_ERR_DECODE;
        if (st == VEIL_OK && height == info_height && height <= INT64_MAX) {
            *height_out = (int64_t)height;
            st = b64_dup(json_string_value(json_object_get(resp, "value")), value, value_len);
            if (st == VEIL_OK) st = b64_dup(pb64, proof, proof_len);
            json_decref(r);
            if (st != VEIL_OK) {
                free(*value);
                *value = NULL;
                veil_error_detail_set("query %s: the answer does not decode", path);
            }
            return st;
        }
        json_decref(r);
        if (st != VEIL_OK) {
            veil_error_detail_set("query %s: the answer carries no proof", path);
            return st;
        }
    }
    veil_error_detail_set("query %s: the node's height moved under every attempt", path);
    return VEIL_ERR_TIMEOUT;
}
