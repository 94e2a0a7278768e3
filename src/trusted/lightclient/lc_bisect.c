/* Skipping verification and the witness cross-check (lc.h, lc_verify_to): CometBFT's
 * light/client.go verifySkipping and, simplified, light/detector.go. */
#include <string.h>

#include "trusted/cmt/cmt_hash.h"
#include "trusted/lightclient/lc.h"

/* scratch[0 .. DEPTH-1]: blocks fetched at pivots; scratch[DEPTH]: the last verified
 * one (a copy, as pivot slots are reused). */
static veil_status skipping(const lc_light_block *trusted, const lc_light_block *target,
                            unsigned source, const lc_params *p, const cmt_timestamp *now,
                            lc_fetch_fn fetch, void *ctx, lc_light_block *scratch,
                            unsigned *steps)
{
    const lc_light_block *cache[LC_MAX_BISECTION_DEPTH + 1];
    const lc_light_block *verified = trusted;
    lc_light_block *verified_copy = &scratch[LC_MAX_BISECTION_DEPTH];
    size_t n_cache = 1, depth = 0;
    cache[0] = target;
    for (;;) {
        veil_status st = lc_verify(&verified->header, &verified->vals, cache[depth], p, now);
        if (steps != NULL) (*steps)++;
        if (st == VEIL_OK) {
            if (depth == 0) return VEIL_OK;
            memcpy(verified_copy, cache[depth], sizeof *verified_copy);
            verified = verified_copy;
            n_cache = depth;
            depth = 0;
            continue;
        }
        if (st != VEIL_ERR_LC_NOT_ENOUGH_TRUST) return st;
        if (depth == n_cache - 1) {
            int64_t lo = verified->header.height, hi = cache[depth]->header.height;
            int64_t pivot = lo + (hi - lo) / 2;
            ENSURE(n_cache < LC_MAX_BISECTION_DEPTH && pivot > lo && pivot < hi,
                   VEIL_ERR_LC_NOT_ENOUGH_TRUST);
            lc_light_block *slot = &scratch[n_cache - 1];
            TRY(fetch(ctx, source, pivot, slot));
            ENSURE(slot->header.height == pivot, VEIL_ERR_LC_UNAVAILABLE);
            cache[n_cache++] = slot;
        }
        depth++;
    }
}

veil_status lc_verify_to(const lc_light_block *trusted, const lc_light_block *target,
                         const lc_params *p, const cmt_timestamp *now, lc_fetch_fn fetch,
                         void *ctx, unsigned n_witnesses, lc_light_block *scratch,
                         unsigned *steps)
{
    ENSURE(n_witnesses <= LC_MAX_WITNESSES, VEIL_ERR_ARG);
    if (steps != NULL) *steps = 0;
    TRY(skipping(trusted, target, 0, p, now, fetch, ctx, scratch, steps));
    if (n_witnesses == 0) return VEIL_OK;
    uint8_t want[CMT_HASH_LEN], got[CMT_HASH_LEN];
    TRY(cmt_header_hash(&target->header, want));
    lc_light_block *w = &scratch[LC_MAX_BISECTION_DEPTH + 1];
    bool matched = false;
    for (unsigned i = 1; i <= n_witnesses; i++) {
        if (fetch(ctx, i, target->header.height, w) != VEIL_OK) continue; /* no answer */
        if (w->header.height != target->header.height || cmt_header_hash(&w->header, got) != VEIL_OK)
            continue; /* a bad witness */
        if (memcmp(got, want, CMT_HASH_LEN) == 0) {
            matched = true;
            continue;
        }
        /* Another header at this height: if it verifies from the same trusted block
         * through this witness, two valid chains exist. Never switch: refuse. */
        if (skipping(trusted, w, i, p, now, fetch, ctx, scratch, NULL) == VEIL_OK)
            return VEIL_ERR_LC_FORK;
    }
    return matched ? VEIL_OK : VEIL_ERR_LC_NO_WITNESS;
}
