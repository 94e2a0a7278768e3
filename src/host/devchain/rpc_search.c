/* tx_search and block_search over what the dev chain indexes: heights and tx hashes.
 *
 * The query language is CometBFT's (conditions joined by AND; =, <, <=, >, >=; integers
 * or 'quoted strings'), restricted to the keys the dev chain can answer from its store:
 * tx.height and tx.hash for tx_search, block.height for block_search. Any other key is
 * refused with a clear error rather than answered empty. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "host/devchain/chain_internal.h"
#include "trusted/cmt/cmt_hash.h"
#include "host/devchain/cmt_json.h"
#include "host/devchain/rpc_search.h"

#define OBJ(...) cmt_json_obj(__VA_ARGS__, NULL)
#define SEARCH_MAX_BLOCKS 100000 /* heights one query may scan */
#define SEARCH_MAX_MATCHES 1000000
#define PER_PAGE_DEFAULT 30
#define PER_PAGE_MAX 100

typedef struct query {
    int64_t lo, hi; /* height range, inclusive */
    bool have_hash;
    uint8_t hash[CMT_HASH_LEN];
} query;

static const char *skip(const char *p)
{
    while (isspace((unsigned char)*p)) p++;
    return p;
}

/* Parses the query for `prefix` ("tx" or "block"). */
static veil_status query_parse(const char *q, const char *prefix, query *out, rpc_error *err)
{
    out->lo = INT64_MIN;
    out->hi = INT64_MAX;
    out->have_hash = false;
    char hkey[16], skey[16];
    snprintf(hkey, sizeof hkey, "%s.height", prefix);
    snprintf(skey, sizeof skey, "%s.hash", prefix);
    const char *p = skip(q != NULL ? q : "");
    if (*p == '\0') return rpc_internal(err, "query cannot be empty");
    for (;;) {
        const char *k = p;
        while (*p && (isalnum((unsigned char)*p) || *p == '.' || *p == '_')) p++;
        size_t klen = (size_t)(p - k);
        p = skip(p);
        char op[3] = {0};
        if (*p == '<' || *p == '>') {
            op[0] = *p++;
            if (*p == '=') op[1] = *p++;
        } else if (*p == '=') {
            op[0] = *p++;
        } else {
            return rpc_internal(err, "query: expected an operator after '%.*s'", (int)klen, k);
        }
        p = skip(p);
        bool is_height = klen == strlen(hkey) && memcmp(k, hkey, klen) == 0;
        bool is_hash = strcmp(prefix, "tx") == 0 && klen == strlen(skey) && memcmp(k, skey, klen) == 0;
        if (!is_height && !is_hash)
            return rpc_internal(err, "query: the dev chain indexes only %s%s%s, not '%.*s'", hkey,
                                strcmp(prefix, "tx") == 0 ? " and " : "",
                                strcmp(prefix, "tx") == 0 ? skey : "", (int)klen, k);
        if (is_height) {
            char *end;
            long long v = strtoll(p, &end, 10);
            if (end == p) return rpc_internal(err, "query: %s wants an integer", hkey);
            p = end;
            if (strcmp(op, "=") == 0) {
                if (v > out->lo) out->lo = v;
                if (v < out->hi) out->hi = v;
            } else if (strcmp(op, ">") == 0) {
                if (v + 1 > out->lo) out->lo = v + 1;
            } else if (strcmp(op, ">=") == 0) {
                if (v > out->lo) out->lo = v;
            } else if (strcmp(op, "<") == 0) {
                if (v - 1 < out->hi) out->hi = v - 1;
            } else if (v < out->hi) {
                out->hi = v;
            }
        } else {
            if (strcmp(op, "=") != 0 || *p != '\'')
                return rpc_internal(err, "query: %s wants = 'HEX'", skey);
            const char *s = ++p;
            while (*p && *p != '\'') p++;
            if (*p != '\'' || veil_hex_decode_exact(out->hash, CMT_HASH_LEN, s, (size_t)(p - s)) !=
                                  VEIL_OK)
                return rpc_internal(err, "query: %s wants 64 hex digits", skey);
            p++;
            out->have_hash = true;
        }
        p = skip(p);
        if (*p == '\0') return VEIL_OK;
        if (strncmp(p, "AND", 3) != 0 || !isspace((unsigned char)p[3]))
            return rpc_internal(err, "query: expected AND at '%.20s'", p);
        p = skip(p + 3);
    }
}

