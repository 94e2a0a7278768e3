/* Genesis app_state parsing (format: docs/node.md, "Genesis"). */
#include "host/node/node_genesis.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/hex.h"
#include "host/attest/attest.h"
#include "hostutil/fileio.h"
#include "trusted/tx/tx.h"

typedef struct gctx {
    char *err;
    size_t cap;
} gctx;

static veil_status gfail(gctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static veil_status gfail(gctx *c, const char *fmt, ...)
{
    if (c->cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->cap, fmt, ap);
        va_end(ap);
    }
    return VEIL_ERR_MALFORMED;
}

/* A canonical decimal string: "0" or no leading zero, at most `max`. */
static bool parse_dec(const char *s, uint64_t max, uint64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0')) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    if (v > max) return false;
    *out = v;
    return true;
}

/* A number field: a decimal string, or (if allow_int) a non-negative JSON integer. */
static veil_status get_num(gctx *c, json_t *obj, const char *path, const char *key, bool required,
                           bool allow_int, uint64_t max, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (required) return gfail(c, "%s.%s: missing", path, key);
        *out = 0;
        return VEIL_OK;
    }
    if (json_is_string(v)) {
        if (!parse_dec(json_string_value(v), max, out))
            return gfail(c, "%s.%s: \"%.40s\" is not a decimal number in 0..%llu", path, key,
                         json_string_value(v), (unsigned long long)max);
        return VEIL_OK;
    }
    if (allow_int && json_is_integer(v) && json_integer_value(v) >= 0 &&
        (uint64_t)json_integer_value(v) <= max) {
        *out = (uint64_t)json_integer_value(v);
        return VEIL_OK;
    }
    return gfail(c, "%s.%s: must be a decimal string (e.g. \"100\")", path, key);
}

static veil_status check_keys(gctx *c, json_t *obj, const char *path, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++) ok |= strcmp(*a, k) == 0;
        if (!ok) return gfail(c, "%s: unknown field \"%.40s\"", path, k);
    }
    return VEIL_OK;
}

/* app_state.params.accepted_enclaves: [{"mrenclave": HEX} | {"mrsigner": HEX,
 * "prodid": N, "min_svn": N}, ...]. */
static veil_status parse_enclave_pins(gctx *c, json_t *list, node_params *out)
{
    static const char *const by_enclave[] = {"mrenclave", NULL};
    static const char *const by_signer[] = {"mrsigner", "prodid", "min_svn", NULL};
    if (list == NULL) return VEIL_OK;
    if (!json_is_array(list) || json_array_size(list) > NODE_MAX_ENCLAVE_PINS)
        return gfail(c, "app_state.params.accepted_enclaves: must be an array of at most %d pins",
                     NODE_MAX_ENCLAVE_PINS);
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *e = json_array_get(list, i);
        node_enclave_pin *o = &out->enclaves[i];
        char path[64];
        snprintf(path, sizeof path, "app_state.params.accepted_enclaves[%zu]", i);
        if (!json_is_object(e)) return gfail(c, "%s: not an object", path);
        json_t *mre = json_object_get(e, "mrenclave"), *mrs = json_object_get(e, "mrsigner");
        json_t *hex = mre != NULL ? mre : mrs;
        if ((mre == NULL) == (mrs == NULL) || !json_is_string(hex) ||
            veil_hex_decode_exact(mre ? o->mrenclave : o->mrsigner, 32, json_string_value(hex),
                                  json_string_length(hex)) != VEIL_OK)
            return gfail(c, "%s: needs exactly one of \"mrenclave\" or \"mrsigner\" (64 hex)",
                         path);
        TRY(check_keys(c, e, path, mre ? by_enclave : by_signer));
        o->by_mrenclave = mre != NULL;
        if (mrs != NULL) {
            uint64_t v;
            /* A signer pin without product and version would accept anything it signs. */
            TRY(get_num(c, e, path, "prodid", true, true, UINT16_MAX, &v));
            o->prodid = (uint16_t)v;
            TRY(get_num(c, e, path, "min_svn", true, true, UINT16_MAX, &v));
            o->min_svn = (uint16_t)v;
        }
    }
    out->n_enclaves = json_array_size(list);
    return VEIL_OK;
}

