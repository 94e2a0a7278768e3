/* veil-bench-devnet: confidential transfers through the whole devnet, from
 * broadcast_tx_sync to commit, next to the TVE's own block-path figure.
 * veil-bench-testnet (this file built with BENCH_TESTNET): the same transfers through a
 * `veil testnet` of 4 validators under CometBFT, broadcast round-robin to the four RPCs
 * by 96 threads, the chain polled every 20 ms (testnet_confidential_tx_per_s,
 * testnet_commit_p50_ms, testnet_commit_p99_ms); the txs are encrypted through v0's
 * TVE, and every validator's TVE verifies them.
 *
 * In one run, in a temporary devnet home (removed at exit):
 *   1. `<build>/veil devnet --home TMP --rpc-port <free> --block-time 1s` as a child;
 *   2. funding fan-out, one committed round at a time: alice withdraws her unbonded
 *      stake into one output, a transfer splits it into 64, 64 transfers split those
 *      into 64 each (4096), and, if more are needed, a third round splits some of
 *      those again; every tx is signed by alice and encrypted by the devnet's TVE the
 *      wallet way (TQE seal in this process -> EncryptRequest), as `veil devnet demo`
 *      does;
 *   3. N 2-input/2-output transfers (veil-bench-tve's shape) spending two fan-out
 *      outputs each, encrypted BEFORE timing (encryption is the wallet's path, not the
 *      chain's);
 *   4. timed: BROADCASTERS threads send them with broadcast_tx_sync (keeping fewer than
 *      the mempool's limit in flight) while a poller follows the chain (status, block,
 *      block_results) and notes when each tx's block was first seen committed:
 *        devnet_confidential_tx_per_s  N / (last commit seen - first broadcast)
 *        devnet_commit_p50_ms          p50 over txs of (commit seen - broadcast sent)
 *   5. the devnet is stopped (SIGINT) and `veil-bench-tve` (next to this program) runs
 *      alone, without its large-store sizes; its tve_block_tx_per_s (same tx shape) is
 *      quoted in a context line with the ratio.
 * Any refused or failed tx is fatal (exit 1). VEIL_BENCH_DEVNET_TXS overrides N.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "bench.h"
#include "common/hex.h"
#include "crypto/crypto.h"
#include "crypto/crypto_host.h"
#include "chain/cmt_time.h"
#include "chain/node_tx.h"
#include "host/tve/tve_client.h"
#include "host/tqe/tqe_handoff.h"
#include "hostutil/fileio.h"
#include "hostutil/rpc_client.h"
#include "tee/tee.h"
#include "tools/devnet.h"
#include "wallet/wallet.h"
#include "trusted/tqe/tqe_abi.h"
#include "trusted/tx/tx.h"
#include "veil/node.pb-c.h"
#include "veil/tve.pb-c.h"

#define FAN 64             /* outputs per fan-out transfer (VEIL_TX_MAX_OUTPUTS) */
/* Timed transfers, unless VEIL_BENCH_DEVNET_TXS (fewer): also the most alice's genesis
 * stake funds, 65536 fan-out outputs each worth half a 2-input transfer's fee at least. */
#define DEFAULT_TXS 32768
#ifdef BENCH_TESTNET
#define TXS_ENV "VEIL_BENCH_TESTNET_TXS"
#define NET_DEFAULT_TXS 16384
#else
#define TXS_ENV "VEIL_BENCH_DEVNET_TXS"
#define NET_DEFAULT_TXS DEFAULT_TXS
#endif
#ifndef BROADCASTERS
#define BROADCASTERS 16 /* client threads */
#endif
/* How often the chain's height is polled in the timed phase: the resolution of the
 * latency figures, and load on the polled node's RPC. */
#ifdef BENCH_TESTNET
#define POLL_MS 20
#else
#define POLL_MS 5
#endif
#define MAX_IN_FLIGHT 4900 /* broadcast but not yet committed (mempool holds < 5000) */
#define MAX_BLOCKS 256
#define ROUND_TIMEOUT_S 60
#define TIMED_TIMEOUT_S 90

typedef struct utxo {
    uint8_t txid[32];
    uint32_t index;
    uint64_t value;
} utxo;

typedef struct chain_tx {
    uint8_t *bytes; /* ChainTx */
    size_t len;
    char *url;       /* broadcast_tx_sync?tx=0x... */
    uint8_t hash[32]; /* SHA-256(ChainTx): the RPC's tx hash */
    uint8_t txid[32];
    uint64_t out_value, out0_value; /* outputs[1..] and outputs[0] (the remainder) */
    double sent, acked, committed; /* bench_now() */
    uint64_t height;
} chain_tx;

#ifdef BENCH_TESTNET
#define NET "testnet"
#define TESTNET_VALIDATORS 4
#else
#define NET "devnet"
#endif

static struct {
    char dir[64], home[96], out_file[128];
    char veil_bin[PATH_MAX], bench_dir[PATH_MAX];
    bool have_dir;
    pid_t devnet;
    devnet_layout l;
    /* What the network is, whichever kind: */
    char rpc_base[8][64]; /* http://127.0.0.1:PORT of each member; [0] is polled */
    size_t n_rpc;
    char chain_id[65]; /* VEIL_TX chain id: at most 64 bytes */
    char platform_dir[PATH_MAX], tve_sock[PATH_MAX]; /* the member that encrypts */
    devnet_account alice;
    tee_platform *platform;
    tee_enclave *tqe;
    tve_client *tve;
    Veil__Node__Params *params;
    uint64_t tip_time;
    /* timed phase */
    chain_tx *txs;
    size_t n;
    size_t *order; /* indices of txs sorted by hash */
    atomic_size_t next, committed, throttled_ms;
    atomic_int failed;
    char fail_msg[512];
    pthread_mutex_t fail_lock;
    uint64_t first_height, last_height, max_block_txs, blocks;
    struct {
        uint64_t height, txs;
        double seen, header_time; /* bench_now(); header time in unix seconds */
    } blk[MAX_BLOCKS];
} g;

static void cleanup(void)
{
    tve_client_close(g.tve);
    g.tve = NULL;
    tee_enclave_destroy(g.tqe);
    g.tqe = NULL;
    tee_platform_close(g.platform);
    g.platform = NULL;
    if (g.devnet > 0) {
        /* On failure, the tail of the devnet's output helps. */
        bench_child_stop(&g.devnet, SIGINT, "the " NET);
    }
    if (g.have_dir) veil_remove_tree(g.dir);
    g.have_dir = false;
}

