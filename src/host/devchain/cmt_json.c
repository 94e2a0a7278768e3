#include "host/devchain/cmt_json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/hex.h"
#include "chain/cmt_time.h"

json_t *cmt_json_hex(const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789ABCDEF";
    if (n > (SIZE_MAX - 1) / 2) return NULL;
    char *s = malloc(2 * n + 1);
    if (s == NULL) return NULL;
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[p[i] >> 4];
        s[2 * i + 1] = digits[p[i] & 15];
    }
    s[2 * n] = '\0';
    json_t *j = json_stringn(s, 2 * n);
    free(s);
    return j;
}

json_t *cmt_json_b64_str(const uint8_t *p, size_t n)
{
    if (n == 0) return json_string("");
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *s = malloc(cap);
    if (s == NULL) return NULL;
    sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
    json_t *j = json_string(s);
    free(s);
    return j;
}

json_t *cmt_json_b64(const uint8_t *p, size_t n)
{
    if (n == 0) return json_null();
    return cmt_json_b64_str(p, n);
}

json_t *cmt_json_i64(int64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%" PRId64, v);
    return json_string(s);
}

json_t *cmt_json_u64(uint64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%" PRIu64, v);
    return json_string(s);
}

json_t *cmt_json_time(const cmt_timestamp *t)
{
    char s[CMT_TIME_STR_MAX];
    if (cmt_time_format(t, s) != VEIL_OK) return NULL;
    return json_string(s);
}

/* Length of a valid UTF-8 sequence at p (n bytes left), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

json_t *cmt_json_text(const char *s)
{
    if (s == NULL) return json_string("");
    json_t *j = json_string(s);
    if (j != NULL) return j;
    size_t n = strlen(s);
    if (n > (SIZE_MAX - 1) / 3) return NULL;
    char *out = malloc(3 * n + 1);
    if (out == NULL) return NULL;
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq(p + i, n - i);
        if (l == 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, p + i, l);
            o += l;
            i += l;
        }
    }
    out[o] = '\0';
    j = json_stringn(out, o);
    free(out);
    return j;
}

veil_status cmt_json_set(json_t *obj, const char *key, json_t *v)
{
    if (obj == NULL || v == NULL) {
        json_decref(v);
        return VEIL_ERR_NOMEM;
    }
    return json_object_set_new(obj, key, v) == 0 ? VEIL_OK : VEIL_ERR_NOMEM;
}

json_t *cmt_json_obj(const char *key, ...)
{
    va_list ap;
    va_start(ap, key);
    json_t *o = json_object();
    bool ok = o != NULL;
    for (const char *k = key; k != NULL; k = va_arg(ap, const char *)) {
        json_t *v = va_arg(ap, json_t *);
        if (ok && v != NULL) {
            /* json_object_set_new releases v itself when it fails. */
            if (json_object_set_new(o, k, v) != 0) ok = false;
            continue;
        }
        ok = false;
        json_decref(v);
    }
    va_end(ap);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

#define OBJ(...) cmt_json_obj(__VA_ARGS__, NULL)

json_t *cmt_json_block_id(const cmt_block_id *id)
{
    return OBJ("hash", cmt_json_hex(id->hash.b, id->hash.len),                     //
               "parts", OBJ("total", json_integer(id->parts.total),                 //
                            "hash", cmt_json_hex(id->parts.hash.b, id->parts.hash.len)));
}

#define HEX(f) cmt_json_hex((f).b, (f).len)

json_t *cmt_json_header(const cmt_header *h)
{
    return OBJ("version",
               OBJ("block", cmt_json_u64(h->version_block), "app", cmt_json_u64(h->version_app)),
               "chain_id", json_string(h->chain_id),                  //
               "height", cmt_json_i64(h->height),                     //
               "time", cmt_json_time(&h->time),                       //
               "last_block_id", cmt_json_block_id(&h->last_block_id), //
               "last_commit_hash", HEX(h->last_commit_hash),          //
               "data_hash", HEX(h->data_hash),                        //
               "validators_hash", HEX(h->validators_hash),            //
               "next_validators_hash", HEX(h->next_validators_hash),  //
               "consensus_hash", HEX(h->consensus_hash),              //
               "app_hash", HEX(h->app_hash),                          //
               "last_results_hash", HEX(h->last_results_hash),        //
               "evidence_hash", HEX(h->evidence_hash),                //
               "proposer_address", HEX(h->proposer_address));
}