/* params.attestation_collateral: a collateral bundle object (docs/attestation.md), kept
 * as compact JSON with sorted keys; params.attestation_accept: Intel's status names
 * accepted besides UpToDate. */
static veil_status parse_attestation(gctx *c, json_t *p, node_params *out)
{
    json_t *accept = json_object_get(p, "attestation_accept");
    if (accept != NULL) {
        if (!json_is_array(accept))
            return gfail(c, "app_state.params.attestation_accept: must be a list of TCB status names");
        size_t i;
        json_t *e;
        json_array_foreach(accept, i, e) {
            dcap_tcb_status s;
            if (!json_is_string(e) || !dcap_tcb_status_parse(json_string_value(e), &s) ||
                s == DCAP_TCB_UP_TO_DATE || s == DCAP_TCB_REVOKED)
                return gfail(c, "app_state.params.attestation_accept[%zu]: want one of "
                                "SWHardeningNeeded, ConfigurationNeeded, "
                                "ConfigurationAndSWHardeningNeeded, OutOfDate, "
                                "OutOfDateConfigurationNeeded (Revoked is never accepted)",
                             i);
            out->attestation_accept |= 1u << s;
        }
    }
    json_t *ias_root = json_object_get(p, "attestation_ias_root");
    json_t *coll = json_object_get(p, "attestation_collateral");
    if (ias_root != NULL) {
        if (coll != NULL)
            return gfail(c, "app_state.params: attestation_collateral (DCAP) and "
                            "attestation_ias_root (IAS-style) exclude each other; choose one");
        const char *pem = json_string_value(ias_root);
        BIO *b = pem != NULL ? BIO_new_mem_buf(pem, -1) : NULL;
        X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        bool ok = x != NULL && json_string_length(ias_root) <= NODE_IAS_ROOT_MAX &&
                  strlen(pem) == json_string_length(ias_root);
        X509_free(x);
        BIO_free(b);
        if (!ok)
            return gfail(c, "app_state.params.attestation_ias_root: must be the PEM of the "
                            "report-signing root certificate, at most %u bytes",
                         NODE_IAS_ROOT_MAX);
        memcpy(out->attestation_ias_root, pem, strlen(pem) + 1);
        uint64_t age;
        TRY(get_num(c, p, "app_state.params", "attestation_ias_max_age", false, true, 31536000,
                    &age));
        out->attestation_ias_max_age = age ? age : 86400;
        return VEIL_OK;
    }
    if (json_object_get(p, "attestation_ias_max_age") != NULL)
        return gfail(c, "app_state.params.attestation_ias_max_age: only with attestation_ias_root");
    if (coll == NULL) return VEIL_OK;
    if (!json_is_object(coll))
        return gfail(c, "app_state.params.attestation_collateral: must be a collateral bundle object");
    char *text = json_dumps(coll, JSON_COMPACT | JSON_SORT_KEYS);
    ENSURE(text != NULL, VEIL_ERR_NOMEM);
    size_t n = strlen(text);
    attest_collateral *ac = NULL;
    veil_status st = n <= NODE_ATTESTATION_COLLATERAL_MAX
                         ? attest_collateral_parse((const uint8_t *)text, n, &ac)
                         : VEIL_ERR_TOO_LARGE;
    attest_collateral_free(ac);
    if (st == VEIL_OK) memcpy(out->attestation_collateral, text, n + 1);
    free(text);
    if (st == VEIL_ERR_TOO_LARGE)
        return gfail(c, "app_state.params.attestation_collateral: more than %u bytes as compact JSON",
                     NODE_ATTESTATION_COLLATERAL_MAX);
    if (st != VEIL_OK)
        return gfail(c, "app_state.params.attestation_collateral: %s", veil_error_detail());
    return VEIL_OK;
}

