/* Devnet home layout, first-start preparation, RPC access and status. */
#include "tools/devnet.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "crypto/crypto_host.h"
#include "host/tve/tve_client.h"
#include "hostutil/fileio.h"
#include "hostutil/rpc_client.h"
#include "tee/tee.h"
#include "tee/sim/sim_host.h"
#include "trusted/tqe/tqe_abi.h"
#include "trusted/tve/tve_abi.h"
#include "veil/tve.pb-c.h"
#include "wallet/wallet.h"

static veil_status join(char *out, const char *home, const char *name)
{
    return veil_path_join(out, PATH_MAX, home, name);
}

uint16_t devnet_default_tqe_port(uint16_t rpc_port)
{
    if (rpc_port <= 65535 - DEVNET_TQE_PORT_OFFSET)
        return (uint16_t)(rpc_port + DEVNET_TQE_PORT_OFFSET);
    return (uint16_t)(rpc_port - DEVNET_TQE_PORT_OFFSET);
}

veil_status devnet_layout_init(devnet_layout *l, const char *home, uint16_t rpc_port)
{
    memset(l, 0, sizeof *l);
    ENSURE(strlen(home) < 200, VEIL_ERR_TOO_LARGE); /* sockets paths must fit sun_path */
    snprintf(l->home, sizeof l->home, "%s", home);
    TRY(join(l->platform, home, "platform"));
    TRY(join(l->tve_home, home, "tve"));
    TRY(join(l->node_home, home, "node"));
    TRY(join(l->chain_home, home, "chain"));
    TRY(join(l->tqe_home, home, "tqe"));
    TRY(join(l->run, home, "run"));
    TRY(join(l->logs, home, "logs"));
    TRY(join(l->tve_sock, l->run, "tve.sock"));
    TRY(join(l->abci_sock, l->run, "abci.sock"));
    TRY(join(l->config, home, "devnet.json"));
    TRY(join(l->accounts_file, home, "demo-accounts.json"));
    l->rpc_port = rpc_port;
    l->tqe_port = devnet_default_tqe_port(rpc_port);
    /* Set by the first start (a fresh id per devnet) or read from devnet.json. */
    l->chain_id[0] = '\0';
    return VEIL_OK;
}

/* The TVE image the services load sits next to this binary; the node accepts a TVE
 * only if it carries that image's signer. */
/* The identity an enclave image next to veil is signed with (its signature is checked). */
static veil_status image_identity(const char *image, tee_identity *id)
{
    char img[PATH_MAX];
    TRY(veil_enclave_image_path(image, img, sizeof img));
    return tee_image_identity(img, id);
}

static veil_status tve_signer(char hex[static 65])
{
    tee_identity id;
    TRY(image_identity(TVE_ENCLAVE_IMAGE, &id));
    veil_hex_encode(hex, id.mrsigner, sizeof id.mrsigner);
    return VEIL_OK;
}

/* Demo accounts are wallet seeds, derived exactly as `veil wallet` derives its keys, so
 * a wallet restored from one holds that account's funds. */
static veil_status account_from_seed(devnet_account *a)
{
    wallet_keys k;
    TRY(wallet_keys_from_seed(&k, a->seed));
    memcpy(a->sk, k.spend_sk, 32);
    memcpy(a->address, k.spend_pk, 32);
    memcpy(a->view_sk, k.view_sk, 32);
    memcpy(a->view_pk, k.view_pk, 32);
    veil_wipe(&k, sizeof k);
    return VEIL_OK;
}

static veil_status accounts_generate(devnet_layout *l)
{
    static const char *names[DEVNET_ACCOUNTS] = {"alice", "bob", "carol"};
    for (size_t i = 0; i < DEVNET_ACCOUNTS; i++) {
        devnet_account *a = &l->accounts[i];
        snprintf(a->name, sizeof a->name, "%s", names[i]);
        TRY(veil_random_bytes(a->seed, 32));
        TRY(account_from_seed(a));
    }
    return VEIL_OK;
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char buf[129];
    veil_hex_encode(buf, p, n);
    return json_string(buf);
}

static veil_status accounts_save(const devnet_layout *l)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < DEVNET_ACCOUNTS; i++) {
        const devnet_account *a = &l->accounts[i];
        json_array_append_new(arr, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "name", a->name,
                                             "seed", hex_json(a->seed, 32),
                                             "secret_key", hex_json(a->sk, 32), "address",
                                             hex_json(a->address, 32), "view_secret_key",
                                             hex_json(a->view_sk, 32), "view_key",
                                             hex_json(a->view_pk, 32)));
    }
    json_t *doc = json_pack("{s:s, s:o}", "warning",
                            "development keys of a local devnet; never use them elsewhere",
                            "accounts", arr);
    char *text = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    ENSURE(text != NULL, VEIL_ERR_NOMEM);
    veil_status st = veil_file_create_new(l->accounts_file, text, strlen(text), 0600);
    free(text);
    return st;
}

