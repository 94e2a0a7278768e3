/* lc.h — CometBFT v0.38 light-client verification in the trusted core
 * (docs/light-client.md).
 *
 * The rules are CometBFT's light/verifier.go and types/validation.go:
 *  - lc_verify: VerifyAdjacent when the untrusted height is the trusted one + 1 (its
 *    ValidatorsHash must be the trusted NextValidatorsHash, and > 2/3 of its own set
 *    must sign), VerifyNonAdjacent otherwise (> trust level, default 1/3, of the
 *    trusted set must sign, matched by address, then > 2/3 of the new set — the
 *    expensive check last). Both first require the trusted header within the trusting
 *    period and the new header valid (ValidateBasic, the trusted chain id, a greater
 *    height, a later time, not from the future beyond the clock drift, and its
 *    validator set hashing to its ValidatorsHash).
 *  - commits: VerifyCommitLight (signatures by index; only BlockIDFlagCommit counts;
 *    stop as soon as > 2/3 is reached) and VerifyCommitLightTrusting (by address;
 *    signatures by unknown validators skipped; a validator twice is a double vote).
 *  - lc_verify_to: skipping verification (bisection) toward a target height with
 *    light blocks a callback supplies (in an enclave: its host), and cross-checking
 *    the result against witnesses.
 * Portable: no I/O, no clock — "now" is an argument. Memory: the caller's structs (a
 * light block is about 60 KiB: allocate it), and cmt_mem_alloc for encodings.
 * Every refusal has its own code (VEIL_ERR_LC_*, status.h).
 */
#ifndef VEIL_TRUSTED_LIGHTCLIENT_LC_H
#define VEIL_TRUSTED_LIGHTCLIENT_LC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "trusted/cmt/cmt_types.h"

/* At most this many validators in a set (refused before anything is hashed). */
#define LC_MAX_VALIDATORS 256u
/* CometBFT's MaxTotalVotingPower (MaxInt64 / 8). */
#define LC_MAX_TOTAL_POWER (INT64_MAX / 8)
/* Bisection: at most this many light blocks pending between trusted and target. */
#define LC_MAX_BISECTION_DEPTH 32u
#define LC_MAX_WITNESSES 8u
#define LC_SCRATCH_BLOCKS (LC_MAX_BISECTION_DEPTH + 2u)

typedef struct lc_validator_set {
    size_t n;
    cmt_validator v[LC_MAX_VALIDATORS];          /* in the set's order */
    uint8_t address[LC_MAX_VALIDATORS][CMT_ADDRESS_LEN];
} lc_validator_set;

typedef struct lc_commit {
    int64_t height;
    int32_t round;
    cmt_block_id block_id;
    size_t n_sigs;
    cmt_commit_sig sigs[LC_MAX_VALIDATORS];
} lc_commit;

/* A signed header and the validator set of its height. */
typedef struct lc_light_block {
    cmt_header header;
    lc_commit commit;
    lc_validator_set vals;
} lc_light_block;

typedef struct lc_params {
    int64_t trusting_period_ns; /* > 0 */
    int64_t max_clock_drift_ns; /* >= 0 */
    uint32_t trust_num, trust_den; /* 1/3 <= num/den <= 1 */
} lc_params;

/* trusting period 2 weeks, drift 10 s, trust level 1/3. */
void lc_params_default(lc_params *p);

/* Checks a validator set on its own: 1..LC_MAX_VALIDATORS validators, each with power
 * > 0 and address = SHA-256(pub_key)[:20], no address twice, total power at most
 * LC_MAX_TOTAL_POWER (VEIL_ERR_LC_VALSET_INVALID / _TOO_LARGE). */
VEIL_MUST_CHECK veil_status lc_validator_set_check(const lc_validator_set *vals);
VEIL_MUST_CHECK veil_status lc_validator_set_hash(const lc_validator_set *vals,
                                                  uint8_t out[static CMT_HASH_LEN]);

/* SignedHeader.ValidateBasic(chain_id): the header's and the commit's basic rules, the
 * chain id, commit height = header height, commit block id hash = header hash. */
VEIL_MUST_CHECK veil_status lc_signed_header_check(const cmt_header *h, const lc_commit *c,
                                                   const char *chain_id);

/* VerifyCommitLight: > 2/3 of vals (by index) signed block_id at height. */
VEIL_MUST_CHECK veil_status lc_verify_commit_light(const char *chain_id,
                                                   const lc_validator_set *vals,
                                                   const cmt_block_id *block_id,
                                                   int64_t height, const lc_commit *c);
/* VerifyCommitLightTrusting: > num/den of vals (by address) signed the commit. */
VEIL_MUST_CHECK veil_status lc_verify_commit_light_trusting(const char *chain_id,
                                                            const lc_validator_set *vals,
                                                            const lc_commit *c, uint32_t num,
                                                            uint32_t den);

/* Verify(trusted header, trusted validators, untrusted light block, ...): adjacent or
 * non-adjacent by height. trusted_vals: the trusted height's validator set for a
 * non-adjacent step (unused for an adjacent one, which compares hashes). */
VEIL_MUST_CHECK veil_status lc_verify(const cmt_header *trusted,
                                      const lc_validator_set *trusted_vals,
                                      const lc_light_block *untrusted, const lc_params *p,
                                      const cmt_timestamp *now);

/* Whether `h` has left the trusting period at `now` (HeaderExpired). */
bool lc_header_expired(const cmt_header *h, const lc_params *p, const cmt_timestamp *now);

/* Supplies the light block of `height` from source `source` (0: the primary,
 * 1..: witnesses). VEIL_ERR_LC_UNAVAILABLE (or any error) if it cannot. */
typedef veil_status (*lc_fetch_fn)(void *ctx, unsigned source, int64_t height,
                                   lc_light_block *out);

/* Skipping verification from `trusted` to `target` (the primary's light block of the
 * target height, already fetched): Verify; when not enough of the trusted set signed,
 * fetch the block halfway and verify that first (CometBFT's verifySkipping). Then each
 * of n_witnesses sources is asked for the target height: a header with another hash
 * that itself verifies from `trusted` through that witness is a fork
 * (VEIL_ERR_LC_FORK); if witnesses were named and none returned the same header,
 * VEIL_ERR_LC_NO_WITNESS. *steps (may be NULL) counts the Verify calls on the primary.
 * `scratch` is LC_SCRATCH_BLOCKS light blocks of the caller's memory. */
VEIL_MUST_CHECK veil_status lc_verify_to(const lc_light_block *trusted,
                                         const lc_light_block *target, const lc_params *p,
                                         const cmt_timestamp *now, lc_fetch_fn fetch,
                                         void *ctx, unsigned n_witnesses,
                                         lc_light_block *scratch, unsigned *steps);

#endif
