/* veil testnet init | start | status: several validators on one machine under a real
 * CometBFT v0.38 (docs/testnet.md).
 *
 * init writes, under --home DIR, one directory per validator (vI/: its simulated
 * platform, TVE store, node store and CometBFT home) sharing one provisioning authority,
 * a genesis with every validator and Veil's app_state, persistent peers on loopback and
 * free ports, and testnet.json. Validator v0 is the chain's designated validator: its TVE
 * draws the epoch-0 key before genesis (`veil tve init-key`) and the genesis carries the
 * commitment; the others' TVEs start without the key and refuse confidential txs until
 * the key hand-off gives it to them. start runs, per validator, TVE + node + CometBFT,
 * supervised until SIGINT/SIGTERM; status asks each validator's RPC.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "crypto/crypto_host.h"
#include "host/attest/attest.h"
#include "host/ratls/ratls_verify.h"
#include "hostutil/fileio.h"
#include "hostutil/rpc_client.h"
#include "tee/sim/sim_host.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/devnet.h"
#include "trusted/tdbe/tdbe_abi.h"
#include "trusted/tqe/tqe_abi.h"
#include "wallet/wallet.h"

#define TESTNET_FILE "testnet.json"
#define MAX_VALIDATORS 16
#define DEFAULT_CHAIN "veil-testnet"

/* --- small helpers ------------------------------------------------------------------ */
/* snprintf for paths and settings: every caller's home is at most HOME_MAX bytes, so
 * nothing here can be truncated; the helper keeps the compiler's truncation analysis
 * out of the many call sites. */
#define HOME_MAX 512
static void pf(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void pf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}
static bool exists(const char *p) { return access(p, F_OK) == 0; }

/* The cometbft binary: --cometbft, $VEIL_COMETBFT, the project's .deps/bin next to this
 * build, else "cometbft" on PATH. */
static void cometbft_path(const char *given, char *out, size_t cap)
{
    const char *env = getenv("VEIL_COMETBFT");
    if (given != NULL) {
        pf(out, cap, "%s", given);
        return;
    }
    if (env != NULL && env[0] != '\0') {
        pf(out, cap, "%s", env);
        return;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash != NULL) {
            *slash = '\0';
            pf(out, cap, "%s/../.deps/bin/cometbft", self);
            if (access(out, X_OK) == 0) return;
        }
    }
    pf(out, cap, "cometbft");
}

static void self_exe(char *out, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", out, cap - 1);
    out[n > 0 ? n : 0] = '\0';
}

/* Runs argv, its stdout into out (cap bytes, NUL-terminated), stderr to err_log. The
 * exit status, or -1 if it could not run. */
static int run_capture(char *const argv[], char *out, size_t cap, const char *err_log)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int e = open(err_log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (e >= 0) dup2(e, 2);
        dup2(p[1], 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    size_t have = 0;
    ssize_t r;
    while (have + 1 < cap && (r = read(p[0], out + have, cap - 1 - have)) > 0) have += (size_t)r;
    out[have] = '\0';
    char sink[512]; /* the rest, unread, would block a talkative child */
    while (read(p[0], sink, sizeof sink) > 0) {
    }
    close(p[0]);
    int st;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

/* Sets `key = value` in [section] of a TOML text (section "" = before any header):
 * replaces the existing line. false if the key is not there. */
static bool toml_set(char **text, const char *section, const char *key, const char *value)
{
    char *s = *text, cur[64] = "";
    size_t klen = strlen(key);
    for (char *line = s; *line != '\0';) {
        char *end = strchr(line, '\n');
        size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
        if (len > 2 && line[0] == '[') {
            size_t n = len - 2 < sizeof cur - 1 ? len - 2 : sizeof cur - 1;
            memcpy(cur, line + 1, n);
            cur[n] = '\0';
        } else if (strcmp(cur, section) == 0 && len > klen && strncmp(line, key, klen) == 0 &&
                   (line[klen] == ' ' || line[klen] == '=')) {
            size_t pre = (size_t)(line - s), rest = strlen(line + len);
            size_t nl = strlen(key) + strlen(value) + 3;
            char *out = malloc(pre + nl + rest + 1);
            if (out == NULL) return false;
            memcpy(out, s, pre);
            int k = snprintf(out + pre, nl + 1, "%s = %s", key, value);
            memcpy(out + pre + (size_t)k, line + len, rest + 1);
            free(s);
            *text = out;
            return true;
        }
        if (end == NULL) break;
        line = end + 1;
    }
    return false;
}

typedef struct val {
    char dir[PATH_MAX], node_id[64];
    int p2p, rpc, tdbe, tqe;
    json_t *pub_key;
} val;

/* --- accounts ---------------------------------------------------------------------- */
/* A fresh wallet seed written to `path` (hex, 0600) and its account as a genesis entry
 * with `bonded` and `unbonded` stake. NULL on failure (said on stderr). */
static json_t *seed_account_create(const char *path, const char *bonded, const char *unbonded)
{
    uint8_t seed[32];
    wallet_keys k;
    char addr[65], now[32];
    pf(now, sizeof now, "%lld", (long long)time(NULL) - 60);
    if (veil_random_bytes(seed, sizeof seed) != VEIL_OK ||
        wallet_keys_from_seed(&k, seed) != VEIL_OK)
        return NULL;
    veil_hex_encode(addr, k.spend_pk, 32);
    veil_wipe(&k, sizeof k);
    veil_status st = wallet_seed_file_write(path, seed);
    veil_wipe(seed, sizeof seed);
    if (st != VEIL_OK) {
        cli_fail(path, st);
        return NULL;
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "address", addr, "bonded", bonded, "unbonded",
                     unbonded, "unbonded_from", now, "nonce", "0");
}

/* The testnet's genesis accounts, appended to `accounts`:
 *  - two wallet accounts (DIR/wallets/NAME.seed), funded with unbonded stake a wallet can
 *    withdraw at once into a confidential output;
 *  - an operator account per validator (DIR/vI/operator.seed) and TESTNET_SPARES more
 *    for nodes added later (DIR/operators/spareK.seed), each with bonded stake: its
 *    TDBE binds its enclave key to it by a node join, which makes it a member peers
 *    serve the chain's key to (docs/tdbe.md). */
#define TESTNET_WALLETS 2
#define TESTNET_SPARES 4
static bool accounts_create(const char *home, const val *v, size_t n, json_t *accounts)
{
    static const char *const names[TESTNET_WALLETS] = {"alice", "bob"};
    char dir[PATH_MAX + 16], path[PATH_MAX + 64];
    for (int d = 0; d < 2; d++) {
        pf(dir, sizeof dir, "%s/%s", home, d == 0 ? "wallets" : "operators");
        if (veil_mkdir_p(dir, 0700) != VEIL_OK) {
            fprintf(stderr, "veil: testnet init: cannot create %s\n", dir);
            return false;
        }
    }
    for (size_t i = 0; i < TESTNET_WALLETS + n + TESTNET_SPARES; i++) {
        bool is_wallet = i < TESTNET_WALLETS, is_member = !is_wallet && i < TESTNET_WALLETS + n;
        if (is_wallet)
            pf(path, sizeof path, "%s/wallets/%s.seed", home, names[i]);
        else if (is_member)
            pf(path, sizeof path, "%s/operator.seed", v[i - TESTNET_WALLETS].dir);
        else
            pf(path, sizeof path, "%s/operators/spare%zu.seed", home, i - TESTNET_WALLETS - n);
        json_t *a = seed_account_create(path, is_wallet ? "0" : "1000",
                                           is_wallet ? "1000000000" : "0");
        if (a == NULL || json_array_append_new(accounts, a) != 0) return false;
    }
    return true;
}

/* The enclaves node joins may bind: this build's TDBE signer, product and SVN. */
static json_t *tdbe_pins(void)
{
    char img[PATH_MAX] = "", signer[65];
    tee_identity id;
    if (veil_enclave_image_path(TDBE_ENCLAVE_IMAGE, img, sizeof img) != VEIL_OK ||
        tee_image_identity(img, &id) != VEIL_OK)
        return NULL;
    veil_hex_encode(signer, id.mrsigner, sizeof id.mrsigner);
    return json_pack("[{s:s, s:i, s:i}]", "mrsigner", signer, "prodid", (int)id.prodid,
                     "min_svn", (int)id.svn);
}

/* DIR/wallets/vI.config.json: a wallet configuration that uses member vI's RPC and
 * TQE (copy it next to a wallet FILE as FILE.config.json). */
static bool wallet_config_write(const char *home, const val *v, const char *name)
{
    char path[PATH_MAX + 64], coll[PATH_MAX + 64], rpc[64], tqe[64], signer[65], img[PATH_MAX] = "";
    tee_identity id;
    if (veil_enclave_image_path(TQE_ENCLAVE_IMAGE, img, sizeof img) != VEIL_OK ||
        tee_image_identity(img, &id) != VEIL_OK) {
        fprintf(stderr, "veil: testnet: cannot read the TQE image's identity (%s)\n", img);
        return false;
    }
    veil_hex_encode(signer, id.mrsigner, sizeof id.mrsigner);
    pf(coll, sizeof coll, "%s/authority/collateral.json", home);
    pf(rpc, sizeof rpc, "http://127.0.0.1:%d", v->rpc);
    pf(tqe, sizeof tqe, "127.0.0.1:%d", v->tqe);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i}", "rpc", rpc, "tqe", tqe,
                            "tqe_collateral", coll, "tqe_mrsigner", signer, "tqe_prodid",
                            (int)id.prodid, "tqe_min_svn", (int)id.svn);
    pf(path, sizeof path, "%s/wallets/%s.config.json", home, name);
    int rc = json_dump_file(doc, path, JSON_INDENT(2));
    json_decref(doc);
    if (rc != 0) fprintf(stderr, "veil: testnet: cannot write %s\n", path);
    return rc == 0;
}

