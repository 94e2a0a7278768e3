/* Decoding of CometBFT's protobuf encodings of blocks, headers and commits (the
 * inverse of cmt_hash.c's encodings, for blocks the dev chain reads back). */
#include "trusted/cmt/cmt_hash.h"

#include <stdlib.h>
#include <string.h>

#include "trusted/cmt/cmt_proto.h"

/* ---- decoding ------------------------------------------------------------------------ */

static veil_status read_bytes_field(pb_reader *r, cmt_bytes *out)
{
    const uint8_t *p;
    size_t n;
    TRY(pb_read_len(r, &p, &n));
    return cmt_bytes_set(out, p, n);
}

static veil_status read_sub(pb_reader *r, unsigned wt, pb_reader *sub)
{
    if (wt != PB_WT_LEN) return VEIL_ERR_MALFORMED;
    const uint8_t *p;
    size_t n;
    TRY(pb_read_len(r, &p, &n));
    *sub = pb_reader_init(p, n);
    return VEIL_OK;
}

static veil_status read_int(pb_reader *r, unsigned wt, uint64_t *v)
{
    if (wt != PB_WT_VARINT) return VEIL_ERR_MALFORMED;
    return pb_read_varint(r, v);
}

static veil_status decode_timestamp(pb_reader *r, cmt_timestamp *t)
{
    memset(t, 0, sizeof *t);
    while (!pb_reader_done(r)) {
        uint32_t f;
        unsigned wt;
        uint64_t v;
        TRY(pb_read_tag(r, &f, &wt));
        if (f == 1) {
            TRY(read_int(r, wt, &v));
            t->seconds = (int64_t)v;
        } else if (f == 2) {
            TRY(read_int(r, wt, &v));
            if ((int64_t)v < 0 || v > 999999999u) return VEIL_ERR_MALFORMED;
            t->nanos = (int32_t)v;
        } else {
            TRY(pb_skip(r, wt));
        }
    }
    return VEIL_OK;
}

static veil_status decode_block_id(pb_reader *r, cmt_block_id *id)
{
    memset(id, 0, sizeof *id);
    while (!pb_reader_done(r)) {
        uint32_t f;
        unsigned wt;
        TRY(pb_read_tag(r, &f, &wt));
        if (f == 1) {
            if (wt != PB_WT_LEN) return VEIL_ERR_MALFORMED;
            TRY(read_bytes_field(r, &id->hash));
        } else if (f == 2) {
            pb_reader sub;
            TRY(read_sub(r, wt, &sub));
            while (!pb_reader_done(&sub)) {
                uint32_t g;
                unsigned wt2;
                uint64_t v;
                TRY(pb_read_tag(&sub, &g, &wt2));
                if (g == 1) {
                    TRY(read_int(&sub, wt2, &v));
                    if (v > UINT32_MAX) return VEIL_ERR_MALFORMED;
                    id->parts.total = (uint32_t)v;
                } else if (g == 2) {
                    if (wt2 != PB_WT_LEN) return VEIL_ERR_MALFORMED;
                    TRY(read_bytes_field(&sub, &id->parts.hash));
                } else {
                    TRY(pb_skip(&sub, wt2));
                }
            }
        } else {
            TRY(pb_skip(r, wt));
        }
    }
    return VEIL_OK;
}

static veil_status decode_header(pb_reader *r, cmt_header *h)
{
    memset(h, 0, sizeof *h);
    cmt_bytes *hashes[] = {&h->last_commit_hash,  &h->data_hash,         &h->validators_hash,
                           &h->next_validators_hash, &h->consensus_hash, &h->app_hash,
                           &h->last_results_hash, &h->evidence_hash,     &h->proposer_address};
    while (!pb_reader_done(r)) {
        uint32_t f;
        unsigned wt;
        uint64_t v;
        pb_reader sub;
        TRY(pb_read_tag(r, &f, &wt));
        switch (f) {
        case 1:
            TRY(read_sub(r, wt, &sub));
            while (!pb_reader_done(&sub)) {
                uint32_t g;
                unsigned wt2;
                TRY(pb_read_tag(&sub, &g, &wt2));
                if (g == 1 || g == 2) {
                    TRY(read_int(&sub, wt2, &v));
                    if (g == 1) h->version_block = v;
                    else h->version_app = v;
                } else {
                    TRY(pb_skip(&sub, wt2));
                }
            }
            break;
        case 2: {
            if (wt != PB_WT_LEN) return VEIL_ERR_MALFORMED;
            const uint8_t *p;
            size_t n;
            TRY(pb_read_len(r, &p, &n));
            if (n > CMT_MAX_CHAIN_ID_LEN || memchr(p, 0, n) != NULL) return VEIL_ERR_MALFORMED;
            memcpy(h->chain_id, p, n);
            h->chain_id[n] = '\0';
            break;
        }
        case 3:
            TRY(read_int(r, wt, &v));
            h->height = (int64_t)v;
            break;
        case 4:
            TRY(read_sub(r, wt, &sub));
            TRY(decode_timestamp(&sub, &h->time));
            break;
        case 5:
            TRY(read_sub(r, wt, &sub));
            TRY(decode_block_id(&sub, &h->last_block_id));
            break;
        default:
            if (f >= 6 && f <= 14) {
                if (wt != PB_WT_LEN) return VEIL_ERR_MALFORMED;
                TRY(read_bytes_field(r, hashes[f - 6]));
            } else {
                TRY(pb_skip(r, wt));
            }
        }
    }
    return VEIL_OK;
}

