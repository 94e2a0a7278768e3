/* The light client (src/trusted/lightclient/lc.h) against CometBFT's published
 * light-client conformance tests (tests/vectors/cometbft-light-client: 37 single-step
 * and 8 bisection cases, each with its expected verdict), with that suite's harness
 * semantics; and hostile light blocks, each refused with its own code. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "chain/cmt_time.h"
#include "crypto/crypto.h"
#include "host/devchain/cmt_json.h"
#include "host/lightclient/lc_json.h"
#include "trusted/cmt/cmt_hash.h"
#include "trusted/lightclient/lc.h"
#include "trusted/lightclient/lc_state.h"
#include "trusted/lightclient/lc_wire.h"

#define LCV VEIL_TEST_VECTORS "/cometbft-light-client"

static json_t *load(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (j == NULL) fail_msg("%s: %s", path, e.text);
    return j;
}

/* Lists the .json files under dir (recursively) into out; returns how many. */
static size_t list(const char *dir, char out[][512], size_t cap, size_t n)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        size_t l = strlen(p);
        if (l > 5 && strcmp(p + l - 5, ".json") == 0) {
            assert_true(n < cap);
            snprintf(out[n++], 512, "%s", p);
        } else {
            n = list(p, out, cap, n);
        }
    }
    closedir(d);
    return n;
}

static int64_t i64(const json_t *j)
{
    int64_t v;
    assert_int_equal(cmt_json_get_i64(j, &v), VEIL_OK);
    return v;
}

static cmt_timestamp when(const json_t *j)
{
    cmt_timestamp t;
    assert_int_equal(cmt_time_parse(json_string_value(j), &t), VEIL_OK);
    return t;
}

static void block_of(const json_t *lb, lc_light_block *out, const char *vals_key)
{
    assert_int_equal(lc_json_signed_header(json_object_get(lb, "signed_header"), out), VEIL_OK);
    assert_int_equal(
        lc_json_validators(json_object_get(json_object_get(lb, vals_key), "validators"),
                           &out->vals),
        VEIL_OK);
}

/* The code each refusing case gets: every hostile light block its own refusal. */
static const struct {
    const char *file;
    veil_status code;
} g_refusals[] = {
    {"sequential/commit/one_third_vals_dont_sign.json", VEIL_ERR_LC_NOT_ENOUGH_POWER},
    {"sequential/commit/wrong_commit_height.json", VEIL_ERR_LC_COMMIT_HEIGHT},
    {"sequential/commit/wrong_header_hash.json", VEIL_ERR_LC_COMMIT_BLOCK},
    {"sequential/commit/wrong_vote_signature.json", VEIL_ERR_LC_SIGNATURE},
    {"sequential/header/non_monotonic_bft_time.json", VEIL_ERR_LC_TIME},
    {"sequential/header/non_monotonic_header_height.json", VEIL_ERR_LC_HEIGHT},
    {"sequential/header/wrong_chain_id.json", VEIL_ERR_LC_CHAIN_ID},
    {"sequential/header/wrong_header_timestamp.json", VEIL_ERR_LC_COMMIT_BLOCK},
    {"sequential/header/wrong_last_block_id.json", VEIL_ERR_LC_HEADER},
    {"sequential/header/wrong_last_commit_hash.json", VEIL_ERR_LC_HEADER},
    {"sequential/header/wrong_next_valset_hash.json", VEIL_ERR_LC_HEADER},
    {"sequential/header/wrong_valset_hash.json", VEIL_ERR_LC_HEADER},
    {"sequential/validator_set/faulty_signer.json", VEIL_ERR_LC_NEXT_VALSET},
    {"sequential/validator_set/wrong_valset.json", VEIL_ERR_LC_NEXT_VALSET},
    {"skipping/commit/more_signatures_than_validators.json", VEIL_ERR_LC_COMMIT_SIZE},
    {"skipping/commit/no_signatures.json", VEIL_ERR_LC_COMMIT_INVALID},
    {"skipping/commit/one_third_vals_dont_sign.json", VEIL_ERR_LC_NOT_ENOUGH_POWER},
    {"skipping/header/header_from_future.json", VEIL_ERR_LC_FUTURE},
    {"skipping/header/out_of_trusting_period.json", VEIL_ERR_LC_EXPIRED},
    {"skipping/validator_set/valset_changes_more_than_trust_level.json",
     VEIL_ERR_LC_NOT_ENOUGH_TRUST},
};

