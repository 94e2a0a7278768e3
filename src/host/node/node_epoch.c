/* Key epochs in the node's public state (docs/key-epochs.md): which epochs a block's
 * confidential txs may use, when the next key is due, and the key-epoch tx's rules.
 * Everything here is a function of committed (or the block's pending) state, so every
 * validator reaches the same verdicts. */
#include <inttypes.h>
#include <string.h>

#include "host/node/node_app_internal.h"

veil_status node_epoch_latest(node_app *a, bool pending, node_key_epoch *out, bool *any)
{
    bool found;
    *any = false;
    TRY(node_state_epoch_get(a->st, pending, 0, out, &found));
    if (!found) return VEIL_OK;
    *any = true;
    /* Epochs are consecutive from 0; the hint skips the ones seen before. */
    uint64_t e = a->epoch_hint;
    node_key_epoch rec;
    if (e > 0) {
        TRY(node_state_epoch_get(a->st, pending, e, &rec, &found));
        if (found)
            *out = rec;
        else
            e = 0;
    }
    for (;;) {
        TRY(node_state_epoch_get(a->st, pending, e + 1, &rec, &found));
        if (!found) break;
        *out = rec;
        e++;
    }
    if (!pending) a->epoch_hint = e;
    return VEIL_OK;
}

veil_status node_epoch_window_at(node_app *a, bool pending, uint64_t height, node_epoch_window *w)
{
    memset(w, 0, sizeof *w);
    node_key_epoch latest;
    bool any;
    TRY(node_epoch_latest(a, pending, &latest, &any));
    if (!any) return VEIL_OK; /* a chain without a key: epoch 0 only, never rotated */
    w->current = latest;
    if (latest.start_height > height && latest.epoch > 0) {
        /* Committed, not yet in use: the one before is current. */
        bool found;
        w->has_next = true;
        w->next = latest;
        TRY(node_state_epoch_get(a->st, pending, latest.epoch - 1, &w->current, &found));
        ENSURE(found, VEIL_ERR_DB);
    }
    const node_params *p = node_state_params(a->st);
    if (w->current.epoch > 0 && height < w->current.start_height + p->key_grace_blocks) {
        bool found;
        TRY(node_state_epoch_get(a->st, pending, w->current.epoch - 1, &w->previous, &found));
        ENSURE(found, VEIL_ERR_DB);
        w->has_previous = true;
    }
    if (p->key_epoch_blocks > 0 && !w->has_next) {
        w->rotates = true;
        w->next_due = w->current.start_height + p->key_epoch_blocks;
    }
    return VEIL_OK;
}

veil_status node_epoch_admits(const node_epoch_window *w, uint64_t key_epoch)
{
    if (key_epoch == w->current.epoch) return VEIL_OK;
    if (w->has_previous && key_epoch == w->previous.epoch) return VEIL_OK;
    return key_epoch < w->current.epoch ? VEIL_ERR_TX_KEY_EPOCH_EXPIRED
                                        : VEIL_ERR_TX_UNKNOWN_KEY_EPOCH;
}

veil_status node_epoch_apply(node_app *a, bool pending, uint64_t height, const uint8_t *proposer,
                             const node_key_epoch_tx *tx, veil_status *verdict,
                             const char **detail)
{
    *verdict = VEIL_ERR_NODE_KEY_EPOCH_TX;
    if (!pending || proposer == NULL) {
        *detail = "a key-epoch tx is valid only in a block built by the proposer it names";
        return VEIL_OK;
    }
    if (memcmp(proposer, tx->proposer, NODE_PROPOSER_ADDRESS_LEN) != 0) {
        *detail = "key-epoch tx: it names another proposer than the block's";
        return VEIL_OK;
    }
    node_epoch_window w;
    TRY(node_epoch_window_at(a, true, height, &w));
    if (!w.rotates) {
        *detail = w.has_next ? "key-epoch tx: the next epoch's key is committed already"
                             : "key-epoch tx: this chain does not rotate its key";
        return VEIL_OK;
    }
    if (tx->epoch != w.current.epoch + 1) {
        *detail = "key-epoch tx: not the epoch after the current one";
        return VEIL_OK;
    }
    if (height < w.next_due) {
        *detail = "key-epoch tx: the next epoch is not due yet";
        return VEIL_OK;
    }
    node_key_epoch rec = {.epoch = tx->epoch,
                          .start_height = height + node_state_params(a->st)->key_grace_blocks,
                          .commitment_len = 32};
    memcpy(rec.commitment, tx->commitment, 32);
    TRY(node_state_epoch_put(a->st, &rec));
    *verdict = VEIL_OK;
    *detail = NULL;
    return VEIL_OK;
}

veil_status node_epoch_draw(node_app *a, uint64_t height, const uint8_t *proposer, uint8_t *out,
                            size_t cap, size_t *len)
{
    *len = 0;
    if (proposer == NULL || !node_state_meta(a->st)->initialized) return VEIL_OK;
    node_epoch_window w;
    TRY(node_epoch_window_at(a, false, height, &w));
    if (!w.rotates || height < w.next_due) return VEIL_OK;
    node_key_epoch_tx tx = {.epoch = w.current.epoch + 1};
    memcpy(tx.proposer, proposer, NODE_PROPOSER_ADDRESS_LEN);
    TRY(node_tve_draw_key(a, tx.epoch, tx.commitment));
    TRY(node_key_epoch_tx_encode(&tx, out, cap, len));
    char c[17];
    node_hex8(c, tx.commitment);
    node_log(a, "drew the key of epoch %" PRIu64 " (commitment %s...) for block %" PRIu64,
             tx.epoch, c, height);
    return VEIL_OK;
}