/* --- init ----------------------------------------------------------------------------- */

/* One member's directory: its platform (under the shared authority), its CometBFT
 * home (keys, node id), and two free ports. Says what failed on stderr. */
static bool member_create(const char *home, size_t i, const char *cmt, const char *authority,
                          const char *log, val *v)
{
    char plat[PATH_MAX + 32], cmthome[PATH_MAX + 32], path[PATH_MAX + 64], out[8192];
    pf(v->dir, sizeof v->dir, "%s/v%zu", home, i);
    pf(plat, sizeof plat, "%s/platform", v->dir);
    pf(cmthome, sizeof cmthome, "%s/cometbft", v->dir);
    veil_status st = sim_platform_provision(plat, authority, 1, false);
    if (st != VEIL_OK) {
        cli_fail(plat, st);
        return false;
    }
    char *init_argv[] = {(char *)cmt, "init", "--home", cmthome, NULL};
    if (run_capture(init_argv, out, sizeof out, log) != 0) {
        fprintf(stderr, "veil: testnet: '%s init' failed (is CometBFT installed? "
                        "scripts/install-deps builds it; see %s)\n",
                cmt, log);
        return false;
    }
    char *id_argv[] = {(char *)cmt, "show-node-id", "--home", cmthome, NULL};
    if (run_capture(id_argv, out, sizeof out, log) != 0 || strlen(out) < 40) {
        fprintf(stderr, "veil: testnet: '%s show-node-id' failed (%s)\n", cmt, log);
        return false;
    }
    out[strcspn(out, "\r\n")] = '\0';
    pf(v->node_id, sizeof v->node_id, "%s", out);
    pf(path, sizeof path, "%s/config/priv_validator_key.json", cmthome);
    json_t *pk = json_load_file(path, 0, NULL);
    v->pub_key = json_incref(json_object_get(pk, "pub_key"));
    json_decref(pk);
    if (v->pub_key == NULL) {
        fprintf(stderr, "veil: testnet: %s: no pub_key\n", path);
        return false;
    }
    v->p2p = free_port();
    v->rpc = free_port();
    v->tdbe = free_port();
    v->tqe = free_port();
    return true;
}

/* The member's config.toml: its node, its ports, the peers, loopback-friendly p2p. */
static bool member_configure(const val *v, const char *name, const char *peers)
{
    char path[PATH_MAX + 64], setting[PATH_MAX + 96];
    pf(path, sizeof path, "%s/cometbft/config/config.toml", v->dir);
    char *toml = NULL;
    bool ok = veil_file_read_text(path, 1 << 20, &toml, NULL) == VEIL_OK;
    pf(setting, sizeof setting, "\"unix://%s/abci.sock\"", v->dir);
    ok = ok && toml_set(&toml, "", "proxy_app", setting);
    pf(setting, sizeof setting, "\"tcp://127.0.0.1:%d\"", v->rpc);
    ok = ok && toml_set(&toml, "rpc", "laddr", setting);
    pf(setting, sizeof setting, "\"tcp://127.0.0.1:%d\"", v->p2p);
    ok = ok && toml_set(&toml, "p2p", "laddr", setting);
    pf(setting, sizeof setting, "\"%s\"", peers);
    ok = ok && toml_set(&toml, "p2p", "persistent_peers", setting);
    ok = ok && toml_set(&toml, "p2p", "addr_book_strict", "false");
    ok = ok && toml_set(&toml, "p2p", "allow_duplicate_ip", "true");
    pf(setting, sizeof setting, "\"%s\"", name);
    ok = ok && toml_set(&toml, "", "moniker", setting);
    ok = ok && veil_file_write_atomic(path, toml, strlen(toml), 0600) == VEIL_OK;
    free(toml);
    if (!ok) fprintf(stderr, "veil: testnet: cannot configure %s\n", path);
    return ok;
}

