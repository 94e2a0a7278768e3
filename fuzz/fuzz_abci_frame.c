/* Fuzzes the ABCI server's input path as a connection sees it: the input is the byte
 * stream a peer sends. It goes through the frame reader (over a memfd, with a 1 MiB
 * frame limit) and every frame through abci_serve_request with a small app that reads
 * the request's fields and builds responses from them.
 * Invariants (abort otherwise):
 *   - the reader yields exactly the frames abci_frame_split finds in the same bytes;
 *   - every request frame is answered by exactly one response frame, and each
 *     response frame decodes as a tendermint.abci.Response;
 *   - a Flush request is answered by a Flush response; a frame that is not a Request
 *     ends the connection with an exception;
 *   - the CheckTx requests among the frames (up to 8), answered as one pipelined run
 *     (abci_serve_check_batch), get exactly one response each.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "host/abci/abci_server.h"

#define FUZZ_MAX_FRAME ((size_t)1 << 20)

static veil_status fz_check_tx(void *ctx, abci_call *call,
                               const Tendermint__Abci__RequestCheckTx *req,
                               Tendermint__Abci__ResponseCheckTx *resp)
{
    (void)ctx;
    resp->code = req->tx.len % 3 == 0 ? 0 : 1;
    resp->gas_wanted = (int64_t)req->tx.len;
    if (resp->code != 0) resp->log = abci_call_strdup(call, "rejected");
    return abci_call_bytes(call, req->tx.data, req->tx.len, &resp->data);
}

static veil_status fz_query(void *ctx, abci_call *call, const Tendermint__Abci__RequestQuery *req,
                            Tendermint__Abci__ResponseQuery *resp)
{
    (void)ctx;
    if (req->prove) {
        abci_call_fail(call, "proofs not supported for %s", req->path);
        return VEIL_ERR_USAGE;
    }
    resp->key = req->data;
    resp->height = req->height;
    resp->log = abci_call_strdup(call, req->path);
    return resp->log != NULL ? VEIL_OK : VEIL_ERR_NOMEM;
}

static veil_status fz_init_chain(void *ctx, abci_call *call,
                                 const Tendermint__Abci__RequestInitChain *req,
                                 Tendermint__Abci__ResponseInitChain *resp)
{
    (void)ctx, (void)call;
    /* Echo the validators and params: deep structures from untrusted input. */
    resp->n_validators = req->n_validators;
    resp->validators = req->validators;
    resp->consensus_params = req->consensus_params;
    resp->app_hash = req->app_state_bytes;
    return VEIL_OK;
}

static veil_status fz_finalize_block(void *ctx, abci_call *call,
                                     const Tendermint__Abci__RequestFinalizeBlock *req,
                                     Tendermint__Abci__ResponseFinalizeBlock *resp)
{
    (void)ctx;
    Tendermint__Abci__ExecTxResult **res = abci_call_calloc(call, req->n_txs, sizeof *res);
    if (req->n_txs > 0 && res == NULL) return VEIL_ERR_NOMEM;
    for (size_t i = 0; i < req->n_txs; i++) {
        res[i] = ABCI_CALL_NEW(call, Tendermint__Abci__ExecTxResult,
                               tendermint__abci__exec_tx_result__init);
        if (res[i] == NULL) return VEIL_ERR_NOMEM;
        res[i]->code = req->txs[i].len == 0;
        res[i]->data = req->txs[i];
    }
    resp->n_tx_results = req->n_txs;
    resp->tx_results = res;
    size_t votes = req->decided_last_commit != NULL ? req->decided_last_commit->n_votes : 0;
    uint8_t h[8] = {(uint8_t)req->height, (uint8_t)votes, (uint8_t)req->n_misbehavior};
    return abci_call_bytes(call, h, sizeof h, &resp->app_hash);
}

/* The same answers as a batch; a tx starting with 0xff fails the whole run. */
static veil_status fz_check_tx_batch(void *ctx, abci_call *call,
                                     const Tendermint__Abci__RequestCheckTx *const *reqs,
                                     Tendermint__Abci__ResponseCheckTx *const *resps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (reqs[i]->tx.len > 0 && reqs[i]->tx.data[0] == 0xff) {
            abci_call_fail(call, "tx %zu", i);
            return VEIL_ERR_ARG;
        }
        TRY(fz_check_tx(ctx, call, reqs[i], resps[i]));
    }
    return VEIL_OK;
}

