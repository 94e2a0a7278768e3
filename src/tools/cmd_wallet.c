/* veil wallet <command> — keys, balances and confidential payments (docs/wallet.md).
 *
 * Every command takes --wallet FILE (or $VEIL_WALLET), --json and --help; network
 * commands take --rpc URL and the TQE's address and attestation policy (--tqe,
 * --tqe-collateral, --tqe-mrsigner/--tqe-mrenclave, --tqe-prodid, --tqe-min-svn,
 * --tqe-accept-tcb, --tqe-attestation, --tqe-ias-root, --tqe-allow-debug). Defaults for those may come from
 * FILE.config.json. The passphrase comes from --passphrase-file, $VEIL_WALLET_PASSPHRASE
 * or a terminal prompt, never from the command line. Failure: exit 1 (2 for usage)
 * and one line "veil: wallet <command>: <reason>" on stderr.
 */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "chain/node_tx.h"
#include "hostutil/fileio.h"
#include "tools/cli.h"
#include "tools/cmd_wallet.h"
#include "tools/commands.h"
#include "wallet/bech32m.h"
#include "wallet/bip39.h"
#include "wallet/wallet.h"
#include "wallet/wallet_rpc.h"
#include "wallet/wallet_tqe_client.h"
#include "trusted/tqe/tqe_abi.h"

/* --- output and failure ------------------------------------------------------------ */
int wcli_fail(const wopts *o, veil_status st)
{
    if (o->json) {
        json_t *j = json_pack("{s:{s:i, s:s, s:s, s:s}}", "error", "code", (int)st, "name",
                              veil_status_name(st), "message", veil_status_str(st), "detail",
                              veil_error_detail());
        json_dumpf(j, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(j);
    }
    return cli_fail(o->cmd, st);
}

void wcli_emit(json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(j);
}

json_t *wcli_jamount(uint64_t v)
{
    char s[32];
    wallet_amount_format(s, sizeof s, v);
    return json_string(s);
}

json_t *wcli_jhex(const uint8_t *p, size_t n)
{
    char s[129];
    veil_hex_encode(s, p, n);
    return json_string(s);
}

/* --- passphrase ------------------------------------------------------------------- */
/* The terminal's settings while echo is off, so a signal (Ctrl-C at the prompt) can put
 * them back before the process dies: a shell must never be left without echo. */
static struct termios g_tty_saved;
static volatile sig_atomic_t g_tty_quiet;

static void on_prompt_signal(int sig)
{
    if (g_tty_quiet) tcsetattr(STDIN_FILENO, TCSANOW, &g_tty_saved);
    static const char nl = '\n';
    (void)!write(STDERR_FILENO, &nl, 1);
    signal(sig, SIG_DFL);
    raise(sig);
}

static veil_status prompt(const char *what, char *out, size_t cap)
{
    struct termios quiet;
    if (tcgetattr(STDIN_FILENO, &g_tty_saved) != 0) return VEIL_ERR_IO;
    quiet = g_tty_saved;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    struct sigaction sa = {0}, old_int, old_term, old_hup, old_quit;
    sa.sa_handler = on_prompt_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    sigaction(SIGQUIT, &sa, &old_quit);
    fprintf(stderr, "%s: ", what);
    fflush(stderr);
    g_tty_quiet = 1;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    char *r = fgets(out, (int)cap, stdin);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_tty_saved);
    g_tty_quiet = 0;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    fputc('\n', stderr);
    if (r == NULL) return VEIL_ERR_IO;
    out[strcspn(out, "\r\n")] = '\0';
    return VEIL_OK;
}

