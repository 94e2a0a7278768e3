#include "host/devchain/rpc_request.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/hex.h"

static const rpc_method_spec methods[] = {
    {"abci_info", 0, {{0}}},
    {"abci_query",
     4,
     {{"path", RPC_ARG_STRING},
      {"data", RPC_ARG_HEXBYTES},
      {"height", RPC_ARG_INT64},
      {"prove", RPC_ARG_BOOL}}},
    {"block", 1, {{"height", RPC_ARG_INT64}}},
    {"block_results", 1, {{"height", RPC_ARG_INT64}}},
    {"block_search",
     4,
     {{"query", RPC_ARG_STRING},
      {"page", RPC_ARG_INT64},
      {"per_page", RPC_ARG_INT64},
      {"order_by", RPC_ARG_STRING}}},
    {"broadcast_tx_async", 1, {{"tx", RPC_ARG_BYTES}}},
    {"broadcast_tx_commit", 1, {{"tx", RPC_ARG_BYTES}}},
    {"broadcast_tx_sync", 1, {{"tx", RPC_ARG_BYTES}}},
    {"commit", 1, {{"height", RPC_ARG_INT64}}},
    {"genesis", 0, {{0}}},
    {"health", 0, {{0}}},
    {"net_info", 0, {{0}}},
    {"num_unconfirmed_txs", 0, {{0}}},
    {"status", 0, {{0}}},
    {"tx", 2, {{"hash", RPC_ARG_BYTES}, {"prove", RPC_ARG_BOOL}}},
    {"tx_search",
     5,
     {{"query", RPC_ARG_STRING},
      {"prove", RPC_ARG_BOOL},
      {"page", RPC_ARG_INT64},
      {"per_page", RPC_ARG_INT64},
      {"order_by", RPC_ARG_STRING}}},
    {"validators",
     3,
     {{"height", RPC_ARG_INT64}, {"page", RPC_ARG_INT64}, {"per_page", RPC_ARG_INT64}}},
    {NULL, 0, {{0}}},
};

const rpc_method_spec *rpc_method_specs(void) { return methods; }

const rpc_method_spec *rpc_method_spec_find(const char *name)
{
    for (const rpc_method_spec *m = methods; m->name != NULL; m++)
        if (strcmp(m->name, name) == 0) return m;
    return NULL;
}

const char *rpc_error_message(int code)
{
    switch (code) {
    case RPC_PARSE_ERROR:
        return "Parse error. Invalid JSON";
    case RPC_INVALID_REQUEST:
        return "Invalid Request";
    case RPC_METHOD_NOT_FOUND:
        return "Method not found";
    case RPC_INVALID_PARAMS:
        return "Invalid params";
    case RPC_INTERNAL_ERROR:
        return "Internal error";
    default:
        return "Server error";
    }
}

void rpc_error_set(rpc_error *e, int code, const char *fmt, ...)
{
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->data, sizeof e->data, fmt, ap);
    va_end(ap);
}

void rpc_args_free(rpc_args *a)
{
    for (size_t i = 0; i < RPC_MAX_ARGS; i++) free(a->bytes[i]);
    memset(a, 0, sizeof *a);
}

/* ---- bodies ---------------------------------------------------------------------------- */

/* Go's encoding/json into RPCRequest: every member of the right type or the whole body
 * is unparseable; ids must be strings or whole numbers within int64. */
static bool call_from_json(json_t *o, rpc_call *c, const char **why)
{
    if (!json_is_object(o)) {
        *why = "request is not a JSON object";
        return false;
    }
    const json_t *v = json_object_get(o, "jsonrpc");
    if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
        *why = "jsonrpc is not a string";
        return false;
    }
    v = json_object_get(o, "method");
    if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
        *why = "method is not a string";
        return false;
    }
    c->method = json_is_string(v) ? json_string_value(v) : "";
    c->params = json_object_get(o, "params");
    json_t *id = json_object_get(o, "id");
    if (id == NULL || json_is_null(id)) {
        c->id = NULL;
    } else if (json_is_string(id) || json_is_integer(id)) {
        c->id = id;
    } else if (json_is_real(id)) {
        double d = json_real_value(id);
        if (!isfinite(d) || d != trunc(d) || d >= 9223372036854775808.0 ||
            d < -9223372036854775808.0) {
            *why = "json-rpc ID must be a whole number within int64";
            return false;
        }
        /* Normalise 5.0 to 5 so the reply echoes an integer id. */
        if (json_object_set_new(o, "id", json_integer((json_int_t)d)) != 0) {
            *why = "out of memory";
            return false;
        }
        c->id = json_object_get(o, "id");
    } else {
        *why = "json-rpc ID is of unknown type";
        return false;
    }
    return true;
}

