/* veil devchain [init] — the single-validator development chain (docs/devchain.md). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/devchain/devchain.h"
#include "hostutil/fileio.h"
#include "hostutil/log.h"
#include "tools/cli.h"
#include "tools/daemon.h"
#include "tools/commands.h"

#define APP_STATE_MAX ((size_t)64 << 20)

/* "1s", "500ms", "2m", "1.5s"; a bare number is seconds. */
static bool parse_duration_ms(const char *s, int64_t max_ms, int64_t *out)
{
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || v < 0) return false;
    double mult;
    if (*end == '\0' || strcmp(end, "s") == 0) mult = 1000;
    else if (strcmp(end, "ms") == 0) mult = 1;
    else if (strcmp(end, "m") == 0) mult = 60000;
    else return false;
    double ms = v * mult;
    if (ms > (double)max_ms) return false;
    *out = (int64_t)ms;
    return true;
}

static int devchain_init(int argc, char **argv)
{
    static const struct option opts[] = {{"home", required_argument, NULL, 'H'},
                                         {"chain-id", required_argument, NULL, 'c'},
                                         {"app-state", required_argument, NULL, 'a'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *home = NULL, *chain_id = NULL, *app_state_path = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "H:c:a:h", opts, NULL)) != -1) {
        switch (c) {
        case 'H':
            home = optarg;
            break;
        case 'c':
            chain_id = optarg;
            break;
        case 'a':
            app_state_path = optarg;
            break;
        case 'h':
            printf("usage: veil devchain init --home DIR --chain-id ID [--app-state FILE]\n\n"
                   "Creates DIR/config/priv_validator_key.json (a new Ed25519 validator key,\n"
                   "mode 0600) and DIR/config/genesis.json (CometBFT v0.38 format: CometBFT's\n"
                   "default consensus params, that key as the only validator, genesis time now),\n"
                   "and DIR/data/. Files that already exist are kept if they agree (same chain\n"
                   "id, same validator, same app state); otherwise nothing is overwritten and\n"
                   "the command fails.\n"
                   "  --app-state FILE   JSON to put in genesis app_state (the node's genesis:\n"
                   "                     docs/node.md); InitChain receives it byte for byte\n");
            return 0;
        default:
            return cli_bad_option("devchain init", argv);
        }
    }
    if (home == NULL || chain_id == NULL || optind != argc)
        return cli_usage_error("devchain init needs --home DIR and --chain-id ID");
    uint8_t *app_state = NULL;
    size_t app_state_len = 0;
    veil_status st;
    if (app_state_path != NULL &&
        (st = veil_file_read(app_state_path, APP_STATE_MAX, &app_state, &app_state_len)) != VEIL_OK)
        return cli_fail(app_state_path, st);
    bool created;
    st = devchain_init_home(home, chain_id, app_state, app_state_len, &created);
    free(app_state);
    if (st != VEIL_OK) return cli_fail(home, st);
    printf(created ? "initialised %s (chain id %s)\n" : "%s is already initialised (chain id %s)\n",
           home, chain_id);
    return 0;
}