static int testnet_init(int argc, char **argv)
{
    static const struct option opts[] = {{"validators", required_argument, NULL, 'n'},
                                         {"home", required_argument, NULL, 'H'},
                                         {"chain-id", required_argument, NULL, 'c'},
                                         {"cometbft", required_argument, NULL, 'C'},
                                         CLI_KEY_EPOCH_LONG_OPTIONS,
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *home = NULL, *chain = DEFAULT_CHAIN, *cmt_given = NULL;
    uint64_t n = 4, epoch_blocks = 10000, grace_blocks = 0;
    int c, rc;
    while ((c = getopt_long(argc, argv, "n:H:c:C:h", opts, NULL)) != -1) {
        if ((rc = cli_key_epoch_option(c, optarg, &epoch_blocks, &grace_blocks)) !=
            CLI_TRUST_NOT_MINE) {
            if (rc != 0) return rc;
            continue;
        }
        switch (c) {
        case 'n':
            if (!cli_parse_u64(optarg, MAX_VALIDATORS, &n) || n == 0)
                return cli_usage_error("--validators must be 1..%d", MAX_VALIDATORS);
            break;
        case 'H': home = optarg; break;
        case 'c': chain = optarg; break;
        case 'C': cmt_given = optarg; break;
        case 'h':
            printf("usage: veil testnet init --home DIR [--validators N] [--chain-id ID]\n"
                   "                         [--cometbft PATH] [--key-epoch-blocks N]\n"
                   "                         [--key-grace-blocks N]\n\n"
                   "Writes a testnet of N validators (default 4, at most %d) on this machine:\n"
                   "per validator DIR/vI/ a simulated platform (one shared provisioning\n"
                   "authority in DIR/authority), a TVE store, a node store and a CometBFT home;\n"
                   "one genesis naming every validator with Veil's app_state; persistent peers\n"
                   "and free ports on 127.0.0.1; DIR/%s. v0 is the designated validator: its\n"
                   "TVE draws the chain's key now, and the genesis carries its commitment; the\n"
                   "others' TVEs start without the key and obtain it through their TDBEs. The\n"
                   "genesis funds two wallet accounts (DIR/wallets holds their seeds and a\n"
                   "wallet configuration per member) and stakes an operator account per\n"
                   "validator (DIR/vI/operator.seed) and %d for nodes added later\n"
                   "(DIR/operators): each member's TDBE binds its enclave key to its account\n"
                   "by a node join, and TDBEs serve the key only to such members. Node joins\n"
                   "accept this build's TDBE signer, verified against DIR/authority's\n"
                   "collateral (docs/testnet.md).\n"
                   "  --cometbft PATH  the cometbft binary (default: $VEIL_COMETBFT, the\n"
                   "                   project's .deps/bin/cometbft, else cometbft on PATH)\n"
                   "  --key-epoch-blocks N  blocks between key rotations (default 10000)\n"
                   "  --key-grace-blocks N  blocks a new key waits before use, and the old one\n"
                   "                   stays accepted after (default: a quarter of an epoch;\n"
                   "                   docs/key-epochs.md)\n",
                   MAX_VALIDATORS, TESTNET_FILE, TESTNET_SPARES);
            return 0;
        default: return cli_bad_option("testnet init", argv);
        }
    }
    if (home == NULL || optind != argc) return cli_usage_error("testnet init needs --home DIR");
    if ((rc = cli_key_epoch_check(epoch_blocks, &grace_blocks)) != 0) return rc;
    if (strlen(home) > HOME_MAX) return cli_usage_error("--home: at most %d bytes", HOME_MAX);
    char cmt[PATH_MAX], veil[PATH_MAX], path[PATH_MAX + 64], log[PATH_MAX + 64];
    cometbft_path(cmt_given, cmt, sizeof cmt);
    self_exe(veil, sizeof veil);
    pf(path, sizeof path, "%s/%s", home, TESTNET_FILE);
    if (exists(path)) {
        fprintf(stderr, "veil: testnet init: %s already holds a testnet (%s)\n", home, path);
        return 1;
    }
    if (veil_mkdir_p(home, 0700) != VEIL_OK) return cli_fail(home, VEIL_ERR_IO);
    pf(log, sizeof log, "%s/init.log", home);
    char out[8192], authority[PATH_MAX + 16];
    pf(authority, sizeof authority, "%s/authority", home);
    val v[MAX_VALIDATORS];
    memset(v, 0, sizeof v);
    rc = 1;
    json_t *genesis = NULL, *manifest = NULL;
    char commitment[65] = "";
    for (size_t i = 0; i < n; i++) {
        char plat[PATH_MAX + 32];
        if (!member_create(home, i, cmt, authority, log, &v[i])) goto out;
        pf(plat, sizeof plat, "%s/platform", v[i].dir);
        if (i == 0) {
            /* The designated validator's TVE draws the chain's key before genesis. */
            char tvehome[PATH_MAX + 16];
            pf(tvehome, sizeof tvehome, "%s/tve", v[0].dir);
            char *key_argv[] = {veil,  "tve",   "init-key", "--home", tvehome, "--chain-id",
                                (char *)chain, "--platform", plat, NULL};
            if (run_capture(key_argv, out, sizeof out, log) != 0 ||
                strncmp(out, "key_commitment ", 15) != 0 || strlen(out) < 15 + 64) {
                fprintf(stderr, "veil: testnet init: the designated TVE could not draw the "
                                "key (%s)\n",
                        log);
                goto out;
            }
            memcpy(commitment, out + 15, 64);
            commitment[64] = '\0';
        }
    }
    /* One genesis: v0's, every validator, Veil's app_state. */
    pf(path, sizeof path, "%s/cometbft/config/genesis.json", v[0].dir);
    genesis = json_load_file(path, 0, NULL);
    if (!json_is_object(genesis)) {
        fprintf(stderr, "veil: testnet init: %s does not parse\n", path);
        goto out;
    }
    json_t *vals = json_array();
    for (size_t i = 0; i < n; i++) {
        char name[16];
        pf(name, sizeof name, "v%zu", i);
        json_array_append_new(vals, json_pack("{s:O, s:s, s:s}", "pub_key", v[i].pub_key, "power",
                                              "10", "name", name));
    }
    json_object_set_new(genesis, "validators", vals);
    json_object_set_new(genesis, "chain_id", json_string(chain));
    json_t *accounts = json_array(), *pins = tdbe_pins(), *coll = NULL;
    char coll_path[PATH_MAX + 32];
    pf(coll_path, sizeof coll_path, "%s/collateral.json", authority);
    coll = json_load_file(coll_path, 0, NULL);
    if (!accounts_create(home, v, n, accounts) || pins == NULL || !json_is_object(coll)) {
        if (coll == NULL || pins == NULL)
            fprintf(stderr, "veil: testnet init: cannot read %s or the TDBE image\n", coll_path);
        json_decref(accounts);
        json_decref(pins);
        json_decref(coll);
        goto out;
    }
    /* Node joins bind a TDBE (this signer's product 3) whose quote verifies against the
     * testnet authority's collateral. */
    char epochs[24], grace[24];
    pf(epochs, sizeof epochs, "%llu", (unsigned long long)epoch_blocks);
    pf(grace, sizeof grace, "%llu", (unsigned long long)grace_blocks);
    json_object_set_new(
        genesis, "app_state",
        json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}, s:o, s:[], s:s}", "params",
                  "fee_rule", "at_least", "fee_base", "1000", "fee_per_byte", "1",
                  "unbonding_period", "86400", "key_epoch_blocks", epochs, "key_grace_blocks",
                  grace, "accepted_enclaves", pins, "attestation_collateral", coll, "accounts",
                  accounts, "outputs", "key_commitment", commitment));
    char peers[MAX_VALIDATORS * 96] = "";
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(peers);
        pf(peers + l, sizeof peers - l, "%s%s@127.0.0.1:%d", i ? "," : "", v[i].node_id,
                 v[i].p2p);
    }
    manifest = json_pack("{s:i, s:s, s:s, s:[]}", "version", 1, "chain_id", chain, "cometbft",
                         cmt, "validators");
    for (size_t i = 0; i < n; i++) {
        pf(path, sizeof path, "%s/cometbft/config/genesis.json", v[i].dir);
        if (json_dump_file(genesis, path, JSON_INDENT(2)) != 0) {
            fprintf(stderr, "veil: testnet init: cannot write %s\n", path);
            goto out;
        }
        char name[16];
        pf(name, sizeof name, "v%zu", i);
        if (!member_configure(&v[i], name, peers)) goto out;
        json_array_append_new(json_object_get(manifest, "validators"),
                              json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:b}", "dir",
                                        v[i].dir, "node_id", v[i].node_id, "rpc_port", v[i].rpc,
                                        "p2p_port", v[i].p2p, "tdbe_port", v[i].tdbe, "tqe_port",
                                        v[i].tqe, "validator", 1));
        if (!wallet_config_write(home, &v[i], name)) goto out;
    }
    pf(path, sizeof path, "%s/%s", home, TESTNET_FILE);
    if (json_dump_file(manifest, path, JSON_INDENT(2)) != 0) {
        fprintf(stderr, "veil: testnet init: cannot write %s\n", path);
        goto out;
    }
    printf("testnet %s: %zu validators in %s (chain key held by v0, commitment %.16s...)\n", chain,
           (size_t)n, home, commitment);
    for (size_t i = 0; i < n; i++)
        printf("  v%zu  rpc http://127.0.0.1:%d  p2p 127.0.0.1:%d  %s\n", i, v[i].rpc, v[i].p2p,
               v[i].dir);
    printf("start it with: veil testnet start --home %s\n", home);
    rc = 0;
