/* CometBFT v0.38 light-client verification (lc.h). Each rule names the CometBFT
 * function it reproduces. */
#include <string.h>

#include "crypto/crypto.h"
#include "trusted/cmt/cmt_hash.h"
#include "trusted/lightclient/lc.h"

#define NS_PER_S 1000000000LL

void lc_params_default(lc_params *p)
{
    p->trusting_period_ns = 14LL * 24 * 3600 * NS_PER_S;
    p->max_clock_drift_ns = 10LL * NS_PER_S;
    p->trust_num = 1;
    p->trust_den = 3;
}

/* t + ns, saturating (ns >= 0). */
static cmt_timestamp ts_add(const cmt_timestamp *t, int64_t ns)
{
    cmt_timestamp r = *t;
    int64_t s = ns / NS_PER_S, n = ns % NS_PER_S;
    if (r.seconds > INT64_MAX - s - 1) {
        r.seconds = INT64_MAX;
        r.nanos = 999999999;
        return r;
    }
    r.seconds += s;
    r.nanos += (int32_t)n;
    if (r.nanos >= NS_PER_S) {
        r.seconds++;
        r.nanos -= (int32_t)NS_PER_S;
    }
    return r;
}

/* HeaderExpired: !(time + trusting period).After(now). */
bool lc_header_expired(const cmt_header *h, const lc_params *p, const cmt_timestamp *now)
{
    cmt_timestamp exp = ts_add(&h->time, p->trusting_period_ns);
    return cmt_timestamp_cmp(&exp, now) <= 0;
}

/* ValidateHash: empty or 32 bytes. */
static bool hash_ok(const cmt_bytes *b) { return b->len == 0 || b->len == CMT_HASH_LEN; }

static bool block_id_ok(const cmt_block_id *id)
{
    return hash_ok(&id->hash) && hash_ok(&id->parts.hash);
}

/* Header.ValidateBasic. */
static veil_status header_check(const cmt_header *h)
{
    ENSURE(h->version_block == CMT_BLOCK_PROTOCOL, VEIL_ERR_LC_HEADER);
    ENSURE(strlen(h->chain_id) <= CMT_MAX_CHAIN_ID_LEN, VEIL_ERR_LC_HEADER);
    ENSURE(h->height > 0, VEIL_ERR_LC_HEADER);
    ENSURE(block_id_ok(&h->last_block_id), VEIL_ERR_LC_HEADER);
    ENSURE(hash_ok(&h->last_commit_hash) && hash_ok(&h->data_hash) &&
               hash_ok(&h->evidence_hash) && hash_ok(&h->validators_hash) &&
               hash_ok(&h->next_validators_hash) && hash_ok(&h->consensus_hash) &&
               hash_ok(&h->last_results_hash),
           VEIL_ERR_LC_HEADER);
    ENSURE(h->proposer_address.len == CMT_ADDRESS_LEN, VEIL_ERR_LC_HEADER);
    /* ValidatorsHash must be present: Header.Hash() is nil without it. */
    ENSURE(h->validators_hash.len == CMT_HASH_LEN, VEIL_ERR_LC_HEADER);
    return VEIL_OK;
}

static bool ts_is_go_zero(const cmt_timestamp *t)
{
    /* Go's zero time.Time: 0001-01-01T00:00:00Z. */
    return t->seconds == -62135596800LL && t->nanos == 0;
}

/* CommitSig.ValidateBasic. */
static veil_status sig_check(const cmt_commit_sig *s)
{
    switch (s->block_id_flag) {
    case CMT_FLAG_ABSENT:
        ENSURE(s->validator_address.len == 0 && s->signature_len == 0 &&
                   (ts_is_go_zero(&s->timestamp) || (s->timestamp.seconds == 0 && s->timestamp.nanos == 0)),
               VEIL_ERR_LC_COMMIT_INVALID);
        return VEIL_OK;
    case CMT_FLAG_COMMIT:
    case CMT_FLAG_NIL:
        ENSURE(s->validator_address.len == CMT_ADDRESS_LEN && s->signature_len > 0 &&
                   s->signature_len <= CMT_SIGNATURE_LEN,
               VEIL_ERR_LC_COMMIT_INVALID);
        return VEIL_OK;
    default:
        return VEIL_ERR_LC_COMMIT_INVALID;
    }
}

/* Commit.ValidateBasic. */
static veil_status commit_check(const lc_commit *c)
{
    ENSURE(c->height >= 0 && c->round >= 0 && c->n_sigs <= LC_MAX_VALIDATORS,
           VEIL_ERR_LC_COMMIT_INVALID);
    if (c->height >= 1) {
        ENSURE(!cmt_block_id_is_zero(&c->block_id) && c->n_sigs > 0, VEIL_ERR_LC_COMMIT_INVALID);
        ENSURE(block_id_ok(&c->block_id), VEIL_ERR_LC_COMMIT_INVALID);
        for (size_t i = 0; i < c->n_sigs; i++) TRY(sig_check(&c->sigs[i]));
    }
    return VEIL_OK;
}