static veil_status hex_field(json_t *o, const char *key, uint8_t out[static 32])
{
    json_t *v = json_object_get(o, key);
    ENSURE(json_is_string(v), VEIL_ERR_MALFORMED);
    return veil_hex_decode_exact(out, 32, json_string_value(v), json_string_length(v));
}

static veil_status accounts_load(devnet_layout *l)
{
    json_error_t je;
    json_t *doc = json_load_file(l->accounts_file, 0, &je);
    if (doc == NULL) {
        veil_error_detail_set("%s: %s", l->accounts_file, je.text);
        return VEIL_ERR_MALFORMED;
    }
    veil_status st = VEIL_OK;
    json_t *arr = json_object_get(doc, "accounts");
    ENSURE_OUT(json_is_array(arr) && json_array_size(arr) == DEVNET_ACCOUNTS, VEIL_ERR_MALFORMED);
    for (size_t i = 0; i < DEVNET_ACCOUNTS; i++) {
        json_t *a = json_array_get(arr, i);
        json_t *name = json_object_get(a, "name");
        ENSURE_OUT(json_is_string(name), VEIL_ERR_MALFORMED);
        snprintf(l->accounts[i].name, sizeof l->accounts[i].name, "%s", json_string_value(name));
        TRY_OUT(hex_field(a, "seed", l->accounts[i].seed));
        TRY_OUT(account_from_seed(&l->accounts[i]));
    }
out:
    json_decref(doc);
    if (st != VEIL_OK && veil_error_detail()[0] == '\0')
        veil_error_detail_set("%s: unexpected content", l->accounts_file);
    return st;
}

/* Genesis state: alice and bob hold unbonded stake they can withdraw at once (funds
 * reach outputs only through the TVE), carol is a bonded staker. */
static veil_status app_state_write(const devnet_layout *l, const char *path)
{
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL) - 60);
    static const char *const bonded[DEVNET_ACCOUNTS] = {"0", "0", "2000000000"};
    static const char *const unbonded[DEVNET_ACCOUNTS] = {"1000000000", "500000000", "0"};
    json_t *accounts = json_array();
    for (size_t i = 0; i < DEVNET_ACCOUNTS; i++)
        json_array_append_new(accounts,
                              json_pack("{s:o, s:s, s:s, s:s, s:s}", "address",
                                        hex_json(l->accounts[i].address, 32), "bonded", bonded[i],
                                        "unbonded", unbonded[i], "unbonded_from", now, "nonce", "0"));
    /* Node joins may bind the devnet's TVE product (signer, product id, SVN). */
    json_t *pins = json_pack("[{s:s, s:i, s:i}]", "mrsigner", l->tve_mrsigner_hex, "prodid",
                             TVE_PRODID, "min_svn", TVE_SVN);
    char epoch_blocks[24], grace_blocks[24];
    snprintf(epoch_blocks, sizeof epoch_blocks, "%llu", (unsigned long long)l->key_epoch_blocks);
    snprintf(grace_blocks, sizeof grace_blocks, "%llu", (unsigned long long)l->key_grace_blocks);
    json_t *doc = json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:s, s:o}, s:o, s:[]}", "params",
                            "fee_rule", "at_least", "fee_base", "1000", "fee_per_byte", "10",
                            "unbonding_period", "4", "key_epoch_blocks", epoch_blocks,
                            "key_grace_blocks", grace_blocks, "accepted_enclaves", pins,
                            "accounts", accounts, "outputs");
    char *text = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    ENSURE(text != NULL, VEIL_ERR_NOMEM);
    veil_status st = veil_file_write_atomic(path, text, strlen(text), 0644);
    free(text);
    return st;
}

static veil_status config_save(const devnet_layout *l, const char *block_time)
{
    json_t *doc = json_pack("{s:s, s:i, s:s, s:s, s:i}", "chain_id", l->chain_id, "rpc_port",
                            (int)l->rpc_port, "block_time", block_time, "tve_mrsigner",
                            l->tve_mrsigner_hex, "tqe_port", (int)l->tqe_port);
    char *text = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    ENSURE(text != NULL, VEIL_ERR_NOMEM);
    veil_status st = veil_file_write_atomic(l->config, text, strlen(text), 0644);
    free(text);
    return st;
}

