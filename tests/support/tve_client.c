#define _GNU_SOURCE /* pipe2 */
#include "tve_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "crypto/crypto.h"
#include "trusted/tqe/tqe_abi.h"
#include "trusted/tve/tve_abi.h"

static void die(const char *what)
{
    fprintf(stderr, "tve_client: %s\n", what);
    abort();
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL) die("out of memory");
    return p;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* --- daemon ---------------------------------------------------------------------- */
int tvec_daemon_start(tvec_daemon *d, const char *veil, const char *endpoint, const char *home,
                      const char *platform, unsigned threads, const char *const *extra,
                      double timeout_s, int *exit_status)
{
    int fds[2];
    char th[16];
    const char *argv[40];
    size_t argc = 0;

    memset(d, 0, sizeof *d);
    snprintf(th, sizeof th, "%u", threads);
    argv[argc++] = veil;
    argv[argc++] = "tve";
    argv[argc++] = "--listen";
    argv[argc++] = endpoint;
    argv[argc++] = "--home";
    argv[argc++] = home;
    argv[argc++] = "--platform";
    argv[argc++] = platform;
    argv[argc++] = "--threads";
    argv[argc++] = th;
    argv[argc++] = "--log";
    argv[argc++] = "errors";
    for (size_t i = 0; extra != NULL && extra[i] != NULL && argc < 38; i++) argv[argc++] = extra[i];
    argv[argc] = NULL;

    if (pipe2(fds, O_CLOEXEC) != 0) die("pipe");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failing test leaves no daemon behind */
        dup2(fds[1], STDOUT_FILENO);
        if (getenv("VEIL_TVE_QUIET") != NULL) {
            int null = open("/dev/null", O_WRONLY);
            if (null >= 0) dup2(null, STDERR_FILENO);
        }
        execv(veil, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    d->pid = pid;

    /* The start-up line says the socket is bound: no connect-and-retry races. */
    size_t got = 0;
    double deadline = now_s() + timeout_s;
    int rc = -1;
    for (;;) {
        double left = deadline - now_s();
        if (left <= 0) break;
        struct pollfd p = {fds[0], POLLIN, 0};
        if (poll(&p, 1, (int)(left * 1000) + 1) <= 0) continue;
        ssize_t n = read(fds[0], d->ready_line + got, sizeof d->ready_line - 1 - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break; /* the daemon exited (or closed stdout) */
        got += (size_t)n;
        d->ready_line[got] = '\0';
        if (strchr(d->ready_line, '\n') != NULL) {
            rc = 0;
            break;
        }
        if (got == sizeof d->ready_line - 1) break;
    }
    close(fds[0]);
    if (rc != 0) {
        int status = tvec_daemon_stop(d, SIGKILL);
        if (exit_status != NULL) *exit_status = status;
    }
    return rc;
}

int tvec_daemon_stop(tvec_daemon *d, int sig)
{
    int status = -1;
    if (d->pid <= 0) return status;
    kill(d->pid, sig);
    while (waitpid(d->pid, &status, 0) < 0 && errno == EINTR) {
    }
    d->pid = 0;
    return status;
}

bool tvec_daemon_alive(tvec_daemon *d)
{
    if (d->pid <= 0) return false;
    int status;
    pid_t r = waitpid(d->pid, &status, WNOHANG);
    if (r == d->pid) {
        d->pid = 0;
        return false;
    }
    return r == 0;
}

/* --- connection ------------------------------------------------------------------ */
void tvec_connect(tvec_client *c, const char *endpoint, int timeout_ms)
{
    c->ctx = zmq_ctx_new();
    if (c->ctx == NULL) die("zmq_ctx_new");
    c->sock = zmq_socket(c->ctx, ZMQ_REQ);
    if (c->sock == NULL) die("zmq_socket");
    int linger = 0, one = 1;
    zmq_setsockopt(c->sock, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
    zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger);
    /* After a timeout the socket may send again (the daemon may have been killed). */
    zmq_setsockopt(c->sock, ZMQ_REQ_RELAXED, &one, sizeof one);
    zmq_setsockopt(c->sock, ZMQ_REQ_CORRELATE, &one, sizeof one);
    if (zmq_connect(c->sock, endpoint) != 0) die("zmq_connect");
}

void tvec_close(tvec_client *c)
{
    if (c->sock != NULL) zmq_close(c->sock);
    if (c->ctx != NULL) zmq_ctx_term(c->ctx);
    c->sock = c->ctx = NULL;
}

/* With $VEIL_TVE_WRITE_CORPUS=<dir>, every well-formed request up to 64 KiB that a test
 * sends is saved there (named by its hash, so repeats collapse): the fuzz corpus. */
static void corpus_write(const void *frame, size_t len)
{
    const char *dir = getenv("VEIL_TVE_WRITE_CORPUS");
    if (dir == NULL || len > 65536) return;
    Veil__Tve__Request *req = veil__tve__request__unpack(NULL, len, frame);
    if (req == NULL) return;
    bool set = req->request_case != VEIL__TVE__REQUEST__REQUEST__NOT_SET;
    veil__tve__request__free_unpacked(req, NULL);
    if (!set) return;
    uint8_t h[32];
    char path[512];
    veil_sha256(h, frame, len);
    snprintf(path, sizeof path, "%s/req-%02x%02x%02x%02x%02x%02x", dir, h[0], h[1], h[2], h[3],
             h[4], h[5]);
    FILE *f = fopen(path, "wb");
    if (f == NULL) return;
    fwrite(frame, 1, len, f);
    fclose(f);
}

Veil__Tve__Response *tvec_call_raw(tvec_client *c, const void *frame, size_t len)
{
    corpus_write(frame, len);
    if (zmq_send(c->sock, frame, len, 0) < 0) return NULL;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, c->sock, 0) < 0) {
        zmq_msg_close(&msg);
        return NULL;
    }
    Veil__Tve__Response *r =
        veil__tve__response__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
    zmq_msg_close(&msg);
    return r;
}

