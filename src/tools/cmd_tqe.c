/* veil tqe: the transaction query enclave service (docs/tqe.md). */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hex.h"
#include "host/tqe/tqe_server.h"
#include "hostutil/fileio.h"
#include "hostutil/log.h"
#include "hostutil/metrics.h"
#include "tools/cli.h"
#include "trusted/tqe/tqe_abi.h"
#include "tools/commands.h"


static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void usage(void)
{
    printf("usage: veil tqe --listen HOST:PORT --tve ENDPOINT --home DIR [options]\n\n"
           "Runs the transaction query enclave service: wallets connect over attested\n"
           "TLS 1.3 (terminated in the enclave) to encrypt txs and to query the txs\n"
           "that name their view key (protocol: proto/veil/tqe.proto, docs/tqe.md).\n"
           "  --listen HOST:PORT  TCP address to accept wallets on (port 0: any)\n"
           "  --tve ENDPOINT      the TVE's 0MQ endpoint (ipc://PATH or tcp://HOST:PORT)\n"
           "  --home DIR          state directory (created 0700; tqe-cert.der)\n"
           "  --rpc URL           node RPC for chain parameters and accounts\n"
           "                      (default http://127.0.0.1:26657; 'none': no node, for\n"
           "                      tests: --chain-id, zero fees, no staking accounts)\n"
           "  --chain-id ID       the chain id with --rpc none\n"
           "  --platform DIR      TEE platform directory (default $VEIL_PLATFORM_DIR, else\n"
           "                      ~/.veil/platform); must be provisioned (veil platform init)\n"
           "  --enclave PATH      signed TQE enclave image (default: enclaves/%s\n"
           "                      next to the veil executable)\n"
           "  --max-clients N     concurrent connections (default 64; more are closed)\n"
           "  --max-per-address N concurrent connections from one client address (default 8)\n"
           "  --handshake-timeout SECONDS\n"
           "                      a connection must finish its TLS handshake within this\n"
           "                      (default 5)\n"
           "  --timeout SECONDS   idle timeout per connection (default 30; total 20x)\n"
           "  --rate N            connections + reads per second per client address\n"
           "                      (default 50, burst 2N)\n"
           "  --log-level LEVEL   error, warn, info (default) or debug; each line has a UTC time\n"
           "  --pid-file PATH     write the process id there once serving; removed at a stop\n"
           "  --metrics HOST:PORT serve Prometheus metrics on GET /metrics (port 0: any; the\n"
           "                      log says which)\n"
           "SIGINT or SIGTERM stops the service once open connections end.\n",
           TQE_ENCLAVE_IMAGE);
}

