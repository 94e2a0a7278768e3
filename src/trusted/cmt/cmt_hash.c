#include "trusted/cmt/cmt_hash.h"

#include <string.h>

#include "crypto/crypto.h"

/* ---- merkle ----------------------------------------------------------------------- */

static size_t split_point(size_t n)
{
    /* Largest power of two strictly less than n (n >= 2). */
    size_t k = 1;
    while (k < n - k) k <<= 1;
    return k;
}

static void leaf_hash(uint8_t out[static CMT_HASH_LEN], const uint8_t *p, size_t n)
{
    static const uint8_t prefix = 0x00;
    veil_sha256_ctx c;
    veil_sha256_init(&c);
    veil_sha256_update(&c, &prefix, 1);
    veil_sha256_update(&c, p, n);
    veil_sha256_final(&c, out);
}

static void inner_hash(uint8_t out[static CMT_HASH_LEN], const uint8_t l[static CMT_HASH_LEN],
                       const uint8_t r[static CMT_HASH_LEN])
{
    static const uint8_t prefix = 0x01;
    veil_sha256_ctx c;
    veil_sha256_init(&c);
    veil_sha256_update(&c, &prefix, 1);
    veil_sha256_update(&c, l, CMT_HASH_LEN);
    veil_sha256_update(&c, r, CMT_HASH_LEN);
    veil_sha256_final(&c, out);
}

static void root_slices(const cmt_slice *items, size_t n, uint8_t out[static CMT_HASH_LEN])
{
    if (n == 0) {
        veil_sha256(out, "", 0);
    } else if (n == 1) {
        leaf_hash(out, items[0].p, items[0].len);
    } else {
        size_t k = split_point(n);
        uint8_t l[CMT_HASH_LEN], r[CMT_HASH_LEN];
        root_slices(items, k, l);
        root_slices(items + k, n - k, r);
        inner_hash(out, l, r);
    }
}

void cmt_merkle_root(const cmt_slice *items, size_t n, uint8_t out[static CMT_HASH_LEN])
{
    root_slices(items, n, out);
}

typedef struct fn_tree {
    cmt_leaf_fn leaf;
    const void *ctx;
    cmt_buf scratch;
} fn_tree;

static void root_fn(fn_tree *t, size_t first, size_t n, uint8_t out[static CMT_HASH_LEN])
{
    if (n == 0) {
        veil_sha256(out, "", 0);
    } else if (n == 1) {
        cmt_buf_reset(&t->scratch);
        t->leaf(t->ctx, first, &t->scratch);
        leaf_hash(out, t->scratch.p, t->scratch.len);
    } else {
        size_t k = split_point(n);
        uint8_t l[CMT_HASH_LEN], r[CMT_HASH_LEN];
        root_fn(t, first, k, l);
        root_fn(t, first + k, n - k, r);
        inner_hash(out, l, r);
    }
}

veil_status cmt_merkle_root_fn(size_t n, cmt_leaf_fn leaf, const void *ctx,
                               uint8_t out[static CMT_HASH_LEN])
{
    fn_tree t = {leaf, ctx, {0}};
    /* A failed append leaves scratch short; remember any failure across leaves. */
    bool oom = false;
    if (n == 0) {
        veil_sha256(out, "", 0);
        return VEIL_OK;
    }
    /* Pre-allocate so an empty leaf still has a valid pointer for hashing. */
    cmt_buf_put(&t.scratch, "", 1);
    root_fn(&t, 0, n, out);
    oom = t.scratch.oom;
    cmt_buf_free(&t.scratch);
    return oom ? VEIL_ERR_NOMEM : VEIL_OK;
}

static veil_status proof_rec(const cmt_slice *items, size_t n, size_t index,
                             uint8_t leaf[static CMT_HASH_LEN], uint8_t aunts[][CMT_HASH_LEN],
                             size_t *n_aunts)
{
    if (n == 1) {
        leaf_hash(leaf, items[0].p, items[0].len);
        *n_aunts = 0;
        return VEIL_OK;
    }
    size_t k = split_point(n);
    uint8_t sibling[CMT_HASH_LEN];
    veil_status st;
    if (index < k) {
        st = proof_rec(items, k, index, leaf, aunts, n_aunts);
        root_slices(items + k, n - k, sibling);
    } else {
        st = proof_rec(items + k, n - k, index - k, leaf, aunts, n_aunts);
        root_slices(items, k, sibling);
    }
    if (st != VEIL_OK) return st;
    if (*n_aunts >= CMT_MERKLE_MAX_AUNTS) return VEIL_ERR_LIMIT;
    memcpy(aunts[*n_aunts], sibling, CMT_HASH_LEN);
    (*n_aunts)++;
    return VEIL_OK;
}