json_t *cmt_json_commit(const cmt_commit *c)
{
    json_t *sigs = json_array();
    for (size_t i = 0; sigs != NULL && i < c->n_sigs && i < CMT_MAX_COMMIT_SIGS; i++) {
        const cmt_commit_sig *s = &c->sigs[i];
        json_t *o = OBJ("block_id_flag", json_integer(s->block_id_flag),   //
                        "validator_address", HEX(s->validator_address),    //
                        "timestamp", cmt_json_time(&s->timestamp),         //
                        "signature", cmt_json_b64(s->signature, s->signature_len));
        if (o == NULL || json_array_append_new(sigs, o) != 0) {
            json_decref(sigs);
            sigs = NULL;
        }
    }
    return OBJ("height", cmt_json_i64(c->height),               //
               "round", json_integer(c->round),                 //
               "block_id", cmt_json_block_id(&c->block_id),     //
               "signatures", sigs);
}

json_t *cmt_json_block(const cmt_block *blk)
{
    json_t *txs = json_array();
    for (size_t i = 0; txs != NULL && i < blk->n_txs; i++) {
        json_t *t = cmt_json_b64_str(blk->txs[i].p, blk->txs[i].len);
        if (t == NULL || json_array_append_new(txs, t) != 0) {
            json_decref(txs);
            txs = NULL;
        }
    }
    json_t *lc = blk->has_last_commit ? cmt_json_commit(&blk->last_commit) : json_null();
    return OBJ("header", cmt_json_header(&blk->header),   //
               "data", OBJ("txs", txs),                   //
               "evidence", OBJ("evidence", json_array()), //
               "last_commit", lc);
}

json_t *cmt_json_pub_key(const uint8_t pub_key[static CMT_PUBKEY_LEN])
{
    return OBJ("type", json_string("tendermint/PubKeyEd25519"), //
               "value", cmt_json_b64_str(pub_key, CMT_PUBKEY_LEN));
}

/* ---- parsing ---------------------------------------------------------------------- */

veil_status cmt_json_get_i64(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return VEIL_OK;
    }
    if (!json_is_string(v)) return VEIL_ERR_MALFORMED;
    const char *s = json_string_value(v);
    if (*s == '\0' || (s[0] != '-' && (s[0] < '0' || s[0] > '9'))) return VEIL_ERR_MALFORMED;
    errno = 0;
    char *end;
    long long x = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || end == s || (s[0] == '-' && s[1] == '\0'))
        return VEIL_ERR_MALFORMED;
    *out = (int64_t)x;
    return VEIL_OK;
}

veil_status cmt_json_get_hex(const json_t *v, cmt_bytes *out)
{
    if (json_is_null(v)) {
        out->len = 0;
        return VEIL_OK;
    }
    if (!json_is_string(v)) return VEIL_ERR_MALFORMED;
    size_t n = json_string_length(v);
    if (n / 2 > CMT_MAX_HASH_LEN) return VEIL_ERR_TOO_LARGE;
    size_t got;
    TRY(veil_hex_decode(out->b, sizeof out->b, json_string_value(v), n, &got));
    out->len = (uint8_t)got;
    return VEIL_OK;
}

veil_status cmt_json_get_b64(const json_t *v, size_t max, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (json_is_null(v)) return VEIL_OK;
    if (!json_is_string(v)) return VEIL_ERR_MALFORMED;
    size_t n = json_string_length(v);
    if (n == 0) return VEIL_OK;
    /* n / 4 * 3 counts up to two padding bytes: refuse before allocating. */
    if (n / 4 * 3 > max + 2) return VEIL_ERR_TOO_LARGE;
    size_t cap = n / 4 * 3 + 3;
    uint8_t *buf = malloc(cap);
    if (buf == NULL) return VEIL_ERR_NOMEM;
    size_t got;
    const char *end;
    if (sodium_base642bin(buf, cap, json_string_value(v), n, NULL, &got, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != json_string_value(v) + n) {
        free(buf);
        return VEIL_ERR_MALFORMED;
    }
    if (got > max) {
        free(buf);
        return VEIL_ERR_TOO_LARGE;
    }
    *out = buf;
    *len = got;
    return VEIL_OK;
}

static veil_status get_hex_field(const json_t *o, const char *key, cmt_bytes *out)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL) return VEIL_ERR_MALFORMED;
    return cmt_json_get_hex(v, out);
}

static veil_status get_time_field(const json_t *o, const char *key, cmt_timestamp *out)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v)) return VEIL_ERR_MALFORMED;
    return cmt_time_parse(json_string_value(v), out);
}

static veil_status get_i64_field(const json_t *o, const char *key, int64_t *out)
{
    return cmt_json_get_i64(json_object_get(o, key), out);
}

