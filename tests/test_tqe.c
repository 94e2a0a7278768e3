/* The TQE daemon end to end: real `veil tve` and `veil tqe` processes, a stub node RPC
 * served by this test (a signed chain whose state holds the chain parameters and one
 * staking account, with proofs, for the TQE's light client), and TLS 1.3 clients
 * made with OpenSSL directly (evidence verification is the attested-TLS module's
 * test; here the certificate is only checked to carry the evidence extension).
 *
 * The tests run in order on one pair of daemons. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "host/ratls/ratls_client.h"
#include "support/tve_client.h"
#include "support/tx_builder.h"
#include "support/ias_world.h"
#include "tee/sim/sim_host.h"
#include "trusted/tx/tx.h"
#include "veil/node.pb-c.h"
#include "host/devchain/cmt_json.h"
#include "host/node/smt.h"
#include "support/lc_testchain.h"
#include "trusted/cmt/cmt_hash.h"
#include "trusted/state/smt_verify.h"
#include "trusted/tqe/tqe_abi.h"
#include "veil/tqe.pb-c.h"

#define VEIL_BIN VEIL_BUILD_DIR "/veil"
#define CHAIN "veil-test-tqe"
#define BLOCK_TIME UINT64_C(1700000000)
#define UNBONDED_FROM (BLOCK_TIME - 100)
/* The recipient's output value: private (the account's unbonded total, AMOUNT + CHANGE,
 * is public state). */
#define AMOUNT UINT64_C(0x0badcafe1234)
#define CHANGE UINT64_C(0x01111111)
#define RECV_TIMEOUT_MS 30000

static char g_dir[64], g_plat[128], g_ep[160];
static pid_t g_tve_pid, g_tqe_pid;
static int g_tqe_port;
static char g_mrsigner_hex[65];
static tvec_client g_c;
static tvec_chain g_chain;
static uint8_t g_acct_sk[32], g_acct_pk[32], g_owner_sk[32], g_owner_pk[32];
static uint8_t g_view_sk[32], g_view_pk[32], g_other_sk[32], g_other_pk[32];
static uint8_t g_txid[32];
/* One path for a tx's bytes: what the wallet sent and what the TQE handed back. */
static uint8_t g_payload[VEIL_TX_MAX_PAYLOAD_LEN], g_wire[VEIL_TX_MAX_WIRE_LEN];
static size_t g_payload_len, g_wire_len;
static SSL_CTX *g_ssl;

/* --- processes ---------------------------------------------------------------------- */

/* Starts `veil args...` with stderr to log and waits for its start-up line (copied to
 * line). */
static pid_t daemon_start(const char *log, char *line, size_t cap, const char *const *args)
{
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failing test leaves no daemon behind */
        FILE *l = fopen(log, "a");
        if (l == NULL) _exit(127);
        dup2(fileno(l), 2);
        dup2(p[1], 1);
        close(p[0]);
        char *argv[32];
        size_t n = 0;
        argv[n++] = (char *)VEIL_BIN;
        for (size_t i = 0; args[i] != NULL && n < 31; i++) argv[n++] = (char *)args[i];
        argv[n] = NULL;
        execv(VEIL_BIN, argv);
        _exit(127);
    }
    close(p[1]);
    size_t have = 0;
    struct pollfd pf = {p[0], POLLIN, 0};
    while (have + 1 < cap && poll(&pf, 1, 30000) > 0) {
        ssize_t r = read(p[0], line + have, 1);
        if (r <= 0 || line[have] == '\n') break;
        have++;
    }
    line[have] = '\0';
    close(p[0]); /* later stdout writes go nowhere (SIGPIPE ignored by the daemons) */
    return have > 0 ? pid : -1;
}

