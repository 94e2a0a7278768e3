/* Building and signing confidential txs: coin selection and the fee iteration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "hostutil/fileio.h"
#include "wallet/wallet.h"

static void body_init(veil_tx_body *b, const wallet *w, veil_tx_kind kind)
{
    memset(b, 0, sizeof *b);
    b->version = VEIL_TX_VERSION;
    snprintf(b->chain_id, sizeof b->chain_id, "%s", w->chain_id);
    b->kind = kind;
    /* A fresh secret per body: the txid then confirms no guess of amounts or addresses. */
    randombytes_buf(b->blinding, sizeof b->blinding);
}

/* Encodes the body and signs its txid once per witness with the spend key. */
static veil_status sign(const wallet *w, wallet_built *b, size_t n_witnesses)
{
    uint8_t body[VEIL_TX_MAX_BODY_LEN];
    size_t body_len;
    uint8_t wit[VEIL_TX_MAX_WITNESSES][VEIL_TX_WITNESS_LEN], aux[32];
    ENSURE(n_witnesses <= VEIL_TX_MAX_WITNESSES, VEIL_ERR_TX_TOO_MANY_INPUTS);
    TRY(veil_tx_body_encode(&b->body, body, sizeof body, &body_len));
    veil_tx_id(b->txid, body, body_len);
    for (size_t i = 0; i < n_witnesses; i++) {
        randombytes_buf(aux, sizeof aux);
        TRY(veil_schnorr_sign(wit[i], b->txid, 32, w->keys.spend_sk, aux));
    }
    return veil_tx_payload_encode(body, body_len, (const uint8_t(*)[VEIL_TX_WITNESS_LEN])wit,
                                  n_witnesses, b->payload, sizeof b->payload, &b->payload_len);
}

static veil_status needed_fee(const wallet_built *b, const wallet_fee *fee, size_t n_witnesses,
                              uint64_t *need)
{
    uint8_t body[VEIL_TX_MAX_BODY_LEN];
    size_t body_len;
    uint64_t size;
    TRY(veil_tx_body_encode(&b->body, body, sizeof body, &body_len));
    TRY(veil_tx_size(body_len, n_witnesses, &size));
    veil_tx_params p = {.fee_base = fee->fee_base, .fee_per_byte = fee->fee_per_byte};
    return veil_tx_min_fee(&p, size, need);
}

