#include "host/devchain/genesis.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "trusted/cmt/cmt_hash.h"
#include "host/devchain/cmt_json.h"
#include "chain/cmt_time.h"
#include "hostutil/fileio.h"
#include "hostutil/json_raw.h"

/* ---- parsing -------------------------------------------------------------------------- */

#define BAD(...)                                                                         \
    do {                                                                                 \
        veil_error_detail_set(__VA_ARGS__);                                              \
        st = VEIL_ERR_MALFORMED;                                                         \
        goto out;                                                                        \
    } while (0)

static bool get_i64(const json_t *obj, const char *key, int64_t *v)
{
    return cmt_json_get_i64(json_object_get(obj, key), v) == VEIL_OK;
}

static veil_status parse_params(const json_t *cp, genesis_doc *g)
{
    veil_status st = VEIL_OK;
    if (cp == NULL || json_is_null(cp)) return VEIL_OK; /* defaults stay */
    if (!json_is_object(cp)) BAD("genesis: consensus_params is not an object");
    const json_t *b = json_object_get(cp, "block");
    if (b != NULL) {
        if (!get_i64(b, "max_bytes", &g->block_max_bytes) ||
            !get_i64(b, "max_gas", &g->block_max_gas))
            BAD("genesis: consensus_params.block needs max_bytes and max_gas");
        /* v0.38: max_bytes > 0, or -1 for the 100 MB hard limit; max_gas >= -1 */
        if ((g->block_max_bytes <= 0 && g->block_max_bytes != -1) ||
            g->block_max_bytes > 104857600 || g->block_max_gas < -1)
            BAD("genesis: consensus_params.block out of range");
    }
    const json_t *e = json_object_get(cp, "evidence");
    if (e != NULL) {
        if (!get_i64(e, "max_age_num_blocks", &g->evidence_max_age_num_blocks) ||
            !get_i64(e, "max_age_duration", &g->evidence_max_age_duration_ns) ||
            !get_i64(e, "max_bytes", &g->evidence_max_bytes))
            BAD("genesis: consensus_params.evidence is incomplete");
    }
    const json_t *v = json_object_get(cp, "validator");
    if (v != NULL) {
        const json_t *types = json_object_get(v, "pub_key_types");
        bool ed = false;
        for (size_t i = 0; json_is_array(types) && i < json_array_size(types); i++) {
            const json_t *t = json_array_get(types, i);
            if (json_is_string(t) && strcmp(json_string_value(t), "ed25519") == 0) ed = true;
        }
        if (!ed) BAD("genesis: consensus_params.validator.pub_key_types must allow ed25519");
    }
    const json_t *ver = json_object_get(cp, "version");
    int64_t app = 0;
    if (ver != NULL && json_object_get(ver, "app") != NULL) {
        if (!get_i64(ver, "app", &app) || app < 0) BAD("genesis: consensus_params.version.app");
        g->version_app = (uint64_t)app;
    }
    const json_t *abci = json_object_get(cp, "abci");
    if (abci != NULL && json_object_get(abci, "vote_extensions_enable_height") != NULL) {
        if (!get_i64(abci, "vote_extensions_enable_height", &g->vote_extensions_enable_height) ||
            g->vote_extensions_enable_height < 0)
            BAD("genesis: consensus_params.abci.vote_extensions_enable_height");
    }
out:
    return st;
}