static veil_status refusal_of(const char *path)
{
    for (size_t i = 0; i < sizeof g_refusals / sizeof g_refusals[0]; i++) {
        size_t l = strlen(path), m = strlen(g_refusals[i].file);
        if (l >= m && strcmp(path + l - m, g_refusals[i].file) == 0) return g_refusals[i].code;
    }
    return VEIL_OK;
}

/* The suite's TestVerify: each input verified against the trusted header and validators
 * (initially the initial signed header and its next validator set); after a verdict as
 * expected the trusted state moves to the input. */
static void test_single_step(void **state)
{
    (void)state;
    static char files[64][512];
    size_t n = list(LCV "/single_step", files, 64, 0), errors_expected = 0;
    assert_int_equal(n, 37);
    lc_light_block *trusted = calloc(1, sizeof *trusted), *u = calloc(1, sizeof *u);
    assert_non_null(trusted);
    assert_non_null(u);
    for (size_t f = 0; f < n; f++) {
        json_t *t = load(files[f]);
        const json_t *init = json_object_get(t, "initial");
        lc_params p = {.trusting_period_ns = i64(json_object_get(init, "trusting_period")),
                       .max_clock_drift_ns = 1000000000LL, .trust_num = 1, .trust_den = 3};
        cmt_timestamp now = when(json_object_get(init, "now"));
        bool expect_error = strcmp(json_string_value(json_object_get(t, "expected_output")),
                                   "error") == 0;
        errors_expected += expect_error;
        assert_int_equal(lc_json_signed_header(json_object_get(init, "signed_header"), trusted),
                         VEIL_OK);
        assert_int_equal(lc_json_validators(json_object_get(json_object_get(init,
                                                                            "next_validator_set"),
                                                            "validators"),
                                            &trusted->vals),
                         VEIL_OK);
        const json_t *inputs = json_object_get(t, "input");
        for (size_t i = 0; i < json_array_size(inputs); i++) {
            const json_t *in = json_array_get(inputs, i);
            block_of(in, u, "validator_set");
            veil_status st = lc_verify(&trusted->header, &trusted->vals, u, &p, &now);
            if ((st != VEIL_OK) != expect_error)
                fail_msg("%s input %zu: %s (%s), expected %s", files[f], i, veil_status_name(st),
                         veil_status_str(st), expect_error ? "an error" : "success");
            if (st != VEIL_OK && st != refusal_of(files[f]))
                fail_msg("%s: refused with %s, expected %s", files[f], veil_status_name(st),
                         veil_status_name(refusal_of(files[f])));
            trusted->header = u->header;
            assert_int_equal(lc_json_validators(json_object_get(json_object_get(in,
                                                                                "next_validator_set"),
                                                                "validators"),
                                                &trusted->vals),
                             VEIL_OK);
        }
        json_decref(t);
    }
    assert_true(errors_expected > 0 && errors_expected < n);
    free(u);
    free(trusted);
}

/* Light blocks of one source by height (the primary, then the witnesses). */
typedef struct sources {
    const json_t *src[1 + LC_MAX_WITNESSES];
    unsigned n;
    unsigned fetched;
} sources;

