/* Validation of a confidential transaction, inside the enclave.
 *
 * The order of the checks is part of the contract (docs/transactions.md lists it):
 * a tx that breaks several rules always reports the same code on every validator.
 * Cheap checks on public data come first, then decryption, then the plaintext's own
 * consistency, then agreement between plaintext and public fields, then rules that
 * need state (spent flags, the store, accounts), and the signatures — the most
 * expensive step — last.
 */
#include <string.h>

#include "trusted/tx/tx_internal.h"

veil_status veil_tx_size(size_t body_len, size_t n_witnesses, uint64_t *size)
{
    ENSURE(size, VEIL_ERR_ARG);
    ENSURE(body_len <= VEIL_TX_MAX_BODY_LEN, VEIL_ERR_TX_BODY_TOO_LARGE);
    ENSURE(n_witnesses <= VEIL_TX_MAX_WITNESSES, VEIL_ERR_TX_WITNESS_COUNT);
    size_t vlen = body_len < 128 ? 1 : body_len < 16384 ? 2 : 3;
    size_t unpadded = (body_len ? 1 + vlen + body_len : 0) + n_witnesses * (2 + VEIL_TX_WITNESS_LEN);
    size_t padded, pad_len;
    TRY(veil_tx_padded_len(unpadded, &padded, &pad_len));
    *size = padded;
    return VEIL_OK;
}

veil_status veil_tx_min_fee(const veil_tx_params *params, uint64_t size, uint64_t *min_fee)
{
    uint64_t per_size;
    ENSURE(params && min_fee, VEIL_ERR_ARG);
    ENSURE(!__builtin_mul_overflow(params->fee_per_byte, size, &per_size),
           VEIL_ERR_TX_SUM_OVERFLOW);
    ENSURE(!__builtin_add_overflow(params->fee_base, per_size, min_fee),
           VEIL_ERR_TX_SUM_OVERFLOW);
    return VEIL_OK;
}

/* sum += v, keeping every partial sum within the maximum supply. */
static veil_status tx_sum_add(uint64_t *sum, uint64_t v)
{
    uint64_t s;
    ENSURE(!__builtin_add_overflow(*sum, v, &s) && s <= VEIL_TX_MAX_SUPPLY,
           VEIL_ERR_TX_SUM_OVERFLOW);
    *sum = s;
    return VEIL_OK;
}

static bool tx_outpoint_equal(const veil_tx_outpoint *a, const veil_tx_outpoint *b)
{
    return a->index == b->index && memcmp(a->txid, b->txid, VEIL_TX_ID_LEN) == 0;
}

static const veil_tx_epoch_key *tx_find_key(const veil_tx_env *env, uint64_t epoch)
{
    for (size_t i = 0; i < env->n_keys; i++)
        if (env->keys[i].epoch == epoch) return &env->keys[i];
    return NULL;
}

/* Rules 11-18 and 22: the plaintext's shape on its own and against the public fields.
 * Nothing here reads a hidden value or amount: those rules (19-21, tx_check_values)
 * run only once every witness has verified, so that whoever cannot sign for a tx
 * learns nothing about its amounts from which rule fails. */
