/* veil-bench-bootstrap: the bootstrap of tx data (docs/tdbe.md, "Bootstrap") against the
 * machine's copy limit for the same bytes, in one run.
 *
 * On fresh sim platforms in a temporary directory (removed at exit): a serving member's
 * TVE commits N withdraws (VEIL_BENCH_BOOTSTRAP_TXS, default 100000) in blocks of 1000
 * (more per block past 400 blocks)
 * through the real verify-block, end-block and commit-block (the TVE image with the test
 * hooks, whose epoch key the bench takes to encrypt them), each accepted tx's output
 * record going into a chain state (the node's LMDB and app-hash tree) whose app hashes a
 * signed test chain carries. Then a second member's TDBE fetches every block from the
 * first's over mutually attested TLS and commits them to its own TVE, every tx checked in
 * its enclave against its block record and against its output record's proof (the
 * proofs come from the chain state in this process: the node's RPC, which a deployment
 * asks, is not measured here).
 *
 *   bootstrap_mb_per_s               the checked data handed to the TVE (block records and
 *                                    payloads) per second of the whole bootstrap, durable
 *   bootstrap_tx_per_s               txs per second of it
 *   bootstrap_copy_limit_mb_per_s    the same bytes (block records and sealed txs, read
 *                                    from the serving store) copied over a loopback TLS 1.3
 *                                    connection (OpenSSL, AES-GCM) into a fresh LMDB
 *                                    environment, appended in key order, one durable commit
 *                                    per MiB: the machine's limit for this data's path
 *   bootstrap_fetch_enclave_peak_mib the most heap the fetching TDBE enclave held
 *   bootstrap_serve_enclave_peak_mib the same for the serving one
 *
 * Targets (issue): bootstrap >= 0.5 x the copy limit; enclave memory <= 64 MiB.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "bench.h"
#include "chain/node_records.h"
#include "common/cursor.h"
#include "crypto/crypto.h"
#include "host/node/node_state.h"
#include "host/tdbe/tdbe_host.h"
#include "host/tve/tve_client.h"
#include "host/tve/tve_server.h"
#include "host/tve/tve_service.h"
#include "host/tve/tve_store.h"
#include "hostutil/fileio.h"
#include "hostutil/lmdb_env.h"
#include "hostutil/tcp.h"
#include "support/lc_testchain.h"
#include "support/tx_builder.h"
#include "tee/sim/sim_host.h"
#include "trusted/cmt/cmt_hash.h"
#include "trusted/state/smt_verify.h"
#include "trusted/tdbe/tdbe_member.h"
#include "trusted/tve/tve_abi.h"
#include "veil/tve.pb-c.h"

#ifndef VEIL_BUILD_DIR
#error "VEIL_BUILD_DIR must be defined by the build"
#endif
#define ENC VEIL_BUILD_DIR "/enclaves/"
#define TVE_IMG ENC "veil_tve_enclave_breach.signed.so"
#define TDBE_IMG ENC "veil_tdbe_enclave_ts.signed.so"
#define CHAIN "bench-boot"
#define BLOCK 1000u
#define MIB (1024.0 * 1024.0)

static char g_dir[64];

/* --- the chain: state, its app hashes in signed headers ----------------------------- */
static struct {
    pthread_mutex_t lock;
    node_state *st;
    lc_testchain chain;
    uint8_t trust_hash[32];
} g_reg = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void reg_commit(void) /* with the lock */
{
    node_meta m = *node_state_meta(g_reg.st);
    m.initialized = true;
    snprintf(m.chain_id, sizeof m.chain_id, "%s", CHAIN);
    m.last_height++;
    node_state_app_hash(g_reg.st, m.last_app_hash);
    if (node_state_commit(g_reg.st, &m, NULL, 0) != VEIL_OK) bench_die("chain state commit");
    (void)lc_testchain_append(&g_reg.chain, m.last_app_hash);
}

static veil_status chain_block(void *ctx, int64_t height, lc_light_block *out)
{
    (void)ctx;
    pthread_mutex_lock(&g_reg.lock);
    const lc_light_block *b = lc_testchain_get(&g_reg.chain, height);
    if (b != NULL) memcpy(out, b, sizeof *out);
    pthread_mutex_unlock(&g_reg.lock);
    return b != NULL ? VEIL_OK : VEIL_ERR_LC_UNAVAILABLE;
}

static veil_status chain_latest(void *ctx, int64_t *height)
{
    (void)ctx;
    pthread_mutex_lock(&g_reg.lock);
    *height = g_reg.chain.height;
    pthread_mutex_unlock(&g_reg.lock);
    return VEIL_OK;
}

/* A record with its proof, as the node's abci_query with prove answers. */
static veil_status reg_source(void *ctx, uint8_t ns, const uint8_t *id, size_t id_len,
                              uint8_t *out, size_t cap, size_t *out_len)
{
    (void)ctx;
    veil_smt_proof *p = malloc(sizeof *p);
    uint8_t *enc = malloc(VEIL_SMT_PROOF_MAX_LEN), *value = NULL;
    size_t vlen = 0, elen = 0;
    veil_status st = p != NULL && enc != NULL ? VEIL_OK : VEIL_ERR_NOMEM;
    pthread_mutex_lock(&g_reg.lock);
    if (st == VEIL_OK) st = node_state_prove(g_reg.st, ns, id, id_len, &value, &vlen, p);
    int64_t height = (int64_t)node_state_meta(g_reg.st)->last_height + 1;
    pthread_mutex_unlock(&g_reg.lock);
    if (st == VEIL_OK) st = veil_smt_proof_encode(p, enc, VEIL_SMT_PROOF_MAX_LEN, &elen);
    if (st == VEIL_OK) st = tdbe_member_proof_encode(height, value, vlen, enc, elen, out, cap, out_len);
    free(value);
    free(enc);
    free(p);
    return st;
}

/* --- members: a platform, a TVE service, a TDBE ------------------------------------------ */
typedef struct member {
    char name[8], plat[128], ep[160], tve_home[160], tdbe_home[160];
    tve_service *svc;
    tve_server *srv;
    tve_client *cli;
    tdbe *t;
    pthread_t tve_th, tdbe_th;
    volatile sig_atomic_t stop, tdbe_stop;
    uint8_t account[32];
} member;

static void *tve_main(void *arg)
{
    member *m = arg;
    if (tve_server_run(m->srv, TVE_LOG_ERRORS, &m->stop) != VEIL_OK) bench_fail("tve server");
    return NULL;
}

static void *tdbe_main(void *arg)
{
    member *m = arg;
    if (tdbe_run(m->t, &m->tdbe_stop) != VEIL_OK) bench_fail("tdbe run");
    return NULL;
}

static void member_start(member *m, const char *name, const char *auth, const char *coll)
{
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(m->plat, sizeof m->plat, "%s/%s/platform", g_dir, name);
    snprintf(m->tve_home, sizeof m->tve_home, "%s/%s/tve", g_dir, name);
    snprintf(m->tdbe_home, sizeof m->tdbe_home, "%s/%s/tdbe", g_dir, name);
    snprintf(m->ep, sizeof m->ep, "ipc://%s/%s.sock", g_dir, name);
    if (sim_platform_provision(m->plat, auth, 1, false) != VEIL_OK) bench_die("provision %s", name);
    tve_service_config sc = {.home = m->tve_home, .platform_dir = m->plat,
                             .enclave_path = TVE_IMG, .threads = 2};
    if (tve_service_open(&sc, &m->svc) != VEIL_OK || tve_server_bind(m->svc, m->ep, &m->srv) != VEIL_OK ||
        pthread_create(&m->tve_th, NULL, tve_main, m) != 0 ||
        tve_client_open(m->ep, 120000, &m->cli) != VEIL_OK)
        bench_die("TVE of %s: %s", name, veil_error_detail());
    veil_sha256(m->account, name, strlen(name));
    tdbe_config tc = {.listen = "127.0.0.1:0", .tve_endpoint = m->ep, .home = m->tdbe_home,
                      .platform_dir = m->plat, .collateral = coll, .enclave_path = TDBE_IMG,
                      .timeout_ms = 60000, .handshake_ms = 5000, .retry_ms = 3600000,
                      .poll_ms = 3600000, .tve_timeout_ms = 120000, .state_proof = reg_source,
                      .has_account = true, .has_trust = true, .trust_height = 1,
                      .light_block = chain_block, .latest_height = chain_latest};
    memcpy(tc.account, m->account, 32);
    memcpy(tc.trust_hash, g_reg.trust_hash, 32);
    if (tdbe_open(&tc, &m->t) != VEIL_OK) bench_die("TDBE of %s: %s", name, veil_error_detail());
    uint8_t spki[128], *quote = malloc(8192);
    size_t spki_len = 0, qlen = 0;
    if (quote == NULL || tdbe_join_quote(m->t, CHAIN, spki, &spki_len, quote, &qlen) != VEIL_OK)
        bench_die("join quote");
    free(quote);
    /* Its key bound to its staked account, as a node join does. */
    node_account a;
    memset(&a, 0, sizeof a);
    memcpy(a.address, m->account, 32);
    a.bonded = 1000;
    a.has_node = true;
    memcpy(a.node.enclave_pubkey, spki, spki_len);
    a.node.enclave_pubkey_len = spki_len;
    pthread_mutex_lock(&g_reg.lock);
    if (node_state_account_put(g_reg.st, &a) != VEIL_OK) bench_die("account");
    reg_commit();
    pthread_mutex_unlock(&g_reg.lock);
    if (pthread_create(&m->tdbe_th, NULL, tdbe_main, m) != 0) bench_die("thread");
}

static void member_stop(member *m)
{
    if (m->svc == NULL) return;
    m->stop = 1;
    m->tdbe_stop = 1;
    pthread_join(m->tdbe_th, NULL);
    tdbe_close(m->t);
    pthread_join(m->tve_th, NULL);
    tve_client_close(m->cli);
    tve_server_close(m->srv);
    tve_service_close(m->svc);
    m->svc = NULL;
}

static Veil__Tve__Response *call(member *m, Veil__Tve__Request *req,
                                 Veil__Tve__Response__ResponseCase want)
{
    Veil__Tve__Response *r = NULL;
    veil_status st = tve_client_call(m->cli, req, want, 0, &r);
    if (st != VEIL_OK) bench_die("TVE request: %s (%s)", veil_status_name(st), veil_error_detail());
    return r;
}

static void init_chain(member *m, const uint8_t *commitment, uint8_t out[32])
{
    Veil__Tve__InitChainRequest ic = VEIL__TVE__INIT_CHAIN_REQUEST__INIT;
    ic.chain_id = CHAIN;
    if (commitment != NULL) ic.key_commitment = (ProtobufCBinaryData){32, (uint8_t *)commitment};
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_INIT_CHAIN;
    req.init_chain = &ic;
    Veil__Tve__Response *r = call(m, &req, VEIL__TVE__RESPONSE__RESPONSE_INIT_CHAIN);
    if (out != NULL) memcpy(out, r->init_chain->key_commitment.data, 32);
    veil__tve__response__free_unpacked(r, NULL);
}

/* --- the serving store: N withdraws in blocks of BLOCK --------------------------------- */
static struct {
    uint8_t key[32], sk[32], pk[32], out_pk[32];
    uint64_t nonce, height, txs;
} g_fill;

static void fill_block(member *m, size_t n)
{
    uint64_t h = ++g_fill.height;
    txb **b = calloc(n, sizeof *b);
    Veil__Tve__TxContext *ctx = calloc(n, sizeof *ctx), **ctxp = calloc(n, sizeof *ctxp);
    Veil__Tve__AccountState *acct = calloc(n, sizeof *acct);
    ProtobufCBinaryData *ids = calloc(n, sizeof *ids);
    if (b == NULL || ctx == NULL || ctxp == NULL || acct == NULL || ids == NULL) bench_die("memory");
    for (size_t i = 0; i < n; i++) {
        b[i] = txb_new(VEIL_TX_KIND_WITHDRAW, CHAIN);
        memcpy(b[i]->account, g_fill.pk, 32);
        b[i]->nonce = g_fill.nonce++;
        txb_output(b[i], g_fill.out_pk, 1 + i % 1000, 1000);
        txb_output(b[i], g_fill.pk, 2, 1000);
        txb_view_key(b[i], g_fill.out_pk);
        txb_signer(b[i], g_fill.sk);
        memcpy(b[i]->key, g_fill.key, 32);
        txb_build(b[i]);
        veil__tve__account_state__init(&acct[i]);
        acct[i].address = (ProtobufCBinaryData){32, g_fill.pk};
        acct[i].unbonded = 3 + i % 1000;
        acct[i].unbonded_from = 1000;
        acct[i].nonce = b[i]->nonce;
        veil__tve__tx_context__init(&ctx[i]);
        ctx[i].tx = (ProtobufCBinaryData){b[i]->wire_len, b[i]->wire};
        ctx[i].account = &acct[i];
        ctxp[i] = &ctx[i];
    }
    Veil__Tve__ChainParams params = VEIL__TVE__CHAIN_PARAMS__INIT;
    params.chain_id = (char *)CHAIN;
    params.block_time = 2000;
    params.fee_rule = VEIL__TVE__FEE_RULE__FEE_RULE_AT_LEAST;
    Veil__Tve__VerifyBlockRequest vb = VEIL__TVE__VERIFY_BLOCK_REQUEST__INIT;
    vb.height = h;
    vb.params = &params;
    vb.txs = ctxp;
    vb.n_txs = n;
    vb.mode = VEIL__TVE__MODE__DELIVER;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_VERIFY_BLOCK;
    req.verify_block = &vb;
    Veil__Tve__Response *r = call(m, &req, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_BLOCK);
    pthread_mutex_lock(&g_reg.lock);
    for (size_t i = 0; i < n; i++) {
        if (r->verify_block->results[i]->result_case != VEIL__TVE__TX_RESULT__RESULT_OK)
            bench_die("fill: a withdraw was refused");
        node_output o = {.output_count = 2, .spent = 0, .height = h};
        if (node_state_output_put(g_reg.st, b[i]->txid, &o) != VEIL_OK) bench_die("output record");
        ids[i] = (ProtobufCBinaryData){32, b[i]->txid};
    }
    reg_commit();
    uint8_t app[32];
    node_state_app_hash(g_reg.st, app);
    pthread_mutex_unlock(&g_reg.lock);
    veil__tve__response__free_unpacked(r, NULL);
    Veil__Tve__EndBlockRequest eb = VEIL__TVE__END_BLOCK_REQUEST__INIT;
    eb.height = h;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_END_BLOCK;
    req.end_block = &eb;
    veil__tve__response__free_unpacked(call(m, &req, VEIL__TVE__RESPONSE__RESPONSE_END_BLOCK), NULL);
    Veil__Tve__CommitBlockRequest cb = VEIL__TVE__COMMIT_BLOCK_REQUEST__INIT;
    cb.height = h;
    cb.app_hash = (ProtobufCBinaryData){32, app};
    cb.txids = ids;
    cb.n_txids = n;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_COMMIT_BLOCK;
    req.commit_block = &cb;
    veil__tve__response__free_unpacked(call(m, &req, VEIL__TVE__RESPONSE__RESPONSE_COMMIT_BLOCK),
                                       NULL);
    g_fill.txs += n;
    for (size_t i = 0; i < n; i++) txb_free(b[i]);
    free(b);
    free(ctx);
    free(ctxp);
    free(acct);
    free(ids);
}