static uint64_t chain_height(uint64_t *block_time);

static void check_stop(void)
{
    if (bench_interrupted()) bench_die("interrupted");
}

/* `veil ARGV...` as the network's child (g.devnet), its output in g.out_file, in its own
 * process group: a terminal's Ctrl-C reaches the bench, which stops the network. */
static pid_t net_spawn(char *const argv[])
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) bench_die("fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(g.out_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) _exit(126);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        setpgid(0, 0);
        execv(g.veil_bin, argv);
        _exit(127);
    }
    g.devnet = pid;
    return pid;
}

#ifndef BENCH_TESTNET
static void devnet_start(uint16_t port)
{
    /* The TQE's port explicitly too: its default (RPC port + 13) is not checked for being
     * free, and near an ephemeral port it may well be taken. */
    char port_s[16], tqe_port_s[16];
    snprintf(port_s, sizeof port_s, "%u", port);
    snprintf(tqe_port_s, sizeof tqe_port_s, "%u", bench_free_port());
    char *argv[] = {"veil",       "devnet", "--home",     g.home, "--rpc-port", port_s,
                    "--tqe-port", tqe_port_s, "--block-time", "1s", NULL};
    pid_t pid = net_spawn(argv);
    double t0 = bench_now();
    while (!bench_file_has(g.out_file, "devnet running")) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            g.devnet = 0;
            bench_dump_file(g.out_file);
            bench_die("veil devnet exited during start-up (wait status %d)", status);
        }
        if (bench_now() - t0 > 60) {
            bench_dump_file(g.out_file);
            bench_die("veil devnet did not report 'devnet running' in 60 s");
        }
        check_stop();
        usleep(50 * 1000);
    }
    bench_note("devnet: started in %.1f s (rpc port %u, block time 1 s)", bench_now() - t0, port);
}
#endif

#ifdef BENCH_TESTNET
/* `veil testnet init` (4 validators) and `veil testnet start` as a child; returns once
 * every member's TVE holds the chain's key and the chain is past height 2. */
static void testnet_start(void)
{
    char n_s[8], cmd[2 * PATH_MAX + 128];
    snprintf(n_s, sizeof n_s, "%d", TESTNET_VALIDATORS);
    snprintf(cmd, sizeof cmd, "%s testnet init --home %s --validators %s >%s/init.out 2>&1",
             g.veil_bin, g.home, n_s, g.dir);
    double t0 = bench_now();
    if (system(cmd) != 0) {
        snprintf(cmd, sizeof cmd, "%s/init.out", g.dir);
        bench_dump_file(cmd);
        bench_die("veil testnet init failed (is CometBFT installed? scripts/install-deps)");
    }
    char *argv[] = {"veil", "testnet", "start", "--home", g.home, NULL};
    pid_t pid = net_spawn(argv);
    char manifest[160];
    snprintf(manifest, sizeof manifest, "%s/testnet.json", g.home);
    json_t *m = json_load_file(manifest, 0, NULL);
    json_t *vals = json_object_get(m, "validators");
    if (!json_is_array(vals) || json_array_size(vals) != TESTNET_VALIDATORS)
        bench_die("%s: not a testnet manifest of %d validators", manifest, TESTNET_VALIDATORS);
    snprintf(g.chain_id, sizeof g.chain_id, "%s",
             json_string_value(json_object_get(m, "chain_id")));
    for (size_t i = 0; i < TESTNET_VALIDATORS; i++)
        snprintf(g.rpc_base[i], sizeof g.rpc_base[i], "http://127.0.0.1:%lld",
                 (long long)json_integer_value(
                     json_object_get(json_array_get(vals, i), "rpc_port")));
    g.n_rpc = TESTNET_VALIDATORS;
    json_decref(m);
    snprintf(g.platform_dir, sizeof g.platform_dir, "%s/v0/platform", g.home);
    snprintf(g.tve_sock, sizeof g.tve_sock, "%s/v0/tve.sock", g.home);
    char seed_path[160], *hex = NULL;
    snprintf(seed_path, sizeof seed_path, "%s/wallets/alice.seed", g.home);
    wallet_keys k;
    if (veil_file_read_text(seed_path, 256, &hex, NULL) != VEIL_OK ||
        veil_hex_decode_exact(g.alice.seed, 32, hex, 64) != VEIL_OK ||
        wallet_keys_from_seed(&k, g.alice.seed) != VEIL_OK)
        bench_die("%s: not a wallet seed", seed_path);
    free(hex);
    snprintf(g.alice.name, sizeof g.alice.name, "alice");
    memcpy(g.alice.sk, k.spend_sk, 32);
    memcpy(g.alice.address, k.spend_pk, 32);
    memcpy(g.alice.view_sk, k.view_sk, 32);
    memcpy(g.alice.view_pk, k.view_pk, 32);
    veil_wipe(&k, sizeof k);
    /* Every member holds the key (its TDBE fetched it), and the chain runs. */
    for (size_t i = 1; i < TESTNET_VALIDATORS; i++) {
        char log[160];
        snprintf(log, sizeof log, "%s/v%zu/tve.log", g.home, i);
        while (!bench_file_has(log, "holds the chain's key")) {
            int status;
            if (waitpid(pid, &status, WNOHANG) == pid) {
                g.devnet = 0;
                bench_dump_file(g.out_file);
                bench_die("veil testnet start exited (wait status %d)", status);
            }
            if (bench_now() - t0 > 120) bench_die("v%zu's TVE has no key after 120 s", i);
            check_stop();
            usleep(100 * 1000);
        }
    }
    while (chain_height(NULL) < 2) {
        if (bench_now() - t0 > 120) bench_die("the testnet did not reach height 2 in 120 s");
        check_stop();
        usleep(100 * 1000);
    }
    bench_note("testnet: %d validators under CometBFT, every TVE holding the chain's key, in "
               "%.1f s", TESTNET_VALIDATORS, bench_now() - t0);
}
#endif

