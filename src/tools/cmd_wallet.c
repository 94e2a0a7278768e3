/* veil wallet <command> — keys, balances and confidential payments (docs/wallet.md).
 *
 * Every command takes --wallet FILE (or $VEIL_WALLET), --json and --help; network
 * commands take --rpc URL and the TQE's address and attestation policy (--tqe,
 * --tqe-root, --tqe-mrsigner/--tqe-mrenclave, --tqe-prodid, --tqe-min-svn, --tqe-min-tcb,
 * --tqe-allow-debug, --tqe-allow-out-of-date-tcb). Defaults for those may come from
 * FILE.config.json. The passphrase comes from --passphrase-file, $VEIL_WALLET_PASSPHRASE
 * or a terminal prompt, never from the command line. Failure: exit 1 (2 for usage)
 * and one line "veil: wallet <command>: <reason>" on stderr.
 */
#include <getopt.h>
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
#include "host/node/node_tx.h"
#include "hostutil/fileio.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "wallet/bech32m.h"
#include "wallet/bip39.h"
#include "wallet/wallet.h"
#include "wallet/wallet_rpc.h"
#include "wallet/wallet_tqe_client.h"
#include "trusted/tqe/tqe_abi.h"

#define PASS_MAX 1024

/* Defaults of the TQE attestation policy: the product id and SVN of the TQE this wallet
 * was built with, and the lowest platform TCB level the simulated platform provisions. */
#define STR_(x) #x
#define STR(x) STR_(x)
#define TQE_PRODID_STR STR(TQE_PRODID)
#define TQE_SVN_STR STR(TQE_SVN)
#define WALLET_DEFAULT_MIN_TCB 1
#define WALLET_MIN_TCB_STR STR(WALLET_DEFAULT_MIN_TCB)
/* The most a confidential tx may pay unless --max-fee says otherwise: far above any fee
 * a sane schedule asks for a 16 KiB payload, far below what a lying node would want. */
#define WALLET_DEFAULT_MAX_FEE (WALLET_COIN / 100)
#define WALLET_DEFAULT_MAX_FEE_STR "0.01"

typedef struct wopts {
    const char *cmd; /* "wallet send" */
    const char *wallet;
    const char *pass_file;
    char rpc[512];
    char tqe[256];
    char tqe_root[1024];
    char tqe_mrsigner[80];
    char tqe_mrenclave[80];
    long tqe_prodid;  /* -1: not given (TQE_PRODID) */
    long tqe_min_svn; /* -1: not given (TQE_SVN) */
    long tqe_min_tcb; /* -1: not given (WALLET_DEFAULT_MIN_TCB) */
    bool tqe_allow_debug;
    bool tqe_allow_old_tcb;
    bool json;
    bool progress;
    long decoys;
    /* command-specific */
    bool words, hex, offline, export_view;
    const char *watch_view, *watch_spend, *seed_words, *seed_hex, *to, *to_view, *amount, *fee;
    const char *max_fee;
    char passphrase[PASS_MAX];
} wopts;

/* --- output and failure ------------------------------------------------------------ */
static int fail(const wopts *o, veil_status st)
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

static void emit(json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(j);
}

static json_t *jamount(uint64_t v)
{
    char s[32];
    wallet_amount_format(s, sizeof s, v);
    return json_string(s);
}

static json_t *jhex(const uint8_t *p, size_t n)
{
    char s[129];
    veil_hex_encode(s, p, n);
    return json_string(s);
}

/* --- passphrase ------------------------------------------------------------------- */
static veil_status prompt(const char *what, char *out, size_t cap)
{
    struct termios old, quiet;
    if (tcgetattr(STDIN_FILENO, &old) != 0) return VEIL_ERR_IO;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    fprintf(stderr, "%s: ", what);
    fflush(stderr);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    char *r = fgets(out, (int)cap, stdin);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
    if (r == NULL) return VEIL_ERR_IO;
    out[strcspn(out, "\r\n")] = '\0';
    return VEIL_OK;
}

/* confirm: ask twice on a terminal (new wallets). */
static veil_status passphrase_get(wopts *o, bool confirm)
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
    O_WALLET = 256, O_PASSFILE, O_RPC, O_TQE, O_TQE_ROOT, O_TQE_MRSIGNER, O_TQE_MRENCLAVE,
    O_TQE_PRODID, O_TQE_MIN_SVN, O_TQE_MIN_TCB, O_MAX_FEE, O_TQE_DEBUG, O_TQE_OLD_TCB, O_JSON, O_PROGRESS, O_DECOYS,
    O_WORDS, O_HEX, O_WATCH_VIEW, O_WATCH_SPEND, O_SEED_WORDS, O_SEED_HEX, O_TO, O_TO_VIEW,
    O_AMOUNT, O_FEE, O_OFFLINE, O_EXPORT_VIEW, O_HELP
};