/* --- the copy limit: the same bytes over TLS 1.3 into LMDB, durable -------------------- */
typedef struct copy_src {
    SSL *ssl;
    const char *home; /* the serving TVE's store */
    uint64_t bytes;
    bool ok;
} copy_src;

static bool ssl_put(SSL *ssl, const void *p, size_t n)
{
    uint8_t len[4];
    veil_put_u32(len, (uint32_t)n);
    return SSL_write(ssl, len, 4) == 4 && (n == 0 || SSL_write(ssl, p, (int)n) == (int)n);
}

static veil_status copy_block(void *vctx, uint64_t height, const uint8_t *rec, size_t rec_len,
                              const uint8_t *const *txids, const uint8_t *const *sealed,
                              const size_t *lens, size_t n)
{
    copy_src *c = vctx;
    (void)height, (void)txids;
    ENSURE(ssl_put(c->ssl, rec, rec_len), VEIL_ERR_IO);
    c->bytes += rec_len;
    for (size_t i = 0; i < n; i++) {
        ENSURE(ssl_put(c->ssl, sealed[i], lens[i]), VEIL_ERR_IO);
        c->bytes += lens[i];
    }
    return VEIL_OK;
}

static void *copy_src_main(void *arg)
{
    copy_src *c = arg;
    tve_store *s = NULL;
    c->ok = tve_store_open(c->home, false, &s) == VEIL_OK &&
            tve_store_blocks_each(s, 1, UINT64_MAX, copy_block, c) == VEIL_OK &&
            ssl_put(c->ssl, "", 0);
    tve_store_close(s);
    SSL_shutdown(c->ssl);
    return NULL;
}

static bool ssl_get(SSL *ssl, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        int r = SSL_read(ssl, buf + got, (int)(n - got));
        if (r <= 0) return false;
        got += (size_t)r;
    }
    return true;
}

/* Copies the serving store's records and sealed txs to a fresh LMDB environment through
 * TLS; returns MB/s and the bytes copied. */
static double copy_limit(const char *src_home, uint64_t *bytes)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    if (pk == NULL || x == NULL) bench_die("openssl");
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pk);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"bench", -1, -1, 0);
    X509_set_issuer_name(x, nm);
    if (X509_sign(x, pk, EVP_sha256()) == 0) bench_die("certificate");
    SSL_CTX *sc = SSL_CTX_new(TLS_server_method()), *cc = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(sc, TLS1_3_VERSION);
    SSL_CTX_set_min_proto_version(cc, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(sc, "TLS_AES_256_GCM_SHA384"); /* as the enclaves' sessions */
    if (SSL_CTX_use_certificate(sc, x) != 1 || SSL_CTX_use_PrivateKey(sc, pk) != 1)
        bench_die("server key");
    int lfd, sfd, cfd;
    char addr[64];
    if (veil_tcp_listen("127.0.0.1:0", 1, &lfd, addr, sizeof addr) != VEIL_OK ||
        veil_tcp_connect(addr, 5000, &cfd) != VEIL_OK || (sfd = accept(lfd, NULL, NULL)) < 0)
        bench_die("loopback");
    SSL *ss = SSL_new(sc), *cs = SSL_new(cc);
    SSL_set_fd(ss, sfd);
    SSL_set_fd(cs, cfd);
    SSL_set_accept_state(ss); /* its first write completes the handshake */
    copy_src src = {.ssl = ss, .home = src_home};
    char dst[128];
    snprintf(dst, sizeof dst, "%s/copy", g_dir);
    if (veil_mkdir_p(dst, 0700) != VEIL_OK) bench_die("mkdir");
    static const char *const names[] = {"txs", "blocks"};
    MDB_dbi dbis[2];
    MDB_env *env;
    veil_lmdb_spec spec = {.dir = dst, .map_size = (size_t)16 << 30, .db_names = names,
                           .dbis = dbis, .n_dbs = 2};
    if (veil_lmdb_open(&spec, &env) != VEIL_OK) bench_die("lmdb");
    pthread_t th;
    double t0 = bench_now();
    if (pthread_create(&th, NULL, copy_src_main, &src) != 0) bench_die("thread");
    if (SSL_connect(cs) != 1) bench_die("TLS client");
    uint8_t *buf = malloc(1 << 20);
    MDB_txn *txn = NULL;
    uint64_t seq = 0, in_txn = 0, got = 0;
    for (;;) {
        uint8_t len[4];
        if (!ssl_get(cs, len, 4)) bench_die("copy: stream");
        uint32_t n = veil_get_u32(len);
        if (n == 0) break;
        if (n > (1u << 20) || !ssl_get(cs, buf, n)) bench_die("copy: record");
        if (txn == NULL && mdb_txn_begin(env, NULL, 0, &txn) != 0) bench_die("txn");
        uint8_t k[8];
        veil_put_u64(k, seq++);
        MDB_val kv = {8, k}, dv = {n, buf};
        if (mdb_put(txn, dbis[0], &kv, &dv, MDB_APPEND) != 0) bench_die("put");
        in_txn += n;
        got += n;
        if (in_txn >= (1u << 20)) { /* durable per MiB, as the TVE commits per block */
            if (mdb_txn_commit(txn) != 0) bench_die("commit");
            txn = NULL;
            in_txn = 0;
        }
    }
    if (txn != NULL && mdb_txn_commit(txn) != 0) bench_die("commit");
    double dt = bench_now() - t0;
    pthread_join(th, NULL);
    if (!src.ok || got != src.bytes) bench_die("copy: %llu of %llu bytes", (unsigned long long)got,
                                               (unsigned long long)src.bytes);
    free(buf);
    mdb_env_close(env);
    SSL_free(ss);
    SSL_free(cs);
    close(sfd);
    close(cfd);
    close(lfd);
    SSL_CTX_free(sc);
    SSL_CTX_free(cc);
    X509_free(x);
    EVP_PKEY_free(pk);
    *bytes = got;
    return (double)got / dt / 1e6;
}

/* --- main --------------------------------------------------------------------------------- */
static member g_a, g_b;

