/* Time as CometBFT writes it: Go's time.RFC3339Nano in UTC ("2023-05-17T14:12:53.6053745Z":
 * fractional seconds without trailing zeros, none at all when zero). Years 0001-9999
 * only (Go's JSON encoding refuses others). Host only. */
#ifndef VEIL_CHAIN_CMT_TIME_H
#define VEIL_CHAIN_CMT_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define CMT_TIME_STR_MAX 40

#include "trusted/cmt/cmt_timestamp.h"


/* VEIL_ERR_ARG for a year outside 1..9999 or nanos outside [0, 1e9). */
VEIL_MUST_CHECK veil_status cmt_time_format(const cmt_timestamp *t, char out[static CMT_TIME_STR_MAX]);

/* Parses RFC 3339: "YYYY-MM-DDTHH:MM:SS[.fraction]" then "Z" or "+hh:mm"/"-hh:mm";
 * 1 to 9 fraction digits. VEIL_ERR_MALFORMED otherwise (no trailing bytes). */
VEIL_MUST_CHECK veil_status cmt_time_parse(const char *s, cmt_timestamp *out);

/* The wall clock (CLOCK_REALTIME). */
cmt_timestamp cmt_time_now(void);

/* <0, 0, >0 like memcmp. */
int cmt_time_cmp(const cmt_timestamp *a, const cmt_timestamp *b);

/* t + ms milliseconds (ms >= 0). */
cmt_timestamp cmt_time_add_ms(const cmt_timestamp *t, int64_t ms);

#endif
