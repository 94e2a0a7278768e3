/* Tests for the ABCI wire layer (src/host/abci): framing, golden frames, the socket
 * server driven as CometBFT drives it, malformed input, the client.
 *
 * Golden frames (tests/abci_golden/NAME.{req,resp}.hex) are produced by Google's
 * protoc from the text files next to them (generate.sh; test "abci_golden_protoc"
 * checks they are current), so the bytes this test expects come from an encoder
 * independent of protobuf-c. The golden app below answers exactly what the
 * NAME.resp.txt files say; the defaults (NULL callbacks) are golden-tested too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka needs the above first
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/hex.h"
#include "host/abci/abci_client.h"
#include "host/abci/abci_net.h"
#include "host/abci/abci_server.h"
#include "hostutil/fileio.h"

#define GOLDEN_DIR VEIL_SOURCE_DIR "/tests/abci_golden"
#define IO_TIMEOUT_MS 5000

static char g_dir[] = "/tmp/veil-abci-test-XXXXXX";

#define expect_status(got, want)                                                                   \
    do {                                                                                           \
        veil_status got_ = (got), want_ = (want);                                                  \
        if (got_ != want_) {                                                                       \
            print_error("expected %s, got %s (%s) %s\n", veil_status_name(want_),                  \
                        veil_status_name(got_), veil_status_str(got_), veil_error_detail());       \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* ------------------------------------------------------------------------------------ */
/* helpers                                                                               */

static void sock_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", g_dir, name);
}

static void unix_addr(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "unix://%s/%s", g_dir, name);
}

/* Reads a .hex golden file (whitespace-separated hex bytes) into a malloc'd buffer. */
static uint8_t *load_hex(const char *name, const char *kind, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.%s.hex", GOLDEN_DIR, name, kind);
    uint8_t *text;
    size_t tlen;
    expect_status(veil_file_read(path, 1 << 20, &text, &tlen), VEIL_OK);
    char *digits = malloc(tlen + 1);
    assert_non_null(digits);
    size_t n = 0;
    for (size_t i = 0; i < tlen; i++)
        if (text[i] != ' ' && text[i] != '\n') digits[n++] = (char)text[i];
    uint8_t *out = malloc(n / 2 + 1);
    assert_non_null(out);
    expect_status(veil_hex_decode(out, n / 2 + 1, digits, n, len), VEIL_OK);
    free(digits);
    free(text);
    return out;
}

static void assert_bytes_equal(const uint8_t *got, size_t got_len, const uint8_t *want,
                               size_t want_len, const char *what)
{
    if (got_len != want_len || memcmp(got, want, want_len) != 0) {
        char *g = malloc(2 * got_len + 1), *w = malloc(2 * want_len + 1);
        veil_hex_encode(g, got, got_len);
        veil_hex_encode(w, want, want_len);
        print_error("%s differs\n  got  %s\n  want %s\n", what, g, w);
        free(g);
        free(w);
        fail();
    }
}

static int raw_connect(const char *name)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s/%s", g_dir, name);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof sun), 0);
    return fd;
}

static void raw_write(int fd, const void *p, size_t n)
{
    expect_status(abci_fd_write_all(fd, p, n, IO_TIMEOUT_MS, NULL), VEIL_OK);
}

/* Reads exactly n bytes or fails the test. */
static void raw_read_exact(int fd, uint8_t *out, size_t n)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, IO_TIMEOUT_MS), 1);
        ssize_t r = read(fd, out + got, n - got);
        if (r <= 0) {
            print_error("connection ended after %zu of %zu bytes\n", got, n);
            fail();
        }
        got += (size_t)r;
    }
}

/* Asserts the server closes the connection, having sent nothing (more). */
static void raw_expect_closed(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, IO_TIMEOUT_MS), 1);
    uint8_t b;
    ssize_t r = read(fd, &b, 1);
    if (r != 0 && !(r < 0 && errno == ECONNRESET)) {
        print_error("expected the server to close the connection, read returned %zd\n", r);
        fail();
    }
}

/* True if nothing arrives on fd within ms. */
static bool raw_quiet_for(int fd, int ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, ms) == 0;
}

/* Reads one frame from a raw fd and decodes it as a Response (caller frees). */
static Tendermint__Abci__Response *raw_read_response(int fd)
{
    /* Byte by byte, so nothing beyond this one frame is consumed. */
    uint8_t buf[1 << 16];
    size_t n = 0, len, consumed;
    const uint8_t *body;
    for (;;) {
        veil_status st = abci_frame_split(buf, n, sizeof buf, &body, &len, &consumed);
        if (st == VEIL_OK) break;
        expect_status(st, VEIL_ERR_TRUNCATED);
        assert_true(n < sizeof buf);
        raw_read_exact(fd, buf + n, 1);
        n++;
    }
    Tendermint__Abci__Response *resp = tendermint__abci__response__unpack(NULL, len, body);
    assert_non_null(resp);
    return resp;
}

/* ------------------------------------------------------------------------------------ */
/* the golden app: answers what tests/abci_golden/NAME.resp.txt say                      */

static const uint8_t APP_HASH[32] = {
    0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
    0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc};

typedef struct golden_ctx {
    pthread_mutex_t m; /* guards the fields below (not the app lock under test) */
    int in_call;       /* callbacks running right now */
    int overlaps;      /* times a callback found another one running */
    int calls;
    int delay_us; /* sleep inside check_tx, to provoke overlaps */
} golden_ctx;

static golden_ctx g_ctx = {.m = PTHREAD_MUTEX_INITIALIZER};

static void enter(golden_ctx *g)
{
    pthread_mutex_lock(&g->m);
    if (g->in_call++ > 0) g->overlaps++;
    g->calls++;
    pthread_mutex_unlock(&g->m);
}

static void leave(golden_ctx *g)
{
    pthread_mutex_lock(&g->m);
    g->in_call--;
    pthread_mutex_unlock(&g->m);
}

static veil_status golden_info(void *ctx, abci_call *call, const Tendermint__Abci__RequestInfo *req,
                               Tendermint__Abci__ResponseInfo *resp)
{
    (void)call, (void)req;
    enter(ctx);
    resp->data = "veil";
    resp->version = "0.1.0";
    resp->app_version = 1;
    resp->last_block_height = 7;
    resp->last_block_app_hash.data = (uint8_t *)APP_HASH;
    resp->last_block_app_hash.len = sizeof APP_HASH;
    leave(ctx);
    return VEIL_OK;
}

static veil_status golden_init_chain(void *ctx, abci_call *call,
                                     const Tendermint__Abci__RequestInitChain *req,
                                     Tendermint__Abci__ResponseInitChain *resp)
{
    (void)call;
    enter(ctx);
    /* Keep the genesis validators: point at the request's (it outlives encoding). */
    resp->n_validators = req->n_validators;
    resp->validators = req->validators;
    veil_status st = abci_call_bytes(call, APP_HASH, sizeof APP_HASH, &resp->app_hash);
    leave(ctx);
    return st;
}

static veil_status golden_query(void *ctx, abci_call *call,
                                const Tendermint__Abci__RequestQuery *req,
                                Tendermint__Abci__ResponseQuery *resp)
{
    enter(ctx);
    if (strcmp(req->path, "/fail") == 0) {
        abci_call_fail(call, "store offline");
        leave(ctx);
        return VEIL_ERR_DB;
    }
    resp->code = 2;
    resp->log = "not found";
    resp->index = -1;
    resp->key = req->data;
    resp->height = req->height;
    resp->codespace = "veil";
    Tendermint__Crypto__ProofOps *ops =
        ABCI_CALL_NEW(call, Tendermint__Crypto__ProofOps, tendermint__crypto__proof_ops__init);
    Tendermint__Crypto__ProofOp *op =
        ABCI_CALL_NEW(call, Tendermint__Crypto__ProofOp, tendermint__crypto__proof_op__init);
    Tendermint__Crypto__ProofOp **list = abci_call_calloc(call, 1, sizeof *list);
    veil_status st = VEIL_ERR_NOMEM;
    if (ops != NULL && op != NULL && list != NULL) {
        op->type = abci_call_strdup(call, "veil:none");
        op->key = req->data;
        st = abci_call_bytes(call, "\x00\x01", 2, &op->data);
        list[0] = op;
        ops->n_ops = 1;
        ops->ops = list;
        resp->proof_ops = ops;
        if (op->type == NULL) st = VEIL_ERR_NOMEM;
    }
    leave(ctx);
    return st;
}

static veil_status golden_check_tx(void *ctx, abci_call *call,
                                   const Tendermint__Abci__RequestCheckTx *req,
                                   Tendermint__Abci__ResponseCheckTx *resp)
{
    golden_ctx *g = ctx;
    enter(g);
    if (g->delay_us > 0) usleep((useconds_t)g->delay_us);
    resp->data = req->tx; /* the tx itself: lets ordering tests see which tx this was */
    resp->log = "ok";
    resp->gas_wanted = 1;
    resp->gas_used = 1;
    Tendermint__Abci__Event *ev =
        ABCI_CALL_NEW(call, Tendermint__Abci__Event, tendermint__abci__event__init);
    Tendermint__Abci__EventAttribute *a = abci_call_calloc(call, 2, sizeof *a);
    Tendermint__Abci__EventAttribute **attrs = abci_call_calloc(call, 2, sizeof *attrs);
    Tendermint__Abci__Event **evs = abci_call_calloc(call, 1, sizeof *evs);
    if (ev == NULL || a == NULL || attrs == NULL || evs == NULL) {
        leave(g);
        return VEIL_ERR_NOMEM;
    }
    tendermint__abci__event_attribute__init(&a[0]);
    tendermint__abci__event_attribute__init(&a[1]);
    a[0].key = "fee";
    a[0].value = "10";
    a[0].index = true;
    a[1].key = "kind";
    a[1].value = "transfer";
    attrs[0] = &a[0];
    attrs[1] = &a[1];
    ev->type = "veil.tx";
    ev->n_attributes = 2;
    ev->attributes = attrs;
    evs[0] = ev;
    resp->n_events = 1;
    resp->events = evs;
    leave(g);
    return VEIL_OK;
}