static veil_status tx_check_body(const veil_tx_params *params, const veil_tx_wire *pub,
                                 const veil_tx_body *b, size_t n_witnesses)
{
    /* 11-12 */
    ENSURE(b->version == VEIL_TX_VERSION, VEIL_ERR_TX_UNSUPPORTED_VERSION);
    ENSURE(strcmp(b->chain_id, params->chain_id) == 0, VEIL_ERR_TX_WRONG_CHAIN_ID);
    /* 13 */
    ENSURE(b->kind == pub->kind, VEIL_ERR_TX_KIND_MISMATCH);
    /* 14 */
    if (b->kind != VEIL_TX_KIND_WITHDRAW) ENSURE(b->n_inputs > 0, VEIL_ERR_TX_NO_INPUTS);
    if (b->kind != VEIL_TX_KIND_DEPOSIT) ENSURE(b->n_outputs > 0, VEIL_ERR_TX_NO_OUTPUTS);
    /* 15-17: the node acts on the public fields (marks inputs spent, creates output
     * slots, moves stake), so they must say exactly what the signed body says. */
    ENSURE(b->n_outputs == pub->output_count, VEIL_ERR_TX_OUTPUT_COUNT_MISMATCH);
    ENSURE(b->n_inputs == pub->n_inputs, VEIL_ERR_TX_INPUTS_MISMATCH);
    for (size_t i = 0; i < b->n_inputs; i++)
        ENSURE(tx_outpoint_equal(&b->inputs[i], &pub->inputs[i]), VEIL_ERR_TX_INPUTS_MISMATCH);
    if (b->kind == VEIL_TX_KIND_TRANSFER)
        ENSURE(!pub->has_account, VEIL_ERR_TX_ACCOUNT_MISMATCH);
    else
        ENSURE(pub->has_account &&
                   memcmp(pub->account, b->account, VEIL_TX_ADDRESS_LEN) == 0,
               VEIL_ERR_TX_ACCOUNT_MISMATCH);
    /* 18 */
    for (size_t i = 0; i < b->n_inputs; i++)
        for (size_t j = i + 1; j < b->n_inputs; j++)
            ENSURE(!tx_outpoint_equal(&b->inputs[i], &b->inputs[j]),
                   VEIL_ERR_TX_DUPLICATE_INPUT);
    /* 22 */
    size_t want = b->kind == VEIL_TX_KIND_WITHDRAW ? 1 : b->n_inputs;
    ENSURE(n_witnesses == want, VEIL_ERR_TX_WITNESS_COUNT);
    return VEIL_OK;
}

/* Rules 19-21: the hidden values. Called only after every witness verified (item 2 of
 * the attack review: the sum rule answering before the signatures let a host that
 * varied the fee read a transfer's output total). */
static veil_status tx_check_values(const veil_tx_wire *pub, const veil_tx_body *b)
{
    /* 19 */
    for (size_t i = 0; i < b->n_outputs; i++)
        ENSURE(b->outputs[i].value != 0, VEIL_ERR_TX_ZERO_VALUE);
    if (b->kind == VEIL_TX_KIND_DEPOSIT) ENSURE(b->amount != 0, VEIL_ERR_TX_ZERO_VALUE);
    /* 20 */
    for (size_t i = 0; i < b->n_outputs; i++)
        ENSURE(b->outputs[i].value <= VEIL_TX_MAX_SUPPLY, VEIL_ERR_TX_VALUE_ABOVE_MAX_SUPPLY);
    ENSURE(b->amount <= VEIL_TX_MAX_SUPPLY, VEIL_ERR_TX_VALUE_ABOVE_MAX_SUPPLY);
    ENSURE(pub->fee <= VEIL_TX_MAX_SUPPLY, VEIL_ERR_TX_VALUE_ABOVE_MAX_SUPPLY);
    /* 21: outputs + fee (transfer, withdraw) or amount + fee (deposit). */
    uint64_t sum = 0;
    for (size_t i = 0; i < b->n_outputs; i++) TRY(tx_sum_add(&sum, b->outputs[i].value));
    TRY(tx_sum_add(&sum, b->amount));
    TRY(tx_sum_add(&sum, pub->fee));
    return VEIL_OK;
}

/* Rule 23. */
static veil_status tx_check_fee(const veil_tx_params *params, uint64_t fee, size_t body_len,
                                size_t n_witnesses)
{
    uint64_t size, min_fee;
    veil_status fail =
        params->fee_rule == VEIL_TX_FEE_EXACT ? VEIL_ERR_TX_FEE_NOT_EXACT : VEIL_ERR_TX_FEE_TOO_LOW;

    TRY(veil_tx_size(body_len, n_witnesses, &size));
    /* A minimum that does not fit in 64 bits cannot be paid. */
    ENSURE(veil_tx_min_fee(params, size, &min_fee) == VEIL_OK, fail);
    if (params->fee_rule == VEIL_TX_FEE_EXACT)
        ENSURE(fee == min_fee, fail);
    else
        ENSURE(fee >= min_fee, fail);
    return VEIL_OK;
}