veil_status cmt_merkle_proof(const cmt_slice *items, size_t n, size_t index,
                             uint8_t leaf_hash_out[static CMT_HASH_LEN],
                             uint8_t aunts[][CMT_HASH_LEN], size_t *n_aunts)
{
    if (index >= n) return VEIL_ERR_ARG;
    return proof_rec(items, n, index, leaf_hash_out, aunts, n_aunts);
}

/* ---- encodings ---------------------------------------------------------------------- */

void cmt_encode_timestamp(cmt_buf *b, const cmt_timestamp *t)
{
    pb_put_int(b, 1, t->seconds);
    pb_put_int(b, 2, t->nanos);
}

static void put_timestamp_field(cmt_buf *b, unsigned field, const cmt_timestamp *t)
{
    /* Timestamps are non-nullable stdtime fields in CometBFT: always written. */
    cmt_buf sub = {0};
    cmt_encode_timestamp(&sub, t);
    pb_put_msg(b, field, &sub);
    cmt_buf_free(&sub);
}

static void encode_part_set_header(cmt_buf *b, const cmt_part_set_header *psh)
{
    pb_put_uint(b, 1, psh->total);
    pb_put_bytes(b, 2, psh->hash.b, psh->hash.len);
}

void cmt_encode_block_id(cmt_buf *b, const cmt_block_id *id)
{
    pb_put_bytes(b, 1, id->hash.b, id->hash.len);
    cmt_buf sub = {0};
    encode_part_set_header(&sub, &id->parts);
    pb_put_msg(b, 2, &sub); /* non-nullable */
    cmt_buf_free(&sub);
}

static void encode_version(cmt_buf *b, uint64_t block, uint64_t app)
{
    pb_put_uint(b, 1, block);
    pb_put_uint(b, 2, app);
}

void cmt_encode_header(cmt_buf *b, const cmt_header *h)
{
    cmt_buf sub = {0};
    encode_version(&sub, h->version_block, h->version_app);
    pb_put_msg(b, 1, &sub);
    pb_put_bytes(b, 2, h->chain_id, strlen(h->chain_id));
    pb_put_int(b, 3, h->height);
    put_timestamp_field(b, 4, &h->time);
    cmt_buf_reset(&sub);
    cmt_encode_block_id(&sub, &h->last_block_id);
    pb_put_msg(b, 5, &sub);
    cmt_buf_free(&sub);
    const cmt_bytes *hashes[] = {&h->last_commit_hash,     &h->data_hash,
                                 &h->validators_hash,      &h->next_validators_hash,
                                 &h->consensus_hash,       &h->app_hash,
                                 &h->last_results_hash,    &h->evidence_hash,
                                 &h->proposer_address};
    for (unsigned i = 0; i < sizeof hashes / sizeof hashes[0]; i++)
        pb_put_bytes(b, 6 + i, hashes[i]->b, hashes[i]->len);
}

void cmt_encode_commit_sig(cmt_buf *b, const cmt_commit_sig *s)
{
    pb_put_uint(b, 1, s->block_id_flag);
    pb_put_bytes(b, 2, s->validator_address.b, s->validator_address.len);
    put_timestamp_field(b, 3, &s->timestamp);
    pb_put_bytes(b, 4, s->signature, s->signature_len);
}

void cmt_encode_commit(cmt_buf *b, const cmt_commit *c)
{
    pb_put_int(b, 1, c->height);
    pb_put_int(b, 2, c->round);
    cmt_buf sub = {0};
    cmt_encode_block_id(&sub, &c->block_id);
    pb_put_msg(b, 3, &sub);
    for (size_t i = 0; i < c->n_sigs && i < CMT_MAX_COMMIT_SIGS; i++) {
        cmt_buf_reset(&sub);
        cmt_encode_commit_sig(&sub, &c->sigs[i]);
        pb_put_msg(b, 4, &sub);
    }
    cmt_buf_free(&sub);
}

void cmt_encode_block(cmt_buf *b, const cmt_block *blk)
{
    cmt_buf sub = {0};
    cmt_encode_header(&sub, &blk->header);
    pb_put_msg(b, 1, &sub);
    cmt_buf_reset(&sub);
    for (size_t i = 0; i < blk->n_txs; i++)
        pb_put_bytes_always(&sub, 1, blk->txs[i].p, blk->txs[i].len);
    pb_put_msg(b, 2, &sub); /* Data, non-nullable */
    cmt_buf_reset(&sub);
    pb_put_msg(b, 3, &sub); /* EvidenceList, non-nullable; we never include evidence */
    if (blk->has_last_commit) {
        cmt_encode_commit(&sub, &blk->last_commit);
        pb_put_msg(b, 4, &sub);
    }
    cmt_buf_free(&sub);
}

