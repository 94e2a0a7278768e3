/* ABCI socket client: CometBFT's side of one ABCI connection. */
#include "host/abci/abci_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/abci/abci_net.h"
#include "hostutil/fileio.h"

struct abci_client {
    int fd;
    int timeout_ms;
    abci_frame_reader reader;
    abci_buf out;
    char last_exception[512];
};

veil_status abci_client_connect(const abci_client_config *cfg, abci_client **out)
{
    ENSURE(cfg != NULL && cfg->addr != NULL && out != NULL, VEIL_ERR_ARG);
    abci_addr a;
    TRY(abci_addr_parse(cfg->addr, &a));
    abci_client *c = calloc(1, sizeof *c);
    ENSURE(c != NULL, VEIL_ERR_NOMEM);
    veil_status st = abci_connect(&a, cfg->timeout_ms, &c->fd);
    if (st != VEIL_OK) {
        free(c);
        return st;
    }
    c->timeout_ms = cfg->timeout_ms;
    abci_frame_reader_init(&c->reader, c->fd, cfg->max_frame);
    *out = c;
    return VEIL_OK;
}

void abci_client_close(abci_client *c)
{
    if (c == NULL) return;
    close(c->fd);
    abci_frame_reader_free(&c->reader);
    abci_buf_free(&c->out);
    free(c);
}

veil_status abci_client_send(abci_client *c, const Tendermint__Abci__Request *req)
{
    ENSURE(c != NULL && req != NULL, VEIL_ERR_ARG);
    return abci_buf_append_frame(&c->out, &req->base);
}

static veil_status write_out(abci_client *c)
{
    /* While blocked on output, keep reading responses into the reader so a server
     * that is itself blocked writing them cannot deadlock us. */
    veil_status st = abci_fd_write_all(c->fd, c->out.p, c->out.len, c->timeout_ms, &c->reader);
    c->out.len = 0;
    return st;
}

veil_status abci_client_flush(abci_client *c)
{
    ENSURE(c != NULL, VEIL_ERR_ARG);
    Tendermint__Abci__RequestFlush flush = TENDERMINT__ABCI__REQUEST_FLUSH__INIT;
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_FLUSH;
    req.flush = &flush;
    TRY(abci_buf_append_frame(&c->out, &req.base));
    return write_out(c);
}

veil_status abci_client_send_raw(abci_client *c, const void *p, size_t n)
{
    ENSURE(c != NULL, VEIL_ERR_ARG);
    TRY(abci_buf_append(&c->out, p, n));
    return write_out(c);
}

veil_status abci_client_recv(abci_client *c, Tendermint__Abci__Response **resp)
{
    ENSURE(c != NULL && resp != NULL, VEIL_ERR_ARG);
    *resp = NULL;
    const uint8_t *body;
    size_t len;
    bool eof;
    TRY(abci_frame_reader_next(&c->reader, c->timeout_ms, &body, &len, &eof));
    if (eof) {
        veil_error_detail_set("ABCI server closed the connection");
        return VEIL_ERR_NET;
    }
    Tendermint__Abci__Response *r = tendermint__abci__response__unpack(NULL, len, body);
    if (r != NULL && !abci_message_wellformed(&r->base)) {
        tendermint__abci__response__free_unpacked(r, NULL);
        r = NULL;
    }
    if (r == NULL) {
        veil_error_detail_set("ABCI response of %zu bytes does not decode", len);
        return VEIL_ERR_DECODE;
    }
    if (r->value_case == TENDERMINT__ABCI__RESPONSE__VALUE_EXCEPTION) {
        snprintf(c->last_exception, sizeof c->last_exception, "%s",
                 r->exception->error != NULL ? r->exception->error : "");
    }
    *resp = r;
    return VEIL_OK;
}