static veil_status tx_check_sig(const veil_tx_env *env, const uint8_t *sig,
                                const uint8_t txid[VEIL_TX_ID_LEN],
                                const uint8_t pk[VEIL_TX_ADDRESS_LEN])
{
    uint8_t tag[32];
    if (env->sig_known != NULL || env->sig_learn != NULL) {
        uint8_t m[VEIL_TX_WITNESS_LEN + VEIL_TX_ID_LEN + VEIL_TX_ADDRESS_LEN];
        memcpy(m, sig, VEIL_TX_WITNESS_LEN);
        memcpy(m + VEIL_TX_WITNESS_LEN, txid, VEIL_TX_ID_LEN);
        memcpy(m + VEIL_TX_WITNESS_LEN + VEIL_TX_ID_LEN, pk, VEIL_TX_ADDRESS_LEN);
        veil_sha256_tagged(tag, VEIL_TX_SIG_TAG, m, sizeof m);
        if (env->sig_known != NULL && env->sig_known(env->sig_ctx, tag)) return VEIL_OK;
    }
    /* An address that is not a valid x-only key can never have signed: same code. */
    ENSURE(veil_schnorr_verify(sig, txid, VEIL_TX_ID_LEN, pk) == VEIL_OK,
           VEIL_ERR_TX_BAD_SIGNATURE);
    if (env->sig_learn != NULL) env->sig_learn(env->sig_ctx, tag);
    return VEIL_OK;
}

/* Rules 24-31 for transfers and deposits. */
static veil_status tx_check_spend(const veil_tx_env *env, const veil_tx_state *state,
                                  const veil_tx_wire *pub, const veil_tx_body *b,
                                  const Veil__Tx__TxPayload *pm)
{
    const veil_tx_params *params = env->params;
    veil_tx_output prev[VEIL_TX_MAX_INPUTS];
    uint64_t sum_in = 0;

    /* 24: spent flags are public and free to check; do it before any unsealing. */
    for (size_t i = 0; i < b->n_inputs; i++) ENSURE(!state->spent[i], VEIL_ERR_TX_INPUT_SPENT);
    /* 25-27. Each input's witness is checked as soon as its output is known, before
     * any rule that reads the output's hidden value or time lock: whoever cannot sign
     * for an output learns nothing about it from which rule fails (the encrypt path
     * would otherwise be an oracle on other people's outputs). */
    for (size_t i = 0; i < b->n_inputs; i++) {
        TRY(env->resolve(env->resolve_ctx, b->inputs[i].txid, b->inputs[i].index, &prev[i]));
        TRY(tx_check_sig(env, pm->witnesses[i].data, pub->txid, prev[i].address));
    }
    /* Every owner has signed: now the hidden values may be judged. */
    TRY(tx_check_values(pub, b));
    for (size_t i = 0; i < b->n_inputs; i++) {
        ENSURE(prev[i].value <= VEIL_TX_MAX_SUPPLY, VEIL_ERR_TX_VALUE_ABOVE_MAX_SUPPLY);
        TRY(tx_sum_add(&sum_in, prev[i].value));
        ENSURE(prev[i].valid_from <= params->block_time, VEIL_ERR_TX_INPUT_TIMELOCKED);
    }
    /* 28-30: the balance. tx_check_values bounded outputs/amount + fee by max supply. */
    if (b->kind == VEIL_TX_KIND_TRANSFER) {
        uint64_t sum_out = pub->fee;
        for (size_t i = 0; i < b->n_outputs; i++) sum_out += b->outputs[i].value;
        ENSURE(sum_in == sum_out, VEIL_ERR_TX_INPUTS_OUTPUTS_MISMATCH);
    } else {
        const veil_tx_account *acc = state->account;
        if (acc && acc->present) {
            ENSURE(memcmp(acc->address, b->account, VEIL_TX_ADDRESS_LEN) == 0,
                   VEIL_ERR_TX_ACCOUNT_MISMATCH);
            ENSURE(acc->jailed_until <= params->block_time, VEIL_ERR_TX_ACCOUNT_JAILED);
        }
        /* Exact, not "at least": anything above amount + fee would simply vanish. */
        ENSURE(sum_in == b->amount + pub->fee, VEIL_ERR_TX_DEPOSIT_AMOUNT_MISMATCH);
    }
    veil_wipe(prev, sizeof prev); /* values and addresses of the spent outputs */
    return VEIL_OK;
}

