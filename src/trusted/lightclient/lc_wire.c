/* Light blocks on the wire (lc_wire.h). */
#include "trusted/lightclient/lc_wire.h"

#include <string.h>

#include "trusted/cmt/cmt_hash.h"
#include "trusted/cmt/cmt_proto.h"

#define BAD VEIL_ERR_LC_MALFORMED

/* Reads a length-delimited field's content into a sub-reader. */
static veil_status sub_of(pb_reader *r, unsigned wt, pb_reader *sub)
{
    ENSURE(wt == PB_WT_LEN, BAD);
    const uint8_t *p;
    size_t n;
    ENSURE(pb_read_len(r, &p, &n) == VEIL_OK, BAD);
    *sub = pb_reader_init(p, n);
    return VEIL_OK;
}

static veil_status read_u64(pb_reader *r, unsigned wt, uint64_t *v)
{
    ENSURE(wt == PB_WT_VARINT && pb_read_varint(r, v) == VEIL_OK, BAD);
    return VEIL_OK;
}

static veil_status read_bytes(pb_reader *r, unsigned wt, uint8_t *out, size_t cap, size_t *len)
{
    ENSURE(wt == PB_WT_LEN, BAD);
    const uint8_t *p;
    size_t n;
    ENSURE(pb_read_len(r, &p, &n) == VEIL_OK && n <= cap, BAD);
    if (n) memcpy(out, p, n);
    *len = n;
    return VEIL_OK;
}

static veil_status read_hash(pb_reader *r, unsigned wt, cmt_bytes *out)
{
    size_t n;
    TRY(read_bytes(r, wt, out->b, CMT_MAX_HASH_LEN, &n));
    out->len = (uint8_t)n;
    return VEIL_OK;
}

static veil_status skip(pb_reader *r, unsigned wt)
{
    ENSURE(pb_skip(r, wt) == VEIL_OK, BAD);
    return VEIL_OK;
}

/* One field of a message: read it from r, or answer VEIL_ERR_NOT_FOUND for a field the
 * decoder does not know (skipped, as protobuf requires). */
typedef veil_status (*field_fn)(pb_reader *r, uint32_t field, unsigned wt, void *ctx);

static veil_status each_field(pb_reader r, field_fn fn, void *ctx)
{
    while (!pb_reader_done(&r)) {
        uint32_t f;
        unsigned wt;
        ENSURE(pb_read_tag(&r, &f, &wt) == VEIL_OK, BAD);
        veil_status st = fn(&r, f, wt, ctx);
        if (st == VEIL_ERR_NOT_FOUND) st = skip(&r, wt);
        TRY(st);
    }
    return VEIL_OK;
}

/* The sub-message in a length-delimited field, field by field. */
static veil_status each_field_of(pb_reader *r, unsigned wt, field_fn fn, void *ctx)
{
    pb_reader s;
    TRY(sub_of(r, wt, &s));
    return each_field(s, fn, ctx);
}

static veil_status f_timestamp(pb_reader *r, uint32_t f, unsigned wt, void *ctx)
{
    cmt_timestamp *t = ctx;
    uint64_t v;
    if (f != 1 && f != 2) return VEIL_ERR_NOT_FOUND;
    TRY(read_u64(r, wt, &v));
    if (f == 1) {
        t->seconds = (int64_t)v;
    } else {
        ENSURE(v < 1000000000u, BAD);
        t->nanos = (int32_t)v;
    }
    return VEIL_OK;
}

static veil_status f_parts(pb_reader *r, uint32_t f, unsigned wt, void *ctx)
{
    cmt_part_set_header *p = ctx;
    uint64_t v;
    if (f == 2) return read_hash(r, wt, &p->hash);
    if (f != 1) return VEIL_ERR_NOT_FOUND;
    TRY(read_u64(r, wt, &v));
    ENSURE(v <= UINT32_MAX, BAD);
    p->total = (uint32_t)v;
    return VEIL_OK;
}

static veil_status f_block_id(pb_reader *r, uint32_t f, unsigned wt, void *ctx)
{
    cmt_block_id *id = ctx;
    if (f == 1) return read_hash(r, wt, &id->hash);
    if (f == 2) return each_field_of(r, wt, f_parts, &id->parts);
    return VEIL_ERR_NOT_FOUND;
}

static veil_status f_version(pb_reader *r, uint32_t f, unsigned wt, void *ctx)
{
    cmt_header *h = ctx;
    if (f == 1) return read_u64(r, wt, &h->version_block);
    if (f == 2) return read_u64(r, wt, &h->version_app);
    return VEIL_ERR_NOT_FOUND;
}