veil_status lc_signed_header_check(const cmt_header *h, const lc_commit *c, const char *chain_id)
{
    TRY(header_check(h));
    TRY(commit_check(c));
    ENSURE(strcmp(h->chain_id, chain_id) == 0, VEIL_ERR_LC_CHAIN_ID);
    ENSURE(c->height == h->height, VEIL_ERR_LC_COMMIT_HEIGHT);
    uint8_t hash[CMT_HASH_LEN];
    TRY(cmt_header_hash(h, hash));
    ENSURE(c->block_id.hash.len == CMT_HASH_LEN && memcmp(hash, c->block_id.hash.b, 32) == 0,
           VEIL_ERR_LC_COMMIT_BLOCK);
    return VEIL_OK;
}

veil_status lc_validator_set_check(const lc_validator_set *vals)
{
    ENSURE(vals->n <= LC_MAX_VALIDATORS, VEIL_ERR_LC_VALSET_TOO_LARGE);
    ENSURE(vals->n >= 1, VEIL_ERR_LC_VALSET_INVALID);
    int64_t total = 0;
    for (size_t i = 0; i < vals->n; i++) {
        uint8_t addr[CMT_ADDRESS_LEN];
        cmt_address_of(vals->v[i].pub_key, addr);
        ENSURE(memcmp(addr, vals->address[i], CMT_ADDRESS_LEN) == 0, VEIL_ERR_LC_VALSET_INVALID);
        ENSURE(vals->v[i].voting_power > 0 &&
                   vals->v[i].voting_power <= LC_MAX_TOTAL_POWER - total,
               VEIL_ERR_LC_VALSET_INVALID);
        total += vals->v[i].voting_power;
        for (size_t j = 0; j < i; j++)
            ENSURE(memcmp(vals->address[j], vals->address[i], CMT_ADDRESS_LEN) != 0,
                   VEIL_ERR_LC_VALSET_INVALID);
    }
    return VEIL_OK;
}

veil_status lc_validator_set_hash(const lc_validator_set *vals, uint8_t out[static CMT_HASH_LEN])
{
    ENSURE(vals->n <= LC_MAX_VALIDATORS, VEIL_ERR_LC_VALSET_TOO_LARGE);
    return cmt_validator_set_hash(vals->v, vals->n, out);
}

static int64_t total_power(const lc_validator_set *vals)
{
    int64_t t = 0;
    for (size_t i = 0; i < vals->n; i++) t += vals->v[i].voting_power; /* checked sets */
    return t;
}

/* verifyCommitSingle: tallies the power of valid BlockIDFlagCommit signatures until it
 * exceeds `needed`. by_index: signature i is validator i's (VerifyCommitLight);
 * otherwise by address, unknown ones skipped, a second one a double vote.
 * One deliberate difference: CometBFT verifies Ed25519 by ZIP-215, which accepts a few
 * encodings libsodium refuses; a signature that fails here is not counted (instead of
 * failing the whole commit), so one validator's such signature cannot stop the light
 * client while the other signers hold more than the threshold. Counting fewer
 * signatures never accepts a commit CometBFT would refuse for want of power. If the
 * threshold is not reached and a signature failed, the refusal is
 * VEIL_ERR_LC_SIGNATURE. */
static veil_status tally(const char *chain_id, const lc_validator_set *vals, const lc_commit *c,
                         int64_t needed, bool by_index, veil_status not_enough)
{
    uint8_t sb[CMT_SIGN_BYTES_MAX];
    size_t sb_len = 0;
    int64_t tallied = 0;
    veil_status st = not_enough;
    bool bad_signature = false;
    uint8_t seen[(LC_MAX_VALIDATORS + 7) / 8] = {0};
    for (size_t idx = 0; idx < c->n_sigs; idx++) {
        const cmt_commit_sig *s = &c->sigs[idx];
        if (s->block_id_flag != CMT_FLAG_COMMIT) continue;
        size_t vi = idx;
        if (!by_index) {
            for (vi = 0; vi < vals->n; vi++)
                if (s->validator_address.len == CMT_ADDRESS_LEN &&
                    memcmp(vals->address[vi], s->validator_address.b, CMT_ADDRESS_LEN) == 0)
                    break;
            if (vi == vals->n) continue; /* not in the trusted set */
            if (seen[vi / 8] & (1u << (vi % 8))) {
                st = VEIL_ERR_LC_DOUBLE_VOTE;
                goto out;
            }
            seen[vi / 8] |= (uint8_t)(1u << (vi % 8));
        }
        if (cmt_vote_sign_bytes_into(sb, &sb_len, chain_id, CMT_MSG_PRECOMMIT, c->height,
                                     c->round, &c->block_id, &s->timestamp) != VEIL_OK) {
            st = VEIL_ERR_LC_CHAIN_ID;
            goto out;
        }
        if (s->signature_len != CMT_SIGNATURE_LEN ||
            !veil_ed25519_verify(s->signature, sb, sb_len, vals->v[vi].pub_key)) {
            bad_signature = true;
            continue;
        }
        tallied += vals->v[vi].voting_power;
        if (tallied > needed) {
            st = VEIL_OK;
            goto out;
        }
    }
    if (bad_signature) st = VEIL_ERR_LC_SIGNATURE;
out:
    return st;
}