veil_status cmt_json_parse_block_id(const json_t *j, cmt_block_id *out)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(j)) return VEIL_ERR_MALFORMED;
    TRY(get_hex_field(j, "hash", &out->hash));
    const json_t *parts = json_object_get(j, "parts");
    if (!json_is_object(parts)) return VEIL_ERR_MALFORMED;
    int64_t total;
    TRY(get_i64_field(parts, "total", &total));
    if (total < 0 || total > UINT32_MAX) return VEIL_ERR_MALFORMED;
    out->parts.total = (uint32_t)total;
    return get_hex_field(parts, "hash", &out->parts.hash);
}

veil_status cmt_json_parse_header(const json_t *j, cmt_header *out)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(j)) return VEIL_ERR_MALFORMED;
    const json_t *ver = json_object_get(j, "version");
    if (!json_is_object(ver)) return VEIL_ERR_MALFORMED;
    int64_t vb, va = 0;
    TRY(get_i64_field(ver, "block", &vb));
    /* Go's decoder leaves a missing field zero; CometBFT omits nothing, others may. */
    if (json_object_get(ver, "app") != NULL) TRY(get_i64_field(ver, "app", &va));
    out->version_block = (uint64_t)vb;
    out->version_app = (uint64_t)va;
    const json_t *cid = json_object_get(j, "chain_id");
    if (!json_is_string(cid) || json_string_length(cid) > CMT_MAX_CHAIN_ID_LEN ||
        strlen(json_string_value(cid)) != json_string_length(cid))
        return VEIL_ERR_MALFORMED;
    memcpy(out->chain_id, json_string_value(cid), json_string_length(cid) + 1);
    TRY(get_i64_field(j, "height", &out->height));
    TRY(get_time_field(j, "time", &out->time));
    TRY(cmt_json_parse_block_id(json_object_get(j, "last_block_id"), &out->last_block_id));
    TRY(get_hex_field(j, "last_commit_hash", &out->last_commit_hash));
    TRY(get_hex_field(j, "data_hash", &out->data_hash));
    TRY(get_hex_field(j, "validators_hash", &out->validators_hash));
    TRY(get_hex_field(j, "next_validators_hash", &out->next_validators_hash));
    TRY(get_hex_field(j, "consensus_hash", &out->consensus_hash));
    TRY(get_hex_field(j, "app_hash", &out->app_hash));
    TRY(get_hex_field(j, "last_results_hash", &out->last_results_hash));
    TRY(get_hex_field(j, "evidence_hash", &out->evidence_hash));
    return get_hex_field(j, "proposer_address", &out->proposer_address);
}

veil_status cmt_json_parse_commit_sig(const json_t *s, cmt_commit_sig *cs)
{
    memset(cs, 0, sizeof *cs);
    if (!json_is_object(s)) return VEIL_ERR_MALFORMED;
    int64_t flag;
    TRY(get_i64_field(s, "block_id_flag", &flag));
    if (flag < 0 || flag > CMT_FLAG_NIL) return VEIL_ERR_MALFORMED;
    cs->block_id_flag = (uint8_t)flag;
    TRY(get_hex_field(s, "validator_address", &cs->validator_address));
    TRY(get_time_field(s, "timestamp", &cs->timestamp));
    uint8_t *sig;
    size_t sig_len;
    TRY(cmt_json_get_b64(json_object_get(s, "signature"), CMT_SIGNATURE_LEN, &sig, &sig_len));
    if (sig_len) memcpy(cs->signature, sig, sig_len);
    cs->signature_len = (uint8_t)sig_len;
    free(sig);
    return VEIL_OK;
}

veil_status cmt_json_parse_commit_head(const json_t *j, int64_t *height, int32_t *round,
                                       cmt_block_id *block_id)
{
    if (!json_is_object(j)) return VEIL_ERR_MALFORMED;
    TRY(get_i64_field(j, "height", height));
    int64_t r;
    TRY(get_i64_field(j, "round", &r));
    if (r < INT32_MIN || r > INT32_MAX) return VEIL_ERR_MALFORMED;
    *round = (int32_t)r;
    return cmt_json_parse_block_id(json_object_get(j, "block_id"), block_id);
}

veil_status cmt_json_parse_commit(const json_t *j, cmt_commit *out)
{
    memset(out, 0, sizeof *out);
    TRY(cmt_json_parse_commit_head(j, &out->height, &out->round, &out->block_id));
    const json_t *sigs = json_object_get(j, "signatures");
    if (!json_is_array(sigs)) return VEIL_ERR_MALFORMED;
    if (json_array_size(sigs) > CMT_MAX_COMMIT_SIGS) return VEIL_ERR_LIMIT;
    for (size_t i = 0; i < json_array_size(sigs); i++) {
        TRY(cmt_json_parse_commit_sig(json_array_get(sigs, i), &out->sigs[i]));
        out->n_sigs++;
    }
    return VEIL_OK;
}