/* confirm: ask twice on a terminal (new wallets). */
veil_status wcli_passphrase_get(wopts *o, bool confirm)
{
    const char *env = getenv("VEIL_WALLET_PASSPHRASE");
    if (o->pass_file != NULL) {
        uint8_t *buf;
        size_t len;
        TRY(veil_file_read(o->pass_file, PASS_MAX - 1, &buf, &len));
        memcpy(o->passphrase, buf, len);
        o->passphrase[len] = '\0';
        sodium_memzero(buf, len);
        free(buf);
        o->passphrase[strcspn(o->passphrase, "\r\n")] = '\0'; /* first line */
    } else if (env != NULL) {
        ENSURE(strlen(env) < PASS_MAX, VEIL_ERR_TOO_LARGE);
        snprintf(o->passphrase, sizeof o->passphrase, "%s", env);
    } else if (isatty(STDIN_FILENO)) {
        TRY(prompt("wallet passphrase", o->passphrase, sizeof o->passphrase));
        if (confirm) {
            char again[PASS_MAX];
            TRY(prompt("repeat passphrase", again, sizeof again));
            bool same = strcmp(again, o->passphrase) == 0;
            sodium_memzero(again, sizeof again);
            if (!same) {
                veil_error_detail_set("the passphrases differ");
                return VEIL_ERR_ARG;
            }
        }
    } else {
        veil_error_detail_set("no passphrase: use --passphrase-file FILE, VEIL_WALLET_PASSPHRASE "
                              "or a terminal");
        return VEIL_ERR_USAGE;
    }
    if (confirm && o->passphrase[0] == '\0') {
        veil_error_detail_set("the passphrase must not be empty");
        return VEIL_ERR_ARG;
    }
    return VEIL_OK;
}

/* --- options ---------------------------------------------------------------------- */
enum {
    O_WALLET = 256, O_PASSFILE, O_RPC, O_TQE, O_TQE_COLLATERAL, O_TQE_MRSIGNER, O_TQE_MRENCLAVE,
    O_TQE_PRODID, O_TQE_MIN_SVN, O_TQE_ACCEPT_TCB, O_TQE_ATTESTATION, O_TQE_IAS_ROOT, O_MAX_FEE, O_TQE_DEBUG, O_JSON, O_PROGRESS, O_DECOYS,
    O_WORDS, O_HEX, O_WATCH_VIEW, O_WATCH_SPEND, O_SEED_WORDS, O_SEED_HEX, O_TO, O_TO_VIEW,
    O_AMOUNT, O_FEE, O_OFFLINE, O_EXPORT_VIEW, O_HELP
};