/* Spendable outputs, largest first (indices into w->outputs). */
static size_t spendable_sorted(const wallet *w, uint64_t now, size_t *idx)
{
    size_t n = 0;
    for (size_t i = 0; i < w->n_outputs; i++)
        if (!w->outputs[i].spent && w->outputs[i].valid_from <= now) idx[n++] = i;
    for (size_t i = 1; i < n; i++) /* insertion sort: wallets hold few outputs */
        for (size_t j = i; j > 0 && w->outputs[idx[j]].value > w->outputs[idx[j - 1]].value; j--) {
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    return n;
}

typedef void (*fill_fn)(wallet_built *b, uint64_t in_sum, uint64_t fee, void *ctx);

/* Adds inputs (largest first) until in_sum covers target + fee, where the fee depends
 * on the tx's size and so on the inputs and values; iterates until stable. */
static veil_status select_and_build(const wallet *w, const wallet_fee *fee, uint64_t now,
                                    uint64_t target, fill_fn fill, void *ctx, wallet_built *b)
{
    ENSURE(!w->keys.watch_only, VEIL_ERR_WALLET_WATCH_ONLY);
    ENSURE(w->chain_id[0] != '\0', VEIL_ERR_USAGE);
    size_t *idx = calloc(w->n_outputs + 1, sizeof *idx);
    ENSURE(idx != NULL, VEIL_ERR_NOMEM);
    size_t n = spendable_sorted(w, now, idx);
    veil_status st = VEIL_ERR_WALLET_FUNDS, e;
    uint64_t in_sum = 0;
    for (size_t k = 0; k < n && k < VEIL_TX_MAX_INPUTS; k++) {
        const wallet_output *o = &w->outputs[idx[k]];
        memcpy(b->body.inputs[k].txid, o->txid, 32);
        b->body.inputs[k].index = o->index;
        b->body.n_inputs = k + 1;
        in_sum += o->value;
        if (in_sum < target) continue;
        uint64_t f = 0, need = 0;
        bool ok = false;
        for (int it = 0; it < 8; it++) {
            if (in_sum < target || in_sum - target < f) break; /* need another input */
            fill(b, in_sum, f, ctx);
            ENSURE_OUT((e = needed_fee(b, fee, b->body.n_inputs, &need)) == VEIL_OK, e);
            if (need == f || (!fee->exact && need < f)) {
                ok = true;
                break;
            }
            f = need;
        }
        if (!ok) {
            /* Too little left for a change output to pay for itself: without it the
             * remainder becomes fee, which only the at-least rule allows. */
            fill(b, in_sum, in_sum - target, ctx);
            ENSURE_OUT((e = needed_fee(b, fee, b->body.n_inputs, &need)) == VEIL_OK, e);
            ok = b->change == 0 && (need == in_sum - target ||
                                    (!fee->exact && need < in_sum - target));
            f = in_sum - target;
        }
        if (!ok) continue;
        b->fee = f;
        b->n_inputs_used = b->body.n_inputs;
        st = sign(w, b, b->body.n_inputs);
        goto out;
    }
out:
    free(idx);
    if (st == VEIL_ERR_WALLET_FUNDS) {
        char need[32], have[32];
        wallet_amount_format(need, sizeof need, target);
        wallet_amount_format(have, sizeof have, in_sum);
        veil_error_detail_set("need %s plus the fee, spendable %s", need, have);
    }
    return st;
}

typedef struct transfer_ctx {
    uint64_t amount;
} transfer_ctx;

static void fill_transfer(wallet_built *b, uint64_t in_sum, uint64_t fee, void *ctx)
{
    transfer_ctx *t = ctx;
    b->body.outputs[0].value = t->amount;
    b->amount = t->amount;
    b->change = in_sum - t->amount - fee;
    /* A change output is only added when there is change: zero values are invalid. */
    b->body.n_outputs = b->change > 0 ? 2 : 1;
    b->body.outputs[1].value = b->change;
}

veil_status wallet_build_transfer(const wallet *w, const wallet_fee *fee, uint64_t now,
                                  const uint8_t to[static 32], const uint8_t *to_view,
                                  uint64_t amount, wallet_built *out)
{
    ENSURE(amount > 0 && amount <= VEIL_TX_MAX_SUPPLY, VEIL_ERR_ARG);
    memset(out, 0, sizeof *out);
    body_init(&out->body, w, VEIL_TX_KIND_TRANSFER);
    memcpy(out->body.outputs[0].address, to, 32);
    memcpy(out->body.outputs[1].address, w->keys.spend_pk, 32);
    memcpy(out->body.view_keys[0], w->keys.view_pk, 32);
    out->body.n_view_keys = 1;
    if (to_view != NULL && memcmp(to_view, w->keys.view_pk, 32) != 0) {
        memcpy(out->body.view_keys[1], to_view, 32);
        out->body.n_view_keys = 2;
    }
    transfer_ctx t = {amount};
    return select_and_build(w, fee, now, amount, fill_transfer, &t, out);
}

static void fill_deposit(wallet_built *b, uint64_t in_sum, uint64_t fee, void *ctx)
{
    (void)ctx;
    b->body.amount = in_sum - fee;
    b->amount = b->body.amount;
    b->change = 0;
}

veil_status wallet_build_deposit(const wallet *w, const wallet_fee *fee, uint64_t now,
                                 uint64_t amount, wallet_built *out)
{
    ENSURE(amount > 0 && amount <= VEIL_TX_MAX_SUPPLY, VEIL_ERR_ARG);
    memset(out, 0, sizeof *out);
    body_init(&out->body, w, VEIL_TX_KIND_DEPOSIT);
    memcpy(out->body.account, w->keys.spend_pk, 32);
    memcpy(out->body.view_keys[0], w->keys.view_pk, 32);
    out->body.n_view_keys = 1;
    return select_and_build(w, fee, now, amount, fill_deposit, NULL, out);
}

veil_status wallet_build_withdraw(const wallet *w, const wallet_fee *fee, uint64_t unbonded,
                                  uint64_t unbonded_from, uint64_t nonce, wallet_built *out)
{
    ENSURE(!w->keys.watch_only, VEIL_ERR_WALLET_WATCH_ONLY);
    ENSURE(w->chain_id[0] != '\0', VEIL_ERR_USAGE);
    memset(out, 0, sizeof *out);
    body_init(&out->body, w, VEIL_TX_KIND_WITHDRAW);
    memcpy(out->body.account, w->keys.spend_pk, 32);
    out->body.nonce = nonce;
    out->body.n_outputs = 1;
    memcpy(out->body.outputs[0].address, w->keys.spend_pk, 32);
    out->body.outputs[0].valid_from = unbonded_from; /* withdrawn stake stays locked */
    memcpy(out->body.view_keys[0], w->keys.view_pk, 32);
    out->body.n_view_keys = 1;
    uint64_t f = 0, need = 0;
    for (int it = 0; it < 8; it++) {
        if (unbonded <= f) {
            veil_error_detail_set("unbonded stake does not cover the fee");
            return VEIL_ERR_WALLET_FUNDS;
        }
        out->body.outputs[0].value = unbonded - f;
        TRY(needed_fee(out, fee, 1, &need));
        if (need == f || (!fee->exact && need < f)) {
            out->fee = f;
            out->amount = unbonded - f;
            return sign(w, out, 1);
        }
        f = need;
    }
    return VEIL_ERR_INTERNAL;
}