typedef struct match {
    int64_t height;
    uint32_t index;
} match;

static veil_status paging(const rpc_args *a, size_t page_i, size_t per_i, size_t order_i,
                          size_t total, size_t *first, size_t *count, bool *desc, rpc_error *err)
{
    int64_t per = a->present[per_i] ? a->i64[per_i] : PER_PAGE_DEFAULT;
    if (per < 1) per = PER_PAGE_DEFAULT;
    if (per > PER_PAGE_MAX) per = PER_PAGE_MAX;
    int64_t page = a->present[page_i] ? a->i64[page_i] : 1;
    int64_t pages = total == 0 ? 1 : (int64_t)((total + (size_t)per - 1) / (size_t)per);
    if (page < 1 || page > pages)
        return rpc_internal(err, "page should be within [1, %lld] range, given %lld",
                            (long long)pages, (long long)page);
    *desc = false;
    if (a->present[order_i]) {
        const char *o = (const char *)a->bytes[order_i];
        if (strcmp(o, "desc") == 0)
            *desc = true;
        else if (strcmp(o, "asc") != 0 && o[0] != '\0')
            return rpc_internal(err, "expected order_by to be either `asc` or `desc` or empty");
    }
    *first = (size_t)((page - 1) * per);
    *count = total - *first < (size_t)per ? total - *first : (size_t)per;
    return VEIL_OK;
}

/* The heights of the query, within the published chain. */
static veil_status height_range(devchain *dc, const query *q, int64_t *lo, int64_t *hi,
                                rpc_error *err)
{
    snapshot s;
    rpc_take_snapshot(dc, &s);
    *lo = q->lo > rpc_base_height(&s) ? q->lo : rpc_base_height(&s);
    *hi = q->hi < s.st.last_height ? q->hi : s.st.last_height;
    if (*hi >= *lo && *hi - *lo >= SEARCH_MAX_BLOCKS)
        return rpc_internal(err, "query spans more than %d blocks: narrow its height range",
                            SEARCH_MAX_BLOCKS);
    return VEIL_OK;
}

static json_t *tx_json(devchain *dc, int64_t height, uint32_t index, rpc_error *err)
{
    uint8_t *raw = NULL;
    cmt_block blk;
    cmt_block_id id;
    Tendermint__Abci__ResponseFinalizeBlock *fb = NULL;
    json_t *j = NULL;
    if (devchain_load_block(dc, height, &raw, &blk, &id) != VEIL_OK) {
        rpc_internal(err, "could not load block at height %lld", (long long)height);
        return NULL;
    }
    if (index < blk.n_txs && rpc_load_results(dc, height, &fb, err) == VEIL_OK) {
        uint8_t hash[CMT_HASH_LEN];
        cmt_tx_hash(blk.txs[index].p, blk.txs[index].len, hash);
        j = OBJ("hash", cmt_json_hex(hash, CMT_HASH_LEN), "height", cmt_json_i64(height), "index",
                json_integer(index), "tx_result",
                rpc_exec_result_json(index < fb->n_tx_results ? fb->tx_results[index] : NULL),
                "tx", cmt_json_b64_str(blk.txs[index].p, blk.txs[index].len));
        tendermint__abci__response_finalize_block__free_unpacked(fb, NULL);
    }
    cmt_block_free(&blk);
    free(raw);
    return j;
}