uint8_t *tvec_request_pack(const Veil__Tve__Request *req, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(&req->base);
    uint8_t *buf = xcalloc(1, *len);
    protobuf_c_message_pack(&req->base, buf);
    return buf;
}

Veil__Tve__Response *tvec_call(tvec_client *c, const Veil__Tve__Request *req)
{
    size_t len;
    uint8_t *buf = tvec_request_pack(req, &len);
    Veil__Tve__Response *r = tvec_call_raw(c, buf, len);
    free(buf);
    return r;
}

uint32_t tvec_error_code(const Veil__Tve__Response *r)
{
    if (r == NULL) return UINT32_MAX;
    if (r->response_case != VEIL__TVE__RESPONSE__RESPONSE_ERROR) return 0;
    return r->error != NULL ? r->error->code : UINT32_MAX;
}

void tvec_response_free(Veil__Tve__Response *r)
{
    if (r != NULL) veil__tve__response__free_unpacked(r, NULL);
}

/* --- requests -------------------------------------------------------------------- */
Veil__Tve__Response *tvec_status(tvec_client *c)
{
    Veil__Tve__StatusRequest s = VEIL__TVE__STATUS_REQUEST__INIT;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_STATUS;
    req.status = &s;
    return tvec_call(c, &req);
}

Veil__Tve__Response *tvec_init_chain(tvec_client *c, const char *chain_id)
{
    Veil__Tve__InitChainRequest m = VEIL__TVE__INIT_CHAIN_REQUEST__INIT;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    m.chain_id = (char *)chain_id;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_INIT_CHAIN;
    req.init_chain = &m;
    return tvec_call(c, &req);
}

Veil__Tve__Response *tvec_check_chain(tvec_client *c, const char *chain_id, uint64_t height,
                                      const uint8_t *app_hash, size_t app_hash_len)
{
    Veil__Tve__CheckChainRequest m = VEIL__TVE__CHECK_CHAIN_REQUEST__INIT;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    m.chain_id = (char *)chain_id;
    m.height = height;
    m.app_hash.data = (uint8_t *)app_hash;
    m.app_hash.len = app_hash_len;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_CHECK_CHAIN;
    req.check_chain = &m;
    return tvec_call(c, &req);
}

Veil__Tve__Response *tvec_end_block(tvec_client *c, uint64_t height)
{
    Veil__Tve__EndBlockRequest m = VEIL__TVE__END_BLOCK_REQUEST__INIT;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    m.height = height;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_END_BLOCK;
    req.end_block = &m;
    return tvec_call(c, &req);
}

