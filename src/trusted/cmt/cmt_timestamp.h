/* google.protobuf.Timestamp as CometBFT uses it. Portable. */
#ifndef VEIL_TRUSTED_CMT_TIMESTAMP_H
#define VEIL_TRUSTED_CMT_TIMESTAMP_H

#include <stdint.h>

/* Seconds since the Unix epoch (may be negative: Go's zero time is year 1) and
 * nanoseconds in [0, 999999999]. */
typedef struct cmt_timestamp {
    int64_t seconds;
    int32_t nanos;
} cmt_timestamp;

/* <0, 0, >0 like memcmp. */
static inline int cmt_timestamp_cmp(const cmt_timestamp *a, const cmt_timestamp *b)
{
    if (a->seconds != b->seconds) return a->seconds < b->seconds ? -1 : 1;
    if (a->nanos != b->nanos) return a->nanos < b->nanos ? -1 : 1;
    return 0;
}

#endif