static veil_status golden_finalize_block(void *ctx, abci_call *call,
                                         const Tendermint__Abci__RequestFinalizeBlock *req,
                                         Tendermint__Abci__ResponseFinalizeBlock *resp)
{
    enter(ctx);
    veil_status st = VEIL_ERR_NOMEM;
    Tendermint__Abci__ExecTxResult **res = abci_call_calloc(call, req->n_txs, sizeof *res);
    Tendermint__Abci__Event *block_ev =
        ABCI_CALL_NEW(call, Tendermint__Abci__Event, tendermint__abci__event__init);
    Tendermint__Abci__Event *tx_ev =
        ABCI_CALL_NEW(call, Tendermint__Abci__Event, tendermint__abci__event__init);
    Tendermint__Abci__EventAttribute *attr = ABCI_CALL_NEW(call, Tendermint__Abci__EventAttribute,
                                                           tendermint__abci__event_attribute__init);
    Tendermint__Abci__EventAttribute **attrs = abci_call_calloc(call, 1, sizeof *attrs);
    Tendermint__Abci__Event **block_evs = abci_call_calloc(call, 1, sizeof *block_evs);
    Tendermint__Abci__Event **tx_evs = abci_call_calloc(call, 1, sizeof *tx_evs);
    if (res == NULL || block_ev == NULL || tx_ev == NULL || attr == NULL || attrs == NULL ||
        block_evs == NULL || tx_evs == NULL)
        goto out;
    char height[24];
    snprintf(height, sizeof height, "%lld", (long long)req->height);
    attr->key = "height";
    attr->value = abci_call_strdup(call, height);
    attr->index = true;
    attrs[0] = attr;
    block_ev->type = "veil.block";
    block_ev->n_attributes = 1;
    block_ev->attributes = attrs;
    block_evs[0] = block_ev;
    tx_ev->type = "veil.tx";
    tx_evs[0] = tx_ev;
    /* Results cycle through: accepted; rejected; accepted with data, gas and an event. */
    for (size_t i = 0; i < req->n_txs; i++) {
        Tendermint__Abci__ExecTxResult *r = ABCI_CALL_NEW(call, Tendermint__Abci__ExecTxResult,
                                                          tendermint__abci__exec_tx_result__init);
        if (r == NULL) goto out;
        if (i % 3 == 1) {
            r->code = 1;
            r->log = "rejected";
            r->codespace = "veil";
        } else if (i % 3 == 2) {
            r->data.data = (uint8_t *)"out";
            r->data.len = 3;
            r->gas_wanted = 3;
            r->gas_used = 2;
            r->n_events = 1;
            r->events = tx_evs;
        }
        res[i] = r;
    }
    resp->n_events = 1;
    resp->events = block_evs;
    resp->n_tx_results = req->n_txs;
    resp->tx_results = res;
    st = abci_call_bytes(call, APP_HASH, sizeof APP_HASH, &resp->app_hash);
out:
    leave(ctx);
    return st;
}

static const abci_app GOLDEN_APP = {
    .ctx = &g_ctx,
    .info = golden_info,
    .init_chain = golden_init_chain,
    .query = golden_query,
    .check_tx = golden_check_tx,
    .finalize_block = golden_finalize_block,
    /* everything else: the defaults, golden-tested as they are */
};

/* Every golden case, in the order the socket test replays them. */
static const char *const GOLDEN[] = {
    "echo",
    "flush",
    "info",
    "init_chain",
    "query",
    "check_tx",
    "prepare_proposal",
    "process_proposal",
    "extend_vote",
    "verify_vote_extension",
    "finalize_block",
    "commit",
    "list_snapshots",
    "offer_snapshot",
    "load_snapshot_chunk",
    "apply_snapshot_chunk",
    "unknown_empty",
    "unknown_begin_block",
};
#define N_GOLDEN (sizeof GOLDEN / sizeof GOLDEN[0])

static int setup_dir(void **state)
{
    (void)state;
    return mkdtemp(g_dir) == NULL ? -1 : 0;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------------------ */
/* framing                                                                               */

static void test_varint_roundtrip(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        size_t len;
    } cases[] = {{0, 1},          {1, 1},
                 {127, 1},        {128, 2},
                 {300, 2},        {16383, 2},
                 {16384, 3},      {UINT64_C(1) << 31, 5},
                 {104857600, 4},  {UINT64_C(1) << 63, 10},
                 {UINT64_MAX, 10}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[VEIL_VARINT_MAX_LEN];
        size_t n = veil_varint_put(buf, cases[i].v);
        assert_int_equal(n, cases[i].len);
        uint64_t v;
        size_t used;
        expect_status(veil_varint_get(buf, n, false, &v, &used), VEIL_OK);
        assert_true(v == cases[i].v);
        assert_int_equal(used, n);
        /* every proper prefix is "need more" */
        for (size_t k = 0; k < n; k++)
            expect_status(veil_varint_get(buf, k, false, &v, &used), VEIL_ERR_TRUNCATED);
    }
    uint8_t b300[] = {0xac, 0x02};
    uint64_t v;
    size_t used;
    expect_status(veil_varint_get(b300, 2, false, &v, &used), VEIL_OK);
    assert_int_equal(v, 300);
}

static void test_varint_edges_like_go(void **state)
{
    (void)state;
    uint64_t v;
    size_t used;
    /* Non-minimal encodings are accepted, as binary.ReadUvarint does. */
    const uint8_t nonmin[] = {0x80, 0x00};
    expect_status(veil_varint_get(nonmin, 2, false, &v, &used), VEIL_OK);
    assert_int_equal(v, 0);
    assert_int_equal(used, 2);
    /* 2^64-1 is ff x9 01; a 10th byte above 1 overflows. */
    uint8_t max[10];
    memset(max, 0xff, 9);
    max[9] = 0x01;
    expect_status(veil_varint_get(max, 10, false, &v, &used), VEIL_OK);
    assert_true(v == UINT64_MAX);
    max[9] = 0x02;
    expect_status(veil_varint_get(max, 10, false, &v, &used), VEIL_ERR_MALFORMED);
    /* 10 (or 11) continuation bytes: overflow, never "need more". */
    uint8_t cont[11];
    memset(cont, 0x80, sizeof cont);
    expect_status(veil_varint_get(cont, 10, false, &v, &used), VEIL_ERR_MALFORMED);
    expect_status(veil_varint_get(cont, 11, false, &v, &used), VEIL_ERR_MALFORMED);
    expect_status(veil_varint_get(cont, 9, false, &v, &used), VEIL_ERR_TRUNCATED);
}

static void test_frame_split(void **state)
{
    (void)state;
    const uint8_t echo[] = {0x09, 0x0a, 0x07, 0x0a, 0x05, 'h', 'e', 'l', 'l', 'o', 0xff};
    const uint8_t *body;
    size_t len, consumed;
    expect_status(abci_frame_split(echo, sizeof echo, 100, &body, &len, &consumed), VEIL_OK);
    assert_int_equal(len, 9);
    assert_ptr_equal(body, echo + 1);
    assert_int_equal(consumed, 10);
    expect_status(abci_frame_split(echo, 9, 100, &body, &len, &consumed), VEIL_ERR_TRUNCATED);
    expect_status(abci_frame_split(echo, sizeof echo, 8, &body, &len, &consumed),
                  VEIL_ERR_TOO_LARGE);
    expect_status(abci_frame_split(echo, 0, 100, &body, &len, &consumed), VEIL_ERR_TRUNCATED);
    /* A huge declared length is refused from the prefix alone. */
    uint8_t huge[VEIL_VARINT_MAX_LEN];
    size_t n = veil_varint_put(huge, ABCI_FRAME_MAX_DEFAULT + 1);
    expect_status(abci_frame_split(huge, n, ABCI_FRAME_MAX_DEFAULT, &body, &len, &consumed),
                  VEIL_ERR_TOO_LARGE);
    /* Empty frame. */
    const uint8_t empty[] = {0x00};
    expect_status(abci_frame_split(empty, 1, 100, &body, &len, &consumed), VEIL_OK);
    assert_int_equal(len, 0);
    assert_int_equal(consumed, 1);
}