veil_status rpc_body_parse(const char *p, size_t len, rpc_body *out, rpc_error *err)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    out->root = json_loadb(p, len, 0, &jerr);
    if (out->root == NULL) {
        rpc_error_set(err, RPC_PARSE_ERROR, "error unmarshaling request: %s", jerr.text);
        return VEIL_ERR_MALFORMED;
    }
    out->batch = json_is_array(out->root);
    out->n = out->batch ? json_array_size(out->root) : 1;
    if (out->n > RPC_MAX_BATCH) {
        rpc_error_set(err, RPC_INVALID_REQUEST, "a batch holds at most %d calls, this one %zu",
                      RPC_MAX_BATCH, out->n);
        json_decref(out->root);
        out->root = NULL;
        return VEIL_ERR_LIMIT;
    }
    out->calls = calloc(out->n ? out->n : 1, sizeof *out->calls);
    if (out->calls == NULL) {
        rpc_body_free(out);
        return VEIL_ERR_NOMEM;
    }
    for (size_t i = 0; i < out->n; i++) {
        json_t *o = out->batch ? json_array_get(out->root, i) : out->root;
        const char *why = NULL;
        if (!call_from_json(o, &out->calls[i], &why)) {
            rpc_error_set(err, RPC_PARSE_ERROR, "error unmarshaling request: %s", why);
            rpc_body_free(out);
            return VEIL_ERR_MALFORMED;
        }
    }
    return VEIL_OK;
}

void rpc_body_free(rpc_body *b)
{
    json_decref(b->root);
    free(b->calls);
    memset(b, 0, sizeof *b);
}

/* ---- typed values ------------------------------------------------------------------------ */

static bool parse_decimal(const char *s, int64_t *out)
{
    const char *d = s[0] == '-' ? s + 1 : s;
    if (*d == '\0') return false;
    for (const char *c = d; *c; c++)
        if (*c < '0' || *c > '9') return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0') return false;
    *out = (int64_t)v;
    return true;
}

static veil_status set_bytes(rpc_args *a, size_t i, const void *p, size_t n)
{
    uint8_t *b = malloc(n + 1);
    if (b == NULL) return VEIL_ERR_NOMEM;
    if (n) memcpy(b, p, n);
    b[n] = '\0';
    free(a->bytes[i]);
    a->bytes[i] = b;
    a->len[i] = n;
    return VEIL_OK;
}

static veil_status set_hex(rpc_args *a, size_t i, const char *hex, size_t n, size_t max)
{
    if (n % 2 != 0) return VEIL_ERR_BAD_HEX;
    if (n / 2 > max) return VEIL_ERR_TOO_LARGE;
    uint8_t *b = malloc(n / 2 + 1);
    if (b == NULL) return VEIL_ERR_NOMEM;
    size_t got;
    veil_status st = veil_hex_decode(b, n / 2 + 1, hex, n, &got);
    if (st != VEIL_OK) {
        free(b);
        return st;
    }
    b[got] = '\0';
    free(a->bytes[i]);
    a->bytes[i] = b;
    a->len[i] = got;
    return VEIL_OK;
}

