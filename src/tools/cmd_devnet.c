/* veil devnet [start] | status — the whole system on one machine.
 *
 * Starts, in order, and supervises: the simulated platform (provisioned once), the
 * TVE service, the node (ABCI application) and the dev chain (CometBFT stand-in with
 * its RPC). Each service is this same binary re-executed with its own arguments and
 * log file. Ctrl-C (or SIGTERM) stops them all, newest first; if one dies on its own,
 * the others are stopped and the tail of its log is shown.
 *
 * Layout of --home DIR:
 *   devnet.json          what runs where (written on first start)
 *   demo-accounts.json   development keys of the funded demo accounts (public!)
 *   platform/            simulated TEE platform
 *   tve/ node/ chain/    each service's home
 *   run/                 sockets;  logs/  one log per service
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "host/ratls/ratls_verify.h"
#include "hostutil/fileio.h"
#include "tee/sim/sim_host.h"
#include "hostutil/rpc_client.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "trusted/tqe/tqe_abi.h"
#include "tools/devnet.h"

#define START_TIMEOUT_S 60

typedef struct service {
    const char *name;
    pid_t pid;
} service;

static volatile sig_atomic_t g_stop;
static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* The hash of the dev chain's block 1, the TQE light client's trust root (waits up to
 * 60 s for the chain to make it). */
static bool trust_root(const char *rpc_url, char hex[static 65])
{
    for (int i = 0; i < 300 && !g_stop; i++) {
        if (veil_rpc_block_hash(rpc_url, 1, 2000, hex) == VEIL_OK) return true;
        usleep(200000);
    }
    if (!g_stop) fprintf(stderr, "veil: devnet: the dev chain made no block 1 at %s\n", rpc_url);
    return false;
}

static void log_tail(const char *log)
{
    uint8_t *buf;
    size_t len;
    if (veil_file_read(log, 64u << 20, &buf, &len) != VEIL_OK) return;
    size_t start = len > 2000 ? len - 2000 : 0;
    fprintf(stderr, "--- last lines of %s ---\n%.*s\n---\n", log, (int)(len - start),
            (const char *)buf + start);
    free(buf);
}

/* Each start writes fresh logs (the previous start's become *.log.1), so a failing
 * service's own error is what log_tail shows, not a stale line of an earlier run. */
static void logs_rotate(const devnet_layout *l)
{
    static const char *const names[] = {"platform", "tve", "node", "devchain", "tqe"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char cur[PATH_MAX + 32], old[PATH_MAX + 32];
        snprintf(cur, sizeof cur, "%s/%s.log", l->logs, names[i]);
        snprintf(old, sizeof old, "%s/%s.log.1", l->logs, names[i]);
        if (rename(cur, old) != 0 && errno != ENOENT)
            fprintf(stderr, "veil: devnet: cannot rotate %s: %s\n", cur, strerror(errno));
    }
}

static bool child_alive(pid_t pid) { return waitpid(pid, NULL, WNOHANG) == 0; }

static void stop_all(service *svcs, size_t n)
{
    for (size_t i = n; i-- > 0;) {
        if (svcs[i].pid <= 0) continue;
        kill(svcs[i].pid, SIGTERM);
        for (int t = 0; t < 100 && child_alive(svcs[i].pid); t++) usleep(100 * 1000);
        if (child_alive(svcs[i].pid)) {
            fprintf(stderr, "devnet: %s did not stop in 10 s; killing it\n", svcs[i].name);
            kill(svcs[i].pid, SIGKILL);
            waitpid(svcs[i].pid, NULL, 0);
        }
        svcs[i].pid = 0;
    }
}

static bool path_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* Waits until `ready` holds or the child dies or time runs out. */
static bool wait_ready(const service *s, bool (*ready)(const devnet_layout *), const devnet_layout *l)
{
    for (int i = 0; i < START_TIMEOUT_S * 10 && !g_stop; i++) {
        if (ready(l)) return true;
        if (!child_alive(s->pid)) return false;
        usleep(100 * 1000);
    }
    return false;
}

static bool tve_ready(const devnet_layout *l) { return path_exists(l->tve_sock); }
static bool node_ready(const devnet_layout *l) { return path_exists(l->abci_sock); }
/* The certificate is written (and unlinked before the start) by this run's TQE, so a
 * foreign listener on the port does not pass for it. */
static bool tqe_ready(const devnet_layout *l)
{
    char cert[PATH_MAX + 16];
    snprintf(cert, sizeof cert, "%s/tqe-cert.der", l->tqe_home);
    return path_exists(cert) && devnet_tqe_listening(l);
}
static bool chain_ready(const devnet_layout *l)
{
    json_t *st = NULL;
    bool ok = devnet_rpc_get(l, "status", &st) == VEIL_OK;
    json_decref(st);
    return ok;
}