/* --- RPC ---------------------------------------------------------------------------- */
static json_t *rpc(const char *path)
{
    json_t *r;
    veil_status st = veil_rpc_get(g.rpc_base[0], path, 30000L, 64u << 20, &r);
    if (st != VEIL_OK) bench_die("rpc %.80s: %s (%s)", path, veil_status_str(st), veil_error_detail());
    return r;
}

static void abci_query(const char *path, uint8_t **value, size_t *len)
{
    char q[512];
    snprintf(q, sizeof q, "abci_query?path=%%22%s%%22", path);
    json_t *r = rpc(q);
    json_t *resp = json_object_get(r, "response");
    const char *b64 = json_string_value(json_object_get(resp, "value"));
    if (json_integer_value(json_object_get(resp, "code")) != 0 || b64 == NULL)
        bench_die("query %s: %s", path, json_string_value(json_object_get(resp, "log")));
    size_t cap = strlen(b64) + 1;
    *value = malloc(cap);
    if (*value == NULL || sodium_base642bin(*value, cap, b64, strlen(b64), NULL, len, NULL,
                                            sodium_base64_VARIANT_ORIGINAL) != 0)
        bench_die("query %s: bad base64", path);
    json_decref(r);
}

static Veil__Node__Account *account_get(const uint8_t addr[32])
{
    char path[128], hex[65];
    veil_hex_encode(hex, addr, 32);
    snprintf(path, sizeof path, "/account/%s", hex);
    uint8_t *v;
    size_t n;
    abci_query(path, &v, &n);
    Veil__Node__Account *a = veil__node__account__unpack(NULL, n, v);
    free(v);
    if (a == NULL) bench_die("account: bad encoding");
    return a;
}

static uint64_t chain_height(uint64_t *block_time)
{
    json_t *r = rpc("status");
    json_t *si = json_object_get(r, "sync_info");
    const char *h = json_string_value(json_object_get(si, "latest_block_height"));
    const char *t = json_string_value(json_object_get(si, "latest_block_time"));
    if (h == NULL || t == NULL) bench_die("status: no sync_info");
    uint64_t height = strtoull(h, NULL, 10);
    if (block_time != NULL) {
        cmt_timestamp ts;
        if (cmt_time_parse(t, &ts) != VEIL_OK) bench_die("status: bad time %s", t);
        *block_time = (uint64_t)ts.seconds;
    }
    json_decref(r);
    return height;
}

/* One reusable connection per thread. */
typedef struct membuf {
    char *p;
    size_t len, cap;
} membuf;

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    membuf *b = ctx;
    size_t add = size * n;
    if (b->len + add + 1 > b->cap) {
        size_t cap = (b->len + add + 1) * 2;
        char *q = realloc(b->p, cap);
        if (q == NULL) return 0;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, add);
    b->len += add;
    b->p[b->len] = '\0';
    return add;
}

/* broadcast_tx_sync: NULL if accepted (code 0), else why (static per thread). */
static const char *broadcast_sync(CURL *c, membuf *body, const chain_tx *t, size_t which)
{
    static _Thread_local char why[512];
    char url[64 + 2 * VEIL_TX_MAX_WIRE_LEN + 256];
    snprintf(url, sizeof url, "%s/%s", g.rpc_base[which % g.n_rpc], t->url);
    body->len = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        snprintf(why, sizeof why, "%s", curl_easy_strerror(rc));
        return why;
    }
    json_error_t je;
    json_t *doc = json_loadb(body->p ? body->p : "", body->len, 0, &je);
    if (doc == NULL) return "answer is not JSON";
    json_t *err = json_object_get(doc, "error");
    json_t *res = json_object_get(doc, "result");
    const char *out = NULL;
    if (err != NULL) {
        snprintf(why, sizeof why, "%s: %s", json_string_value(json_object_get(err, "message")),
                 json_string_value(json_object_get(err, "data")));
        out = why;
    } else if (json_integer_value(json_object_get(res, "code")) != 0) {
        snprintf(why, sizeof why, "CheckTx code %lld: %s",
                 (long long)json_integer_value(json_object_get(res, "code")),
                 json_string_value(json_object_get(res, "log")));
        out = why;
    }
    json_decref(doc);
    return out;
}

/* --- building and encrypting (as src/tools/devnet_demo.c) --------------------------- */
typedef struct built {
    uint8_t body[VEIL_TX_MAX_BODY_LEN];
    size_t body_len;
    uint8_t txid[32];
    uint8_t payload[VEIL_TX_MAX_PAYLOAD_LEN];
    size_t payload_len;
    size_t n_inputs; /* public inputs: one spent flag each in the order */
    uint64_t fee;
} built;

/* Witnesses a body carries: one per input of a transfer, the account's for a withdraw. */
static size_t n_witnesses(const veil_tx_body *body)
{
    return body->kind == VEIL_TX_KIND_TRANSFER ? body->n_inputs : 1;
}

/* Every input is alice's, so `signer` signs for each. */
static void build(veil_tx_body *body, const uint8_t signer[32], built *b)
{
    uint8_t wit[2][VEIL_TX_WITNESS_LEN], aux[32];
    size_t n_wit = n_witnesses(body);
    if (n_wit > 2) bench_die("at most 2 witnesses here");
    if (veil_tx_body_encode(body, b->body, sizeof b->body, &b->body_len) != VEIL_OK)
        bench_die("tx body encode");
    b->n_inputs = body->n_inputs;
    veil_tx_id(b->txid, b->body, b->body_len);
    for (size_t i = 0; i < n_wit; i++)
        if (veil_random_bytes(aux, sizeof aux) != VEIL_OK ||
            veil_schnorr_sign(wit[i], b->txid, 32, signer, aux) != VEIL_OK)
            bench_die("sign");
    if (veil_tx_payload_encode(b->body, b->body_len, (const uint8_t(*)[64])wit, n_wit, b->payload,
                               sizeof b->payload, &b->payload_len) != VEIL_OK)
        bench_die("payload encode");
}

/* Splits `in` (minus the fee) over the body's outputs; the fee covers the tx's own size
 * (the demo's iteration: values depend on the fee, the size on the values). */