static veil_status f_header(pb_reader *r, uint32_t f, unsigned wt, void *ctx)
{
    cmt_header *h = ctx;
    uint64_t v;
    size_t n;
    cmt_bytes *hashes[] = {&h->last_commit_hash, &h->data_hash,         &h->validators_hash,
                           &h->next_validators_hash, &h->consensus_hash, &h->app_hash,
                           &h->last_results_hash, &h->evidence_hash,      &h->proposer_address};
    switch (f) {
    case 1: return each_field_of(r, wt, f_version, h);
    case 2:
        TRY(read_bytes(r, wt, (uint8_t *)h->chain_id, CMT_MAX_CHAIN_ID_LEN, &n));
        h->chain_id[n] = '\0';
        ENSURE(strlen(h->chain_id) == n, BAD); /* no NUL inside */
        return VEIL_OK;
    case 3:
        TRY(read_u64(r, wt, &v));
        h->height = (int64_t)v;
        return VEIL_OK;
    case 4: return each_field_of(r, wt, f_timestamp, &h->time);
    case 5: return each_field_of(r, wt, f_block_id, &h->last_block_id);
    default:
        if (f >= 6 && f <= 14) return read_hash(r, wt, hashes[f - 6]);
        return VEIL_ERR_NOT_FOUND;
    }
}

static veil_status f_commit_sig(pb_reader *r, uint32_t f, unsigned wt, void *ctx)
{
    cmt_commit_sig *s = ctx;
    uint64_t v;
    size_t n;
    switch (f) {
    case 1:
        TRY(read_u64(r, wt, &v));
        ENSURE(v <= 255, BAD);
        s->block_id_flag = (uint8_t)v;
        return VEIL_OK;
    case 2: return read_hash(r, wt, &s->validator_address);
    case 3: return each_field_of(r, wt, f_timestamp, &s->timestamp);
    case 4:
        TRY(read_bytes(r, wt, s->signature, CMT_SIGNATURE_LEN, &n));
        s->signature_len = (uint8_t)n;
        return VEIL_OK;
    default: return VEIL_ERR_NOT_FOUND;
    }
}

static veil_status f_commit(pb_reader *r, uint32_t f, unsigned wt, void *ctx)
{
    lc_commit *c = ctx;
    uint64_t v;
    switch (f) {
    case 1:
        TRY(read_u64(r, wt, &v));
        c->height = (int64_t)v;
        return VEIL_OK;
    case 2:
        TRY(read_u64(r, wt, &v));
        ENSURE((int64_t)v >= INT32_MIN && (int64_t)v <= INT32_MAX, BAD);
        c->round = (int32_t)(int64_t)v;
        return VEIL_OK;
    case 3: return each_field_of(r, wt, f_block_id, &c->block_id);
    case 4:
        ENSURE(c->n_sigs < LC_MAX_VALIDATORS, VEIL_ERR_LC_VALSET_TOO_LARGE);
        memset(&c->sigs[c->n_sigs], 0, sizeof c->sigs[0]);
        TRY(each_field_of(r, wt, f_commit_sig, &c->sigs[c->n_sigs]));
        c->n_sigs++;
        return VEIL_OK;
    default: return VEIL_ERR_NOT_FOUND;
    }
}

typedef struct val_ctx {
    lc_validator_set *vs;
    size_t i;
    bool have_addr, have_key;
} val_ctx;

/* tendermint.crypto.PublicKey: only ed25519 (field 1); another key type is not one
 * this light client verifies. */
static veil_status f_pub_key(pb_reader *r, uint32_t f, unsigned wt, void *ctx)
{
    val_ctx *v = ctx;
    size_t n;
    ENSURE(f == 1, BAD);
    TRY(read_bytes(r, wt, v->vs->v[v->i].pub_key, CMT_PUBKEY_LEN, &n));
    ENSURE(n == CMT_PUBKEY_LEN, BAD);
    v->have_key = true;
    return VEIL_OK;
}

static veil_status f_validator(pb_reader *r, uint32_t f, unsigned wt, void *ctx)
{
    val_ctx *v = ctx;
    uint64_t x;
    size_t n;
    switch (f) {
    case 1:
        TRY(read_bytes(r, wt, v->vs->address[v->i], CMT_ADDRESS_LEN, &n));
        ENSURE(n == CMT_ADDRESS_LEN, BAD);
        v->have_addr = true;
        return VEIL_OK;
    case 2: return each_field_of(r, wt, f_pub_key, v);
    case 3:
        TRY(read_u64(r, wt, &x));
        v->vs->v[v->i].voting_power = (int64_t)x;
        return VEIL_OK;
    default: return VEIL_ERR_NOT_FOUND; /* proposer_priority: not needed */
    }
}