static void cleanup(void)
{
    member_stop(&g_b);
    member_stop(&g_a);
    if (g_reg.st != NULL) node_state_close(g_reg.st);
    if (g_dir[0] && !getenv("KEEP")) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
        if (system(cmd) != 0) bench_fail("could not remove %s", g_dir);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    bench_init(argv[0]);
    signal(SIGPIPE, SIG_IGN);
    uint64_t n_txs = 100000;
    const char *env = getenv("VEIL_BENCH_BOOTSTRAP_TXS");
    if (env != NULL && (n_txs = strtoull(env, NULL, 10)) < BLOCK) bench_die("VEIL_BENCH_BOOTSTRAP_TXS < %u", BLOCK);
    snprintf(g_dir, sizeof g_dir, "/tmp/veil-bench-boot-XXXXXX");
    if (mkdtemp(g_dir) == NULL || veil_crypto_init() != VEIL_OK) bench_die("setup");
    atexit(cleanup);
    char chain[128], auth[128], coll[160];
    snprintf(chain, sizeof chain, "%s/chain", g_dir);
    snprintf(auth, sizeof auth, "%s/authority", g_dir);
    snprintf(coll, sizeof coll, "%s/collateral.json", auth);
    if (node_state_open(chain, true, &g_reg.st) != VEIL_OK) bench_die("chain state");
    uint8_t root[32];
    node_state_app_hash(g_reg.st, root);
    lc_testchain_init(&g_reg.chain, CHAIN, 1, (int64_t)time(NULL) - 3600);
    const lc_light_block *b1 = lc_testchain_append(&g_reg.chain, root);
    if (cmt_header_hash(&b1->header, g_reg.trust_hash) != VEIL_OK) bench_die("trust root");

    member_start(&g_a, "a", auth, coll);
    member_start(&g_b, "b", auth, coll);
    uint8_t commit[32];
    init_chain(&g_a, NULL, commit);
    init_chain(&g_b, commit, NULL);
    node_key_epoch ep = {.epoch = 0, .start_height = 0, .commitment_len = 32};
    memcpy(ep.commitment, commit, 32);
    pthread_mutex_lock(&g_reg.lock);
    if (node_state_epoch_put(g_reg.st, &ep) != VEIL_OK) bench_die("epoch");
    reg_commit();
    pthread_mutex_unlock(&g_reg.lock);
    uint8_t zero[8] = {0};
    size_t kn = 0;
    if (tee_enclave_call(tve_service_enclave(g_a.svc), TVE_E_TEST_BREACH, zero, sizeof zero, g_fill.key,
                         32, &kn) != VEIL_OK)
        bench_die("the test image's key");
    memset(g_fill.sk, 0x11, 32);
    txb_pubkey(g_fill.pk, g_fill.sk);
    uint8_t out_sk[32];
    memset(out_sk, 0x22, 32);
    txb_pubkey(g_fill.out_pk, out_sk);

    /* Blocks of 1000 txs, larger past 400 blocks (the test chain's header limit). */
    uint64_t block = BLOCK;
    while (n_txs / block > 400) block += BLOCK;
    double t0 = bench_now();
    for (uint64_t done = 0; done < n_txs && !bench_interrupted(); done += block)
        fill_block(&g_a, n_txs - done < block ? (size_t)(n_txs - done) : (size_t)block);
    if (bench_interrupted()) bench_die("interrupted");
    bench_note("serving store: %llu withdraws in %llu blocks, committed in %.1f s",
               (unsigned long long)g_fill.txs, (unsigned long long)g_fill.height, bench_now() - t0);

    tdbe_data_report rep;
    t0 = bench_now();
    veil_status st = tdbe_fetch_data(g_b.t, tdbe_address(g_a.t), 1, g_fill.height, &rep);
    double dt = bench_now() - t0;
    if (st != VEIL_OK || rep.txs != g_fill.txs || rep.blocks != g_fill.height)
        bench_die("bootstrap: %s, %llu of %llu txs", veil_status_name(st),
                  (unsigned long long)rep.txs, (unsigned long long)g_fill.txs);
    double peak_b = (double)sim_enclave_heap_peak(tdbe_enclave(g_b.t)) / MIB;
    double peak_a = (double)sim_enclave_heap_peak(tdbe_enclave(g_a.t)) / MIB;
    bench_note("bootstrap: %llu txs, %llu blocks, %.1f MB checked and committed in %.2f s",
               (unsigned long long)rep.txs, (unsigned long long)rep.blocks, (double)rep.bytes / 1e6, dt);
    member_stop(&g_b);
    member_stop(&g_a);
    uint64_t copied = 0;
    double limit = copy_limit(g_a.tve_home, &copied);
    bench_note("copy limit: %.1f MB of records and sealed txs from the serving store", (double)copied / 1e6);

    double mbps = (double)rep.bytes / dt / 1e6;
    bench_print("bootstrap_mb_per_s", mbps, "MB/s");
    bench_print("bootstrap_tx_per_s", (double)rep.txs / dt, "tx/s");
    bench_print("bootstrap_copy_limit_mb_per_s", limit, "MB/s");
    bench_print("bootstrap_fetch_enclave_peak_mib", peak_b, "MiB");
    bench_print("bootstrap_serve_enclave_peak_mib", peak_a, "MiB");
    bench_note("target: bootstrap >= 0.5 x copy limit (%.1f MB/s): %s; enclave memory <= 64 MiB: %s",
               0.5 * limit, mbps >= 0.5 * limit ? "met" : "MISSED",
               peak_a <= 64 && peak_b <= 64 ? "met" : "MISSED");
    return 0;
}