static const struct option long_opts[] = {
    {"wallet", required_argument, NULL, O_WALLET},
    {"passphrase-file", required_argument, NULL, O_PASSFILE},
    {"rpc", required_argument, NULL, O_RPC},
    {"tqe", required_argument, NULL, O_TQE},
    {"tqe-collateral", required_argument, NULL, O_TQE_COLLATERAL},
    {"tqe-mrsigner", required_argument, NULL, O_TQE_MRSIGNER},
    {"tqe-mrenclave", required_argument, NULL, O_TQE_MRENCLAVE},
    {"tqe-prodid", required_argument, NULL, O_TQE_PRODID},
    {"tqe-min-svn", required_argument, NULL, O_TQE_MIN_SVN},
    {"tqe-accept-tcb", required_argument, NULL, O_TQE_ACCEPT_TCB},
    {"tqe-attestation", required_argument, NULL, O_TQE_ATTESTATION},
    {"tqe-ias-root", required_argument, NULL, O_TQE_IAS_ROOT},
    {"tqe-allow-debug", no_argument, NULL, O_TQE_DEBUG},
    {"json", no_argument, NULL, O_JSON},
    {"progress", no_argument, NULL, O_PROGRESS},
    {"decoys", required_argument, NULL, O_DECOYS},
    {"words", no_argument, NULL, O_WORDS},
    {"hex", no_argument, NULL, O_HEX},
    {"watch-only-from", required_argument, NULL, O_WATCH_VIEW},
    {"spend-pubkey", required_argument, NULL, O_WATCH_SPEND},
    {"seed-words", required_argument, NULL, O_SEED_WORDS},
    {"seed-hex", required_argument, NULL, O_SEED_HEX},
    {"to", required_argument, NULL, O_TO},
    {"to-view", required_argument, NULL, O_TO_VIEW},
    {"amount", required_argument, NULL, O_AMOUNT},
    {"fee", required_argument, NULL, O_FEE},
    {"max-fee", required_argument, NULL, O_MAX_FEE},
    {"offline", no_argument, NULL, O_OFFLINE},
    {"export-view-secret", no_argument, NULL, O_EXPORT_VIEW},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

static const char common_help[] =
    "common options:\n"
    "  --wallet FILE            the wallet file (or $VEIL_WALLET)\n"
    "  --passphrase-file FILE   passphrase (first line); else $VEIL_WALLET_PASSPHRASE or a prompt\n"
    "  --json                   machine-readable output (errors too: {\"error\": ...})\n";
static const char rpc_help[] =
    "node options (defaults from FILE.config.json):\n"
    "  --rpc URL                the node's RPC (default http://127.0.0.1:26657)\n";
static const char tqe_help[] =
    "TQE options (defaults from FILE.config.json; nothing is sent to a TQE that fails them):\n"
    "  --tqe HOST:PORT          the TQE (attested TLS)\n"
    "  --tqe-attestation dcap|ias  how the TQE's quote is judged (default dcap): against\n"
    "                           collateral, or by an attestation service's signed report\n"
    "  --tqe-collateral PATH    (dcap) attestation collateral of the TQE's platform: a bundle\n"
    "                           file or a directory of Intel's QVL file names\n"
    "                           (docs/attestation.md)\n"
    "  --tqe-ias-root PEM       (ias) the attestation service's report-signing root\n"
    "  --tqe-mrsigner HEX       accepted enclave signer, with --tqe-prodid and --tqe-min-svn\n"
    "  --tqe-mrenclave HEX      accepted enclave measurement (pins one exact image)\n"
    "  --tqe-prodid N           accepted enclave product id (default: the TQE's, " TQE_PRODID_STR ")\n"
    "  --tqe-min-svn N          minimum enclave security version (default " TQE_SVN_STR ")\n"
    "  --tqe-accept-tcb LIST    TCB statuses accepted besides UpToDate, comma-separated:\n"
    "                           SWHardeningNeeded, ConfigurationNeeded,\n"
    "                           ConfigurationAndSWHardeningNeeded, OutOfDate,\n"
    "                           OutOfDateConfigurationNeeded (Revoked never)\n"
    "  --tqe-allow-debug        accept a debug enclave (development only)\n";

/* What a command talks to: its help lists only those options. */
#define NEEDS_RPC 1u
#define NEEDS_TQE 2u

typedef struct subcmd {
    const char *name;
    int (*run)(wopts *o);
    const char *usage;
    const char *summary;
    unsigned needs;      /* NEEDS_* */
    const char *options; /* the command's own options, explained */
} subcmd;

static bool copy_opt(char *dst, size_t cap, const char *v)
{
    if (strlen(v) >= cap) return false;
    snprintf(dst, cap, "%s", v);
    return true;
}

/* FILE.config.json: fills what the command line left empty. */
static veil_status config_load(wopts *o)
{
    char path[4096];
    snprintf(path, sizeof path, "%s.config.json", o->wallet);
    if (access(path, F_OK) != 0) return VEIL_OK;
    json_error_t je;
    json_t *c = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (c == NULL || !json_is_object(c)) {
        veil_error_detail_set("%s: line %d: %s", path, je.line, je.text);
        json_decref(c);
        return VEIL_ERR_MALFORMED;
    }
    struct {
        const char *key;
        char *dst;
        size_t cap;
    } strs[] = {{"rpc", o->rpc, sizeof o->rpc},
                {"tqe", o->tqe, sizeof o->tqe},
                {"tqe_collateral", o->tqe_collateral, sizeof o->tqe_collateral},
                {"tqe_accept_tcb", o->tqe_accept_tcb, sizeof o->tqe_accept_tcb},
                {"tqe_attestation", o->tqe_attestation, sizeof o->tqe_attestation},
                {"tqe_ias_root", o->tqe_ias_root, sizeof o->tqe_ias_root},
                {"tqe_mrsigner", o->tqe_mrsigner, sizeof o->tqe_mrsigner},
                {"tqe_mrenclave", o->tqe_mrenclave, sizeof o->tqe_mrenclave}};
    veil_status st = VEIL_OK;
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        json_t *v = json_object_get(c, strs[i].key);
        if (v == NULL || strs[i].dst[0] != '\0') continue;
        if (!json_is_string(v) || !copy_opt(strs[i].dst, strs[i].cap, json_string_value(v))) {
            veil_error_detail_set("%s: \"%s\" must be a short string", path, strs[i].key);
            st = VEIL_ERR_MALFORMED;
        }
    }
    json_t *v;
    if (o->tqe_prodid < 0 && json_is_integer(v = json_object_get(c, "tqe_prodid")))
        o->tqe_prodid = (long)json_integer_value(v);
    if (o->tqe_min_svn < 0 && json_is_integer(v = json_object_get(c, "tqe_min_svn")))
        o->tqe_min_svn = (long)json_integer_value(v);
    if (json_is_true(json_object_get(c, "tqe_allow_debug"))) o->tqe_allow_debug = true;
    if (o->decoys < 0 && json_is_integer(v = json_object_get(c, "decoys")))
        o->decoys = (long)json_integer_value(v);
    json_decref(c);
    return st;
}