static void test_frame_reader(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    /* Two frames written in awkward pieces, then a half frame, then EOF. */
    const uint8_t stream[] = {0x02, 0x12, 0x00, 0x09, 0x0a, 0x07, 0x0a, 0x05,
                              'h',  'e',  'l',  'l',  'o',  0x05, 0x01};
    abci_frame_reader r;
    abci_frame_reader_init(&r, sv[0], 1024);
    const uint8_t *body;
    size_t len;
    bool eof;
    raw_write(sv[1], stream, 2);
    expect_status(abci_frame_reader_next(&r, 50, &body, &len, &eof), VEIL_ERR_TIMEOUT);
    raw_write(sv[1], stream + 2, 5);
    expect_status(abci_frame_reader_next(&r, IO_TIMEOUT_MS, &body, &len, &eof), VEIL_OK);
    assert_false(eof);
    assert_int_equal(len, 2);
    assert_memory_equal(body, "\x12\x00", 2);
    raw_write(sv[1], stream + 7, sizeof stream - 7);
    expect_status(abci_frame_reader_next(&r, IO_TIMEOUT_MS, &body, &len, &eof), VEIL_OK);
    assert_int_equal(len, 9);
    assert_memory_equal(body, stream + 4, 9);
    shutdown(sv[1], SHUT_WR);
    expect_status(abci_frame_reader_next(&r, IO_TIMEOUT_MS, &body, &len, &eof), VEIL_ERR_TRUNCATED);
    abci_frame_reader_free(&r);
    close(sv[0]);
    close(sv[1]);

    /* Clean EOF between frames. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    abci_frame_reader_init(&r, sv[0], 0);
    raw_write(sv[1], stream, 3);
    shutdown(sv[1], SHUT_WR);
    expect_status(abci_frame_reader_next(&r, IO_TIMEOUT_MS, &body, &len, &eof), VEIL_OK);
    assert_false(eof);
    expect_status(abci_frame_reader_next(&r, IO_TIMEOUT_MS, &body, &len, &eof), VEIL_OK);
    assert_true(eof);
    abci_frame_reader_free(&r);
    close(sv[0]);
    close(sv[1]);
}

static void test_frame_reader_large(void **state)
{
    (void)state;
    /* A 3 MiB frame, much larger than the reader's chunk, arrives intact. */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    size_t n = (size_t)3 << 20;
    uint8_t *frame = malloc(n + VEIL_VARINT_MAX_LEN);
    assert_non_null(frame);
    size_t p = veil_varint_put(frame, n);
    for (size_t i = 0; i < n; i++) frame[p + i] = (uint8_t)(i * 7);
    abci_frame_reader r;
    abci_frame_reader_init(&r, sv[0], 4 << 20);
    /* The writer would block on a full socket buffer: let the reader side drain it. */
    expect_status(abci_fd_write_all(sv[1], frame, p + n, IO_TIMEOUT_MS, &r), VEIL_OK);
    const uint8_t *body;
    size_t len;
    bool eof;
    expect_status(abci_frame_reader_next(&r, IO_TIMEOUT_MS, &body, &len, &eof), VEIL_OK);
    assert_int_equal(len, n);
    assert_memory_equal(body, frame + p, n);
    abci_frame_reader_free(&r);
    free(frame);
    close(sv[0]);
    close(sv[1]);
}

/* ------------------------------------------------------------------------------------ */
/* golden frames                                                                         */

static const uint8_t ADDR[20] = {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11};

static bool bytes_all(ProtobufCBinaryData b, uint8_t v, size_t len)
{
    if (b.len != len) return false;
    for (size_t i = 0; i < len; i++)
        if (b.data[i] != v) return false;
    return true;
}

static bool bytes_str(ProtobufCBinaryData b, const char *s)
{
    return b.len == strlen(s) && memcmp(b.data, s, b.len) == 0;
}

static void check_vote_info(const Tendermint__Abci__VoteInfo *v)
{
    assert_non_null(v->validator);
    assert_memory_equal(v->validator->address.data, ADDR, 20);
    assert_int_equal(v->validator->power, 10);
    assert_int_equal(v->block_id_flag, TENDERMINT__TYPES__BLOCK_IDFLAG__BLOCK_ID_FLAG_COMMIT);
}

static void check_time(const Google__Protobuf__Timestamp *t, int64_t s, int32_t ns)
{
    assert_non_null(t);
    assert_int_equal(t->seconds, s);
    assert_int_equal(t->nanos, ns);
}

/* protobuf-c must decode protoc's bytes into exactly the fields of NAME.req.txt. */
static void check_request_fields(const char *name, const Tendermint__Abci__Request *q)
{
    if (strcmp(name, "echo") == 0) {
        assert_int_equal(q->value_case, TENDERMINT__ABCI__REQUEST__VALUE_ECHO);
        assert_string_equal(q->echo->message, "hello");
    } else if (strcmp(name, "flush") == 0) {
        assert_int_equal(q->value_case, TENDERMINT__ABCI__REQUEST__VALUE_FLUSH);
    } else if (strcmp(name, "info") == 0) {
        assert_int_equal(q->value_case, TENDERMINT__ABCI__REQUEST__VALUE_INFO);
        assert_string_equal(q->info->version, "0.38.12");
        assert_int_equal(q->info->block_version, 11);
        assert_int_equal(q->info->p2p_version, 8);
        assert_string_equal(q->info->abci_version, "2.0.0");
    } else if (strcmp(name, "init_chain") == 0) {
        const Tendermint__Abci__RequestInitChain *r = q->init_chain;
        assert_int_equal(q->value_case, TENDERMINT__ABCI__REQUEST__VALUE_INIT_CHAIN);
        check_time(r->time, 1700000000, 0);
        assert_string_equal(r->chain_id, "veil-devnet");
        const Tendermint__Types__ConsensusParams *cp = r->consensus_params;
        assert_non_null(cp);
        assert_int_equal(cp->block->max_bytes, 22020096);
        assert_int_equal(cp->block->max_gas, -1);
        assert_int_equal(cp->evidence->max_age_num_blocks, 100000);
        assert_int_equal(cp->evidence->max_age_duration->seconds, 172800);
        assert_int_equal(cp->evidence->max_bytes, 1048576);
        assert_int_equal(cp->validator->n_pub_key_types, 1);
        assert_string_equal(cp->validator->pub_key_types[0], "ed25519");
        assert_non_null(cp->version);
        assert_non_null(cp->abci);
        assert_int_equal(cp->abci->vote_extensions_enable_height, 0);
        assert_int_equal(r->n_validators, 1);
        assert_int_equal(r->validators[0]->pub_key->sum_case,
                         TENDERMINT__CRYPTO__PUBLIC_KEY__SUM_ED25519);
        assert_true(bytes_all(r->validators[0]->pub_key->ed25519, 0x22, 32));
        assert_int_equal(r->validators[0]->power, 10);
        assert_true(bytes_str(r->app_state_bytes, "{\"accounts\":[]}"));
        assert_int_equal(r->initial_height, 1);
    } else if (strcmp(name, "query") == 0) {
        assert_int_equal(q->value_case, TENDERMINT__ABCI__REQUEST__VALUE_QUERY);
        assert_true(bytes_str(q->query->data, "k1"));
        assert_string_equal(q->query->path, "/veil/account");
        assert_int_equal(q->query->height, 5);
        assert_true(q->query->prove);
    } else if (strcmp(name, "check_tx") == 0) {
        assert_int_equal(q->value_case, TENDERMINT__ABCI__REQUEST__VALUE_CHECK_TX);
        assert_true(bytes_str(q->check_tx->tx, "\x01\x02\x03tx"));
        assert_int_equal(q->check_tx->type, TENDERMINT__ABCI__CHECK_TX_TYPE__RECHECK);
    } else if (strcmp(name, "prepare_proposal") == 0) {
        const Tendermint__Abci__RequestPrepareProposal *r = q->prepare_proposal;
        assert_int_equal(q->value_case, TENDERMINT__ABCI__REQUEST__VALUE_PREPARE_PROPOSAL);
        assert_int_equal(r->max_tx_bytes, 1048576);
        assert_int_equal(r->n_txs, 2);
        assert_true(bytes_str(r->txs[1], "tx-bb"));
        assert_non_null(r->local_last_commit);
        assert_int_equal(r->local_last_commit->n_votes, 1);
        const Tendermint__Abci__ExtendedVoteInfo *v = r->local_last_commit->votes[0];
        assert_memory_equal(v->validator->address.data, ADDR, 20);
        assert_true(bytes_all(v->vote_extension, 0x33, 4));
        assert_true(bytes_all(v->extension_signature, 0x44, 64));
        assert_int_equal(v->block_id_flag, TENDERMINT__TYPES__BLOCK_IDFLAG__BLOCK_ID_FLAG_COMMIT);
        assert_int_equal(r->height, 2);
        check_time(r->time, 1700000000, 123456789);
        assert_true(bytes_all(r->next_validators_hash, 0xbb, 32));
        assert_memory_equal(r->proposer_address.data, ADDR, 20);
    } else if (strcmp(name, "process_proposal") == 0) {
        const Tendermint__Abci__RequestProcessProposal *r = q->process_proposal;
        assert_int_equal(q->value_case, TENDERMINT__ABCI__REQUEST__VALUE_PROCESS_PROPOSAL);
        assert_int_equal(r->n_txs, 2);
        assert_int_equal(r->proposed_last_commit->round, 1);
        check_vote_info(r->proposed_last_commit->votes[0]);
        assert_true(bytes_all(r->hash, 0xaa, 32));
        assert_int_equal(r->height, 2);
        check_time(r->time, 1700000000, 123456789);
    } else if (strcmp(name, "extend_vote") == 0) {
        const Tendermint__Abci__RequestExtendVote *r = q->extend_vote;
        assert_int_equal(q->value_case, TENDERMINT__ABCI__REQUEST__VALUE_EXTEND_VOTE);
        assert_true(bytes_all(r->hash, 0xaa, 32));
        assert_int_equal(r->height, 2);
        check_time(r->time, 1700000000, 123456789);
        assert_int_equal(r->n_txs, 1);
        check_vote_info(r->proposed_last_commit->votes[0]);
        assert_memory_equal(r->proposer_address.data, ADDR, 20);
    } else if (strcmp(name, "verify_vote_extension") == 0) {
        const Tendermint__Abci__RequestVerifyVoteExtension *r = q->verify_vote_extension;
        assert_int_equal(q->value_case, TENDERMINT__ABCI__REQUEST__VALUE_VERIFY_VOTE_EXTENSION);
        assert_true(bytes_all(r->hash, 0xaa, 32));
        assert_memory_equal(r->validator_address.data, ADDR, 20);
        assert_int_equal(r->height, 2);
        assert_true(bytes_all(r->vote_extension, 0x33, 4));
    } else if (strcmp(name, "finalize_block") == 0) {
        const Tendermint__Abci__RequestFinalizeBlock *r = q->finalize_block;
        assert_int_equal(q->value_case, TENDERMINT__ABCI__REQUEST__VALUE_FINALIZE_BLOCK);
        assert_int_equal(r->n_txs, 3);
        assert_true(bytes_str(r->txs[2], "tx-ccc"));
        check_vote_info(r->decided_last_commit->votes[0]);
        assert_int_equal(r->n_misbehavior, 1);
        assert_int_equal(r->misbehavior[0]->type,
                         TENDERMINT__ABCI__MISBEHAVIOR_TYPE__DUPLICATE_VOTE);
        assert_int_equal(r->misbehavior[0]->height, 1);
        check_time(r->misbehavior[0]->time, 1699999990, 0);
        assert_int_equal(r->misbehavior[0]->total_voting_power, 10);
        assert_true(bytes_all(r->hash, 0xaa, 32));
        assert_int_equal(r->height, 2);
        check_time(r->time, 1700000000, 123456789);
        assert_true(bytes_all(r->next_validators_hash, 0xbb, 32));
    } else if (strcmp(name, "commit") == 0) {
        assert_int_equal(q->value_case, TENDERMINT__ABCI__REQUEST__VALUE_COMMIT);
    } else if (strcmp(name, "list_snapshots") == 0) {
        assert_int_equal(q->value_case, TENDERMINT__ABCI__REQUEST__VALUE_LIST_SNAPSHOTS);
    } else if (strcmp(name, "offer_snapshot") == 0) {
        const Tendermint__Abci__RequestOfferSnapshot *r = q->offer_snapshot;
        assert_int_equal(q->value_case, TENDERMINT__ABCI__REQUEST__VALUE_OFFER_SNAPSHOT);
        assert_int_equal(r->snapshot->height, 1000);
        assert_int_equal(r->snapshot->format, 1);
        assert_int_equal(r->snapshot->chunks, 3);
        assert_true(bytes_all(r->snapshot->hash, 0xaa, 32));
        assert_true(bytes_str(r->snapshot->metadata, "m"));
        assert_true(bytes_all(r->app_hash, 0xcc, 32));
    } else if (strcmp(name, "load_snapshot_chunk") == 0) {
        assert_int_equal(q->value_case, TENDERMINT__ABCI__REQUEST__VALUE_LOAD_SNAPSHOT_CHUNK);
        assert_int_equal(q->load_snapshot_chunk->height, 1000);
        assert_int_equal(q->load_snapshot_chunk->format, 1);
        assert_int_equal(q->load_snapshot_chunk->chunk, 2);
    } else if (strcmp(name, "apply_snapshot_chunk") == 0) {
        assert_int_equal(q->value_case, TENDERMINT__ABCI__REQUEST__VALUE_APPLY_SNAPSHOT_CHUNK);
        assert_int_equal(q->apply_snapshot_chunk->index, 0);
        assert_true(bytes_str(q->apply_snapshot_chunk->chunk, "chunk-0"));
        assert_string_equal(q->apply_snapshot_chunk->sender, "peer-1");
    } else if (strcmp(name, "unknown_empty") == 0) {
        assert_int_equal(q->value_case, TENDERMINT__ABCI__REQUEST__VALUE__NOT_SET);
        assert_int_equal(q->base.n_unknown_fields, 0);
    } else if (strcmp(name, "unknown_begin_block") == 0) {
        assert_int_equal(q->value_case, TENDERMINT__ABCI__REQUEST__VALUE__NOT_SET);
        assert_int_equal(q->base.n_unknown_fields, 1);
        assert_int_equal(q->base.unknown_fields[0].tag, 7);
    } else {
        print_error("no field checks for golden case %s\n", name);
        fail();
    }
}

