/* A CometBFT chain for tests and benchmarks (lc_testchain.h). */
#include "lc_testchain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "trusted/cmt/cmt_hash.h"

static void die(const char *what)
{
    fprintf(stderr, "lc_testchain: %s\n", what);
    abort();
}

void lc_testchain_init(lc_testchain *c, const char *chain_id, size_t n, int64_t start_time)
{
    memset(c, 0, sizeof *c);
    snprintf(c->chain_id, sizeof c->chain_id, "%s", chain_id);
    c->start_time = start_time;
    c->vals.n = n;
    for (size_t i = 0; i < n; i++) {
        crypto_sign_keypair(c->vals.v[i].pub_key, c->sk[i]);
        c->vals.v[i].voting_power = 10;
        cmt_address_of(c->vals.v[i].pub_key, c->vals.address[i]);
    }
}

void lc_testchain_sign(const lc_testchain *c, lc_light_block *lb)
{
    uint8_t hash[32], sb[CMT_SIGN_BYTES_MAX];
    size_t len;
    if (cmt_header_hash(&lb->header, hash) != VEIL_OK) die("header hash");
    lc_commit *cm = &lb->commit;
    memset(cm, 0, sizeof *cm);
    cm->height = lb->header.height;
    if (cmt_bytes_set(&cm->block_id.hash, hash, 32) != VEIL_OK) die("block id");
    cm->block_id.parts.total = 1;
    if (cmt_bytes_set(&cm->block_id.parts.hash, hash, 32) != VEIL_OK) die("parts");
    cm->n_sigs = lb->vals.n;
    for (size_t i = 0; i < lb->vals.n; i++) {
        cmt_commit_sig *s = &cm->sigs[i];
        s->block_id_flag = CMT_FLAG_COMMIT;
        if (cmt_bytes_set(&s->validator_address, lb->vals.address[i], CMT_ADDRESS_LEN) != VEIL_OK)
            die("address");
        s->timestamp.seconds = lb->header.time.seconds + 1;
        s->timestamp.nanos = (int32_t)i;
        if (cmt_vote_sign_bytes_into(sb, &len, lb->header.chain_id, CMT_MSG_PRECOMMIT,
                                     cm->height, 0, &cm->block_id, &s->timestamp) != VEIL_OK)
            die("sign bytes");
        crypto_sign_detached(s->signature, NULL, sb, len, c->sk[i]);
        s->signature_len = 64;
    }
}

const lc_light_block *lc_testchain_append(lc_testchain *c, const uint8_t app_hash[32])
{
    if (c->height >= (int64_t)LC_TESTCHAIN_MAX_BLOCKS) die("too many blocks");
    lc_light_block *lb = calloc(1, sizeof *lb);
    if (lb == NULL) die("out of memory");
    int64_t h = c->height + 1;
    lb->vals = c->vals;
    cmt_header *hd = &lb->header;
    hd->version_block = CMT_BLOCK_PROTOCOL;
    snprintf(hd->chain_id, sizeof hd->chain_id, "%s", c->chain_id);
    hd->height = h;
    hd->time.seconds = c->start_time + h;
    uint8_t vh[32];
    if (lc_validator_set_hash(&c->vals, vh) != VEIL_OK) die("set hash");
    if (cmt_bytes_set(&hd->validators_hash, vh, 32) != VEIL_OK ||
        cmt_bytes_set(&hd->next_validators_hash, vh, 32) != VEIL_OK ||
        cmt_bytes_set(&hd->proposer_address, c->vals.address[0], CMT_ADDRESS_LEN) != VEIL_OK ||
        cmt_bytes_set(&hd->app_hash, app_hash, 32) != VEIL_OK)
        die("header");
    if (h > 1) hd->last_block_id = c->blocks[h - 1]->commit.block_id;
    lc_testchain_sign(c, lb);
    c->blocks[h] = lb;
    c->height = h;
    return lb;
}

const lc_light_block *lc_testchain_get(const lc_testchain *c, int64_t height)
{
    return height >= 1 && height <= c->height ? c->blocks[height] : NULL;
}

void lc_testchain_free(lc_testchain *c)
{
    for (int64_t h = 1; h <= c->height; h++) free(c->blocks[h]);
    c->height = 0;
}