veil_status devnet_layout_load(devnet_layout *l, const char *home_arg)
{
    /* home_arg may point into *l, which devnet_layout_init clears. */
    char home[PATH_MAX], config[PATH_MAX];
    snprintf(home, sizeof home, "%s", home_arg);
    TRY(join(config, home, "devnet.json"));
    json_error_t je;
    json_t *doc = json_load_file(config, 0, &je);
    if (doc == NULL) {
        if (access(config, F_OK) != 0) {
            veil_error_detail_set("%s: no such file (is this a devnet home? start one with "
                                  "'veil devnet')",
                                  config);
            return VEIL_ERR_NOT_FOUND;
        }
        /* Damaged, not absent: a first start must never run over it (new keys, a new
         * chain) — the operator decides. */
        veil_error_detail_set("%s is damaged (%s); repair it or remove %s to start a new devnet",
                              config, je.text, home);
        return VEIL_ERR_MALFORMED;
    }
    json_int_t port = json_integer_value(json_object_get(doc, "rpc_port"));
    json_int_t tqe_port = json_integer_value(json_object_get(doc, "tqe_port"));
    const char *mrsigner = json_string_value(json_object_get(doc, "tve_mrsigner"));
    const char *chain_id = json_string_value(json_object_get(doc, "chain_id"));
    veil_status st = VEIL_OK;
    if (port <= 0 || port > 65535 || mrsigner == NULL || strlen(mrsigner) != 64) {
        veil_error_detail_set("%s: unexpected content", config);
        st = VEIL_ERR_MALFORMED;
    }
    if (st == VEIL_OK) st = devnet_layout_init(l, home, (uint16_t)port);
    if (st == VEIL_OK) {
        memcpy(l->tve_mrsigner_hex, mrsigner, 65);
        /* Homes made before chain ids were drawn per devnet used the fixed one. */
        snprintf(l->chain_id, sizeof l->chain_id, "%s",
                 chain_id != NULL && chain_id[0] != '\0' ? chain_id : DEVNET_CHAIN_ID);
        /* Homes made before the TQE joined the devnet have no tqe_port. */
        if (tqe_port > 0 && tqe_port <= 65535) l->tqe_port = (uint16_t)tqe_port;
        st = accounts_load(l);
    }
    json_decref(doc);
    return st;
}

pid_t devnet_spawn(const char *log, char *const argv[], bool own_group)
{
    char exe[PATH_MAX];
    if (veil_self_exe(exe, sizeof exe) != VEIL_OK) return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        if (log != NULL) {
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (fd >= 0) {
                dup2(fd, STDOUT_FILENO);
                dup2(fd, STDERR_FILENO);
            }
        }
        if (own_group) setpgid(0, 0);
        /* A service must not outlive the devnet: if the supervisor dies (even by
         * kill -9), the kernel sends its children SIGTERM. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) _exit(126);
        execv(exe, argv);
        _exit(127);
    }
    return pid;
}

int devnet_run(const char *log, char *const argv[])
{
    pid_t pid = devnet_spawn(log, argv, false);
    if (pid < 0) return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* DIR/wallets/: each demo account's seed (hex) and a wallet configuration for this
 * devnet (`cp` it next to a wallet FILE as FILE.config.json), rewritten at every start
 * because the ports may move. */
static veil_status wallets_write(const devnet_layout *l)
{
    char dir[PATH_MAX], path[PATH_MAX], root[PATH_MAX + 64], tqe[64], rpc[64];
    TRY(join(dir, l->home, "wallets"));
    TRY(veil_mkdir_p(dir, 0700));
    for (size_t i = 0; i < DEVNET_ACCOUNTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s.seed", l->accounts[i].name);
        TRY(join(path, dir, name));
        TRY(wallet_seed_file_write(path, l->accounts[i].seed));
    }
    devnet_collateral(l, root, sizeof root);
    snprintf(tqe, sizeof tqe, "127.0.0.1:%u", l->tqe_port);
    snprintf(rpc, sizeof rpc, "http://127.0.0.1:%u", l->rpc_port);
    /* The TQE is pinned by its signer, product id and SVN, never the signer alone: the
     * same key signs other enclaves (the TVE; any test image of a developer's build). */
    tee_identity tqe_id;
    char tqe_signer[65];
    TRY(image_identity(TQE_ENCLAVE_IMAGE, &tqe_id));
    veil_hex_encode(tqe_signer, tqe_id.mrsigner, sizeof tqe_id.mrsigner);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i}", "rpc", rpc, "tqe", tqe,
                            "tqe_collateral", root, "tqe_mrsigner", tqe_signer, "tqe_prodid",
                            (int)tqe_id.prodid, "tqe_min_svn", (int)tqe_id.svn);
    char *text = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    ENSURE(text != NULL, VEIL_ERR_NOMEM);
    veil_status st = join(path, dir, "devnet.config.json");
    if (st == VEIL_OK) st = veil_file_write_atomic(path, text, strlen(text), 0644);
    free(text);
    return st;
}