/* The issue's two examples, independent of the files. */
static void test_golden_issue_examples(void **state)
{
    (void)state;
    const uint8_t echo_req[] = {0x09, 0x0a, 0x07, 0x0a, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f};
    const uint8_t echo_resp[] = {0x09, 0x12, 0x07, 0x0a, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f};
    const uint8_t flush_req[] = {0x02, 0x12, 0x00};
    const uint8_t flush_resp[] = {0x02, 0x1a, 0x00};
    abci_buf out = {0};
    abci_serve_next next;
    expect_status(
        abci_serve_request(&GOLDEN_APP, NULL, echo_req + 1, sizeof echo_req - 1, &out, &next),
        VEIL_OK);
    assert_int_equal(next, ABCI_SERVE_BUFFER);
    assert_bytes_equal(out.p, out.len, echo_resp, sizeof echo_resp, "echo response");
    out.len = 0;
    expect_status(
        abci_serve_request(&GOLDEN_APP, NULL, flush_req + 1, sizeof flush_req - 1, &out, &next),
        VEIL_OK);
    assert_int_equal(next, ABCI_SERVE_FLUSH);
    assert_bytes_equal(out.p, out.len, flush_resp, sizeof flush_resp, "flush response");
    abci_buf_free(&out);

    /* and the files agree */
    size_t n;
    uint8_t *f = load_hex("echo", "req", &n);
    assert_bytes_equal(f, n, echo_req, sizeof echo_req, "echo.req.hex");
    free(f);
    f = load_hex("flush", "resp", &n);
    assert_bytes_equal(f, n, flush_resp, sizeof flush_resp, "flush.resp.hex");
    free(f);
}

static void test_golden_frames(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_GOLDEN; i++) {
        size_t req_len, resp_len;
        uint8_t *req = load_hex(GOLDEN[i], "req", &req_len);
        uint8_t *want = load_hex(GOLDEN[i], "resp", &resp_len);

        /* 1. the request frame decodes (protobuf-c) to the text file's fields */
        const uint8_t *body;
        size_t body_len, consumed;
        expect_status(
            abci_frame_split(req, req_len, ABCI_FRAME_MAX_DEFAULT, &body, &body_len, &consumed),
            VEIL_OK);
        assert_int_equal(consumed, req_len);
        Tendermint__Abci__Request *q = tendermint__abci__request__unpack(NULL, body_len, body);
        assert_non_null(q);
        check_request_fields(GOLDEN[i], q);

        /* 2. protobuf-c re-encodes it to protoc's bytes */
        abci_buf re = {0};
        expect_status(abci_buf_append_frame(&re, &q->base), VEIL_OK);
        if (q->base.n_unknown_fields == 0)
            assert_bytes_equal(re.p, re.len, req, req_len, GOLDEN[i]);
        abci_buf_free(&re);
        tendermint__abci__request__free_unpacked(q, NULL);

        /* 3. the server answers with protoc's response bytes exactly */
        abci_buf out = {0};
        abci_serve_next next;
        expect_status(abci_serve_request(&GOLDEN_APP, NULL, body, body_len, &out, &next), VEIL_OK);
        assert_bytes_equal(out.p, out.len, want, resp_len, GOLDEN[i]);
        abci_buf_free(&out);
        free(req);
        free(want);
    }
}

/* The whole golden sequence through a real socket: one stream in, one stream out,
 * byte for byte, in order (the two unknown requests answer with exceptions and the
 * connection carries on). */
static void test_golden_over_socket(void **state)
{
    (void)state;
    char addr[300];
    unix_addr(addr, sizeof addr, "golden.sock");
    abci_server_config cfg = {.listen_addr = addr};
    abci_server *srv;
    expect_status(abci_server_start(&cfg, &GOLDEN_APP, &srv), VEIL_OK);
    int fd = raw_connect("golden.sock");

    abci_buf in = {0}, want = {0};
    for (size_t i = 0; i < N_GOLDEN; i++) {
        size_t a, b;
        uint8_t *req = load_hex(GOLDEN[i], "req", &a);
        uint8_t *resp = load_hex(GOLDEN[i], "resp", &b);
        expect_status(abci_buf_append(&in, req, a), VEIL_OK);
        expect_status(abci_buf_append(&want, resp, b), VEIL_OK);
        free(req);
        free(resp);
    }
    const uint8_t flush_req[] = {0x02, 0x12, 0x00}, flush_resp[] = {0x02, 0x1a, 0x00};
    expect_status(abci_buf_append(&in, flush_req, 3), VEIL_OK);
    expect_status(abci_buf_append(&want, flush_resp, 3), VEIL_OK);

    raw_write(fd, in.p, in.len);
    uint8_t *got = malloc(want.len);
    assert_non_null(got);
    raw_read_exact(fd, got, want.len);
    assert_bytes_equal(got, want.len, want.p, want.len, "golden stream");
    assert_true(raw_quiet_for(fd, 50));
    free(got);
    abci_buf_free(&in);
    abci_buf_free(&want);
    close(fd);
    abci_server_free(srv);
}

/* ------------------------------------------------------------------------------------ */
/* CometBFT's four connections                                                           */

static Tendermint__Abci__Request check_tx_req(Tendermint__Abci__RequestCheckTx *ct, const char *tx)
{
    tendermint__abci__request_check_tx__init(ct);
    ct->tx.data = (uint8_t *)tx;
    ct->tx.len = strlen(tx);
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_CHECK_TX;
    req.check_tx = ct;
    return req;
}

static void expect_check_tx_resp(abci_client *c, const char *tx)
{
    Tendermint__Abci__Response *r;
    expect_status(abci_client_recv(c, &r), VEIL_OK);
    assert_int_equal(r->value_case, TENDERMINT__ABCI__RESPONSE__VALUE_CHECK_TX);
    assert_true(bytes_str(r->check_tx->data, tx));
    abci_response_free(r);
}