/* SIGTERM; true if the daemon exited 0 (under ASan that includes no leaks). */
static bool daemon_stop(pid_t pid)
{
    int st = 0;
    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* --- stub node RPC ------------------------------------------------------------------- */
/* A chain of STUB_BLOCKS blocks by one validator (lc_testchain), every header naming the
 * root of a tree that holds the chain parameters and one staking account: the TQE's light
 * client follows it (/status, /commit, /validators) and its orders' state comes with
 * proofs against it (abci_query with prove). Served one request per connection. */
#define STUB_BLOCKS 3
static int g_rpc_fd, g_rpc_port;
static lc_testchain g_lc;
static node_smt *g_smt;
static uint8_t g_params_rec[64], g_acct_rec[256];
static size_t g_params_len, g_acct_len;
/* How the stub lies about state (test_encrypt_state_lies). */
enum { STUB_HONEST, STUB_TAMPERED, STUB_UNVERIFIED };
static _Atomic int g_stub_mode;

static json_t *b64j(const uint8_t *p, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *s = malloc(cap);
    sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
    json_t *j = json_string(s);
    free(s);
    return j;
}

static void stub_put(uint8_t ns, const void *id, size_t id_len, const uint8_t *rec, size_t n)
{
    uint8_t key[32], vh[32];
    veil_smt_key(key, ns, id, id_len);
    veil_smt_value_hash(vh, rec, n);
    assert_int_equal(node_smt_set(g_smt, key, vh), VEIL_OK);
}

static void stub_chain_init(void)
{
    Veil__Node__Params p = VEIL__NODE__PARAMS__INIT;
    p.fee_rule = 2;
    g_params_len = veil__node__params__pack(&p, g_params_rec);
    Veil__Node__Account a = VEIL__NODE__ACCOUNT__INIT;
    a.address.data = g_acct_pk;
    a.address.len = 32;
    a.unbonded = AMOUNT + CHANGE;
    a.unbonded_from = UNBONDED_FROM;
    a.nonce = 1;
    g_acct_len = veil__node__account__pack(&a, g_acct_rec);
    assert_int_equal(node_smt_new(&g_smt), VEIL_OK);
    stub_put(VEIL_SMT_NS_PARAM, "chain", 5, g_params_rec, g_params_len);
    stub_put(VEIL_SMT_NS_ACCOUNT, g_acct_pk, 32, g_acct_rec, g_acct_len);
    uint8_t root[32];
    node_smt_root(g_smt, root);
    lc_testchain_init(&g_lc, CHAIN, 1, (int64_t)time(NULL) - 60);
    for (int i = 0; i < STUB_BLOCKS; i++) lc_testchain_append(&g_lc, root);
}

/* abci_query of one record at the last state (STUB_BLOCKS - 1: the last header names its
 * root), with its proof. */
static json_t *stub_query(const char *path)
{
    uint8_t id[32], key[32];
    size_t id_len = 32;
    uint8_t ns;
    const uint8_t *rec = NULL;
    size_t rec_len = 0;
    uint8_t tampered[sizeof g_params_rec];
    if (strncmp(path, "/params", 7) == 0) {
        ns = VEIL_SMT_NS_PARAM, id_len = 5, memcpy(id, "chain", 5);
        rec = g_params_rec, rec_len = g_params_len;
        if (g_stub_mode == STUB_TAMPERED) { /* a fee schedule the chain never had */
            Veil__Node__Params p = VEIL__NODE__PARAMS__INIT;
            p.fee_rule = 2;
            p.fee_base = 1;
            rec_len = veil__node__params__pack(&p, tampered);
            rec = tampered;
        }
    } else if (strncmp(path, "/account/", 9) == 0 &&
               veil_hex_decode_exact(id, 32, path + 9, 64) == VEIL_OK) {
        ns = VEIL_SMT_NS_ACCOUNT;
        if (memcmp(id, g_acct_pk, 32) == 0) rec = g_acct_rec, rec_len = g_acct_len;
    } else if (strncmp(path, "/output/", 8) == 0 &&
               veil_hex_decode_exact(id, 32, path + 8, 64) == VEIL_OK) {
        ns = VEIL_SMT_NS_OUTPUT;
    } else {
        return NULL;
    }
    veil_smt_key(key, ns, id, id_len);
    veil_smt_proof *proof = malloc(sizeof *proof);
    uint8_t enc[VEIL_SMT_PROOF_MAX_LEN];
    size_t enc_len = 0;
    bool present = false;
    node_smt_prove(g_smt, key, proof, &present, NULL);
    assert_int_equal(veil_smt_proof_encode(proof, enc, sizeof enc, &enc_len), VEIL_OK);
    free(proof);
    json_t *ops = json_array();
    json_array_append_new(ops, json_pack("{s:s,s:o,s:o}", "type", "veil:smt", "key",
                                         b64j(key, 32), "data", b64j(enc, enc_len)));
    char h[24];
    /* Unverified: a state whose header (50) the chain never made. */
    snprintf(h, sizeof h, "%d", g_stub_mode == STUB_UNVERIFIED ? 49 : STUB_BLOCKS - 1);
    return json_pack("{s:{s:i,s:s,s:o,s:o,s:{s:o},s:s}}", "response", "code", 0, "log", "",
                     "key", b64j(key, 32), "value", b64j(rec, rec_len), "proofOps", "ops", ops,
                     "height", h);
}

static json_t *stub_commit(int64_t h)
{
    const lc_light_block *lb = lc_testchain_get(&g_lc, h);
    if (lb == NULL) return NULL;
    cmt_commit *c = calloc(1, sizeof *c);
    c->height = lb->commit.height;
    c->round = lb->commit.round;
    c->block_id = lb->commit.block_id;
    c->n_sigs = lb->commit.n_sigs;
    memcpy(c->sigs, lb->commit.sigs, lb->commit.n_sigs * sizeof c->sigs[0]);
    json_t *j = json_pack("{s:{s:o,s:o},s:b}", "signed_header", "header",
                          cmt_json_header(&lb->header), "commit", cmt_json_commit(c),
                          "canonical", 1);
    free(c);
    return j;
}

static json_t *stub_validators(int64_t h)
{
    const lc_light_block *lb = lc_testchain_get(&g_lc, h);
    if (lb == NULL) return NULL;
    json_t *vals = json_array();
    for (size_t i = 0; i < lb->vals.n; i++)
        json_array_append_new(
            vals, json_pack("{s:o,s:o,s:o,s:o}", "address",
                            cmt_json_hex(lb->vals.address[i], CMT_ADDRESS_LEN), "pub_key",
                            cmt_json_pub_key(lb->vals.v[i].pub_key), "voting_power",
                            cmt_json_i64(lb->vals.v[i].voting_power), "proposer_priority",
                            cmt_json_i64(0)));
    return json_pack("{s:o,s:o,s:o,s:o}", "block_height", cmt_json_i64(h), "validators", vals,
                     "count", cmt_json_i64((int64_t)lb->vals.n), "total",
                     cmt_json_i64((int64_t)lb->vals.n));
}

static void *rpc_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(g_rpc_fd, NULL, NULL);
        if (fd < 0) return NULL;
        char req[2048] = {0};
        ssize_t n = recv(fd, req, sizeof req - 1, 0);
        json_t *result = NULL;
        const char *q;
        long long h = 0;
        if (n <= 0) {
        } else if (strstr(req, "GET /status") != NULL) {
            char lh[24];
            snprintf(lh, sizeof lh, "%d", STUB_BLOCKS);
            result = json_pack("{s:{s:s},s:{s:s}}", "node_info", "network", CHAIN, "sync_info",
                               "latest_block_height", lh);
        } else if ((q = strstr(req, "GET /commit?height=")) != NULL) {
            h = atoll(q + strlen("GET /commit?height="));
            result = stub_commit(h);
        } else if ((q = strstr(req, "GET /validators?height=")) != NULL) {
            h = atoll(q + strlen("GET /validators?height="));
            result = stub_validators(h);
        } else if ((q = strstr(req, "GET /abci_query?path=%22")) != NULL) {
            char path[160] = {0};
            const char *p = q + strlen("GET /abci_query?path=%22");
            const char *end = strstr(p, "%22");
            if (end != NULL && (size_t)(end - p) < sizeof path) memcpy(path, p, (size_t)(end - p));
            result = stub_query(path);
        }
        json_t *doc = result != NULL
                          ? json_pack("{s:s,s:i,s:o}", "jsonrpc", "2.0", "id", -1, "result", result)
                          : json_pack("{s:s,s:i,s:{s:i,s:s}}", "jsonrpc", "2.0", "id", -1,
                                      "error", "code", -32603, "message", "no such thing");
        char *body = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        char head[256];
        int hl = snprintf(head, sizeof head,
                          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                          strlen(body));
        if (send(fd, head, (size_t)hl, MSG_NOSIGNAL) < 0 ||
            send(fd, body, strlen(body), MSG_NOSIGNAL) < 0) {
        }
        free(body);
        close(fd);
    }
}

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0) return -1;
    getsockname(fd, (struct sockaddr *)&a, &l);
    *port = ntohs(a.sin_port);
    return fd;
}

