/* veil-bench-tqe: the transaction query enclave (TQE) from a wallet's side.
 *
 * In one run, in a temporary devnet home (removed at exit, also on failure):
 *   1. `<build>/veil devnet --home TMP --rpc-port <free> --block-time 100ms` as a child;
 *      "devnet running" is printed once the TQE (started last) listens. The wallet's
 *      view of it is read from TMP/wallets/devnet.config.json (tqe, tqe_collateral,
 *      tqe_mrsigner) and alice's key from TMP/wallets/alice.seed, as `veil wallet` would.
 *      One attested handshake to the devnet's TQE checks that policy. The devnet's TQE
 *      runs with the host's default rate limit (--rate 50: connections + reads per
 *      second per client address), which would cap every figure below at the limiter's
 *      rate, so the figures are taken against a second `veil tqe` (same binary, same
 *      enclave image, same platform, TVE and RPC) started by this program with
 *      --rate 1000000.
 *   2. tqe_attested_handshakes_per_s: ratls_client_connect (TCP connect, TLS 1.3
 *      handshake, certificate + evidence + the quote's whole SGX DCAP verification
 *      against the devnet's collateral, read from its file each time as a wallet does,
 *      + MRSIGNER) then ratls_client_close, sequentially.
 *   3. tls_plain_handshakes_per_s: the same loop with the same library (OpenSSL) against
 *      a plain TLS 1.3 server in a thread of this process (self-signed P-256 certificate
 *      made at start), the client verifying the certificate the ordinary way (it is the
 *      only trust anchor; IP 127.0.0.1 checked).
 *   4. tqe_encrypt_per_s: EncryptRequest round trips over one attested connection. Alice
 *      withdraws her stake into one output (built with the wallet library, encrypted by
 *      the TQE, broadcast, committed); the timed requests are 1-in/2-out transfers
 *      spending that output, never broadcast, so each stays valid (the TVE validates
 *      encrypt requests in CHECK mode only). Each waits for the header after the state it
 *      reads (one block interval); tqe_encrypt_16conn_per_s: the same from 16 connections
 *      at once, whose waits overlap.
 *   5. tqe_decrypt_txs_per_s: the output is then split into 62 outputs and each of
 *      those spent (1 in, 1 out), all committed: 64 committed txs naming alice's view
 *      key. Timed: challenge -> signed QueryRequest naming those 64 txids -> all 64 txs
 *      back, over one attested connection.
 *   6. wallet_sync_blocks_per_s: once the chain has >= 100 blocks, a wallet restored
 *      from alice.seed (in memory) syncs from height 0 with wallet_sync (RPC bloom
 *      filters and txids, TQE queries with 8 decoys, the CLI's default), repeated with a
 *      fresh wallet until >= 1 s.
 * Diagnostics (context lines, 1 s each): a bare ChallengeRequest round trip on a raw
 * attested connection, and encrypt, query and sync again with TCP_NODELAY set on a
 * second connection's socket (found through /proc/self/fd): the wallet's client sends
 * each message as two TLS records, and Nagle + the peer's delayed ACK cost ~40 ms per
 * request. The figures themselves are taken as the wallet runs (no TCP_NODELAY).
 * The devnet gets an explicit --tqe-port (a free port): its default, RPC port + 13, is
 * not checked and collided with ports left in TIME_WAIT by an earlier run.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "bench.h"
#include "common/hex.h"
#include "crypto/crypto.h"
#include "crypto/crypto_host.h"
#include "chain/node_tx.h"
#include "host/ratls/ratls_client.h"
#include "hostutil/rpc_client.h"
#include "hostutil/fileio.h"
#include "tools/devnet.h"
#include "trusted/tx/tx.h"
#include "wallet/wallet.h"
#include "wallet/wallet_rpc.h"
#include "wallet/wallet_tqe_client.h"
#include "trusted/tqe/tqe_abi.h"
#include "veil/tqe.pb-c.h"
#include <dirent.h>

#define BLOCK_TIME "100ms"
#define MIN_BLOCKS 100
#define SPLIT 62 /* withdraw + split + 62 spends = 64 txs naming alice's view key */
#define QUERY_TXIDS 64
#define ENCRYPT_POOL 64
#define SYNC_DECOYS 8
#define COMMIT_TIMEOUT_S 60

static struct {
    char dir[64], home[96], out_file[128], tqe_out[128], tqe_home[128];
    char veil_bin[PATH_MAX];
    bool have_dir;
    pid_t devnet, tqe;
    devnet_layout l;
    /* the wallet's configuration (devnet.config.json) */
    char devnet_tqe[64], tqe_collateral[PATH_MAX], bench_tqe[64];
    uint8_t mrsigner[32];
    ratls_policy policy;
    wallet_rpc rpc;
    wallet_keys alice;
    /* plain TLS server */
    int listen_fd;
    uint16_t plain_port;
    SSL_CTX *server_ctx;
    X509 *server_cert;
    pthread_t server_th;
    bool server_running;
    atomic_int_fast32_t server_errors;
} g = {.listen_fd = -1};

static void check_stop(void)
{
    if (bench_interrupted()) bench_die("interrupted");
}

static void cleanup(void)
{
    if (g.tqe > 0) bench_child_stop(&g.tqe, SIGTERM, "veil tqe");
    if (g.devnet > 0) bench_child_stop(&g.devnet, SIGINT, "veil devnet");
    if (g.have_dir) veil_remove_tree(g.dir);
    g.have_dir = false;
}

/* Runs `argv` with stdout+stderr to out_file; waits until out_file has `ready`. */
static pid_t spawn(char *const argv[], const char *out_file, const char *ready, const char *what,
                   double *took)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) bench_die("fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(out_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) _exit(126);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        setpgid(0, 0); /* a terminal's Ctrl-C reaches the bench, which stops the child */
        execv(g.veil_bin, argv);
        _exit(127);
    }
    double t0 = bench_now();
    while (!bench_file_has(out_file, ready)) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            bench_dump_file(out_file);
            bench_die("%s exited during start-up (wait status %d)", what, status);
        }
        if (bench_now() - t0 > 60) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            bench_dump_file(out_file);
            bench_die("%s did not report '%s' in 60 s", what, ready);
        }
        if (bench_interrupted()) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            bench_die("interrupted");
        }
        usleep(20 * 1000);
    }
    *took = bench_now() - t0;
    return pid;
}