static void expect_resp_case(abci_client *c, Tendermint__Abci__Response__ValueCase vc)
{
    Tendermint__Abci__Response *r;
    expect_status(abci_client_recv(c, &r), VEIL_OK);
    assert_int_equal(r->value_case, vc);
    abci_response_free(r);
}

static abci_client *connect_client(const char *addr)
{
    abci_client_config cc = {.addr = addr, .timeout_ms = IO_TIMEOUT_MS};
    abci_client *c;
    expect_status(abci_client_connect(&cc, &c), VEIL_OK);
    return c;
}

static void run_four_connections(const char *listen)
{
    abci_server_config cfg = {.listen_addr = listen};
    abci_server *srv;
    expect_status(abci_server_start(&cfg, &GOLDEN_APP, &srv), VEIL_OK);
    char addr[300];
    expect_status(abci_server_address(srv, addr, sizeof addr), VEIL_OK);

    /* CometBFT's proxy opens query, snapshot, mempool, consensus. */
    abci_client *query = connect_client(addr), *snapshot = connect_client(addr),
                *mempool = connect_client(addr), *consensus = connect_client(addr);
    for (int i = 0; i < 100 && abci_server_connection_count(srv) < 4; i++) usleep(10000);
    assert_int_equal(abci_server_connection_count(srv), 4);

    /* Handshake on the query connection: Echo then Info. */
    Tendermint__Abci__RequestEcho echo = TENDERMINT__ABCI__REQUEST_ECHO__INIT;
    echo.message = "hello";
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_ECHO;
    req.echo = &echo;
    Tendermint__Abci__Response *r;
    expect_status(abci_client_call(query, &req, &r), VEIL_OK);
    assert_string_equal(r->echo->message, "hello");
    abci_response_free(r);
    Tendermint__Abci__RequestInfo info = TENDERMINT__ABCI__REQUEST_INFO__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_INFO;
    req.info = &info;
    expect_status(abci_client_call(query, &req, &r), VEIL_OK);
    assert_int_equal(r->info->last_block_height, 7);
    abci_response_free(r);

    /* Mempool pipelines three CheckTx without flushing: nothing may come back yet,
     * while other connections are served meanwhile. */
    Tendermint__Abci__RequestCheckTx ct[3];
    const char *txs[3] = {"tx-1", "tx-2", "tx-3"};
    for (int i = 0; i < 3; i++) {
        Tendermint__Abci__Request q = check_tx_req(&ct[i], txs[i]);
        expect_status(abci_client_send(mempool, &q), VEIL_OK);
    }

    /* Consensus: a block, interleaved with the mempool's pending batch. */
    Tendermint__Abci__RequestPrepareProposal pp = TENDERMINT__ABCI__REQUEST_PREPARE_PROPOSAL__INIT;
    ProtobufCBinaryData block_txs[2] = {{4, (uint8_t *)"tx-1"}, {4, (uint8_t *)"tx-2"}};
    pp.max_tx_bytes = 4; /* default app keeps only what fits: tx-1 */
    pp.n_txs = 2;
    pp.txs = block_txs;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_PREPARE_PROPOSAL;
    req.prepare_proposal = &pp;
    expect_status(abci_client_send(consensus, &req), VEIL_OK);
    Tendermint__Abci__RequestProcessProposal proc =
        TENDERMINT__ABCI__REQUEST_PROCESS_PROPOSAL__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_PROCESS_PROPOSAL;
    req.process_proposal = &proc;
    expect_status(abci_client_send(consensus, &req), VEIL_OK);
    Tendermint__Abci__RequestFinalizeBlock fb = TENDERMINT__ABCI__REQUEST_FINALIZE_BLOCK__INIT;
    fb.n_txs = 2;
    fb.txs = block_txs;
    fb.height = 2;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_FINALIZE_BLOCK;
    req.finalize_block = &fb;
    expect_status(abci_client_send(consensus, &req), VEIL_OK);
    Tendermint__Abci__RequestCommit commit = TENDERMINT__ABCI__REQUEST_COMMIT__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_COMMIT;
    req.commit = &commit;
    expect_status(abci_client_send(consensus, &req), VEIL_OK);
    expect_status(abci_client_flush(consensus), VEIL_OK);

    Tendermint__Abci__Response *pr;
    expect_status(abci_client_recv(consensus, &pr), VEIL_OK);
    assert_int_equal(pr->value_case, TENDERMINT__ABCI__RESPONSE__VALUE_PREPARE_PROPOSAL);
    assert_int_equal(pr->prepare_proposal->n_txs, 1);
    assert_true(bytes_str(pr->prepare_proposal->txs[0], "tx-1"));
    abci_response_free(pr);
    expect_status(abci_client_recv(consensus, &pr), VEIL_OK);
    assert_int_equal(pr->value_case, TENDERMINT__ABCI__RESPONSE__VALUE_PROCESS_PROPOSAL);
    assert_int_equal(pr->process_proposal->status,
                     TENDERMINT__ABCI__RESPONSE_PROCESS_PROPOSAL__PROPOSAL_STATUS__ACCEPT);
    abci_response_free(pr);
    expect_status(abci_client_recv(consensus, &pr), VEIL_OK);
    assert_int_equal(pr->value_case, TENDERMINT__ABCI__RESPONSE__VALUE_FINALIZE_BLOCK);
    assert_int_equal(pr->finalize_block->n_tx_results, 2); /* one result per tx */
    assert_int_equal(pr->finalize_block->tx_results[1]->code, 1);
    assert_int_equal(pr->finalize_block->app_hash.len, 32);
    abci_response_free(pr);
    expect_resp_case(consensus, TENDERMINT__ABCI__RESPONSE__VALUE_COMMIT);
    expect_resp_case(consensus, TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH);

    /* Snapshot connection: nothing offered, restoration refused. */
    Tendermint__Abci__RequestListSnapshots ls = TENDERMINT__ABCI__REQUEST_LIST_SNAPSHOTS__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_LIST_SNAPSHOTS;
    req.list_snapshots = &ls;
    expect_status(abci_client_call(snapshot, &req, &r), VEIL_OK);
    assert_int_equal(r->list_snapshots->n_snapshots, 0);
    abci_response_free(r);
    Tendermint__Abci__RequestOfferSnapshot os = TENDERMINT__ABCI__REQUEST_OFFER_SNAPSHOT__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_OFFER_SNAPSHOT;
    req.offer_snapshot = &os;
    expect_status(abci_client_call(snapshot, &req, &r), VEIL_OK);
    assert_int_equal(r->offer_snapshot->result,
                     TENDERMINT__ABCI__RESPONSE_OFFER_SNAPSHOT__RESULT__ABORT);
    abci_response_free(r);

    /* Only now does the mempool flush: its three answers arrive, in order, then Flush. */
    expect_status(abci_client_flush(mempool), VEIL_OK);
    for (int i = 0; i < 3; i++) expect_check_tx_resp(mempool, txs[i]);
    expect_resp_case(mempool, TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH);

    abci_client_close(query);
    abci_client_close(snapshot);
    abci_client_close(mempool);
    abci_client_close(consensus);
    abci_server_free(srv);
}

static void test_four_connections_unix(void **state)
{
    (void)state;
    char addr[300];
    unix_addr(addr, sizeof addr, "four.sock");
    run_four_connections(addr);
}

static void test_four_connections_tcp(void **state)
{
    (void)state;
    run_four_connections("tcp://127.0.0.1:0");
}

/* Responses wait for Flush: a request without one gets nothing back. */
static void test_flush_semantics(void **state)
{
    (void)state;
    char addr[300];
    unix_addr(addr, sizeof addr, "flush.sock");
    abci_server_config cfg = {.listen_addr = addr};
    abci_server *srv;
    expect_status(abci_server_start(&cfg, &GOLDEN_APP, &srv), VEIL_OK);
    int fd = raw_connect("flush.sock");
    size_t n;
    uint8_t *echo = load_hex("echo", "req", &n);
    raw_write(fd, echo, n);
    raw_write(fd, echo, n);
    assert_true(raw_quiet_for(fd, 200));
    const uint8_t flush_req[] = {0x02, 0x12, 0x00};
    raw_write(fd, flush_req, 3);
    uint8_t got[23];
    raw_read_exact(fd, got, sizeof got);
    const uint8_t want[] = {0x09, 0x12, 0x07, 0x0a, 0x05, 'h', 'e', 'l', 'l',  'o',  0x09, 0x12,
                            0x07, 0x0a, 0x05, 'h',  'e',  'l', 'l', 'o', 0x02, 0x1a, 0x00};
    assert_bytes_equal(got, sizeof got, want, sizeof want, "two echoes and a flush");
    /* A bare Flush is answered by a Flush. */
    raw_write(fd, flush_req, 3);
    raw_read_exact(fd, got, 3);
    assert_bytes_equal(got, 3, want + 20, 3, "flush");
    free(echo);
    close(fd);
    abci_server_free(srv);
}

/* check_tx_batch: pipelined CheckTx requests already received reach the app together,
 * answers keep request order, another request ends the run, and an error answers the
 * whole run with exceptions. */
static struct {
    size_t calls, txs, largest;
} g_batches;

