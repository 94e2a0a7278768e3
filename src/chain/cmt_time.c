#include "chain/cmt_time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm), so
 * no timegm/timezone state is involved and year 1 works. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned mp = m > 2 ? m - 3 : m + 9; /* March = 0 */
    unsigned doy = (153 * mp + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

veil_status cmt_time_format(const cmt_timestamp *t, char out[static CMT_TIME_STR_MAX])
{
    if (t->nanos < 0 || t->nanos > 999999999) return VEIL_ERR_ARG;
    /* Year 1..9999 bounds the seconds; check before any arithmetic can overflow. */
    if (t->seconds < -62135596800LL || t->seconds > 253402300799LL) return VEIL_ERR_ARG;
    int64_t days = floor_div(t->seconds, 86400);
    int64_t sod = t->seconds - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int n = snprintf(out, CMT_TIME_STR_MAX, "%04lld-%02u-%02uT%02u:%02u:%02u", (long long)y, m, d,
                     (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60), (unsigned)(sod % 60));
    if (n < 0 || n >= CMT_TIME_STR_MAX) return VEIL_ERR_INTERNAL;
    size_t pos = (size_t)n;
    if (t->nanos != 0) {
        char frac[10];
        snprintf(frac, sizeof frac, "%09d", t->nanos);
        size_t fl = 9;
        while (fl > 0 && frac[fl - 1] == '0') fl--;
        out[pos++] = '.';
        memcpy(out + pos, frac, fl);
        pos += fl;
    }
    out[pos++] = 'Z';
    out[pos] = '\0';
    return VEIL_OK;
}

static bool digits(const char *s, size_t n, unsigned *v)
{
    unsigned acc = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        acc = acc * 10 + (unsigned)(s[i] - '0');
    }
    *v = acc;
    return true;
}

static bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

veil_status cmt_time_parse(const char *s, cmt_timestamp *out)
{
    unsigned y, mo, d, h, mi, se;
    if (strlen(s) < 20) return VEIL_ERR_MALFORMED;
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
        return VEIL_ERR_MALFORMED;
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59)
        return VEIL_ERR_MALFORMED;
    if (d > mdays[mo - 1] + (mo == 2 && leap(y) ? 1u : 0u)) return VEIL_ERR_MALFORMED;
    const char *p = s + 19;
    int32_t nanos = 0;
    if (*p == '.') {
        p++;
        size_t nd = 0;
        while (p[nd] >= '0' && p[nd] <= '9') nd++;
        if (nd < 1 || nd > 9) return VEIL_ERR_MALFORMED;
        unsigned frac = 0;
        (void)digits(p, nd, &frac);
        for (size_t i = nd; i < 9; i++) frac *= 10;
        nanos = (int32_t)frac;
        p += nd;
    }
    int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        unsigned oh, om;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 ||
            om > 59)
            return VEIL_ERR_MALFORMED;
        offset = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return VEIL_ERR_MALFORMED;
    }
    if (*p != '\0') return VEIL_ERR_MALFORMED;
    out->seconds = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
    out->nanos = nanos;
    return VEIL_OK;
}

cmt_timestamp cmt_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cmt_timestamp t = {(int64_t)ts.tv_sec, (int32_t)ts.tv_nsec};
    return t;
}

int cmt_time_cmp(const cmt_timestamp *a, const cmt_timestamp *b)
{
    return cmt_timestamp_cmp(a, b);
}

cmt_timestamp cmt_time_add_ms(const cmt_timestamp *t, int64_t ms)
{
    cmt_timestamp r = *t;
    int64_t ns = (int64_t)r.nanos + (ms % 1000) * 1000000;
    r.seconds += ms / 1000 + ns / 1000000000;
    r.nanos = (int32_t)(ns % 1000000000);
    return r;
}