static veil_status fetch(void *ctx, unsigned source, int64_t height, lc_light_block *out)
{
    sources *s = ctx;
    if (source >= s->n) return VEIL_ERR_LC_UNAVAILABLE;
    const json_t *blocks = json_object_get(s->src[source], "lite_blocks");
    for (size_t i = 0; i < json_array_size(blocks); i++) {
        const json_t *lb = json_array_get(blocks, i);
        int64_t h;
        if (cmt_json_get_i64(json_object_get(json_object_get(json_object_get(lb, "signed_header"),
                                                             "header"),
                                             "height"),
                             &h) != VEIL_OK || h != height)
            continue;
        s->fetched++;
        if (lc_json_signed_header(json_object_get(lb, "signed_header"), out) != VEIL_OK ||
            lc_json_validators(json_object_get(json_object_get(lb, "validator_set"),
                                               "validators"),
                               &out->vals) != VEIL_OK)
            return VEIL_ERR_LC_MALFORMED;
        return VEIL_OK;
    }
    return VEIL_ERR_LC_UNAVAILABLE;
}

/* The suite's TestBisection: trust the primary's block at the trusted height (its
 * hash, its own commit), verify the target height by skipping, cross-check with the
 * witnesses. */
static void test_bisection(void **state)
{
    (void)state;
    static char files[16][512];
    size_t n = list(LCV "/bisection", files, 16, 0);
    assert_int_equal(n, 8);
    lc_light_block *trusted = calloc(1, sizeof *trusted), *target = calloc(1, sizeof *target);
    lc_light_block *scratch = calloc(LC_SCRATCH_BLOCKS, sizeof *scratch);
    assert_true(trusted && target && scratch);
    for (size_t f = 0; f < n; f++) {
        json_t *t = load(files[f]);
        const json_t *opt = json_object_get(t, "trust_options");
        lc_params p = {.trusting_period_ns = i64(json_object_get(opt, "period")),
                       .max_clock_drift_ns = 1000000000LL,
                       .trust_num = (uint32_t)i64(json_object_get(json_object_get(opt, "trust_level"), "numerator")),
                       .trust_den = (uint32_t)i64(json_object_get(json_object_get(opt, "trust_level"), "denominator"))};
        cmt_timestamp now = when(json_object_get(t, "now"));
        bool expect_error = strcmp(json_string_value(json_object_get(t, "expected_output")),
                                   "error") == 0;
        sources s = {.n = 1};
        s.src[0] = json_object_get(t, "primary");
        const json_t *ws = json_object_get(t, "witnesses");
        for (size_t i = 0; i < json_array_size(ws) && s.n <= LC_MAX_WITNESSES; i++)
            s.src[s.n++] = json_array_get(ws, i);
        /* Initialise from the trust options. */
        veil_status st = fetch(&s, 0, i64(json_object_get(opt, "height")), trusted);
        cmt_bytes want;
        uint8_t got[32];
        assert_int_equal(cmt_json_get_hex(json_object_get(opt, "hash"), &want), VEIL_OK);
        if (st == VEIL_OK) st = cmt_header_hash(&trusted->header, got);
        if (st == VEIL_OK && (want.len != 32 || memcmp(got, want.b, 32) != 0))
            st = VEIL_ERR_LC_TRUST_HASH;
        if (st == VEIL_OK)
            st = lc_verify_commit_light(trusted->header.chain_id, &trusted->vals,
                                        &trusted->commit.block_id, trusted->header.height,
                                        &trusted->commit);
        unsigned steps = 0;
        if (st == VEIL_OK) st = fetch(&s, 0, i64(json_object_get(t, "height_to_verify")), target);
        if (st == VEIL_OK)
            st = lc_verify_to(trusted, target, &p, &now, fetch, &s, s.n - 1, scratch, &steps);
        if ((st != VEIL_OK) != expect_error)
            fail_msg("%s: %s (%s), expected %s", files[f], veil_status_name(st),
                     veil_status_str(st), expect_error ? "an error" : "success");
        print_message("bisection %s: %s after %u steps\n", strrchr(files[f], '/') + 1,
                      veil_status_name(st), steps);
        /* The happy path again with witnesses that do not answer: verified, but
         * unconfirmed — refused; and with no witness named, accepted. */
        if (strstr(files[f], "happy_path") != NULL) {
            sources mute = s;
            for (unsigned w = 1; w < mute.n; w++) mute.src[w] = json_object(); /* no blocks */
            assert_int_equal(lc_verify_to(trusted, target, &p, &now, fetch, &mute, mute.n - 1,
                                          scratch, &steps),
                             VEIL_ERR_LC_NO_WITNESS);
            assert_int_equal(lc_verify_to(trusted, target, &p, &now, fetch, &mute, 0, scratch,
                                          &steps),
                             VEIL_OK);
            for (unsigned w = 1; w < mute.n; w++) json_decref((json_t *)mute.src[w]);
        }
        json_decref(t);
    }
    free(scratch);
    free(target);
    free(trusted);
}

