/* The raw bytes of a top-level member's value in a JSON object text, exactly as they
 * appear: what a signer signed (Intel's TCB info and QE identity) or a peer sent
 * verbatim (CometBFT's app_state). Host only. */
#ifndef VEIL_HOSTUTIL_JSON_RAW_H
#define VEIL_HOSTUTIL_JSON_RAW_H

#include <stddef.h>

#include "common/status.h"

/* The value of top-level member `key` of the object in (s, n) (text already known to be
 * valid JSON) at s + *off, *len bytes. VEIL_ERR_NOT_FOUND if absent, VEIL_ERR_MALFORMED
 * if s is not an object. Strings and escapes are skipped; nothing is allocated. */
VEIL_MUST_CHECK veil_status veil_json_raw_member(const char *s, size_t n, const char *key,
                                                 size_t *off, size_t *len);

#endif