/* --- devnet and wallet configuration ----------------------------------------------------- */
static json_t *rpc(const char *path)
{
    json_t *r;
    veil_status st = devnet_rpc_get(&g.l, path, &r);
    if (st != VEIL_OK) bench_die("rpc %.80s: %s (%s)", path, veil_status_str(st), veil_error_detail());
    return r;
}

static uint64_t chain_height(void)
{
    json_t *r = rpc("status");
    const char *h =
        json_string_value(json_object_get(json_object_get(r, "sync_info"), "latest_block_height"));
    if (h == NULL) bench_die("status: no latest_block_height");
    uint64_t height = strtoull(h, NULL, 10);
    json_decref(r);
    return height;
}

static void read_wallet_config(void)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/wallets/devnet.config.json", g.home);
    json_error_t je;
    json_t *c = json_load_file(path, 0, &je);
    if (c == NULL) bench_die("%s: %s", path, je.text);
    const char *tqe = json_string_value(json_object_get(c, "tqe"));
    const char *root = json_string_value(json_object_get(c, "tqe_collateral"));
    const char *mrs = json_string_value(json_object_get(c, "tqe_mrsigner"));
    const char *rpc_url = json_string_value(json_object_get(c, "rpc"));
    if (tqe == NULL || root == NULL || mrs == NULL || rpc_url == NULL)
        bench_die("%s: no rpc, tqe, tqe_collateral or tqe_mrsigner", path);
    snprintf(g.devnet_tqe, sizeof g.devnet_tqe, "%s", tqe);
    snprintf(g.tqe_collateral, sizeof g.tqe_collateral, "%s", root);
    if (veil_hex_decode_exact(g.mrsigner, 32, mrs, strlen(mrs)) != VEIL_OK)
        bench_die("%s: tqe_mrsigner is not 64 hex characters", path);
    if (wallet_rpc_init(&g.rpc, rpc_url) != VEIL_OK) bench_die("rpc url %s", rpc_url);
    json_decref(c);
    /* The wallet's policy (cmd_wallet.c tqe_open with the devnet's configuration). */
    memset(&g.policy, 0, sizeof g.policy);
    g.policy.mrsigner = g.mrsigner;
    g.policy.has_prodid = 1;
    g.policy.prodid = TQE_PRODID;
    g.policy.has_min_svn = 1;
    g.policy.min_svn = TQE_SVN;
    dcap_policy_default(&g.policy.tcb);
    g.policy.collateral_path = g.tqe_collateral;

    snprintf(path, sizeof path, "%s/wallets/alice.seed", g.home);
    FILE *f = fopen(path, "r");
    char hex[130] = "";
    if (f == NULL || fgets(hex, sizeof hex, f) == NULL) bench_die("%s: %s", path, strerror(errno));
    fclose(f);
    hex[strcspn(hex, "\r\n")] = '\0';
    uint8_t seed[32];
    if (veil_hex_decode_exact(seed, 32, hex, strlen(hex)) != VEIL_OK)
        bench_die("%s: not 64 hex characters", path);
    if (wallet_keys_from_seed(&g.alice, seed) != VEIL_OK) bench_die("alice's seed: bad key");
    sodium_memzero(seed, sizeof seed);
    if (memcmp(g.alice.spend_pk, g.l.accounts[0].address, 32) != 0)
        bench_die("alice.seed does not give the devnet's account alice");
}

/* --- 2. attested handshakes ------------------------------------------------------------ */
static bool attested_handshakes(void *ctx, uint64_t iters)
{
    const char *addr = ctx;
    for (uint64_t i = 0; i < iters; i++) {
        ratls_client *c;
        veil_status st = ratls_client_connect(addr, &g.policy, 10000, &c);
        if (st != VEIL_OK)
            return bench_fail("attested handshake to %s: %s (%s)", addr, veil_status_str(st),
                              veil_error_detail());
        ratls_client_close(c);
        if (bench_interrupted()) return bench_fail("interrupted");
    }
    return true;
}

/* --- 3. plain TLS 1.3 ---------------------------------------------------------------- */
static void ssl_die(const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
    bench_die("%s: %s", what, buf);
}

static void plain_server_setup(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    if (key == NULL || x == NULL) ssl_die("P-256 key");
    uint8_t serial[16];
    randombytes_buf(serial, sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    X509_NAME *name = X509_NAME_new();
    if (bn == NULL || name == NULL || !X509_set_version(x, 2) ||
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1",
                                    -1, -1, 0) ||
        !X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name) ||
        X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL || !X509_set_pubkey(x, key))
        ssl_die("plain certificate");
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    const char *exts[][2] = {{"basicConstraints", "critical,CA:TRUE"},
                             {"keyUsage", "critical,digitalSignature,keyCertSign"},
                             {"subjectAltName", "IP:127.0.0.1"}};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        X509_EXTENSION *ext = X509V3_EXT_conf(NULL, &v3, exts[i][0], exts[i][1]);
        if (ext == NULL || !X509_add_ext(x, ext, -1)) ssl_die("plain certificate extension");
        X509_EXTENSION_free(ext);
    }
    if (X509_sign(x, key, EVP_sha256()) <= 0) ssl_die("plain certificate signature");
    BN_free(bn);
    X509_NAME_free(name);

    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
        !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) || !SSL_CTX_use_certificate(ctx, x) ||
        !SSL_CTX_use_PrivateKey(ctx, key) || !SSL_CTX_check_private_key(ctx))
        ssl_die("plain server SSL_CTX");
    /* As the TQE: no session tickets, no cache; every connection a full handshake. */
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    EVP_PKEY_free(key);
    g.server_ctx = ctx;
    g.server_cert = x;

    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 128) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0)
        bench_die("plain server socket: %s", strerror(errno));
    g.listen_fd = s;
    g.plain_port = ntohs(a.sin_port);
}