out:
    for (size_t i = 0; i < n; i++) json_decref(v[i].pub_key);
    json_decref(genesis);
    json_decref(manifest);
    return rc;
}

static json_t *manifest_load(const char *home)
{
    char path[PATH_MAX + 32];
    pf(path, sizeof path, "%s/%s", home, TESTNET_FILE);
    json_error_t e;
    json_t *m = json_load_file(path, 0, &e);
    if (!json_is_object(m) || !json_is_array(json_object_get(m, "validators"))) {
        fprintf(stderr, "veil: testnet: %s: %s (run 'veil testnet init --home %s' first)\n", path,
                m == NULL ? e.text : "not a testnet manifest", home);
        json_decref(m);
        return NULL;
    }
    return m;
}

/* The arguments of the subcommands that work on an existing testnet: --home DIR (and
 * --json where json is not NULL). The manifest, or NULL with the exit status in *rc (0
 * after --help). */
/* --home DIR [--json, if json is not NULL] [--validator, if validator is not NULL]. */
static json_t *home_args(int argc, char **argv, const char *sub, const char *help,
                         const char **home, bool *json, bool *validator, int *rc)
{
    static const struct option opts[] = {{"home", required_argument, NULL, 'H'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"validator", no_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char name[32];
    snprintf(name, sizeof name, "testnet %s", sub);
    *home = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "H:jVh", opts, NULL)) != -1) {
        switch (c) {
        case 'H': *home = optarg; break;
        case 'V':
            if (validator == NULL) return *rc = cli_bad_option(name, argv), NULL;
            *validator = true;
            break;
        case 'j':
            if (json == NULL) return *rc = cli_bad_option(name, argv), NULL;
            *json = true;
            break;
        case 'h': fputs(help, stdout); return *rc = 0, NULL;
        default: return *rc = cli_bad_option(name, argv), NULL;
        }
    }
    if (*home == NULL || optind != argc)
        return *rc = cli_usage_error("%s needs --home DIR", name), NULL;
    if (strlen(*home) > HOME_MAX)
        return *rc = cli_usage_error("--home: at most %d bytes", HOME_MAX), NULL;
    json_t *m = manifest_load(*home);
    if (m == NULL) *rc = 1;
    return m;
}