/* --- TLS client ------------------------------------------------------------------------ */

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* NULL when the handshake fails. */
static SSL *tls_connect(int port)
{
    int fd = tcp_connect(port);
    if (fd < 0) return NULL;
    SSL *s = SSL_new(g_ssl);
    SSL_set_fd(s, fd);
    if (SSL_connect(s) != 1) {
        SSL_free(s);
        close(fd);
        return NULL;
    }
    return s;
}

static void tls_close(SSL *s)
{
    int fd = SSL_get_fd(s);
    SSL_shutdown(s);
    SSL_free(s);
    close(fd);
}

static bool read_exact(SSL *s, uint8_t *p, size_t n)
{
    while (n > 0) {
        int r = SSL_read(s, p, (int)n);
        if (r <= 0) return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

/* Sends a request; the response (NULL if the connection closed). */
static Veil__Tqe__Response *call(SSL *s, const Veil__Tqe__Request *req)
{
    size_t n = veil__tqe__request__get_packed_size(req);
    uint8_t *buf = malloc(n + 4);
    buf[0] = (uint8_t)(n >> 24), buf[1] = (uint8_t)(n >> 16), buf[2] = (uint8_t)(n >> 8);
    buf[3] = (uint8_t)n;
    veil__tqe__request__pack(req, buf + 4);
    int w = SSL_write(s, buf, (int)(n + 4));
    free(buf);
    if (w != (int)(n + 4)) return NULL;
    uint8_t hdr[4];
    if (!read_exact(s, hdr, 4)) return NULL;
    size_t len = ((size_t)hdr[0] << 24) | ((size_t)hdr[1] << 16) | ((size_t)hdr[2] << 8) | hdr[3];
    uint8_t *body = malloc(len ? len : 1);
    Veil__Tqe__Response *r = NULL;
    if (read_exact(s, body, len)) r = veil__tqe__response__unpack(NULL, len, body);
    free(body);
    return r;
}

static Veil__Tqe__Response *challenge(SSL *s, uint8_t out[32])
{
    Veil__Tqe__ChallengeRequest c = VEIL__TQE__CHALLENGE_REQUEST__INIT;
    Veil__Tqe__Request req = VEIL__TQE__REQUEST__INIT;
    req.request_case = VEIL__TQE__REQUEST__REQUEST_CHALLENGE;
    req.challenge = &c;
    Veil__Tqe__Response *r = call(s, &req);
    if (r != NULL && r->response_case == VEIL__TQE__RESPONSE__RESPONSE_CHALLENGE &&
        r->challenge->challenge.len == 32)
        memcpy(out, r->challenge->challenge.data, 32);
    return r;
}

static Veil__Tqe__Response *query(SSL *s, const uint8_t ch[32], const uint8_t sk[32],
                                  const uint8_t (*txids)[32], size_t n)
{
    uint8_t vk[32], sig[64], digest[32];
    txb_pubkey(vk, sk);
    size_t ml = 64 + 32 * n;
    uint8_t *m = malloc(ml);
    memcpy(m, ch, 32);
    memcpy(m + 32, vk, 32);
    ProtobufCBinaryData *ids = calloc(n ? n : 1, sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        memcpy(m + 64 + 32 * i, txids[i], 32);
        ids[i].data = (uint8_t *)txids[i];
        ids[i].len = 32;
    }
    veil_sha256_tagged(digest, "veil/tqe-query/v1", m, ml);
    assert_int_equal(veil_schnorr_sign(sig, digest, 32, sk, NULL), VEIL_OK);
    Veil__Tqe__QueryRequest q = VEIL__TQE__QUERY_REQUEST__INIT;
    q.view_key.data = vk;
    q.view_key.len = 32;
    q.signature.data = sig;
    q.signature.len = 64;
    q.n_txids = n;
    q.txids = ids;
    Veil__Tqe__Request req = VEIL__TQE__REQUEST__INIT;
    req.request_case = VEIL__TQE__REQUEST__REQUEST_QUERY;
    req.query = &q;
    Veil__Tqe__Response *r = call(s, &req);
    free(m);
    free(ids);
    return r;
}

static void expect_error(Veil__Tqe__Response *r, uint32_t code)
{
    assert_non_null(r);
    if (r->response_case != VEIL__TQE__RESPONSE__RESPONSE_ERROR)
        fail_msg("expected error %u, got response %d", code, r->response_case);
    assert_int_equal(r->error->code, code);
    veil__tqe__response__free_unpacked(r, NULL);
}

/* Whether the peer closed the connection (no data within the receive timeout fails). */
static bool closed_by_peer(int fd)
{
    uint8_t b[4096];
    for (;;) {
        ssize_t r = recv(fd, b, sizeof b, 0);
        if (r == 0) return true;
        if (r < 0) return errno == ECONNRESET;
    }
}

/* --- setup -------------------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    char root[128], tve_home[128], tqe_home[128], log[128], rpc[64], line[512];
    if (veil_crypto_init() != VEIL_OK || sodium_init() < 0) return -1;
    signal(SIGPIPE, SIG_IGN);
    snprintf(g_dir, sizeof g_dir, "/tmp/veil-test-tqe-XXXXXX");
    if (mkdtemp(g_dir) == NULL) return -1;
    snprintf(g_plat, sizeof g_plat, "%s/platform", g_dir);
    snprintf(root, sizeof root, "%s/root", g_dir);
    snprintf(tve_home, sizeof tve_home, "%s/tve", g_dir);
    snprintf(tqe_home, sizeof tqe_home, "%s/tqe", g_dir);
    snprintf(g_ep, sizeof g_ep, "ipc://%s/tve.sock", g_dir);
    if (sim_platform_provision(g_plat, root, 1, false) != VEIL_OK) return -1;
    memset(g_acct_sk, 0x11, 32);
    memset(g_owner_sk, 0x22, 32);
    memset(g_view_sk, 0x33, 32);
    memset(g_other_sk, 0x44, 32);
    txb_pubkey(g_acct_pk, g_acct_sk);
    txb_pubkey(g_owner_pk, g_owner_sk);
    txb_pubkey(g_view_pk, g_view_sk);
    txb_pubkey(g_other_pk, g_other_sk);
    tvec_chain_init(&g_chain, CHAIN, BLOCK_TIME);

    snprintf(log, sizeof log, "%s/tve.log", g_dir);
    const char *tve_args[] = {"tve", "--listen", g_ep, "--home", tve_home, "--platform", g_plat,
                              "--threads", "2", NULL};
    g_tve_pid = daemon_start(log, line, sizeof line, tve_args);
    if (g_tve_pid <= 0) return -1;
    tvec_connect(&g_c, g_ep, RECV_TIMEOUT_MS);
    Veil__Tve__Response *r = tvec_init_chain(&g_c, CHAIN);
    if (r == NULL || tvec_error_code(r) != 0) return -1;
    tvec_response_free(r);

    stub_chain_init();
    char trust_hash[65];
    uint8_t h1[CMT_HASH_LEN];
    if (cmt_header_hash(&lc_testchain_get(&g_lc, 1)->header, h1) != VEIL_OK) return -1;
    veil_hex_encode(trust_hash, h1, sizeof h1);
    g_rpc_fd = listen_any(&g_rpc_port);
    pthread_t th;
    if (g_rpc_fd < 0 || pthread_create(&th, NULL, rpc_main, NULL) != 0) return -1;
    pthread_detach(th);
    snprintf(rpc, sizeof rpc, "http://127.0.0.1:%d", g_rpc_port);

    snprintf(log, sizeof log, "%s/tqe.log", g_dir);
    const char *tqe_args[] = {"tqe", "--listen", "127.0.0.1:0", "--tve", g_ep, "--home", tqe_home,
                              "--platform", g_plat, "--rpc", rpc, "--trust-height", "1",
                              "--trust-hash", trust_hash, "--timeout", "5", "--rate",
                              "1000", "--max-per-address", "64", NULL};
    g_tqe_pid = daemon_start(log, line, sizeof line, tqe_args);
    const char *p = strstr(line, "127.0.0.1:");
    if (g_tqe_pid <= 0 || p == NULL) return -1;
    g_tqe_port = atoi(p + strlen("127.0.0.1:"));
    const char *m = strstr(line, "mrsigner ");
    if (m == NULL || strlen(m) < 9 + 64) return -1;
    memcpy(g_mrsigner_hex, m + 9, 64);

    g_ssl = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(g_ssl, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(g_ssl, TLS1_3_VERSION);
    SSL_CTX_set_verify(g_ssl, SSL_VERIFY_NONE, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tvec_close(&g_c);
    bool clean = daemon_stop(g_tqe_pid);
    clean &= daemon_stop(g_tve_pid);
    if (!clean) {
        fprintf(stderr, "test_tqe: a daemon did not exit cleanly; logs in %s\n", g_dir);
        return -1;
    }
    SSL_CTX_free(g_ssl);
    close(g_rpc_fd);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return getenv("VEIL_TQE_KEEP") != NULL ? 0 : (system(cmd) == 0 ? 0 : -1);
}

/* --- tests --------------------------------------------------------------------------- */

/* A withdraw naming the view key goes through the TQE: it comes back as a wire tx
 * the TVE accepts (CHECK, then DELIVER and commit at height 1). */
static void test_encrypt(void **state)
{
    (void)state;
    txb *b = txb_new(VEIL_TX_KIND_WITHDRAW, CHAIN);
    memcpy(b->account, g_acct_pk, 32);
    b->nonce = 1;
    txb_output(b, g_owner_pk, AMOUNT, UNBONDED_FROM);
    txb_output(b, g_acct_pk, CHANGE, UNBONDED_FROM);
    txb_view_key(b, g_view_pk);
    txb_signer(b, g_acct_sk);
    txb_build_body(b);
    txb_build_payload(b);
    memcpy(g_txid, b->txid, 32);

    SSL *s = tls_connect(g_tqe_port);
    assert_non_null(s);
    Veil__Tqe__EncryptRequest e = VEIL__TQE__ENCRYPT_REQUEST__INIT;
    e.payload.data = b->payload;
    e.payload.len = b->payload_len;
    e.fee = 0;
    Veil__Tqe__Request req = VEIL__TQE__REQUEST__INIT;
    req.request_case = VEIL__TQE__REQUEST__REQUEST_ENCRYPT;
    req.encrypt = &e;
    Veil__Tqe__Response *r = call(s, &req);
    assert_non_null(r);
    if (r->response_case == VEIL__TQE__RESPONSE__RESPONSE_ERROR)
        fail_msg("encrypt: %u %s", r->error->code, r->error->name);
    assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_ENCRYPT);
    assert_true(b->payload_len <= sizeof g_payload && r->encrypt->tx.len <= sizeof g_wire);
    memcpy(g_payload, b->payload, b->payload_len);
    g_payload_len = b->payload_len;
    memcpy(g_wire, r->encrypt->tx.data, r->encrypt->tx.len);
    g_wire_len = r->encrypt->tx.len;
    tvec_tx t = {0};
    memcpy(t.txid, g_txid, 32);
    t.wire_len = r->encrypt->tx.len;
    t.wire = malloc(t.wire_len);
    memcpy(t.wire, r->encrypt->tx.data, t.wire_len);
    assert_true(tvec_tx_redecode(&t));
    assert_memory_equal(t.msg->txid.data, g_txid, 32);
    t.has_account = true;
    veil__tve__account_state__init(&t.account);
    memcpy(t.account_addr, g_acct_pk, 32);
    t.account.address.len = 32;
    t.account.unbonded = AMOUNT + CHANGE;
    t.account.unbonded_from = UNBONDED_FROM;
    t.account.nonce = 1;
    /* The TVE judges the very bytes the wallet got (tvec sends t.wire as they are). */
    assert_int_equal(t.wire_len, g_wire_len);
    assert_memory_equal(t.wire, g_wire, g_wire_len);
    Veil__Tve__Response *v = tvec_verify_tx(&g_c, &g_chain, VEIL__TVE__MODE__CHECK, 1, &t);
    assert_non_null(v);
    assert_int_equal(tvec_error_code(v), 0);
    tvec_response_free(v);
    v = tvec_verify_tx(&g_c, &g_chain, VEIL__TVE__MODE__DELIVER, 1, &t);
    assert_int_equal(tvec_error_code(v), 0);
    tvec_response_free(v);
    uint8_t h[32] = {1};
    v = tvec_commit_block(&g_c, 1, h, 32, (const uint8_t(*)[32])g_txid, 1);
    assert_int_equal(tvec_error_code(v), 0);
    tvec_response_free(v);

    /* A payload that is not a TxPayload is refused with an error, the connection lives. */
    uint8_t junk[3] = {0xff, 0xff, 0xff};
    e.payload.data = junk;
    e.payload.len = sizeof junk;
    veil__tqe__response__free_unpacked(r, NULL);
    r = call(s, &req);
    assert_non_null(r);
    assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_ERROR);
    veil__tqe__response__free_unpacked(r, NULL);
    uint8_t ch[32];
    r = challenge(s, ch);
    assert_non_null(r);
    veil__tqe__response__free_unpacked(r, NULL);

    tvec_tx_free(&t);
    tls_close(s);
    txb_free(b);
}