static int devnet_start(int argc, char **argv)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, 'H'},      {"block-time", required_argument, NULL, 'b'},
        {"rpc-port", required_argument, NULL, 'r'}, {"tqe-port", required_argument, NULL, 'q'},
        CLI_KEY_EPOCH_LONG_OPTIONS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *home = NULL, *block_time = "1s";
    uint64_t port = 26657, tqe_port = 0, epoch_blocks = 100000, grace_blocks = 0;
    int c, rc;
    while ((c = getopt_long(argc, argv, "H:b:r:q:h", opts, NULL)) != -1) {
        if ((rc = cli_key_epoch_option(c, optarg, &epoch_blocks, &grace_blocks)) !=
            CLI_TRUST_NOT_MINE) {
            if (rc != 0) return rc;
            continue;
        }
        switch (c) {
        case 'H':
            home = optarg;
            break;
        case 'b':
            block_time = optarg;
            break;
        case 'r':
            if (!cli_parse_u64(optarg, 65535, &port) || port == 0)
                return cli_usage_error("--rpc-port must be 1..65535");
            break;
        case 'q':
            if (!cli_parse_u64(optarg, 65535, &tqe_port) || tqe_port == 0)
                return cli_usage_error("--tqe-port must be 1..65535");
            break;
        case 'h':
            printf("usage: veil devnet [start] --home DIR [options]\n"
                   "       veil devnet status --home DIR [--json]\n\n"
                   "Starts a local network: simulated TEE platform, TVE, node, a\n"
                   "single-validator dev chain with a chain id of its own, whose genesis funds\n"
                   "three demo accounts, and the TQE for wallets. Prints where each service\n"
                   "listens, runs until Ctrl-C (or SIGTERM), then stops everything; if it is\n"
                   "killed, its services stop too. Restarting with the same DIR continues the same\n"
                   "chain; a second devnet on a DIR in use is refused.\n\n"
                   "options:\n"
                   "  --home DIR          the devnet's directory (created on first start)\n"
                   "  --block-time T      time between blocks, e.g. 500ms, 1s (default 1s)\n"
                   "  --rpc-port N        the dev chain's CometBFT-style RPC on 127.0.0.1\n"
                   "                      (default 26657)\n"
                   "  --tqe-port N        the TQE's attested-TLS port on 127.0.0.1 (default: the\n"
                   "                      RPC port + 13, i.e. 26670)\n"
                   "  --key-epoch-blocks N  blocks between obfuscation key rotations (first\n"
                   "                      start only; default 100000, docs/key-epochs.md)\n"
                   "  --key-grace-blocks N  blocks a new key waits before use, and the old one\n"
                   "                      stays accepted after (first start only; default a\n"
                   "                      quarter of an epoch)\n\n"
                   "DIR holds: devnet.json (chain id, ports), demo-accounts.json (the demo keys:\n"
                   "public, development only), wallets/ (each demo account's seed and a wallet\n"
                   "configuration for this devnet: copy devnet.config.json next to a wallet as\n"
                   "WALLET.config.json), logs/ (one log per service; the previous start's in\n"
                   "*.log.1), and the services' own directories.\n");
            return 0;
        default:
            return cli_bad_option("devnet", argv);
        }
    }
    if (home == NULL || optind != argc) return cli_usage_error("devnet needs --home DIR");
    if ((rc = cli_key_epoch_check(epoch_blocks, &grace_blocks)) != 0) return rc;
    veil_status st = veil_crypto_init();
    /* The lock before anything else: a second devnet on this home must not touch the
     * running one's sockets, logs or configuration. Held until this process exits. */
    int lock_fd = -1;
    if (st == VEIL_OK) st = veil_mkdir_p(home, 0700);
    if (st == VEIL_OK) st = veil_dir_lock(home, "devnet.lock", "a devnet is running there", &lock_fd);
    if (st != VEIL_OK) return cli_fail(home, st);
    devnet_layout l;
    if (st == VEIL_OK) st = devnet_layout_init(&l, home, (uint16_t)port);
    l.tqe_port = tqe_port != 0 ? (uint16_t)tqe_port : devnet_default_tqe_port((uint16_t)port);
    l.key_epoch_blocks = epoch_blocks;
    l.key_grace_blocks = grace_blocks;
    if (st == VEIL_OK) st = devnet_prepare(&l, block_time);
    if (st != VEIL_OK) return cli_fail(home, st);

    /* Platform: provisioned once, kept across restarts (it holds the sealing root). */
    char log[PATH_MAX + 16];
    snprintf(log, sizeof log, "%s/platform.log", l.logs);
    logs_rotate(&l);
    char tcb[8];
    snprintf(tcb, sizeof tcb, "%d", DEVNET_PLATFORM_TCB);
    char *init_argv[] = {"veil", "platform", "init", "--dir", l.platform, "--tcb", tcb, NULL};
    if (devnet_run(log, init_argv) != 0) {
        log_tail(log);
        fprintf(stderr, "veil: devnet: platform init failed\n");
        return 1;
    }

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    service svcs[4] = {{"tve", 0}, {"node", 0}, {"devchain", 0}, {"tqe", 0}};
    char tve_listen[PATH_MAX + 8], abci[PATH_MAX + 8], rpc[64], rpc_url[80], tqe_listen[32];
    char root[PATH_MAX + 64];
    snprintf(rpc_url, sizeof rpc_url, "http://127.0.0.1:%u", l.rpc_port);
    snprintf(tqe_listen, sizeof tqe_listen, "127.0.0.1:%u", l.tqe_port);
    devnet_collateral(&l, root, sizeof root);
    snprintf(tve_listen, sizeof tve_listen, "ipc://%s", l.tve_sock);
    snprintf(abci, sizeof abci, "unix://%s", l.abci_sock);
    snprintf(rpc, sizeof rpc, "127.0.0.1:%u", l.rpc_port);
    char *tve_argv[] = {"veil", "tve", "--listen", tve_listen, "--home", l.tve_home, "--platform",
                        l.platform, "--log", "errors", NULL};
    char *node_argv[] = {"veil", "node", "--home", l.node_home, "--abci", abci, "--tve", tve_listen,
                         "--tve-mrsigner", l.tve_mrsigner_hex, NULL};
    char *chain_argv[] = {"veil", "devchain", "--home", l.chain_home, "--abci", abci, "--rpc", rpc,
                          "--block-time", (char *)block_time, NULL};
    /* The TQE starts last: its light client follows the dev chain from block 1, whose
     * hash (the trust root) is read once the chain has made it. */
    char trust_hash[65] = "";
    char *tqe_argv[] = {"veil",       "tqe",        "--listen",  tqe_listen, "--tve",
                        tve_listen,   "--home",     l.tqe_home,  "--platform", l.platform,
                        "--rpc",      rpc_url,      "--trust-height", "1", "--trust-hash",
                        trust_hash,   NULL};
    char *const *argvs[4] = {tve_argv, node_argv, chain_argv, tqe_argv};
    bool (*ready[4])(const devnet_layout *) = {tve_ready, node_ready, chain_ready, tqe_ready};
    char logs[4][PATH_MAX + 16];
    /* Stale sockets from a killed run would look like readiness. */
    unlink(l.tve_sock);
    unlink(l.abci_sock);
    char tqe_cert[PATH_MAX + 16];
    snprintf(tqe_cert, sizeof tqe_cert, "%s/tqe-cert.der", l.tqe_home);
    unlink(tqe_cert);

    for (size_t i = 0; i < 4; i++) {
        snprintf(logs[i], sizeof logs[i], "%s/%s.log", l.logs, svcs[i].name);
        if (argvs[i] == tqe_argv && !trust_root(rpc_url, trust_hash)) {
            stop_all(svcs, 4);
            return g_stop ? 0 : 1;
        }
        svcs[i].pid = devnet_spawn(logs[i], argvs[i], true);
        if (svcs[i].pid < 0 || !wait_ready(&svcs[i], ready[i], &l)) {
            if (!g_stop) {
                fprintf(stderr, "veil: devnet: %s did not start\n", svcs[i].name);
                log_tail(logs[i]);
            }
            stop_all(svcs, 4);
            return g_stop ? 0 : 1;
        }
    }
    /* "devnet running" only once every service stayed up a moment after the last was
     * ready: a service that fails right after its readiness signal (the TQE's first RPC
     * call, say) is reported with its own log, not after a success line. */
    for (int t = 0; t < 10 && !g_stop; t++) {
        for (size_t i = 0; i < 4; i++) {
            if (child_alive(svcs[i].pid)) continue;
            fprintf(stderr, "veil: devnet: %s stopped right after starting\n", svcs[i].name);
            log_tail(logs[i]);
            svcs[i].pid = 0;
            stop_all(svcs, 4);
            return 1;
        }
        usleep(100 * 1000);
    }
    printf("devnet running (home %s)\n"
           "  rpc        http://%s  (CometBFT-compatible JSON-RPC)\n"
           "  abci       %s\n"
           "  tve        %s\n"
           "  tqe        %s  (attested TLS 1.3 for wallets)\n"
           "             wallet flags: --tqe %s --tqe-collateral %s --tqe-mrsigner %s\n"
           "  chain id   %s\n"
           "  accounts   %s/demo-accounts.json\n"
           "  logs       %s/\n"
           "Ctrl-C stops everything.\n",
           home, rpc, abci, tve_listen, tqe_listen, tqe_listen, root, l.tve_mrsigner_hex,
           l.chain_id, home, l.logs);
    fflush(stdout);

    rc = 0;
    while (!g_stop) {
        for (size_t i = 0; i < 4; i++) {
            int status;
            if (waitpid(svcs[i].pid, &status, WNOHANG) == svcs[i].pid) {
                fprintf(stderr, "veil: devnet: %s exited (%s %d); stopping the others\n",
                        svcs[i].name, WIFEXITED(status) ? "status" : "signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
                log_tail(logs[i]);
                svcs[i].pid = 0;
                g_stop = 1;
                rc = 1;
            }
        }
        usleep(200 * 1000);
    }
    stop_all(svcs, 4);
    printf("devnet stopped\n");
    return rc;
}