Tendermint__Abci__Response__ValueCase
abci_response_case_for(Tendermint__Abci__Request__ValueCase rc)
{
    switch (rc) {
    case TENDERMINT__ABCI__REQUEST__VALUE_ECHO:
        return TENDERMINT__ABCI__RESPONSE__VALUE_ECHO;
    case TENDERMINT__ABCI__REQUEST__VALUE_FLUSH:
        return TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH;
    case TENDERMINT__ABCI__REQUEST__VALUE_INFO:
        return TENDERMINT__ABCI__RESPONSE__VALUE_INFO;
    case TENDERMINT__ABCI__REQUEST__VALUE_INIT_CHAIN:
        return TENDERMINT__ABCI__RESPONSE__VALUE_INIT_CHAIN;
    case TENDERMINT__ABCI__REQUEST__VALUE_QUERY:
        return TENDERMINT__ABCI__RESPONSE__VALUE_QUERY;
    case TENDERMINT__ABCI__REQUEST__VALUE_CHECK_TX:
        return TENDERMINT__ABCI__RESPONSE__VALUE_CHECK_TX;
    case TENDERMINT__ABCI__REQUEST__VALUE_COMMIT:
        return TENDERMINT__ABCI__RESPONSE__VALUE_COMMIT;
    case TENDERMINT__ABCI__REQUEST__VALUE_LIST_SNAPSHOTS:
        return TENDERMINT__ABCI__RESPONSE__VALUE_LIST_SNAPSHOTS;
    case TENDERMINT__ABCI__REQUEST__VALUE_OFFER_SNAPSHOT:
        return TENDERMINT__ABCI__RESPONSE__VALUE_OFFER_SNAPSHOT;
    case TENDERMINT__ABCI__REQUEST__VALUE_LOAD_SNAPSHOT_CHUNK:
        return TENDERMINT__ABCI__RESPONSE__VALUE_LOAD_SNAPSHOT_CHUNK;
    case TENDERMINT__ABCI__REQUEST__VALUE_APPLY_SNAPSHOT_CHUNK:
        return TENDERMINT__ABCI__RESPONSE__VALUE_APPLY_SNAPSHOT_CHUNK;
    case TENDERMINT__ABCI__REQUEST__VALUE_PREPARE_PROPOSAL:
        return TENDERMINT__ABCI__RESPONSE__VALUE_PREPARE_PROPOSAL;
    case TENDERMINT__ABCI__REQUEST__VALUE_PROCESS_PROPOSAL:
        return TENDERMINT__ABCI__RESPONSE__VALUE_PROCESS_PROPOSAL;
    case TENDERMINT__ABCI__REQUEST__VALUE_EXTEND_VOTE:
        return TENDERMINT__ABCI__RESPONSE__VALUE_EXTEND_VOTE;
    case TENDERMINT__ABCI__REQUEST__VALUE_VERIFY_VOTE_EXTENSION:
        return TENDERMINT__ABCI__RESPONSE__VALUE_VERIFY_VOTE_EXTENSION;
    case TENDERMINT__ABCI__REQUEST__VALUE_FINALIZE_BLOCK:
        return TENDERMINT__ABCI__RESPONSE__VALUE_FINALIZE_BLOCK;
    default:
        return TENDERMINT__ABCI__RESPONSE__VALUE__NOT_SET;
    }
}

/* Receives one response and checks it answers `want`; exceptions become errors. */
veil_status abci_client_recv_expect(abci_client *c, Tendermint__Abci__Response__ValueCase want,
                                    Tendermint__Abci__Response **resp)
{
    Tendermint__Abci__Response *r;
    TRY(abci_client_recv(c, &r));
    if (r->value_case == TENDERMINT__ABCI__RESPONSE__VALUE_EXCEPTION) {
        veil_error_detail_set("ABCI exception: %s", c->last_exception);
        abci_response_free(r);
        return VEIL_ERR_NET;
    }
    if (r->value_case != want) {
        veil_error_detail_set("ABCI response %d does not answer the request (expected %d)",
                              (int)r->value_case, (int)want);
        abci_response_free(r);
        return VEIL_ERR_OUT_OF_ORDER;
    }
    *resp = r;
    return VEIL_OK;
}

veil_status abci_client_call(abci_client *c, const Tendermint__Abci__Request *req,
                             Tendermint__Abci__Response **resp)
{
    ENSURE(c != NULL && req != NULL && resp != NULL, VEIL_ERR_ARG);
    *resp = NULL;
    Tendermint__Abci__Response__ValueCase want = abci_response_case_for(req->value_case);
    ENSURE(want != TENDERMINT__ABCI__RESPONSE__VALUE__NOT_SET, VEIL_ERR_ARG);
    if (req->value_case == TENDERMINT__ABCI__REQUEST__VALUE_FLUSH) {
        TRY(abci_client_flush(c));
        return abci_client_recv_expect(c, want, resp);
    }
    TRY(abci_client_send(c, req));
    TRY(abci_client_flush(c));
    Tendermint__Abci__Response *r;
    TRY(abci_client_recv_expect(c, want, &r));
    Tendermint__Abci__Response *f;
    veil_status st = abci_client_recv_expect(c, TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH, &f);
    if (st != VEIL_OK) {
        abci_response_free(r);
        return st;
    }
    abci_response_free(f);
    *resp = r;
    return VEIL_OK;
}

const char *abci_client_last_exception(const abci_client *c)
{
    return c != NULL ? c->last_exception : "";
}

void abci_response_free(Tendermint__Abci__Response *resp)
{
    if (resp != NULL) tendermint__abci__response__free_unpacked(resp, NULL);
}