/* A node that lies about the chain state an order is judged against: the encrypt is
 * refused in the TQE enclave, before anything reaches the TVE. */
static void test_encrypt_state_lies(void **state)
{
    (void)state;
    txb *b = txb_new(VEIL_TX_KIND_WITHDRAW, CHAIN);
    memcpy(b->account, g_acct_pk, 32);
    b->nonce = 1;
    txb_output(b, g_owner_pk, AMOUNT, UNBONDED_FROM);
    txb_output(b, g_acct_pk, CHANGE, UNBONDED_FROM);
    txb_signer(b, g_acct_sk);
    txb_build_body(b);
    txb_build_payload(b);
    SSL *s = tls_connect(g_tqe_port);
    assert_non_null(s);
    Veil__Tqe__EncryptRequest e = VEIL__TQE__ENCRYPT_REQUEST__INIT;
    e.payload.data = b->payload;
    e.payload.len = b->payload_len;
    Veil__Tqe__Request req = VEIL__TQE__REQUEST__INIT;
    req.request_case = VEIL__TQE__REQUEST__REQUEST_ENCRYPT;
    req.encrypt = &e;
    static const struct {
        int mode;
        uint32_t code;
    } cases[] = {{STUB_TAMPERED, VEIL_ERR_TQE_STATE_PROOF}, {STUB_UNVERIFIED, VEIL_ERR_TQE_NOT_SYNCED}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        g_stub_mode = cases[i].mode;
        Veil__Tqe__Response *r = call(s, &req);
        assert_non_null(r);
        assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_ERROR);
        assert_int_equal(r->error->code, cases[i].code);
        veil__tqe__response__free_unpacked(r, NULL);
    }
    /* Honest again: the same request now reaches the TVE, which judges it (this withdraw
     * is not the one test_encrypt committed: it is valid, and encrypted). */
    g_stub_mode = STUB_HONEST;
    Veil__Tqe__Response *r = call(s, &req);
    assert_non_null(r);
    if (r->response_case == VEIL__TQE__RESPONSE__RESPONSE_ERROR)
        fail_msg("encrypt: %u %s", r->error->code, r->error->name);
    assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_ENCRYPT);
    veil__tqe__response__free_unpacked(r, NULL);
    tls_close(s);
    txb_free(b);
}

