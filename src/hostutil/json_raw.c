/* The raw bytes of a top-level JSON member (json_raw.h). */
#include "hostutil/json_raw.h"

#include <stdbool.h>
#include <string.h>

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
    return i;
}

/* s[i] is '"': returns the index after the closing quote, or n. */
static size_t skip_string(const char *s, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (s[i] == '\\') i++;
        else if (s[i] == '"') return i + 1;
    }
    return n;
}

static size_t skip_value(const char *s, size_t n, size_t i)
{
    if (i >= n) return n;
    if (s[i] == '"') return skip_string(s, n, i);
    if (s[i] == '{' || s[i] == '[') {
        size_t depth = 0;
        while (i < n) {
            char c = s[i];
            if (c == '"') {
                i = skip_string(s, n, i);
                continue;
            }
            if (c == '{' || c == '[') depth++;
            else if (c == '}' || c == ']') {
                if (--depth == 0) return i + 1;
            }
            i++;
        }
        return n;
    }
    while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' &&
           s[i] != '\r' && s[i] != '\n')
        i++;
    return i;
}

veil_status veil_json_raw_member(const char *s, size_t n, const char *key, size_t *off, size_t *len)
{
    size_t i = skip_ws(s, n, 0);
    if (i >= n || s[i] != '{') return VEIL_ERR_MALFORMED;
    i++;
    size_t klen = strlen(key);
    for (;;) {
        i = skip_ws(s, n, i);
        if (i >= n) return VEIL_ERR_MALFORMED;
        if (s[i] == '}') return VEIL_ERR_NOT_FOUND;
        if (s[i] != '"') return VEIL_ERR_MALFORMED;
        size_t kstart = i + 1, kend = skip_string(s, n, i);
        if (kend >= n) return VEIL_ERR_MALFORMED;
        bool match = kend - 1 - kstart == klen && memcmp(s + kstart, key, klen) == 0;
        i = skip_ws(s, n, kend);
        if (i >= n || s[i] != ':') return VEIL_ERR_MALFORMED;
        i = skip_ws(s, n, i + 1);
        size_t vstart = i;
        i = skip_value(s, n, i);
        if (i > n || i == vstart) return VEIL_ERR_MALFORMED;
        if (match) {
            *off = vstart;
            *len = i - vstart;
            return VEIL_OK;
        }
        i = skip_ws(s, n, i);
        if (i < n && s[i] == ',') {
            i++;
            continue;
        }
        if (i < n && s[i] == '}') return VEIL_ERR_NOT_FOUND;
        return VEIL_ERR_MALFORMED;
    }
}