/* --- shared steps ------------------------------------------------------------------ */
/* One command at a time on a wallet file: two that each load, change and save it
 * would lose one's changes (a sync's outputs, a send's spends). The lock is FILE.lock,
 * held until the process exits; a second command waits for it and says so. */
static veil_status wallet_lock(const wopts *o)
{
    static int fd = -1;
    if (fd >= 0) return VEIL_OK;
    char path[PATH_MAX];
    ENSURE(snprintf(path, sizeof path, "%s.lock", o->wallet) < (int)sizeof path, VEIL_ERR_TOO_LARGE);
    veil_status st = veil_path_lock(path, false, &fd);
    if (st != VEIL_ERR_EXISTS) return st;
    fprintf(stderr, "veil: %s: waiting for another command using %s\n", o->cmd, o->wallet);
    return veil_path_lock(path, true, &fd);
}

veil_status wcli_open(wopts *o, wallet *w, wallet_kdf *kdf)
{
    TRY(wallet_lock(o));
    TRY(wcli_passphrase_get(o, false));
    return wallet_load(o->wallet, o->passphrase, w, kdf);
}

veil_status wcli_save(wopts *o, const wallet *w, const wallet_kdf *kdf)
{
    return wallet_save(o->wallet, w, o->passphrase, kdf, false);
}

veil_status wcli_rpc_open(const wopts *o, wallet_rpc *r)
{
    return wallet_rpc_init(r, o->rpc[0] ? o->rpc : "http://127.0.0.1:26657");
}


/* Connects to the TQE; the handshake verifies its attestation against the policy
 * before anything is sent. */