static void test_query(void **state)
{
    (void)state;
    SSL *s = tls_connect(g_tqe_port);
    assert_non_null(s);
    uint8_t ch[32], unknown[32];
    memset(unknown, 0x5a, 32);
    const uint8_t ids[2][32];
    memcpy((uint8_t *)ids[0], g_txid, 32);
    memcpy((uint8_t *)ids[1], unknown, 32);

    /* The right key gets the tx (the unknown txid is omitted). */
    Veil__Tqe__Response *r = challenge(s, ch);
    veil__tqe__response__free_unpacked(r, NULL);
    r = query(s, ch, g_view_sk, ids, 2);
    assert_non_null(r);
    if (r->response_case == VEIL__TQE__RESPONSE__RESPONSE_ERROR)
        fail_msg("query: %u %s", r->error->code, r->error->name);
    assert_int_equal(r->query->n_txs, 1);
    assert_memory_equal(r->query->txs[0]->txid.data, g_txid, 32);
    /* One path for a tx's bytes: the TQE returned from the TVE's sealed store exactly
     * the payload the wallet sent (test_encrypt), and the TVE validated and stored
     * exactly the wire bytes the TQE handed the wallet (the CHECK and DELIVER there
     * carried g_wire unchanged). */
    assert_int_equal(r->query->txs[0]->payload.len, g_payload_len);
    assert_memory_equal(r->query->txs[0]->payload.data, g_payload, g_payload_len);
    uint8_t id[32];
    veil_tx_body body;
    assert_int_equal(veil_tx_payload_open(r->query->txs[0]->payload.data,
                                          r->query->txs[0]->payload.len, NULL, &body, id),
                     VEIL_OK);
    assert_memory_equal(id, g_txid, 32);
    veil__tqe__response__free_unpacked(r, NULL);

    /* The challenge was used: the same query again is refused. */
    expect_error(query(s, ch, g_view_sk, ids, 2), 920);
    /* No challenge at all. */
    expect_error(query(s, ch, g_view_sk, ids, 1), 920);

    /* Another key, properly signed: nothing. */
    r = challenge(s, ch);
    veil__tqe__response__free_unpacked(r, NULL);
    r = query(s, ch, g_other_sk, ids, 2);
    assert_non_null(r);
    assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_QUERY);
    assert_int_equal(r->query->n_txs, 0);
    veil__tqe__response__free_unpacked(r, NULL);

    /* A signature over another challenge: refused. */
    uint8_t wrong[32];
    r = challenge(s, ch);
    veil__tqe__response__free_unpacked(r, NULL);
    memcpy(wrong, ch, 32);
    wrong[0] ^= 1;
    expect_error(query(s, wrong, g_view_sk, ids, 1), VEIL_ERR_BAD_SIGNATURE);

    /* 65 txids. */
    uint8_t(*many)[32] = calloc(65, 32);
    r = challenge(s, ch);
    veil__tqe__response__free_unpacked(r, NULL);
    expect_error(query(s, ch, g_view_sk, (const uint8_t(*)[32])many, 65), 922);
    free(many);

    tls_close(s);
}

/* The wallet's policy for the TQE: its signer (from the TQE's start-up line), product
 * and minimum SVN, UpToDate only; attestation evidence as the caller sets. */
static ratls_policy tqe_policy(uint8_t signer[32])
{
    assert_int_equal(veil_hex_decode_exact(signer, 32, g_mrsigner_hex, 64), VEIL_OK);
    ratls_policy pol = {0};
    pol.mrsigner = signer;
    pol.has_prodid = 1;
    pol.prodid = TQE_PRODID;
    pol.has_min_svn = 1;
    pol.min_svn = TQE_SVN;
    dcap_policy_default(&pol.tcb);
    return pol;
}

/* An attest request; returns the response (caller frees). */
static Veil__Tqe__Response *attest(ratls_client *c, const uint8_t nonce[32], bool ias)
{
    Veil__Tqe__AttestRequest ar = VEIL__TQE__ATTEST_REQUEST__INIT;
    Veil__Tqe__Request rq = VEIL__TQE__REQUEST__INIT;
    ar.nonce.data = (uint8_t *)nonce;
    ar.nonce.len = 32;
    ar.ias_report = ias;
    rq.request_case = VEIL__TQE__REQUEST__REQUEST_ATTEST;
    rq.attest = &ar;
    uint8_t frame[128], *msg = NULL;
    size_t fl = veil__tqe__request__pack(&rq, frame), len = 0;
    assert_int_equal(ratls_client_send_msg(c, frame, fl), VEIL_OK);
    assert_int_equal(ratls_client_recv_msg(c, 1 << 20, &msg, &len), VEIL_OK);
    Veil__Tqe__Response *r = veil__tqe__response__unpack(NULL, len, msg);
    free(msg);
    assert_non_null(r);
    assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_ATTEST);
    return r;
}

/* The wallet's client (src/host/ratls): the evidence verifies against the authority's
 * collateral and the signer; another signer is refused. */
static void test_ratls_client(void **state)
{
    (void)state;
    char hp[32], root[160];
    uint8_t signer[32], other[32];
    snprintf(hp, sizeof hp, "127.0.0.1:%d", g_tqe_port);
    snprintf(root, sizeof root, "%s/root/%s", g_dir, SIM_COLLATERAL_FILE);
    ratls_policy pol = tqe_policy(signer);
    pol.collateral_path = root;
    ratls_client *c = NULL;
    assert_int_equal(ratls_client_connect(hp, &pol, 10000, &c), VEIL_OK);
    assert_memory_equal(ratls_client_peer_claims(c)->body.identity.mrsigner, signer, 32);
    static const uint8_t challenge_req[] = {0x12, 0x00};
    assert_int_equal(ratls_client_send_msg(c, challenge_req, sizeof challenge_req), VEIL_OK);
    uint8_t *msg = NULL;
    size_t len = 0;
    assert_int_equal(ratls_client_recv_msg(c, 4096, &msg, &len), VEIL_OK);
    Veil__Tqe__Response *r = veil__tqe__response__unpack(NULL, len, msg);
    assert_non_null(r);
    assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_CHALLENGE);
    assert_int_equal(r->challenge->challenge.len, 32);
    veil__tqe__response__free_unpacked(r, NULL);
    free(msg);
    /* Fresh evidence over the client's nonce, for the key of this very connection: the
     * wallet's defence against a recorded certificate (docs/attested-tls.md). */
    uint8_t nonce[32], other_nonce[32];
    memset(nonce, 0x6e, sizeof nonce);
    memset(other_nonce, 0x6f, sizeof other_nonce);
    r = attest(c, nonce, false);
    assert_int_equal(ratls_verify_evidence(r->attest->evidence.data, r->attest->evidence.len,
                                           NULL, 0, ratls_client_peer_cert(c), &pol, nonce, sizeof nonce,
                                           NULL),
                     VEIL_OK);
    assert_int_equal(ratls_verify_evidence(r->attest->evidence.data, r->attest->evidence.len,
                                           NULL, 0, ratls_client_peer_cert(c), &pol, other_nonce,
                                           sizeof other_nonce, NULL),
                     VEIL_ERR_RATLS_NONCE);
    veil__tqe__response__free_unpacked(r, NULL);
    ratls_client_close(c);

    memcpy(other, signer, 32);
    other[0] ^= 1;
    pol.mrsigner = other;
    c = NULL;
    assert_int_equal(ratls_client_connect(hp, &pol, 10000, &c), VEIL_ERR_RATLS_MRSIGNER);
    assert_null(c);
    /* The right signer but another product: the TVE's id, or any other image of the key. */
    pol.mrsigner = signer;
    pol.prodid = TQE_PRODID + 1;
    assert_int_equal(ratls_client_connect(hp, &pol, 10000, &c), VEIL_ERR_RATLS_PRODID);
    assert_null(c);
    pol.prodid = TQE_PRODID;
    pol.min_svn = TQE_SVN + 1;
    assert_int_equal(ratls_client_connect(hp, &pol, 10000, &c), VEIL_ERR_RATLS_SVN);
    assert_null(c);
}

/* IAS-style attestation end to end: a `veil tqe` with --attest-proxy puts the
 * attestation service's report in its certificate and, when asked, beside fresh
 * evidence; a wallet policy pinning the report-signing root accepts both; a TQE
 * without a proxy is refused by that policy. */
static void test_ias_attestation(void **state)
{
    (void)state;
    char bundle[160], home[160], log[160], line[512], hp[32];
    snprintf(bundle, sizeof bundle, "%s/root/%s", g_dir, SIM_COLLATERAL_FILE);
    snprintf(home, sizeof home, "%s/tqe-ias", g_dir);
    snprintf(log, sizeof log, "%s/tqe-ias.log", g_dir);
    ias_world w;
    assert_int_equal(ias_world_start(&w, g_dir, bundle), 0);
    const char *args[] = {"tqe", "--listen", "127.0.0.1:0", "--tve", g_ep, "--home", home,
                          "--platform", g_plat, "--rpc", "none",
                          "--attest-proxy", w.proxy_url, NULL};
    pid_t pid = daemon_start(log, line, sizeof line, args);
    const char *p = strstr(line, "127.0.0.1:");
    assert_true(pid > 0 && p != NULL);
    snprintf(hp, sizeof hp, "127.0.0.1:%d", atoi(p + strlen("127.0.0.1:")));

    uint8_t signer[32], nonce[32];
    memset(nonce, 0x71, sizeof nonce);
    ratls_policy pol = tqe_policy(signer);
    pol.attestation = RATLS_ATTEST_IAS;
    pol.ias_root_pem = w.root_pem;
    ratls_client *c = NULL;
    assert_int_equal(ratls_client_connect(hp, &pol, 10000, &c), VEIL_OK);
    assert_int_equal(ratls_client_peer_claims(c)->tcb_status, DCAP_TCB_UP_TO_DATE);
    Veil__Tqe__Response *r = attest(c, nonce, true);
    assert_true(r->attest->ias_report.len > 0);
    assert_int_equal(ratls_verify_evidence(r->attest->evidence.data, r->attest->evidence.len,
                                           r->attest->ias_report.data, r->attest->ias_report.len,
                                           ratls_client_peer_cert(c), &pol, nonce, sizeof nonce,
                                           NULL),
                     VEIL_OK);
    /* The fresh evidence without its report: refused by this policy. */
    assert_int_equal(ratls_verify_evidence(r->attest->evidence.data, r->attest->evidence.len,
                                           NULL, 0, ratls_client_peer_cert(c), &pol, nonce,
                                           sizeof nonce, NULL),
                     VEIL_ERR_RATLS_NO_EVIDENCE);
    veil__tqe__response__free_unpacked(r, NULL);
    /* Not asked for: no report (DCAP wallets cost the service nothing). */
    r = attest(c, nonce, false);
    assert_int_equal(r->attest->ias_report.len, 0);
    veil__tqe__response__free_unpacked(r, NULL);
    ratls_client_close(c);

    /* The TQE without a proxy: its certificate has no report. */
    snprintf(hp, sizeof hp, "127.0.0.1:%d", g_tqe_port);
    c = NULL;
    assert_int_equal(ratls_client_connect(hp, &pol, 10000, &c), VEIL_ERR_RATLS_NO_EVIDENCE);
    assert_null(c);
    assert_true(daemon_stop(pid));
    ias_world_stop(&w);
}

static void test_openssl_s_client(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "echo | timeout 20 openssl s_client -tls1_3 -connect 127.0.0.1:%d 2>/dev/null "
             "| openssl x509 -noout -text 2>/dev/null | grep -q 2.23.133.5.4.9",
             g_tqe_port);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "echo | timeout 20 openssl s_client -tls1_3 -connect 127.0.0.1:%d 2>&1 "
             "| grep -q 'TLSv1.3'",
             g_tqe_port);
    assert_int_equal(system(cmd), 0);
}

static void second_connection_works(void)
{
    SSL *s = tls_connect(g_tqe_port);
    assert_non_null(s);
    uint8_t ch[32];
    Veil__Tqe__Response *r = challenge(s, ch);
    assert_non_null(r);
    assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_CHALLENGE);
    veil__tqe__response__free_unpacked(r, NULL);
    tls_close(s);
}

static void test_hostile_input(void **state)
{
    (void)state;
    /* Garbage instead of a ClientHello: that connection is closed, others work. */
    SSL *keep = tls_connect(g_tqe_port);
    assert_non_null(keep);
    int fd = tcp_connect(g_tqe_port);
    assert_true(fd >= 0);
    static const char garbage[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n\x16\x03\x01\xff\xff";
    assert_true(send(fd, garbage, sizeof garbage, 0) > 0);
    assert_true(closed_by_peer(fd));
    close(fd);
    second_connection_works();

    /* An oversized length prefix after the handshake. */
    SSL *s = tls_connect(g_tqe_port);
    assert_non_null(s);
    uint8_t hdr[4] = {0x00, 0x01, 0x00, 0x01}; /* 65537 */
    assert_int_equal(SSL_write(s, hdr, 4), 4);
    uint8_t b[16];
    assert_true(SSL_read(s, b, sizeof b) <= 0);
    tls_close(s);
    /* A well-framed message that is not a Request. */
    s = tls_connect(g_tqe_port);
    assert_non_null(s);
    uint8_t junk[8] = {0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(SSL_write(s, junk, 8), 8);
    assert_true(SSL_read(s, b, sizeof b) <= 0);
    tls_close(s);

    /* The connection opened first still works. */
    uint8_t ch[32];
    Veil__Tqe__Response *r = challenge(keep, ch);
    assert_non_null(r);
    assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_CHALLENGE);
    veil__tqe__response__free_unpacked(r, NULL);
    tls_close(keep);
    second_connection_works();
}

static void test_64_concurrent(void **state)
{
    (void)state;
    SSL *s[64];
    /* Connections of earlier tests end asynchronously in the daemon. */
    usleep(500 * 1000);
    for (int i = 0; i < 64; i++) {
        s[i] = tls_connect(g_tqe_port);
        if (s[i] == NULL) fail_msg("connection %d failed", i);
    }
    for (int i = 0; i < 64; i++) {
        uint8_t ch[32];
        Veil__Tqe__Response *r = challenge(s[i], ch);
        assert_non_null(r);
        assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_CHALLENGE);
        veil__tqe__response__free_unpacked(r, NULL);
    }
    for (int i = 0; i < 64; i++) tls_close(s[i]);
}