/* --- add-node -------------------------------------------------------------------- */
static int testnet_add_node(int argc, char **argv)
{
    static const char help[] =
        "usage: veil testnet add-node --home DIR [--validator]\n\n"
        "Adds a full node (not a validator in the genesis) to the testnet: its own\n"
        "platform, TVE, node and CometBFT home with the testnet's genesis and its\n"
        "validators as peers, and one of the operator accounts the genesis staked for\n"
        "added nodes (DIR/operators). It catches up by CometBFT's block sync; its TDBE\n"
        "joins the operator account (a node join) and then fetches the chain's key\n"
        "from the validators' TDBEs (docs/testnet.md). A running 'veil testnet start'\n"
        "notices the new member and starts it; otherwise the next start runs it.\n"
        "  --validator  the node join also names the node's CometBFT consensus key:\n"
        "               once it commits, the node is a validator with power\n"
        "               bonded / 100 (10 for an operator account of the testnet)\n";
    const char *home;
    int rc;
    bool promote = false;
    json_t *m = home_args(argc, argv, "add-node", help, &home, NULL, &promote, &rc);
    if (m == NULL) return rc;
    json_t *members = json_object_get(m, "validators");
    size_t i = json_array_size(members);
    const char *cmt = json_string_value(json_object_get(m, "cometbft"));
    rc = 1;
    val v;
    memset(&v, 0, sizeof v);
    if (i >= MAX_VALIDATORS || cmt == NULL) {
        fprintf(stderr, "veil: testnet add-node: at most %d members\n", MAX_VALIDATORS);
        goto out;
    }
    char log[PATH_MAX + 32], authority[PATH_MAX + 16], path[PATH_MAX + 64], name[16];
    char peers[MAX_VALIDATORS * 96] = "";
    pf(log, sizeof log, "%s/init.log", home);
    pf(authority, sizeof authority, "%s/authority", home);
    pf(name, sizeof name, "v%zu", i);
    for (size_t k = 0; k < i; k++) {
        json_t *o = json_array_get(members, k);
        size_t l = strlen(peers);
        pf(peers + l, sizeof peers - l, "%s%s@127.0.0.1:%lld", k ? "," : "",
           json_string_value(json_object_get(o, "node_id")),
           (long long)json_integer_value(json_object_get(o, "p2p_port")));
    }
    if (!member_create(home, i, cmt, authority, log, &v)) goto out;
    /* Its operator account: the first spare the genesis staked (its TDBE joins it). */
    char spare[PATH_MAX + 64], op[PATH_MAX + 32];
    bool have_spare = false;
    pf(op, sizeof op, "%s/operator.seed", v.dir);
    for (int k = 0; k < TESTNET_SPARES && !have_spare; k++) {
        pf(spare, sizeof spare, "%s/operators/spare%d.seed", home, k);
        have_spare = rename(spare, op) == 0;
    }
    if (!have_spare) {
        fprintf(stderr, "veil: testnet add-node: no staked operator account left in "
                        "%s/operators (the genesis staked %d for added nodes)\n",
                home, TESTNET_SPARES);
        goto out;
    }
    /* The testnet's genesis, as every member has it. */
    const char *v0 = json_string_value(json_object_get(json_array_get(members, 0), "dir"));
    char src[PATH_MAX + 64];
    pf(src, sizeof src, "%s/cometbft/config/genesis.json", v0);
    pf(path, sizeof path, "%s/cometbft/config/genesis.json", v.dir);
    char *g = NULL;
    if (veil_file_read_text(src, 1 << 20, &g, NULL) != VEIL_OK ||
        veil_file_write_atomic(path, g, strlen(g), 0644) != VEIL_OK) {
        free(g);
        fprintf(stderr, "veil: testnet add-node: cannot copy %s\n", src);
        goto out;
    }
    free(g);
    if (!member_configure(&v, name, peers)) goto out;
    json_array_append_new(members,
                          json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:b, s:b}", "dir", v.dir,
                                    "node_id", v.node_id, "rpc_port", v.rpc, "p2p_port", v.p2p,
                                    "tdbe_port", v.tdbe, "tqe_port", v.tqe, "validator", 0,
                                    "join_as_validator", promote));
    if (!wallet_config_write(home, &v, name)) goto out;
    pf(path, sizeof path, "%s/%s", home, TESTNET_FILE);
    /* Atomically: a running `start` reads it to start the new member. */
    char *text = json_dumps(m, JSON_INDENT(2));
    veil_status wst = text != NULL ? veil_file_write_atomic(path, text, strlen(text), 0644)
                                   : VEIL_ERR_NOMEM;
    free(text);
    if (wst != VEIL_OK) {
        fprintf(stderr, "veil: testnet add-node: cannot write %s\n", path);
        goto out;
    }
    printf("full node %s added%s: rpc http://127.0.0.1:%d  p2p 127.0.0.1:%d  %s\n", name,
           promote ? " (joins as a validator)" : "", v.rpc, v.p2p, v.dir);
    rc = 0;
out:
    json_decref(v.pub_key);
    json_decref(m);
    return rc;
}