veil_status rpc_tx_search(devchain *dc, const rpc_args *a, json_t **result, rpc_error *err)
{
    query q;
    TRY(query_parse(a->present[0] ? (const char *)a->bytes[0] : NULL, "tx", &q, err));
    int64_t lo, hi;
    TRY(height_range(dc, &q, &lo, &hi, err));
    match *m = NULL;
    size_t n = 0, cap = 0;
    veil_status st = VEIL_OK;
    if (q.have_hash) {
        int64_t h;
        uint32_t idx;
        if (store_find_tx(dc->store, q.hash, &h, &idx) == VEIL_OK && h >= lo && h <= hi) {
            m = malloc(sizeof *m);
            if (m == NULL) return VEIL_ERR_NOMEM;
            m[n++] = (match){h, idx};
        }
    } else {
        for (int64_t h = lo; h <= hi && st == VEIL_OK; h++) {
            uint8_t *raw;
            cmt_block blk;
            cmt_block_id id;
            if (devchain_load_block(dc, h, &raw, &blk, &id) != VEIL_OK) {
                st = rpc_internal(err, "could not load block at height %lld", (long long)h);
                break;
            }
            for (size_t i = 0; i < blk.n_txs && st == VEIL_OK; i++) {
                if (n == cap) {
                    size_t nc = cap ? cap * 2 : 64;
                    match *g = nc <= SEARCH_MAX_MATCHES ? realloc(m, nc * sizeof *m) : NULL;
                    if (g == NULL) {
                        st = rpc_internal(err, "more than %d matches: narrow the query",
                                          SEARCH_MAX_MATCHES);
                        break;
                    }
                    m = g;
                    cap = nc;
                }
                m[n++] = (match){h, (uint32_t)i};
            }
            cmt_block_free(&blk);
            free(raw);
        }
    }
    size_t first, count;
    bool desc;
    if (st == VEIL_OK) st = paging(a, 2, 3, 4, n, &first, &count, &desc, err);
    json_t *txs = st == VEIL_OK ? json_array() : NULL;
    for (size_t k = 0; st == VEIL_OK && k < count; k++) {
        const match *x = &m[desc ? n - 1 - (first + k) : first + k];
        json_t *t = tx_json(dc, x->height, x->index, err);
        if (t == NULL || json_array_append_new(txs, t) != 0) st = VEIL_ERR_ARG;
    }
    free(m);
    if (st != VEIL_OK) {
        json_decref(txs);
        return st;
    }
    *result = OBJ("txs", txs, "total_count", cmt_json_i64((int64_t)n));
    return *result != NULL ? VEIL_OK : VEIL_ERR_NOMEM;
}

veil_status rpc_block_search(devchain *dc, const rpc_args *a, json_t **result, rpc_error *err)
{
    query q;
    TRY(query_parse(a->present[0] ? (const char *)a->bytes[0] : NULL, "block", &q, err));
    int64_t lo, hi;
    TRY(height_range(dc, &q, &lo, &hi, err));
    size_t n = hi >= lo ? (size_t)(hi - lo + 1) : 0, first, count;
    bool desc;
    TRY(paging(a, 1, 2, 3, n, &first, &count, &desc, err));
    json_t *blocks = json_array();
    veil_status st = VEIL_OK;
    for (size_t k = 0; k < count && st == VEIL_OK; k++) {
        int64_t h = desc ? hi - (int64_t)(first + k) : lo + (int64_t)(first + k);
        uint8_t *raw;
        cmt_block blk;
        cmt_block_id id;
        if (devchain_load_block(dc, h, &raw, &blk, &id) != VEIL_OK) {
            st = rpc_internal(err, "could not load block at height %lld", (long long)h);
            break;
        }
        json_t *b = OBJ("block_id", cmt_json_block_id(&id), "block", cmt_json_block(&blk));
        if (b == NULL || json_array_append_new(blocks, b) != 0) st = VEIL_ERR_NOMEM;
        cmt_block_free(&blk);
        free(raw);
    }
    if (st != VEIL_OK) {
        json_decref(blocks);
        return st;
    }
    *result = OBJ("blocks", blocks, "total_count", cmt_json_i64((int64_t)n));
    return *result != NULL ? VEIL_OK : VEIL_ERR_NOMEM;
}
