/* The daemons' shared scaffolding (tools/daemon.h). */
#include "tools/daemon.h"

#include <string.h>

#include "hostutil/fileio.h"
#include "hostutil/log.h"
#include "tools/cli.h"

static daemon_ctx *g_daemon; /* the one daemon of this process, for the handler */

static void on_stop_signal(int sig)
{
    (void)sig;
    if (g_daemon != NULL) g_daemon->stop = 1;
}

void daemon_init(daemon_ctx *d, const char *program)
{
    memset(d, 0, sizeof *d);
    d->program = program;
    veil_log_setup(program, VEIL_LOG_INFO);
}

/* A shared option: true if `c` was one (then *rc is 0, or 2 after a usage error). */
static bool daemon_option(daemon_ctx *d, int c, const char *arg, int *rc)
{
    *rc = 0;
    switch (c) {
    case DAEMON_OPT_LOG_LEVEL: {
        veil_log_level lvl;
        if (!veil_log_parse_level(arg, &lvl))
            *rc = cli_usage_error("--log-level must be error, warn, info or debug");
        else
            veil_log_setup(d->program, lvl);
        return true;
    }
    case DAEMON_OPT_PID_FILE:
        d->pid_file = arg;
        return true;
    case DAEMON_OPT_METRICS:
        d->metrics_addr = arg;
        return true;
    default:
        return false;
    }
}

int daemon_other_option(daemon_ctx *d, int c, const char *arg, const char *cmd, char **argv)
{
    int rc;
    if (daemon_option(d, c, arg, &rc)) return rc;
    return cli_bad_option(cmd, argv);
}

void daemon_signals(daemon_ctx *d)
{
    g_daemon = d;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

veil_status daemon_ready(daemon_ctx *d, void (*register_metrics)(void *ctx), void *ctx)
{
    if (d->metrics_addr != NULL) {
        if (register_metrics != NULL) register_metrics(ctx);
        uint16_t port;
        veil_status st = veil_metrics_serve(d->metrics_addr, &d->metrics, &port);
        if (st != VEIL_OK)
            veil_log(VEIL_LOG_ERROR, "metrics: %s (%s)", veil_status_str(st), veil_error_detail());
        else
            veil_log(VEIL_LOG_INFO, "metrics on http://%.*s:%u/metrics",
                     (int)(strrchr(d->metrics_addr, ':') - d->metrics_addr), d->metrics_addr,
                     port);
    }
    return veil_pidfile_write(d->pid_file);
}

void daemon_stopped(daemon_ctx *d)
{
    veil_metrics_stop(d->metrics);
    d->metrics = NULL;
    veil_pidfile_remove(d->pid_file);
    veil_log(VEIL_LOG_INFO, "stopped");
}