static veil_status set_base64(rpc_args *a, size_t i, const char *s, size_t n, size_t max)
{
    if (n / 4 * 3 > max + 2) return VEIL_ERR_TOO_LARGE;
    uint8_t *b = malloc(n / 4 * 3 + 3);
    if (b == NULL) return VEIL_ERR_NOMEM;
    size_t got;
    const char *end;
    if (sodium_base642bin(b, n / 4 * 3 + 3, s, n, NULL, &got, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != s + n) {
        free(b);
        return VEIL_ERR_MALFORMED;
    }
    b[got] = '\0';
    free(a->bytes[i]);
    a->bytes[i] = b;
    a->len[i] = got;
    return VEIL_OK;
}

static const char *type_name(rpc_arg_type t)
{
    switch (t) {
    case RPC_ARG_INT64:
        return "int64";
    case RPC_ARG_BOOL:
        return "bool";
    case RPC_ARG_BYTES:
        return "[]uint8";
    case RPC_ARG_HEXBYTES:
        return "bytes.HexBytes";
    default:
        return "string";
    }
}

/* One JSON value into argument i. */
static veil_status arg_from_json(const rpc_arg_spec *spec, const json_t *v, size_t i, size_t max,
                                 rpc_args *a)
{
    switch (spec->type) {
    case RPC_ARG_INT64:
        if (json_is_integer(v)) {
            a->i64[i] = (int64_t)json_integer_value(v);
        } else if (!json_is_string(v) || !parse_decimal(json_string_value(v), &a->i64[i])) {
            return VEIL_ERR_MALFORMED;
        }
        break;
    case RPC_ARG_BOOL:
        if (!json_is_boolean(v)) return VEIL_ERR_MALFORMED;
        a->b[i] = json_is_true(v);
        break;
    case RPC_ARG_BYTES:
        if (!json_is_string(v)) return VEIL_ERR_MALFORMED;
        TRY(set_base64(a, i, json_string_value(v), json_string_length(v), max));
        break;
    case RPC_ARG_HEXBYTES:
        if (!json_is_string(v)) return VEIL_ERR_MALFORMED;
        TRY(set_hex(a, i, json_string_value(v), json_string_length(v), max));
        break;
    case RPC_ARG_STRING:
        if (!json_is_string(v)) return VEIL_ERR_MALFORMED;
        if (json_string_length(v) > max) return VEIL_ERR_TOO_LARGE;
        TRY(set_bytes(a, i, json_string_value(v), json_string_length(v)));
        break;
    }
    a->present[i] = true;
    return VEIL_OK;
}

veil_status rpc_args_from_json(const rpc_method_spec *m, const json_t *params, size_t max_bytes,
                               rpc_args *out, rpc_error *err)
{
    memset(out, 0, sizeof *out);
    if (params == NULL || json_is_null(params)) return VEIL_OK;
    if (json_is_object(params)) {
        for (size_t i = 0; i < m->n_args; i++) {
            const json_t *v = json_object_get(params, m->args[i].name);
            if (v == NULL || json_is_null(v)) continue;
            veil_status st = arg_from_json(&m->args[i], v, i, max_bytes, out);
            if (st == VEIL_ERR_NOMEM) {
                rpc_args_free(out);
                return st;
            }
            if (st != VEIL_OK) {
                rpc_error_set(err, RPC_INVALID_PARAMS,
                              "error converting json params to arguments: %s: cannot decode "
                              "into %s",
                              m->args[i].name, type_name(m->args[i].type));
                rpc_args_free(out);
                return VEIL_ERR_ARG;
            }
        }
        return VEIL_OK;
    }
    if (json_is_array(params)) {
        if (json_array_size(params) != m->n_args) {
            rpc_error_set(err, RPC_INVALID_PARAMS,
                          "error converting json params to arguments: expected %zu parameters, "
                          "got %zu",
                          m->n_args, json_array_size(params));
            return VEIL_ERR_ARG;
        }
        for (size_t i = 0; i < m->n_args; i++) {
            veil_status st = arg_from_json(&m->args[i], json_array_get(params, i), i, max_bytes, out);
            if (st == VEIL_ERR_NOMEM) {
                rpc_args_free(out);
                return st;
            }
            if (st != VEIL_OK) {
                rpc_error_set(err, RPC_INVALID_PARAMS,
                              "error converting json params to arguments: parameter %zu (%s): "
                              "cannot decode into %s",
                              i, m->args[i].name, type_name(m->args[i].type));
                rpc_args_free(out);
                return VEIL_ERR_ARG;
            }
        }
        return VEIL_OK;
    }
    rpc_error_set(err, RPC_INVALID_PARAMS,
                  "error converting json params to arguments: unknown type for JSON params. "
                  "Expected map or array");
    return VEIL_ERR_ARG;
}

/* ---- URI arguments ------------------------------------------------------------------------ */

static veil_status arg_from_uri(const rpc_arg_spec *spec, const char *s, size_t i, size_t max,
                                rpc_args *a)
{
    size_t n = strlen(s);
    bool is_int = parse_decimal(s, &a->i64[i]);
    bool is_quoted = n >= 2 && s[0] == '"' && s[n - 1] == '"';
    bool is_hex = n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    bool want_bytes = spec->type == RPC_ARG_BYTES || spec->type == RPC_ARG_HEXBYTES;

    if (spec->type == RPC_ARG_INT64 && is_int) {
        a->present[i] = true;
        return VEIL_OK;
    }
    if (is_hex) {
        if (!want_bytes && spec->type != RPC_ARG_STRING) return VEIL_ERR_MALFORMED;
        TRY(set_hex(a, i, s + 2, n - 2, max));
        a->present[i] = true;
        return VEIL_OK;
    }
    if (is_quoted && want_bytes) {
        /* The JSON string's characters themselves, not base64. */
        json_error_t err;
        json_t *j = json_loadb(s, n, JSON_DECODE_ANY, &err);
        if (!json_is_string(j)) {
            json_decref(j);
            return VEIL_ERR_MALFORMED;
        }
        veil_status st = json_string_length(j) > max ? VEIL_ERR_TOO_LARGE
                                                     : set_bytes(a, i, json_string_value(j),
                                                                 json_string_length(j));
        json_decref(j);
        if (st == VEIL_OK) a->present[i] = true;
        return st;
    }
    /* Otherwise the value is JSON of the argument's type. */
    json_error_t err;
    json_t *j = json_loadb(s, n, JSON_DECODE_ANY, &err);
    if (j == NULL) return VEIL_ERR_MALFORMED;
    veil_status st = arg_from_json(spec, j, i, max, a);
    json_decref(j);
    return st;
}

veil_status rpc_args_from_uri(const rpc_method_spec *m, rpc_uri_get_fn get, void *ctx,
                              size_t max_bytes, rpc_args *out, rpc_error *err)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < m->n_args; i++) {
        const char *s = get(ctx, m->args[i].name);
        if (s == NULL || *s == '\0') continue;
        veil_status st = arg_from_uri(&m->args[i], s, i, max_bytes, out);
        if (st == VEIL_ERR_NOMEM) return st;
        if (st != VEIL_OK) {
            rpc_error_set(err, RPC_INVALID_PARAMS,
                          "error converting http params to arguments: %s: cannot decode into %s",
                          m->args[i].name, type_name(m->args[i].type));
            rpc_args_free(out);
            return VEIL_ERR_ARG;
        }
    }
    return VEIL_OK;
}