static void run_usage(void)
{
    printf("usage: veil devchain --home DIR --abci ADDR [--rpc HOST:PORT] [--block-time DUR]\n"
           "                     [--no-empty-blocks] [--tx-commit-timeout DUR]\n"
           "                     [--connect-wait DUR] [--max-tx-bytes N] [--quiet]\n"
           "       veil devchain init --home DIR --chain-id ID [--app-state FILE]\n\n"
           "Runs a single-validator development chain in front of an ABCI application, as\n"
           "CometBFT v0.38 would: four ABCI connections, the Info/InitChain handshake and replay\n"
           "of stored blocks the app lacks, one block per --block-time signed with the key in\n"
           "DIR/config, blocks and commits stored in DIR/data (a restart continues the chain),\n"
           "and a CometBFT-compatible JSON-RPC subset on a loopback address (status, health,\n"
           "abci_info, abci_query, broadcast_tx_sync/async/commit, block, block_results, commit,\n"
           "validators, tx, tx_search, block_search, genesis, num_unconfirmed_txs, net_info).\n"
           "Stops cleanly on SIGINT/SIGTERM.\n"
           "  --abci ADDR          the app's ABCI socket: unix:///path or tcp://host:port\n"
           "  --rpc HOST:PORT      RPC address, loopback only (default %s; port 0: any)\n"
           "  --block-time DUR     time from one block's start to the next's, e.g. 1s, 200ms\n"
           "                       (default 1s; a longer block is followed at once)\n"
           "  --no-empty-blocks    produce blocks only for txs (and to commit the last app hash)\n"
           "  --tx-commit-timeout DUR  how long broadcast_tx_commit waits (default 10s)\n"
           "  --connect-wait DUR   keep retrying the app's socket this long (default 30s)\n"
           "  --max-tx-bytes N     largest tx accepted (default 1048576)\n"
           "  --quiet              no per-block log lines\n"
           "  --log-level LEVEL    error, warn, info (default) or debug; each line has a UTC time\n"
           "  --pid-file PATH      write the process id there once the RPC serves; removed at a\n"
           "                       stop\n",
           DEVCHAIN_DEFAULT_RPC);
}

int cmd_devchain(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "init") == 0) return devchain_init(argc - 1, argv + 1);
    static const struct option opts[] = {{"home", required_argument, NULL, 'H'},
                                         {"abci", required_argument, NULL, 'a'},
                                         {"rpc", required_argument, NULL, 'r'},
                                         {"block-time", required_argument, NULL, 'b'},
                                         {"no-empty-blocks", no_argument, NULL, 'e'},
                                         {"tx-commit-timeout", required_argument, NULL, 't'},
                                         {"connect-wait", required_argument, NULL, 'w'},
                                         {"max-tx-bytes", required_argument, NULL, 'm'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         DAEMON_LONG_OPTIONS,
        {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    devchain_config cfg;
    devchain_config_defaults(&cfg);
    uint64_t n;
    int c;
    static daemon_ctx dm;
    int rc = 0;
    daemon_init(&dm, "devchain");
    while ((c = getopt_long(argc, argv, "H:a:r:b:et:w:m:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'H':
            cfg.home = optarg;
            break;
        case 'a':
            cfg.abci_addr = optarg;
            break;
        case 'r':
            cfg.rpc_addr = optarg;
            break;
        case 'b':
            if (!parse_duration_ms(optarg, 3600000, &cfg.block_time_ms))
                return cli_usage_error("--block-time: a duration such as 1s or 200ms, up to 1h");
            break;
        case 'e':
            cfg.create_empty_blocks = false;
            break;
        case 't':
            if (!parse_duration_ms(optarg, 3600000, &cfg.tx_commit_timeout_ms))
                return cli_usage_error("--tx-commit-timeout: a duration such as 10s");
            break;
        case 'w':
            if (!parse_duration_ms(optarg, 3600000, &cfg.connect_wait_ms))
                return cli_usage_error("--connect-wait: a duration such as 30s");
            break;
        case 'm':
            if (!cli_parse_u64(optarg, (uint64_t)64 << 20, &n) || n == 0)
                return cli_usage_error("--max-tx-bytes must be 1..67108864");
            cfg.mempool.max_tx_bytes = (size_t)n;
            break;
        case 'q':
            cfg.log = NULL;
            break;
        case 'h':
            run_usage();
            return 0;
        default:
            if ((rc = daemon_other_option(&dm, c, optarg, "devchain", argv)) != 0) return rc;
            break;
        }
    }
    if (cfg.home == NULL || cfg.abci_addr == NULL || optind != argc)
        return cli_usage_error("devchain needs --home DIR and --abci ADDR");

    if (dm.metrics_addr != NULL)
        return cli_usage_error("devchain: --metrics is the node's, TVE's and TQE's (the node "
                               "counts the chain's blocks)");

    daemon_signals(&dm);
    cfg.pid_file = dm.pid_file; /* written by devchain_run once its RPC serves */
    veil_status st = devchain_run(&cfg, &dm.stop);
    daemon_stopped(&dm);
    return st == VEIL_OK ? 0 : cli_fail("devchain", st);
}