static veil_status parse_params(gctx *c, json_t *p, node_params *out)
{
    static const char *const keys[] = {"fee_rule",         "fee_base",       "fee_per_byte",
                                       "unbonding_period", "key_epoch_blocks", "key_grace_blocks",
                                       "max_validators",
                                       "attestation_collateral", "attestation_accept",
                                       "attestation_ias_root", "attestation_ias_max_age",
                                       "accepted_enclaves", NULL};
    uint64_t v;
    if (!json_is_object(p)) return gfail(c, "app_state.params: missing or not an object");
    TRY(check_keys(c, p, "app_state.params", keys));
    memset(out, 0, sizeof *out);
    json_t *rule = json_object_get(p, "fee_rule");
    const char *rs = json_is_string(rule) ? json_string_value(rule) : "";
    if (strcmp(rs, "exact") == 0)
        out->fee_rule = NODE_FEE_EXACT;
    else if (strcmp(rs, "at_least") == 0)
        out->fee_rule = NODE_FEE_AT_LEAST;
    else
        return gfail(c, "app_state.params.fee_rule: must be \"exact\" or \"at_least\"");
    TRY(get_num(c, p, "app_state.params", "fee_base", true, false, VEIL_TX_MAX_SUPPLY, &out->fee_base));
    TRY(get_num(c, p, "app_state.params", "fee_per_byte", true, false, VEIL_TX_MAX_SUPPLY,
                &out->fee_per_byte));
    TRY(get_num(c, p, "app_state.params", "unbonding_period", true, false, UINT32_MAX * 100ull,
                &out->unbonding_period));
    TRY(get_num(c, p, "app_state.params", "key_epoch_blocks", true, false,
                NODE_KEY_EPOCH_BLOCKS_MAX, &out->key_epoch_blocks));
    /* 0 blocks: the epoch-0 key for good. Otherwise the grace period defaults to a
     * quarter of an epoch and is at most one (docs/key-epochs.md). */
    TRY(get_num(c, p, "app_state.params", "key_grace_blocks", false, false,
                NODE_KEY_EPOCH_BLOCKS_MAX, &out->key_grace_blocks));
    if (out->key_epoch_blocks == 0 && out->key_grace_blocks != 0)
        return gfail(c, "app_state.params.key_grace_blocks: set, but key_epoch_blocks is 0 "
                        "(keys never rotate)");
    if (out->key_epoch_blocks > 0 && out->key_grace_blocks == 0)
        out->key_grace_blocks = out->key_epoch_blocks / 4 ? out->key_epoch_blocks / 4 : 1;
    if (out->key_grace_blocks > out->key_epoch_blocks)
        return gfail(c, "app_state.params.key_grace_blocks: %llu is more than key_epoch_blocks "
                        "(%llu)",
                     (unsigned long long)out->key_grace_blocks,
                     (unsigned long long)out->key_epoch_blocks);
    TRY(get_num(c, p, "app_state.params", "max_validators", false, true, UINT32_MAX, &v));
    out->max_validators = (uint32_t)v;
    TRY(parse_enclave_pins(c, json_object_get(p, "accepted_enclaves"), out));
    TRY(parse_attestation(c, p, out));
    return VEIL_OK;
}

static int cmp_addr(const void *a, const void *b)
{
    return memcmp(((const node_account *)a)->address, ((const node_account *)b)->address, 32);
}

static veil_status parse_account(gctx *c, json_t *a, size_t i, node_account *out)
{
    static const char *const keys[] = {"address", "bonded", "unbonded", "unbonded_from", "nonce",
                                       "jailed_until", NULL};
    char path[64];
    snprintf(path, sizeof path, "app_state.accounts[%zu]", i);
    if (!json_is_object(a)) return gfail(c, "%s: not an object", path);
    TRY(check_keys(c, a, path, keys));
    memset(out, 0, sizeof *out);
    json_t *addr = json_object_get(a, "address");
    if (!json_is_string(addr) ||
        veil_hex_decode_exact(out->address, 32, json_string_value(addr), json_string_length(addr)) !=
            VEIL_OK)
        return gfail(c, "%s.address: must be 64 hex digits (an x-only public key)", path);
    TRY(get_num(c, a, path, "bonded", true, false, VEIL_TX_MAX_SUPPLY, &out->bonded));
    TRY(get_num(c, a, path, "unbonded", true, false, VEIL_TX_MAX_SUPPLY, &out->unbonded));
    TRY(get_num(c, a, path, "unbonded_from", true, false, UINT64_MAX, &out->unbonded_from));
    TRY(get_num(c, a, path, "nonce", false, false, UINT64_MAX, &out->nonce));
    TRY(get_num(c, a, path, "jailed_until", false, false, UINT64_MAX, &out->jailed_until));
    return VEIL_OK;
}