int cmd_tqe(int argc, char **argv)
{
    static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
                                         {"tve", required_argument, NULL, 'T'},
                                         {"home", required_argument, NULL, 'H'},
                                         {"rpc", required_argument, NULL, 'r'},
                                         {"chain-id", required_argument, NULL, 'c'},
                                         {"platform", required_argument, NULL, 'p'},
                                         {"enclave", required_argument, NULL, 'e'},
                                         {"max-clients", required_argument, NULL, 'm'},
                                         {"timeout", required_argument, NULL, 't'},
                                         {"rate", required_argument, NULL, 'R'},
                                         {"max-per-address", required_argument, NULL, 'A'},
                                         {"handshake-timeout", required_argument, NULL, 'S'},
                                         {"metrics", required_argument, NULL, 0x4d45},
        {"pid-file", required_argument, NULL, 0x5046},
        {"log-level", required_argument, NULL, 0x4c56},
        {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char enclave[PATH_MAX] = "";
    tqe_server_config cfg = {0};
    cfg.rpc_url = "http://127.0.0.1:26657";
    uint64_t v;
    int c;
    const char *metrics_addr = NULL;
    veil_metrics_server *metrics = NULL;
    const char *pid_file = NULL;
    veil_log_setup("tqe", VEIL_LOG_INFO);
    while ((c = getopt_long(argc, argv, "l:T:H:r:c:p:e:m:t:R:A:S:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            cfg.listen = optarg;
            break;
        case 'T':
            cfg.tve_endpoint = optarg;
            break;
        case 'H':
            cfg.home = optarg;
            break;
        case 'r':
            cfg.rpc_url = strcmp(optarg, "none") == 0 ? NULL : optarg;
            break;
        case 'c':
            cfg.chain_id = optarg;
            break;
        case 'p':
            cfg.platform_dir = optarg;
            break;
        case 'e':
            snprintf(enclave, sizeof enclave, "%s", optarg);
            break;
        case 'm':
            if (!cli_parse_u64(optarg, 4096, &v) || v == 0)
                return cli_usage_error("--max-clients must be 1..4096");
            cfg.max_clients = (unsigned)v;
            break;
        case 't':
            if (!cli_parse_u64(optarg, 3600, &v) || v == 0)
                return cli_usage_error("--timeout must be 1..3600 seconds");
            cfg.timeout_ms = (unsigned)v * 1000u;
            break;
        case 'R':
            if (!cli_parse_u64(optarg, 1000000, &v) || v == 0)
                return cli_usage_error("--rate must be 1..1000000");
            cfg.rate = (unsigned)v;
            break;
        case 'A':
            if (!cli_parse_u64(optarg, 4096, &v) || v == 0)
                return cli_usage_error("--max-per-address must be 1..4096");
            cfg.max_per_address = (unsigned)v;
            break;
        case 'S':
            if (!cli_parse_u64(optarg, 600, &v) || v == 0)
                return cli_usage_error("--handshake-timeout must be 1..600 seconds");
            cfg.handshake_ms = (unsigned)v * 1000u;
            break;
        case 0x4d45:
            metrics_addr = optarg;
            break;
        case 0x5046:
            pid_file = optarg;
            break;
        case 0x4c56: {
            veil_log_level lvl;
            if (!veil_log_parse_level(optarg, &lvl))
                return cli_usage_error("--log-level must be error, warn, info or debug");
            veil_log_setup("tqe", lvl);
            break;
        }
        case 'h':
            usage();
            return 0;
        default:
            return cli_bad_option("tqe", argv);
        }
    }
    if (cfg.listen == NULL || cfg.tve_endpoint == NULL || cfg.home == NULL || optind != argc)
        return cli_usage_error("tqe needs --listen HOST:PORT, --tve ENDPOINT and --home DIR");
    if (cfg.rpc_url == NULL && cfg.chain_id == NULL)
        return cli_usage_error("--rpc none needs --chain-id");
    veil_status st;
    if (enclave[0] == '\0' && (st = veil_enclave_image_path(TQE_ENCLAVE_IMAGE, enclave, sizeof enclave)) != VEIL_OK)
        return cli_fail("enclave image", st);
    cfg.enclave_path = enclave;

    tqe_server *srv = NULL;
    st = tqe_server_open(&cfg, &srv);
    if (st != VEIL_OK) return cli_fail("tqe", st);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    tee_identity id;
    char mre[65], mrs[65];
    tqe_server_identity(srv, &id);
    veil_hex_encode(mre, id.mrenclave, sizeof id.mrenclave);
    veil_hex_encode(mrs, id.mrsigner, sizeof id.mrsigner);
    /* The one start-up line; tests and scripts wait for it (the socket is bound). */
    printf("tqe: listening on %s mrenclave %s mrsigner %s\n", tqe_server_address(srv), mre, mrs);
    fflush(stdout);
    if (metrics_addr != NULL) {
        tqe_server_metrics_register();
        uint16_t mport;
        if ((st = veil_metrics_serve(metrics_addr, &metrics, &mport)) != VEIL_OK)
            veil_log(VEIL_LOG_ERROR, "metrics: %s (%s)", veil_status_str(st), veil_error_detail());
        else
            veil_log(VEIL_LOG_INFO, "metrics on http://%.*s:%u/metrics",
                     (int)(strrchr(metrics_addr, ':') - metrics_addr), metrics_addr, mport);
        if (st != VEIL_OK) metrics_addr = NULL;
        st = VEIL_OK;
    }
    if ((st = veil_pidfile_write(pid_file)) != VEIL_OK) {
        tqe_server_close(srv);
        return cli_fail(pid_file, st);
    }

    st = tqe_server_run(srv, &g_stop);
    tqe_server_close(srv);
    veil_metrics_stop(metrics);
    veil_pidfile_remove(pid_file);
    if (st != VEIL_OK) return cli_fail("tqe", st);
    veil_log(VEIL_LOG_INFO, "stopped");
    return 0;
}