veil_status devnet_prepare(devnet_layout *l, const char *block_time)
{
    TRY(veil_mkdir_p(l->home, 0700));
    TRY(veil_mkdir_p(l->run, 0700));
    TRY(veil_mkdir_p(l->logs, 0700));
    uint16_t port = l->rpc_port, tqe_port = l->tqe_port;
    veil_status st = devnet_layout_load(l, l->home);
    if (st == VEIL_OK) {
        l->rpc_port = port; /* a restart may move the RPC and the TQE */
        l->tqe_port = tqe_port;
        TRY(wallets_write(l));
        return config_save(l, block_time);
    }
    if (st != VEIL_ERR_NOT_FOUND) return st;
    veil_error_detail_clear();

    /* First start (or one that did not finish: devnet.json is written last). Keys are
     * never drawn twice: accounts a previous attempt saved are loaded, not replaced. */
    TRY(tve_signer(l->tve_mrsigner_hex));
    if (access(l->accounts_file, F_OK) == 0) {
        TRY(accounts_load(l));
    } else {
        TRY(accounts_generate(l));
        TRY(accounts_save(l));
    }
    /* A chain id of its own, so a wallet bound to one devnet refuses every other. */
    uint8_t rnd[4];
    char rhex[9];
    TRY(veil_random_bytes(rnd, sizeof rnd));
    veil_hex_encode(rhex, rnd, sizeof rnd);
    snprintf(l->chain_id, sizeof l->chain_id, "%s-%s", DEVNET_CHAIN_ID, rhex);
    char app_state[PATH_MAX];
    TRY(join(app_state, l->home, "app_state.json"));
    TRY(app_state_write(l, app_state));
    char *argv[] = {"veil", "devchain", "init", "--home", l->chain_home, "--chain-id", l->chain_id,
                    "--app-state", app_state, NULL};
    if (devnet_run(NULL, argv) != 0) {
        veil_error_detail_set("'veil devchain init' failed");
        return VEIL_ERR_IO;
    }
    TRY(wallets_write(l));
    /* Written last: its presence marks a complete first start. */
    return config_save(l, block_time);
}

/* --- RPC ------------------------------------------------------------------------ */
veil_status devnet_rpc_get(const devnet_layout *l, const char *path_and_query, json_t **result)
{
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%u", l->rpc_port);
    return veil_rpc_get(base, path_and_query, 30000L, 64u << 20, result);
}

/* --- status --------------------------------------------------------------------- */
static const char *jstr(json_t *o, const char *path)
{
    /* "a.b.c" lookups over objects */
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = o;
    for (char *tok = strtok(buf, "."); tok != NULL && cur != NULL; tok = strtok(NULL, "."))
        cur = json_object_get(cur, tok);
    return json_is_string(cur) ? json_string_value(cur) : "?";
}