veil_status lc_verify_commit_light(const char *chain_id, const lc_validator_set *vals,
                                   const cmt_block_id *block_id, int64_t height,
                                   const lc_commit *c)
{
    /* verifyBasicValsAndCommit */
    TRY(lc_validator_set_check(vals));
    ENSURE(vals->n == c->n_sigs, VEIL_ERR_LC_COMMIT_SIZE);
    ENSURE(height == c->height, VEIL_ERR_LC_COMMIT_HEIGHT);
    ENSURE(block_id->hash.len == c->block_id.hash.len &&
               memcmp(block_id->hash.b, c->block_id.hash.b, block_id->hash.len) == 0 &&
               block_id->parts.total == c->block_id.parts.total &&
               block_id->parts.hash.len == c->block_id.parts.hash.len &&
               memcmp(block_id->parts.hash.b, c->block_id.parts.hash.b,
                      block_id->parts.hash.len) == 0,
           VEIL_ERR_LC_COMMIT_BLOCK);
    return tally(chain_id, vals, c, total_power(vals) * 2 / 3, true, VEIL_ERR_LC_NOT_ENOUGH_POWER);
}

veil_status lc_verify_commit_light_trusting(const char *chain_id, const lc_validator_set *vals,
                                            const lc_commit *c, uint32_t num, uint32_t den)
{
    TRY(lc_validator_set_check(vals));
    ENSURE(den != 0 && num <= den, VEIL_ERR_ARG);
    int64_t total = total_power(vals), mul;
    ENSURE(!__builtin_mul_overflow(total, (int64_t)num, &mul), VEIL_ERR_OVERFLOW);
    return tally(chain_id, vals, c, mul / (int64_t)den, false, VEIL_ERR_LC_NOT_ENOUGH_TRUST);
}

/* verifyNewHeaderAndVals. */
static veil_status new_header_check(const lc_light_block *u, const cmt_header *trusted,
                                    const lc_params *p, const cmt_timestamp *now)
{
    TRY(lc_signed_header_check(&u->header, &u->commit, trusted->chain_id));
    ENSURE(u->header.height > trusted->height, VEIL_ERR_LC_HEIGHT);
    ENSURE(cmt_timestamp_cmp(&u->header.time, &trusted->time) > 0, VEIL_ERR_LC_TIME);
    cmt_timestamp limit = ts_add(now, p->max_clock_drift_ns);
    ENSURE(cmt_timestamp_cmp(&u->header.time, &limit) < 0, VEIL_ERR_LC_FUTURE);
    uint8_t vh[CMT_HASH_LEN];
    TRY(lc_validator_set_check(&u->vals));
    TRY(lc_validator_set_hash(&u->vals, vh));
    ENSURE(u->header.validators_hash.len == CMT_HASH_LEN &&
               memcmp(vh, u->header.validators_hash.b, CMT_HASH_LEN) == 0,
           VEIL_ERR_LC_VALSET_HASH);
    return VEIL_OK;
}

veil_status lc_verify(const cmt_header *trusted, const lc_validator_set *trusted_vals,
                      const lc_light_block *u, const lc_params *p, const cmt_timestamp *now)
{
    ENSURE(p->trusting_period_ns > 0 && p->max_clock_drift_ns >= 0 && p->trust_den != 0 &&
               3 * (uint64_t)p->trust_num >= p->trust_den && p->trust_num <= p->trust_den,
           VEIL_ERR_ARG);
    ENSURE(!lc_header_expired(trusted, p, now), VEIL_ERR_LC_EXPIRED);
    TRY(new_header_check(u, trusted, p, now));
    if (u->header.height == trusted->height + 1) {
        /* VerifyAdjacent */
        ENSURE(u->header.validators_hash.len == trusted->next_validators_hash.len &&
                   memcmp(u->header.validators_hash.b, trusted->next_validators_hash.b,
                          trusted->next_validators_hash.len) == 0,
               VEIL_ERR_LC_NEXT_VALSET);
    } else {
        /* VerifyNonAdjacent: the trusted set first (the cheap refusal), by address. */
        TRY(lc_verify_commit_light_trusting(trusted->chain_id, trusted_vals, &u->commit,
                                            p->trust_num, p->trust_den));
    }
    return lc_verify_commit_light(trusted->chain_id, &u->vals, &u->commit.block_id,
                                  u->header.height, &u->commit);
}
