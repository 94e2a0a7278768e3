/* libFuzzer target: the dev chain's JSON-RPC request parsing (src/host/devchain/
 * rpc_request.c), i.e. everything a local client controls before a method runs.
 *
 * The first byte chooses the path:
 *   'U'  the rest is a URI query: "method?name=value&name=value" (values used as the
 *        HTTP server hands them over, already URL-decoded), parsed with
 *        rpc_args_from_uri for that method;
 *   else the whole input is a POST body: rpc_body_parse, then rpc_args_from_json for
 *        every call whose method exists.
 * Invariants (abort on violation): a parse error is always -32700 with a NUL-terminated
 * text; bad params are always -32602; a parsed argument of a bytes type never exceeds
 * the limit given; a present string argument has no interior NUL past its length.
 *
 * Corpus: fuzz/corpus/rpc_request/ (hand-written: one file per request shape the
 * server answers, from docs/devchain.md's examples, plus malformed ones).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/devchain/rpc_request.h"

#define FUZZ_MAX_BYTES 4096u

static void check_args(const rpc_method_spec *m, const rpc_args *a)
{
    for (size_t i = 0; i < m->n_args; i++) {
        if (!a->present[i]) continue;
        switch (m->args[i].type) {
        case RPC_ARG_BYTES:
        case RPC_ARG_HEXBYTES:
        case RPC_ARG_STRING:
            if (a->bytes[i] == NULL || a->len[i] > FUZZ_MAX_BYTES) abort();
            if (a->bytes[i][a->len[i]] != '\0') abort();
            break;
        default:
            break;
        }
    }
}

static void check_error(const rpc_error *e, int want)
{
    if (e->code != want) abort();
    if (memchr(e->data, '\0', sizeof e->data) == NULL) abort();
}

typedef struct uri_args {
    size_t n;
    char *name[16];
    char *value[16];
} uri_args;

static const char *uri_get(void *ctx, const char *name)
{
    const uri_args *u = ctx;
    for (size_t i = 0; i < u->n; i++)
        if (strcmp(u->name[i], name) == 0) return u->value[i];
    return NULL;
}

static void run_uri(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL) return;
    memcpy(s, data, size);
    s[size] = '\0';
    char *q = strchr(s, '?');
    if (q != NULL) *q++ = '\0';
    const rpc_method_spec *m = rpc_method_spec_find(s);
    uri_args u = {0, {0}, {0}};
    for (char *p = q; p != NULL && *p && u.n < 16;) {
        char *amp = strchr(p, '&');
        if (amp) *amp = '\0';
        char *eq = strchr(p, '=');
        if (eq) {
            *eq = '\0';
            u.name[u.n] = p;
            u.value[u.n] = eq + 1;
            u.n++;
        }
        p = amp ? amp + 1 : NULL;
    }
    if (m != NULL) {
        rpc_args a;
        rpc_error e = {0, ""};
        veil_status st = rpc_args_from_uri(m, uri_get, &u, FUZZ_MAX_BYTES, &a, &e);
        if (st == VEIL_OK) {
            check_args(m, &a);
            rpc_args_free(&a);
        } else if (st == VEIL_ERR_ARG) {
            check_error(&e, RPC_INVALID_PARAMS);
        } else if (st != VEIL_ERR_NOMEM) {
            abort();
        }
    }
    free(s);
}

static void run_body(const uint8_t *data, size_t size)
{
    rpc_body b;
    rpc_error e = {0, ""};
    veil_status st = rpc_body_parse((const char *)data, size, &b, &e);
    if (st == VEIL_ERR_MALFORMED) {
        check_error(&e, RPC_PARSE_ERROR);
        return;
    }
    if (st != VEIL_OK) return;
    if (!b.batch && b.n != 1) abort();
    for (size_t i = 0; i < b.n; i++) {
        const rpc_call *c = &b.calls[i];
        if (c->method == NULL) abort();
        const rpc_method_spec *m = rpc_method_spec_find(c->method);
        if (m == NULL) continue;
        rpc_args a;
        rpc_error pe = {0, ""};
        st = rpc_args_from_json(m, c->params, FUZZ_MAX_BYTES, &a, &pe);
        if (st == VEIL_OK) {
            check_args(m, &a);
            rpc_args_free(&a);
        } else if (st == VEIL_ERR_ARG) {
            check_error(&pe, RPC_INVALID_PARAMS);
        } else if (st != VEIL_ERR_NOMEM) {
            abort();
        }
    }
    rpc_body_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == 'U') run_uri(data + 1, size - 1);
    else run_body(data, size);
    return 0;
}