/* Rules 24-31 for withdrawals. */
static veil_status tx_check_withdraw(const veil_tx_env *env, const veil_tx_state *state,
                                     const veil_tx_wire *pub, const veil_tx_body *b,
                                     const Veil__Tx__TxPayload *pm)
{
    const veil_tx_params *params = env->params;
    const veil_tx_account *acc = state->account;

    ENSURE(acc && acc->present, VEIL_ERR_TX_ACCOUNT_NOT_FOUND);
    ENSURE(memcmp(acc->address, b->account, VEIL_TX_ADDRESS_LEN) == 0,
           VEIL_ERR_TX_ACCOUNT_MISMATCH);
    /* 31 first: the account's key must have signed before anything hidden is judged. */
    TRY(tx_check_sig(env, pm->witnesses[0].data, pub->txid, b->account));
    TRY(tx_check_values(pub, b));
    ENSURE(acc->jailed_until <= params->block_time, VEIL_ERR_TX_ACCOUNT_JAILED);
    ENSURE(b->nonce == acc->nonce, VEIL_ERR_TX_WRONG_NONCE);
    ENSURE(acc->unbonded_from <= params->block_time, VEIL_ERR_TX_NOT_YET_UNBONDED);
    /* The lock keeps withdrawn stake from moving before the unbonding period ends,
     * even if the node's clock or state were off; the outputs carry it on. */
    for (size_t i = 0; i < b->n_outputs; i++)
        ENSURE(b->outputs[i].valid_from == acc->unbonded_from, VEIL_ERR_TX_OUTPUT_NOT_LOCKED);
    uint64_t sum_out = pub->fee;
    for (size_t i = 0; i < b->n_outputs; i++) sum_out += b->outputs[i].value;
    ENSURE(sum_out == acc->unbonded, VEIL_ERR_TX_WITHDRAW_AMOUNT_MISMATCH);
    return VEIL_OK;
}