veil_status node_genesis_parse(const uint8_t *text, size_t len, node_genesis *out, char *err,
                               size_t err_cap)
{
    static const char *const keys[] = {"params", "accounts", "outputs", "key_commitment", NULL};
    gctx c = {err, err_cap};
    json_error_t je;
    veil_status st = VEIL_OK;
    memset(out, 0, sizeof *out);
    if (err_cap) err[0] = '\0';
    if (len > NODE_GENESIS_MAX_LEN) {
        gfail(&c, "app_state is larger than %zu bytes", NODE_GENESIS_MAX_LEN);
        return VEIL_ERR_TOO_LARGE;
    }
    if (len == 0 || text == NULL)
        return gfail(&c, "the genesis has no app_state: Veil's genesis state goes there "
                         "(docs/node.md, \"Genesis\")");
    json_t *root = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) return gfail(&c, "app_state: invalid JSON at line %d column %d: %.80s", je.line, je.column, je.text);
    ENSURE_OUT(json_is_object(root), gfail(&c, "app_state: must be a JSON object"));
    TRY_OUT(check_keys(&c, root, "app_state", keys));
    TRY_OUT(parse_params(&c, json_object_get(root, "params"), &out->params));

    json_t *outs = json_object_get(root, "outputs");
    ENSURE_OUT(outs == NULL || (json_is_array(outs) && json_array_size(outs) == 0),
               gfail(&c, "app_state.outputs: initial outputs are not supported (an output must exist "
                         "sealed in the TVE); fund accounts with unbonded stake instead"));

    json_t *kc = json_object_get(root, "key_commitment");
    if (kc != NULL) {
        ENSURE_OUT(json_is_string(kc) &&
                       veil_hex_decode_exact(out->key_commitment, 32, json_string_value(kc),
                                             json_string_length(kc)) == VEIL_OK,
                   gfail(&c, "app_state.key_commitment: must be 64 hex digits"));
        out->has_key_commitment = true;
    }

    json_t *accs = json_object_get(root, "accounts");
    ENSURE_OUT(accs == NULL || json_is_array(accs), gfail(&c, "app_state.accounts: must be an array"));
    size_t n = accs ? json_array_size(accs) : 0;
    ENSURE_OUT(n <= NODE_GENESIS_MAX_ACCOUNTS,
               gfail(&c, "app_state.accounts: more than %u accounts", NODE_GENESIS_MAX_ACCOUNTS));
    if (n) {
        out->accounts = calloc(n, sizeof *out->accounts);
        ENSURE_OUT(out->accounts != NULL, VEIL_ERR_NOMEM);
    }
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        node_account *a = &out->accounts[i];
        TRY_OUT(parse_account(&c, json_array_get(accs, i), i, a));
        out->n_accounts++;
        ENSURE_OUT(!__builtin_add_overflow(total, a->bonded, &total) &&
                       !__builtin_add_overflow(total, a->unbonded, &total) &&
                       total <= VEIL_TX_MAX_SUPPLY,
                   gfail(&c, "app_state.accounts: total stake exceeds the maximum supply"));
    }
    if (n > 1) {
        qsort(out->accounts, n, sizeof *out->accounts, cmp_addr);
        for (size_t i = 1; i < n; i++) {
            if (memcmp(out->accounts[i - 1].address, out->accounts[i].address, 32) == 0) {
                char hex[65];
                veil_hex_encode(hex, out->accounts[i].address, 32);
                st = gfail(&c, "app_state.accounts: account %s appears twice", hex);
                goto out;
            }
        }
    }
out:
    json_decref(root);
    if (st != VEIL_OK) node_genesis_free(out);
    return st;
}

void node_genesis_free(node_genesis *g)
{
    free(g->accounts);
    g->accounts = NULL;
    g->n_accounts = 0;
}
