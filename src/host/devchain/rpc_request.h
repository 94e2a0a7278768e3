/* Parsing of CometBFT-style JSON-RPC requests: POST bodies (single or batch) and the
 * URI form (GET /method?arg=value), into typed arguments per method. No I/O: the
 * HTTP server (rpc_server.c) and the fuzz target (fuzz/fuzz_rpc_request.c) share it.
 *
 * Behaviour copied from CometBFT v0.38 rpc/jsonrpc/server (http_json_handler.go,
 * http_uri_handler.go, types.go):
 *   - body not JSON, not an object or array of objects, a member of the wrong type, or
 *     an id that is neither a string nor a whole number -> -32700 "Parse error. Invalid
 *     JSON" for the whole body (id omitted in the reply);
 *   - a request without "id" is a notification: parsed, never answered;
 *   - unknown method -> -32601 "Method not found";
 *   - params: an object (by name; missing or null names take their zero value) or an
 *     array (by position, exactly one element per argument); a value of the wrong
 *     type -> -32602 "Invalid params";
 *   - URI arguments: an integer may be bare (height=5) or quoted ("5"); bytes may be
 *     0x-prefixed hex or a quoted string (its raw bytes); strings must be quoted (or
 *     0x-hex); anything else is decoded as JSON.
 * Integers are accepted as JSON numbers or decimal strings (CometBFT's own clients
 * send strings). Host only.
 */
#ifndef VEIL_HOST_DEVCHAIN_RPC_REQUEST_H
#define VEIL_HOST_DEVCHAIN_RPC_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define RPC_MAX_ARGS 5
/* Calls in one JSON-RPC batch. Each call may produce a large reply (a block, a
 * genesis), so the count bounds the work and memory one request can ask for. */
#define RPC_MAX_BATCH 100
#define RPC_ERROR_DATA_MAX 256

/* JSON-RPC 2.0 error codes, as CometBFT uses them. */
enum {
    RPC_PARSE_ERROR = -32700,
    RPC_INVALID_REQUEST = -32600,
    RPC_METHOD_NOT_FOUND = -32601,
    RPC_INVALID_PARAMS = -32602,
    RPC_INTERNAL_ERROR = -32603,
};

typedef struct rpc_error {
    int code;
    char data[RPC_ERROR_DATA_MAX]; /* CometBFT's "data": the error text */
} rpc_error;

/* The fixed "message" CometBFT pairs with each code. */
const char *rpc_error_message(int code);
/* Sets code and a printf-formatted data text. */
void rpc_error_set(rpc_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef enum rpc_arg_type {
    RPC_ARG_INT64,
    RPC_ARG_BOOL,
    RPC_ARG_BYTES,    /* []byte: base64 in JSON */
    RPC_ARG_HEXBYTES, /* bytes.HexBytes: hex in JSON */
    RPC_ARG_STRING,
} rpc_arg_type;

typedef struct rpc_arg_spec {
    const char *name;
    rpc_arg_type type;
} rpc_arg_spec;

typedef struct rpc_method_spec {
    const char *name;
    size_t n_args;
    rpc_arg_spec args[RPC_MAX_ARGS];
} rpc_method_spec;

/* The methods the dev chain serves; NULL for any other name. */
const rpc_method_spec *rpc_method_spec_find(const char *name);
/* All of them, NULL-terminated by name (for the endpoint list). */
const rpc_method_spec *rpc_method_specs(void);

/* Typed argument values; bytes/strings are malloc'd (strings NUL-terminated).
 * Zero-initialise; release with rpc_args_free. */
typedef struct rpc_args {
    bool present[RPC_MAX_ARGS];
    int64_t i64[RPC_MAX_ARGS];
    bool b[RPC_MAX_ARGS];
    uint8_t *bytes[RPC_MAX_ARGS];
    size_t len[RPC_MAX_ARGS];
} rpc_args;
void rpc_args_free(rpc_args *a);

/* One request of a body. Pointers borrow from rpc_body.root. */
typedef struct rpc_call {
    json_t *id;           /* NULL: notification */
    const char *method;   /* "" if absent */
    const json_t *params; /* NULL if absent */
} rpc_call;

typedef struct rpc_body {
    json_t *root;
    bool batch;
    size_t n;
    rpc_call *calls;
} rpc_body;

/* Parses a POST body (any bytes, not NUL-terminated). VEIL_OK, or VEIL_ERR_MALFORMED
 * with err = -32700 and CometBFT's data text; VEIL_ERR_NOMEM. */
VEIL_MUST_CHECK veil_status rpc_body_parse(const char *p, size_t len, rpc_body *out,
                                           rpc_error *err);
void rpc_body_free(rpc_body *b);

/* Converts JSON params for a method. VEIL_ERR_ARG with err = -32602 on bad params. */
VEIL_MUST_CHECK veil_status rpc_args_from_json(const rpc_method_spec *m, const json_t *params,
                                               size_t max_bytes, rpc_args *out, rpc_error *err);

/* Converts URI arguments; get(ctx, name) returns the URL-decoded value or NULL. */
typedef const char *(*rpc_uri_get_fn)(void *ctx, const char *name);
VEIL_MUST_CHECK veil_status rpc_args_from_uri(const rpc_method_spec *m, rpc_uri_get_fn get,
                                              void *ctx, size_t max_bytes, rpc_args *out,
                                              rpc_error *err);

#endif