/* A good non-adjacent case (trusted height 1, untrusted 7, three validators), mutated:
 * each hostile change refused with its own code, and the unmutated case accepted. */
static void test_hostile(void **state)
{
    (void)state;
    json_t *t = load(LCV "/single_step/skipping/validator_set/skip_five_blocks.json");
    const json_t *init = json_object_get(t, "initial"), *in = json_array_get(json_object_get(t, "input"), 0);
    lc_params p;
    lc_params_default(&p);
    p.trusting_period_ns = i64(json_object_get(init, "trusting_period"));
    cmt_timestamp now = when(json_object_get(init, "now"));
    lc_light_block *tr = calloc(1, sizeof *tr), *u = calloc(1, sizeof *u), *good = calloc(1, sizeof *good);
    assert_true(tr && u && good);
    assert_int_equal(lc_json_signed_header(json_object_get(init, "signed_header"), tr), VEIL_OK);
    assert_int_equal(lc_json_validators(json_object_get(json_object_get(init, "next_validator_set"),
                                                        "validators"),
                                        &tr->vals),
                     VEIL_OK);
    block_of(in, good, "validator_set");
    assert_int_equal(good->vals.n, 3);
#define RESET() memcpy(u, good, sizeof *u)
    RESET();
    assert_int_equal(lc_verify(&tr->header, &tr->vals, u, &p, &now), VEIL_OK);
    /* A validator listed twice. */
    RESET();
    u->vals.v[1] = u->vals.v[0];
    memcpy(u->vals.address[1], u->vals.address[0], CMT_ADDRESS_LEN);
    assert_int_equal(lc_verify(&tr->header, &tr->vals, u, &p, &now), VEIL_ERR_LC_VALSET_INVALID);
    /* An address that is not its key's; no power; too many validators. */
    RESET();
    u->vals.address[2][0] ^= 1;
    assert_int_equal(lc_verify(&tr->header, &tr->vals, u, &p, &now), VEIL_ERR_LC_VALSET_INVALID);
    RESET();
    u->vals.v[2].voting_power = 0;
    assert_int_equal(lc_verify(&tr->header, &tr->vals, u, &p, &now), VEIL_ERR_LC_VALSET_INVALID);
    RESET();
    u->vals.n = LC_MAX_VALIDATORS + 1;
    assert_int_equal(lc_verify(&tr->header, &tr->vals, u, &p, &now), VEIL_ERR_LC_VALSET_TOO_LARGE);
    /* The trusted validators' signatures counted by address: one signing twice. */
    RESET();
    u->commit.sigs[1] = u->commit.sigs[0];
    assert_int_equal(lc_verify(&tr->header, &tr->vals, u, &p, &now), VEIL_ERR_LC_DOUBLE_VOTE);
    /* Another chain's trusted header: the untrusted one is of another chain. */
    RESET();
    lc_light_block *other = calloc(1, sizeof *other);
    assert_non_null(other);
    memcpy(other, tr, sizeof *other);
    snprintf(other->header.chain_id, sizeof other->header.chain_id, "another-chain");
    assert_int_equal(lc_verify(&other->header, &other->vals, u, &p, &now), VEIL_ERR_LC_CHAIN_ID);
    free(other);
    /* Signatures by validators the trusted set does not know are skipped: with the
     * trusted set replaced by one stranger, no trusted power signs. */
    RESET();
    lc_validator_set *stranger = calloc(1, sizeof *stranger);
    assert_non_null(stranger);
    stranger->n = 1;
    memset(stranger->v[0].pub_key, 7, CMT_PUBKEY_LEN);
    stranger->v[0].voting_power = 10;
    cmt_address_of(stranger->v[0].pub_key, stranger->address[0]);
    assert_int_equal(lc_verify(&tr->header, stranger, u, &p, &now), VEIL_ERR_LC_NOT_ENOUGH_TRUST);
    free(stranger);
    /* A height not above the trusted one; a header time at the trusted one. */
    RESET();
    assert_int_equal(lc_verify(&good->header, &good->vals, u, &p, &now), VEIL_ERR_LC_HEIGHT);
#undef RESET
    free(good);
    free(u);
    free(tr);
    json_decref(t);
}

