/* What every daemon command (tve, tqe, node, devchain) does the same way: the shared
 * options (--log-level, --pid-file, --metrics), the stop signals, and what happens once
 * it serves and when it stops (docs/operations.md). */
#ifndef VEIL_TOOLS_DAEMON_H
#define VEIL_TOOLS_DAEMON_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>

#include "hostutil/metrics.h"

/* Option codes of the shared options (outside any short option's range). */
enum { DAEMON_OPT_LOG_LEVEL = 0x4c56, DAEMON_OPT_PID_FILE = 0x5046, DAEMON_OPT_METRICS = 0x4d45 };

/* The shared long options, to put in a command's option table. */
#define DAEMON_LONG_OPTIONS                                                              \
    {"log-level", required_argument, NULL, DAEMON_OPT_LOG_LEVEL},                        \
        {"pid-file", required_argument, NULL, DAEMON_OPT_PID_FILE},                      \
        {"metrics", required_argument, NULL, DAEMON_OPT_METRICS}

/* Their help lines. */
#define DAEMON_HELP                                                                      \
    "  --log-level LEVEL   error, warn, info (default) or debug; each line has a UTC time\n" \
    "  --pid-file PATH     write the process id there once serving; removed at a stop\n" \
    "  --metrics HOST:PORT serve Prometheus metrics on GET /metrics (port 0: any; the\n"  \
    "                      log says which)\n"

typedef struct daemon_ctx {
    const char *program; /* "tve", ... */
    const char *pid_file;
    const char *metrics_addr;
    veil_metrics_server *metrics;
    volatile sig_atomic_t stop; /* set by SIGINT/SIGTERM */
} daemon_ctx;

/* Starts the log as `program` at INFO (before options are parsed). */
void daemon_init(daemon_ctx *d, const char *program);
/* For a command's `default:` case: 0 if `c` was a shared option taken, else the usage
 * error's exit status (2) to return (a bad --log-level, or an unknown option reported
 * for `cmd`). */
int daemon_other_option(daemon_ctx *d, int c, const char *arg, const char *cmd, char **argv);
/* SIGINT and SIGTERM set d->stop (without SA_RESTART, so a blocking wait returns);
 * SIGPIPE is ignored. */
void daemon_signals(daemon_ctx *d);
/* Once serving: metrics (registered by register_metrics, may be NULL) if --metrics,
 * then the pid file. VEIL_OK, or the pid file's error. */
VEIL_MUST_CHECK veil_status daemon_ready(daemon_ctx *d, void (*register_metrics)(void *ctx),
                                         void *ctx);
/* At a stop: metrics off, pid file removed, a last log line. */
void daemon_stopped(daemon_ctx *d);

#endif