static const struct option long_opts[] = {
    {"wallet", required_argument, NULL, O_WALLET},
    {"passphrase-file", required_argument, NULL, O_PASSFILE},
    {"rpc", required_argument, NULL, O_RPC},
    {"tqe", required_argument, NULL, O_TQE},
    {"tqe-root", required_argument, NULL, O_TQE_ROOT},
    {"tqe-mrsigner", required_argument, NULL, O_TQE_MRSIGNER},
    {"tqe-mrenclave", required_argument, NULL, O_TQE_MRENCLAVE},
    {"tqe-prodid", required_argument, NULL, O_TQE_PRODID},
    {"tqe-min-svn", required_argument, NULL, O_TQE_MIN_SVN},
    {"tqe-min-tcb", required_argument, NULL, O_TQE_MIN_TCB},
    {"tqe-allow-debug", no_argument, NULL, O_TQE_DEBUG},
    {"tqe-allow-out-of-date-tcb", no_argument, NULL, O_TQE_OLD_TCB},
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
    "  --json                   machine-readable output (errors too: {\"error\": ...})\n"
    "network options (defaults from FILE.config.json):\n"
    "  --rpc URL                the node's RPC (default http://127.0.0.1:26657)\n"
    "  --tqe HOST:PORT          the TQE (attested TLS)\n"
    "  --tqe-root PEM           pinned provisioning root of the TQE's platform\n"
    "  --tqe-mrsigner HEX       accepted enclave signer, with --tqe-prodid and --tqe-min-svn\n"
    "  --tqe-mrenclave HEX      accepted enclave measurement (pins one exact image)\n"
    "  --tqe-prodid N           accepted enclave product id (default: the TQE's, " TQE_PRODID_STR ")\n"
    "  --tqe-min-svn N          minimum enclave security version (default " TQE_SVN_STR ")\n"
    "  --tqe-min-tcb N          minimum platform TCB level (default " WALLET_MIN_TCB_STR ")\n"
    "  --tqe-allow-debug        accept a debug enclave (development only)\n"
    "  --tqe-allow-out-of-date-tcb  accept a platform whose TCB is out of date\n";

typedef struct subcmd {
    const char *name;
    int (*run)(wopts *o);
    const char *usage;
    const char *summary;
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
                {"tqe_root", o->tqe_root, sizeof o->tqe_root},
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
    if (o->tqe_min_tcb < 0 && json_is_integer(v = json_object_get(c, "tqe_min_tcb")))
        o->tqe_min_tcb = (long)json_integer_value(v);
    if (json_is_true(json_object_get(c, "tqe_allow_debug"))) o->tqe_allow_debug = true;
    if (json_is_true(json_object_get(c, "tqe_allow_out_of_date_tcb"))) o->tqe_allow_old_tcb = true;
    if (o->decoys < 0 && json_is_integer(v = json_object_get(c, "decoys")))
        o->decoys = (long)json_integer_value(v);
    json_decref(c);
    return st;
}

/* --- shared steps ------------------------------------------------------------------ */
static veil_status open_wallet(wopts *o, wallet *w, wallet_kdf *kdf)
{
    TRY(passphrase_get(o, false));
    return wallet_load(o->wallet, o->passphrase, w, kdf);
}

static veil_status save_wallet(wopts *o, const wallet *w, const wallet_kdf *kdf)
{
    return wallet_save(o->wallet, w, o->passphrase, kdf, false);
}

static veil_status rpc_open(const wopts *o, wallet_rpc *r)
{
    return wallet_rpc_init(r, o->rpc[0] ? o->rpc : "http://127.0.0.1:26657");
}

typedef struct tqe_conn {
    uint8_t mrsigner[TEE_MEASUREMENT_LEN], mrenclave[TEE_MEASUREMENT_LEN];
    ratls_policy policy;
    wallet_tqe_client *client;
    wallet_tqe iface;
} tqe_conn;

/* Connects to the TQE; the handshake verifies its attestation against the policy
 * before anything is sent. */
static veil_status tqe_open(const wopts *o, tqe_conn *t)
{
    memset(t, 0, sizeof *t);
    if (o->tqe[0] == '\0') {
        veil_error_detail_set("no TQE configured (--tqe HOST:PORT or \"tqe\" in %s.config.json)",
                              o->wallet);
        return VEIL_ERR_USAGE;
    }
    if (o->tqe_root[0] == '\0' || (o->tqe_mrsigner[0] == '\0' && o->tqe_mrenclave[0] == '\0')) {
        veil_error_detail_set("the TQE attestation policy needs --tqe-root and --tqe-mrsigner "
                              "or --tqe-mrenclave; nothing is sent to an unverified TQE");
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
    t->policy.min_platform_tcb =
        (uint16_t)(o->tqe_min_tcb >= 0 ? o->tqe_min_tcb : WALLET_DEFAULT_MIN_TCB);
    t->policy.allow_debug = o->tqe_allow_debug;
    t->policy.allow_out_of_date_tcb = o->tqe_allow_old_tcb;
    t->policy.root_pem_path = o->tqe_root;
    veil_status st = wallet_tqe_connect(o->tqe, &t->policy, 30000, &t->client);
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

/* --- create / restore ---------------------------------------------------------------- */
static veil_status read_arg_or_stdin(const char *v, char *out, size_t cap)
{
    if (strcmp(v, "-") != 0) {
        ENSURE(strlen(v) < cap, VEIL_ERR_TOO_LARGE);
        snprintf(out, cap, "%s", v);
        return VEIL_OK;
    }
    ENSURE(fgets(out, (int)cap, stdin) != NULL, VEIL_ERR_IO);
    out[strcspn(out, "\r\n")] = '\0';
    return VEIL_OK;
}

static int finish_new(wopts *o, wallet *w, bool show_seed)
{
    wallet_kdf kdf;
    veil_status st = wallet_kdf_from_env(&kdf);
    if (st == VEIL_OK) st = passphrase_get(o, true);
    if (st == VEIL_OK) st = wallet_save(o->wallet, w, o->passphrase, &kdf, true);
    if (st != VEIL_OK) {
        if (st == VEIL_ERR_EXISTS) veil_error_detail_set("%s already exists", o->wallet);
        wallet_free(w);
        return fail(o, st);
    }
    char addr[WALLET_KEY_STR_MAX], view[WALLET_KEY_STR_MAX];
    if (wallet_key_encode(addr, WALLET_HRP_ADDRESS, w->keys.spend_pk) != VEIL_OK ||
        wallet_key_encode(view, WALLET_HRP_VIEW, w->keys.view_pk) != VEIL_OK) {
        wallet_free(w);
        return fail(o, VEIL_ERR_INTERNAL);
    }
    char words[WALLET_MNEMONIC_MAX] = "", hex[65] = "";
    if (show_seed) {
        wallet_mnemonic_from_entropy(words, w->keys.seed);
        veil_hex_encode(hex, w->keys.seed, 32);
    }
    if (o->json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:b}", "wallet", o->wallet, "address", addr,
                              "view_key", view, "account", jhex(w->keys.spend_pk, 32),
                              "watch_only", w->keys.watch_only);
        if (show_seed) {
            if (o->hex)
                json_object_set_new(j, "seed_hex", json_string(hex));
            else
                json_object_set_new(j, "seed_words", json_string(words));
        }
        emit(j);
    } else {
        printf("wallet:   %s%s\naddress:  %s\nview key: %s\n", o->wallet,
               w->keys.watch_only ? " (watch-only)" : "", addr, view);
        if (show_seed) {
            printf("\nWrite down this seed: it is the only way to restore this wallet.\n\n  %s\n",
                   o->hex ? hex : words);
        }
    }
    sodium_memzero(words, sizeof words);
    sodium_memzero(hex, sizeof hex);
    wallet_free(w);
    return 0;
}

static int c_create(wopts *o)
{
    wallet w;
    memset(&w, 0, sizeof w);
    if (o->watch_view != NULL || o->watch_spend != NULL) {
        uint8_t vsk[32], spk[32];
        if (o->watch_view == NULL || o->watch_spend == NULL)
            return cli_usage_error("wallet create: --watch-only-from needs --spend-pubkey");
        if (veil_hex_decode_exact(vsk, 32, o->watch_view, strlen(o->watch_view)) != VEIL_OK)
            return cli_usage_error("wallet create: --watch-only-from must be the 64-hex view "
                                   "secret ('veil wallet addresses --export-view-secret')");
        if (wallet_key_decode(o->watch_spend, WALLET_HRP_ADDRESS, spk) != VEIL_OK &&
            veil_hex_decode_exact(spk, 32, o->watch_spend, strlen(o->watch_spend)) != VEIL_OK)
            return cli_usage_error("wallet create: --spend-pubkey must be a veil1... address or "
                                   "64 hex characters");
        veil_status st = wallet_keys_watch_only(&w.keys, vsk, spk);
        sodium_memzero(vsk, sizeof vsk);
        if (st != VEIL_OK) return fail(o, st);
        return finish_new(o, &w, false);
    }
    uint8_t seed[32];
    randombytes_buf(seed, sizeof seed);
    veil_status st = wallet_keys_from_seed(&w.keys, seed);
    sodium_memzero(seed, sizeof seed);
    if (st != VEIL_OK) return fail(o, st);
    return finish_new(o, &w, true);
}

static int c_restore(wopts *o)
{
    if ((o->seed_words == NULL) == (o->seed_hex == NULL))
        return cli_usage_error("wallet restore: give exactly one of --seed-words, --seed-hex");
    char buf[1024];
    uint8_t seed[32];
    veil_status st = read_arg_or_stdin(o->seed_words ? o->seed_words : o->seed_hex, buf, sizeof buf);
    if (st == VEIL_OK) {
        if (o->seed_words != NULL) {
            st = wallet_mnemonic_to_entropy(buf, seed);
        } else if (veil_hex_decode_exact(seed, 32, buf, strlen(buf)) != VEIL_OK) {
            veil_error_detail_set("--seed-hex must be 64 hex characters");
            st = VEIL_ERR_WALLET_SEED;
        }
    }
    sodium_memzero(buf, sizeof buf);
    if (st != VEIL_OK) return fail(o, st);
    wallet w;
    memset(&w, 0, sizeof w);
    st = wallet_keys_from_seed(&w.keys, seed);
    sodium_memzero(seed, sizeof seed);
    if (st != VEIL_OK) return fail(o, st);
    return finish_new(o, &w, false);
}

/* --- addresses / balance / history ----------------------------------------------------- */
static int c_addresses(wopts *o)
{
    wallet w;
    veil_status st = open_wallet(o, &w, NULL);
    if (st != VEIL_OK) return fail(o, st);
    char addr[WALLET_KEY_STR_MAX], view[WALLET_KEY_STR_MAX], pay[WALLET_PAY_STR_MAX], vsk[65] = "";
    if (wallet_key_encode(addr, WALLET_HRP_ADDRESS, w.keys.spend_pk) != VEIL_OK ||
        wallet_key_encode(view, WALLET_HRP_VIEW, w.keys.view_pk) != VEIL_OK ||
        wallet_payment_address_encode(pay, w.keys.spend_pk, w.keys.view_pk) != VEIL_OK) {
        wallet_free(&w);
        return fail(o, VEIL_ERR_INTERNAL);
    }
    if (o->export_view) veil_hex_encode(vsk, w.keys.view_sk, 32);
    if (o->json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:b}", "payment_address", pay, "address", addr,
                              "view_key", view, "account", jhex(w.keys.spend_pk, 32),
                              "watch_only", w.keys.watch_only);
        if (o->export_view) json_object_set_new(j, "view_secret", json_string(vsk));
        emit(j);
    } else {
        char acct[65];
        veil_hex_encode(acct, w.keys.spend_pk, 32);
        printf("payment address (give this to be paid):\n  %s\n"
               "address:  %s\nview key: %s\naccount:  %s\n",
               pay, addr, view, acct);
        if (o->export_view)
            printf("view secret (lets its holder see all your transactions): %s\n", vsk);
    }
    sodium_memzero(vsk, sizeof vsk);
    wallet_free(&w);
    return 0;
}

