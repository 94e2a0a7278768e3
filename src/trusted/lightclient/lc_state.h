/* lc_state.h — an enclave's light-client state (docs/light-client.md): the latest
 * verified light block, the app hashes of recently verified heights, and the enclave's
 * own notion of now. Portable: the enclave seals what lc_state_encode gives (with the
 * height as associated data) and feeds it light blocks its host supplies.
 *
 * Time: the host supplies its time with every call; `now` never goes back: it is
 * max(every time the host supplied, the latest verified header's time). A host can
 * freeze or advance it, never move it below a header the enclave verified.
 *
 * A header at a height already verified is compared with the verified one: the same is
 * accepted as known; another signed by more than 2/3 of the *same* validator set (its
 * validators_hash the verified header's, its commit verifying) is a fork — those
 * validators signed two blocks at one height: VEIL_ERR_LC_FORK, the state unchanged,
 * never a switch. Anything else there is an ordinary refusal (VEIL_ERR_LC_HEIGHT), so a
 * host cannot raise the alarm with a set of its own keys. */
#ifndef VEIL_TRUSTED_LIGHTCLIENT_LC_STATE_H
#define VEIL_TRUSTED_LIGHTCLIENT_LC_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "trusted/cmt/cmt_proto.h"
#include "trusted/lightclient/lc.h"

#define LC_RECENT 64u /* verified heights whose header and app hash are kept */

typedef struct lc_recent {
    int64_t height;
    uint8_t hash[CMT_HASH_LEN];
    uint8_t validators_hash[CMT_HASH_LEN];
    uint8_t app_hash_len;
    uint8_t app_hash[CMT_MAX_HASH_LEN];
    cmt_timestamp time; /* the header's BFT time */
} lc_recent;

typedef struct lc_state {
    bool initialized;
    lc_params params;
    cmt_timestamp now;
    lc_light_block trusted; /* the latest verified */
    size_t n_recent;        /* ring: recent[(first + i) % LC_RECENT], oldest first */
    size_t first;
    lc_recent recent[LC_RECENT];
} lc_state;

/* Starts from a light block the operator trusts: its header must hash to
 * trusted_hash (VEIL_ERR_LC_TRUST_HASH), its commit carry > 2/3 of its own set, and it
 * must be within the trusting period at host_now. */
VEIL_MUST_CHECK veil_status lc_state_init(lc_state *s, const lc_params *p,
                                          const lc_light_block *lb,
                                          const uint8_t trusted_hash[static CMT_HASH_LEN],
                                          const cmt_timestamp *host_now);

/* Verifies lb from the latest verified block (lc_verify) and, if it passes, makes it
 * the latest. VEIL_ERR_LC_NOT_ENOUGH_TRUST asks the host for a block in between
 * (skipping verification driven by the host); a known height: VEIL_OK (same header)
 * or VEIL_ERR_LC_FORK. */
VEIL_MUST_CHECK veil_status lc_state_update(lc_state *s, const lc_light_block *lb,
                                            const cmt_timestamp *host_now);

/* The app hash in the header of a verified height (the state after height - 1):
 * VEIL_ERR_NOT_FOUND if that height is not among the recent ones. */
VEIL_MUST_CHECK veil_status lc_state_app_hash(const lc_state *s, int64_t height,
                                              uint8_t out[static CMT_MAX_HASH_LEN],
                                              size_t *len);

/* The remembered header of a verified height: VEIL_ERR_NOT_FOUND if not recent. */
VEIL_MUST_CHECK veil_status lc_state_recent(const lc_state *s, int64_t height, lc_recent *out);

/* Serialization for sealing: LC_STATE_MAGIC, version, params, now, the latest light
 * block (lc_wire), the ring. lc_state_decode checks everything again (the trusted
 * block's own commit and set) and refuses anything malformed (VEIL_ERR_LC_MALFORMED). */
#define LC_STATE_MAGIC "VLCS"
VEIL_MUST_CHECK veil_status lc_state_encode(const lc_state *s, cmt_buf *out);
VEIL_MUST_CHECK veil_status lc_state_decode(const uint8_t *in, size_t len, lc_state *s);

#endif