static veil_status decode_commit_sig(pb_reader *r, cmt_commit_sig *s)
{
    memset(s, 0, sizeof *s);
    while (!pb_reader_done(r)) {
        uint32_t f;
        unsigned wt;
        uint64_t v;
        pb_reader sub;
        TRY(pb_read_tag(r, &f, &wt));
        if (f == 1) {
            TRY(read_int(r, wt, &v));
            if (v > CMT_FLAG_NIL) return VEIL_ERR_MALFORMED;
            s->block_id_flag = (uint8_t)v;
        } else if (f == 2) {
            if (wt != PB_WT_LEN) return VEIL_ERR_MALFORMED;
            TRY(read_bytes_field(r, &s->validator_address));
        } else if (f == 3) {
            TRY(read_sub(r, wt, &sub));
            TRY(decode_timestamp(&sub, &s->timestamp));
        } else if (f == 4) {
            if (wt != PB_WT_LEN) return VEIL_ERR_MALFORMED;
            const uint8_t *p;
            size_t n;
            TRY(pb_read_len(r, &p, &n));
            if (n > CMT_SIGNATURE_LEN) return VEIL_ERR_TOO_LARGE;
            memcpy(s->signature, p, n);
            s->signature_len = (uint8_t)n;
        } else {
            TRY(pb_skip(r, wt));
        }
    }
    return VEIL_OK;
}

static veil_status decode_commit(pb_reader *r, cmt_commit *c)
{
    memset(c, 0, sizeof *c);
    while (!pb_reader_done(r)) {
        uint32_t f;
        unsigned wt;
        uint64_t v;
        pb_reader sub;
        TRY(pb_read_tag(r, &f, &wt));
        if (f == 1) {
            TRY(read_int(r, wt, &v));
            c->height = (int64_t)v;
        } else if (f == 2) {
            TRY(read_int(r, wt, &v));
            if ((int64_t)v < INT32_MIN || (int64_t)v > INT32_MAX) return VEIL_ERR_MALFORMED;
            c->round = (int32_t)(int64_t)v;
        } else if (f == 3) {
            TRY(read_sub(r, wt, &sub));
            TRY(decode_block_id(&sub, &c->block_id));
        } else if (f == 4) {
            if (c->n_sigs >= CMT_MAX_COMMIT_SIGS) return VEIL_ERR_LIMIT;
            TRY(read_sub(r, wt, &sub));
            TRY(decode_commit_sig(&sub, &c->sigs[c->n_sigs]));
            c->n_sigs++;
        } else {
            TRY(pb_skip(r, wt));
        }
    }
    return VEIL_OK;
}

veil_status cmt_decode_commit(const uint8_t *p, size_t len, cmt_commit *out)
{
    pb_reader r = pb_reader_init(p, len);
    return decode_commit(&r, out);
}

static veil_status count_txs(pb_reader data, size_t *n)
{
    *n = 0;
    while (!pb_reader_done(&data)) {
        uint32_t f;
        unsigned wt;
        TRY(pb_read_tag(&data, &f, &wt));
        if (f == 1 && wt != PB_WT_LEN) return VEIL_ERR_MALFORMED;
        TRY(pb_skip(&data, wt));
        if (f == 1) (*n)++;
    }
    return VEIL_OK;
}

veil_status cmt_decode_block(const uint8_t *p, size_t len, cmt_block *out)
{
    memset(out, 0, sizeof *out);
    pb_reader r = pb_reader_init(p, len);
    veil_status st = VEIL_OK;
    bool have_header = false;
    while (!pb_reader_done(&r)) {
        uint32_t f;
        unsigned wt;
        pb_reader sub;
        TRY_OUT(pb_read_tag(&r, &f, &wt));
        if (f == 1) {
            TRY_OUT(read_sub(&r, wt, &sub));
            TRY_OUT(decode_header(&sub, &out->header));
            have_header = true;
        } else if (f == 2) {
            TRY_OUT(read_sub(&r, wt, &sub));
            size_t n;
            TRY_OUT(count_txs(sub, &n));
            /* Data may in principle appear twice (protobuf merges); we wrote it once. */
            ENSURE_OUT(out->txs == NULL, VEIL_ERR_MALFORMED);
            out->txs = calloc(n ? n : 1, sizeof *out->txs);
            ENSURE_OUT(out->txs != NULL, VEIL_ERR_NOMEM);
            while (!pb_reader_done(&sub)) {
                uint32_t g;
                unsigned wt2;
                TRY_OUT(pb_read_tag(&sub, &g, &wt2));
                if (g == 1) {
                    TRY_OUT(pb_read_len(&sub, &out->txs[out->n_txs].p, &out->txs[out->n_txs].len));
                    out->n_txs++;
                } else {
                    TRY_OUT(pb_skip(&sub, wt2));
                }
            }
        } else if (f == 4) {
            TRY_OUT(read_sub(&r, wt, &sub));
            TRY_OUT(decode_commit(&sub, &out->last_commit));
            out->has_last_commit = true;
        } else {
            TRY_OUT(pb_skip(&r, wt)); /* evidence (always empty here) and unknowns */
        }
    }
    ENSURE_OUT(have_header, VEIL_ERR_MALFORMED);
    if (out->txs == NULL) {
        out->txs = calloc(1, sizeof *out->txs);
        ENSURE_OUT(out->txs != NULL, VEIL_ERR_NOMEM);
    }
out:
    if (st != VEIL_OK) cmt_block_free(out);
    return st;
}

void cmt_block_free(cmt_block *blk)
{
    free(blk->txs);
    blk->txs = NULL;
    blk->n_txs = 0;
}