static int c_balance(wopts *o)
{
    wallet w;
    veil_status st = open_wallet(o, &w, NULL);
    if (st != VEIL_OK) return fail(o, st);
    uint64_t now = (uint64_t)time(NULL), tip = 0;
    Veil__Node__Account *acct = NULL;
    bool have_acct = false;
    if (!o->offline) {
        wallet_rpc r;
        char cid[65];
        st = rpc_open(o, &r);
        if (st == VEIL_OK) st = wallet_rpc_tip(&r, &tip, &now, cid); /* locks use block time */
        if (st == VEIL_OK) {
            st = wallet_rpc_account(&r, w.keys.spend_pk, &acct);
            if (st == VEIL_ERR_NOT_FOUND) st = VEIL_OK; /* never staked */
            have_acct = true;
        }
        if (st != VEIL_OK) {
            wallet_free(&w);
            return fail(o, st);
        }
    }
    wallet_balance b;
    wallet_balance_get(&w, now, &b);
    uint64_t bonded = acct ? acct->bonded : 0, unbonded = acct ? acct->unbonded : 0;
    uint64_t unbonded_from = acct ? acct->unbonded_from : 0;
    if (o->json) {
        json_t *j = json_pack("{s:o, s:o, s:I, s:I}", "spendable", jamount(b.spendable),
                              "time_locked", jamount(b.time_locked), "synced_height",
                              (json_int_t)w.synced_height, "chain_height", (json_int_t)tip);
        if (have_acct)
            json_object_set_new(j, "staked",
                                json_pack("{s:o, s:o, s:I}", "bonded", jamount(bonded), "unbonded",
                                          jamount(unbonded), "unbonded_from",
                                          (json_int_t)unbonded_from));
        emit(j);
    } else {
        char s1[32], s2[32];
        wallet_amount_format(s1, sizeof s1, b.spendable);
        wallet_amount_format(s2, sizeof s2, b.time_locked);
        printf("spendable:   %s\ntime-locked: %s\n", s1, s2);
        if (have_acct) {
            wallet_amount_format(s1, sizeof s1, bonded);
            wallet_amount_format(s2, sizeof s2, unbonded);
            printf("staked:      %s bonded, %s unbonded%s\n", s1, s2,
                   unbonded > 0 && unbonded_from > now ? " (still locked)" : "");
        }
        printf("synced to block %llu", (unsigned long long)w.synced_height);
        if (tip > w.synced_height) printf(" of %llu (run 'veil wallet sync')", (unsigned long long)tip);
        printf("\n");
    }
    if (acct) veil__node__account__free_unpacked(acct, NULL);
    wallet_free(&w);
    return 0;
}

