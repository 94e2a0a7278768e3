/* The TVE service's side of a bootstrap (docs/tdbe.md, "Bootstrap"): export of
 * committed blocks for a peer's TDBE, and import of the blocks this platform's TDBE
 * fetched and checked. */
#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"
#include "host/tve/tve_internal.h"
#include "hostutil/log.h"
#include "trusted/tve/tve_channel.h"

#define EXPORT_DEFAULT_BYTES (1u << 20)
#define IMPORT_MAX_RECORDS 65536u

/* --- export -------------------------------------------------------------------------- */
typedef struct export_ctx {
    veil_arena *a;
    uint64_t from;
    size_t max_bytes;
    ProtobufCBinaryData *records;
    size_t n, cap;
    uint8_t *in; /* E_TX_EXPORT's input */
    size_t in_len, in_cap;
    size_t bytes; /* records + sealed blobs so far */
} export_ctx;

static veil_status grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap) return VEIL_OK;
    size_t c = *cap ? *cap : 4096;
    while (c < need) c *= 2;
    uint8_t *b = realloc(*buf, c);
    ENSURE(b != NULL, VEIL_ERR_NOMEM);
    *buf = b;
    *cap = c;
    return VEIL_OK;
}

static veil_status export_block(void *vctx, uint64_t height, const uint8_t *rec, size_t rec_len,
                                const uint8_t *const *txids, const uint8_t *const *sealed,
                                const size_t *lens, size_t n)
{
    export_ctx *x = vctx;
    /* A gap in the store would make the peer's stream skip a height. */
    ENSURE(height == x->from + x->n, VEIL_ERR_DB);
    size_t block_bytes = rec_len;
    for (size_t i = 0; i < n; i++) block_bytes += lens[i] + 48;
    /* Whole blocks only; the first always, however large (the stream's limit decides). */
    if (x->n > 0 && x->bytes + block_bytes > x->max_bytes) return VEIL_ERR_LIMIT;
    ENSURE(x->bytes + block_bytes <= TVE_TXDATA_MAX, VEIL_ERR_TOO_LARGE);
    if (x->n == x->cap) {
        size_t c = x->cap ? 2 * x->cap : 64;
        ProtobufCBinaryData *r = veil_arena_alloc(x->a, c * sizeof *r);
        ENSURE(r != NULL, VEIL_ERR_NOMEM);
        if (x->n > 0) memcpy(r, x->records, x->n * sizeof *r);
        x->records = r;
        x->cap = c;
    }
    uint8_t *copy = veil_arena_alloc(x->a, rec_len ? rec_len : 1);
    ENSURE(copy != NULL, VEIL_ERR_NOMEM);
    memcpy(copy, rec, rec_len);
    x->records[x->n++] = (ProtobufCBinaryData){.data = copy, .len = rec_len};
    for (size_t i = 0; i < n; i++) {
        ENSURE(lens[i] <= UINT32_MAX, VEIL_ERR_DB);
        TRY(grow(&x->in, &x->in_cap, x->in_len + 48 + lens[i]));
        uint8_t *p = x->in + x->in_len;
        veil_put_u64(p, height);
        veil_put_u32(p + 8, (uint32_t)i);
        memcpy(p + 12, txids[i], TVE_TXID_LEN);
        veil_put_u32(p + 44, (uint32_t)lens[i]);
        memcpy(p + 48, sealed[i], lens[i]);
        x->in_len += 48 + lens[i];
    }
    x->bytes += block_bytes;
    return VEIL_OK;
}