/* ---- hashes --------------------------------------------------------------------------- */

static void cdc_bytes(cmt_buf *b, const cmt_bytes *v)
{
    /* cdcEncode(HexBytes): gogotypes.BytesValue{Value}.Marshal(), nil when empty. */
    pb_put_bytes(b, 1, v->b, v->len);
}

veil_status cmt_header_hash(const cmt_header *h, uint8_t out[static CMT_HASH_LEN])
{
    if (h->validators_hash.len == 0) return VEIL_ERR_ARG;
    cmt_buf f[14];
    memset(f, 0, sizeof f);
    encode_version(&f[0], h->version_block, h->version_app);
    pb_put_bytes(&f[1], 1, h->chain_id, strlen(h->chain_id)); /* StringValue */
    pb_put_int(&f[2], 1, h->height);                          /* Int64Value */
    cmt_encode_timestamp(&f[3], &h->time);
    cmt_encode_block_id(&f[4], &h->last_block_id);
    cdc_bytes(&f[5], &h->last_commit_hash);
    cdc_bytes(&f[6], &h->data_hash);
    cdc_bytes(&f[7], &h->validators_hash);
    cdc_bytes(&f[8], &h->next_validators_hash);
    cdc_bytes(&f[9], &h->consensus_hash);
    cdc_bytes(&f[10], &h->app_hash);
    cdc_bytes(&f[11], &h->last_results_hash);
    cdc_bytes(&f[12], &h->evidence_hash);
    cdc_bytes(&f[13], &h->proposer_address);
    cmt_slice s[14];
    veil_status st = VEIL_OK;
    for (int i = 0; i < 14; i++) {
        if (f[i].oom) st = VEIL_ERR_NOMEM;
        s[i].p = f[i].p ? f[i].p : (const uint8_t *)"";
        s[i].len = f[i].len;
    }
    if (st == VEIL_OK) cmt_merkle_root(s, 14, out);
    for (int i = 0; i < 14; i++) cmt_buf_free(&f[i]);
    return st;
}

static void commit_sig_leaf(const void *ctx, size_t i, cmt_buf *scratch)
{
    const cmt_commit *c = ctx;
    cmt_encode_commit_sig(scratch, &c->sigs[i]);
}

veil_status cmt_commit_hash(const cmt_commit *c, uint8_t out[static CMT_HASH_LEN])
{
    if (c->n_sigs > CMT_MAX_COMMIT_SIGS) return VEIL_ERR_LIMIT;
    return cmt_merkle_root_fn(c->n_sigs, commit_sig_leaf, c, out);
}

static void validator_leaf(const void *ctx, size_t i, cmt_buf *scratch)
{
    const cmt_validator *v = (const cmt_validator *)ctx + i;
    cmt_buf pk = {0};
    pb_put_bytes(&pk, 1, v->pub_key, CMT_PUBKEY_LEN); /* PublicKey{ed25519} */
    pb_put_msg(scratch, 1, &pk);
    pb_put_int(scratch, 2, v->voting_power);
    cmt_buf_free(&pk);
}

veil_status cmt_validator_set_hash(const cmt_validator *vals, size_t n,
                                   uint8_t out[static CMT_HASH_LEN])
{
    return cmt_merkle_root_fn(n, validator_leaf, vals, out);
}

void cmt_consensus_params_hash(int64_t block_max_bytes, int64_t block_max_gas,
                               uint8_t out[static CMT_HASH_LEN])
{
    /* At most 2 x (1 + 10) bytes: no allocation needed. */
    uint8_t tmp[32];
    cmt_buf b = cmt_buf_fixed(tmp, sizeof tmp);
    pb_put_int(&b, 1, block_max_bytes);
    pb_put_int(&b, 2, block_max_gas);
    veil_sha256(out, tmp, b.len);
}

static void tx_leaf(const void *ctx, size_t i, cmt_buf *scratch)
{
    const cmt_slice *tx = (const cmt_slice *)ctx + i;
    uint8_t h[CMT_HASH_LEN];
    veil_sha256(h, tx->p, tx->len);
    cmt_buf_put(scratch, h, sizeof h);
}

veil_status cmt_txs_hash(const cmt_slice *txs, size_t n, uint8_t out[static CMT_HASH_LEN])
{
    return cmt_merkle_root_fn(n, tx_leaf, txs, out);
}

static void result_leaf(const void *ctx, size_t i, cmt_buf *scratch)
{
    const cmt_exec_result *r = (const cmt_exec_result *)ctx + i;
    pb_put_uint(scratch, 1, r->code);
    pb_put_bytes(scratch, 2, r->data.p, r->data.len);
    pb_put_int(scratch, 5, r->gas_wanted);
    pb_put_int(scratch, 6, r->gas_used);
}