static void build_split(veil_tx_body *body, uint64_t in, const uint8_t signer[32], built *b)
{
    uint64_t fee = 0, need = 0;
    for (int i = 0; i < 8; i++) {
        if (fee >= in) bench_die("fee %llu exceeds the input %llu", (unsigned long long)fee,
                                 (unsigned long long)in);
        uint64_t each = (in - fee) / body->n_outputs;
        for (size_t k = 0; k < body->n_outputs; k++) body->outputs[k].value = each;
        body->outputs[0].value += (in - fee) - each * body->n_outputs;
        build(body, signer, b);
        uint64_t size;
        veil_tx_params p = {.fee_base = g.params->fee_base, .fee_per_byte = g.params->fee_per_byte};
        if (veil_tx_size(b->body_len, n_witnesses(body), &size) != VEIL_OK ||
            veil_tx_min_fee(&p, size, &need) != VEIL_OK)
            bench_die("min fee");
        if (need <= fee) {
            b->fee = fee;
            return;
        }
        fee = need;
    }
    bench_die("fee iteration did not converge");
}

/* TQE seals the payload, the TVE encrypts it; fills t's ChainTx, hash and URL. */
static void encrypt(const built *b, const Veil__Node__Account *acct, chain_tx *t)
{
    uint8_t sealed[TQE_ORDER_MAX + TEE_SEAL_OVERHEAD_MAX];
    uint8_t order[TQE_ORDER_MAX];
    size_t sealed_len;
    /* The order carries the state the TVE judges it against, as the TQE's light client
     * proves it for wallets: the chain's parameters, the account, and the inputs (every
     * one unspent: the fan-out spends each output once). */
    Veil__Tve__ChainParams params = VEIL__TVE__CHAIN_PARAMS__INIT;
    params.chain_id = g.chain_id;
    params.block_time = g.tip_time;
    params.fee_base = g.params->fee_base;
    params.fee_per_byte = g.params->fee_per_byte;
    params.fee_rule = (Veil__Tve__FeeRule)g.params->fee_rule;
    Veil__Tve__AccountState as = VEIL__TVE__ACCOUNT_STATE__INIT;
    protobuf_c_boolean spent[VEIL_TX_MAX_INPUTS] = {0};
    Veil__Tve__EncryptOrder o = VEIL__TVE__ENCRYPT_ORDER__INIT;
    o.payload.data = (uint8_t *)b->payload;
    o.payload.len = b->payload_len;
    o.fee = b->fee;
    o.params = &params;
    o.n_input_spent = b->n_inputs;
    o.input_spent = spent;
    if (acct != NULL) {
        as.address = acct->address;
        as.bonded = acct->bonded;
        as.unbonded = acct->unbonded;
        as.unbonded_from = acct->unbonded_from;
        as.nonce = acct->nonce;
        as.jailed_until = acct->jailed_until;
        o.account = &as;
    }
    if (veil__tve__encrypt_order__get_packed_size(&o) > sizeof order) bench_die("order too large");
    size_t order_len = veil__tve__encrypt_order__pack(&o, order);
    veil_status st = tee_enclave_call(g.tqe, TQE_E_SEAL_PAYLOAD, order, order_len, sealed,
                                      sizeof sealed, &sealed_len);
    if (st != VEIL_OK) bench_die("TQE seal: %s", veil_status_str(st));
    Veil__Tve__EncryptRequest er = VEIL__TVE__ENCRYPT_REQUEST__INIT;
    er.sealed_order.data = sealed;
    er.sealed_order.len = sealed_len;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_ENCRYPT;
    req.encrypt = &er;
    Veil__Tve__Response *resp;
    st = tve_client_call(g.tve, &req, VEIL__TVE__RESPONSE__RESPONSE_ENCRYPT, 0, &resp);
    if (st != VEIL_OK)
        bench_die("the TVE refused to encrypt: %s (%s)", veil_status_str(st), veil_error_detail());
    uint8_t out[VEIL_TX_MAX_WIRE_LEN + 64];
    if (node_confidential_tx_encode(resp->encrypt->tx.data, resp->encrypt->tx.len, out, sizeof out,
                                    &t->len) != VEIL_OK)
        bench_die("ChainTx encode");
    veil__tve__response__free_unpacked(resp, NULL);
    t->bytes = malloc(t->len);
    t->url = malloc(2 * t->len + 32);
    if (t->bytes == NULL || t->url == NULL) bench_die("out of memory");
    memcpy(t->bytes, out, t->len);
    memcpy(t->txid, b->txid, 32);
    veil_sha256(t->hash, t->bytes, t->len);
    int k = snprintf(t->url, 32, "broadcast_tx_sync?tx=0x");
    veil_hex_encode(t->url + k, t->bytes, t->len);
}

static void chain_tx_free(chain_tx *t)
{
    free(t->bytes);
    free(t->url);
    t->bytes = NULL;
    t->url = NULL;
}

static void body_init(veil_tx_body *body, veil_tx_kind kind)
{
    memset(body, 0, sizeof *body);
    body->version = VEIL_TX_VERSION;
    snprintf(body->chain_id, sizeof body->chain_id, "%s", g.chain_id);
    body->kind = kind;
    randombytes_buf(body->blinding, sizeof body->blinding);
}

/* A transfer of alice's `in` to n_out outputs of hers. */
static void make_split(const utxo *in, size_t n_out, chain_tx *t, built *b)
{
    const devnet_account *alice = &g.alice;
    veil_tx_body body;
    body_init(&body, VEIL_TX_KIND_TRANSFER);
    body.n_inputs = 1;
    memcpy(body.inputs[0].txid, in->txid, 32);
    body.inputs[0].index = in->index;
    body.n_outputs = n_out;
    for (size_t k = 0; k < n_out; k++) memcpy(body.outputs[k].address, alice->address, 32);
    body.n_view_keys = 1;
    memcpy(body.view_keys[0], alice->view_pk, 32);
    build_split(&body, in->value, alice->sk, b);
    encrypt(b, NULL, t);
    t->out_value = body.outputs[1 % n_out].value; /* outputs[0] carries the remainder */
    t->out0_value = body.outputs[0].value;
}