/* One connection at a time: accept, handshake, read until the client's close_notify. */
static void *plain_server(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(g.listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) continue;
            break; /* listen socket shut down: the end */
        }
        SSL *ssl = SSL_new(g.server_ctx);
        if (ssl == NULL || !SSL_set_fd(ssl, fd) || SSL_accept(ssl) != 1) {
            atomic_fetch_add(&g.server_errors, 1);
        } else {
            char b[64];
            while (SSL_read(ssl, b, sizeof b) > 0) {
            }
            (void)SSL_shutdown(ssl);
        }
        ERR_clear_error();
        SSL_free(ssl);
        close(fd);
    }
    return NULL;
}

static bool plain_handshakes(void *ctx, uint64_t iters)
{
    (void)ctx;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons(g.plain_port)};
    for (uint64_t i = 0; i < iters; i++) {
        /* As ratls_client_connect: a new SSL_CTX per connection, TLS 1.3 only. */
        SSL_CTX *c = SSL_CTX_new(TLS_client_method());
        if (c == NULL || !SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) ||
            !SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) ||
            !X509_STORE_add_cert(SSL_CTX_get_cert_store(c), g.server_cert))
            return bench_fail("plain client SSL_CTX");
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
        X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(c);
        if (!X509_VERIFY_PARAM_set1_ip_asc(vp, "127.0.0.1")) return bench_fail("verify param");
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
            return bench_fail("plain connect: %s", strerror(errno));
        SSL *ssl = SSL_new(c);
        if (ssl == NULL || !SSL_set_fd(ssl, fd)) return bench_fail("SSL_new");
        if (SSL_connect(ssl) != 1) {
            unsigned long e = ERR_get_error();
            char buf[256] = "";
            if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
            return bench_fail("plain handshake: %s (verify result %ld)", buf,
                              SSL_get_verify_result(ssl));
        }
        if (SSL_get_verify_result(ssl) != X509_V_OK || SSL_version(ssl) != TLS1_3_VERSION)
            return bench_fail("plain handshake: not verified TLS 1.3");
        (void)SSL_shutdown(ssl);
        SSL_free(ssl);
        close(fd);
        SSL_CTX_free(c);
        if (bench_interrupted()) return bench_fail("interrupted");
    }
    return true;
}

/* --- building and committing txs -------------------------------------------------------- */
typedef struct built {
    uint8_t txid[32];
    uint8_t payload[VEIL_TX_MAX_PAYLOAD_LEN];
    size_t payload_len;
    uint64_t fee;
} built;

typedef struct committed_tx {
    uint8_t *bytes; /* ChainTx */
    size_t len;
    uint8_t hash[32];
} committed_tx;

static void sign_body(const veil_tx_body *body, built *b)
{
    uint8_t enc[VEIL_TX_MAX_BODY_LEN], wit[1][VEIL_TX_WITNESS_LEN], aux[32];
    size_t enc_len;
    if (veil_tx_body_encode(body, enc, sizeof enc, &enc_len) != VEIL_OK) bench_die("body encode");
    veil_tx_id(b->txid, enc, enc_len);
    randombytes_buf(aux, sizeof aux);
    if (veil_schnorr_sign(wit[0], b->txid, 32, g.alice.spend_sk, aux) != VEIL_OK)
        bench_die("sign");
    if (veil_tx_payload_encode(enc, enc_len, (const uint8_t(*)[VEIL_TX_WITNESS_LEN])wit, 1,
                               b->payload, sizeof b->payload, &b->payload_len) != VEIL_OK)
        bench_die("payload encode");
}

/* Splits `in` minus the fee over the body's outputs (outputs[0] takes the remainder);
 * the fee covers the tx's own size, iterated until stable. */
static void build_split(veil_tx_body *body, uint64_t in, const wallet_fee *fee, built *b)
{
    uint64_t f = 0, need = 0;
    veil_tx_params p = {.fee_base = fee->fee_base, .fee_per_byte = fee->fee_per_byte};
    for (int i = 0; i < 8; i++) {
        if (f >= in) bench_die("fee %llu exceeds the input", (unsigned long long)f);
        uint64_t each = (in - f) / body->n_outputs;
        for (size_t k = 0; k < body->n_outputs; k++) body->outputs[k].value = each;
        body->outputs[0].value += (in - f) - each * body->n_outputs;
        uint8_t enc[VEIL_TX_MAX_BODY_LEN];
        size_t enc_len;
        uint64_t size;
        if (veil_tx_body_encode(body, enc, sizeof enc, &enc_len) != VEIL_OK ||
            veil_tx_size(enc_len, 1, &size) != VEIL_OK || veil_tx_min_fee(&p, size, &need) != VEIL_OK)
            bench_die("min fee");
        if (need == f || (!fee->exact && need < f)) {
            sign_body(body, b);
            b->fee = f;
            return;
        }
        f = need;
    }
    bench_die("fee iteration did not converge");
}

/* The TQE encrypts (the wallet's way), the result becomes a ChainTx. */
static void encrypt_tx(const wallet_tqe *tqe, const built *b, committed_tx *t)
{
    uint8_t wire[VEIL_TX_MAX_WIRE_LEN], out[NODE_CHAIN_TX_MAX];
    size_t wire_len;
    veil_status st =
        tqe->encrypt(tqe->ctx, b->payload, b->payload_len, b->fee, wire, sizeof wire, &wire_len);
    if (st != VEIL_OK)
        bench_die("the TQE refused to encrypt: %s (%s)", veil_status_str(st), veil_error_detail());
    if (node_confidential_tx_encode(wire, wire_len, out, sizeof out, &t->len) != VEIL_OK)
        bench_die("ChainTx encode");
    t->bytes = malloc(t->len);
    if (t->bytes == NULL) bench_die("out of memory");
    memcpy(t->bytes, out, t->len);
    veil_sha256(t->hash, t->bytes, t->len);
}

