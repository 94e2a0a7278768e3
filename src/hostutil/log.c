/* Log lines (hostutil/log.h). */
#include "hostutil/log.h"

#include <string.h>
#include <time.h>

static char g_program[32] = "veil";
static veil_log_level g_level = VEIL_LOG_INFO;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void veil_log_setup(const char *program, veil_log_level level)
{
    snprintf(g_program, sizeof g_program, "%s", program);
    g_level = level;
}

bool veil_log_parse_level(const char *s, veil_log_level *out)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (veil_log_level)i;
            return true;
        }
    }
    return false;
}

bool veil_log_enabled(veil_log_level level) { return level <= g_level; }

void veil_vlog_to(FILE *f, veil_log_level level, const char *fmt, va_list ap)
{
    if (!veil_log_enabled(level)) return;
    char line[2048], ts[32];
    struct tm tm;
    time_t now = time(NULL);
    if (gmtime_r(&now, &tm) == NULL || strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(ts, sizeof ts, "-");
    int n = snprintf(line, sizeof line, "%s %-5s veil %s: ", ts, level_names[level], g_program);
    if (n < 0) return;
    size_t off = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    int m = vsnprintf(line + off, sizeof line - off, fmt, ap);
    if (m < 0) return;
    off += (size_t)m < sizeof line - off ? (size_t)m : sizeof line - off - 1;
    if (off >= sizeof line - 1) off = sizeof line - 2;
    line[off++] = '\n';
    fwrite(line, 1, off, f); /* one write per line: lines of threads do not interleave */
    fflush(f);
}

void veil_log_to(FILE *f, veil_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    veil_vlog_to(f, level, fmt, ap);
    va_end(ap);
}

void veil_log(veil_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    veil_vlog_to(stderr, level, fmt, ap);
    va_end(ap);
}
