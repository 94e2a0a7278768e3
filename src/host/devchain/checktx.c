/* CheckTx for RPC threads, sent to the app together.
 *
 * Each broadcast_tx_* call used to hold the mempool connection for a whole round trip,
 * so CheckTx ran one at a time however many clients were waiting. Now a thread queues
 * its tx; the first one finding no batch in flight becomes the sender: it takes every
 * queued tx (up to ABCI_CHECK_BATCH_MAX), writes them all and one Flush on the mempool
 * connection, as CometBFT's socket client pipelines, reads the answers in order and
 * wakes their threads. Txs queued meanwhile make the next batch. The app (the node)
 * sees them arrive together and can judge them together (abci_app.check_tx_batch).
 */
#include <stdlib.h>
#include <string.h>

#include "host/abci/abci_server.h"
#include "host/devchain/chain_internal.h"
#include "hostutil/fileio.h"

typedef struct check_waiter {
    const uint8_t *tx;
    size_t len;
    const uint8_t *hash;
    Tendermint__Abci__Response *resp;
    veil_status st;
    char detail[256]; /* the failure's text, for the waiting thread's error */
    bool done;
    struct check_waiter *next;
} check_waiter;

static void fail_one(check_waiter *w, veil_status st)
{
    w->st = st;
    snprintf(w->detail, sizeof w->detail, "%s", veil_error_detail());
}

/* Sends the list and collects its answers. Holds mem_mu: the recheck after a block
 * uses the same connection. */
static void send_batch(devchain *dc, check_waiter *head)
{
    veil_status st = VEIL_OK;
    size_t sent = 0;
    pthread_mutex_lock(&dc->mem_mu);
    for (check_waiter *w = head; w != NULL && st == VEIL_OK; w = w->next) {
        Tendermint__Abci__RequestCheckTx ct = TENDERMINT__ABCI__REQUEST_CHECK_TX__INIT;
        ct.tx.data = (uint8_t *)(uintptr_t)w->tx;
        ct.tx.len = w->len;
        ct.type = TENDERMINT__ABCI__CHECK_TX_TYPE__NEW;
        Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
        req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_CHECK_TX;
        req.check_tx = &ct;
        st = abci_client_send(dc->mem, &req);
        if (st == VEIL_OK) sent++;
    }
    veil_status unsent = st; /* the txs after a failed send get this */
    /* Whatever was buffered goes out, so that its answers are read here and never taken
     * for a later batch's. */
    st = abci_client_flush(dc->mem);
    size_t i = 0;
    for (check_waiter *w = head; w != NULL; w = w->next, i++) {
        if (i >= sent) {
            fail_one(w, unsent);
            continue;
        }
        if (st != VEIL_OK) {
            fail_one(w, st);
            continue;
        }
        Tendermint__Abci__Response *r = NULL;
        veil_status rs = abci_client_recv(dc->mem, &r);
        if (rs == VEIL_OK && r->value_case == TENDERMINT__ABCI__RESPONSE__VALUE_EXCEPTION) {
            /* An exception answers this request; the stream goes on. */
            veil_error_detail_set("ABCI exception: %s", abci_client_last_exception(dc->mem));
            abci_response_free(r);
            fail_one(w, VEIL_ERR_NET);
            continue;
        }
        if (rs == VEIL_OK && r->value_case != TENDERMINT__ABCI__RESPONSE__VALUE_CHECK_TX) {
            veil_error_detail_set("ABCI response %d does not answer CheckTx", (int)r->value_case);
            abci_response_free(r);
            rs = VEIL_ERR_OUT_OF_ORDER;
        }
        if (rs != VEIL_OK) {
            st = rs; /* the stream is lost for the rest */
            fail_one(w, rs);
            continue;
        }
        w->resp = r;
        w->st = VEIL_OK;
    }
    if (st == VEIL_OK) {
        Tendermint__Abci__Response *f = NULL;
        st = abci_client_recv_expect(dc->mem, TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH, &f);
        abci_response_free(f);
    }
    /* A batch whose Flush did not come back cannot be trusted whole. */
    for (check_waiter *w = head; w != NULL; w = w->next) {
        if (st != VEIL_OK && w->st == VEIL_OK) {
            abci_response_free(w->resp);
            w->resp = NULL;
            fail_one(w, st);
        }
        if (w->st == VEIL_OK && w->resp->check_tx->code == 0) {
            w->st = mempool_add(dc->mp, w->tx, w->len, w->hash);
            if (w->st != VEIL_OK) fail_one(w, w->st);
        } else {
            mempool_forget(dc->mp, w->hash);
        }
    }
    pthread_mutex_unlock(&dc->mem_mu);
}

veil_status devchain_check_tx(devchain *dc, const uint8_t *tx, size_t len,
                              const uint8_t hash[static CMT_HASH_LEN],
                              Tendermint__Abci__Response **resp)
{
    check_waiter me = {.tx = tx, .len = len, .hash = hash};
    pthread_mutex_lock(&dc->chk_mu);
    if (dc->chk_tail != NULL)
        dc->chk_tail->next = &me;
    else
        dc->chk_head = &me;
    dc->chk_tail = &me;
    while (!me.done) {
        if (dc->chk_leader) {
            pthread_cond_wait(&dc->chk_cv, &dc->chk_mu);
            continue;
        }
        /* Send what is queued (this tx among it), at most a batch. */
        dc->chk_leader = true;
        check_waiter *head = dc->chk_head, *last = head;
        for (size_t n = 1; n < ABCI_CHECK_BATCH_MAX && last->next != NULL; n++) last = last->next;
        dc->chk_head = last->next;
        if (dc->chk_head == NULL) dc->chk_tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&dc->chk_mu);
        send_batch(dc, head);
        pthread_mutex_lock(&dc->chk_mu);
        for (check_waiter *w = head; w != NULL; w = w->next) w->done = true;
        dc->chk_leader = false;
        pthread_cond_broadcast(&dc->chk_cv);
    }
    pthread_mutex_unlock(&dc->chk_mu);
    if (me.st != VEIL_OK) {
        veil_error_detail_set("%s", me.detail);
        abci_response_free(me.resp);
        *resp = NULL;
        return me.st;
    }
    *resp = me.resp;
    return VEIL_OK;
}
