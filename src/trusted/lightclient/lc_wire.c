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

static veil_status dec_timestamp(pb_reader r, cmt_timestamp *t)
{
    t->seconds = 0;
    t->nanos = 0;
    while (!pb_reader_done(&r)) {
        uint32_t f;
        unsigned wt;
        uint64_t v;
        ENSURE(pb_read_tag(&r, &f, &wt) == VEIL_OK, BAD);
        if (f == 1) {
            TRY(read_u64(&r, wt, &v));
            t->seconds = (int64_t)v;
        } else if (f == 2) {
            TRY(read_u64(&r, wt, &v));
            ENSURE(v < 1000000000u, BAD);
            t->nanos = (int32_t)v;
        } else {
            TRY(skip(&r, wt));
        }
    }
    return VEIL_OK;
}

static veil_status dec_block_id(pb_reader r, cmt_block_id *id)
{
    memset(id, 0, sizeof *id);
    while (!pb_reader_done(&r)) {
        uint32_t f;
        unsigned wt;
        ENSURE(pb_read_tag(&r, &f, &wt) == VEIL_OK, BAD);
        if (f == 1) {
            TRY(read_hash(&r, wt, &id->hash));
        } else if (f == 2) {
            pb_reader s;
            TRY(sub_of(&r, wt, &s));
            while (!pb_reader_done(&s)) {
                uint32_t g;
                unsigned wt2;
                uint64_t v;
                ENSURE(pb_read_tag(&s, &g, &wt2) == VEIL_OK, BAD);
                if (g == 1) {
                    TRY(read_u64(&s, wt2, &v));
                    ENSURE(v <= UINT32_MAX, BAD);
                    id->parts.total = (uint32_t)v;
                } else if (g == 2) {
                    TRY(read_hash(&s, wt2, &id->parts.hash));
                } else {
                    TRY(skip(&s, wt2));
                }
            }
        } else {
            TRY(skip(&r, wt));
        }
    }
    return VEIL_OK;
}

static veil_status dec_header(pb_reader r, cmt_header *h)
{
    memset(h, 0, sizeof *h);
    while (!pb_reader_done(&r)) {
        uint32_t f;
        unsigned wt;
        uint64_t v;
        pb_reader s;
        size_t n;
        ENSURE(pb_read_tag(&r, &f, &wt) == VEIL_OK, BAD);
        switch (f) {
        case 1: /* version */
            TRY(sub_of(&r, wt, &s));
            while (!pb_reader_done(&s)) {
                uint32_t g;
                unsigned wt2;
                ENSURE(pb_read_tag(&s, &g, &wt2) == VEIL_OK, BAD);
                if (g == 1) TRY(read_u64(&s, wt2, &h->version_block));
                else if (g == 2) TRY(read_u64(&s, wt2, &h->version_app));
                else TRY(skip(&s, wt2));
            }
            break;
        case 2:
            TRY(read_bytes(&r, wt, (uint8_t *)h->chain_id, CMT_MAX_CHAIN_ID_LEN, &n));
            h->chain_id[n] = '\0';
            ENSURE(strlen(h->chain_id) == n, BAD); /* no NUL inside */
            break;
        case 3:
            TRY(read_u64(&r, wt, &v));
            h->height = (int64_t)v;
            break;
        case 4:
            TRY(sub_of(&r, wt, &s));
            TRY(dec_timestamp(s, &h->time));
            break;
        case 5:
            TRY(sub_of(&r, wt, &s));
            TRY(dec_block_id(s, &h->last_block_id));
            break;
        case 6: TRY(read_hash(&r, wt, &h->last_commit_hash)); break;
        case 7: TRY(read_hash(&r, wt, &h->data_hash)); break;
        case 8: TRY(read_hash(&r, wt, &h->validators_hash)); break;
        case 9: TRY(read_hash(&r, wt, &h->next_validators_hash)); break;
        case 10: TRY(read_hash(&r, wt, &h->consensus_hash)); break;
        case 11: TRY(read_hash(&r, wt, &h->app_hash)); break;
        case 12: TRY(read_hash(&r, wt, &h->last_results_hash)); break;
        case 13: TRY(read_hash(&r, wt, &h->evidence_hash)); break;
        case 14: TRY(read_hash(&r, wt, &h->proposer_address)); break;
        default: TRY(skip(&r, wt)); break;
        }
    }
    return VEIL_OK;
}

static veil_status dec_commit_sig(pb_reader r, cmt_commit_sig *s)
{
    memset(s, 0, sizeof *s);
    while (!pb_reader_done(&r)) {
        uint32_t f;
        unsigned wt;
        uint64_t v;
        pb_reader sub;
        size_t n;
        ENSURE(pb_read_tag(&r, &f, &wt) == VEIL_OK, BAD);
        if (f == 1) {
            TRY(read_u64(&r, wt, &v));
            ENSURE(v <= 255, BAD);
            s->block_id_flag = (uint8_t)v;
        } else if (f == 2) {
            TRY(read_hash(&r, wt, &s->validator_address));
        } else if (f == 3) {
            TRY(sub_of(&r, wt, &sub));
            TRY(dec_timestamp(sub, &s->timestamp));
        } else if (f == 4) {
            TRY(read_bytes(&r, wt, s->signature, CMT_SIGNATURE_LEN, &n));
            s->signature_len = (uint8_t)n;
        } else {
            TRY(skip(&r, wt));
        }
    }
    return VEIL_OK;
}