bool devnet_tqe_listening(const devnet_layout *l)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(l->tqe_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

void devnet_collateral(const devnet_layout *l, char *out, size_t cap)
{
    snprintf(out, cap, "%s/provisioning-root/%s", l->platform, SIM_COLLATERAL_FILE);
}

/* The TVE's status at endpoint as JSON: identity, key epoch, whether it holds the
 * chain's key, last height and app hash; or {error, detail} (*ok false). */
json_t *devnet_tve_status(const char *endpoint, bool *ok)
{
    tve_client *c = NULL;
    Veil__Tve__Response *resp = NULL;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__StatusRequest sr = VEIL__TVE__STATUS_REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_STATUS;
    req.status = &sr;
    veil_status s = tve_client_open(endpoint, 5000, &c);
    if (s == VEIL_OK) s = tve_client_call(c, &req, VEIL__TVE__RESPONSE__RESPONSE_STATUS, 0, &resp);
    json_t *j;
    if (s == VEIL_OK) {
        Veil__Tve__StatusResponse *r = resp->status;
        char mre[65] = "", mrs[65] = "", hash[65] = "";
        if (r->mrenclave.len == 32) veil_hex_encode(mre, r->mrenclave.data, 32);
        if (r->mrsigner.len == 32) veil_hex_encode(mrs, r->mrsigner.data, 32);
        if (r->last_app_hash.len == 32) veil_hex_encode(hash, r->last_app_hash.data, 32);
        j = json_pack("{s:s, s:s, s:i, s:b, s:I, s:b, s:I, s:s}", "mrenclave", mre, "mrsigner",
                      mrs, "svn", (int)r->svn, "debug", r->debug, "key_epoch",
                      (json_int_t)r->key_epoch, "holds_key", r->key_commitment.len == 32,
                      "last_height", (json_int_t)r->last_height, "last_app_hash", hash);
        json_t *held = json_array();
        for (size_t i = 0; i < r->n_held_epochs; i++)
            json_array_append_new(held, json_integer((json_int_t)r->held_epochs[i]));
        json_object_set_new(j, "held_epochs", held);
        json_object_set_new(j, "destroyed_below", json_integer((json_int_t)r->destroyed_below));
        veil__tve__response__free_unpacked(resp, NULL);
    } else {
        j = json_pack("{s:s, s:s}", "error", veil_status_str(s), "detail", veil_error_detail());
    }
    tve_client_close(c);
    *ok = s == VEIL_OK;
    return j;
}



int devnet_print_status(const devnet_layout *l, bool json, devnet_tqe_status_fn tqe_status)
{
    int rc = 0;
    json_t *st = NULL, *out = json_object();
    veil_status s = devnet_rpc_get(l, "status", &st);
    if (s == VEIL_OK) {
        json_object_set_new(out, "chain",
                            json_pack("{s:s, s:s, s:s, s:s}", "chain_id",
                                      jstr(st, "node_info.network"), "height",
                                      jstr(st, "sync_info.latest_block_height"), "app_hash",
                                      jstr(st, "sync_info.latest_app_hash"), "time",
                                      jstr(st, "sync_info.latest_block_time")));
    } else {
        json_object_set_new(out, "chain", json_pack("{s:s}", "error", veil_error_detail()));
        rc = 1;
    }
    json_decref(st);

    char endpoint[PATH_MAX + 8];
    snprintf(endpoint, sizeof endpoint, "ipc://%s", l->tve_sock);
    bool tve_ok;
    json_object_set_new(out, "tve", devnet_tve_status(endpoint, &tve_ok));
    if (!tve_ok) rc = 1;
    if (tqe_status != NULL) json_object_set_new(out, "tqe", tqe_status(l));

    if (json) {
        char *text = json_dumps(out, JSON_INDENT(2));
        printf("%s\n", text);
        free(text);
    } else {
        json_t *ch = json_object_get(out, "chain"), *tv = json_object_get(out, "tve");
        if (json_object_get(ch, "error") == NULL)
            printf("chain  %s  height %s  app hash %s  time %s\n", jstr(ch, "chain_id"),
                   jstr(ch, "height"), jstr(ch, "app_hash"), jstr(ch, "time"));
        else
            printf("chain  not answering: %s\n", jstr(ch, "error"));
        if (json_object_get(tv, "error") == NULL)
            printf("tve    last height %lld  key epoch %lld  svn %lld%s\n"
                   "       mrenclave %s\n       mrsigner  %s\n",
                   (long long)json_integer_value(json_object_get(tv, "last_height")),
                   (long long)json_integer_value(json_object_get(tv, "key_epoch")),
                   (long long)json_integer_value(json_object_get(tv, "svn")),
                   json_is_true(json_object_get(tv, "debug")) ? "  DEBUG" : "",
                   jstr(tv, "mrenclave"), jstr(tv, "mrsigner"));
        else
            printf("tve    not answering: %s (%s)\n", jstr(tv, "error"), jstr(tv, "detail"));
        json_t *tq = json_object_get(out, "tqe");
        if (tq == NULL) {
        } else if (json_object_get(tq, "error") == NULL)
            printf("tqe    %s  svn %lld%s  (RA-TLS certificate verified, TCB %s)\n"
                   "       mrenclave %s\n       mrsigner  %s\n"
                   "       wallet flags: --tqe %s --tqe-collateral %s --tqe-mrsigner %s\n",
                   jstr(tq, "address"), (long long)json_integer_value(json_object_get(tq, "svn")),
                   json_is_true(json_object_get(tq, "debug")) ? "  DEBUG" : "",
                   jstr(tq, "tcb_status"), jstr(tq, "mrenclave"), jstr(tq, "mrsigner"),
                   jstr(tq, "address"),
                   jstr(tq, "collateral"), jstr(tq, "mrsigner"));
        else
            printf("tqe    not answering: %s (%s)\n", jstr(tq, "error"), jstr(tq, "detail"));
    }
    json_decref(out);
    return rc;
}