/* --- start ----------------------------------------------------------------------------- */
static volatile sig_atomic_t g_stop;
static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static pid_t spawn_logged(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static bool wait_path(const char *p, pid_t pid)
{
    for (int i = 0; i < 600 && !g_stop; i++) {
        if (exists(p)) return true;
        if (waitpid(pid, NULL, WNOHANG) == pid) return false;
        usleep(50000);
    }
    return false;
}

/* One member's processes: TVE, node, CometBFT, TDBE, TQE (started in that order). */
#define MEMBER_PROCS 5
typedef struct member {
    char dir[PATH_MAX];
    const char *collateral;
    char tdbe_listen[32], tqe_listen[32], rpc_url[64], operator_key[PATH_MAX + 16];
    char validator_key[PATH_MAX + 48]; /* "" unless it joins as a validator */
    char tdbe_rpc[64]; /* the RPC its TDBE reads: an added node's own lags behind */
    char *tdbe_argv[32 + 2 * MAX_VALIDATORS]; /* options (at most 26 words), peers, NULL */
    char peers[MAX_VALIDATORS][32];
    pid_t pid[MEMBER_PROCS];
    time_t restarts[3]; /* when the last three restarts happened */
} member;

static const char *const g_proc_name[MEMBER_PROCS] = {"TVE", "node", "CometBFT", "TDBE", "TQE"};

static void member_stop(member *m)
{
    /* The operator's order: the TQE, the TDBE, CometBFT, the node, the TVE. */
    for (int k = MEMBER_PROCS - 1; k >= 0; k--)
        if (m->pid[k] > 0) {
            /* A process that does not stop within 15 s is killed: the testnet must not
             * hang on one member. */
            kill(m->pid[k], SIGTERM);
            int waited = 0;
            while (waitpid(m->pid[k], NULL, WNOHANG) == 0) {
                if (++waited == 300) {
                    fprintf(stderr, "veil: testnet: %s of %s did not stop in 15 s; killing it\n",
                            g_proc_name[k], m->dir);
                    kill(m->pid[k], SIGKILL);
                    waitpid(m->pid[k], NULL, 0);
                    break;
                }
                usleep(50000);
            }
            m->pid[k] = 0;
        }
}

/* The light clients' trust root (docs/light-client.md): block 1's hash as v0's RPC
 * reports it, the testnet operator's own node. Known before any TDBE starts. */
static char g_trust_hash[65];

/* Waits (while not stopped, up to 120 s) for block 1 on rpc and records its hash. */
static bool trust_root_fetch(const char *rpc)
{
    for (int i = 0; i < 600 && !g_stop; i++) {
        if (veil_rpc_block_hash(rpc, 1, 2000, g_trust_hash) == VEIL_OK) return true;
        usleep(200000);
    }
    fprintf(stderr, "veil: testnet: no block 1 on %s: the light clients have no trust root\n", rpc);
    return false;
}

static bool member_start_services(member *m, const char *veil);

/* A member's chain processes (TVE, node, CometBFT); then, once the trust root is known,
 * its TDBE and TQE. */
static bool member_start_chain(member *m, const char *veil, const char *cmt);
static bool member_start(member *m, const char *veil, const char *cmt)
{
    return member_start_chain(m, veil, cmt) && member_start_services(m, veil);
}

static bool member_start_chain(member *m, const char *veil, const char *cmt)
{
    char ep[PATH_MAX + 32], sock[PATH_MAX + 32], abci[PATH_MAX + 32], abci_sock[PATH_MAX + 32],
        tvehome[PATH_MAX + 16], nodehome[PATH_MAX + 16], plat[PATH_MAX + 16],
        cmthome[PATH_MAX + 16], log[PATH_MAX + 32];
    pf(sock, sizeof sock, "%s/tve.sock", m->dir);
    pf(ep, sizeof ep, "ipc://%s", sock);
    pf(abci_sock, sizeof abci_sock, "%s/abci.sock", m->dir);
    pf(abci, sizeof abci, "unix://%s", abci_sock);
    pf(tvehome, sizeof tvehome, "%s/tve", m->dir);
    pf(nodehome, sizeof nodehome, "%s/node", m->dir);
    pf(plat, sizeof plat, "%s/platform", m->dir);
    pf(cmthome, sizeof cmthome, "%s/cometbft", m->dir);
    unlink(sock);
    unlink(abci_sock);
    pf(log, sizeof log, "%s/tve.log", m->dir);
    char *tve_argv[] = {(char *)veil, "tve", "--listen", ep, "--home", tvehome, "--platform",
                        plat, "--threads", "1", "--log", "errors", NULL};
    m->pid[0] = spawn_logged(tve_argv, log);
    if (!wait_path(sock, m->pid[0])) return false;
    pf(log, sizeof log, "%s/node.log", m->dir);
    char *node_argv[] = {(char *)veil, "node", "--home", nodehome, "--abci", abci, "--tve", ep,
                         NULL};
    m->pid[1] = spawn_logged(node_argv, log);
    if (!wait_path(abci_sock, m->pid[1])) return false;
    pf(log, sizeof log, "%s/cometbft.log", m->dir);
    char *cmt_argv[] = {(char *)cmt, "start", "--home", cmthome, NULL};
    m->pid[2] = spawn_logged(cmt_argv, log);
    return m->pid[2] > 0;
}

static bool member_start_services(member *m, const char *veil)
{
    char ep[PATH_MAX + 32], plat[PATH_MAX + 16], log[PATH_MAX + 32];
    pf(ep, sizeof ep, "ipc://%s/tve.sock", m->dir);
    pf(plat, sizeof plat, "%s/platform", m->dir);
    /* The TDBE: serves the chain's key to the other members' TDBEs and, while this
     * member's TVE waits for it, fetches it from them (docs/tdbe.md). */
    char tdbehome[PATH_MAX + 16];
    pf(tdbehome, sizeof tdbehome, "%s/tdbe", m->dir);
    pf(log, sizeof log, "%s/tdbe.log", m->dir);
    size_t a = 0;
    char **av = m->tdbe_argv;
    av[a++] = (char *)veil;
    av[a++] = "tdbe";
    av[a++] = "--listen";
    av[a++] = m->tdbe_listen;
    av[a++] = "--tve";
    av[a++] = ep;
    av[a++] = "--home";
    av[a++] = tdbehome;
    av[a++] = "--platform";
    av[a++] = plat;
    av[a++] = "--collateral";
    av[a++] = (char *)m->collateral;
    av[a++] = "--retry";
    av[a++] = "1";
    av[a++] = "--rpc";
    av[a++] = m->tdbe_rpc;
    av[a++] = "--operator-key";
    av[a++] = m->operator_key;
    av[a++] = "--trust-height";
    av[a++] = "1";
    av[a++] = "--trust-hash";
    av[a++] = g_trust_hash;
    if (m->validator_key[0]) {
        av[a++] = "--validator-key";
        av[a++] = m->validator_key;
    }
    for (size_t i = 0; i < MAX_VALIDATORS && m->peers[i][0]; i++) {
        av[a++] = "--peer";
        av[a++] = m->peers[i];
    }
    av[a] = NULL;
    m->pid[3] = spawn_logged(av, log);
    if (m->pid[3] <= 0) return false;
    /* The TQE wallets use through this member (DIR/wallets/vI.config.json). */
    char tqehome[PATH_MAX + 16];
    pf(tqehome, sizeof tqehome, "%s/tqe", m->dir);
    pf(log, sizeof log, "%s/tqe.log", m->dir);
    /* Its light client proves every order's chain state; the same trust root. */
    char *tqe_argv[] = {(char *)veil,   "tqe",          "--listen", m->tqe_listen,
                        "--tve",        ep,             "--home",   tqehome,
                        "--rpc",        m->rpc_url,     "--platform", plat,
                        "--trust-height", "1",          "--trust-hash", g_trust_hash,
                        NULL};
    m->pid[4] = spawn_logged(tqe_argv, log);
    return m->pid[4] > 0;
}

/* Member i of the manifest's list: its directory, ports and the others' TDBEs. Says
 * what is wrong on stderr. */
static bool member_load(member *mm, json_t *vals, size_t i, const char *collateral)
{
    json_t *o = json_array_get(vals, i);
    const char *dir = json_string_value(json_object_get(o, "dir"));
    if (dir == NULL) {
        fprintf(stderr, "veil: testnet: member %zu has no directory\n", i);
        return false;
    }
    if (json_integer_value(json_object_get(o, "tdbe_port")) <= 0 ||
        json_integer_value(json_object_get(o, "tqe_port")) <= 0) {
        fprintf(stderr, "veil: testnet: member %zu has no tdbe_port or tqe_port (a testnet made "
                        "by an older veil: run 'veil testnet init' again)\n", i);
        return false;
    }
    pf(mm->dir, sizeof mm->dir, "%s", dir);
    pf(mm->operator_key, sizeof mm->operator_key, "%s/operator.seed", dir);
    mm->validator_key[0] = '\0';
    /* A genesis validator's TDBE reads its own node; an added node's, which catches up
     * by block sync, reads v0's: its own node cannot relay the join, nor answer state
     * queries, while it waits at a block with confidential txs for the key the TDBE
     * is to fetch. What the TDBE reads it verifies (its light client), whoever serves
     * it. */
    bool genesis_validator = !json_is_false(json_object_get(o, "validator"));
    pf(mm->tdbe_rpc, sizeof mm->tdbe_rpc, "http://127.0.0.1:%lld",
       (long long)json_integer_value(json_object_get(
           json_array_get(vals, genesis_validator ? i : 0), "rpc_port")));
    if (json_is_true(json_object_get(o, "join_as_validator")))
        pf(mm->validator_key, sizeof mm->validator_key,
           "%s/cometbft/config/priv_validator_key.json", dir);
    mm->collateral = collateral;
    pf(mm->tdbe_listen, sizeof mm->tdbe_listen, "127.0.0.1:%lld",
       (long long)json_integer_value(json_object_get(o, "tdbe_port")));
    pf(mm->tqe_listen, sizeof mm->tqe_listen, "127.0.0.1:%lld",
       (long long)json_integer_value(json_object_get(o, "tqe_port")));
    pf(mm->rpc_url, sizeof mm->rpc_url, "http://127.0.0.1:%lld",
       (long long)json_integer_value(json_object_get(o, "rpc_port")));
    memset(mm->peers, 0, sizeof mm->peers);
    for (size_t k = 0, p = 0; k < json_array_size(vals) && k < MAX_VALIDATORS; k++)
        if (k != i)
            pf(mm->peers[p++], sizeof mm->peers[0], "127.0.0.1:%lld",
               (long long)json_integer_value(
                   json_object_get(json_array_get(vals, k), "tdbe_port")));
    return true;
}

static void stop_members(member *ms, size_t n)
{
    for (size_t i = n; i-- > 0;) member_stop(&ms[i]);
}

static int testnet_start(int argc, char **argv)
{
    static const char help[] =
        "usage: veil testnet start --home DIR\n\n"
        "Runs the testnet 'veil testnet init' wrote: per member its TVE, node,\n"
        "CometBFT, TDBE and TQE, each logging to DIR/vI/<process>.log, until SIGINT\n"
        "or SIGTERM (then they stop in the reverse order). A\n"
        "member whose process exits (a crash, a kill -9) is restarted whole, and\n"
        "catches up; the others run on. A member that needs a fourth restart within\n"
        "a minute stops the testnet (exit status 1).\n";
    const char *home;
    int rc;
    json_t *m = home_args(argc, argv, "start", help, &home, NULL, NULL, &rc);
    if (m == NULL) return rc;
    const char *cmt = json_string_value(json_object_get(m, "cometbft"));
    json_t *vals = json_object_get(m, "validators");
    size_t n = json_array_size(vals), nv = 0;
    char veil[PATH_MAX];
    self_exe(veil, sizeof veil);
    member ms[MAX_VALIDATORS];
    memset(ms, 0, sizeof ms);
    if (cmt == NULL || n == 0 || n > MAX_VALIDATORS) {
        fprintf(stderr, "veil: testnet: %s/%s is not a testnet manifest\n", home, TESTNET_FILE);
        json_decref(m);
        return 1;
    }
    char collateral[PATH_MAX + 32], manifest[PATH_MAX + 32];
    pf(collateral, sizeof collateral, "%s/authority/collateral.json", home);
    pf(manifest, sizeof manifest, "%s/%s", home, TESTNET_FILE);
    for (size_t i = 0; i < n; i++) {
        if (!member_load(&ms[i], vals, i, collateral)) {
            json_decref(m);
            return 1;
        }
        if (!json_is_false(json_object_get(json_array_get(vals, i), "validator"))) nv++;
    }
    struct stat mst;
    struct timespec manifest_mtime = {0, 0};
    if (stat(manifest, &mst) == 0) manifest_mtime = mst.st_mtim;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = 0;
    /* The chains first; the TDBEs' light clients need block 1 as their trust root. */
    for (size_t i = 0; i < n && !g_stop; i++)
        if (!member_start_chain(&ms[i], veil, cmt)) {
            fprintf(stderr, "veil: testnet: v%zu did not start (logs in %s/)\n", i, ms[i].dir);
            rc = 1;
            g_stop = 1;
        }
    if (rc == 0 && !g_stop && !trust_root_fetch(ms[0].rpc_url)) {
        rc = 1;
        g_stop = 1;
    }
    for (size_t i = 0; i < n && !g_stop; i++)
        if (!member_start_services(&ms[i], veil)) {
            fprintf(stderr, "veil: testnet: v%zu did not start (logs in %s/)\n", i, ms[i].dir);
            rc = 1;
            g_stop = 1;
        }
    if (rc == 0 && !g_stop) {
        printf("testnet running: %zu validators, %zu full nodes (home %s); 'veil testnet status "
               "--home %s'; Ctrl-C stops it\n",
               nv, n - nv, home, home);
        fflush(stdout);
    }
    while (!g_stop) {
        /* Members added while running (veil testnet add-node): start them. */
        if (stat(manifest, &mst) == 0 && (mst.st_mtim.tv_sec != manifest_mtime.tv_sec ||
                                          mst.st_mtim.tv_nsec != manifest_mtime.tv_nsec)) {
            json_t *m2 = json_load_file(manifest, 0, NULL);
            /* Half written: look again next time. */
            if (m2 != NULL) manifest_mtime = mst.st_mtim;
            json_t *vals2 = json_object_get(m2, "validators");
            for (size_t i = n; i < json_array_size(vals2) && i < MAX_VALIDATORS && !g_stop; i++) {
                if (!member_load(&ms[i], vals2, i, collateral)) break;
                n = i + 1;
                printf("member v%zu added: starting it\n", i);
                fflush(stdout);
                if (!member_start(&ms[i], veil, cmt)) {
                    fprintf(stderr, "veil: testnet: v%zu did not start (logs in %s/)\n", i,
                            ms[i].dir);
                    rc = 1;
                    g_stop = 1;
                }
            }
            json_decref(m2);
        }
        for (size_t i = 0; i < n && !g_stop; i++)
            for (int k = 0; k < MEMBER_PROCS; k++) {
                int status;
                if (ms[i].pid[k] <= 0 || waitpid(ms[i].pid[k], &status, WNOHANG) != ms[i].pid[k])
                    continue;
                ms[i].pid[k] = 0;
                time_t now = time(NULL);
                bool too_many = ms[i].restarts[2] != 0 && now - ms[i].restarts[2] < 60;
                fprintf(stderr, "veil: testnet: v%zu's %s exited (%s %d)%s\n", i,
                        g_proc_name[k], WIFEXITED(status) ? "status" : "signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                        too_many ? "; a fourth restart within a minute: stopping the testnet"
                                 : "; restarting it");
                if (too_many) {
                    rc = 1;
                    g_stop = 1;
                    break;
                }
                member_stop(&ms[i]);
                ms[i].restarts[2] = ms[i].restarts[1];
                ms[i].restarts[1] = ms[i].restarts[0];
                ms[i].restarts[0] = now;
                if (!member_start(&ms[i], veil, cmt) && !g_stop) {
                    fprintf(stderr, "veil: testnet: v%zu did not restart (logs in %s/)\n", i,
                            ms[i].dir);
                    rc = 1;
                    g_stop = 1;
                }
                break;
            }
        usleep(200000);
    }
    stop_members(ms, n);
    json_decref(m);
    if (rc == 0) printf("testnet stopped\n");
    return rc;
}

/* --- status ---------------------------------------------------------------------------- */
/* The identity an enclave service's attested-TLS certificate (DIR/<rel>) proves,
 * verified against the testnet's collateral now and pinned to the signer and product
 * of this veil's `image`: {mrenclave, mrsigner, prodid, svn, tcb} or {error}. */
static json_t *cert_identity(const attest_collateral *coll, const char *dir, const char *rel,
                             const char *image)
{
    char img[PATH_MAX];
    tee_identity want;
    if (veil_enclave_image_path(image, img, sizeof img) != VEIL_OK ||
        tee_image_identity(img, &want) != VEIL_OK)
        return json_pack("{s:s}", "error", "cannot read this veil's enclave image");
    char path[PATH_MAX + 64], mre[65], mrs[65];
    pf(path, sizeof path, "%s/%s", dir, rel);
    uint8_t *der = NULL;
    size_t len = 0;
    if (veil_file_read(path, 64 * 1024, &der, &len) != VEIL_OK)
        return json_pack("{s:s}", "error", "no certificate yet (not started?)");
    ratls_policy p = {0};
    dcap_policy_default(&p.tcb);
    p.mrsigner = want.mrsigner;
    p.has_prodid = 1;
    p.prodid = want.prodid;
    p.has_min_svn = 1;
    p.min_svn = 0; /* shown, not judged */
    p.allow_debug = true;
    p.collateral = coll;
    attest_claims c;
    veil_status st = coll != NULL ? ratls_verify_cert_der(der, len, &p, time(NULL), &c)
                                  : VEIL_ERR_TEE_COLLATERAL;
    free(der);
    if (st != VEIL_OK) {
        char e[512];
        pf(e, sizeof e, "certificate does not verify: %s (%s)", veil_status_name(st),
           veil_error_detail());
        return json_pack("{s:s}", "error", e);
    }
    veil_hex_encode(mre, c.body.identity.mrenclave, 32);
    veil_hex_encode(mrs, c.body.identity.mrsigner, 32);
    return json_pack("{s:s, s:s, s:i, s:i, s:b, s:s}", "mrenclave", mre, "mrsigner", mrs,
                     "prodid", (int)c.body.identity.prodid, "svn", (int)c.body.identity.svn,
                     "debug", (c.body.identity.attributes & TEE_ATTR_DEBUG) != 0, "tcb",
                     dcap_tcb_status_name(c.tcb_status));
}

static int testnet_status(int argc, char **argv)
{
    static const char help[] =
        "usage: veil testnet status --home DIR [--json]\n\n"
        "Asks each validator's RPC for its height, app hash, peers and whether it\n"
        "is catching up, and its TVE for its enclave identity and whether it holds\n"
        "the chain's key; shows the TDBE's and the TQE's enclave identities from\n"
        "their attested-TLS certificates, verified against the testnet's collateral.\n"
        "Exit status 0 if every validator answers, 1 if not.\n";
    const char *home;
    bool json = false;
    int rc;
    json_t *m = home_args(argc, argv, "status", help, &home, &json, NULL, &rc);
    if (m == NULL) return rc;
    json_t *vals = json_object_get(m, "validators"), *out = json_array();
    char coll_path[PATH_MAX + 32];
    pf(coll_path, sizeof coll_path, "%s/authority/collateral.json", home);
    attest_collateral *coll = NULL;
    if (attest_collateral_load(coll_path, &coll) != VEIL_OK) coll = NULL;
    rc = 0;
    for (size_t i = 0; i < json_array_size(vals); i++) {
        json_t *v = json_array_get(vals, i);
        char url[64];
        pf(url, sizeof url, "http://127.0.0.1:%lld",
                 (long long)json_integer_value(json_object_get(v, "rpc_port")));
        json_t *st = NULL, *ni = NULL, *row;
        veil_status s = veil_rpc_get(url, "status", 3000, 1 << 20, &st);
        if (s == VEIL_OK) s = veil_rpc_get(url, "net_info", 3000, 1 << 20, &ni);
        if (s != VEIL_OK) {
            row = json_pack("{s:s, s:s, s:s}", "validator", "", "rpc", url, "error",
                            veil_error_detail());
            rc = 1;
        } else {
            json_t *si = json_object_get(st, "sync_info");
            json_t *vp = json_object_get(json_object_get(st, "validator_info"), "voting_power");
            row = json_pack("{s:s, s:s, s:O, s:O, s:O, s:O, s:O}", "validator", "", "rpc", url,
                            "height", json_object_get(si, "latest_block_height"), "app_hash",
                            json_object_get(si, "latest_app_hash"), "catching_up",
                            json_object_get(si, "catching_up"), "peers",
                            json_object_get(ni, "n_peers"), "voting_power",
                            vp != NULL ? vp : json_string("0"));
        }
        char name[16], ep[PATH_MAX + 32];
        pf(name, sizeof name, "v%zu", i);
        json_object_set_new(row, "validator", json_string(name));
        json_object_set_new(row, "full_node", json_boolean(json_is_false(json_object_get(v, "validator"))));
        pf(ep, sizeof ep, "ipc://%s/tve.sock", json_string_value(json_object_get(v, "dir")));
        bool tve_ok;
        json_object_set_new(row, "tve", devnet_tve_status(ep, &tve_ok));
        if (!tve_ok) rc = 1;
        const char *dir = json_string_value(json_object_get(v, "dir"));
        json_object_set_new(row, "tdbe",
                            cert_identity(coll, dir, "tdbe/tdbe-cert.der", TDBE_ENCLAVE_IMAGE));
        json_object_set_new(row, "tqe",
                            cert_identity(coll, dir, "tqe/tqe-cert.der", TQE_ENCLAVE_IMAGE));
        json_array_append_new(out, row);
        json_decref(st);
        json_decref(ni);
    }
    if (json) {
        json_dumpf(out, stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        for (size_t i = 0; i < json_array_size(out); i++) {
            json_t *r = json_array_get(out, i);
            const char *err = json_string_value(json_object_get(r, "error"));
            if (err != NULL)
                printf("%-4s %s  not answering: %s\n",
                       json_string_value(json_object_get(r, "validator")),
                       json_string_value(json_object_get(r, "rpc")), err);
            else
                printf("%-4s %s  height %s  app hash %.16s...  peers %s  power %s%s%s\n",
                       json_string_value(json_object_get(r, "validator")),
                       json_string_value(json_object_get(r, "rpc")),
                       json_string_value(json_object_get(r, "height")),
                       json_string_value(json_object_get(r, "app_hash")),
                       json_string_value(json_object_get(r, "peers")),
                       json_string_value(json_object_get(r, "voting_power")),
                       json_is_true(json_object_get(r, "catching_up")) ? "  (catching up)" : "",
                       json_is_true(json_object_get(r, "full_node")) ? "  full node" : "");
            json_t *t = json_object_get(r, "tve");
            if (json_object_get(t, "error") != NULL)
                printf("     tve not answering: %s\n", json_string_value(json_object_get(t, "detail")));
            else
                printf("     tve mrenclave %.16s...  mrsigner %.16s...  svn %lld  %s\n",
                       json_string_value(json_object_get(t, "mrenclave")),
                       json_string_value(json_object_get(t, "mrsigner")),
                       (long long)json_integer_value(json_object_get(t, "svn")),
                       json_is_true(json_object_get(t, "holds_key")) ? "holds the chain's key"
                                                                     : "without the chain's key");
            for (int k = 0; k < 2; k++) {
                const char *what = k == 0 ? "tdbe" : "tqe";
                json_t *e = json_object_get(r, what);
                if (json_object_get(e, "error") != NULL)
                    printf("     %-4s %s\n", what, json_string_value(json_object_get(e, "error")));
                else
                    printf("     %-4s mrenclave %.16s...  mrsigner %.16s...  svn %lld  %s\n", what,
                           json_string_value(json_object_get(e, "mrenclave")),
                           json_string_value(json_object_get(e, "mrsigner")),
                           (long long)json_integer_value(json_object_get(e, "svn")),
                           json_string_value(json_object_get(e, "tcb")));
            }
        }
    }
    attest_collateral_free(coll);
    json_decref(out);
    json_decref(m);
    return rc;
}

int cmd_testnet(int argc, char **argv)
{
    static const cli_command sub[] = {
        {"init", testnet_init, "write a testnet of N validators under real CometBFT"},
        {"add-node", testnet_add_node, "add a full node that joins by block sync"},
        {"start", testnet_start, "run every validator's TVE, node and CometBFT"},
        {"status", testnet_status, "heights, app hashes and peers of every validator"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("veil testnet", sub, argc, argv);
}