static veil_status batch_check_tx(void *ctx, abci_call *call,
                                  const Tendermint__Abci__RequestCheckTx *const *reqs,
                                  Tendermint__Abci__ResponseCheckTx *const *resps, size_t n)
{
    (void)ctx;
    g_batches.calls++;
    g_batches.txs += n;
    if (n > g_batches.largest) g_batches.largest = n;
    for (size_t i = 0; i < n; i++) {
        if (reqs[i]->tx.len == 4 && memcmp(reqs[i]->tx.data, "boom", 4) == 0) {
            abci_call_fail(call, "tx %zu of the run", i);
            return VEIL_ERR_ARG;
        }
        resps[i]->data.data = reqs[i]->tx.data; /* req outlives the encoding */
        resps[i]->data.len = reqs[i]->tx.len;
        resps[i]->code = (uint32_t)i;
    }
    return VEIL_OK;
}

static void test_check_tx_batch(void **state)
{
    (void)state;
    char addr[300];
    unix_addr(addr, sizeof addr, "batch.sock");
    abci_server_config cfg = {.listen_addr = addr};
    abci_app app = {.check_tx_batch = batch_check_tx};
    abci_server *srv;
    expect_status(abci_server_start(&cfg, &app, &srv), VEIL_OK);
    abci_client *c = connect_client(addr);
    memset(&g_batches, 0, sizeof g_batches);

    /* 10 CheckTx, an Echo, 5 CheckTx, then Flush: written at once. */
    char tx[15][16];
    Tendermint__Abci__RequestCheckTx ct[15];
    for (int i = 0; i < 15; i++) {
        snprintf(tx[i], sizeof tx[i], "tx-%d", i);
        Tendermint__Abci__Request q = check_tx_req(&ct[i], tx[i]);
        expect_status(abci_client_send(c, &q), VEIL_OK);
        if (i == 9) {
            Tendermint__Abci__RequestEcho echo = TENDERMINT__ABCI__REQUEST_ECHO__INIT;
            echo.message = "between";
            Tendermint__Abci__Request e = TENDERMINT__ABCI__REQUEST__INIT;
            e.value_case = TENDERMINT__ABCI__REQUEST__VALUE_ECHO;
            e.echo = &echo;
            expect_status(abci_client_send(c, &e), VEIL_OK);
        }
    }
    expect_status(abci_client_flush(c), VEIL_OK);
    for (int i = 0; i < 15; i++) {
        expect_check_tx_resp(c, tx[i]);
        if (i == 9) expect_resp_case(c, TENDERMINT__ABCI__RESPONSE__VALUE_ECHO);
    }
    expect_resp_case(c, TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH);
    assert_int_equal(g_batches.txs, 15);
    assert_true(g_batches.largest > 1);   /* they went together */
    assert_true(g_batches.largest <= 10); /* the Echo ended the first run */

    /* An error answers the whole run with exceptions; the connection stays. */
    const char *bad[3] = {"a", "boom", "b"};
    for (int i = 0; i < 3; i++) {
        Tendermint__Abci__Request q = check_tx_req(&ct[i], bad[i]);
        expect_status(abci_client_send(c, &q), VEIL_OK);
    }
    expect_status(abci_client_flush(c), VEIL_OK);
    size_t exceptions = 0;
    for (int i = 0; i < 4; i++) {
        Tendermint__Abci__Response *r;
        expect_status(abci_client_recv(c, &r), VEIL_OK);
        if (r->value_case == TENDERMINT__ABCI__RESPONSE__VALUE_EXCEPTION) {
            exceptions++;
            assert_non_null(strstr(r->exception->error, "tx 1 of the run"));
        }
        if (r->value_case == TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH) {
            abci_response_free(r);
            break;
        }
        abci_response_free(r);
    }
    assert_true(exceptions >= 1); /* "boom" and whatever shared its run */
    Tendermint__Abci__Request q = check_tx_req(&ct[0], "after");
    Tendermint__Abci__Response *r;
    expect_status(abci_client_call(c, &q, &r), VEIL_OK);
    assert_true(bytes_str(r->check_tx->data, "after"));
    abci_response_free(r);
    abci_client_close(c);
    abci_server_free(srv);
}

/* Four threads hammer four connections; the app must never run two callbacks at
 * once (one mutex across connections), and each connection's answers stay in order. */
typedef struct hammer_arg {
    const char *addr;
    int id;
    int failures;
} hammer_arg;

static void *hammer(void *p)
{
    hammer_arg *h = p;
    abci_client_config cc = {.addr = h->addr, .timeout_ms = 20000};
    abci_client *c;
    if (abci_client_connect(&cc, &c) != VEIL_OK) {
        h->failures++;
        return NULL;
    }
    for (int round = 0; round < 20; round++) {
        char tx[4][32];
        Tendermint__Abci__RequestCheckTx ct[4];
        for (int k = 0; k < 4; k++) {
            snprintf(tx[k], sizeof tx[k], "c%d-r%d-k%d", h->id, round, k);
            Tendermint__Abci__Request q = check_tx_req(&ct[k], tx[k]);
            if (abci_client_send(c, &q) != VEIL_OK) h->failures++;
        }
        if (abci_client_flush(c) != VEIL_OK) h->failures++;
        for (int k = 0; k <= 4; k++) {
            Tendermint__Abci__Response *r;
            if (abci_client_recv(c, &r) != VEIL_OK) {
                h->failures++;
                break;
            }
            if (k < 4 && (r->value_case != TENDERMINT__ABCI__RESPONSE__VALUE_CHECK_TX ||
                          !bytes_str(r->check_tx->data, tx[k])))
                h->failures++;
            if (k == 4 && r->value_case != TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH) h->failures++;
            abci_response_free(r);
        }
    }
    abci_client_close(c);
    return NULL;
}

static void test_app_calls_serialised(void **state)
{
    (void)state;
    char addr[300];
    unix_addr(addr, sizeof addr, "hammer.sock");
    abci_server_config cfg = {.listen_addr = addr};
    abci_server *srv;
    expect_status(abci_server_start(&cfg, &GOLDEN_APP, &srv), VEIL_OK);
    pthread_mutex_lock(&g_ctx.m);
    g_ctx.overlaps = 0;
    g_ctx.calls = 0;
    g_ctx.delay_us = 200;
    pthread_mutex_unlock(&g_ctx.m);
    pthread_t t[4];
    hammer_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (hammer_arg){.addr = addr, .id = i};
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    pthread_mutex_lock(&g_ctx.m);
    int calls = g_ctx.calls, overlaps = g_ctx.overlaps;
    g_ctx.delay_us = 0;
    pthread_mutex_unlock(&g_ctx.m);
    abci_server_free(srv);
    assert_int_equal(calls, 4 * 20 * 4);
    assert_int_equal(overlaps, 0);
}

/* ------------------------------------------------------------------------------------ */
/* malformed input                                                                       */

/* A healthy connection still answers an echo. */
static void expect_alive(abci_client *c)
{
    Tendermint__Abci__RequestEcho echo = TENDERMINT__ABCI__REQUEST_ECHO__INIT;
    echo.message = "still here";
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_ECHO;
    req.echo = &echo;
    Tendermint__Abci__Response *r;
    expect_status(abci_client_call(c, &req, &r), VEIL_OK);
    assert_string_equal(r->echo->message, "still here");
    abci_response_free(r);
}

static void expect_exception(int fd, const char *prefix)
{
    Tendermint__Abci__Response *r = raw_read_response(fd);
    assert_int_equal(r->value_case, TENDERMINT__ABCI__RESPONSE__VALUE_EXCEPTION);
    if (strncmp(r->exception->error, prefix, strlen(prefix)) != 0) {
        print_error("exception '%s' does not start with '%s'\n", r->exception->error, prefix);
        fail();
    }
    abci_response_free(r);
}

