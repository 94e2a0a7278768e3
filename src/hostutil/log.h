/* One log line format for every daemon: UTC timestamp, level, program, message.
 *   2026-12-04T21:50:46Z INFO  veil tve: verify-block bytes=... ok 812us
 * Levels filter what is written (--log-level); lines go to stderr unless a caller
 * passes its own FILE. Never log secrets or tx contents. Thread-safe (one write per
 * line). */
#ifndef VEIL_HOSTUTIL_LOG_H
#define VEIL_HOSTUTIL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

typedef enum veil_log_level {
    VEIL_LOG_ERROR = 0,
    VEIL_LOG_WARN = 1,
    VEIL_LOG_INFO = 2,
    VEIL_LOG_DEBUG = 3,
} veil_log_level;

/* The program name ("tve", "node", ...) and the most verbose level written
 * (default: "veil", INFO). */
void veil_log_setup(const char *program, veil_log_level level);
/* "error", "warn", "info" or "debug". */
bool veil_log_parse_level(const char *s, veil_log_level *out);
bool veil_log_enabled(veil_log_level level);

void veil_log(veil_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void veil_log_to(FILE *f, veil_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void veil_vlog_to(FILE *f, veil_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif
