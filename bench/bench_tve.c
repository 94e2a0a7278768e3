/* veil-bench-tve: the TVE daemon's throughput and latency on confidential 2-input /
 * 2-output transfers, next to the limits it is measured against.
 *
 * In one run, on a fresh sim platform and store in a temporary directory (removed at
 * exit):
 *   1. the real daemon (`veil tve --threads 2`) over ipc: fund outputs with withdraws,
 *      build transfers the wallet way (TQE seal -> encrypt), then
 *        tve_check_tx_per_s, tve_check_tx_p50_us  CHECK verify-tx, one in flight
 *        tve_block_tx_per_s   verify-block of 1000 + end-block + durable commit-block
 *   2. without the daemon:
 *        zmq_ipc_roundtrip_us           bare 0MQ REQ/REP echo over ipc (p50) to another
 *                                       process, frames the size of a verify-tx request
 *        tve_compute_limit_tx_per_s     E_VERIFY (CHECK) in-process on one thread:
 *                                       decrypt, 2 signature checks, input lookups in
 *                                       an in-memory map
 *        tve_single_tx_compute_us       its p50 per tx
 * and prints the targets (docs/tve-protocol.md, "Performance"):
 *   block >= 0.75 x 2 x compute limit;  check p50 <= single compute + 1.3 x round trip.
 * A missed target is reported, not fatal; any failed request is (exit 1).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zmq.h>

#include "bench.h"
#include "crypto/crypto.h"
#include "host/tqe/tqe_handoff.h"
#include "host/tve/tve_store.h"
#include "hostutil/fileio.h"
#include "support/tve_client.h"
#include "support/tx_builder.h"
#include "tee/sim/sim_host.h"
#include "tee/tee.h"
#include "trusted/tve/tve_abi.h"
#include "veil/tve_enclave.pb-c.h"

#ifndef VEIL_BUILD_DIR
#error "VEIL_BUILD_DIR must be defined by the build"
#endif
#define VEIL_BIN VEIL_BUILD_DIR "/veil"
#define TVE_IMG VEIL_BUILD_DIR "/enclaves/veil_tve_enclave.signed.so"
#define TQE_IMG VEIL_BUILD_DIR "/enclaves/veil_tqe_enclave_test.signed.so"
#define CHAIN "veil-bench"
#define BLOCK_TIME UINT64_C(1700000000)
#define BATCH 1000
#define BATCHES 5
#define OUTS_PER_WITHDRAW 64
#define N_TRANSFERS (BATCH * BATCHES + 1) /* the extra one: the check path's tx */
#define N_WITHDRAWS ((2 * N_TRANSFERS + OUTS_PER_WITHDRAW - 1) / OUTS_PER_WITHDRAW)
#define VALUE 1000

static struct {
    char dir[64], plat[128], home[128], ep[160], echo_ep[160];
    bool have_dir;
    tee_platform *platform;
    tee_enclave *tqe, *tve;
    tvec_daemon daemon;
    tvec_client c;
    tvec_chain chain;
    uint64_t height;
    tvec_tx *withdraws;
    tvec_tx *transfers;
    uint8_t owner_sk[32], owner_pk[32], acct_sk[32], acct_pk[32];
    double verify_s, commit_s; /* block_run's time in verify-block and commit-block */
} g;