/* broadcast_tx_sync for each, then waits until each is committed with code 0. */
static void commit_all(committed_tx *txs, size_t n, const char *what)
{
    char *q = malloc(2 * NODE_CHAIN_TX_MAX + 64);
    if (q == NULL) bench_die("out of memory");
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(q, 64, "broadcast_tx_sync?tx=0x");
        veil_hex_encode(q + k, txs[i].bytes, txs[i].len);
        json_t *r = rpc(q);
        if (json_integer_value(json_object_get(r, "code")) != 0)
            bench_die("%s: tx %zu refused: CheckTx code %lld %s", what, i,
                      (long long)json_integer_value(json_object_get(r, "code")),
                      json_string_value(json_object_get(r, "log")));
        json_decref(r);
    }
    free(q);
    double t0 = bench_now();
    for (size_t i = 0; i < n;) {
        char path[128], hex[65];
        veil_hex_encode(hex, txs[i].hash, 32);
        snprintf(path, sizeof path, "tx?hash=0x%s", hex);
        json_t *r;
        if (devnet_rpc_get(&g.l, path, &r) == VEIL_OK) {
            json_t *res = json_object_get(r, "tx_result");
            json_int_t code = json_integer_value(json_object_get(res, "code"));
            if (code != 0)
                bench_die("%s: tx %zu failed: code %lld %s", what, i, (long long)code,
                          json_string_value(json_object_get(res, "log")));
            json_decref(r);
            i++;
            continue;
        }
        if (bench_now() - t0 > COMMIT_TIMEOUT_S)
            bench_die("%s: tx %zu not committed in %d s (%s)", what, i, COMMIT_TIMEOUT_S,
                      veil_error_detail());
        check_stop();
        usleep(20 * 1000);
    }
}

static void body_init(veil_tx_body *body, const char *chain_id, veil_tx_kind kind)
{
    memset(body, 0, sizeof *body);
    body->version = VEIL_TX_VERSION;
    snprintf(body->chain_id, sizeof body->chain_id, "%s", chain_id);
    body->kind = kind;
    randombytes_buf(body->blinding, sizeof body->blinding);
}

static wallet_tqe_client *tqe_connect(const char *addr, wallet_tqe *iface)
{
    wallet_tqe_client *c;
    veil_status st = wallet_tqe_connect(addr, &g.policy, 30000, &c);
    if (st != VEIL_OK)
        bench_die("TQE %s: %s (%s)", addr, veil_status_str(st), veil_error_detail());
    wallet_tqe_client_iface(c, iface);
    return c;
}

/* --- 4. encrypt ------------------------------------------------------------------------- */
typedef struct encrypt_ctx {
    const wallet_tqe *tqe;
    wallet_built *pool;
    size_t next;
    uint8_t *wire;
} encrypt_ctx;

static bool encrypts(void *ctx, uint64_t iters)
{
    encrypt_ctx *e = ctx;
    for (uint64_t i = 0; i < iters; i++) {
        const wallet_built *b = &e->pool[e->next++ % ENCRYPT_POOL];
        size_t wire_len;
        veil_status st = e->tqe->encrypt(e->tqe->ctx, b->payload, b->payload_len, b->fee, e->wire,
                                         VEIL_TX_MAX_WIRE_LEN, &wire_len);
        if (st != VEIL_OK)
            return bench_fail("encrypt: %s (%s)", veil_status_str(st), veil_error_detail());
        if (bench_interrupted()) return bench_fail("interrupted");
    }
    return true;
}

/* Encrypts from ENCRYPT_CONNS wallets at once, each on its own attested connection: each
 * order waits for the next header, and the waits overlap. */
#define ENCRYPT_CONNS 16
typedef struct encrypt_thread {
    encrypt_ctx ec;
    double until;
    uint64_t ops;
    bool ok;
} encrypt_thread;

static void *encrypt_thread_main(void *arg)
{
    encrypt_thread *t = arg;
    t->ok = true;
    while (t->ok && bench_now() < t->until) {
        t->ok = encrypts(&t->ec, 1);
        if (t->ok) t->ops++;
    }
    return NULL;
}

/* --- 5. queries ------------------------------------------------------------------------- */
typedef struct query_ctx {
    const wallet_tqe *tqe;
    uint8_t (*txids)[32];
    size_t n;
} query_ctx;

static bool queries(void *ctx, uint64_t iters)
{
    query_ctx *q = ctx;
    for (uint64_t i = 0; i < iters; i++) {
        wallet_tx_data *d;
        size_t n;
        veil_status st =
            q->tqe->query(q->tqe->ctx, &g.alice, (const uint8_t(*)[32])q->txids, q->n, &d, &n);
        if (st != VEIL_OK)
            return bench_fail("query: %s (%s)", veil_status_str(st), veil_error_detail());
        wallet_tx_data_free(d, n);
        if (n != q->n) return bench_fail("query: %zu of %zu txs returned", n, q->n);
        if (bench_interrupted()) return bench_fail("interrupted");
    }
    return true;
}

/* --- transport diagnostics ----------------------------------------------------------------- */
/* This process's TCP sockets connected to 127.0.0.1:port (the wallet library's TQE
 * connection keeps its socket private): up to max fds. */
static int sockets_to(uint16_t port, int *fds, int max)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) bench_die("/proc/self/fd: %s", strerror(errno));
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        int fd = atoi(e->d_name);
        struct stat sb;
        struct sockaddr_in a;
        socklen_t len = sizeof a;
        if (e->d_name[0] == '.' || fd == dirfd(d) || fstat(fd, &sb) != 0 || !S_ISSOCK(sb.st_mode) ||
            getpeername(fd, (struct sockaddr *)&a, &len) != 0 || a.sin_family != AF_INET ||
            ntohs(a.sin_port) != port)
            continue;
        fds[n++] = fd;
    }
    closedir(d);
    return n;
}