Veil__Tve__Response *tvec_commit_block(tvec_client *c, uint64_t height, const uint8_t *app_hash,
                                       size_t app_hash_len, const uint8_t (*txids)[32], size_t n)
{
    Veil__Tve__CommitBlockRequest m = VEIL__TVE__COMMIT_BLOCK_REQUEST__INIT;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    ProtobufCBinaryData *ids = xcalloc(n, sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = (ProtobufCBinaryData){32, (uint8_t *)txids[i]};
    m.height = height;
    m.app_hash.data = (uint8_t *)app_hash;
    m.app_hash.len = app_hash_len;
    m.n_txids = n;
    m.txids = ids;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_COMMIT_BLOCK;
    req.commit_block = &m;
    Veil__Tve__Response *r = tvec_call(c, &req);
    free(ids);
    return r;
}

Veil__Tve__Response *tvec_get_sealed(tvec_client *c, const uint8_t (*txids)[32], size_t n)
{
    Veil__Tve__GetSealedTxsRequest m = VEIL__TVE__GET_SEALED_TXS_REQUEST__INIT;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    ProtobufCBinaryData *ids = xcalloc(n, sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = (ProtobufCBinaryData){32, (uint8_t *)txids[i]};
    m.n_txids = n;
    m.txids = ids;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_GET_SEALED_TXS;
    req.get_sealed_txs = &m;
    Veil__Tve__Response *r = tvec_call(c, &req);
    free(ids);
    return r;
}

/* --- transactions ---------------------------------------------------------------- */
void tvec_chain_init(tvec_chain *ch, const char *chain_id, uint64_t block_time)
{
    memset(ch, 0, sizeof *ch);
    snprintf(ch->chain_id, sizeof ch->chain_id, "%s", chain_id);
    veil__tve__chain_params__init(&ch->params);
    ch->params.chain_id = ch->chain_id;
    ch->params.block_time = block_time;
    ch->params.fee_rule = VEIL__TVE__FEE_RULE__FEE_RULE_AT_LEAST;
}

void tvec_tx_free(tvec_tx *t)
{
    if (t == NULL) return;
    if (t->msg != NULL) veil__tx__confidential_tx__free_unpacked(t->msg, NULL);
    free(t->wire);
    memset(t, 0, sizeof *t);
}

bool tvec_tx_redecode(tvec_tx *t)
{
    if (t->msg != NULL) veil__tx__confidential_tx__free_unpacked(t->msg, NULL);
    t->msg = veil__tx__confidential_tx__unpack(NULL, t->wire_len, t->wire);
    if (t->msg == NULL) return false;
    t->n_inputs = t->msg->n_inputs;
    if (t->msg->txid.len == 32) memcpy(t->txid, t->msg->txid.data, 32);
    return true;
}

int tvec_encrypt(tvec_client *c, tee_enclave *tqe, const tvec_chain *ch, const uint8_t *payload,
                 size_t payload_len, const Veil__Tve__AccountState *account, uint64_t fee,
                 const bool *spent, size_t n_spent, tvec_tx *out)
{
    /* The order carries the state the TVE judges it against, as a TQE's light client
     * would have proven it: here the test's chain. */
    Veil__Tve__EncryptOrder o = VEIL__TVE__ENCRYPT_ORDER__INIT;
    protobuf_c_boolean flags[64];
    if (n_spent > 64) die("too many spent flags");
    for (size_t i = 0; i < n_spent; i++) flags[i] = spent[i];
    o.payload.data = (uint8_t *)payload;
    o.payload.len = payload_len;
    o.fee = fee;
    o.params = (Veil__Tve__ChainParams *)&ch->params;
    o.account = (Veil__Tve__AccountState *)account;
    o.n_input_spent = n_spent;
    o.input_spent = flags;
    size_t order_len = veil__tve__encrypt_order__get_packed_size(&o);
    uint8_t *order = xcalloc(1, order_len);
    veil__tve__encrypt_order__pack(&o, order);
    uint8_t *sealed = xcalloc(1, order_len + TEE_SEAL_OVERHEAD_MAX);
    size_t sealed_len = 0;
    if (tee_enclave_call(tqe, TQE_E_SEAL_PAYLOAD, order, order_len, sealed,
                         order_len + TEE_SEAL_OVERHEAD_MAX, &sealed_len) != VEIL_OK)
        die("TQE seal (has the TQE done its hand-off with the TVE?)");
    free(order);
    Veil__Tve__EncryptRequest m = VEIL__TVE__ENCRYPT_REQUEST__INIT;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    m.sealed_order.data = sealed;
    m.sealed_order.len = sealed_len;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_ENCRYPT;
    req.encrypt = &m;
    Veil__Tve__Response *r = tvec_call(c, &req);
    free(sealed);
    if (r == NULL) return -1;
    uint32_t code = tvec_error_code(r);
    if (code != 0 || r->response_case != VEIL__TVE__RESPONSE__RESPONSE_ENCRYPT ||
        r->encrypt->tx.len == 0) {
        tvec_response_free(r);
        return code != 0 ? (int)code : -1;
    }
    memset(out, 0, sizeof *out);
    out->wire_len = r->encrypt->tx.len;
    out->wire = xcalloc(1, out->wire_len);
    memcpy(out->wire, r->encrypt->tx.data, out->wire_len);
    tvec_response_free(r);
    if (!tvec_tx_redecode(out)) die("encrypted tx does not decode");
    if (account != NULL) {
        out->has_account = true;
        out->account = *account;
        if (account->address.len == 32) memcpy(out->account_addr, account->address.data, 32);
    }
    return 0;
}

/* A TxContext for t with all-false spent flags (flags: caller's array of n_inputs);
 * acct: storage for the account state, pointing into t. */
static void tx_context(Veil__Tve__TxContext *ctx, Veil__Tve__AccountState *acct, const tvec_tx *t,
                       protobuf_c_boolean *flags)
{
    veil__tve__tx_context__init(ctx);
    ctx->tx.data = t->wire;
    ctx->tx.len = t->wire_len;
    ctx->n_input_spent = t->n_inputs;
    ctx->input_spent = flags;
    if (t->has_account) {
        *acct = t->account;
        acct->address.data = (uint8_t *)t->account_addr;
        ctx->account = acct;
    }
}

Veil__Tve__Response *tvec_verify_tx(tvec_client *c, const tvec_chain *ch, Veil__Tve__Mode mode,
                                    uint64_t height, const tvec_tx *t)
{
    protobuf_c_boolean *flags = xcalloc(t->n_inputs, sizeof *flags);
    Veil__Tve__TxContext ctx;
    Veil__Tve__AccountState acct;
    tx_context(&ctx, &acct, t, flags);
    Veil__Tve__VerifyTxRequest m = VEIL__TVE__VERIFY_TX_REQUEST__INIT;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    m.mode = mode;
    m.height = height;
    m.params = (Veil__Tve__ChainParams *)&ch->params;
    m.tx = &ctx;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_VERIFY_TX;
    req.verify_tx = &m;
    Veil__Tve__Response *r = tvec_call(c, &req);
    free(flags);
    return r;
}

uint8_t *tvec_verify_block_pack(const tvec_chain *ch, uint64_t height, tvec_tx *const *txs,
                                size_t n, size_t *len)
{
    Veil__Tve__TxContext *ctxs = xcalloc(n, sizeof *ctxs);
    Veil__Tve__AccountState *accts = xcalloc(n, sizeof *accts);
    Veil__Tve__TxContext **ptrs = xcalloc(n, sizeof *ptrs);
    protobuf_c_boolean *flags = xcalloc(64, sizeof *flags); /* all false, shared */
    for (size_t i = 0; i < n; i++) {
        if (txs[i]->n_inputs > 64) die("too many inputs");
        tx_context(&ctxs[i], &accts[i], txs[i], flags);
        ptrs[i] = &ctxs[i];
    }
    Veil__Tve__VerifyBlockRequest m = VEIL__TVE__VERIFY_BLOCK_REQUEST__INIT;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    m.height = height;
    m.params = (Veil__Tve__ChainParams *)&ch->params;
    m.n_txs = n;
    m.txs = ptrs;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_VERIFY_BLOCK;
    req.verify_block = &m;
    uint8_t *buf = tvec_request_pack(&req, len);
    free(ctxs);
    free(accts);
    free(ptrs);
    free(flags);
    return buf;
}