static veil_status dec_commit(pb_reader r, lc_commit *c)
{
    c->height = 0;
    c->round = 0;
    c->n_sigs = 0;
    memset(&c->block_id, 0, sizeof c->block_id);
    while (!pb_reader_done(&r)) {
        uint32_t f;
        unsigned wt;
        uint64_t v;
        pb_reader s;
        ENSURE(pb_read_tag(&r, &f, &wt) == VEIL_OK, BAD);
        if (f == 1) {
            TRY(read_u64(&r, wt, &v));
            c->height = (int64_t)v;
        } else if (f == 2) {
            TRY(read_u64(&r, wt, &v));
            ENSURE((int64_t)v >= INT32_MIN && (int64_t)v <= INT32_MAX, BAD);
            c->round = (int32_t)(int64_t)v;
        } else if (f == 3) {
            TRY(sub_of(&r, wt, &s));
            TRY(dec_block_id(s, &c->block_id));
        } else if (f == 4) {
            ENSURE(c->n_sigs < LC_MAX_VALIDATORS, VEIL_ERR_LC_VALSET_TOO_LARGE);
            TRY(sub_of(&r, wt, &s));
            TRY(dec_commit_sig(s, &c->sigs[c->n_sigs]));
            c->n_sigs++;
        } else {
            TRY(skip(&r, wt));
        }
    }
    return VEIL_OK;
}

/* tendermint.crypto.PublicKey: only ed25519 (field 1). */
static veil_status dec_pub_key(pb_reader r, uint8_t out[static CMT_PUBKEY_LEN])
{
    bool have = false;
    while (!pb_reader_done(&r)) {
        uint32_t f;
        unsigned wt;
        size_t n;
        ENSURE(pb_read_tag(&r, &f, &wt) == VEIL_OK, BAD);
        if (f == 1) {
            TRY(read_bytes(&r, wt, out, CMT_PUBKEY_LEN, &n));
            ENSURE(n == CMT_PUBKEY_LEN, BAD);
            have = true;
        } else {
            return BAD; /* another key type: not one this light client verifies */
        }
    }
    ENSURE(have, BAD);
    return VEIL_OK;
}

static veil_status dec_validator(pb_reader r, lc_validator_set *vs, size_t i)
{
    bool have_addr = false, have_key = false;
    vs->v[i].voting_power = 0;
    while (!pb_reader_done(&r)) {
        uint32_t f;
        unsigned wt;
        uint64_t v;
        size_t n;
        pb_reader s;
        ENSURE(pb_read_tag(&r, &f, &wt) == VEIL_OK, BAD);
        if (f == 1) {
            TRY(read_bytes(&r, wt, vs->address[i], CMT_ADDRESS_LEN, &n));
            ENSURE(n == CMT_ADDRESS_LEN, BAD);
            have_addr = true;
        } else if (f == 2) {
            TRY(sub_of(&r, wt, &s));
            TRY(dec_pub_key(s, vs->v[i].pub_key));
            have_key = true;
        } else if (f == 3) {
            TRY(read_u64(&r, wt, &v));
            vs->v[i].voting_power = (int64_t)v;
        } else {
            TRY(skip(&r, wt)); /* proposer_priority: not verified, not needed */
        }
    }
    ENSURE(have_addr && have_key, BAD);
    return VEIL_OK;
}

static veil_status dec_validator_set(pb_reader r, lc_validator_set *vs)
{
    vs->n = 0;
    while (!pb_reader_done(&r)) {
        uint32_t f;
        unsigned wt;
        pb_reader s;
        ENSURE(pb_read_tag(&r, &f, &wt) == VEIL_OK, BAD);
        if (f == 1) {
            ENSURE(vs->n < LC_MAX_VALIDATORS, VEIL_ERR_LC_VALSET_TOO_LARGE);
            TRY(sub_of(&r, wt, &s));
            TRY(dec_validator(s, vs, vs->n));
            vs->n++;
        } else {
            TRY(skip(&r, wt)); /* proposer, total_voting_power: recomputed, not believed */
        }
    }
    return VEIL_OK;
}

veil_status lc_light_block_decode(const uint8_t *in, size_t len, lc_light_block *out)
{
    ENSURE(len <= LC_WIRE_MAX, VEIL_ERR_LC_MALFORMED);
    pb_reader r = pb_reader_init(in, len);
    bool have_sh = false, have_h = false, have_c = false, have_vs = false;
    memset(&out->header, 0, sizeof out->header);
    out->commit.n_sigs = 0;
    out->vals.n = 0;
    while (!pb_reader_done(&r)) {
        uint32_t f;
        unsigned wt;
        pb_reader s;
        ENSURE(pb_read_tag(&r, &f, &wt) == VEIL_OK, BAD);
        if (f == 1) {
            ENSURE(!have_sh, BAD);
            have_sh = true;
            TRY(sub_of(&r, wt, &s));
            while (!pb_reader_done(&s)) {
                uint32_t g;
                unsigned wt2;
                pb_reader t;
                ENSURE(pb_read_tag(&s, &g, &wt2) == VEIL_OK, BAD);
                if (g == 1) {
                    ENSURE(!have_h, BAD);
                    have_h = true;
                    TRY(sub_of(&s, wt2, &t));
                    TRY(dec_header(t, &out->header));
                } else if (g == 2) {
                    ENSURE(!have_c, BAD);
                    have_c = true;
                    TRY(sub_of(&s, wt2, &t));
                    TRY(dec_commit(t, &out->commit));
                } else {
                    TRY(skip(&s, wt2));
                }
            }
        } else if (f == 2) {
            ENSURE(!have_vs, BAD);
            have_vs = true;
            TRY(sub_of(&r, wt, &s));
            TRY(dec_validator_set(s, &out->vals));
        } else {
            TRY(skip(&r, wt));
        }
    }
    ENSURE(have_h && have_c && have_vs, BAD);
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