static void test_malformed_frames(void **state)
{
    (void)state;
    char addr[300];
    unix_addr(addr, sizeof addr, "bad.sock");
    abci_server_config cfg = {.listen_addr = addr, .max_frame = 4096};
    abci_server *srv;
    expect_status(abci_server_start(&cfg, &GOLDEN_APP, &srv), VEIL_OK);
    abci_client *good = connect_client(addr);
    expect_alive(good);
    const uint8_t flush_req[] = {0x02, 0x12, 0x00};

    /* bad varint: 11 continuation bytes -> closed, no reply */
    int fd = raw_connect("bad.sock");
    uint8_t cont[11];
    memset(cont, 0x80, sizeof cont);
    raw_write(fd, cont, sizeof cont);
    raw_expect_closed(fd);
    close(fd);
    expect_alive(good);

    /* varint beyond 64 bits (10th byte 0x7f) -> closed */
    fd = raw_connect("bad.sock");
    uint8_t ovf[10];
    memset(ovf, 0xff, 9);
    ovf[9] = 0x7f;
    raw_write(fd, ovf, sizeof ovf);
    raw_expect_closed(fd);
    close(fd);

    /* oversized length (above max_frame, body never sent) -> closed at once */
    fd = raw_connect("bad.sock");
    uint8_t big[VEIL_VARINT_MAX_LEN];
    size_t bn = veil_varint_put(big, 4097);
    raw_write(fd, big, bn);
    raw_expect_closed(fd);
    close(fd);
    /* ... and 2^63 */
    fd = raw_connect("bad.sock");
    bn = veil_varint_put(big, UINT64_C(1) << 63);
    raw_write(fd, big, bn);
    raw_expect_closed(fd);
    close(fd);
    expect_alive(good);

    /* a frame that is not a Request (wire type 7 does not exist) -> exception, closed */
    fd = raw_connect("bad.sock");
    const uint8_t junk[] = {0x03, 0xff, 0xff, 0xff};
    raw_write(fd, junk, sizeof junk);
    expect_exception(fd, "cannot decode request");
    raw_expect_closed(fd);
    close(fd);

    /* the right field number with the wrong wire type (echo as a varint) -> same */
    fd = raw_connect("bad.sock");
    const uint8_t wrong_type[] = {0x02, 0x08, 0x01};
    raw_write(fd, wrong_type, sizeof wrong_type);
    expect_exception(fd, "cannot decode request");
    raw_expect_closed(fd);
    close(fd);

    /* field number 0 inside a known message: protobuf-c would keep it, CometBFT's Go
     * decoder rejects it ("illegal tag 0") -> treated as undecodable */
    fd = raw_connect("bad.sock");
    const uint8_t field0[] = {0x0b, 0x0a, 0x09, 0x01, 0, 0, 0, 0, 0, 0, 0, 0};
    raw_write(fd, field0, sizeof field0);
    expect_exception(fd, "cannot decode request");
    raw_expect_closed(fd);
    close(fd);

    /* a Request with no oneof set -> exception, connection kept */
    fd = raw_connect("bad.sock");
    const uint8_t empty[] = {0x00};
    raw_write(fd, empty, sizeof empty);
    expect_exception(fd, "unknown request from client: no method set");
    /* an unknown oneof member (field 99, and pre-0.38 DeliverTx = 9) -> exception, kept */
    const uint8_t f99[] = {0x03, 0x9a, 0x06, 0x00};
    raw_write(fd, f99, sizeof f99);
    expect_exception(fd, "unknown request from client: field 99");
    const uint8_t deliver[] = {0x04, 0x4a, 0x02, 0x0a, 0x00};
    raw_write(fd, deliver, sizeof deliver);
    expect_exception(fd, "unknown request from client: field 9");
    size_t n;
    uint8_t *echo = load_hex("echo", "req", &n);
    raw_write(fd, echo, n);
    raw_write(fd, flush_req, 3);
    Tendermint__Abci__Response *r = raw_read_response(fd);
    assert_int_equal(r->value_case, TENDERMINT__ABCI__RESPONSE__VALUE_ECHO);
    abci_response_free(r);
    r = raw_read_response(fd);
    assert_int_equal(r->value_case, TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH);
    abci_response_free(r);

    /* an app error -> exception naming the status and the app's text, connection kept */
    const uint8_t fail_query[] = {0x09, 0x32, 0x07, 0x12, 0x05, '/', 'f', 'a', 'i', 'l'};
    raw_write(fd, fail_query, sizeof fail_query);
    expect_exception(fd, "VEIL_ERR_DB: database error: store offline");
    raw_write(fd, echo, n);
    raw_write(fd, flush_req, 3);
    r = raw_read_response(fd);
    assert_int_equal(r->value_case, TENDERMINT__ABCI__RESPONSE__VALUE_ECHO);
    abci_response_free(r);
    r = raw_read_response(fd);
    abci_response_free(r);
    close(fd);

    /* a truncated frame, then EOF -> closed, nothing answered */
    fd = raw_connect("bad.sock");
    raw_write(fd, echo, n - 3);
    shutdown(fd, SHUT_WR);
    raw_expect_closed(fd);
    close(fd);
    free(echo);

    /* the good connection never noticed; the others are gone */
    expect_alive(good);
    for (int i = 0; i < 100 && abci_server_connection_count(srv) > 1; i++) usleep(10000);
    assert_int_equal(abci_server_connection_count(srv), 1);
    abci_client_close(good);
    abci_server_free(srv);
}

/* ------------------------------------------------------------------------------------ */
/* server lifecycle and addresses                                                        */

static void test_addr_parse(void **state)
{
    (void)state;
    abci_addr a;
    expect_status(abci_addr_parse("unix:///tmp/x.sock", &a), VEIL_OK);
    assert_true(a.is_unix);
    assert_string_equal(a.path, "/tmp/x.sock");
    expect_status(abci_addr_parse("tcp://127.0.0.1:26658", &a), VEIL_OK);
    assert_false(a.is_unix);
    assert_string_equal(a.host, "127.0.0.1");
    assert_string_equal(a.port, "26658");
    expect_status(abci_addr_parse("localhost:26658", &a), VEIL_OK);
    assert_string_equal(a.host, "localhost");
    expect_status(abci_addr_parse("tcp://[::1]:26658", &a), VEIL_OK);
    assert_string_equal(a.host, "::1");
    const char *bad[] = {"unix://",      "tcp://127.0.0.1",  "tcp://:26658",
                         "tcp://h:port", "tcp://h:99999",    "grpc://h:1",
                         "::1:26658",    "tcp://[::1]26658", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_status(abci_addr_parse(bad[i], &a), VEIL_ERR_ARG);
    char longpath[200];
    memset(longpath, 'a', sizeof longpath);
    memcpy(longpath, "unix://", 7);
    longpath[sizeof longpath - 1] = '\0';
    expect_status(abci_addr_parse(longpath, &a), VEIL_ERR_ARG);
}

static void test_server_socket_files(void **state)
{
    (void)state;
    char addr[300], path[300];
    unix_addr(addr, sizeof addr, "life.sock");
    sock_path(path, sizeof path, "life.sock");

    /* A stale socket (bound, nobody listening) is replaced. */
    int stale = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    assert_true(strlen(path) < sizeof sun.sun_path);
    memcpy(sun.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(stale, (struct sockaddr *)&sun, sizeof sun), 0);
    close(stale);
    abci_server_config cfg = {.listen_addr = addr};
    abci_server *srv, *second;
    expect_status(abci_server_start(&cfg, &GOLDEN_APP, &srv), VEIL_OK);

    /* A live one is not. */
    expect_status(abci_server_start(&cfg, &GOLDEN_APP, &second), VEIL_ERR_EXISTS);
    abci_client *c = connect_client(addr);
    expect_alive(c);

    /* Stop: the client sees the connection end, the file is removed, stop is
     * idempotent. */
    abci_server_stop(srv);
    Tendermint__Abci__Response *r;
    expect_status(abci_client_recv(c, &r), VEIL_ERR_NET);
    abci_client_close(c);
    struct stat sb;
    assert_int_equal(lstat(path, &sb), -1);
    abci_server_stop(srv);
    abci_server_free(srv);

    /* A regular file in the way is refused and left alone. */
    expect_status(veil_file_write_atomic(path, "keep", 4, 0600), VEIL_OK);
    expect_status(abci_server_start(&cfg, &GOLDEN_APP, &second), VEIL_ERR_EXISTS);
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    unlink(path);

    /* A tcp port in use. */
    abci_server_config tcp = {.listen_addr = "tcp://127.0.0.1:0"};
    expect_status(abci_server_start(&tcp, &GOLDEN_APP, &srv), VEIL_OK);
    char bound[100];
    expect_status(abci_server_address(srv, bound, sizeof bound), VEIL_OK);
    assert_true(strncmp(bound, "tcp://127.0.0.1:", 16) == 0);
    abci_server_config tcp2 = {.listen_addr = bound};
    expect_status(abci_server_start(&tcp2, &GOLDEN_APP, &second), VEIL_ERR_EXISTS);
    abci_server_free(srv);
}

static void test_server_stop_with_blocked_clients(void **state)
{
    (void)state;
    char addr[300];
    unix_addr(addr, sizeof addr, "stop.sock");
    abci_server_config cfg = {.listen_addr = addr};
    abci_server *srv;
    expect_status(abci_server_start(&cfg, &GOLDEN_APP, &srv), VEIL_OK);
    /* one idle connection, one halfway through a frame, one with unflushed work */
    int idle = raw_connect("stop.sock");
    int half = raw_connect("stop.sock");
    raw_write(half, "\x09\x0a", 2);
    int pending = raw_connect("stop.sock");
    size_t n;
    uint8_t *echo = load_hex("echo", "req", &n);
    raw_write(pending, echo, n);
    free(echo);
    for (int i = 0; i < 100 && abci_server_connection_count(srv) < 3; i++) usleep(10000);
    abci_server_stop(srv);
    assert_int_equal(abci_server_connection_count(srv), 0);
    raw_expect_closed(idle);
    raw_expect_closed(half);
    raw_expect_closed(pending);
    close(idle);
    close(half);
    close(pending);
    abci_server_free(srv);
}

/* A callback blocked for long (the node waiting for its TVE) does not hold stop
 * forever: stop calls app->interrupt first. */
typedef struct blocking_ctx {
    pthread_mutex_t m;
    pthread_cond_t cv;
    bool entered, interrupted;
} blocking_ctx;

static veil_status blocking_check_tx(void *ctx, abci_call *call,
                                     const Tendermint__Abci__RequestCheckTx *req,
                                     Tendermint__Abci__ResponseCheckTx *resp)
{
    (void)req, (void)resp;
    blocking_ctx *b = ctx;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10; /* never hang the test suite */
    pthread_mutex_lock(&b->m);
    b->entered = true;
    pthread_cond_broadcast(&b->cv);
    while (!b->interrupted)
        if (pthread_cond_timedwait(&b->cv, &b->m, &deadline) != 0) break;
    bool interrupted = b->interrupted;
    pthread_mutex_unlock(&b->m);
    abci_call_fail(call, "interrupted");
    return interrupted ? VEIL_ERR_TIMEOUT : VEIL_ERR_INTERNAL;
}

static void blocking_interrupt(void *ctx)
{
    blocking_ctx *b = ctx;
    pthread_mutex_lock(&b->m);
    b->interrupted = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->m);
}