static const char *kind_name(veil_tx_kind k)
{
    switch (k) {
    case VEIL_TX_KIND_TRANSFER: return "transfer";
    case VEIL_TX_KIND_DEPOSIT: return "deposit";
    case VEIL_TX_KIND_WITHDRAW: return "withdraw";
    default: return "?";
    }
}

static int c_history(wopts *o)
{
    wallet w;
    veil_status st = open_wallet(o, &w, NULL);
    if (st != VEIL_OK) return fail(o, st);
    json_t *arr = json_array();
    if (!o->json) printf("%-8s %-9s %-20s %-20s %s\n", "height", "kind", "received", "spent", "txid");
    for (size_t i = 0; i < w.n_history; i++) {
        const wallet_history *h = &w.history[i];
        if (o->json) {
            json_array_append_new(arr, json_pack("{s:I, s:s, s:o, s:o, s:o}", "height",
                                                 (json_int_t)h->height, "kind", kind_name(h->kind),
                                                 "received", jamount(h->received), "spent",
                                                 jamount(h->spent), "txid", jhex(h->txid, 32)));
        } else {
            char r[32], s[32], id[65];
            wallet_amount_format(r, sizeof r, h->received);
            wallet_amount_format(s, sizeof s, h->spent);
            veil_hex_encode(id, h->txid, 32);
            printf("%-8llu %-9s %-20s %-20s %s\n", (unsigned long long)h->height,
                   kind_name(h->kind), r, s, id);
        }
    }
    if (o->json)
        emit(json_pack("{s:o, s:I}", "history", arr, "synced_height", (json_int_t)w.synced_height));
    else
        json_decref(arr);
    wallet_free(&w);
    return 0;
}

