/* veil node: the chain node, Veil's ABCI application (docs/node.md). */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hex.h"
#include "host/abci/abci_server.h"
#include "host/node/node_abci.h"
#include "host/node/node_app.h"
#include "hostutil/fileio.h"
#include "hostutil/log.h"
#include "tools/cli.h"
#include "tools/daemon.h"
#include "tools/commands.h"

static void usage(void)
{
    printf("usage: veil node --home DIR --abci ADDR --tve ENDPOINT [options]\n\n"
           "Runs the chain node: the ABCI application CometBFT (or `veil devchain`)\n"
           "connects to. It keeps the public state (LMDB in DIR/data/node.mdb), computes\n"
           "the app hash and has the TVE validate and commit confidential txs.\n"
           "  --home DIR          node directory (created 0700 if missing)\n"
           "  --abci ADDR         listen address: unix:///PATH or tcp://HOST:PORT\n"
           "  --tve ENDPOINT      the TVE's 0MQ endpoint: ipc://PATH or tcp://HOST:PORT\n"
           "  --tve-mrsigner HEX  accept only a TVE enclave with this MRSIGNER\n"
           "  --tve-mrenclave HEX accept only a TVE enclave with this MRENCLAVE\n"
           "  --tve-min-svn N     accept only a TVE enclave with SVN >= N\n"
           "  --tve-allow-debug   accept a TVE enclave signed for debugging\n"
           "  --tve-timeout MS    per-request timeout (default 30000)\n"
           "  --tve-wait MS       how long to wait for an unreachable TVE at start-up and\n"
           "                      during a block before giving up with an error (default 0:\n"
           "                      forever; a line every 10 s says the node is waiting)\n"
           DAEMON_HELP
           "Start-up compares heights with the TVE and replays stored blocks into a TVE\n"
           "that lags (docs/node.md, \"Recovery\"). SIGINT or SIGTERM stops the node.\n");
}

static bool parse_hash(const char *s, uint8_t out[32])
{
    return veil_hex_decode_exact(out, 32, s, strlen(s)) == VEIL_OK;
}

static void node_metrics(void *ctx)
{
    (void)ctx;
    node_app_metrics_register();
}

int cmd_node(int argc, char **argv)
{
    enum { O_MRSIGNER = 256, O_MRENCLAVE, O_MIN_SVN, O_TIMEOUT, O_WAIT, O_DEBUG, O_CRASH };
    static const struct option opts[] = {
        {"home", required_argument, NULL, 'd'},
        {"abci", required_argument, NULL, 'a'},
        {"tve", required_argument, NULL, 't'},
        {"tve-mrsigner", required_argument, NULL, O_MRSIGNER},
        {"tve-mrenclave", required_argument, NULL, O_MRENCLAVE},
        {"tve-min-svn", required_argument, NULL, O_MIN_SVN},
        {"tve-allow-debug", no_argument, NULL, O_DEBUG},
        {"tve-timeout", required_argument, NULL, O_TIMEOUT},
        {"tve-wait", required_argument, NULL, O_WAIT},
        {"test-crash-point", required_argument, NULL, O_CRASH},
        DAEMON_LONG_OPTIONS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    node_config cfg;
    memset(&cfg, 0, sizeof cfg);
    const char *abci = NULL;
    uint64_t v;
    int c;
    optind = 1;
    static daemon_ctx dm;
    int rc = 0;
    daemon_init(&dm, "node");
    while ((c = getopt_long(argc, argv, "d:a:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': cfg.home = optarg; break;
        case 'a': abci = optarg; break;
        case 't': cfg.tve_endpoint = optarg; break;
        case O_MRSIGNER:
            if (!parse_hash(optarg, cfg.mrsigner)) return cli_usage_error("--tve-mrsigner must be 64 hex digits");
            cfg.check_mrsigner = true;
            break;
        case O_MRENCLAVE:
            if (!parse_hash(optarg, cfg.mrenclave)) return cli_usage_error("--tve-mrenclave must be 64 hex digits");
            cfg.check_mrenclave = true;
            break;
        case O_MIN_SVN:
            if (!cli_parse_u64(optarg, UINT16_MAX, &v)) return cli_usage_error("--tve-min-svn must be 0..65535");
            cfg.check_min_svn = true;
            cfg.min_svn = (uint16_t)v;
            break;
        case O_DEBUG: cfg.allow_debug_tve = true; break;
        case O_TIMEOUT:
            if (!cli_parse_u64(optarg, INT32_MAX, &v) || v == 0)
                return cli_usage_error("--tve-timeout must be 1..%d milliseconds", INT32_MAX);
            cfg.tve_timeout_ms = (int)v;
            break;
        case O_WAIT:
            if (!cli_parse_u64(optarg, INT32_MAX, &v)) return cli_usage_error("--tve-wait must be milliseconds");
            cfg.tve_wait_ms = (int)v;
            break;
        case O_CRASH:
            /* Recovery tests only: die at a chosen point (docs/node.md, "Recovery"). */
            if (strcmp(optarg, "after-node-commit") != 0)
                return cli_usage_error("--test-crash-point: only after-node-commit exists");
            cfg.test_crash_after_node_commit = true;
            break;
        case 'h': usage(); return 0;
        default:
            if ((rc = daemon_other_option(&dm, c, optarg, "node", argv)) != 0) return rc;
            break;
        }
    }
    if (optind != argc) return cli_usage_error("node takes no positional arguments");
    if (cfg.home == NULL || abci == NULL || cfg.tve_endpoint == NULL)
        return cli_usage_error("node needs --home, --abci and --tve");
    if (strncmp(cfg.tve_endpoint, "ipc://", 6) != 0 && strncmp(cfg.tve_endpoint, "tcp://", 6) != 0)
        return cli_usage_error("--tve must be ipc://PATH or tcp://HOST:PORT");
    setvbuf(stderr, NULL, _IOLBF, 0);

    daemon_signals(&dm);

    cfg.stop = &dm.stop;
    node_app *app = NULL;
    abci_server *srv = NULL;
    veil_status st = node_app_open(&cfg, &app);
    if (st != VEIL_OK) return cli_fail(cfg.home, st);
    st = node_app_start(app);
    if (st != VEIL_OK) {
        node_app_close(app);
        return cli_fail("TVE", st);
    }
    abci_app a = node_abci_app(app);
    abci_server_config sc = {.listen_addr = abci};
    st = abci_server_start(&sc, &a, &srv);
    if (st != VEIL_OK) {
        node_app_close(app);
        return cli_fail(abci, st);
    }
    char addr[256];
    if (abci_server_address(srv, addr, sizeof addr) != VEIL_OK) snprintf(addr, sizeof addr, "%s", abci);
    veil_log(VEIL_LOG_INFO, "serving ABCI on %s", addr);
    if ((st = daemon_ready(&dm, node_metrics, NULL)) != VEIL_OK) {
        abci_server_free(srv);
        node_app_close(app);
        return cli_fail(dm.pid_file, st);
    }
    while (!dm.stop) pause();
    veil_log(VEIL_LOG_INFO, "stopping");
    abci_server_free(srv);
    node_app_close(app);
    daemon_stopped(&dm);
    return 0;
}