veil_status cmt_results_hash(const cmt_exec_result *r, size_t n, uint8_t out[static CMT_HASH_LEN])
{
    return cmt_merkle_root_fn(n, result_leaf, r, out);
}

veil_status cmt_vote_sign_bytes_into(uint8_t out[static CMT_SIGN_BYTES_MAX], size_t *len,
                                     const char *chain_id, unsigned type, int64_t height,
                                     int32_t round, const cmt_block_id *block_id,
                                     const cmt_timestamp *ts)
{
    /* Fixed storage: every field is bounded (hashes <= CMT_MAX_HASH_LEN, chain ids are
     * checked below), so nothing is allocated. */
    uint8_t vb[CMT_SIGN_BYTES_MAX], sb[2 * CMT_MAX_HASH_LEN + 32], pb[CMT_MAX_HASH_LEN + 16],
        tb[32];
    size_t id_len = strlen(chain_id);
    ENSURE(id_len <= CMT_MAX_CHAIN_ID_LEN, VEIL_ERR_ARG);
    cmt_buf v = cmt_buf_fixed(vb, sizeof vb), sub = cmt_buf_fixed(sb, sizeof sb),
            psh = cmt_buf_fixed(pb, sizeof pb), t = cmt_buf_fixed(tb, sizeof tb),
            o = cmt_buf_fixed(out, CMT_SIGN_BYTES_MAX);
    pb_put_uint(&v, 1, type);
    pb_put_sfixed64(&v, 2, height);
    pb_put_sfixed64(&v, 3, (int64_t)round);
    if (block_id != NULL && !cmt_block_id_is_zero(block_id)) {
        /* CanonicalBlockID{hash, part_set_header (non-nullable)} */
        pb_put_bytes(&sub, 1, block_id->hash.b, block_id->hash.len);
        encode_part_set_header(&psh, &block_id->parts);
        pb_put_msg(&sub, 2, &psh);
        pb_put_msg(&v, 4, &sub);
    }
    cmt_encode_timestamp(&t, ts); /* non-nullable: always written */
    pb_put_msg(&v, 5, &t);
    pb_put_bytes(&v, 6, chain_id, id_len);
    if (!v.oom) {
        cmt_buf_varint(&o, v.len);
        cmt_buf_put(&o, v.p, v.len);
    }
    ENSURE(!v.oom && !sub.oom && !psh.oom && !t.oom && !o.oom, VEIL_ERR_TOO_LARGE);
    *len = o.len;
    return VEIL_OK;
}

void cmt_vote_sign_bytes(cmt_buf *out, const char *chain_id, unsigned type, int64_t height,
                         int32_t round, const cmt_block_id *block_id, const cmt_timestamp *ts)
{
    uint8_t b[CMT_SIGN_BYTES_MAX];
    size_t n;
    if (cmt_vote_sign_bytes_into(b, &n, chain_id, type, height, round, block_id, ts) != VEIL_OK)
        out->oom = true;
    else
        cmt_buf_put(out, b, n);
}

veil_status cmt_part_set_header_of(const uint8_t *block, size_t len, cmt_part_set_header *out)
{
    if (len == 0) return VEIL_ERR_ARG;
    size_t total = (len + CMT_BLOCK_PART_SIZE - 1) / CMT_BLOCK_PART_SIZE;
    if (total > UINT32_MAX) return VEIL_ERR_TOO_LARGE;
    cmt_slice *parts = cmt_mem_alloc(total * sizeof *parts);
    if (parts == NULL) return VEIL_ERR_NOMEM;
    for (size_t i = 0; i < total; i++) {
        size_t off = i * CMT_BLOCK_PART_SIZE;
        parts[i].p = block + off;
        parts[i].len = len - off < CMT_BLOCK_PART_SIZE ? len - off : CMT_BLOCK_PART_SIZE;
    }
    out->total = (uint32_t)total;
    out->hash.len = CMT_HASH_LEN;
    cmt_merkle_root(parts, total, out->hash.b);
    cmt_mem_free(parts);
    return VEIL_OK;
}

void cmt_address_of(const uint8_t pub_key[static CMT_PUBKEY_LEN],
                    uint8_t addr[static CMT_ADDRESS_LEN])
{
    uint8_t h[CMT_HASH_LEN];
    veil_sha256(h, pub_key, CMT_PUBKEY_LEN);
    memcpy(addr, h, CMT_ADDRESS_LEN);
}

void cmt_tx_hash(const uint8_t *tx, size_t len, uint8_t out[static CMT_HASH_LEN])
{
    veil_sha256(out, tx, len);
}