static void cleanup(void)
{
    tvec_close(&g.c);
    if (g.daemon.pid > 0) tvec_daemon_stop(&g.daemon, SIGKILL);
    tee_enclave_destroy(g.tve);
    tee_enclave_destroy(g.tqe);
    tee_platform_close(g.platform);
    g.tve = g.tqe = NULL;
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

static Veil__Tve__Response *call_ok(Veil__Tve__Response *r, Veil__Tve__Response__ResponseCase c,
                                    const char *what)
{
    if (r == NULL) bench_die("%s: no reply", what);
    if (r->response_case == VEIL__TVE__RESPONSE__RESPONSE_ERROR)
        bench_die("%s: error %u %s", what, r->error->code, r->error->name);
    if (r->response_case != c) bench_die("%s: unexpected response %d", what, r->response_case);
    return r;
}

static void app_hash(uint64_t h, uint8_t out[32])
{
    veil_sha256_tagged(out, "bench", &h, sizeof h);
}

/* One block through the daemon: verify-block, end-block, commit-block. Every tx must
 * be accepted. */
static void block_run(const uint8_t *frame, size_t len, tvec_tx *const *txs, size_t n)
{
    uint64_t h = g.height + 1;
    double tv0 = bench_now();
    Veil__Tve__Response *r = call_ok(tvec_call_raw(&g.c, frame, len),
                                     VEIL__TVE__RESPONSE__RESPONSE_VERIFY_BLOCK, "verify-block");
    double tv1 = bench_now();
    if (r->verify_block->n_results != n)
        bench_die("verify-block: %zu results", r->verify_block->n_results);
    for (size_t i = 0; i < n; i++)
        if (r->verify_block->results[i]->result_case != VEIL__TVE__TX_RESULT__RESULT_OK)
            bench_die("verify-block: tx %zu: error %u", i,
                      r->verify_block->results[i]->error->code);
    tvec_response_free(r);
    tvec_response_free(
        call_ok(tvec_end_block(&g.c, h), VEIL__TVE__RESPONSE__RESPONSE_END_BLOCK, "end-block"));
    uint8_t(*ids)[32] = malloc(n * 32), hash[32];
    if (ids == NULL) bench_die("out of memory");
    for (size_t i = 0; i < n; i++) memcpy(ids[i], txs[i]->txid, 32);
    app_hash(h, hash);
    double tc0 = bench_now();
    tvec_response_free(call_ok(tvec_commit_block(&g.c, h, hash, 32, (const uint8_t(*)[32])ids, n),
                               VEIL__TVE__RESPONSE__RESPONSE_COMMIT_BLOCK, "commit-block"));
    g.verify_s += tv1 - tv0;
    g.commit_s += bench_now() - tc0;
    free(ids);
    g.height = h;
}

static void fund(void)
{
    g.withdraws = calloc(N_WITHDRAWS, sizeof *g.withdraws);
    tvec_tx **ptrs = calloc(N_WITHDRAWS, sizeof *ptrs);
    if (g.withdraws == NULL || ptrs == NULL) bench_die("out of memory");
    for (size_t k = 0; k < N_WITHDRAWS; k++) {
        txb *b = txb_new(VEIL_TX_KIND_WITHDRAW, CHAIN);
        memcpy(b->account, g.acct_pk, 32);
        b->nonce = k;
        for (int i = 0; i < OUTS_PER_WITHDRAW; i++)
            txb_output(b, g.owner_pk, VALUE, BLOCK_TIME - 1);
        txb_signer(b, g.acct_sk);
        txb_build_body(b);
        txb_build_payload(b);
        Veil__Tve__AccountState acct = VEIL__TVE__ACCOUNT_STATE__INIT;
        acct.address = (ProtobufCBinaryData){32, g.acct_pk};
        acct.unbonded = (uint64_t)VALUE * OUTS_PER_WITHDRAW;
        acct.unbonded_from = BLOCK_TIME - 1;
        acct.nonce = k;
        int rc = tvec_encrypt(&g.c, g.tqe, &g.chain, b->payload, b->payload_len, &acct, 0,
                              &g.withdraws[k]);
        if (rc != 0) bench_die("encrypt withdraw: %d", rc);
        txb_free(b);
        ptrs[k] = &g.withdraws[k];
    }
    size_t len;
    uint8_t *frame = tvec_verify_block_pack(&g.chain, g.height + 1, ptrs, N_WITHDRAWS, &len);
    block_run(frame, len, ptrs, N_WITHDRAWS);
    free(frame);
    free(ptrs);
}

/* Transfer i spends outputs 2i and 2i+1 of the funding withdraws. */
static void make_transfers(void)
{
    g.transfers = calloc(N_TRANSFERS, sizeof *g.transfers);
    if (g.transfers == NULL) bench_die("out of memory");
    for (size_t i = 0; i < N_TRANSFERS; i++) {
        txb *b = txb_new(VEIL_TX_KIND_TRANSFER, CHAIN);
        for (size_t k = 0; k < 2; k++) {
            size_t o = 2 * i + k;
            txb_input(b, g.withdraws[o / OUTS_PER_WITHDRAW].txid, (uint32_t)(o % OUTS_PER_WITHDRAW),
                      g.owner_sk);
        }
        txb_output(b, g.owner_pk, 1500, 0);
        txb_output(b, g.acct_pk, 2 * VALUE - 1500, 0);
        txb_build_body(b);
        txb_build_payload(b);
        int rc = tvec_encrypt(&g.c, g.tqe, &g.chain, b->payload, b->payload_len, NULL, 0,
                              &g.transfers[i]);
        if (rc != 0) bench_die("encrypt transfer: %d", rc);
        txb_free(b);
    }
}

/* --- check path ------------------------------------------------------------------ */
static void bench_check(double min_s, double *rate, double *p50_us, size_t *req_len)
{
    const tvec_tx *t = &g.transfers[N_TRANSFERS - 1];
    /* Build the request once: the node's encoding cost is not the TVE's. */
    protobuf_c_boolean flags[2] = {0, 0};
    Veil__Tve__TxContext ctx = VEIL__TVE__TX_CONTEXT__INIT;
    ctx.tx.data = t->wire;
    ctx.tx.len = t->wire_len;
    ctx.n_input_spent = 2;
    ctx.input_spent = flags;
    Veil__Tve__VerifyTxRequest m = VEIL__TVE__VERIFY_TX_REQUEST__INIT;
    m.mode = VEIL__TVE__MODE__CHECK;
    m.params = &g.chain.params;
    m.tx = &ctx;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_VERIFY_TX;
    req.verify_tx = &m;
    size_t len;
    uint8_t *frame = tvec_request_pack(&req, &len);
    *req_len = len;

    size_t cap = 1u << 20, n = 0;
    double *lat = malloc(cap * sizeof *lat);
    if (lat == NULL) bench_die("out of memory");
    uint8_t reply[4096];
    for (int i = 0; i < 200; i++) { /* warm-up */
        if (zmq_send(g.c.sock, frame, len, 0) < 0 || zmq_recv(g.c.sock, reply, sizeof reply, 0) < 0)
            bench_die("check warm-up: %s", zmq_strerror(zmq_errno()));
    }
    double start = bench_now(), now = start;
    while (now - start < min_s && n < cap) {
        double t0 = bench_now();
        int got;
        if (zmq_send(g.c.sock, frame, len, 0) < 0 ||
            (got = zmq_recv(g.c.sock, reply, sizeof reply, 0)) < 0)
            bench_die("check: %s", zmq_strerror(zmq_errno()));
        now = bench_now();
        lat[n++] = (now - t0) * 1e6;
        if (n == 1 || n % 1024 == 0) { /* check a reply now and then (decoding costs) */
            Veil__Tve__Response *r = veil__tve__response__unpack(NULL, (size_t)got, reply);
            tvec_response_free(call_ok(r, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_TX, "verify-tx"));
        }
    }
    *rate = (double)n / (now - start);
    *p50_us = p50(lat, n);
    free(lat);
    free(frame);
}

/* --- block path ------------------------------------------------------------------ */
static double bench_block(void)
{
    uint8_t *frames[BATCHES];
    size_t lens[BATCHES];
    tvec_tx *ptrs[BATCH];
    /* Frames are encoded first: heights follow on from the funding block. */
    for (int b = 0; b < BATCHES; b++) {
        for (int i = 0; i < BATCH; i++) ptrs[i] = &g.transfers[(size_t)b * BATCH + (size_t)i];
        frames[b] =
            tvec_verify_block_pack(&g.chain, g.height + 1 + (uint64_t)b, ptrs, BATCH, &lens[b]);
    }
    double total = 0;
    g.verify_s = g.commit_s = 0;
    for (int b = 0; b < BATCHES; b++) {
        for (int i = 0; i < BATCH; i++) ptrs[i] = &g.transfers[(size_t)b * BATCH + (size_t)i];
        double t0 = bench_now();
        block_run(frames[b], lens[b], ptrs, BATCH);
        total += bench_now() - t0;
        free(frames[b]);
    }
    bench_note("block path: %d blocks of %d transfers, %.1f ms per block: verify-block %.1f ms, "
               "commit-block %.1f ms (frame %zu bytes)",
               BATCHES, BATCH, total / BATCHES * 1e3, g.verify_s / BATCHES * 1e3,
               g.commit_s / BATCHES * 1e3, lens[0]);
    return (double)BATCHES * BATCH / total;
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

/* --- compute limit --------------------------------------------------------------- */
/* The store's sealed txs, in memory: the ocalls cost a lookup and a copy, as little as
 * a host can make them. */
typedef struct mem_store {
    size_t n;
    uint8_t (*txid)[32];
    uint8_t **sealed;
    size_t *len;
} mem_store;

static mem_store g_mem;

static veil_status mem_get_sealed(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                                  size_t out_cap, size_t *out_len)
{
    (void)ctx;
    ENSURE(in_len == 32, VEIL_ERR_ARG);
    *out_len = 0;
    /* Funding txs are few (N_WITHDRAWS): a linear scan is a few hundred compares. */
    for (size_t i = 0; i < g_mem.n; i++) {
        if (memcmp(g_mem.txid[i], in, 32) != 0) continue;
        ENSURE(g_mem.len[i] <= out_cap, VEIL_ERR_BUFFER_TOO_SMALL);
        memcpy(out, g_mem.sealed[i], g_mem.len[i]);
        *out_len = g_mem.len[i];
        break;
    }
    return VEIL_OK;
}

static veil_status mem_is_spent(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                                size_t out_cap, size_t *out_len)
{
    (void)ctx, (void)in;
    ENSURE(in_len == 36 && out_cap >= 1, VEIL_ERR_ARG);
    out[0] = 0;
    *out_len = 1;
    return VEIL_OK;
}

static veil_status load_key(void *ctx, uint64_t epoch, const uint8_t *sealed, size_t len)
{
    (void)ctx;
    Veil__Tve__Enclave__LoadKeyCall call = VEIL__TVE__ENCLAVE__LOAD_KEY_CALL__INIT;
    uint8_t in[512], out[TVE_KEY_OUT_MAX];
    size_t out_len;
    call.epoch = epoch;
    call.sealed_key = (ProtobufCBinaryData){len, (uint8_t *)sealed};
    if (protobuf_c_message_get_packed_size(&call.base) > sizeof in) return VEIL_ERR_TOO_LARGE;
    size_t in_len = protobuf_c_message_pack(&call.base, in);
    return tee_enclave_call(g.tve, TVE_E_LOAD_KEY, in, in_len, out, sizeof out, &out_len);
}

static void bench_compute(double min_s, double *rate, double *p50_us)
{
    static const tee_ocall_fn fns[] = {mem_get_sealed, mem_is_spent};
    static const tee_ocall_table table = {fns, 2, NULL};
    tve_store *st;
    veil_status s = tve_store_open(g.home, false, &st);
    if (s != VEIL_OK) bench_die("store: %s", veil_status_str(s));
    g_mem.n = N_WITHDRAWS;
    g_mem.txid = calloc(N_WITHDRAWS, 32);
    g_mem.sealed = calloc(N_WITHDRAWS, sizeof *g_mem.sealed);
    g_mem.len = calloc(N_WITHDRAWS, sizeof *g_mem.len);
    if (g_mem.txid == NULL || g_mem.sealed == NULL || g_mem.len == NULL) bench_die("out of memory");
    for (size_t k = 0; k < N_WITHDRAWS; k++) {
        memcpy(g_mem.txid[k], g.withdraws[k].txid, 32);
        g_mem.sealed[k] = malloc(TVE_SEALED_TX_MAX);
        if (g_mem.sealed[k] == NULL) bench_die("out of memory");
        s = tve_store_tx_get(st, g_mem.txid[k], g_mem.sealed[k], TVE_SEALED_TX_MAX, &g_mem.len[k]);
        if (s != VEIL_OK) bench_die("store: funding tx: %s", veil_status_str(s));
    }
    s = tee_enclave_load(g.platform, TVE_IMG, &table, 0, &g.tve);
    if (s != VEIL_OK) bench_die("load TVE enclave: %s", veil_status_str(s));
    s = tve_store_keys_each(st, load_key, NULL);
    if (s != VEIL_OK) bench_die("load epoch key: %s", veil_status_str(s));
    tve_store_close(st);

    /* The first batch's txs, as E_VERIFY CHECK calls, encoded up front. */
    uint8_t **calls = calloc(BATCH, sizeof *calls);
    size_t *call_lens = calloc(BATCH, sizeof *call_lens);
    if (calls == NULL || call_lens == NULL) bench_die("out of memory");
    for (size_t i = 0; i < BATCH; i++) {
        protobuf_c_boolean flags[2] = {0, 0};
        Veil__Tve__Enclave__VerifyCall c = VEIL__TVE__ENCLAVE__VERIFY_CALL__INIT;
        c.mode = VEIL__TVE__MODE__CHECK;
        c.params = &g.chain.params;
        c.tx = (ProtobufCBinaryData){g.transfers[i].wire_len, g.transfers[i].wire};
        c.n_input_spent = 2;
        c.input_spent = flags;
        call_lens[i] = protobuf_c_message_get_packed_size(&c.base);
        calls[i] = malloc(call_lens[i]);
        if (calls[i] == NULL) bench_die("out of memory");
        protobuf_c_message_pack(&c.base, calls[i]);
    }
    uint8_t *out = malloc(TVE_VERIFY_OUT_MAX);
    size_t cap = 1u << 20, n = 0, out_len;
    double *lat = malloc(cap * sizeof *lat);
    if (out == NULL || lat == NULL) bench_die("out of memory");
    for (size_t i = 0; i < 100; i++)
        if (tee_enclave_call(g.tve, TVE_E_VERIFY, calls[i], call_lens[i], out, TVE_VERIFY_OUT_MAX,
                             &out_len) != VEIL_OK)
            bench_die("E_VERIFY warm-up failed");
    double start = bench_now(), now = start;
    while (now - start < min_s && n < cap) {
        size_t i = n % BATCH;
        double t0 = bench_now();
        s = tee_enclave_call(g.tve, TVE_E_VERIFY, calls[i], call_lens[i], out, TVE_VERIFY_OUT_MAX,
                             &out_len);
        now = bench_now();
        if (s != VEIL_OK) bench_die("E_VERIFY: %s", veil_status_str(s));
        lat[n++] = (now - t0) * 1e6;
    }
    *rate = (double)n / (now - start);
    *p50_us = p50(lat, n);
    free(lat);
    free(out);
    for (size_t i = 0; i < BATCH; i++) free(calls[i]);
    free(calls);
    free(call_lens);
    for (size_t k = 0; k < N_WITHDRAWS; k++) free(g_mem.sealed[k]);
    free(g_mem.txid);
    free(g_mem.sealed);
    free(g_mem.len);
}

int main(int argc, char **argv)
{
    (void)argc;
    bench_init(argv[0]);
    atexit(cleanup);
    double min_s = bench_min_seconds();
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
    int status;
    if (tvec_daemon_start(&g.daemon, VEIL_BIN, g.ep, g.home, g.plat, 2, NULL, 30, &status) != 0)
        bench_die("veil tve did not start (wait status %d)", status);
    tvec_connect(&g.c, g.ep, 120000);
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
    bench_note("setup: %d withdraws funding %d transfers (2 in, 2 out), encrypted by the daemon "
               "in %.1f s",
               N_WITHDRAWS, N_TRANSFERS, bench_now() - t0);

    double check_rate, check_p50;
    size_t req_len;
    bench_check(min_s, &check_rate, &check_p50, &req_len);
    double block_rate = bench_block();
    tvec_close(&g.c);
    if (!WIFEXITED(tvec_daemon_stop(&g.daemon, SIGTERM))) bench_die("daemon did not stop cleanly");

    double rt = bench_zmq_roundtrip(req_len, min_s);
    double compute_rate, compute_p50;
    bench_compute(min_s, &compute_rate, &compute_p50);

    bench_print("tve_check_tx_per_s", check_rate, "tx/s");
    bench_print("tve_check_tx_p50_us", check_p50, "us");
    bench_print("tve_block_tx_per_s", block_rate, "tx/s");
    bench_print("tve_compute_limit_tx_per_s", compute_rate, "tx/s");
    bench_print("tve_single_tx_compute_us", compute_p50, "us");
    bench_print("zmq_ipc_roundtrip_us", rt, "us");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    bench_note(
        "daemon: 2 verify-block threads; machine: %ld online CPUs; verify-tx frame %zu bytes",
        cores, req_len);
    double block_target = 0.75 * 2 * compute_rate;
    bench_note("target block: %.0f >= 0.75 x 2 x %.0f = %.0f tx/s (ratio %.2f of 2 x limit): %s",
               block_rate, compute_rate, block_target, block_rate / (2 * compute_rate),
               block_rate >= block_target ? "PASS" : "MISS");
    double check_target = compute_p50 + 1.3 * rt;
    bench_note("target check: p50 %.1f <= %.1f + 1.3 x %.1f = %.1f us: %s", check_p50, compute_p50,
               rt, check_target, check_p50 <= check_target ? "PASS" : "MISS");
    return 0;
}