/* A second TQE with a low rate: a burst of connections gets some refused. */
static void test_rate_limit(void **state)
{
    (void)state;
    char home[128], log[128], line[512];
    snprintf(home, sizeof home, "%s/tqe-rate", g_dir);
    snprintf(log, sizeof log, "%s/tqe-rate.log", g_dir);
    const char *args[] = {"tqe", "--listen", "127.0.0.1:0", "--tve", g_ep, "--home", home,
                          "--platform", g_plat, "--rpc", "none", "--rate",
                          "2", "--max-clients", "8", NULL};
    pid_t pid = daemon_start(log, line, sizeof line, args);
    assert_true(pid > 0);
    const char *p = strstr(line, "127.0.0.1:");
    assert_non_null(p);
    int port = atoi(p + strlen("127.0.0.1:"));
    int refused = 0;
    for (int i = 0; i < 10; i++) {
        SSL *s = tls_connect(port);
        if (s == NULL)
            refused++;
        else
            tls_close(s);
    }
    assert_true(refused >= 3);
    assert_true(daemon_stop(pid));
}

/* A TCP connection to the loopback `port` from the loopback source address `src`. */
static int tcp_connect_from(const char *src, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    if (inet_pton(AF_INET, src, &a.sin_addr) != 1 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Item 7 of the attack review: 64 clients that opened TCP connections and never
 * finished a TLS handshake held every slot, locking everyone out for the idle timeout.
 * Now one address holds at most --max-per-address connections, and a connection that
 * has not finished its handshake within --handshake-timeout is closed. */
static void test_item7_preauth_slots(void **state)
{
    (void)state;
    char home[128], log[128], line[512];
    snprintf(home, sizeof home, "%s/tqe-preauth", g_dir);
    snprintf(log, sizeof log, "%s/tqe-preauth.log", g_dir);
    const char *args[] = {"tqe", "--listen", "127.0.0.1:0", "--tve", g_ep, "--home", home,
                          "--platform", g_plat, "--rpc", "none",
                          "--max-clients", "16", "--max-per-address", "8",
                          "--handshake-timeout", "1", "--rate", "1000", NULL};
    pid_t pid = daemon_start(log, line, sizeof line, args);
    assert_true(pid > 0);
    const char *p = strstr(line, "127.0.0.1:");
    assert_non_null(p);
    int port = atoi(p + strlen("127.0.0.1:"));
    /* 40 silent clients from one address: more than every slot of the service. */
    enum { STALLERS = 40 };
    int stall[STALLERS];
    for (int i = 0; i < STALLERS; i++) {
        stall[i] = tcp_connect_from("127.0.0.2", port);
        assert_true(stall[i] >= 0);
    }
    usleep(200 * 1000); /* the service has accepted (and sorted) them */
    /* A client from another address is served at once. */
    SSL *s = tls_connect(port);
    assert_non_null(s);
    uint8_t ch[32];
    Veil__Tqe__Response *r = challenge(s, ch);
    assert_non_null(r);
    assert_int_equal(r->response_case, VEIL__TQE__RESPONSE__RESPONSE_CHALLENGE);
    veil__tqe__response__free_unpacked(r, NULL);
    tls_close(s);
    /* Every silent connection is closed within the handshake deadline (1 s), not the
     * idle timeout (30 s). */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < STALLERS; i++) {
        assert_true(closed_by_peer(stall[i]));
        close(stall[i]);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 5);
    assert_true(daemon_stop(pid));
}

/* No file the daemons wrote holds the delivered tx's recipient key or amount. */
static void test_no_plaintext(void **state)
{
    (void)state;
    uint8_t amt_be[8], amt_le[8], varint[10];
    size_t vl = 0;
    for (int i = 0; i < 8; i++) {
        amt_be[i] = (uint8_t)(AMOUNT >> (56 - 8 * i));
        amt_le[i] = (uint8_t)(AMOUNT >> (8 * i));
    }
    uint64_t v = AMOUNT;
    for (; v >= 0x80; v >>= 7) varint[vl++] = (uint8_t)(v | 0x80);
    varint[vl++] = (uint8_t)v;
    char hex[65];
    veil_hex_encode(hex, g_owner_pk, 32);
    struct {
        const void *p;
        size_t n;
    } needles[] = {{g_owner_pk, 32}, {hex, 64}, {amt_be, 8}, {amt_le, 8}, {varint, vl}};
    char cmd[256];
    snprintf(cmd, sizeof cmd, "find %s -type f ! -name 'root*' ! -path '*/platform/*'", g_dir);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char path[512];
    int files = 0;
    while (fgets(path, sizeof path, f) != NULL) {
        path[strcspn(path, "\n")] = '\0';
        FILE *in = fopen(path, "rb");
        if (in == NULL) continue;
        files++;
        fseek(in, 0, SEEK_END);
        long len = ftell(in);
        rewind(in);
        uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
        size_t got = fread(buf, 1, (size_t)len, in);
        fclose(in);
        for (size_t k = 0; k < sizeof needles / sizeof needles[0]; k++)
            if (memmem(buf, got, needles[k].p, needles[k].n) != NULL)
                fail_msg("%s holds plaintext (needle %zu)", path, k);
        free(buf);
    }
    pclose(f);
    assert_true(files >= 3); /* the TVE store, the logs, the certificate */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encrypt),       cmocka_unit_test(test_encrypt_state_lies),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_ratls_client),
        cmocka_unit_test(test_ias_attestation),
        cmocka_unit_test(test_openssl_s_client), cmocka_unit_test(test_hostile_input),
        cmocka_unit_test(test_64_concurrent), cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_item7_preauth_slots),
        cmocka_unit_test(test_no_plaintext),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