veil_status wcli_tqe_open(const wopts *o, tqe_conn *t)
{
    memset(t, 0, sizeof *t);
    if (o->tqe[0] == '\0') {
        veil_error_detail_set("no TQE configured (--tqe HOST:PORT or \"tqe\" in %s.config.json)",
                              o->wallet);
        return VEIL_ERR_USAGE;
    }
    bool ias = strcmp(o->tqe_attestation, "ias") == 0;
    if (!ias && o->tqe_attestation[0] != '\0' && strcmp(o->tqe_attestation, "dcap") != 0) {
        veil_error_detail_set("--tqe-attestation: want dcap or ias");
        return VEIL_ERR_USAGE;
    }
    if ((ias ? o->tqe_ias_root[0] : o->tqe_collateral[0]) == '\0' ||
        (o->tqe_mrsigner[0] == '\0' && o->tqe_mrenclave[0] == '\0')) {
        veil_error_detail_set("the TQE attestation policy needs %s and --tqe-mrsigner or "
                              "--tqe-mrenclave; nothing is sent to an unverified TQE",
                              ias ? "--tqe-ias-root" : "--tqe-collateral");
        return VEIL_ERR_USAGE;
    }
    if (o->tqe_mrsigner[0] != '\0') {
        if (veil_hex_decode_exact(t->mrsigner, 32, o->tqe_mrsigner, strlen(o->tqe_mrsigner)) !=
            VEIL_OK) {
            veil_error_detail_set("--tqe-mrsigner must be 64 hex characters");
            return VEIL_ERR_ARG;
        }
        t->policy.mrsigner = t->mrsigner;
    }
    if (o->tqe_mrenclave[0] != '\0') {
        if (veil_hex_decode_exact(t->mrenclave, 32, o->tqe_mrenclave, strlen(o->tqe_mrenclave)) !=
            VEIL_OK) {
            veil_error_detail_set("--tqe-mrenclave must be 64 hex characters");
            return VEIL_ERR_ARG;
        }
        t->policy.mrenclave = t->mrenclave;
    }
    /* A signer signs more than the TQE (test enclaves, other services, older versions):
     * the product id and a minimum SVN are always pinned, by default to the TQE this
     * wallet was built with. */
    t->policy.has_prodid = 1;
    t->policy.prodid = (uint16_t)(o->tqe_prodid >= 0 ? o->tqe_prodid : TQE_PRODID);
    t->policy.has_min_svn = 1;
    t->policy.min_svn = (uint16_t)(o->tqe_min_svn >= 0 ? o->tqe_min_svn : TQE_SVN);
    if (dcap_policy_parse(o->tqe_accept_tcb, &t->policy.tcb) != VEIL_OK) {
        char d[400];
        snprintf(d, sizeof d, "--tqe-accept-tcb: %s", veil_error_detail());
        veil_error_detail_set("%s", d);
        return VEIL_ERR_USAGE;
    }
    t->policy.allow_debug = o->tqe_allow_debug;
    char *root = NULL;
    if (ias) {
        TRY(veil_file_read_text(o->tqe_ias_root, 64 * 1024, &root, NULL));
        t->policy.attestation = RATLS_ATTEST_IAS;
        t->policy.ias_root_pem = root;
    } else {
        t->policy.collateral_path = o->tqe_collateral;
    }
    veil_status st = wallet_tqe_connect(o->tqe, &t->policy, 30000, &t->client);
    t->policy.ias_root_pem = NULL; /* used during the connection's verification only */
    free(root);
    if (st != VEIL_OK) {
        /* Keep the verifier's detail, say where it came from. */
        char d[512];
        snprintf(d, sizeof d, "%s", veil_error_detail());
        veil_error_detail_set("TQE %s: %s", o->tqe, d[0] ? d : veil_status_str(st));
        return st;
    }
    wallet_tqe_client_iface(t->client, &t->iface);
    return VEIL_OK;
}

/* --- dispatch ------------------------------------------------------------------------------ */
static const subcmd subcmds[] = {
    {"create", c_create,
     "[--words|--hex] | --watch-only-from VIEW_SECRET_HEX --spend-pubkey ADDRESS",
     "create a new wallet (prints its seed once), or a watch-only wallet", 0,
     "  --words                  show the seed as 24 BIP-39 words (default)\n"
     "  --hex                    show the seed as 64 hex digits\n"
     "  --watch-only-from HEX    a watch-only wallet from a view secret ('addresses\n"
     "                           --export-view-secret'); it sees, never spends\n"
     "  --spend-pubkey ADDRESS   the watched wallet's address (veil1...)\n"},
    {"restore", c_restore, "--seed-words \"w1 ... w24\" | --seed-hex HEX",
     "re-create a wallet from its seed", 0,
     "  --seed-words \"W...\"     the 24 seed words; '-' reads them from stdin\n"
     "  --seed-hex HEX           the seed as 64 hex digits; '-' reads it from stdin\n"},
    {"addresses", c_addresses, "[--export-view-secret]",
     "the wallet's payment address (to be paid), address, view key and account", 0,
     "  --export-view-secret     also print the view secret (lets its holder see every\n"
     "                           transaction of this wallet; for watch-only wallets)\n"},
    {"balance", c_balance, "[--offline]", "spendable, time-locked and staked amounts", NEEDS_RPC,
     "  --offline                from the wallet file alone (no stake, no chain time)\n"},
    {"sync", c_sync, "[--decoys N] [--progress]",
     "index new blocks: bloom filters, then TQE queries", NEEDS_RPC | NEEDS_TQE,
     "  --decoys N               on-chain txids sent along with each query (0..63, default\n"
     "                           8): the TQE cannot tell them from the wallet's own\n"
     "  --progress               print progress to stderr\n"},
    {"history", c_history, "", "the wallet's transactions", 0, ""},
    {"send", c_send,
     "--to PAYMENT-ADDRESS --amount COINS [--max-fee COINS]",
     "pay confidentially", NEEDS_RPC | NEEDS_TQE,
     "  --to PAYMENT-ADDRESS     the recipient's payment address (veilpay1...); or their\n"
     "                           address (veil1...) together with --to-view VIEWKEY\n"
     "  --amount COINS           decimal coins, at most 8 decimals\n"
     "  --fee auto               the chain's fee for the tx's size (the only mode)\n"
     "  --max-fee COINS          refuse to pay more (default " WALLET_DEFAULT_MAX_FEE_STR "): the\n"
     "                           fee schedule comes from the node, which could lie\n"},
    {"deposit", c_deposit, "--amount COINS [--max-fee COINS]",
     "bond outputs (at least COINS, whole outputs) into the staking account",
     NEEDS_RPC | NEEDS_TQE,
     "  --amount COINS           at least this much is bonded (whole outputs, no change)\n"
     "  --max-fee COINS          refuse to pay more (default " WALLET_DEFAULT_MAX_FEE_STR ")\n"},
    {"unbond", c_unbond, "--amount COINS", "start unbonding stake (public tx)", NEEDS_RPC,
     "  --amount COINS           stake to move from bonded to unbonded\n"},
    {"withdraw", c_withdraw, "[--max-fee COINS]",
     "move the unbonded stake into a time-locked output", NEEDS_RPC | NEEDS_TQE,
     "  --max-fee COINS          refuse to pay more (default " WALLET_DEFAULT_MAX_FEE_STR ")\n"},
    {NULL, NULL, NULL, NULL, 0, NULL},
};

