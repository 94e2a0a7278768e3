#include "tools/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hostutil/fileio.h"

int cli_dispatch(const char *prog, const cli_command *cmds, int argc, char **argv)
{
    if (argc >= 2) {
        for (const cli_command *c = cmds; c->name != NULL; c++)
            if (strcmp(argv[1], c->name) == 0) return c->run(argc - 1, argv + 1);
    }
    bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
                              strcmp(argv[1], "help") == 0);
    FILE *f = help ? stdout : stderr;
    if (argc >= 2 && !help) fprintf(f, "%s: unknown command '%s'\n\n", prog, argv[1]);
    fprintf(f, "usage: %s <command> [options]\n\ncommands:\n", prog);
    for (const cli_command *c = cmds; c->name != NULL; c++)
        fprintf(f, "  %-12s %s\n", c->name, c->summary);
    fprintf(f, "\nRun '%s <command> --help' for a command's options.\n", prog);
    return help ? 0 : 2;
}

int cli_fail(const char *what, veil_status st)
{
    const char *detail = veil_error_detail();
    if (detail[0] != '\0')
        fprintf(stderr, "veil: %s: %s (%s)\n", what, veil_status_str(st), detail);
    else
        fprintf(stderr, "veil: %s: %s\n", what, veil_status_str(st));
    /* A missing or contradictory setting is a usage error wherever it is found. */
    return st == VEIL_ERR_USAGE ? 2 : 1;
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("veil: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see --help)\n", stderr);
    return 2;
}

const char *cli_time_format(char out[static CLI_TIME_STR_MAX], uint64_t unix_seconds)
{
    struct tm tm;
    time_t t = unix_seconds > (uint64_t)INT64_MAX ? (time_t)INT64_MAX : (time_t)unix_seconds;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, CLI_TIME_STR_MAX, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, CLI_TIME_STR_MAX, "%llu (unix)", (unsigned long long)unix_seconds);
    return out;
}

int cli_bad_option(const char *cmd, char **argv)
{
    return cli_usage_error("%s: unknown option or missing value: '%s'", cmd,
                           optind > 0 ? argv[optind - 1] : "?");
}

bool cli_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9') return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max) return false;
    *out = v;
    return true;
}

bool cli_parse_duration(const char *s, int64_t *ns)
{
    uint64_t v;
    size_t n = s != NULL ? strlen(s) : 0;
    char num[24];
    if (n < 2 || n - 1 >= sizeof num) return false;
    memcpy(num, s, n - 1);
    num[n - 1] = '\0';
    int64_t unit = s[n - 1] == 's' ? 1000000000LL : s[n - 1] == 'm' ? 60000000000LL
                 : s[n - 1] == 'h' ? 3600000000000LL : 0;
    if (unit == 0 || !cli_parse_u64(num, (uint64_t)(INT64_MAX / unit), &v) || v == 0) return false;
    *ns = (int64_t)v * unit;
    return true;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return true;
    return false;
}