static void test_server_stop_interrupts_callback(void **state)
{
    (void)state;
    blocking_ctx b = {.m = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    abci_app app = {.ctx = &b, .check_tx = blocking_check_tx, .interrupt = blocking_interrupt};
    char addr[300];
    unix_addr(addr, sizeof addr, "interrupt.sock");
    abci_server_config cfg = {.listen_addr = addr};
    abci_server *srv;
    expect_status(abci_server_start(&cfg, &app, &srv), VEIL_OK);
    abci_client *c = connect_client(addr);
    Tendermint__Abci__RequestCheckTx ct;
    Tendermint__Abci__Request q = check_tx_req(&ct, "slow");
    expect_status(abci_client_send(c, &q), VEIL_OK);
    expect_status(abci_client_flush(c), VEIL_OK);
    pthread_mutex_lock(&b.m);
    while (!b.entered) pthread_cond_wait(&b.cv, &b.m);
    pthread_mutex_unlock(&b.m);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    abci_server_stop(srv);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(b.interrupted);
    assert_true(t1.tv_sec - t0.tv_sec < 5);
    abci_client_close(c);
    abci_server_free(srv);
}

static void test_server_connection_limit(void **state)
{
    (void)state;
    char addr[300];
    unix_addr(addr, sizeof addr, "limit.sock");
    abci_server_config cfg = {.listen_addr = addr, .max_connections = 2};
    abci_server *srv;
    expect_status(abci_server_start(&cfg, &GOLDEN_APP, &srv), VEIL_OK);
    abci_client *a = connect_client(addr), *b = connect_client(addr);
    expect_alive(a);
    expect_alive(b);
    int extra = raw_connect("limit.sock");
    raw_expect_closed(extra);
    close(extra);
    /* a slot frees up when a connection ends */
    abci_client_close(a);
    for (int i = 0; i < 100 && abci_server_connection_count(srv) > 1; i++) usleep(10000);
    abci_client *c = connect_client(addr);
    expect_alive(c);
    abci_client_close(b);
    abci_client_close(c);
    abci_server_free(srv);
}

/* ------------------------------------------------------------------------------------ */
/* client                                                                                */

static void test_client_defaults_and_errors(void **state)
{
    (void)state;
    char addr[300];
    unix_addr(addr, sizeof addr, "client.sock");
    abci_server_config cfg = {.listen_addr = addr};
    abci_app defaults = {0};
    abci_server *srv;
    expect_status(abci_server_start(&cfg, &defaults, &srv), VEIL_OK);
    abci_client *c = connect_client(addr);
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__Response *r;

    Tendermint__Abci__RequestFinalizeBlock fb = TENDERMINT__ABCI__REQUEST_FINALIZE_BLOCK__INIT;
    ProtobufCBinaryData txs[3] = {{1, (uint8_t *)"a"}, {2, (uint8_t *)"bb"}, {3, (uint8_t *)"ccc"}};
    fb.n_txs = 3;
    fb.txs = txs;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_FINALIZE_BLOCK;
    req.finalize_block = &fb;
    expect_status(abci_client_call(c, &req, &r), VEIL_OK);
    assert_int_equal(r->finalize_block->n_tx_results, 3);
    for (int i = 0; i < 3; i++) assert_int_equal(r->finalize_block->tx_results[i]->code, 0);
    abci_response_free(r);

    Tendermint__Abci__RequestPrepareProposal pp = TENDERMINT__ABCI__REQUEST_PREPARE_PROPOSAL__INIT;
    pp.n_txs = 3;
    pp.txs = txs;
    pp.max_tx_bytes = 3; /* a + bb fit exactly */
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_PREPARE_PROPOSAL;
    req.prepare_proposal = &pp;
    expect_status(abci_client_call(c, &req, &r), VEIL_OK);
    assert_int_equal(r->prepare_proposal->n_txs, 2);
    abci_response_free(r);

    Tendermint__Abci__RequestExtendVote ev = TENDERMINT__ABCI__REQUEST_EXTEND_VOTE__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_EXTEND_VOTE;
    req.extend_vote = &ev;
    expect_status(abci_client_call(c, &req, &r), VEIL_OK);
    assert_int_equal(r->extend_vote->vote_extension.len, 0);
    abci_response_free(r);

    Tendermint__Abci__RequestVerifyVoteExtension vv =
        TENDERMINT__ABCI__REQUEST_VERIFY_VOTE_EXTENSION__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_VERIFY_VOTE_EXTENSION;
    req.verify_vote_extension = &vv;
    expect_status(abci_client_call(c, &req, &r), VEIL_OK);
    assert_int_equal(r->verify_vote_extension->status,
                     TENDERMINT__ABCI__RESPONSE_VERIFY_VOTE_EXTENSION__VERIFY_STATUS__ACCEPT);
    abci_response_free(r);

    Tendermint__Abci__RequestApplySnapshotChunk ac =
        TENDERMINT__ABCI__REQUEST_APPLY_SNAPSHOT_CHUNK__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_APPLY_SNAPSHOT_CHUNK;
    req.apply_snapshot_chunk = &ac;
    expect_status(abci_client_call(c, &req, &r), VEIL_OK);
    assert_int_equal(r->apply_snapshot_chunk->result,
                     TENDERMINT__ABCI__RESPONSE_APPLY_SNAPSHOT_CHUNK__RESULT__ABORT);
    abci_response_free(r);

    /* A bare Flush round trip. */
    Tendermint__Abci__RequestFlush fl = TENDERMINT__ABCI__REQUEST_FLUSH__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_FLUSH;
    req.flush = &fl;
    expect_status(abci_client_call(c, &req, &r), VEIL_OK);
    assert_int_equal(r->value_case, TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH);
    abci_response_free(r);

    /* A request with nothing set is refused locally. */
    Tendermint__Abci__Request none = TENDERMINT__ABCI__REQUEST__INIT;
    expect_status(abci_client_call(c, &none, &r), VEIL_ERR_ARG);

    /* An exception surfaces as VEIL_ERR_NET with its text; the raw empty frame makes
     * the server send one. */
    expect_status(abci_client_send_raw(c, "\x00\x02\x12\x00", 4), VEIL_OK);
    expect_status(abci_client_recv(c, &r), VEIL_OK);
    assert_int_equal(r->value_case, TENDERMINT__ABCI__RESPONSE__VALUE_EXCEPTION);
    abci_response_free(r);
    assert_string_equal(abci_client_last_exception(c),
                        "unknown request from client: no method set");
    expect_resp_case(c, TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH);
    abci_client_close(c);

    /* Timeout: a request never flushed is never answered. */
    abci_client_config cc = {.addr = addr, .timeout_ms = 100};
    expect_status(abci_client_connect(&cc, &c), VEIL_OK);
    Tendermint__Abci__RequestCommit cm = TENDERMINT__ABCI__REQUEST_COMMIT__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_COMMIT;
    req.commit = &cm;
    expect_status(abci_client_send(c, &req), VEIL_OK);
    expect_status(abci_client_send_raw(c, "", 0), VEIL_OK);
    expect_status(abci_client_recv(c, &r), VEIL_ERR_TIMEOUT);
    abci_client_close(c);

    abci_server_free(srv);

    /* Nobody listening. */
    abci_client_config gone = {.addr = addr, .timeout_ms = 1000};
    expect_status(abci_client_connect(&gone, &c), VEIL_ERR_NET);
    abci_client_config bad = {.addr = "carrier-pigeon://x", .timeout_ms = 1000};
    expect_status(abci_client_connect(&bad, &c), VEIL_ERR_ARG);
}

/* A large pipelined batch (both directions well over the socket buffers) completes:
 * the client drains responses while it is still writing. */
static void test_client_large_batch(void **state)
{
    (void)state;
    char addr[300];
    unix_addr(addr, sizeof addr, "batch.sock");
    abci_server_config cfg = {.listen_addr = addr};
    abci_server *srv;
    expect_status(abci_server_start(&cfg, &GOLDEN_APP, &srv), VEIL_OK);
    abci_client_config cc = {.addr = addr, .timeout_ms = 20000};
    abci_client *c;
    expect_status(abci_client_connect(&cc, &c), VEIL_OK);
    enum { N = 3000 };
    static char tx[N][16];
    Tendermint__Abci__RequestCheckTx ct;
    for (int i = 0; i < N; i++) {
        snprintf(tx[i], sizeof tx[i], "tx-%06d", i);
        Tendermint__Abci__Request q = check_tx_req(&ct, tx[i]);
        expect_status(abci_client_send(c, &q), VEIL_OK);
    }
    expect_status(abci_client_flush(c), VEIL_OK);
    for (int i = 0; i < N; i++) expect_check_tx_resp(c, tx[i]);
    expect_resp_case(c, TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH);
    abci_client_close(c);
    abci_server_free(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_roundtrip),
        cmocka_unit_test(test_varint_edges_like_go),
        cmocka_unit_test(test_frame_split),
        cmocka_unit_test(test_frame_reader),
        cmocka_unit_test(test_frame_reader_large),
        cmocka_unit_test(test_golden_issue_examples),
        cmocka_unit_test(test_golden_frames),
        cmocka_unit_test(test_golden_over_socket),
        cmocka_unit_test(test_four_connections_unix),
        cmocka_unit_test(test_four_connections_tcp),
        cmocka_unit_test(test_flush_semantics),
        cmocka_unit_test(test_check_tx_batch),
        cmocka_unit_test(test_app_calls_serialised),
        cmocka_unit_test(test_malformed_frames),
        cmocka_unit_test(test_addr_parse),
        cmocka_unit_test(test_server_socket_files),
        cmocka_unit_test(test_server_stop_with_blocked_clients),
        cmocka_unit_test(test_server_stop_interrupts_callback),
        cmocka_unit_test(test_server_connection_limit),
        cmocka_unit_test(test_client_defaults_and_errors),
        cmocka_unit_test(test_client_large_batch),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