/* The wire format (CometBFT's LightBlock protobuf): every light block of the vectors
 * encodes, decodes to the same block (same header hash, same verdict), re-encodes to
 * the same bytes; truncations and oversized sets are refused. With
 * VEIL_LC_WRITE_CORPUS=<dir>, the encodings are written there (the fuzz corpus). */
static void test_wire(void **state)
{
    (void)state;
    static char files[64][512];
    size_t n = list(LCV "/single_step", files, 64, 0), blocks = 0;
    lc_light_block *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    assert_true(a && b);
    const char *corpus = getenv("VEIL_LC_WRITE_CORPUS");
    for (size_t f = 0; f < n; f++) {
        json_t *t = load(files[f]);
        const json_t *in = json_array_get(json_object_get(t, "input"), 0);
        block_of(in, a, "validator_set");
        cmt_buf e1 = {0}, e2 = {0};
        assert_int_equal(lc_light_block_encode(a, &e1), VEIL_OK);
        memset(b, 0xa5, sizeof *b);
        assert_int_equal(lc_light_block_decode(e1.p, e1.len, b), VEIL_OK);
        uint8_t ha[32], hb[32];
        if (cmt_header_hash(&a->header, ha) == VEIL_OK) {
            assert_int_equal(cmt_header_hash(&b->header, hb), VEIL_OK);
            assert_memory_equal(ha, hb, 32);
        }
        assert_int_equal(b->vals.n, a->vals.n);
        assert_int_equal(b->commit.n_sigs, a->commit.n_sigs);
        assert_int_equal(lc_light_block_encode(b, &e2), VEIL_OK);
        assert_int_equal(e1.len, e2.len);
        assert_memory_equal(e1.p, e2.p, e1.len);
        /* Every strict prefix is refused or decodes to something else, never crashes. */
        for (size_t cut = 0; cut < e1.len; cut += 1 + e1.len / 64) {
            veil_status st = lc_light_block_decode(e1.p, cut, b);
            assert_true(st == VEIL_OK || st == VEIL_ERR_LC_MALFORMED);
        }
        if (corpus != NULL && f < 12) {
            char path[600];
            snprintf(path, sizeof path, "%s/%s", corpus, strrchr(files[f], '/') + 1);
            path[strlen(path) - 5] = '\0';
            FILE *o = fopen(path, "wb");
            assert_non_null(o);
            assert_int_equal(fwrite(e1.p, 1, e1.len, o), e1.len);
            fclose(o);
        }
        cmt_buf_free(&e1);
        cmt_buf_free(&e2);
        blocks++;
        json_decref(t);
    }
    assert_int_equal(blocks, 37);
    /* More validators than the cap: refused while decoding, before anything is hashed. */
    cmt_buf big = {0}, set = {0}, one = {0}, key = {0};
    for (size_t i = 0; i <= LC_MAX_VALIDATORS; i++) {
        pb_put_bytes(&one, 1, a->vals.address[0], CMT_ADDRESS_LEN);
        pb_put_bytes(&key, 1, a->vals.v[0].pub_key, CMT_PUBKEY_LEN);
        pb_put_msg(&one, 2, &key);
        cmt_buf_reset(&key);
        pb_put_int(&one, 3, 1);
        pb_put_msg(&set, 1, &one);
        cmt_buf_reset(&one);
    }
    pb_put_msg(&big, 2, &set);
    assert_int_equal(cmt_buf_status(&big), VEIL_OK);
    assert_int_equal(lc_light_block_decode(big.p, big.len, b), VEIL_ERR_LC_VALSET_TOO_LARGE);
    /* Empty input: no signed header, no set. */
    assert_int_equal(lc_light_block_decode(set.p, 0, b), VEIL_ERR_LC_MALFORMED);
    cmt_buf_free(&big);
    cmt_buf_free(&set);
    cmt_buf_free(&one);
    cmt_buf_free(&key);
    free(b);
    free(a);
}

