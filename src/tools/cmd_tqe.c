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
#include "tools/cli.h"
#include "tools/daemon.h"
#include "trusted/tqe/tqe_abi.h"
#include "tools/commands.h"


static void usage(void)
{
    printf("usage: veil tqe --listen HOST:PORT --tve ENDPOINT --home DIR [options]\n\n"
           "Runs the transaction query enclave service: wallets connect over attested\n"
           "TLS 1.3 (terminated in the enclave) to encrypt txs and to query the txs\n"
           "that name their view key (protocol: proto/veil/tqe.proto, docs/tqe.md).\n"
           "  --listen HOST:PORT  TCP address to accept wallets on (port 0: any)\n"
           "  --tve ENDPOINT      the TVE's 0MQ endpoint (ipc://PATH or tcp://HOST:PORT)\n"
           "  --home DIR          state directory (created 0700; tqe-cert.der,\n"
           "                      lc-state.sealed)\n"
           "  --rpc URL           node RPC (default http://127.0.0.1:26657): the enclave's\n"
           "                      light client follows the chain there, and every order's\n"
           "                      chain state comes with proofs it checks against it;\n"
           "                      'none': queries only (encrypt needs the chain)\n"
           "  --trust-height H    the light client's trust root for a first start: a\n"
           "  --trust-hash HEX    height and its header hash (64 hex digits); later starts\n"
           "                      resume from DIR/lc-state.sealed (docs/light-client.md)\n"
           "  --trusting-period D how long a verified header may be built on (default\n"
           "                      336h; units s, m, h)\n"
           "  --platform DIR      TEE platform directory (default $VEIL_PLATFORM_DIR, else\n"
           "                      ~/.veil/platform); must be provisioned (veil platform init)\n"
           "  --attest-proxy URL  the node's attestation proxy (veil attest-proxy,\n"
           "                      http://HOST:PORT): the certificate then also carries the\n"
           "                      attestation service's report on its quote, for wallets\n"
           "                      whose policy is IAS-style (docs/attestation.md)\n"
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
           DAEMON_HELP
           "SIGINT or SIGTERM stops the service once open connections end.\n",
           TQE_ENCLAVE_IMAGE);
}

static void tqe_metrics(void *ctx)
{
    (void)ctx;
    tqe_server_metrics_register();
}

int cmd_tqe(int argc, char **argv)
{
    static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
                                         {"tve", required_argument, NULL, 'T'},
                                         {"home", required_argument, NULL, 'H'},
                                         {"rpc", required_argument, NULL, 'r'},
                                         CLI_TRUST_LONG_OPTIONS,
                                         {"platform", required_argument, NULL, 'p'},
                                         {"enclave", required_argument, NULL, 'e'},
                                         {"max-clients", required_argument, NULL, 'm'},
                                         {"timeout", required_argument, NULL, 't'},
                                         {"rate", required_argument, NULL, 'R'},
                                         {"max-per-address", required_argument, NULL, 'A'},
                                         {"handshake-timeout", required_argument, NULL, 'S'},
                                         {"attest-proxy", required_argument, NULL, 'P'},
                                         DAEMON_LONG_OPTIONS,
        {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char enclave[PATH_MAX] = "";
    tqe_server_config cfg = {0};
    cfg.rpc_url = "http://127.0.0.1:26657";
    uint64_t v;
    int c;
    static daemon_ctx dm;
    int rc = 0;
    daemon_init(&dm, "tqe");
    while ((c = getopt_long(argc, argv, "l:T:H:r:y:x:g:p:e:m:t:R:A:S:P:h", opts, NULL)) != -1) {
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
        case 'p':
            cfg.platform_dir = optarg;
            break;
        case 'P':
            cfg.attest_proxy = optarg;
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
        case 'h':
            usage();
            return 0;
        default:
            if ((rc = cli_trust_option(c, optarg, &cfg.has_trust, &cfg.trust_height,
                                       cfg.trust_hash, &cfg.lc)) == CLI_TRUST_NOT_MINE)
                rc = daemon_other_option(&dm, c, optarg, "tqe", argv);
            if (rc != 0) return rc;
            break;
        }
    }
    if (cfg.listen == NULL || cfg.tve_endpoint == NULL || cfg.home == NULL || optind != argc)
        return cli_usage_error("tqe needs --listen HOST:PORT, --tve ENDPOINT and --home DIR");
    if ((rc = cli_trust_check(cfg.has_trust, cfg.trust_height)) != 0) return rc;
    veil_status st;
    if (enclave[0] == '\0' && (st = veil_enclave_image_path(TQE_ENCLAVE_IMAGE, enclave, sizeof enclave)) != VEIL_OK)
        return cli_fail("enclave image", st);
    cfg.enclave_path = enclave;

    tqe_server *srv = NULL;
    st = tqe_server_open(&cfg, &srv);
    if (st != VEIL_OK) return cli_fail("tqe", st);

    daemon_signals(&dm);

    tee_identity id;
    char mre[65], mrs[65];
    tqe_server_identity(srv, &id);
    veil_hex_encode(mre, id.mrenclave, sizeof id.mrenclave);
    veil_hex_encode(mrs, id.mrsigner, sizeof id.mrsigner);
    /* The one start-up line; tests and scripts wait for it (the socket is bound). */
    printf("tqe: listening on %s mrenclave %s mrsigner %s\n", tqe_server_address(srv), mre, mrs);
    fflush(stdout);
    if ((st = daemon_ready(&dm, tqe_metrics, NULL)) != VEIL_OK) {
        tqe_server_close(srv);
        return cli_fail(dm.pid_file, st);
    }

    st = tqe_server_run(srv, &dm.stop);
    tqe_server_close(srv);
    daemon_stopped(&dm);
    if (st != VEIL_OK) return cli_fail("tqe", st);
    return 0;
}
