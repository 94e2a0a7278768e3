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
#include <fcntl.h>
#include <jansson.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "hostutil/fileio.h"
#include "tools/cli.h"
#include "tools/commands.h"
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

static int self_exe(char *buf, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n <= 0) return -1;
    buf[n] = '\0';
    return 0;
}

/* Runs `veil ARGS...` to completion, output to the log; returns its exit status. */
static int run_once(const char *log, char *const argv[])
{
    char exe[PATH_MAX];
    if (self_exe(exe, sizeof exe) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execv(exe, argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static pid_t spawn(const char *log, char *const argv[])
{
    char exe[PATH_MAX];
    if (self_exe(exe, sizeof exe) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        /* Services get their own process group: Ctrl-C reaches only the supervisor,
         * which stops them in order. */
        setpgid(0, 0);
        execv(exe, argv);
        _exit(127);
    }
    return pid;
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
        {"rpc-port", required_argument, NULL, 'r'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *home = NULL, *block_time = "1s";
    uint64_t port = 26657;
    int c;
    while ((c = getopt_long(argc, argv, "H:b:r:h", opts, NULL)) != -1) {
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
        case 'h':
            printf("usage: veil devnet [start] --home DIR [--block-time 1s] [--rpc-port 26657]\n\n"
                   "Starts a local network: simulated TEE platform, TVE, node and a\n"
                   "single-validator dev chain whose genesis funds demo accounts (their keys are\n"
                   "written to DIR/demo-accounts.json). Prints where each service listens, runs\n"
                   "until Ctrl-C, then stops everything. Restarting with the same DIR continues\n"
                   "the same chain. Logs: DIR/logs/.\n");
            return 0;
        default:
            return cli_usage_error("devnet: bad option");
        }
    }
    if (home == NULL || optind != argc) return cli_usage_error("devnet needs --home DIR");
    veil_status st = veil_crypto_init();
    devnet_layout l;
    if (st == VEIL_OK) st = devnet_layout_init(&l, home, (uint16_t)port);
    if (st == VEIL_OK) st = devnet_prepare(&l, block_time);
    if (st != VEIL_OK) return cli_fail(home, st);

    /* Platform: provisioned once, kept across restarts (it holds the sealing root). */
    char log[PATH_MAX + 16];
    snprintf(log, sizeof log, "%s/platform.log", l.logs);
    char *init_argv[] = {"veil", "platform", "init", "--dir", l.platform, NULL};
    if (run_once(log, init_argv) != 0) {
        log_tail(log);
        fprintf(stderr, "veil: devnet: platform init failed\n");
        return 1;
    }

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    service svcs[3] = {{"tve", 0}, {"node", 0}, {"devchain", 0}};
    char tve_listen[PATH_MAX + 8], abci[PATH_MAX + 8], rpc[64];
    snprintf(tve_listen, sizeof tve_listen, "ipc://%s", l.tve_sock);
    snprintf(abci, sizeof abci, "unix://%s", l.abci_sock);
    snprintf(rpc, sizeof rpc, "127.0.0.1:%u", l.rpc_port);
    char *tve_argv[] = {"veil", "tve", "--listen", tve_listen, "--home", l.tve_home, "--platform",
                        l.platform, "--log", "errors", NULL};
    char *node_argv[] = {"veil", "node", "--home", l.node_home, "--abci", abci, "--tve", tve_listen,
                         "--tve-mrsigner", l.tve_mrsigner_hex, NULL};
    char *chain_argv[] = {"veil", "devchain", "--home", l.chain_home, "--abci", abci, "--rpc", rpc,
                          "--block-time", (char *)block_time, NULL};
    char *const *argvs[3] = {tve_argv, node_argv, chain_argv};
    bool (*ready[3])(const devnet_layout *) = {tve_ready, node_ready, chain_ready};
    char logs[3][PATH_MAX + 16];
    /* Stale sockets from a killed run would look like readiness. */
    unlink(l.tve_sock);
    unlink(l.abci_sock);

    for (size_t i = 0; i < 3; i++) {
        snprintf(logs[i], sizeof logs[i], "%s/%s.log", l.logs, svcs[i].name);
        svcs[i].pid = spawn(logs[i], argvs[i]);
        if (svcs[i].pid < 0 || !wait_ready(&svcs[i], ready[i], &l)) {
            if (!g_stop) {
                fprintf(stderr, "veil: devnet: %s did not start\n", svcs[i].name);
                log_tail(logs[i]);
            }
            stop_all(svcs, 3);
            return g_stop ? 0 : 1;
        }
    }
    printf("devnet running (home %s)\n"
           "  rpc        http://%s  (CometBFT-compatible JSON-RPC)\n"
           "  abci       %s\n"
           "  tve        %s\n"
           "  chain id   %s\n"
           "  accounts   %s/demo-accounts.json\n"
           "  logs       %s/\n"
           "Ctrl-C stops everything.\n",
           home, rpc, abci, tve_listen, l.chain_id, home, l.logs);
    fflush(stdout);

    int rc = 0;
    while (!g_stop) {
        for (size_t i = 0; i < 3; i++) {
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
    stop_all(svcs, 3);
    printf("devnet stopped\n");
    return rc;
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
            return cli_usage_error("devnet status: bad option");
        }
    }
    if (home == NULL || optind != argc) return cli_usage_error("devnet status needs --home DIR");
    devnet_layout l;
    veil_status st = devnet_layout_load(&l, home);
    if (st != VEIL_OK) return cli_fail(home, st);
    return devnet_print_status(&l, json);
}

int cmd_devnet(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "status") == 0) return devnet_status(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "demo") == 0) return devnet_demo(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "start") == 0) return devnet_start(argc - 1, argv + 1);
    return devnet_start(argc, argv);
}