static veil_status tx_validate_inner(const veil_tx_env *env, const veil_tx_state *state,
                                     const uint8_t *wire, size_t wire_len,
                                     veil_tx_outcome *out, veil_tx_wire *pub,
                                     Veil__Tx__ConfidentialTx **cm, Veil__Tx__TxPayload **pm)
{
    const veil_tx_epoch_key *key;
    uint8_t aad[VEIL_TX_AAD_LEN];
    uint8_t txid[VEIL_TX_ID_LEN];
    veil_status st;

    /* 1-4 */
    TRY(tx_wire_unpack(wire, wire_len, env->alloc, pub, cm));
    /* 5: the node's view of the inputs must line up with the tx's. */
    ENSURE(state->n_spent == pub->n_inputs && (state->spent || state->n_spent == 0),
           VEIL_ERR_ARG);
    /* 6-7 */
    key = tx_find_key(env, pub->key_epoch);
    ENSURE(key != NULL, VEIL_ERR_TX_UNKNOWN_KEY_EPOCH);
    veil_tx_aad(aad, pub->txid, pub->key_epoch, pub->fee);
    st = veil_aead_open(key->key, pub->nonce, aad, sizeof aad, (*cm)->ciphertext.data,
                        (*cm)->ciphertext.len, out->payload);
    /* No detail on authentication failures: a bare code, no oracle. */
    ENSURE(st != VEIL_ERR_AUTH, VEIL_ERR_TX_DECRYPT_FAILED);
    TRY(st);
    out->payload_len = (*cm)->ciphertext.len - VEIL_AEAD_TAG_LEN;
    tx_msg_free(&(*cm)->base, env->alloc);
    *cm = NULL;
    /* 8 */
    TRY(tx_payload_unpack(out->payload, out->payload_len, env->alloc, pm));
    /* 9: checked before the body is decoded, so nothing unsigned is parsed further. */
    veil_tx_id(txid, (*pm)->body.data, (*pm)->body.len);
    ENSURE(memcmp(txid, pub->txid, VEIL_TX_ID_LEN) == 0, VEIL_ERR_TX_TXID_MISMATCH);
    /* 10 */
    TRY(veil_tx_body_decode((*pm)->body.data, (*pm)->body.len, env->alloc, &out->body));
    /* 11-22 */
    TRY(tx_check_body(env->params, pub, &out->body, (*pm)->n_witnesses));
    /* 23 */
    TRY(tx_check_fee(env->params, pub->fee, (*pm)->body.len, (*pm)->n_witnesses));
    /* 24-31 */
    if (out->body.kind == VEIL_TX_KIND_WITHDRAW)
        TRY(tx_check_withdraw(env, state, pub, &out->body, *pm));
    else
        TRY(tx_check_spend(env, state, pub, &out->body, *pm));

    out->kind = out->body.kind;
    memcpy(out->txid, pub->txid, VEIL_TX_ID_LEN);
    out->fee = pub->fee;
    out->key_epoch = pub->key_epoch;
    out->output_count = pub->output_count;
    if (out->kind != VEIL_TX_KIND_TRANSFER)
        memcpy(out->account, out->body.account, VEIL_TX_ADDRESS_LEN);
    if (out->kind == VEIL_TX_KIND_DEPOSIT) out->amount = out->body.amount;
    if (out->kind == VEIL_TX_KIND_WITHDRAW) {
        out->amount = state->account->unbonded;
        out->nonce = out->body.nonce;
    }
    return VEIL_OK;
}

veil_status veil_tx_validate(const veil_tx_env *env, const veil_tx_state *state,
                             const uint8_t *wire, size_t wire_len, veil_tx_outcome *out)
{
    veil_status st;
    veil_tx_wire pub;
    Veil__Tx__ConfidentialTx *cm = NULL;
    Veil__Tx__TxPayload *pm = NULL;

    ENSURE(out, VEIL_ERR_ARG);
    memset(out, 0, sizeof *out);
    ENSURE(env && env->params && env->params->chain_id && env->resolve && state,
           VEIL_ERR_ARG);
    ENSURE(env->params->fee_rule == VEIL_TX_FEE_EXACT ||
               env->params->fee_rule == VEIL_TX_FEE_AT_LEAST,
           VEIL_ERR_ARG);
    ENSURE(env->keys || env->n_keys == 0, VEIL_ERR_ARG);

    st = tx_validate_inner(env, state, wire, wire_len, out, &pub, &cm, &pm);

    tx_msg_free(cm ? &cm->base : NULL, env->alloc);
    tx_msg_free(pm ? &pm->base : NULL, env->alloc);
    if (st != VEIL_OK) veil_tx_outcome_wipe(out);
    return st;
}

void veil_tx_outcome_wipe(veil_tx_outcome *out)
{
    if (out) veil_wipe(out, sizeof *out);
}

void veil_tx_bloom_add(veil_bloom *bloom, const veil_tx_body *body)
{
    for (size_t i = 0; i < body->n_view_keys && i < VEIL_TX_MAX_VIEW_KEYS; i++)
        veil_bloom_add(bloom, body->view_keys[i]);
}