/* --- sync ------------------------------------------------------------------------------ */
typedef struct sync_ctx {
    wopts *o;
    const wallet_kdf *kdf;
    bool show;
} sync_ctx;

static void on_progress(void *ctx, uint64_t h, uint64_t tip, uint64_t found)
{
    sync_ctx *s = ctx;
    if (!s->show) return;
    if (h != tip && h % 16 != 0) return;
    fprintf(stderr, "\rsync: block %llu/%llu (%3llu%%), %llu tx%s found ", (unsigned long long)h,
            (unsigned long long)tip, (unsigned long long)(tip ? 100 * h / tip : 100),
            (unsigned long long)found, found == 1 ? "" : "s");
    fflush(stderr);
}

static veil_status on_checkpoint(void *ctx, const wallet *w)
{
    sync_ctx *s = ctx;
    return save_wallet(s->o, w, s->kdf);
}

static int c_sync(wopts *o)
{
    if (o->decoys < 0) o->decoys = 8;
    if (o->decoys > WALLET_QUERY_MAX_TXIDS - 1)
        return cli_usage_error("wallet sync: --decoys must be at most 63");
    wallet w;
    wallet_kdf kdf;
    veil_status st = open_wallet(o, &w, &kdf);
    if (st != VEIL_OK) return fail(o, st);
    wallet_rpc r;
    wallet_chain chain;
    tqe_conn *t = calloc(1, sizeof *t);
    if (t == NULL) st = VEIL_ERR_NOMEM;
    if (st == VEIL_OK) st = rpc_open(o, &r);
    if (st == VEIL_OK) st = tqe_open(o, t);
    if (st != VEIL_OK) {
        free(t);
        wallet_free(&w);
        return fail(o, st);
    }
    wallet_rpc_chain(&r, &chain);
    sync_ctx sc = {o, &kdf, o->progress || (!o->json && isatty(STDERR_FILENO))};
    wallet_sync_opts opts = {.decoys = (size_t)o->decoys, .progress = on_progress,
                             .progress_ctx = &sc, .checkpoint = on_checkpoint,
                             .checkpoint_ctx = &sc};
    wallet_sync_stats stats;
    uint64_t start = w.synced_height;
    st = wallet_sync(&w, &chain, &t->iface, &opts, &stats);
    if (sc.show) fputc('\n', stderr);
    /* Keep what was indexed even when the sync stopped early. */
    veil_status st2 = w.synced_height != start ? save_wallet(o, &w, &kdf) : VEIL_OK;
    wallet_tqe_close(t->client);
    free(t);
    if (st == VEIL_OK) st = st2;
    if (st != VEIL_OK) {
        char d[512];
        snprintf(d, sizeof d, "%s", veil_error_detail());
        veil_error_detail_set("%s%sstopped after block %llu", d, d[0] ? "; " : "",
                              (unsigned long long)w.synced_height);
        wallet_free(&w);
        return fail(o, st);
    }
    wallet_balance b;
    wallet_balance_get(&w, (uint64_t)time(NULL), &b);
    if (o->json) {
        emit(json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}", "from", (json_int_t)stats.from, "to",
                       (json_int_t)stats.to, "bloom_hits", (json_int_t)stats.bloom_hits,
                       "queried_txids", (json_int_t)stats.queried_txids, "txs_found",
                       (json_int_t)stats.txs_found, "spendable", jamount(b.spendable)));
    } else if (stats.from > stats.to) {
        printf("already synced to block %llu\n", (unsigned long long)w.synced_height);
    } else {
        printf("synced blocks %llu..%llu: %llu bloom hit%s, %llu txid%s queried, %llu tx%s found\n",
               (unsigned long long)stats.from, (unsigned long long)stats.to,
               (unsigned long long)stats.bloom_hits, stats.bloom_hits == 1 ? "" : "s",
               (unsigned long long)stats.queried_txids, stats.queried_txids == 1 ? "" : "s",
               (unsigned long long)stats.txs_found, stats.txs_found == 1 ? "" : "s");
    }
    wallet_free(&w);
    return 0;
}