/* The timed shape, the TVE bench's: alice's two outputs to two outputs of hers. */
static void make_transfer2(const utxo in[2], chain_tx *t, built *b)
{
    const devnet_account *alice = &g.alice;
    veil_tx_body body;
    body_init(&body, VEIL_TX_KIND_TRANSFER);
    body.n_inputs = 2;
    for (size_t i = 0; i < 2; i++) {
        memcpy(body.inputs[i].txid, in[i].txid, 32);
        body.inputs[i].index = in[i].index;
    }
    body.n_outputs = 2;
    for (size_t k = 0; k < 2; k++) memcpy(body.outputs[k].address, alice->address, 32);
    body.n_view_keys = 1;
    memcpy(body.view_keys[0], alice->view_pk, 32);
    build_split(&body, in[0].value + in[1].value, alice->sk, b);
    encrypt(b, NULL, t);
}

/* --- committed rounds (fan-out) ----------------------------------------------------- */
/* Broadcasts every tx (sync), then waits until each is in a committed block with code 0. */
static void round_commit(chain_tx *txs, size_t n, const char *what)
{
    CURL *c = curl_easy_init();
    membuf body = {0};
    if (c == NULL) bench_die("curl");
    for (size_t i = 0; i < n; i++) {
        /* To the member whose commits round_commit watches: another may not have
         * committed the previous round's block yet. */
        const char *why = broadcast_sync(c, &body, &txs[i], 0);
        if (why != NULL) bench_die("%s: tx %zu refused: %s", what, i, why);
    }
    curl_easy_cleanup(c);
    free(body.p);
    double t0 = bench_now();
    for (size_t i = 0; i < n;) {
        char q[128], hex[65];
        veil_hex_encode(hex, txs[i].hash, 32);
        snprintf(q, sizeof q, "tx?hash=0x%s", hex);
        json_t *r;
        if (veil_rpc_get(g.rpc_base[0], q, 30000L, 64u << 20, &r) == VEIL_OK) {
            json_t *res = json_object_get(r, "tx_result");
            json_int_t code = json_integer_value(json_object_get(res, "code"));
            if (code != 0)
                bench_die("%s: tx %zu failed in block %s: code %lld %s", what, i,
                          json_string_value(json_object_get(r, "height")), (long long)code,
                          json_string_value(json_object_get(res, "log")));
            json_decref(r);
            i++;
            continue;
        }
        if (bench_now() - t0 > ROUND_TIMEOUT_S)
            bench_die("%s: tx %zu not committed in %d s (%s)", what, i, ROUND_TIMEOUT_S,
                      veil_error_detail());
        check_stop();
        usleep(50 * 1000);
    }
}

/* Returns the fan-out's outputs (n_want of them at least) in *outs. */
static size_t fan_out(size_t n_want, utxo **outs)
{
    const devnet_account *alice = &g.alice;
    built *b = malloc(sizeof *b);
    if (b == NULL) bench_die("out of memory");
    double t0 = bench_now(), enc_s = 0;

    /* Round 0: withdraw alice's unbonded stake into one output. */
    Veil__Node__Account *acct = account_get(alice->address);
    if (acct->unbonded == 0) bench_die("alice has no unbonded stake");
    chain_height(&g.tip_time);
    veil_tx_body body;
    body_init(&body, VEIL_TX_KIND_WITHDRAW);
    memcpy(body.account, alice->address, 32);
    body.nonce = acct->nonce;
    body.n_outputs = 1;
    memcpy(body.outputs[0].address, alice->address, 32);
    body.outputs[0].valid_from = acct->unbonded_from;
    body.n_view_keys = 1;
    memcpy(body.view_keys[0], alice->view_pk, 32);
    build_split(&body, acct->unbonded, alice->sk, b);
    chain_tx w = {0};
    encrypt(b, acct, &w);
    veil__node__account__free_unpacked(acct, NULL);
    round_commit(&w, 1, "withdraw");
    utxo root = {.index = 0, .value = body.outputs[0].value};
    memcpy(root.txid, b->txid, 32);
    chain_tx_free(&w);

    /* Round 1: 1 -> 64. */
    utxo *l1 = calloc(FAN, sizeof *l1);
    chain_tx s = {0};
    chain_height(&g.tip_time);
    make_split(&root, FAN, &s, b);
    round_commit(&s, 1, "fan-out 1");
    for (uint32_t k = 0; k < FAN; k++) {
        memcpy(l1[k].txid, s.txid, 32);
        l1[k].index = k;
        l1[k].value = k == 0 ? s.out0_value : s.out_value;
    }
    chain_tx_free(&s);

    /* Round 2 (and 3...): each of the previous round's outputs -> 64 (then 16) until enough. */
    utxo *level = l1;
    size_t n_level = FAN;
    for (int round = 2; n_level < n_want; round++) {
        /* From round 3 on, 16 outputs per split: 64 would leave outputs smaller than a
         * timed transfer's fee (fees are over the padded payload size). */
        size_t fan = round == 2 ? FAN : 16;
        size_t n_split = n_level;
        /* Split only as many as needed: n_level - n_split + fan n_split >= n_want. */
        if (n_level * fan > n_want) n_split = (n_want - n_level + fan - 2) / (fan - 1);
        if (n_split > n_level) n_split = n_level;
        chain_tx *txs = calloc(n_split, sizeof *txs);
        utxo *next = calloc(n_level - n_split + n_split * fan, sizeof *next);
        if (txs == NULL || next == NULL) bench_die("out of memory");
        chain_height(&g.tip_time);
        double e0 = bench_now();
        for (size_t i = 0; i < n_split; i++) make_split(&level[i], fan, &txs[i], b);
        enc_s += bench_now() - e0;
        char what[32];
        snprintf(what, sizeof what, "fan-out %d", round);
        round_commit(txs, n_split, what);
        size_t m = 0;
        for (size_t i = 0; i < n_split; i++)
            for (uint32_t k = 0; k < fan; k++) {
                memcpy(next[m].txid, txs[i].txid, 32);
                next[m].index = k;
                next[m++].value = k == 0 ? txs[i].out0_value : txs[i].out_value;
            }
        for (size_t i = n_split; i < n_level; i++) next[m++] = level[i];
        for (size_t i = 0; i < n_split; i++) chain_tx_free(&txs[i]);
        free(txs);
        free(level);
        level = next;
        n_level = m;
    }
    free(b);
    bench_note("fan-out: %zu outputs of alice's in %.1f s (split txs encrypted in %.1f s)",
               n_level, bench_now() - t0, enc_s);
    *outs = level;
    return n_level;
}