veil_status tve_handle_export_blocks(tve_service *s, const Veil__Tve__ExportBlocksRequest *req,
                                     veil_arena *a, Veil__Tve__Response *resp)
{
    TRY(tve_require_initialized(s));
    ENSURE(req->from_height >= 1, VEIL_ERR_ARG);
    ENSURE(req->max_bytes <= TVE_TXDATA_MAX, VEIL_ERR_TOO_LARGE);
    uint64_t last = s->meta.last_height;
    uint64_t to = req->to_height == 0 || req->to_height > last ? last : req->to_height;
    export_ctx x = {.a = a, .from = req->from_height,
                    .max_bytes = req->max_bytes ? req->max_bytes : EXPORT_DEFAULT_BYTES};
    veil_status st = VEIL_OK;
    Veil__Tve__ExportBlocksResponse *r = VEIL_ARENA_NEW(a, Veil__Tve__ExportBlocksResponse);
    ENSURE(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__export_blocks_response__init(r);
    r->last_height = last;
    if (req->from_height <= to) {
        TRY_OUT(grow(&x.in, &x.in_cap, 8));
        veil_put_u64(x.in, req->from_height);
        x.in_len = 8;
        TRY_OUT(tve_store_blocks_each(s->store, req->from_height, to, export_block, &x));
        size_t cap = x.in_len + TVE_CHANNEL_OVERHEAD, out_len = 0;
        uint8_t *out = veil_arena_alloc(a, cap);
        ENSURE_OUT(out != NULL, VEIL_ERR_NOMEM);
        TRY_OUT(tee_enclave_call(s->enclave, TVE_E_TX_EXPORT, x.in, x.in_len, out, cap, &out_len));
        r->records = x.records;
        r->n_records = x.n;
        r->sealed.data = out;
        r->sealed.len = out_len;
    }
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_EXPORT_BLOCKS;
    resp->export_blocks = r;
out:
    free(x.in);
    return st;
}

/* --- import -------------------------------------------------------------------------- */
/* One entry of E_TX_IMPORT's output (tve_abi.h), borrowed from it. */
typedef struct import_tx {
    uint64_t height;
    uint32_t index;
    const uint8_t *txid;
    uint8_t (*spends)[TVE_OUTPOINT_LEN];
    size_t n_spends;
    const uint8_t *sealed;
    size_t sealed_len;
} import_tx;

static veil_status import_parse(const uint8_t *out, size_t len, import_tx **txs, size_t *n)
{
    veil_reader r = veil_reader_init(out, len);
    size_t cap = 0;
    *txs = NULL;
    *n = 0;
    while (r.pos < r.len) {
        import_tx t;
        uint32_t k, sl;
        const uint8_t *sp;
        ENSURE(veil_read_u64(&r, &t.height) == VEIL_OK && veil_read_u32(&r, &t.index) == VEIL_OK &&
                   veil_read_view(&r, TVE_TXID_LEN, &t.txid) == VEIL_OK &&
                   veil_read_u32(&r, &k) == VEIL_OK && k <= 64 &&
                   veil_read_view(&r, (size_t)k * TVE_OUTPOINT_LEN, &sp) == VEIL_OK &&
                   veil_read_u32(&r, &sl) == VEIL_OK &&
                   veil_read_view(&r, sl, &t.sealed) == VEIL_OK,
               VEIL_ERR_TEE_ENCLAVE_FAULT);
        t.spends = (uint8_t(*)[TVE_OUTPOINT_LEN])sp;
        t.n_spends = k;
        t.sealed_len = sl;
        if (*n == cap) {
            cap = cap ? 2 * cap : 256;
            import_tx *g = realloc(*txs, cap * sizeof *g);
            ENSURE(g != NULL, VEIL_ERR_NOMEM);
            *txs = g;
        }
        (*txs)[(*n)++] = t;
    }
    return VEIL_OK;
}

/* Commits one imported block: its txs exactly the record's accepted ones, in order. */
static veil_status import_block(tve_service *s, uint64_t height, const ProtobufCBinaryData *rec,
                                const import_tx *txs, size_t n)
{
    tve_store_block b;
    veil_status st;
    Veil__Tve__TxOutcome *o = NULL;
    tve_store_tx *st_txs = NULL;
    TRY(tve_store_block_parse(rec->data, rec->len, &b));
    ENSURE_OUT(b.n == n, VEIL_ERR_TVE_STAGING_MISMATCH);
    st_txs = calloc(n ? n : 1, sizeof *st_txs);
    ENSURE_OUT(st_txs != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        o = veil__tve__tx_outcome__unpack(NULL, b.outcome_lens[i], b.outcomes[i]);
        ENSURE_OUT(o != NULL && tve_txid_ok(&o->txid), VEIL_ERR_MALFORMED);
        ENSURE_OUT(txs[i].height == height && txs[i].index == i &&
                       memcmp(o->txid.data, txs[i].txid, TVE_TXID_LEN) == 0,
                   VEIL_ERR_TVE_STAGING_MISMATCH);
        veil__tve__tx_outcome__free_unpacked(o, NULL);
        o = NULL;
        st_txs[i] = (tve_store_tx){.txid = txs[i].txid,
                                   .sealed = txs[i].sealed,
                                   .sealed_len = txs[i].sealed_len,
                                   .spends = (const uint8_t(*)[TVE_OUTPOINT_LEN])txs[i].spends,
                                   .n_spends = txs[i].n_spends,
                                   .outcome = b.outcomes[i],
                                   .outcome_len = b.outcome_lens[i]};
    }
    TRY_OUT(tve_store_commit_block(s->store, height, b.app_hash, b.app_hash_len, b.bloom, st_txs,
                                   n, b.codes, b.n_codes));
    s->meta.last_height = height;
    memcpy(s->meta.last_app_hash, b.app_hash, b.app_hash_len);
    s->meta.last_app_hash_len = b.app_hash_len;
    /* A block the node was building at this height is this one now: it replays it. */
    if (s->staging.height != 0 && s->staging.height <= height) {
        pthread_rwlock_wrlock(&s->staging_lock);
        tve_staging_reset(&s->staging);
        pthread_rwlock_unlock(&s->staging_lock);
    }
out:
    if (o != NULL) veil__tve__tx_outcome__free_unpacked(o, NULL);
    free(st_txs);
    tve_store_block_free(&b);
    return st;
}

veil_status tve_handle_import_blocks(tve_service *s, const Veil__Tve__ImportBlocksRequest *req,
                                     veil_arena *a, Veil__Tve__Response *resp)
{
    TRY(tve_require_initialized(s));
    ENSURE(req->n_records >= 1 && req->n_records <= IMPORT_MAX_RECORDS && req->first_height >= 1 &&
               req->first_height <= UINT32_MAX - req->n_records,
           VEIL_ERR_ARG);
    ENSURE(req->sealed.len > TVE_CHANNEL_OVERHEAD &&
               req->sealed.len <= TVE_TXDATA_MAX + TVE_CHANNEL_OVERHEAD,
           VEIL_ERR_TOO_LARGE);
    uint64_t last = s->meta.last_height;
    /* Nothing to do, or a gap: the caller asks again from last + 1. */
    ENSURE(req->first_height <= last + 1, VEIL_ERR_TVE_HEIGHT);
    veil_status st = VEIL_OK;
    size_t in_len = 8 + req->sealed.len, cap = 2 * req->sealed.len + (64u << 10), out_len = 0;
    size_t n = 0, at = 0;
    uint32_t blocks = 0, count = 0;
    import_tx *txs = NULL;
    uint8_t *in = malloc(in_len), *out = malloc(cap);
    ENSURE_OUT(in != NULL && out != NULL, VEIL_ERR_NOMEM);
    veil_put_u64(in, req->first_height);
    memcpy(in + 8, req->sealed.data, req->sealed.len);
    TRY_OUT(tee_enclave_call(s->enclave, TVE_E_TX_IMPORT, in, in_len, out, cap, &out_len));
    TRY_OUT(import_parse(out, out_len, &txs, &n));
    for (size_t i = 0; i < req->n_records; i++) {
        uint64_t h = req->first_height + i;
        size_t from = at;
        while (at < n && txs[at].height == h) at++;
        if (h <= s->meta.last_height) continue; /* committed meanwhile (the node) */
        TRY_OUT(import_block(s, h, &req->records[i], txs + from, at - from));
        blocks++;
        count += (uint32_t)(at - from);
    }
    ENSURE_OUT(at == n, VEIL_ERR_TVE_STAGING_MISMATCH); /* a tx of no record's height */
    Veil__Tve__ImportBlocksResponse *r = VEIL_ARENA_NEW(a, Veil__Tve__ImportBlocksResponse);
    ENSURE_OUT(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__import_blocks_response__init(r);
    r->last_height = s->meta.last_height;
    r->blocks = blocks;
    r->txs = count;
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_IMPORT_BLOCKS;
    resp->import_blocks = r;
out:
    if (blocks > 0)
        veil_log(VEIL_LOG_INFO, "imported %u blocks (%u txs) from a peer, via the TDBE: last height %llu",
                 blocks, count, (unsigned long long)s->meta.last_height);
    free(txs);
    if (out != NULL) veil_wipe(out, cap);
    free(out);
    free(in);
    return st;
}