/* Sets TCP_NODELAY on the sockets to port that are not among before[0..nb). */
static int nodelay_new(uint16_t port, const int *before, int nb)
{
    int now[64], n = sockets_to(port, now, 64), set = 0, one = 1;
    for (int i = 0; i < n; i++) {
        bool old = false;
        for (int k = 0; k < nb; k++) old = old || before[k] == now[i];
        if (old) continue;
        if (setsockopt(now[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
            bench_die("TCP_NODELAY: %s", strerror(errno));
        set++;
    }
    return set;
}

static uint16_t port_of(const char *host_port)
{
    const char *c = strrchr(host_port, ':');
    return c == NULL ? 0 : (uint16_t)atoi(c + 1);
}

/* ChallengeRequest -> ChallengeResponse on a raw attested connection: the protocol's
 * cheapest round trip (no TVE, no RPC). */
static bool challenges(void *ctx, uint64_t iters)
{
    ratls_client *c = ctx;
    Veil__Tqe__ChallengeRequest cr = VEIL__TQE__CHALLENGE_REQUEST__INIT;
    Veil__Tqe__Request req = VEIL__TQE__REQUEST__INIT;
    req.request_case = VEIL__TQE__REQUEST__REQUEST_CHALLENGE;
    req.challenge = &cr;
    uint8_t buf[16];
    size_t len = veil__tqe__request__pack(&req, buf);
    for (uint64_t i = 0; i < iters; i++) {
        veil_status st = ratls_client_send_msg(c, buf, len);
        uint8_t *msg = NULL;
        size_t mlen = 0;
        if (st == VEIL_OK) st = ratls_client_recv_msg(c, 4096, &msg, &mlen);
        if (st != VEIL_OK)
            return bench_fail("challenge: %s (%s)", veil_status_str(st), veil_error_detail());
        Veil__Tqe__Response *r = veil__tqe__response__unpack(NULL, mlen, msg);
        free(msg);
        bool ok = r != NULL && r->response_case == VEIL__TQE__RESPONSE__RESPONSE_CHALLENGE &&
                  r->challenge != NULL && r->challenge->challenge.len == 32;
        if (r != NULL) veil__tqe__response__free_unpacked(r, NULL);
        if (!ok) return bench_fail("challenge: unexpected answer");
        if (bench_interrupted()) return bench_fail("interrupted");
    }
    return true;
}

int main(int argc, char **argv)
{
    (void)argc;
    bench_init(argv[0]);
    signal(SIGPIPE, SIG_IGN);
    atexit(cleanup);
    if (veil_crypto_init() != VEIL_OK || sodium_init() < 0) bench_die("crypto init");
    double min_s = fmax(2.0, bench_min_seconds());
    double t_start = bench_now();

    /* 1. the devnet */
    bench_find_veil(g.veil_bin, NULL);
    snprintf(g.dir, sizeof g.dir, "/tmp/veil-bench-tqe-XXXXXX");
    if (mkdtemp(g.dir) == NULL) bench_die("mkdtemp: %s", strerror(errno));
    g.have_dir = true;
    snprintf(g.home, sizeof g.home, "%s/home", g.dir);
    snprintf(g.out_file, sizeof g.out_file, "%s/devnet.out", g.dir);
    snprintf(g.tqe_out, sizeof g.tqe_out, "%s/tqe.out", g.dir);
    snprintf(g.tqe_home, sizeof g.tqe_home, "%s/tqe-bench", g.dir);
    uint16_t port = bench_free_port();
    char port_s[16], tqe_port_s[16];
    snprintf(port_s, sizeof port_s, "%u", port);
    /* --tqe-port explicitly: the default (RPC port + 13) is not checked for being free,
     * and earlier runs leave thousands of client ports in TIME_WAIT. */
    snprintf(tqe_port_s, sizeof tqe_port_s, "%u", bench_free_port());
    char *dargv[] = {"veil", "devnet", "--home", g.home, "--rpc-port", port_s, "--tqe-port",
                     tqe_port_s, "--block-time", BLOCK_TIME, NULL};
    double took;
    g.devnet = spawn(dargv, g.out_file, "devnet running", "veil devnet", &took);
    if (devnet_layout_load(&g.l, g.home) != VEIL_OK)
        bench_die("devnet home: %s", veil_error_detail());
    read_wallet_config();
    bench_note("devnet: running in %.1f s (rpc port %u, block time %s, TQE %s)", took, port,
               BLOCK_TIME, g.devnet_tqe);

    /* The devnet's own TQE accepts the wallet's policy. */
    ratls_client *probe;
    veil_status st = ratls_client_connect(g.devnet_tqe, &g.policy, 10000, &probe);
    if (st != VEIL_OK)
        bench_die("devnet TQE %s: %s (%s)", g.devnet_tqe, veil_status_str(st), veil_error_detail());
    const attest_claims *cl = ratls_client_peer_claims(probe);
    char mre[65];
    veil_hex_encode(mre, cl->body.identity.mrenclave, 32);
    bench_note("devnet TQE %s verified: mrenclave %.16s..., svn %u (policy: root %s, mrsigner "
               "pinned)",
               g.devnet_tqe, mre, (unsigned)cl->body.identity.svn, "wallets/devnet.config.json's tqe_collateral");
    ratls_client_close(probe);

    /* The benchmark's TQE: the same daemon and enclave without the rate limit. */
    snprintf(g.bench_tqe, sizeof g.bench_tqe, "127.0.0.1:%u", bench_free_port());
    char tve_ep[PATH_MAX + 8], rpc_url[64];
    snprintf(tve_ep, sizeof tve_ep, "ipc://%s", g.l.tve_sock);
    snprintf(rpc_url, sizeof rpc_url, "http://127.0.0.1:%u", port);
    char trust_hash[65];
    if (veil_rpc_block_hash(rpc_url, 1, 5000, trust_hash) != VEIL_OK)
        bench_die("no block 1 at %s (the light client's trust root)", rpc_url);
    char *targv[] = {"veil",     "tqe",       "--listen",   g.bench_tqe,   "--tve",
                     tve_ep,     "--home",    g.tqe_home,   "--platform",  g.l.platform,
                     "--rpc",    rpc_url,     "--rate",     "1000000",     "--max-clients",
                     "4096",     "--max-per-address", "64", "--trust-height", "1",
                     "--trust-hash", trust_hash, NULL};
    g.tqe = spawn(targv, g.tqe_out, "tqe: listening on", "veil tqe", &took);
    bench_note("bench TQE: `veil tqe --listen %s --rate 1000000 --max-per-address 64` on the "
               "devnet's platform, TVE "
               "and RPC, up in %.1f s (the devnet's TQE keeps the default --rate 50 per client "
               "address, charged per connection and per read, which would cap these figures)",
               g.bench_tqe, took);

    /* 2. attested handshakes */
    bench_result ra, rp;
    double attested = bench_run(attested_handshakes, g.bench_tqe, min_s, &ra);
    if (attested < 0) bench_die("attested handshakes failed");
    bench_print("tqe_attested_handshakes_per_s", attested, "handshakes/s");
    bench_note("tqe_attested_handshakes_per_s: %llu x (ratls_client_connect + ratls_client_close) "
               "in %.2f s, sequential, one thread",
               (unsigned long long)ra.ops, ra.seconds);

    /* 3. plain TLS 1.3 */
    plain_server_setup();
    if (pthread_create(&g.server_th, NULL, plain_server, NULL) != 0) bench_die("pthread_create");
    g.server_running = true;
    double plain = bench_run(plain_handshakes, NULL, min_s, &rp);
    shutdown(g.listen_fd, SHUT_RDWR);
    pthread_join(g.server_th, NULL);
    g.server_running = false;
    close(g.listen_fd);
    g.listen_fd = -1;
    if (plain < 0) bench_die("plain handshakes failed");
    if (atomic_load(&g.server_errors) != 0)
        bench_die("plain server: %lld failed handshakes", (long long)atomic_load(&g.server_errors));
    bench_print("tls_plain_handshakes_per_s", plain, "handshakes/s");
    bench_note("tls_plain_handshakes_per_s: %llu x (connect + TLS 1.3 handshake + close_notify) "
               "in %.2f s against an in-process OpenSSL %s server thread (self-signed P-256 "
               "certificate, verified as the only trust anchor, IP SAN checked; no tickets, new "
               "client SSL_CTX per connection as ratls_client_connect does)",
               (unsigned long long)rp.ops, rp.seconds, OpenSSL_version(OPENSSL_VERSION));
    bench_note("attested / plain = %.0f / %.0f = %.3f (%.2f ms vs %.2f ms per handshake). The "
               "attested path adds: the TQE host relaying every TLS flight into the enclave "
               "(an ecall FEED per read, and back out), the host's accept/poll loop and rate "
               "check, the enclave's TLS server inside the sim TEE, and on the client the "
               "certificate's evidence extension (CBOR), the quote's PCK chain to the pinned "
               "provisioning root, the quote signature, the key binding and the policy checks",
               attested, plain, attested / plain, 1e3 / attested, 1e3 / plain);
    SSL_CTX_free(g.server_ctx);
    X509_free(g.server_cert);

    /* 4. encrypt: fund one output first (withdraw, committed). */
    wallet_tqe tqe;
    wallet_tqe_client *tc = tqe_connect(g.bench_tqe, &tqe);
    wallet w;
    memset(&w, 0, sizeof w);
    w.keys = g.alice;
    wallet_fee fee;
    uint64_t tip, now;
    char cid[65];
    Veil__Node__Account *acct;
    if ((st = wallet_rpc_fee(&g.rpc, &fee)) != VEIL_OK ||
        (st = wallet_rpc_tip(&g.rpc, &tip, &now, cid)) != VEIL_OK ||
        (st = wallet_rpc_account(&g.rpc, g.alice.spend_pk, &acct)) != VEIL_OK)
        bench_die("rpc: %s (%s)", veil_status_str(st), veil_error_detail());
    snprintf(w.chain_id, sizeof w.chain_id, "%s", cid);
    if (acct->unbonded == 0) bench_die("alice has no unbonded stake");
    wallet_built *wb = malloc(sizeof *wb);
    if (wb == NULL) bench_die("out of memory");
    if ((st = wallet_build_withdraw(&w, &fee, acct->unbonded, acct->unbonded_from, acct->nonce,
                                    wb)) != VEIL_OK)
        bench_die("withdraw: %s (%s)", veil_status_str(st), veil_error_detail());
    veil__node__account__free_unpacked(acct, NULL);
    uint8_t (*txids)[32] = calloc(QUERY_TXIDS, 32);
    committed_tx *ctx_ = calloc(SPLIT, sizeof *ctx_);
    built *bb = malloc(sizeof *bb);
    if (txids == NULL || ctx_ == NULL || bb == NULL) bench_die("out of memory");
    {
        built b = {.payload_len = wb->payload_len, .fee = wb->fee};
        memcpy(b.txid, wb->txid, 32);
        memcpy(b.payload, wb->payload, wb->payload_len);
        encrypt_tx(&tqe, &b, &ctx_[0]);
        commit_all(&ctx_[0], 1, "withdraw");
        free(ctx_[0].bytes);
    }
    memcpy(txids[0], wb->txid, 32);
    free(wb);
    wallet_sync_opts so = {.decoys = 0};
    wallet_sync_stats ss;
    wallet_chain chain;
    wallet_rpc_chain(&g.rpc, &chain);
    if ((st = wallet_sync(&w, &chain, &tqe, &so, &ss)) != VEIL_OK)
        bench_die("sync after the withdraw: %s (%s)", veil_status_str(st), veil_error_detail());
    if (w.n_outputs != 1 || w.outputs[0].spent || memcmp(w.outputs[0].txid, txids[0], 32) != 0)
        bench_die("after the withdraw the wallet holds %zu outputs, not the withdrawn one",
                  w.n_outputs);
    wallet_output root = w.outputs[0];
    if ((st = wallet_rpc_tip(&g.rpc, &tip, &now, cid)) != VEIL_OK)
        bench_die("rpc: %s (%s)", veil_status_str(st), veil_error_detail());
    if (root.valid_from > now) bench_die("the withdrawn output is time-locked");

    /* Distinct transfers (amounts differ) spending that output: to bob, change to alice. */
    wallet_built *pool = malloc(ENCRYPT_POOL * sizeof *pool);
    uint8_t *wire = malloc(VEIL_TX_MAX_WIRE_LEN);
    if (pool == NULL || wire == NULL) bench_die("out of memory");
    const devnet_account *bob = &g.l.accounts[1];
    for (size_t i = 0; i < ENCRYPT_POOL; i++) {
        if ((st = wallet_build_transfer(&w, &fee, now, bob->address, bob->view_pk,
                                        WALLET_COIN + i, &pool[i])) != VEIL_OK)
            bench_die("transfer: %s (%s)", veil_status_str(st), veil_error_detail());
        if (pool[i].body.n_inputs != 1 || pool[i].body.n_outputs != 2)
            bench_die("transfer: %zu in, %zu out", pool[i].body.n_inputs, pool[i].body.n_outputs);
    }
    encrypt_ctx ec = {.tqe = &tqe, .pool = pool, .wire = wire};
    bench_result re;
    double enc = bench_run(encrypts, &ec, min_s, &re);
    if (enc < 0) bench_die("encrypt failed");
    bench_print("tqe_encrypt_per_s", enc, "tx/s");
    bench_note("tqe_encrypt_per_s: %llu EncryptRequest round trips in %.2f s over one attested "
               "connection; %d distinct 1-in/2-out transfers (payload %zu bytes) spending the "
               "same committed output, never broadcast (the TVE validates in CHECK mode); each "
               "request: wallet -> TLS -> enclave (decode) -> host -> node RPC (params, the "
               "input's output status, with proofs) -> the enclave's light client verifies the "
               "next header (one block interval, 100 ms here) -> proofs checked, order sealed -> "
               "TVE (unseal, validate, encrypt) -> back",
               (unsigned long long)re.ops, re.seconds, ENCRYPT_POOL, pool[0].payload_len);

    /* The same from ENCRYPT_CONNS connections at once. */
    {
        encrypt_thread th[ENCRYPT_CONNS];
        wallet_tqe ifaces[ENCRYPT_CONNS];
        wallet_tqe_client *cs[ENCRYPT_CONNS];
        pthread_t tid[ENCRYPT_CONNS];
        double t0 = bench_now(), until = t0 + min_s;
        for (size_t i = 0; i < ENCRYPT_CONNS; i++) {
            cs[i] = tqe_connect(g.bench_tqe, &ifaces[i]);
            th[i] = (encrypt_thread){.ec = {.tqe = &ifaces[i], .pool = pool, .next = i,
                                            .wire = malloc(VEIL_TX_MAX_WIRE_LEN)},
                                     .until = until};
            if (th[i].ec.wire == NULL) bench_die("out of memory");
        }
        t0 = bench_now();
        for (size_t i = 0; i < ENCRYPT_CONNS; i++) {
            th[i].until = t0 + min_s;
            if (pthread_create(&tid[i], NULL, encrypt_thread_main, &th[i]) != 0)
                bench_die("pthread_create");
        }
        uint64_t total = 0;
        bool ok = true;
        for (size_t i = 0; i < ENCRYPT_CONNS; i++) {
            pthread_join(tid[i], NULL);
            total += th[i].ops;
            ok &= th[i].ok;
            free(th[i].ec.wire);
            wallet_tqe_close(cs[i]);
        }
        double secs = bench_now() - t0;
        if (!ok) bench_die("concurrent encrypt failed");
        bench_print("tqe_encrypt_16conn_per_s", (double)total / secs, "tx/s");
        bench_note("tqe_encrypt_16conn_per_s: %llu EncryptRequests in %.2f s from %d attested "
                   "connections at once (one thread each), the same pool of transfers: the "
                   "orders' waits for the next header overlap",
                   (unsigned long long)total, secs, ENCRYPT_CONNS);
    }

    /* Where the per-request time goes (1 s each): the bare round trip on a raw attested
     * connection, then the same and encrypt with TCP_NODELAY on new connections. */
    double diag_s = 1.0;
    uint16_t tport = port_of(g.bench_tqe);
    int before[64], nb = sockets_to(tport, before, 64);
    ratls_client *raw;
    wallet_tqe tqe2;
    if ((st = ratls_client_connect(g.bench_tqe, &g.policy, 10000, &raw)) != VEIL_OK)
        bench_die("TQE: %s (%s)", veil_status_str(st), veil_error_detail());
    wallet_tqe_client *tc2 = tqe_connect(g.bench_tqe, &tqe2);
    double ch = bench_run(challenges, raw, diag_s, NULL);
    int nd = nodelay_new(tport, before, nb);
    if (nd != 2) bench_die("TCP_NODELAY: %d new sockets to the TQE, expected 2", nd);
    double ch_nd = bench_run(challenges, raw, diag_s, NULL);
    ratls_client_close(raw);
    ec.tqe = &tqe2;
    double enc_nd = bench_run(encrypts, &ec, diag_s, NULL);
    if (ch < 0 || ch_nd < 0 || enc_nd < 0) bench_die("diagnostics failed");
    free(ec.pool);
    free(ec.wire);

    /* 5. 64 committed txs naming alice's view key: split the output into 62, spend each. */
    veil_tx_body *body = malloc(sizeof *body);
    if (body == NULL) bench_die("out of memory");
    body_init(body, w.chain_id, VEIL_TX_KIND_TRANSFER);
    body->n_inputs = 1;
    memcpy(body->inputs[0].txid, root.txid, 32);
    body->inputs[0].index = root.index;
    body->n_outputs = SPLIT;
    for (size_t k = 0; k < SPLIT; k++) memcpy(body->outputs[k].address, g.alice.spend_pk, 32);
    body->n_view_keys = 1;
    memcpy(body->view_keys[0], g.alice.view_pk, 32);
    build_split(body, root.value, &fee, bb);
    uint64_t out_val[SPLIT];
    for (size_t k = 0; k < SPLIT; k++) out_val[k] = body->outputs[k].value;
    uint8_t split_txid[32];
    memcpy(split_txid, bb->txid, 32);
    memcpy(txids[1], bb->txid, 32);
    double t0 = bench_now();
    encrypt_tx(&tqe, bb, &ctx_[0]);
    commit_all(&ctx_[0], 1, "split");
    free(ctx_[0].bytes);
    for (size_t k = 0; k < SPLIT; k++) {
        body_init(body, w.chain_id, VEIL_TX_KIND_TRANSFER);
        body->n_inputs = 1;
        memcpy(body->inputs[0].txid, split_txid, 32);
        body->inputs[0].index = (uint32_t)k;
        body->n_outputs = 1;
        memcpy(body->outputs[0].address, g.alice.spend_pk, 32);
        body->n_view_keys = 1;
        memcpy(body->view_keys[0], g.alice.view_pk, 32);
        build_split(body, out_val[k], &fee, bb);
        memcpy(txids[2 + k], bb->txid, 32);
        encrypt_tx(&tqe, bb, &ctx_[k]);
    }
    commit_all(ctx_, SPLIT, "spends");
    for (size_t k = 0; k < SPLIT; k++) free(ctx_[k].bytes);
    free(ctx_);
    free(body);
    free(bb);
    bench_note("set-up: 64 committed txs naming alice's view key (withdraw, 1->%d split, %d "
               "1-in/1-out spends), split+spends encrypted and committed in %.1f s",
               SPLIT, SPLIT, bench_now() - t0);

    query_ctx qc = {.tqe = &tqe, .txids = txids, .n = QUERY_TXIDS};
    bench_result rq;
    double qps = bench_run(queries, &qc, min_s, &rq);
    if (qps < 0) bench_die("queries failed");
    bench_print("tqe_decrypt_txs_per_s", qps * QUERY_TXIDS, "txs/s");
    bench_note("tqe_decrypt_txs_per_s: %llu queries in %.2f s (%.1f queries/s), each "
               "ChallengeRequest + BIP-340-signed QueryRequest naming %d committed txids, all %d "
               "returned (the enclave fetches each sealed tx from the TVE, unseals it, checks "
               "txid and view key); batch size %d txids (the protocol's maximum)",
               (unsigned long long)rq.ops, rq.seconds, qps, QUERY_TXIDS, QUERY_TXIDS, QUERY_TXIDS);

    double qps_nd = bench_run(queries, &(query_ctx){.tqe = &tqe2, .txids = txids, .n = QUERY_TXIDS},
                              diag_s, NULL);
    if (qps_nd < 0) bench_die("diagnostics failed");
    bench_note("transport: a bare ChallengeRequest round trip takes %.2f ms (%.0f/s); on the "
               "second connection %.3f ms (%.0f/s)",
               1e3 / ch, ch, 1e3 / ch_nd, ch_nd);
    bench_note("second connection, TCP_NODELAY set again by the bench (1 s each): encrypt "
               "%.1f tx/s, decrypt %.0f txs/s (%.1f queries/s). The wallet's client sends each "
               "message as one TLS record with TCP_NODELAY, and the TQE sets it on its side: "
               "the two should agree; a large gap means small writes wait for delayed ACKs "
               "(Nagle) again, about 40 ms a request",
               enc_nd, qps_nd * QUERY_TXIDS, qps_nd);
    wallet_tqe_close(tc2);
    wallet_tqe_close(tc);
    wallet_free(&w);
    free(txids);

    /* 6. wallet sync from height 0 */
    t0 = bench_now();
    while (chain_height() < MIN_BLOCKS) {
        if (bench_now() - t0 > 60) bench_die("the chain did not reach %d blocks in 60 s", MIN_BLOCKS);
        check_stop();
        usleep(100 * 1000);
    }
    tc = tqe_connect(g.bench_tqe, &tqe);
    double sync_s = 0;
    uint64_t blocks = 0, runs = 0;
    wallet_sync_stats last = {0};
    while (runs == 0 || sync_s < 1.0) {
        wallet ws;
        memset(&ws, 0, sizeof ws);
        ws.keys = g.alice;
        wallet_sync_opts o = {.decoys = SYNC_DECOYS};
        double s0 = bench_now();
        st = wallet_sync(&ws, &chain, &tqe, &o, &last);
        sync_s += bench_now() - s0;
        if (st != VEIL_OK) bench_die("sync: %s (%s)", veil_status_str(st), veil_error_detail());
        if (last.from != 1 || last.to < MIN_BLOCKS || last.txs_found < QUERY_TXIDS)
            bench_die("sync: blocks %llu..%llu, %llu txs found (want >= %d)",
                      (unsigned long long)last.from, (unsigned long long)last.to,
                      (unsigned long long)last.txs_found, QUERY_TXIDS);
        blocks += last.to - last.from + 1;
        runs++;
        wallet_free(&ws);
        check_stop();
    }
    wallet_tqe_close(tc);
    double sync_rate = (double)blocks / sync_s;

    /* The same with TCP_NODELAY on the TQE connection (diagnostic, >= 1 s). */
    int nb2 = sockets_to(tport, before, 64);
    tc = tqe_connect(g.bench_tqe, &tqe);
    if (nodelay_new(tport, before, nb2) != 1) bench_die("TCP_NODELAY: expected 1 new socket");
    double sync_nd_s = 0;
    uint64_t blocks_nd = 0;
    for (uint64_t r = 0; r == 0 || sync_nd_s < 1.0; r++) {
        wallet ws;
        memset(&ws, 0, sizeof ws);
        ws.keys = g.alice;
        wallet_sync_opts o = {.decoys = SYNC_DECOYS};
        wallet_sync_stats s2;
        double s0 = bench_now();
        st = wallet_sync(&ws, &chain, &tqe, &o, &s2);
        sync_nd_s += bench_now() - s0;
        if (st != VEIL_OK) bench_die("sync: %s (%s)", veil_status_str(st), veil_error_detail());
        blocks_nd += s2.to - s2.from + 1;
        wallet_free(&ws);
        check_stop();
    }
    wallet_tqe_close(tc);
    bench_print("wallet_sync_blocks_per_s", sync_rate, "blocks/s");
    bench_note("wallet_sync_blocks_per_s: %llu full syncs from height 0 (last: blocks "
               "%llu..%llu) in %.2f s, wallet restored from wallets/alice.seed, in memory (no "
               "wallet file); per sync: %llu blocks matched the bloom filter, %llu real txids "
               "queried (+%d decoys per query), %llu txs found; attested connection opened "
               "before timing",
               (unsigned long long)runs, (unsigned long long)last.from,
               (unsigned long long)last.to, sync_s, (unsigned long long)last.bloom_hits,
               (unsigned long long)last.queried_txids, SYNC_DECOYS,
               (unsigned long long)last.txs_found);
    bench_note("wallet sync with TCP_NODELAY on the TQE connection (diagnostic): %.0f blocks/s; "
               "the rest of a sync is one block_results RPC per block (bloom) and one block RPC "
               "per bloom hit",
               (double)blocks_nd / sync_nd_s);

    /* Stop both daemons cleanly. */
    int status = bench_child_stop(&g.tqe, SIGTERM, "veil tqe");
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        bench_dump_file(g.tqe_out);
        bench_die("veil tqe did not stop cleanly (wait status %d)", status);
    }
    status = bench_child_stop(&g.devnet, SIGINT, "veil devnet");
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        bench_dump_file(g.out_file);
        bench_die("the devnet did not stop cleanly (wait status %d)", status);
    }
    bench_note("whole run %.1f s", bench_now() - t_start);
    return 0;
}