/* Host-driven skipping into an lc_state: on "not enough trust" verify the block halfway
 * first. Returns the last refusal, or VEIL_OK once `target` is the latest. */
static veil_status drive(lc_state *st, sources *src, unsigned source, int64_t target,
                         const cmt_timestamp *now, unsigned depth)
{
    lc_light_block *b = malloc(sizeof *b);
    assert_non_null(b);
    veil_status r = fetch(src, source, target, b);
    while (r == VEIL_OK) {
        r = lc_state_update(st, b, now);
        if (r != VEIL_ERR_LC_NOT_ENOUGH_TRUST || depth >= 32) break;
        int64_t lo = st->trusted.header.height, pivot = lo + (target - lo) / 2;
        if (pivot <= lo || pivot >= target) break;
        r = drive(st, src, source, pivot, now, depth + 1);
    }
    free(b);
    return r;
}

/* An enclave's state (lc_state.h) fed by its host: host-driven bisection to the
 * target, known headers, a fork refused without a switch, time that never goes back,
 * and the sealed form round-tripped and checked. */
static void test_state(void **state)
{
    (void)state;
    json_t *t = load(LCV "/bisection/single_peer/happy_path.json");
    const json_t *opt = json_object_get(t, "trust_options");
    sources src = {.n = 2};
    src.src[0] = json_object_get(t, "primary");
    src.src[1] = json_array_get(json_object_get(t, "witnesses"), 0);
    lc_params p;
    lc_params_default(&p);
    p.trusting_period_ns = i64(json_object_get(opt, "period"));
    p.max_clock_drift_ns = 1000000000LL;
    cmt_timestamp now = when(json_object_get(t, "now"));
    lc_state *st = calloc(1, sizeof *st), *st2 = calloc(1, sizeof *st2);
    lc_light_block *b = calloc(1, sizeof *b);
    assert_true(st && st2 && b);
    cmt_bytes want;
    assert_int_equal(cmt_json_get_hex(json_object_get(opt, "hash"), &want), VEIL_OK);
    assert_int_equal(fetch(&src, 0, 2, b), VEIL_OK);
    uint8_t wrong[32];
    memcpy(wrong, want.b, 32);
    wrong[0] ^= 1;
    assert_int_equal(lc_state_init(st, &p, b, wrong, &now), VEIL_ERR_LC_TRUST_HASH);
    lc_params short_p = p;
    short_p.trusting_period_ns = 1000000000LL; /* 1 s: the header is long out of it */
    assert_int_equal(lc_state_init(st, &short_p, b, want.b, &now), VEIL_ERR_LC_EXPIRED);
    assert_int_equal(lc_state_init(st, &p, b, want.b, &now), VEIL_OK);
    /* The validator set changes at 6: skipping needs a block in between. */
    assert_int_equal(drive(st, &src, 0, 11, &now, 0), VEIL_OK);
    assert_int_equal(st->trusted.header.height, 11);
    uint8_t app[CMT_MAX_HASH_LEN];
    size_t app_len;
    assert_int_equal(lc_state_app_hash(st, 11, app, &app_len), VEIL_OK);
    assert_int_equal(app_len, st->trusted.header.app_hash.len);
    assert_int_equal(lc_state_app_hash(st, 3, app, &app_len), VEIL_ERR_NOT_FOUND); /* skipped */
    /* A known height again: the same header is fine. */
    assert_int_equal(fetch(&src, 0, 11, b), VEIL_OK);
    assert_int_equal(lc_state_update(st, b, &now), VEIL_OK);
    /* Time never goes back: an earlier host time leaves it where it was. */
    cmt_timestamp before = st->now, earlier = {now.seconds - 3600, 0};
    assert_int_equal(lc_state_update(st, b, &earlier), VEIL_OK);
    assert_int_equal(cmt_timestamp_cmp(&st->now, &before), 0);

    /* Sealed form: round trip, then tampering refused. */
    cmt_buf e = {0};
    assert_int_equal(lc_state_encode(st, &e), VEIL_OK);
    assert_int_equal(lc_state_decode(e.p, e.len, st2), VEIL_OK);
    assert_int_equal(st2->trusted.header.height, 11);
    assert_int_equal(lc_state_app_hash(st2, 11, app, &app_len), VEIL_OK);
    assert_int_equal(st2->n_recent, st->n_recent);
    /* Its integrity is the seal's (AEAD); decoding re-checks structure and that the
     * trusted block stands on its own, and never crashes on damage. */
    for (size_t at = 0; at < e.len; at += 1 + e.len / 97) {
        e.p[at] ^= 0x40;
        veil_status r = lc_state_decode(e.p, e.len, st2);
        assert_true(r == VEIL_OK || r == VEIL_ERR_LC_MALFORMED);
        e.p[at] ^= 0x40;
    }
    e.p[0] ^= 1; /* the magic */
    assert_int_equal(lc_state_decode(e.p, e.len, st2), VEIL_ERR_LC_MALFORMED);
    e.p[0] ^= 1;
    assert_int_equal(lc_state_decode(e.p, e.len - 1, st2), VEIL_ERR_LC_MALFORMED);
    /* The trusted header changed (its height): it no longer matches its commit. */
    cmt_buf e2 = {0};
    lc_state *st3 = calloc(1, sizeof *st3);
    assert_non_null(st3);
    memcpy(st3, st, sizeof *st3);
    st3->trusted.header.height++;
    assert_int_equal(lc_state_encode(st3, &e2), VEIL_OK);
    assert_int_equal(lc_state_decode(e2.p, e2.len, st2), VEIL_ERR_LC_MALFORMED);
    cmt_buf_free(&e2);
    free(st3);
    cmt_buf_free(&e);
    json_decref(t);

    /* A fork: the witness of this case signs another header at 5 with the same
     * validators. Verified 5 from the primary, the witness's 5 is refused as a fork
     * and the state stays on the primary's. */
    t = load(LCV "/bisection/multi_peer/conflicting_headers.json");
    opt = json_object_get(t, "trust_options");
    src.src[0] = json_object_get(t, "primary");
    src.src[1] = json_array_get(json_object_get(t, "witnesses"), 0);
    assert_int_equal(cmt_json_get_hex(json_object_get(opt, "hash"), &want), VEIL_OK);
    assert_int_equal(fetch(&src, 0, 2, b), VEIL_OK);
    assert_int_equal(lc_state_init(st, &p, b, want.b, &now), VEIL_OK);
    assert_int_equal(drive(st, &src, 0, 5, &now, 0), VEIL_OK);
    uint8_t h5[32], hw[32];
    assert_int_equal(cmt_header_hash(&st->trusted.header, h5), VEIL_OK);
    assert_int_equal(fetch(&src, 1, 5, b), VEIL_OK);
    assert_int_equal(cmt_header_hash(&b->header, hw), VEIL_OK);
    assert_memory_not_equal(h5, hw, 32);
    assert_int_equal(lc_state_update(st, b, &now), VEIL_ERR_LC_FORK);
    assert_int_equal(cmt_header_hash(&st->trusted.header, hw), VEIL_OK);
    assert_memory_equal(h5, hw, 32);
    /* The same header signed by a set of someone else's keys is no alarm. */
    b->header.validators_hash.b[0] ^= 1;
    assert_int_equal(lc_state_update(st, b, &now), VEIL_ERR_LC_HEIGHT);
    json_decref(t);
    free(b);
    free(st2);
    free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_step),
        cmocka_unit_test(test_bisection),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_wire),
        cmocka_unit_test(test_state),
    };
    if (veil_crypto_init() != VEIL_OK) return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