/* --- the timed phase ----------------------------------------------------------------- */
static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    pthread_mutex_lock(&g.fail_lock);
    if (!atomic_load(&g.failed)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g.fail_msg, sizeof g.fail_msg, fmt, ap);
        va_end(ap);
        atomic_store(&g.failed, 1);
    }
    pthread_mutex_unlock(&g.fail_lock);
}

static void *broadcaster(void *arg)
{
    (void)arg;
    CURL *c = curl_easy_init();
    membuf body = {0};
    if (c == NULL) {
        fail("curl init");
        return NULL;
    }
    for (;;) {
        size_t i = atomic_fetch_add(&g.next, 1);
        if (i >= g.n || atomic_load(&g.failed) || bench_interrupted()) break;
        while (i >= atomic_load(&g.committed) + MAX_IN_FLIGHT && !atomic_load(&g.failed) && !bench_interrupted()) {
            usleep(1000);
            atomic_fetch_add(&g.throttled_ms, 1);
        }
        chain_tx *t = &g.txs[i];
        t->sent = bench_now();
        const char *why = broadcast_sync(c, &body, t, i);
        t->acked = bench_now();
        if (why != NULL) {
            fail("timed transfer %zu refused: %s", i, why);
            break;
        }
    }
    curl_easy_cleanup(c);
    free(body.p);
    return NULL;
}

static int cmp_order(const void *a, const void *b)
{
    return memcmp(g.txs[*(const size_t *)a].hash, g.txs[*(const size_t *)b].hash, 32);
}