/* Whether option `c` belongs to the command: the common ones, the network ones it
 * uses, and those its help explains. Anything else is refused, not silently ignored. */
static const char *option_name(int c)
{
    for (const struct option *o = long_opts; o->name != NULL; o++)
        if (o->val == c) return o->name;
    return NULL;
}

static bool option_allowed(const subcmd *sc, int c)
{
    const char *name = option_name(c);
    if (name == NULL) return true; /* 'h' */
    static const char *const common[] = {"wallet", "passphrase-file", "json", "help"};
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        if (strcmp(name, common[i]) == 0) return true;
    if (strcmp(name, "rpc") == 0) return (sc->needs & NEEDS_RPC) != 0;
    if (strncmp(name, "tqe", 3) == 0) return (sc->needs & NEEDS_TQE) != 0;
    char flag[48];
    snprintf(flag, sizeof flag, "--%s ", name);
    return strstr(sc->options, flag) != NULL;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: veil wallet <command> --wallet FILE [options]\n\ncommands:\n");
    for (const subcmd *s = subcmds; s->name; s++) fprintf(f, "  %-10s %s\n", s->name, s->summary);
    fprintf(f, "\nRun 'veil wallet <command> --help' for a command's options.\n");
}

int cmd_wallet(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const subcmd *sc = NULL;
    for (const subcmd *s = subcmds; s->name; s++)
        if (strcmp(argv[1], s->name) == 0) sc = s;
    if (sc == NULL) {
        fprintf(stderr, "veil: wallet: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    static wopts o; /* holds the passphrase: static, wiped before returning */
    memset(&o, 0, sizeof o);
    char cmdname[64];
    snprintf(cmdname, sizeof cmdname, "wallet %s", sc->name);
    o.cmd = cmdname;
    o.tqe_prodid = o.tqe_min_svn = o.decoys = -1;
    o.wallet = getenv("VEIL_WALLET");
    int sub_argc = argc - 1;
    char **sub_argv = argv + 1;
    optind = 1;
    opterr = 0;
    int c, rc = 0;
    uint64_t n;
    bool bad = false;
    while (!bad && (c = getopt_long(sub_argc, sub_argv, "h", long_opts, NULL)) != -1) {
        if (c != '?' && !option_allowed(sc, c)) {
            rc = cli_usage_error("%s: --%s is not an option of this command", o.cmd,
                                 option_name(c));
            goto out;
        }
        switch (c) {
        case O_WALLET: o.wallet = optarg; break;
        case O_PASSFILE: o.pass_file = optarg; break;
        case O_RPC: bad = !copy_opt(o.rpc, sizeof o.rpc, optarg); break;
        case O_TQE: bad = !copy_opt(o.tqe, sizeof o.tqe, optarg); break;
        case O_TQE_COLLATERAL:
            bad = !copy_opt(o.tqe_collateral, sizeof o.tqe_collateral, optarg);
            break;
        case O_TQE_MRSIGNER: bad = !copy_opt(o.tqe_mrsigner, sizeof o.tqe_mrsigner, optarg); break;
        case O_TQE_MRENCLAVE: bad = !copy_opt(o.tqe_mrenclave, sizeof o.tqe_mrenclave, optarg); break;
        case O_TQE_PRODID:
            bad = !cli_parse_u64(optarg, UINT16_MAX, &n);
            o.tqe_prodid = (long)n;
            break;
        case O_TQE_MIN_SVN:
            bad = !cli_parse_u64(optarg, UINT16_MAX, &n);
            o.tqe_min_svn = (long)n;
            break;
        case O_TQE_ACCEPT_TCB:
            bad = !copy_opt(o.tqe_accept_tcb, sizeof o.tqe_accept_tcb, optarg);
            break;
        case O_TQE_ATTESTATION:
            bad = !copy_opt(o.tqe_attestation, sizeof o.tqe_attestation, optarg);
            break;
        case O_TQE_IAS_ROOT:
            bad = !copy_opt(o.tqe_ias_root, sizeof o.tqe_ias_root, optarg);
            break;
        case O_TQE_DEBUG: o.tqe_allow_debug = true; break;
        case O_JSON: o.json = true; break;
        case O_PROGRESS: o.progress = true; break;
        case O_DECOYS:
            bad = !cli_parse_u64(optarg, 63, &n);
            o.decoys = (long)n;
            break;
        case O_WORDS: o.words = true; break;
        case O_HEX: o.hex = true; break;
        case O_WATCH_VIEW: o.watch_view = optarg; break;
        case O_WATCH_SPEND: o.watch_spend = optarg; break;
        case O_SEED_WORDS: o.seed_words = optarg; break;
        case O_SEED_HEX: o.seed_hex = optarg; break;
        case O_TO: o.to = optarg; break;
        case O_TO_VIEW: o.to_view = optarg; break;
        case O_AMOUNT: o.amount = optarg; break;
        case O_FEE: o.fee = optarg; break;
        case O_MAX_FEE: o.max_fee = optarg; break;
        case O_OFFLINE: o.offline = true; break;
        case O_EXPORT_VIEW: o.export_view = true; break;
        case 'h':
        case O_HELP:
            printf("usage: veil wallet %s --wallet FILE %s [--json]\n\n%s.\n\n", sc->name,
                   sc->usage, sc->summary);
            if (sc->options[0] != '\0') printf("options:\n%s", sc->options);
            printf("%s", common_help);
            if (sc->needs & NEEDS_RPC) printf("%s", rpc_help);
            if (sc->needs & NEEDS_TQE) printf("%s", tqe_help);
            return 0;
        default: bad = true; break;
        }
    }
    if (bad) {
        rc = cli_bad_option(o.cmd, sub_argv);
        goto out;
    }
    if (optind < sub_argc) {
        rc = cli_usage_error("%s: unexpected argument '%s'", o.cmd, sub_argv[optind]);
        goto out;
    }
    if (o.wallet == NULL) {
        rc = cli_usage_error("%s: --wallet FILE is required", o.cmd);
        goto out;
    }
    if (o.words && o.hex) {
        rc = cli_usage_error("%s: --words and --hex exclude each other", o.cmd);
        goto out;
    }
    veil_error_detail_clear();
    veil_status st = veil_crypto_init();
    if (st == VEIL_OK && sodium_init() < 0) st = VEIL_ERR_CRYPTO;
    if (st == VEIL_OK) st = config_load(&o);
    if (st != VEIL_OK) {
        rc = wcli_fail(&o, st);
        goto out;
    }
    rc = sc->run(&o);
out:
    sodium_memzero(&o, sizeof o);
    return rc;
}

