/* veil-bench-tve: the TVE's block and check paths on confidential 2-input / 2-output
 * transfers that spend the outputs of 2-output txs, at three store sizes, next to the
 * limits they are measured against.
 *
 * In one run, on a fresh sim platform and home in a temporary directory (removed at
 * exit), after funding every transfer through the real daemon (withdraws encrypted the
 * wallet way: TQE seal -> encrypt, then committed block by block):
 *
 *   tve_limit_tx_per_s          the block path's own work on one thread, without IPC:
 *                               verify-block + end-block + durable commit-block of 1000
 *                               transfers through an in-process tve_service with one
 *                               worker (the daemon's code, minus 0MQ and parallelism);
 *                               every block figure: 4 blocks after a warm-up block
 *   tve_limit_cpu_us_per_tx     its CPU time per tx
 *   tve_block_tx_per_s          the same blocks through `veil tve --threads 2` over ipc,
 *                               on the store as funding left it (~25k txs), of txs this
 *                               daemon never saw (restarted after encrypting them)
 *   tve_block_cpu_us_per_tx     the daemon's CPU time per tx (from /proc)
 *   tve_block_tx_per_s_100k     the same, after bench/tve_fill.c grew the store to 100k
 *   tve_block_tx_per_s_1m       ... and to 1M stored txs
 *   tve_block_seen_tx_per_s     the same for txs the daemon CHECKed first (untimed),
 *                               as a validator's mempool does: their signatures are
 *                               remembered (no second Schnorr verification)
 *   tx_crypto_floor_tx_per_s    the 2-in/2-out transfer's signature verifications alone
 *                               (two BIP-340 verifications per tx) on one core
 *   tve_check_tx_per_s, tve_check_tx_p50_us
 *                               CHECK verify-tx, one in flight, each of up to 5000
 *                               uncommitted transfers once
 *   tve_check_inprocess_p50_us  the same request handled in-process (no IPC)
 *   zmq_ipc_roundtrip_us        bare 0MQ REQ/REP echo over ipc (p50) to another process,
 *                               frames the size of a verify-tx request
 *
 * and the targets (docs/tve-protocol.md, "Performance"): block >= 0.75 x 2 x limit;
 * a block of mempool-seen txs >= 3 x the crypto floor;
 * block within 10 % across store sizes; check p50 <= in-process p50 + 1.3 x round trip.
 * A missed target is reported, not fatal; any failed request is (exit 1).
 * VEIL_BENCH_TVE_MAX_STORE (default 1000000) caps the fill, for quick runs.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zmq.h>

#include "bench.h"
#include "crypto/crypto.h"
#include "host/tqe/tqe_handoff.h"
#include "host/tve/tve_service.h"
#include "host/tve/tve_store.h"
#include "hostutil/fileio.h"
#include "support/tve_client.h"
#include "support/tx_builder.h"
#include "tee/sim/sim_host.h"
#include "tee/tee.h"
#include "trusted/tve/tve_abi.h"
#include "tve_fill.h"
#include "veil/tve.pb-c.h"

#ifndef VEIL_BUILD_DIR
#error "VEIL_BUILD_DIR must be defined by the build"
#endif
#define VEIL_BIN VEIL_BUILD_DIR "/veil"
#define TVE_IMG VEIL_BUILD_DIR "/enclaves/veil_tve_enclave.signed.so"
#define TQE_IMG VEIL_BUILD_DIR "/enclaves/veil_tqe_enclave_test.signed.so"
#define CHAIN "veil-bench"
#define BLOCK_TIME UINT64_C(1700000000)
#define BATCH 1000 /* txs per block */
#define BLOCKS 4   /* blocks per block-path figure, after one warm-up block */
#define VALUE 1000

/* Each figure spends its own transfers: a committed tx cannot be committed again. */
enum { SET_LIMIT, SET_FRESH, SET_CHECKED, SET_100K, SET_1M, N_SETS };
#define SET_TXS ((size_t)BATCH * (BLOCKS + 1))
#define N_TRANSFERS (SET_TXS * N_SETS)

static struct {
    char dir[64], plat[128], home[128], ep[160], echo_ep[160];
    bool have_dir;
    tee_platform *platform;
    tee_enclave *tqe;
    tvec_daemon daemon;
    tvec_client c;
    tve_service *svc; /* when set, requests go to this in-process service */
    tvec_chain chain;
    uint64_t height, stored; /* last committed height; txs in the store */
    tvec_tx *withdraws, *transfers;
    uint8_t owner_sk[32], owner_pk[32], acct_sk[32], acct_pk[32];
    double verify_s, commit_s; /* block_run's time in verify-block and commit-block */
} g;

static void daemon_down(void);

static void cleanup(void)
{
    daemon_down();
    tve_service_close(g.svc);
    g.svc = NULL;
    tee_enclave_destroy(g.tqe);
    tee_platform_close(g.platform);
    g.tqe = NULL;
    g.platform = NULL;
    if (g.have_dir) veil_remove_tree(g.dir);
    g.have_dir = false;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double p50(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n == 0 ? 0 : v[n / 2];
}

/* --- where requests go: the daemon over ipc, or an in-process service -------------- */
static void daemon_up(void)
{
    int status;
    if (tvec_daemon_start(&g.daemon, VEIL_BIN, g.ep, g.home, g.plat, 2, NULL, 60, &status) != 0)
        bench_die("veil tve did not start (wait status %d)", status);
    tvec_connect(&g.c, g.ep, 120000);
}

static void daemon_down(void)
{
    tvec_close(&g.c);
    if (g.daemon.pid > 0 && !WIFEXITED(tvec_daemon_stop(&g.daemon, SIGTERM)))
        bench_die("veil tve did not stop cleanly");
}

static void service_up(unsigned threads)
{
    tve_service_config cfg = {.home = g.home, .platform_dir = g.plat, .enclave_path = TVE_IMG,
                              .threads = threads};
    veil_status s = tve_service_open(&cfg, &g.svc);
    if (s != VEIL_OK) bench_die("in-process TVE service: %s (%s)", veil_status_str(s),
                                veil_error_detail());
}

static void service_down(void)
{
    tve_service_close(g.svc);
    g.svc = NULL;
}

static Veil__Tve__Response *call_frame(const uint8_t *frame, size_t len)
{
    if (g.svc == NULL) return tvec_call_raw(&g.c, frame, len);
    uint8_t *resp;
    size_t resp_len;
    tve_request_info info;
    if (tve_service_handle(g.svc, frame, len, &resp, &resp_len, &info) != VEIL_OK) return NULL;
    Veil__Tve__Response *r = veil__tve__response__unpack(NULL, resp_len, resp);
    free(resp);
    return r;
}

static Veil__Tve__Response *call(const Veil__Tve__Request *req)
{
    size_t len;
    uint8_t *frame = tvec_request_pack(req, &len);
    Veil__Tve__Response *r = call_frame(frame, len);
    free(frame);
    return r;
}

static Veil__Tve__Response *call_ok(Veil__Tve__Response *r, Veil__Tve__Response__ResponseCase c,
                                    const char *what)
{
    if (r == NULL) bench_die("%s: no reply", what);
    if (r->response_case == VEIL__TVE__RESPONSE__RESPONSE_ERROR)
        bench_die("%s: error %u %s", what, r->error->code, r->error->name);
    if (r->response_case != c) bench_die("%s: unexpected response %d", what, r->response_case);
    return r;
}

/* CPU seconds of a process: the daemon's, or this one's (pid 0). */
static double cpu_of(pid_t pid)
{
    if (pid == 0) {
        struct rusage u;
        getrusage(RUSAGE_SELF, &u);
        return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
               (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
    }
    double v = bench_process_cpu_seconds(pid);
    if (v < 0) bench_die("CPU time of process %d: unreadable", (int)pid);
    return v;
}

/* --- blocks ---------------------------------------------------------------------- */
static void app_hash(uint64_t h, uint8_t out[32])
{
    veil_sha256_tagged(out, "bench", &h, sizeof h);
}

/* One block: verify-block, end-block, commit-block. Every tx must be accepted. */
static void block_run(const uint8_t *frame, size_t len, tvec_tx *const *txs, size_t n)
{
    uint64_t h = g.height + 1;
    double tv0 = bench_now();
    Veil__Tve__Response *r = call_ok(call_frame(frame, len),
                                     VEIL__TVE__RESPONSE__RESPONSE_VERIFY_BLOCK, "verify-block");
    double tv1 = bench_now();
    if (r->verify_block->n_results != n)
        bench_die("verify-block: %zu results", r->verify_block->n_results);
    for (size_t i = 0; i < n; i++)
        if (r->verify_block->results[i]->result_case != VEIL__TVE__TX_RESULT__RESULT_OK)
            bench_die("verify-block: tx %zu: error %u", i,
                      r->verify_block->results[i]->error->code);
    tvec_response_free(r);

    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__EndBlockRequest eb = VEIL__TVE__END_BLOCK_REQUEST__INIT;
    eb.height = h;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_END_BLOCK;
    req.end_block = &eb;
    tvec_response_free(call_ok(call(&req), VEIL__TVE__RESPONSE__RESPONSE_END_BLOCK, "end-block"));

    ProtobufCBinaryData *ids = calloc(n, sizeof *ids);
    uint8_t hash[32];
    if (ids == NULL) bench_die("out of memory");
    for (size_t i = 0; i < n; i++) ids[i] = (ProtobufCBinaryData){32, txs[i]->txid};
    app_hash(h, hash);
    Veil__Tve__CommitBlockRequest cb = VEIL__TVE__COMMIT_BLOCK_REQUEST__INIT;
    cb.height = h;
    cb.app_hash = (ProtobufCBinaryData){32, hash};
    cb.n_txids = n;
    cb.txids = ids;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_COMMIT_BLOCK;
    req.commit_block = &cb;
    double tc0 = bench_now();
    tvec_response_free(
        call_ok(call(&req), VEIL__TVE__RESPONSE__RESPONSE_COMMIT_BLOCK, "commit-block"));
    g.verify_s += tv1 - tv0;
    g.commit_s += bench_now() - tc0;
    free(ids);
    g.height = h;
    g.stored += n;
}

/* Runs txs[0..n) in blocks of BATCH. */
static void blocks_of(tvec_tx *txs, size_t n)
{
    tvec_tx *ptrs[BATCH];
    for (size_t b = 0; b < n; b += BATCH) {
        size_t k = n - b < BATCH ? n - b : BATCH;
        for (size_t i = 0; i < k; i++) ptrs[i] = &txs[b + i];
        size_t len;
        uint8_t *frame = tvec_verify_block_pack(&g.chain, g.height + 1, ptrs, k, &len);
        block_run(frame, len, ptrs, k);
        free(frame);
    }
}

typedef struct block_figure {
    double tx_per_s, cpu_us_per_tx;
    uint64_t stored_before;
} block_figure;

/* The block path on one set of transfers: a warm-up block (the first after a start
 * faults the store's pages in), then BLOCKS measured blocks of BATCH. CPU is the process
 * doing the TVE's work: the daemon's, or this one's for the in-process service. */
static block_figure bench_blocks(int set, const char *label)
{
    uint8_t *frames[BLOCKS];
    size_t lens[BLOCKS];
    static tvec_tx *ptrs[BLOCKS][BATCH];
    blocks_of(&g.transfers[(size_t)set * SET_TXS], BATCH); /* warm-up */
    /* Encoded first: the node's encoding cost is not the TVE's. */
    for (int b = 0; b < BLOCKS; b++) {
        for (int i = 0; i < BATCH; i++)
            ptrs[b][i] = &g.transfers[(size_t)set * SET_TXS + (size_t)(b + 1) * BATCH + (size_t)i];
        frames[b] = tvec_verify_block_pack(&g.chain, g.height + 1 + (uint64_t)b, ptrs[b], BATCH,
                                           &lens[b]);
    }
    block_figure f = {.stored_before = g.stored};
    pid_t pid = g.svc != NULL ? 0 : g.daemon.pid;
    g.verify_s = g.commit_s = 0;
    double cpu0 = cpu_of(pid), t0 = bench_now();
    char each[BLOCKS * 12] = "", *p = each;
    for (int b = 0; b < BLOCKS; b++) {
        double b0 = bench_now();
        block_run(frames[b], lens[b], ptrs[b], BATCH);
        p += snprintf(p, (size_t)(each + sizeof each - p), "%s%.1f", b ? " " : "",
                      (bench_now() - b0) * 1e3);
        free(frames[b]);
    }
    double wall = bench_now() - t0, cpu = cpu_of(pid) - cpu0;
    f.tx_per_s = (double)BLOCKS * BATCH / wall;
    f.cpu_us_per_tx = cpu / (BLOCKS * BATCH) * 1e6;
    bench_note("%s: %d blocks of %d transfers on a store of %llu txs: %.1f ms per block "
               "(verify-block %.1f, commit-block %.1f; each: %s), %.1f CPU s",
               label, BLOCKS, BATCH, (unsigned long long)f.stored_before, wall / BLOCKS * 1e3,
               g.verify_s / BLOCKS * 1e3, g.commit_s / BLOCKS * 1e3, each, cpu);
    return f;
}

/* --- funding ----------------------------------------------------------------------- */
/* Withdraw k pays two outputs of VALUE to the owner; transfer k spends both. */
static void fund(void)
{
    g.withdraws = calloc(N_TRANSFERS, sizeof *g.withdraws);
    if (g.withdraws == NULL) bench_die("out of memory");
    for (size_t k = 0; k < N_TRANSFERS; k++) {
        txb *b = txb_new(VEIL_TX_KIND_WITHDRAW, CHAIN);
        memcpy(b->account, g.acct_pk, 32);
        b->nonce = k;
        txb_output(b, g.owner_pk, VALUE, BLOCK_TIME - 1);
        txb_output(b, g.owner_pk, VALUE, BLOCK_TIME - 1);
        txb_signer(b, g.acct_sk);
        txb_build_body(b);
        txb_build_payload(b);
        Veil__Tve__AccountState acct = VEIL__TVE__ACCOUNT_STATE__INIT;
        acct.address = (ProtobufCBinaryData){32, g.acct_pk};
        acct.unbonded = 2 * VALUE;
        acct.unbonded_from = BLOCK_TIME - 1;
        acct.nonce = k;
        int rc = tvec_encrypt(&g.c, g.tqe, &g.chain, b->payload, b->payload_len, &acct, 0, NULL,
                              0, &g.withdraws[k]);
        if (rc != 0) bench_die("encrypt withdraw: %d", rc);
        txb_free(b);
    }
    blocks_of(g.withdraws, N_TRANSFERS);
}

static void make_transfers(void)
{
    g.transfers = calloc(N_TRANSFERS, sizeof *g.transfers);
    if (g.transfers == NULL) bench_die("out of memory");
    for (size_t i = 0; i < N_TRANSFERS; i++) {
        txb *b = txb_new(VEIL_TX_KIND_TRANSFER, CHAIN);
        txb_input(b, g.withdraws[i].txid, 0, g.owner_sk);
        txb_input(b, g.withdraws[i].txid, 1, g.owner_sk);
        txb_output(b, g.owner_pk, 1500, 0);
        txb_output(b, g.acct_pk, 2 * VALUE - 1500, 0);
        b->random_aux = true; /* a wallet's signatures: the two witnesses differ */
        txb_build_body(b);
        txb_build_payload(b);
        const bool unspent[2] = {false, false}; /* the withdraw's two outputs, fresh */
        int rc = tvec_encrypt(&g.c, g.tqe, &g.chain, b->payload, b->payload_len, NULL, 0, unspent,
                              2, &g.transfers[i]);
        if (rc != 0) bench_die("encrypt transfer: %d", rc);
        txb_free(b);
    }
}

/* --- check path ------------------------------------------------------------------ */
/* CHECK verify-tx requests for the transfers of a set not yet committed. */
static uint8_t **check_frames(int set, size_t *lens)
{
    uint8_t **frames = calloc(SET_TXS, sizeof *frames);
    if (frames == NULL) bench_die("out of memory");
    for (size_t i = 0; i < SET_TXS; i++) {
        const tvec_tx *t = &g.transfers[(size_t)set * SET_TXS + i];
        protobuf_c_boolean flags[2] = {0, 0};
        Veil__Tve__TxContext ctx = VEIL__TVE__TX_CONTEXT__INIT;
        ctx.tx = (ProtobufCBinaryData){t->wire_len, t->wire};
        ctx.n_input_spent = 2;
        ctx.input_spent = flags;
        Veil__Tve__VerifyTxRequest m = VEIL__TVE__VERIFY_TX_REQUEST__INIT;
        m.mode = VEIL__TVE__MODE__CHECK;
        m.params = &g.chain.params;
        m.tx = &ctx;
        Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
        req.request_case = VEIL__TVE__REQUEST__REQUEST_VERIFY_TX;
        req.verify_tx = &m;
        frames[i] = tvec_request_pack(&req, &lens[i]);
    }
    return frames;
}

/* One CHECK at a time, each tx once (a TVE remembers the signatures it verified: a tx
 * checked again is cheaper, which is not the path measured here), until min_s or the
 * set runs out. Every reply is decoded and must accept until 1000, later ones now and
 * then (decoding costs). */
static void bench_check(uint8_t **frames, const size_t *lens, double min_s, double *rate,
                        double *p50_us)
{
    size_t n = 0;
    double *lat = malloc(SET_TXS * sizeof *lat);
    if (lat == NULL) bench_die("out of memory");
    uint8_t reply[4096];
    double start = bench_now(), now = start;
    while (now - start < min_s && n < SET_TXS) {
        size_t i = n;
        bool decode = n < BATCH || n % 256 == 0;
        double t0 = bench_now();
        if (g.svc != NULL || decode) {
            Veil__Tve__Response *r = call_frame(frames[i], lens[i]);
            now = bench_now();
            r = call_ok(r, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_TX, "verify-tx");
            if (r->verify_tx->outcome == NULL) bench_die("verify-tx: tx %zu: no outcome", i);
            tvec_response_free(r);
        } else {
            if (zmq_send(g.c.sock, frames[i], lens[i], 0) < 0 ||
                zmq_recv(g.c.sock, reply, sizeof reply, 0) < 0)
                bench_die("check: %s", zmq_strerror(zmq_errno()));
            now = bench_now();
        }
        lat[n++] = (now - t0) * 1e6;
    }
    if (n < 1000) bench_die("check: only %zu requests measured", n);
    *rate = (double)n / (now - start);
    *p50_us = p50(lat, n);
    free(lat);
}

/* --- bare 0MQ round trip ----------------------------------------------------------- */
/* The echo runs in its own process with its own 0MQ context, as the daemon does: the
 * same thread and process hops, nothing else. */
static void echo_child(const char *ep)
{
    void *ctx = zmq_ctx_new();
    void *rep = ctx != NULL ? zmq_socket(ctx, ZMQ_REP) : NULL;
    if (rep == NULL || zmq_bind(rep, ep) != 0) _exit(1);
    uint8_t buf[8192];
    for (;;) {
        int n = zmq_recv(rep, buf, sizeof buf, 0);
        if (n < 0) _exit(1);
        if (zmq_send(rep, buf, (size_t)n, 0) < 0) _exit(1);
        if (n == 1 && buf[0] == 0xff) break; /* stop */
    }
    zmq_close(rep);
    zmq_ctx_term(ctx);
    _exit(0);
}

static double bench_zmq_roundtrip(size_t frame_len, double min_s)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) bench_die("fork");
    if (pid == 0) echo_child(g.echo_ep);
    void *ctx = zmq_ctx_new();
    void *req = ctx != NULL ? zmq_socket(ctx, ZMQ_REQ) : NULL;
    int timeout = 10000;
    if (req == NULL || zmq_setsockopt(req, ZMQ_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
        zmq_connect(req, g.echo_ep) != 0)
        bench_die("zmq echo connect: %s", zmq_strerror(zmq_errno()));
    uint8_t *frame = calloc(1, frame_len), reply[8192];
    size_t cap = 1u << 20, n = 0;
    double *lat = malloc(cap * sizeof *lat);
    if (frame == NULL || lat == NULL) bench_die("out of memory");
    frame[0] = 0x22;
    for (int i = 0; i < 1000; i++)
        if (zmq_send(req, frame, frame_len, 0) < 0 || zmq_recv(req, reply, sizeof reply, 0) < 0)
            bench_die("echo warm-up: %s", zmq_strerror(zmq_errno()));
    double start = bench_now(), now = start;
    while (now - start < min_s && n < cap) {
        double t0 = bench_now();
        if (zmq_send(req, frame, frame_len, 0) < 0 || zmq_recv(req, reply, sizeof reply, 0) < 0)
            bench_die("echo: %s", zmq_strerror(zmq_errno()));
        now = bench_now();
        lat[n++] = (now - t0) * 1e6;
    }
    uint8_t stop = 0xff;
    zmq_send(req, &stop, 1, 0);
    zmq_recv(req, reply, sizeof reply, 0);
    int status;
    waitpid(pid, &status, 0);
    zmq_close(req);
    zmq_ctx_term(ctx);
    double v = p50(lat, n);
    free(lat);
    free(frame);
    return v;
}

/* --- store sizes ------------------------------------------------------------------- */
/* Grows the store to `target` txs with synthetic blocks shaped like the last committed
 * transfer (its sealed size and outcome). The daemon must be stopped. */
static void grow_store(uint64_t target)
{
    if (target <= g.stored) return;
    tve_store *st;
    veil_status s = tve_store_open(g.home, false, &st);
    if (s != VEIL_OK) bench_die("store: %s", veil_status_str(s));
    uint8_t *sealed = malloc(TVE_SEALED_TX_MAX);
    tve_store_block blk;
    size_t sealed_len;
    if (sealed == NULL) bench_die("out of memory");
    if (tve_store_block_get(st, g.height, &blk) != VEIL_OK || blk.n == 0)
        bench_die("store: block %llu", (unsigned long long)g.height);
    Veil__Tve__TxOutcome *o = veil__tve__tx_outcome__unpack(NULL, blk.outcome_lens[0],
                                                           blk.outcomes[0]);
    if (o == NULL || o->txid.len != 32 ||
        tve_store_tx_get(st, o->txid.data, sealed, TVE_SEALED_TX_MAX, &sealed_len) != VEIL_OK)
        bench_die("store: the last block's first tx");
    tve_store_close(st);
    tve_fill_spec spec = {.home = g.home,
                          .n_txs = target - g.stored,
                          .sealed_len = sealed_len,
                          .outcome = blk.outcomes[0],
                          .outcome_len = blk.outcome_lens[0],
                          .seed = target};
    double t0 = bench_now();
    s = tve_fill(&spec, &g.height);
    if (s != VEIL_OK) bench_die("fill: %s (%s)", veil_status_str(s), veil_error_detail());
    double fill_s = bench_now() - t0;
    if (tve_store_open(g.home, false, &st) != VEIL_OK) bench_die("store: reopen");
    bench_note("fill: %llu synthetic txs (%zu-byte sealed blobs) in %.1f s; store now %llu txs, "
               "%.0f MB",
               (unsigned long long)spec.n_txs, sealed_len, fill_s, (unsigned long long)target,
               (double)tve_store_bytes(st) / 1e6);
    tve_store_close(st);
    g.stored = target;
    veil__tve__tx_outcome__free_unpacked(o, NULL);
    tve_store_block_free(&blk);
    free(sealed);
}

static uint64_t max_store(void)
{
    const char *s = getenv("VEIL_BENCH_TVE_MAX_STORE");
    if (s == NULL || *s == '\0') return 1000000;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0') bench_die("VEIL_BENCH_TVE_MAX_STORE=%s is not a number", s);
    return v;
}

static void print_block(const char *name, const char *cpu_name, block_figure f)
{
    bench_print(name, f.tx_per_s, "tx/s");
    bench_print(cpu_name, f.cpu_us_per_tx, "us");
}

/* The crypto floor of a 2-in/2-out transfer: its two BIP-340 verifications (one per
 * input, over the 32-byte txid) on this thread, over 1024 distinct keys and messages,
 * for at least min_s seconds. */
static double crypto_floor_tx_per_s(double min_s)
{
    enum { N = 1024 };
    static uint8_t pk[N][VEIL_SCHNORR_PUBKEY_LEN], sig[N][VEIL_SCHNORR_SIG_LEN], msg[N][32];
    for (size_t i = 0; i < N; i++) {
        uint8_t sk[VEIL_SCHNORR_SECKEY_LEN];
        memset(sk, 0, sizeof sk);
        sk[0] = 1;
        sk[30] = (uint8_t)(i >> 8);
        sk[31] = (uint8_t)i;
        memset(msg[i], (int)(i * 7), sizeof msg[i]);
        msg[i][0] = (uint8_t)i;
        if (veil_schnorr_pubkey(pk[i], sk) != VEIL_OK ||
            veil_schnorr_sign(sig[i], msg[i], 32, sk, NULL) != VEIL_OK)
            bench_die("schnorr setup");
    }
    uint64_t verifies = 0;
    double t0 = bench_now(), el;
    do {
        for (size_t i = 0; i < N; i++)
            if (veil_schnorr_verify(sig[i], msg[i], 32, pk[i]) != VEIL_OK)
                bench_die("schnorr verify");
        verifies += N;
        el = bench_now() - t0;
    } while (el < min_s);
    bench_note("crypto floor: %llu BIP-340 verifications in %.2f s on one thread (%.1f us each)",
               (unsigned long long)verifies, el, 1e6 * el / (double)verifies);
    return (double)verifies / el / 2.0;
}

int main(int argc, char **argv)
{
    (void)argc;
    bench_init(argv[0]);
    atexit(cleanup);
    double min_s = bench_min_seconds();
    uint64_t cap = max_store();
    if (veil_crypto_init() != VEIL_OK) bench_die("crypto init");
    snprintf(g.dir, sizeof g.dir, "/tmp/veil-bench-tve-XXXXXX");
    if (mkdtemp(g.dir) == NULL) bench_die("mkdtemp");
    g.have_dir = true;
    char root[128];
    snprintf(g.plat, sizeof g.plat, "%s/platform", g.dir);
    snprintf(g.home, sizeof g.home, "%s/home", g.dir);
    snprintf(root, sizeof root, "%s/root", g.dir);
    snprintf(g.ep, sizeof g.ep, "ipc://%s/tve.sock", g.dir);
    snprintf(g.echo_ep, sizeof g.echo_ep, "ipc://%s/echo.sock", g.dir);
    if (sim_platform_provision(g.plat, root, 1, false) != VEIL_OK) bench_die("provision");
    if (tee_platform_open(g.plat, &g.platform) != VEIL_OK) bench_die("platform");
    if (tee_enclave_load(g.platform, TQE_IMG, NULL, 0, &g.tqe) != VEIL_OK) bench_die("TQE load");
    memset(g.owner_sk, 0x42, 32);
    memset(g.acct_sk, 0x43, 32);
    txb_pubkey(g.owner_pk, g.owner_sk);
    txb_pubkey(g.acct_pk, g.acct_sk);
    tvec_chain_init(&g.chain, CHAIN, BLOCK_TIME);

    setenv("VEIL_TVE_QUIET", "1", 0);
    daemon_up();
    tvec_response_free(call_ok(tvec_init_chain(&g.c, CHAIN),
                               VEIL__TVE__RESPONSE__RESPONSE_INIT_CHAIN, "init-chain"));
    /* The TQE stand-in gets the channel key as `veil tqe` does, so it can seal orders. */
    tve_client *hc = NULL;
    veil_status hs = tve_client_open(g.ep, 120000, &hc);
    if (hs == VEIL_OK) hs = tqe_handoff(g.tqe, hc);
    tve_client_close(hc);
    if (hs != VEIL_OK) bench_die("TQE hand-off: %s (%s)", veil_status_str(hs), veil_error_detail());
    double t0 = bench_now();
    fund();
    make_transfers();
    bench_note("setup: %zu withdraws (2 outputs each) committed, %zu transfers (2 in, 2 out, "
               "spending them) encrypted, in %.1f s",
               N_TRANSFERS, N_TRANSFERS, bench_now() - t0);

    /* A restart: the encryptions above taught the daemon every signature; a block of
     * txs it never saw is the path measured first. */
    daemon_down();
    daemon_up();
    /* Check path: the daemon, then the same requests in-process. */
    size_t lens[SET_TXS];
    uint8_t **frames = check_frames(SET_1M, lens);
    double check_rate, check_p50, local_rate, local_p50;
    bench_check(frames, lens, min_s, &check_rate, &check_p50);
    bench_print("tve_check_tx_per_s", check_rate, "tx/s");
    bench_print("tve_check_tx_p50_us", check_p50, "us");
    block_figure fresh = bench_blocks(SET_FRESH, "block path, daemon (2 threads)");
    /* The path of txs the mempool let in: each CHECKed once (untimed), then the block. */
    size_t clens[SET_TXS];
    uint8_t **cframes = check_frames(SET_CHECKED, clens);
    for (size_t i = 0; i < SET_TXS; i++) {
        tvec_response_free(call_ok(call_frame(cframes[i], clens[i]),
                                   VEIL__TVE__RESPONSE__RESPONSE_VERIFY_TX, "check"));
        free(cframes[i]);
    }
    free(cframes);
    block_figure checked = bench_blocks(SET_CHECKED, "block path after CheckTx, daemon (2 threads)");
    daemon_down();

    service_up(1);
    block_figure limit = bench_blocks(SET_LIMIT, "limit, in-process (1 thread)");
    bench_check(frames, lens, min_s, &local_rate, &local_p50);
    service_down();
    print_block("tve_limit_tx_per_s", "tve_limit_cpu_us_per_tx", limit);
    bench_print("tve_check_inprocess_p50_us", local_p50, "us");
    print_block("tve_block_tx_per_s", "tve_block_cpu_us_per_tx", fresh);
    print_block("tve_block_seen_tx_per_s", "tve_block_seen_cpu_us_per_tx", checked);
    double floor_tx = crypto_floor_tx_per_s(min_s);
    bench_print("tx_crypto_floor_tx_per_s", floor_tx, "tx/s");

    block_figure sized[2];
    const uint64_t sizes[2] = {100000, 1000000};
    const int sets[2] = {SET_100K, SET_1M};
    static const char *const names[2][2] = {
        {"tve_block_tx_per_s_100k", "tve_block_cpu_us_per_tx_100k"},
        {"tve_block_tx_per_s_1m", "tve_block_cpu_us_per_tx_1m"}};
    int n_sized = 0;
    for (int i = 0; i < 2; i++) {
        if (sizes[i] > cap) {
            bench_note("store size %llu skipped (VEIL_BENCH_TVE_MAX_STORE=%llu)",
                       (unsigned long long)sizes[i], (unsigned long long)cap);
            continue;
        }
        grow_store(sizes[i]);
        double s0 = bench_now();
        daemon_up();
        bench_note("daemon start on a store of %llu txs (txid index read): %.2f s",
                   (unsigned long long)g.stored, bench_now() - s0);
        sized[i] = bench_blocks(sets[i], "block path, daemon (2 threads)");
        daemon_down();
        print_block(names[i][0], names[i][1], sized[i]);
        n_sized = i + 1;
    }

    double rt = bench_zmq_roundtrip(lens[0], min_s);
    bench_print("zmq_ipc_roundtrip_us", rt, "us");
    for (size_t i = 0; i < SET_TXS; i++) free(frames[i]);
    free(frames);

    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    bench_note("daemon: 2 verify-block threads; machine: %ld online CPUs; verify-tx frame %zu "
               "bytes",
               cores, lens[0]);
    double block_target = 0.75 * 2 * limit.tx_per_s;
    bench_note("target block: %.0f >= 0.75 x 2 x %.0f = %.0f tx/s (ratio %.2f of 2 x limit): %s",
               fresh.tx_per_s, limit.tx_per_s, block_target,
               fresh.tx_per_s / (2 * limit.tx_per_s),
               fresh.tx_per_s >= block_target ? "PASS" : "MISS");
    for (int i = 0; i < n_sized; i++) {
        double r = sized[i].tx_per_s / fresh.tx_per_s;
        bench_note("target size: block at %llu stored txs %.0f tx/s = %.2f x fresh (>= 0.90): %s",
                   (unsigned long long)sizes[i], sized[i].tx_per_s, r,
                   r >= 0.9 ? "PASS" : "MISS");
    }
    bench_note("target seen: block of mempool-seen txs %.0f >= 3 x crypto floor %.0f = %.0f "
               "tx/s (ratio %.2f): %s",
               checked.tx_per_s, floor_tx, 3 * floor_tx, checked.tx_per_s / floor_tx,
               checked.tx_per_s >= 3 * floor_tx ? "PASS" : "MISS");
    double check_target = local_p50 + 1.3 * rt;
    bench_note("target check: p50 %.1f <= %.1f + 1.3 x %.1f = %.1f us: %s", check_p50, local_p50,
               rt, check_target, check_p50 <= check_target ? "PASS" : "MISS");
    (void)local_rate;
    return 0;
}