static veil_status f_validator_set(pb_reader *r, uint32_t f, unsigned wt, void *ctx)
{
    lc_validator_set *vs = ctx;
    if (f != 1) return VEIL_ERR_NOT_FOUND; /* proposer, total power: recomputed */
    ENSURE(vs->n < LC_MAX_VALIDATORS, VEIL_ERR_LC_VALSET_TOO_LARGE);
    val_ctx v = {vs, vs->n, false, false};
    vs->v[vs->n].voting_power = 0;
    TRY(each_field_of(r, wt, f_validator, &v));
    ENSURE(v.have_addr && v.have_key, BAD);
    vs->n++;
    return VEIL_OK;
}

typedef struct block_ctx {
    lc_light_block *lb;
    bool have_sh, have_h, have_c, have_vs;
} block_ctx;

static veil_status f_signed_header(pb_reader *r, uint32_t f, unsigned wt, void *ctx)
{
    block_ctx *b = ctx;
    bool *seen = f == 1 ? &b->have_h : f == 2 ? &b->have_c : NULL;
    if (seen == NULL) return VEIL_ERR_NOT_FOUND;
    ENSURE(!*seen, BAD);
    *seen = true;
    return f == 1 ? each_field_of(r, wt, f_header, &b->lb->header)
                  : each_field_of(r, wt, f_commit, &b->lb->commit);
}

static veil_status f_light_block(pb_reader *r, uint32_t f, unsigned wt, void *ctx)
{
    block_ctx *b = ctx;
    bool *seen = f == 1 ? &b->have_sh : f == 2 ? &b->have_vs : NULL;
    if (seen == NULL) return VEIL_ERR_NOT_FOUND;
    ENSURE(!*seen, BAD);
    *seen = true;
    return f == 1 ? each_field_of(r, wt, f_signed_header, b)
                  : each_field_of(r, wt, f_validator_set, &b->lb->vals);
}

veil_status lc_light_block_decode(const uint8_t *in, size_t len, lc_light_block *out)
{
    ENSURE(len <= LC_WIRE_MAX, VEIL_ERR_LC_MALFORMED);
    memset(&out->header, 0, sizeof out->header);
    memset(&out->commit.block_id, 0, sizeof out->commit.block_id);
    out->commit.height = 0;
    out->commit.round = 0;
    out->commit.n_sigs = 0;
    out->vals.n = 0;
    block_ctx b = {out, false, false, false, false};
    TRY(each_field(pb_reader_init(in, len), f_light_block, &b));
    ENSURE(b.have_h && b.have_c && b.have_vs, BAD);
    return VEIL_OK;
}

static void put_sub(cmt_buf *b, unsigned field, cmt_buf *sub)
{
    pb_put_msg(b, field, sub);
    cmt_buf_reset(sub);
}

veil_status lc_light_block_encode(const lc_light_block *lb, cmt_buf *out)
{
    ENSURE(lb->commit.n_sigs <= LC_MAX_VALIDATORS && lb->vals.n <= LC_MAX_VALIDATORS,
           VEIL_ERR_LC_VALSET_TOO_LARGE);
    cmt_buf sh = {0}, sub = {0}, one = {0}, key = {0};
    memset(out, 0, sizeof *out);
    cmt_encode_header(&sub, &lb->header);
    put_sub(&sh, 1, &sub);
    /* Commit: as cmt_encode_commit, for up to LC_MAX_VALIDATORS signatures. */
    pb_put_int(&sub, 1, lb->commit.height);
    pb_put_int(&sub, 2, lb->commit.round);
    cmt_encode_block_id(&one, &lb->commit.block_id);
    put_sub(&sub, 3, &one);
    for (size_t i = 0; i < lb->commit.n_sigs; i++) {
        cmt_encode_commit_sig(&one, &lb->commit.sigs[i]);
        put_sub(&sub, 4, &one);
    }
    put_sub(&sh, 2, &sub);
    put_sub(out, 1, &sh);
    for (size_t i = 0; i < lb->vals.n; i++) {
        pb_put_bytes(&one, 1, lb->vals.address[i], CMT_ADDRESS_LEN);
        pb_put_bytes(&key, 1, lb->vals.v[i].pub_key, CMT_PUBKEY_LEN);
        put_sub(&one, 2, &key);
        pb_put_int(&one, 3, lb->vals.v[i].voting_power);
        put_sub(&sub, 1, &one);
    }
    put_sub(out, 2, &sub);
    veil_status st = cmt_buf_status(&sh) == VEIL_OK && cmt_buf_status(&sub) == VEIL_OK &&
                             cmt_buf_status(&one) == VEIL_OK && cmt_buf_status(&key) == VEIL_OK
                         ? cmt_buf_status(out)
                         : VEIL_ERR_NOMEM;
    cmt_buf_free(&sh);
    cmt_buf_free(&sub);
    cmt_buf_free(&one);
    cmt_buf_free(&key);
    if (st != VEIL_OK) cmt_buf_free(out);
    return st;
}