/* The TQE's identity, from the RA-TLS certificate it wrote at start, verified against
 * the devnet's attestation collateral and the devnet's signer (the TVE's). */
static json_t *tqe_status(const devnet_layout *l)
{
    char cert_path[PATH_MAX + 16], root[PATH_MAX + 64], addr[32];
    snprintf(cert_path, sizeof cert_path, "%s/tqe-cert.der", l->tqe_home);
    devnet_collateral(l, root, sizeof root);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", l->tqe_port);
    if (!devnet_tqe_listening(l))
        return json_pack("{s:s, s:s}", "error", "not listening", "detail", addr);
    uint8_t signer[32], *der = NULL;
    size_t len = 0;
    attest_claims claims;
    veil_status s = veil_hex_decode_exact(signer, 32, l->tve_mrsigner_hex, 64);
    if (s == VEIL_OK) s = veil_file_read(cert_path, RATLS_CERT_MAX_LEN, &der, &len);
    if (s == VEIL_OK) {
        ratls_policy p = {0};
        p.mrsigner = signer;
        p.has_prodid = 1;
        p.prodid = TQE_PRODID;
        p.has_min_svn = 1; /* shown, not judged: any SVN of the devnet's TQE */
        p.collateral_path = root;
        /* shown, not judged: any TCB status but Revoked */
        s = dcap_policy_parse("SWHardeningNeeded,ConfigurationNeeded,"
                              "ConfigurationAndSWHardeningNeeded,OutOfDate,"
                              "OutOfDateConfigurationNeeded",
                              &p.tcb);
        if (s == VEIL_OK) s = ratls_verify_cert_der(der, len, &p, time(NULL), &claims);
    }
    free(der);
    if (s != VEIL_OK)
        return json_pack("{s:s, s:s}", "error", veil_status_str(s), "detail", veil_error_detail());
    char mre[65], mrs[65];
    veil_hex_encode(mre, claims.body.identity.mrenclave, 32);
    veil_hex_encode(mrs, claims.body.identity.mrsigner, 32);
    return json_pack("{s:s, s:s, s:s, s:i, s:b, s:s, s:s}", "address", addr, "mrenclave", mre,
                     "mrsigner", mrs, "svn", (int)claims.body.identity.svn, "debug",
                     (claims.body.identity.attributes & TEE_ATTR_DEBUG) != 0, "tcb_status",
                     dcap_tcb_status_name(claims.tcb_status), "collateral", root);
}

static int devnet_status(int argc, char **argv)
{
    static const struct option opts[] = {{"home", required_argument, NULL, 'H'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *home = NULL;
    bool json = false;
    int c;
    while ((c = getopt_long(argc, argv, "H:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'H':
            home = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            printf("usage: veil devnet status --home DIR [--json]\n\n"
                   "Reports the running devnet's heights and identities: the dev chain's latest\n"
                   "block and app hash (RPC status) and the TVE's enclave identity, key epoch\n"
                   "and last committed height. Exits 1 if a service does not answer.\n");
            return 0;
        default:
            return cli_bad_option("devnet status", argv);
        }
    }
    if (home == NULL || optind != argc) return cli_usage_error("devnet status needs --home DIR");
    devnet_layout l;
    veil_status st = devnet_layout_load(&l, home);
    if (st != VEIL_OK) return cli_fail(home, st);
    return devnet_print_status(&l, json, tqe_status);
}

int cmd_devnet(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "status") == 0) return devnet_status(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "start") == 0) return devnet_start(argc - 1, argv + 1);
    return devnet_start(argc, argv);
}