/* --- send / deposit / withdraw / unbond -------------------------------------------------- */
typedef enum { TX_SEND, TX_DEPOSIT, TX_WITHDRAW } tx_kind;

static int confidential(wopts *o, tx_kind kind)
{
    uint64_t amount = 0;
    uint8_t to[32], to_view[32];
    bool have_view = false;
    if (kind != TX_WITHDRAW) {
        if (o->amount == NULL) return cli_usage_error("%s: --amount COINS is required", o->cmd);
        veil_status a = wallet_amount_parse(o->amount, &amount);
        if (a != VEIL_OK || amount == 0)
            return cli_usage_error("%s: --amount must be a positive decimal number of coins "
                                   "with at most 8 decimals",
                                   o->cmd);
    }
    if (o->fee != NULL && strcmp(o->fee, "auto") != 0)
        return cli_usage_error("%s: only --fee auto is supported (the chain sets the fee)", o->cmd);
    uint64_t max_fee = WALLET_DEFAULT_MAX_FEE;
    if (o->max_fee != NULL && wallet_amount_parse(o->max_fee, &max_fee) != VEIL_OK)
        return cli_usage_error("%s: --max-fee must be a decimal number of coins with at most 8 "
                               "decimals",
                               o->cmd);
    if (kind == TX_SEND) {
        if (o->to == NULL) return cli_usage_error("%s: --to PAYMENT-ADDRESS is required", o->cmd);
        if (wallet_payment_address_decode(o->to, to, to_view) == VEIL_OK) {
            have_view = true;
            if (o->to_view != NULL)
                return cli_usage_error("%s: --to is a payment address, which carries the view "
                                       "key: drop --to-view",
                                       o->cmd);
        } else if (wallet_key_decode(o->to, WALLET_HRP_ADDRESS, to) == VEIL_OK) {
            /* A bare spend key: without the recipient's view key the output is one the
             * recipient's wallet can never find. */
            if (o->to_view == NULL)
                return cli_usage_error("%s: --to is a spend address (veil1...) without a view key: "
                                       "the recipient could never find this payment. Use their "
                                       "payment address (veilpay1..., from 'veil wallet "
                                       "addresses') or add --to-view VIEWKEY",
                                       o->cmd);
            if (wallet_key_decode(o->to_view, WALLET_HRP_VIEW, to_view) != VEIL_OK) {
                veil_error_detail_set("--to-view: not a veilview1... key");
                return fail(o, VEIL_ERR_WALLET_ADDRESS);
            }
            have_view = true;
        } else {
            veil_error_detail_set("--to: not a payment address (veilpay1...) or address (veil1...)");
            return fail(o, VEIL_ERR_WALLET_ADDRESS);
        }
    }
    wallet w;
    wallet_kdf kdf;
    veil_status st = open_wallet(o, &w, &kdf);
    if (st != VEIL_OK) return fail(o, st);
    wallet_rpc r;
    tqe_conn *t = calloc(1, sizeof *t);
    wallet_built *b = malloc(sizeof *b);
    Veil__Node__Account *acct = NULL;
    uint8_t *tx = malloc(NODE_CHAIN_TX_MAX);
    uint8_t *wire = malloc(VEIL_TX_MAX_WIRE_LEN);
    size_t tx_len = 0, wire_len = 0;
    uint64_t tip = 0, now = 0, height = 0;
    char cid[65];
    wallet_fee fee;
    ENSURE_OUT(t != NULL && b != NULL && tx != NULL && wire != NULL, VEIL_ERR_NOMEM);
    ENSURE_OUT(!w.keys.watch_only, VEIL_ERR_WALLET_WATCH_ONLY);
    TRY_OUT(rpc_open(o, &r));
    TRY_OUT(wallet_rpc_tip(&r, &tip, &now, cid));
    if (w.chain_id[0] == '\0') snprintf(w.chain_id, sizeof w.chain_id, "%s", cid);
    if (strcmp(w.chain_id, cid) != 0) {
        veil_error_detail_set("wallet is for chain \"%s\", the node serves \"%s\"", w.chain_id, cid);
        st = VEIL_ERR_TX_WRONG_CHAIN_ID;
        goto out;
    }
    TRY_OUT(wallet_rpc_fee(&r, &fee));
    if (kind == TX_SEND) {
        TRY_OUT(wallet_build_transfer(&w, &fee, now, to, have_view ? to_view : NULL, amount, b));
    } else if (kind == TX_DEPOSIT) {
        TRY_OUT(wallet_build_deposit(&w, &fee, now, amount, b));
    } else {
        st = wallet_rpc_account(&r, w.keys.spend_pk, &acct);
        if (st == VEIL_ERR_NOT_FOUND) veil_error_detail_set("this wallet has no staking account");
        TRY_OUT(st);
        if (acct->unbonded == 0) {
            veil_error_detail_set("nothing unbonded to withdraw (run 'veil wallet unbond' first)");
            st = VEIL_ERR_WALLET_FUNDS;
            goto out;
        }
        if (acct->unbonded_from > now) {
            veil_error_detail_set("the unbonded stake may be withdrawn from %llu (chain time %llu)",
                                  (unsigned long long)acct->unbonded_from, (unsigned long long)now);
            st = VEIL_ERR_TX_NOT_YET_UNBONDED;
            goto out;
        }
        TRY_OUT(wallet_build_withdraw(&w, &fee, acct->unbonded, acct->unbonded_from, acct->nonce, b));
    }
    /* The fee schedule came from the RPC, which nothing authenticates: a lying node could
     * make the wallet pay any fee. Nothing above the user's ceiling leaves the wallet. */
    if (b->fee > max_fee) {
        char f[32], m[32];
        wallet_amount_format(f, sizeof f, b->fee);
        wallet_amount_format(m, sizeof m, max_fee);
        veil_error_detail_set("the fee would be %s, above --max-fee %s (the node's fee "
                              "schedule: base %llu, %llu per byte); nothing was sent",
                              f, m, (unsigned long long)fee.fee_base,
                              (unsigned long long)fee.fee_per_byte);
        st = VEIL_ERR_WALLET_FEE;
        goto out;
    }
    /* Only now, with a signed tx in hand, talk to the TQE: its attestation is verified
     * in the handshake before the payload leaves this process. */
    TRY_OUT(tqe_open(o, t));
    st = t->iface.encrypt(t->iface.ctx, b->payload, b->payload_len, b->fee, wire,
                          VEIL_TX_MAX_WIRE_LEN, &wire_len);
    wallet_tqe_close(t->client);
    t->client = NULL;
    TRY_OUT(st);
    TRY_OUT(node_confidential_tx_encode(wire, wire_len, tx, NODE_CHAIN_TX_MAX, &tx_len));
    TRY_OUT(wallet_rpc_broadcast(&r, tx, tx_len, &height));
    /* Committed: spends, change and history now, not at the next sync. */
    TRY_OUT(wallet_record_committed(&w, b, height));
    TRY_OUT(save_wallet(o, &w, &kdf));
    if (o->json) {
        emit(json_pack("{s:o, s:I, s:o, s:o, s:o, s:I}", "txid", jhex(b->txid, 32), "height",
                       (json_int_t)height, "amount", jamount(b->amount), "fee", jamount(b->fee),
                       "change", jamount(b->change), "inputs", (json_int_t)b->body.n_inputs));
    } else {
        char a[32], f[32], id[65];
        wallet_amount_format(a, sizeof a, b->amount);
        wallet_amount_format(f, sizeof f, b->fee);
        veil_hex_encode(id, b->txid, 32);
        const char *what = kind == TX_SEND ? "sent" : kind == TX_DEPOSIT ? "bonded" : "withdrew";
        printf("%s %s (fee %s) in block %llu\ntxid %s\n", what, a, f, (unsigned long long)height, id);
        if (kind == TX_WITHDRAW)
            printf("the output is time-locked until %llu\n",
                   (unsigned long long)b->body.outputs[0].valid_from);
    }
out:
    if (t != NULL) wallet_tqe_close(t->client);
    free(t);
    if (b != NULL) sodium_memzero(b, sizeof *b);
    free(b);
    free(tx);
    free(wire);
    if (acct) veil__node__account__free_unpacked(acct, NULL);
    wallet_free(&w);
    return st == VEIL_OK ? 0 : fail(o, st);
}