veil_status genesis_parse(const uint8_t *text, size_t len, genesis_doc *g)
{
    memset(g, 0, sizeof *g);
    g->initial_height = 1;
    g->block_max_bytes = GENESIS_DEFAULT_BLOCK_MAX_BYTES;
    g->block_max_gas = GENESIS_DEFAULT_BLOCK_MAX_GAS;
    g->evidence_max_age_num_blocks = GENESIS_DEFAULT_EVIDENCE_MAX_AGE_BLOCKS;
    g->evidence_max_age_duration_ns = GENESIS_DEFAULT_EVIDENCE_MAX_AGE_NS;
    g->evidence_max_bytes = GENESIS_DEFAULT_EVIDENCE_MAX_BYTES;
    veil_sha256(g->file_hash, text, len);

    veil_status st = VEIL_OK;
    json_error_t err;
    json_t *j = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL) BAD("genesis: %s (line %d)", err.text, err.line);
    if (!json_is_object(j)) BAD("genesis: not a JSON object");

    const json_t *t = json_object_get(j, "genesis_time");
    if (!json_is_string(t) || cmt_time_parse(json_string_value(t), &g->genesis_time) != VEIL_OK)
        BAD("genesis: genesis_time is not an RFC 3339 time");
    const json_t *cid = json_object_get(j, "chain_id");
    if (!json_is_string(cid) || json_string_length(cid) == 0 ||
        json_string_length(cid) > CMT_MAX_CHAIN_ID_LEN ||
        strlen(json_string_value(cid)) != json_string_length(cid))
        BAD("genesis: chain_id must be 1..%d bytes", CMT_MAX_CHAIN_ID_LEN);
    memcpy(g->chain_id, json_string_value(cid), json_string_length(cid) + 1);
    if (json_object_get(j, "initial_height") != NULL) {
        if (!get_i64(j, "initial_height", &g->initial_height) || g->initial_height < 0)
            BAD("genesis: initial_height");
        if (g->initial_height == 0) g->initial_height = 1; /* as CometBFT does */
    }
    st = parse_params(json_object_get(j, "consensus_params"), g);
    if (st != VEIL_OK) goto out;

    const json_t *vals = json_object_get(j, "validators");
    if (!json_is_array(vals) || json_array_size(vals) != 1)
        BAD("genesis: the dev chain needs exactly one validator (its own key)");
    const json_t *v = json_array_get(vals, 0);
    const json_t *pk = json_object_get(v, "pub_key");
    const json_t *type = json_object_get(pk, "type");
    if (!json_is_string(type) || strcmp(json_string_value(type), "tendermint/PubKeyEd25519") != 0)
        BAD("genesis: validator pub_key must be tendermint/PubKeyEd25519");
    uint8_t *raw;
    size_t raw_len;
    if (cmt_json_get_b64(json_object_get(pk, "value"), CMT_PUBKEY_LEN, &raw, &raw_len) !=
            VEIL_OK ||
        raw_len != CMT_PUBKEY_LEN) {
        free(raw);
        BAD("genesis: validator pub_key value is not 32 bytes of base64");
    }
    memcpy(g->validator.pub_key, raw, CMT_PUBKEY_LEN);
    free(raw);
    if (!get_i64(v, "power", &g->validator.voting_power) || g->validator.voting_power <= 0)
        BAD("genesis: validator power must be positive");
    cmt_address_of(g->validator.pub_key, g->validator_address);
    const json_t *addr = json_object_get(v, "address");
    if (addr != NULL && json_string_length(addr) != 0) {
        cmt_bytes a;
        if (cmt_json_get_hex(addr, &a) != VEIL_OK || a.len != CMT_ADDRESS_LEN ||
            memcmp(a.b, g->validator_address, CMT_ADDRESS_LEN) != 0)
            BAD("genesis: validator address does not match its pub_key");
    }
    const json_t *ah = json_object_get(j, "app_hash");
    if (ah != NULL && cmt_json_get_hex(ah, &g->app_hash) != VEIL_OK)
        BAD("genesis: app_hash is not hex (at most %d bytes)", CMT_MAX_HASH_LEN);

    if (json_object_get(j, "app_state") != NULL) {
        size_t off, n;
        if (veil_json_raw_member((const char *)text, len, "app_state", &off, &n) != VEIL_OK)
            BAD("genesis: cannot locate app_state (escaped key?)");
        g->app_state = malloc(n ? n : 1);
        if (g->app_state == NULL) {
            st = VEIL_ERR_NOMEM;
            goto out;
        }
        memcpy(g->app_state, text + off, n);
        g->app_state_len = n;
    }
out:
    json_decref(j);
    if (st != VEIL_OK) genesis_free(g);
    return st;
}

veil_status genesis_load(const char *path, genesis_doc *out)
{
    uint8_t *buf;
    size_t len;
    TRY(veil_file_read(path, GENESIS_FILE_MAX, &buf, &len));
    veil_status st = genesis_parse(buf, len, out);
    free(buf);
    return st;
}