static const abci_app FUZZ_BATCH_APP = {.check_tx_batch = fz_check_tx_batch};

static const abci_app FUZZ_APP = {
    .check_tx = fz_check_tx,
    .query = fz_query,
    .init_chain = fz_init_chain,
    .finalize_block = fz_finalize_block,
};

/* Every response frame in (p, len) decodes; returns how many there are. */
static size_t count_responses(const uint8_t *p, size_t len,
                              Tendermint__Abci__Response__ValueCase *last)
{
    size_t n = 0, off = 0;
    while (off < len) {
        const uint8_t *body;
        size_t blen, used;
        if (abci_frame_split(p + off, len - off, SIZE_MAX, &body, &blen, &used) != VEIL_OK) abort();
        Tendermint__Abci__Response *r = tendermint__abci__response__unpack(NULL, blen, body);
        if (r == NULL || !abci_message_wellformed(&r->base)) abort();
        *last = r->value_case;
        tendermint__abci__response__free_unpacked(r, NULL);
        off += used;
        n++;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("abci-fuzz", MFD_CLOEXEC);
    if (fd < 0) abort();
    for (size_t off = 0; off < size;) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) abort();
        off += (size_t)w;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) abort();

    abci_frame_reader r;
    abci_frame_reader_init(&r, fd, FUZZ_MAX_FRAME);
    abci_buf out = {0};
    size_t off = 0;
    Tendermint__Abci__Request *run[8];
    size_t n_run = 0;
    for (;;) {
        const uint8_t *body, *split_body;
        size_t len, split_len, used;
        bool eof;
        veil_status st = abci_frame_reader_next(&r, 0, &body, &len, &eof);
        veil_status split = abci_frame_split(data + off, size - off, FUZZ_MAX_FRAME, &split_body,
                                             &split_len, &used);
        if (st != VEIL_OK || eof) {
            /* The reader stops exactly where splitting the raw bytes stops. */
            if (split == VEIL_OK) abort();
            if (eof ? off != size : split != st) abort();
            break;
        }
        if (split != VEIL_OK || split_len != len || memcmp(split_body, body, len) != 0) abort();
        off += used;

        if (n_run < 8 && (run[n_run] = abci_decode_check_tx(body, len)) != NULL) n_run++;
        out.len = 0;
        abci_serve_next next;
        if (abci_serve_request(&FUZZ_APP, NULL, body, len, &out, &next) != VEIL_OK) abort();
        Tendermint__Abci__Response__ValueCase last = TENDERMINT__ABCI__RESPONSE__VALUE__NOT_SET;
        if (count_responses(out.p, out.len, &last) != 1) abort();
        Tendermint__Abci__Request *q = tendermint__abci__request__unpack(NULL, len, body);
        if (q != NULL && !abci_message_wellformed(&q->base)) {
            tendermint__abci__request__free_unpacked(q, NULL);
            q = NULL;
        }
        if (q == NULL) {
            if (next != ABCI_SERVE_FLUSH_CLOSE ||
                last != TENDERMINT__ABCI__RESPONSE__VALUE_EXCEPTION)
                abort();
        } else {
            if (q->value_case == TENDERMINT__ABCI__REQUEST__VALUE_FLUSH &&
                (next != ABCI_SERVE_FLUSH || last != TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH))
                abort();
            if (next == ABCI_SERVE_FLUSH_CLOSE) abort();
            tendermint__abci__request__free_unpacked(q, NULL);
        }
        if (next == ABCI_SERVE_FLUSH_CLOSE) break;
    }
    if (n_run > 0) {
        out.len = 0;
        abci_serve_next next;
        if (abci_serve_check_batch(&FUZZ_BATCH_APP, NULL, run, n_run, &out, &next) != VEIL_OK)
            abort();
        Tendermint__Abci__Response__ValueCase last = TENDERMINT__ABCI__RESPONSE__VALUE__NOT_SET;
        if (count_responses(out.p, out.len, &last) != n_run) abort();
        if (last != TENDERMINT__ABCI__RESPONSE__VALUE_CHECK_TX &&
            last != TENDERMINT__ABCI__RESPONSE__VALUE_EXCEPTION)
            abort();
    }
    abci_buf_free(&out);
    abci_frame_reader_free(&r);
    close(fd);
    return 0;
}