static long find_tx(const uint8_t hash[32])
{
    size_t lo = 0, hi = g.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = memcmp(g.txs[g.order[mid]].hash, hash, 32);
        if (c == 0) return (long)g.order[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Block h, first seen committed at `seen`: marks our txs, checks their results. */
static void block_seen(uint64_t h, double seen)
{
    char q[64];
    snprintf(q, sizeof q, "block?height=%llu", (unsigned long long)h);
    json_t *r = rpc(q);
    json_t *txs = json_object_get(json_object_get(json_object_get(r, "block"), "data"), "txs");
    const char *htime = json_string_value(
        json_object_get(json_object_get(json_object_get(r, "block"), "header"), "time"));
    cmt_timestamp ts = {0};
    if (htime == NULL || cmt_time_parse(htime, &ts) != VEIL_OK)
        bench_die("block %llu: bad header time", (unsigned long long)h);
    size_t n = json_array_size(txs), i, ours = 0;
    long *idx = calloc(n + 1, sizeof *idx);
    uint8_t *buf = malloc(2 * VEIL_TX_MAX_WIRE_LEN);
    if (idx == NULL || buf == NULL) bench_die("out of memory");
    json_t *v;
    json_array_foreach(txs, i, v)
    {
        const char *b64 = json_string_value(v);
        size_t len;
        idx[i] = -1;
        if (b64 == NULL || sodium_base642bin(buf, 2 * VEIL_TX_MAX_WIRE_LEN, b64, strlen(b64), NULL,
                                             &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
            bench_die("block %llu: tx %zu: bad base64", (unsigned long long)h, i);
        uint8_t hash[32];
        veil_sha256(hash, buf, len);
        idx[i] = find_tx(hash);
    }
    json_decref(r);
    free(buf);
    snprintf(q, sizeof q, "block_results?height=%llu", (unsigned long long)h);
    /* CometBFT reports a height in status a moment before it serves its results. */
    for (int tries = 0;; tries++) {
        if (veil_rpc_get(g.rpc_base[0], q, 30000L, 64u << 20, &r) == VEIL_OK) break;
        if (tries == 100) r = rpc(q); /* says why, and stops */
        usleep(10 * 1000);
    }
    json_t *res = json_object_get(r, "txs_results");
    if (json_array_size(res) != n)
        bench_die("block %llu: %zu txs, %zu results", (unsigned long long)h, n,
                  json_array_size(res));
    json_array_foreach(res, i, v)
    {
        json_int_t code = json_integer_value(json_object_get(v, "code"));
        if (code != 0)
            bench_die("block %llu: tx %zu (%s) failed: code %lld %s", (unsigned long long)h, i,
                      idx[i] >= 0 ? "a timed transfer" : "not ours", (long long)code,
                      json_string_value(json_object_get(v, "log")));
        if (idx[i] < 0) continue;
        chain_tx *t = &g.txs[idx[i]];
        if (t->height != 0) bench_die("timed transfer %ld committed twice", idx[i]);
        t->height = h;
        t->committed = seen;
        ours++;
    }
    json_decref(r);
    free(idx);
    if (ours > 0) {
        if (g.blocks < MAX_BLOCKS) {
            g.blk[g.blocks].height = h;
            g.blk[g.blocks].txs = ours;
            g.blk[g.blocks].seen = seen;
            g.blk[g.blocks].header_time = (double)ts.seconds + (double)ts.nanos * 1e-9;
        }
        if (g.first_height == 0) g.first_height = h;
        g.last_height = h;
        g.blocks++;
        if (ours > g.max_block_txs) g.max_block_txs = ours;
        atomic_fetch_add(&g.committed, ours);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void timed(double *rate, double *p50_ms, double *p99_ms, double *span)
{
    g.order = malloc(g.n * sizeof *g.order);
    if (g.order == NULL) bench_die("out of memory");
    for (size_t i = 0; i < g.n; i++) g.order[i] = i;
    qsort(g.order, g.n, sizeof *g.order, cmp_order);
    for (size_t i = 1; i < g.n; i++)
        if (memcmp(g.txs[g.order[i]].hash, g.txs[g.order[i - 1]].hash, 32) == 0)
            bench_die("two timed transfers with the same hash");

    uint64_t seen_height = chain_height(NULL);
    pthread_t th[BROADCASTERS];
    double start = bench_now();
    for (int i = 0; i < BROADCASTERS; i++)
        if (pthread_create(&th[i], NULL, broadcaster, NULL) != 0) bench_die("pthread_create");
    double last_progress = start;
    size_t last_committed = 0;
    while (atomic_load(&g.committed) < g.n && !atomic_load(&g.failed)) {
        check_stop();
        uint64_t h = chain_height(NULL);
        double seen = bench_now();
        for (uint64_t k = seen_height + 1; k <= h; k++) block_seen(k, seen);
        seen_height = h;
        size_t c = atomic_load(&g.committed);
        if (c != last_committed) {
            last_committed = c;
            last_progress = seen;
        } else if (seen - last_progress > 20 || seen - start > TIMED_TIMEOUT_S) {
            fail("only %zu of %zu timed transfers committed after %.0f s", c, g.n, seen - start);
        }
        usleep(POLL_MS * 1000);
    }
    for (int i = 0; i < BROADCASTERS; i++) pthread_join(th[i], NULL);
    if (atomic_load(&g.failed)) bench_die("%s", g.fail_msg);
    check_stop();

    double first_sent = 1e300, last_commit = 0, last_ack = 0;
    double *lat = malloc(g.n * sizeof *lat);
    if (lat == NULL) bench_die("out of memory");
    for (size_t i = 0; i < g.n; i++) {
        chain_tx *t = &g.txs[i];
        if (t->sent < first_sent) first_sent = t->sent;
        if (t->committed > last_commit) last_commit = t->committed;
        if (t->acked > last_ack) last_ack = t->acked;
        lat[i] = (t->committed - t->sent) * 1e3;
    }
    qsort(lat, g.n, sizeof *lat, cmp_double);
    *span = last_commit - first_sent;
    *rate = (double)g.n / *span;
    *p50_ms = lat[g.n / 2];
    *p99_ms = lat[g.n * 99 / 100];
    bench_note("timed: %zu transfers (2 in, 2 out; ChainTx %zu bytes) from %d threads; all "
               "accepted by broadcast_tx_sync in %.2f s (%.0f tx/s admitted)",
               g.n, g.txs[0].len, BROADCASTERS, last_ack - first_sent,
               (double)g.n / (last_ack - first_sent));
    bench_note("timed: broadcasters waited %.1f s in all (%.1f s per thread) for the in-flight "
               "cap of %d (mempool < 5000)",
               (double)atomic_load(&g.throttled_ms) / 1e3,
               (double)atomic_load(&g.throttled_ms) / 1e3 / BROADCASTERS, MAX_IN_FLIGHT);
    bench_note("timed: committed in %llu blocks (heights %llu-%llu), at most %llu per block, "
               "last commit seen %.2f s after the first broadcast",
               (unsigned long long)g.blocks, (unsigned long long)g.first_height,
               (unsigned long long)g.last_height, (unsigned long long)g.max_block_txs, *span);
    char line[4096];
    size_t k = 0;
    for (uint64_t i = 0; i < g.blocks && i < MAX_BLOCKS && k + 64 < sizeof line; i++)
        k += (size_t)snprintf(line + k, sizeof line - k, " %llu:%llu@%.2f/%.2f",
                              (unsigned long long)g.blk[i].height,
                              (unsigned long long)g.blk[i].txs, g.blk[i].seen - first_sent,
                              i == 0 ? 0.0 : g.blk[i].header_time - g.blk[i - 1].header_time);
    bench_note("blocks (height:our txs@seen s after first broadcast/header time gap s):%s", line);
    uint64_t nb = g.blocks < MAX_BLOCKS ? g.blocks : MAX_BLOCKS;
    if (nb >= 3) { /* the full blocks between the first and the last */
        double cycle = (g.blk[nb - 2].header_time - g.blk[0].header_time) / (double)(nb - 2);
        uint64_t full = 0;
        for (uint64_t i = 1; i + 1 < nb; i++) full += g.blk[i].txs;
        /* The dev chain times the interval from each block's start: the cycle is the
         * block time unless producing a block takes longer. */
        bench_note("chain: a block cycle of %.2f s (1 s block time, from block start to block "
                   "start; %.2f s beyond it when producing, committing and rechecking took "
                   "longer) for %.0f txs on average; the mempool's limit (< 5000 txs) bounds "
                   "what one cycle can commit (~%.0f tx/s); whether the broadcasters waited "
                   "on it is in the limits line",
                   cycle, cycle > 1.0 ? cycle - 1.0 : 0.0, (double)full / (double)(nb - 2),
                   4999.0 / cycle);
    }
    bench_note("commit latency per tx (broadcast sent -> its block first seen committed by "
               "polling status every ~%d ms): p10 %.0f ms, p50 %.0f ms, p90 %.0f ms, max %.0f ms",
               POLL_MS, lat[g.n / 10], lat[g.n / 2], lat[g.n * 9 / 10], lat[g.n - 1]);
    free(lat);
}

/* --- the TVE's own block path ---------------------------------------------------------- */
#ifndef BENCH_TESTNET
static void tve_figure(double devnet_rate)
{
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "VEIL_BENCH_TVE_MAX_STORE=0 %s/veil-bench-tve", g.bench_dir);
    if (access(cmd + strlen("VEIL_BENCH_TVE_MAX_STORE=0 "), X_OK) != 0) {
        bench_note("tve: %s not found; no TVE block-path figure to compare with", cmd);
        return;
    }
    double t0 = bench_now();
    fflush(NULL);
    FILE *p = popen(cmd, "r");
    if (p == NULL) bench_die("popen %s: %s", cmd, strerror(errno));
    char line[1024];
    double block = -1;
    while (fgets(line, sizeof line, p) != NULL) {
        double v;
        if (sscanf(line, "BENCH tve_block_tx_per_s %lf", &v) == 1) block = v;
    }
    int status = pclose(p);
    if (status != 0 || block <= 0)
        bench_die("veil-bench-tve failed (status %d) or printed no tve_block_tx_per_s", status);
    bench_note("tve_block_tx_per_s %.0f tx/s: veil-bench-tve run alone after the devnet phase "
               "(%.0f s; the same 2-in/2-out transfers, in blocks of 1000; its inputs come "
               "from 2-output txs, the devnet's from 16-output fan-out txs)",
               block, bench_now() - t0);
    bench_note("devnet / TVE block path: %.0f / %.0f = %.3f", devnet_rate, block,
               devnet_rate / block);
}
#endif

int main(int argc, char **argv)
{
    (void)argc;
    bench_init(argv[0]);
    signal(SIGPIPE, SIG_IGN);
    atexit(cleanup);
    pthread_mutex_init(&g.fail_lock, NULL);
    if (veil_crypto_init() != VEIL_OK || sodium_init() < 0) bench_die("crypto init");
    curl_global_init(CURL_GLOBAL_DEFAULT);

    size_t n = NET_DEFAULT_TXS;
    const char *env = getenv(TXS_ENV);
    if (env != NULL && *env != '\0') {
        char *end;
        unsigned long long v = strtoull(env, &end, 10);
        if (*end != '\0' || v == 0 || v > DEFAULT_TXS)
            bench_die(TXS_ENV "=%s: want 1..%d", env, DEFAULT_TXS);
        n = (size_t)v;
    }

    bench_find_veil(g.veil_bin, g.bench_dir);
    snprintf(g.dir, sizeof g.dir, "/tmp/veil-bench-" NET "-XXXXXX");
    if (mkdtemp(g.dir) == NULL) bench_die("mkdtemp: %s", strerror(errno));
    g.have_dir = true;
    snprintf(g.home, sizeof g.home, "%s/home", g.dir);
    snprintf(g.out_file, sizeof g.out_file, "%s/" NET ".out", g.dir);
#ifdef BENCH_TESTNET
    testnet_start();
#else
    devnet_start(bench_free_port());
    if (devnet_layout_load(&g.l, g.home) != VEIL_OK)
        bench_die("devnet home: %s", veil_error_detail());
    snprintf(g.rpc_base[0], sizeof g.rpc_base[0], "http://127.0.0.1:%u", g.l.rpc_port);
    g.n_rpc = 1;
    snprintf(g.chain_id, sizeof g.chain_id, "%s", g.l.chain_id);
    snprintf(g.platform_dir, sizeof g.platform_dir, "%s", g.l.platform);
    snprintf(g.tve_sock, sizeof g.tve_sock, "%s", g.l.tve_sock);
    g.alice = g.l.accounts[0];
#endif

    char img[PATH_MAX + 64], ep[PATH_MAX + 8];
    snprintf(img, sizeof img, "%s/../enclaves/veil_tqe_enclave_test.signed.so", g.bench_dir);
    snprintf(ep, sizeof ep, "ipc://%s", g.tve_sock);
    veil_status st = tee_platform_open(g.platform_dir, &g.platform);
    if (st == VEIL_OK) st = tee_enclave_load(g.platform, img, NULL, 0, &g.tqe);
    if (st == VEIL_OK) st = tve_client_open(ep, 30000, &g.tve);
    if (st == VEIL_OK) st = tqe_handoff(g.tqe, g.tve); /* the TQE<->TVE channel key */
    if (st != VEIL_OK) bench_die("TQE / TVE set-up: %s (%s)", veil_status_str(st), veil_error_detail());
    uint8_t *pv;
    size_t pn;
    abci_query("/params", &pv, &pn);
    g.params = veil__node__params__unpack(NULL, pn, pv);
    free(pv);
    if (g.params == NULL) bench_die("params: bad encoding");

    utxo *outs;
    size_t n_outs = fan_out(2 * n, &outs);
    if (n_outs < 2 * n) bench_die("fan-out: %zu outputs for %zu transfers", n_outs, n);

    /* Pre-encrypt the timed transfers: 2 in, 2 out, all alice's (the TVE bench's shape). */
    g.n = n;
    g.txs = calloc(n, sizeof *g.txs);
    built *b = malloc(sizeof *b);
    if (g.txs == NULL || b == NULL) bench_die("out of memory");
    chain_height(&g.tip_time);
    double t0 = bench_now();
    for (size_t i = 0; i < n; i++) {
        make_transfer2(&outs[2 * i], &g.txs[i], b);
        check_stop();
    }
    free(b);
    free(outs);
    bench_note("pre-encrypted %zu transfers through the TVE (TQE seal + EncryptRequest) in "
               "%.1f s, %.0f tx/s on one thread, not timed",
               n, bench_now() - t0, (double)n / (bench_now() - t0));

    /* Every member has committed the fan-out before the timed transfers spend it. */
    uint64_t tip = chain_height(NULL);
    for (size_t k = 1; k < g.n_rpc; k++) {
        double w0 = bench_now();
        for (;;) {
            json_t *sj;
            uint64_t h = 0;
            if (veil_rpc_get(g.rpc_base[k], "status", 30000L, 1u << 20, &sj) == VEIL_OK) {
                const char *hs = json_string_value(json_object_get(
                    json_object_get(sj, "sync_info"), "latest_block_height"));
                h = hs != NULL ? strtoull(hs, NULL, 10) : 0;
                json_decref(sj);
            }
            if (h >= tip) break;
            if (bench_now() - w0 > 30) bench_die("%s did not reach height %llu in 30 s",
                                                 g.rpc_base[k], (unsigned long long)tip);
            check_stop();
            usleep(20 * 1000);
        }
    }
    double rate, p50_ms, p99_ms, span;
    timed(&rate, &p50_ms, &p99_ms, &span);

    tve_client_close(g.tve);
    g.tve = NULL;
    int status = bench_child_stop(&g.devnet, SIGINT, "the " NET);
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        bench_dump_file(g.out_file);
        bench_die("the " NET " did not stop cleanly (wait status %d)", status);
    }

    bench_print(NET "_confidential_tx_per_s", rate, "tx/s");
    bench_print(NET "_commit_p50_ms", p50_ms, "ms");
    bench_print(NET "_commit_p99_ms", p99_ms, "ms");
    bench_note(NET "_confidential_tx_per_s = committed timed transfers / (last one's block "
               "seen committed - first broadcast sent); " NET "_commit_p50_ms (p99) = p50 (p99) over txs of "
               "(its block seen committed - its broadcast_tx_sync sent)");
    if (span < 10)
        bench_note("NOT sustained for 10 s: %zu transfers committed in %.1f s (the genesis "
                   "stake funds at most %d 2-input transfers)",
                   n, span, DEFAULT_TXS);
    else
        bench_note("sustained for %.1f s", span);
    bench_note("limits: block time 1 s; mempool < 5000 txs (at most %d kept in flight); block "
               "max_bytes 22020096 (CometBFT default) would hold ~%zu such txs",
               MAX_IN_FLIGHT, (size_t)(22020096 / (g.txs[0].len + 4)));
    for (size_t i = 0; i < g.n; i++) chain_tx_free(&g.txs[i]);
#ifndef BENCH_TESTNET
    tve_figure(rate);
#endif
    return 0;
}