void genesis_free(genesis_doc *g)
{
    free(g->app_state);
    g->app_state = NULL;
    g->app_state_len = 0;
}

/* ---- rendering ----------------------------------------------------------------------- */

veil_status genesis_render(const char *chain_id, const cmt_timestamp *time,
                           const uint8_t pub_key[static CMT_PUBKEY_LEN], int64_t power,
                           const uint8_t *app_state, size_t app_state_len, char **text,
                           size_t *len)
{
    veil_status st = VEIL_OK;
    json_t *state = NULL, *doc = NULL;
    if (app_state != NULL) {
        json_error_t err;
        state = json_loadb((const char *)app_state, app_state_len, JSON_DECODE_ANY, &err);
        if (state == NULL) BAD("app state: %s (line %d)", err.text, err.line);
    }
    uint8_t addr[CMT_ADDRESS_LEN];
    cmt_address_of(pub_key, addr);
    json_t *val = json_object();
    json_t *vals = json_array();
    json_t *pk_types = json_array();
    if (val == NULL || vals == NULL || pk_types == NULL || json_array_append_new(vals, val) != 0 ||
        json_array_append_new(pk_types, json_string("ed25519")) != 0) {
        json_decref(val);
        json_decref(vals);
        json_decref(pk_types);
        st = VEIL_ERR_NOMEM;
        goto out;
    }
    doc = json_object();
    json_t *cp = json_object(), *blk = json_object(), *ev = json_object(), *vp = json_object(),
           *ver = json_object(), *abci = json_object();
    /* Each set call takes its value; a failure anywhere is reported at the end. */
    veil_status s2 = VEIL_OK;
#define SET(o, k, v)                                                                     \
    do {                                                                                 \
        if (cmt_json_set((o), (k), (v)) != VEIL_OK) s2 = VEIL_ERR_NOMEM;                 \
    } while (0)
    SET(blk, "max_bytes", cmt_json_i64(GENESIS_DEFAULT_BLOCK_MAX_BYTES));
    SET(blk, "max_gas", cmt_json_i64(GENESIS_DEFAULT_BLOCK_MAX_GAS));
    SET(ev, "max_age_num_blocks", cmt_json_i64(GENESIS_DEFAULT_EVIDENCE_MAX_AGE_BLOCKS));
    SET(ev, "max_age_duration", cmt_json_i64(GENESIS_DEFAULT_EVIDENCE_MAX_AGE_NS));
    SET(ev, "max_bytes", cmt_json_i64(GENESIS_DEFAULT_EVIDENCE_MAX_BYTES));
    SET(vp, "pub_key_types", pk_types);
    SET(ver, "app", cmt_json_u64(0));
    SET(abci, "vote_extensions_enable_height", cmt_json_i64(0));
    SET(cp, "block", blk);
    SET(cp, "evidence", ev);
    SET(cp, "validator", vp);
    SET(cp, "version", ver);
    SET(cp, "abci", abci);
    SET(val, "address", cmt_json_hex(addr, sizeof addr));
    SET(val, "pub_key", cmt_json_pub_key(pub_key));
    SET(val, "power", cmt_json_i64(power));
    SET(val, "name", json_string(""));
    SET(doc, "genesis_time", cmt_json_time(time));
    SET(doc, "chain_id", json_string(chain_id));
    SET(doc, "initial_height", cmt_json_i64(1));
    SET(doc, "consensus_params", cp);
    SET(doc, "validators", vals);
    SET(doc, "app_hash", json_string(""));
    if (state != NULL) {
        SET(doc, "app_state", state);
        state = NULL;
    }
#undef SET
    if (s2 != VEIL_OK) {
        st = s2;
        goto out;
    }
    char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s == NULL) {
        st = VEIL_ERR_NOMEM;
        goto out;
    }
    *len = strlen(s);
    /* One trailing newline, like every other file we write. */
    char *with_nl = realloc(s, *len + 2);
    if (with_nl == NULL) {
        free(s);
        st = VEIL_ERR_NOMEM;
        goto out;
    }
    with_nl[(*len)++] = '\n';
    with_nl[*len] = '\0';
    *text = with_nl;
out:
    json_decref(state);
    json_decref(doc);
    return st;
}