static int c_send(wopts *o) { return confidential(o, TX_SEND); }
static int c_deposit(wopts *o) { return confidential(o, TX_DEPOSIT); }
static int c_withdraw(wopts *o) { return confidential(o, TX_WITHDRAW); }

static int c_unbond(wopts *o)
{
    uint64_t amount;
    if (o->amount == NULL || wallet_amount_parse(o->amount, &amount) != VEIL_OK || amount == 0)
        return cli_usage_error("wallet unbond: --amount must be a positive number of coins");
    wallet w;
    wallet_kdf kdf;
    veil_status st = open_wallet(o, &w, &kdf);
    if (st != VEIL_OK) return fail(o, st);
    wallet_rpc r;
    Veil__Node__Account *acct = NULL;
    node_public_tx *pub = calloc(1, sizeof *pub);
    uint8_t *tx = malloc(NODE_CHAIN_TX_MAX);
    size_t tx_len;
    uint64_t tip, now, height = 0;
    char cid[65];
    ENSURE_OUT(pub != NULL && tx != NULL, VEIL_ERR_NOMEM);
    ENSURE_OUT(!w.keys.watch_only, VEIL_ERR_WALLET_WATCH_ONLY);
    TRY_OUT(rpc_open(o, &r));
    TRY_OUT(wallet_rpc_tip(&r, &tip, &now, cid));
    st = wallet_rpc_account(&r, w.keys.spend_pk, &acct);
    if (st == VEIL_ERR_NOT_FOUND) veil_error_detail_set("this wallet has no staking account");
    TRY_OUT(st);
    if (acct->bonded < amount) {
        char have[32];
        wallet_amount_format(have, sizeof have, acct->bonded);
        veil_error_detail_set("only %s is bonded", have);
        st = VEIL_ERR_WALLET_FUNDS;
        goto out;
    }
    pub->kind = NODE_PUBLIC_UNBOND;
    memcpy(pub->account, w.keys.spend_pk, 32);
    pub->nonce = acct->nonce;
    pub->amount = amount;
    TRY_OUT(node_public_tx_sign(pub, cid, w.keys.spend_sk));
    TRY_OUT(node_public_tx_encode(pub, tx, NODE_CHAIN_TX_MAX, &tx_len));
    TRY_OUT(wallet_rpc_broadcast(&r, tx, tx_len, &height));
    if (o->json) {
        emit(json_pack("{s:o, s:I}", "unbonded", jamount(amount), "height", (json_int_t)height));
    } else {
        char a[32];
        wallet_amount_format(a, sizeof a, amount);
        printf("unbonding %s (public tx) in block %llu; withdraw it after the unbonding period "
               "with 'veil wallet withdraw'\n",
               a, (unsigned long long)height);
    }
out:
    free(pub);
    free(tx);
    if (acct) veil__node__account__free_unpacked(acct, NULL);
    wallet_free(&w);
    return st == VEIL_OK ? 0 : fail(o, st);
}

/* --- dispatch ------------------------------------------------------------------------------ */
static const subcmd subcmds[] = {
    {"create", c_create,
     "[--words|--hex] | --watch-only-from VIEW_SECRET_HEX --spend-pubkey ADDRESS",
     "create a new wallet (prints its seed once), or a watch-only wallet"},
    {"restore", c_restore, "--seed-words \"w1 ... w24\" | --seed-hex HEX  ('-': read from stdin)",
     "re-create a wallet from its seed"},
    {"addresses", c_addresses, "[--export-view-secret]",
     "the wallet's payment address (to be paid), address, view key and account"},
    {"balance", c_balance, "[--offline]", "spendable, time-locked and staked amounts"},
    {"sync", c_sync, "[--decoys N (default 8)] [--progress]",
     "index new blocks: bloom filters, then TQE queries"},
    {"history", c_history, "", "the wallet's transactions"},
    {"send", c_send,
     "--to PAYMENT-ADDRESS | --to ADDRESS --to-view VIEWKEY, --amount COINS [--fee auto] [--max-fee COINS (default "
     WALLET_DEFAULT_MAX_FEE_STR ")]",
     "pay confidentially"},
    {"deposit", c_deposit, "--amount COINS [--max-fee COINS (default " WALLET_DEFAULT_MAX_FEE_STR ")]",
     "bond outputs (at least COINS, whole outputs) into the staking account"},
    {"unbond", c_unbond, "--amount COINS", "start unbonding stake (public tx)"},
    {"withdraw", c_withdraw, "[--max-fee COINS (default " WALLET_DEFAULT_MAX_FEE_STR ")]",
     "move the unbonded stake into a time-locked output"},
    {NULL, NULL, NULL, NULL},
};

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
    o.tqe_prodid = o.tqe_min_svn = o.tqe_min_tcb = o.decoys = -1;
    o.wallet = getenv("VEIL_WALLET");
    int sub_argc = argc - 1;
    char **sub_argv = argv + 1;
    optind = 1;
    opterr = 0;
    int c, rc = 0;
    uint64_t n;
    bool bad = false;
    while (!bad && (c = getopt_long(sub_argc, sub_argv, "h", long_opts, NULL)) != -1) {
        switch (c) {
        case O_WALLET: o.wallet = optarg; break;
        case O_PASSFILE: o.pass_file = optarg; break;
        case O_RPC: bad = !copy_opt(o.rpc, sizeof o.rpc, optarg); break;
        case O_TQE: bad = !copy_opt(o.tqe, sizeof o.tqe, optarg); break;
        case O_TQE_ROOT: bad = !copy_opt(o.tqe_root, sizeof o.tqe_root, optarg); break;
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
        case O_TQE_MIN_TCB:
            bad = !cli_parse_u64(optarg, UINT16_MAX, &n);
            o.tqe_min_tcb = (long)n;
            break;
        case O_TQE_DEBUG: o.tqe_allow_debug = true; break;
        case O_TQE_OLD_TCB: o.tqe_allow_old_tcb = true; break;
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
            printf("usage: veil wallet %s --wallet FILE %s [--json]\n\n%s.\n\n%s", sc->name,
                   sc->usage, sc->summary, common_help);
            return 0;
        default: bad = true; break;
        }
    }
    if (bad) {
        rc = cli_usage_error("%s: invalid or unknown option '%s'", o.cmd, sub_argv[optind - 1]);
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
        rc = fail(&o, st);
        goto out;
    }
    rc = sc->run(&o);
out:
    sodium_memzero(&o, sizeof o);
    return rc;
}
