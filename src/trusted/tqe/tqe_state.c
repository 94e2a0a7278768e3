/* Proven chain state for TQE orders (tqe_state.h). */
#include "trusted/tqe/tqe_state.h"

#include <string.h>

#include "common/cursor.h"
#include "trusted/state/smt_verify.h"
#include "veil/node.pb-c.h"

static void key_set(tqe_state_key *k, uint8_t ns, const void *id, size_t id_len)
{
    k->ns = ns;
    k->id_len = (uint8_t)id_len;
    memcpy(k->id, id, id_len);
}

size_t tqe_state_keys(const veil_tx_body *body, tqe_state_key keys[static TQE_STATE_MAX_KEYS])
{
    size_t n = 0;
    key_set(&keys[n++], VEIL_SMT_NS_PARAM, TQE_STATE_PARAMS_ID, sizeof TQE_STATE_PARAMS_ID - 1);
    if (body->kind == VEIL_TX_KIND_DEPOSIT || body->kind == VEIL_TX_KIND_WITHDRAW)
        key_set(&keys[n++], VEIL_SMT_NS_ACCOUNT, body->account, VEIL_TX_ADDRESS_LEN);
    for (size_t i = 0; i < body->n_inputs && i < VEIL_TX_MAX_INPUTS; i++)
        key_set(&keys[n++], VEIL_SMT_NS_OUTPUT, body->inputs[i].txid, VEIL_TX_ID_LEN);
    return n;
}

veil_status tqe_state_request_encode(const tqe_state_key *keys, size_t n, uint8_t *out,
                                     size_t cap, size_t *out_len)
{
    ENSURE(n >= 1 && n <= TQE_STATE_MAX_KEYS, VEIL_ERR_ARG);
    size_t len = 1;
    for (size_t i = 0; i < n; i++) len += 2u + keys[i].id_len;
    ENSURE(len <= cap, VEIL_ERR_BUFFER_TOO_SMALL);
    out[0] = (uint8_t)n;
    size_t p = 1;
    for (size_t i = 0; i < n; i++) {
        ENSURE(keys[i].id_len >= 1 && keys[i].id_len <= 32, VEIL_ERR_ARG);
        out[p++] = keys[i].ns;
        out[p++] = keys[i].id_len;
        memcpy(out + p, keys[i].id, keys[i].id_len);
        p += keys[i].id_len;
    }
    *out_len = p;
    return VEIL_OK;
}

veil_status tqe_state_request_decode(const uint8_t *in, size_t len,
                                     tqe_state_key keys[static TQE_STATE_MAX_KEYS], size_t *n)
{
    ENSURE(len >= 1 && in[0] >= 1 && in[0] <= TQE_STATE_MAX_KEYS, VEIL_ERR_MALFORMED);
    size_t p = 1;
    for (size_t i = 0; i < in[0]; i++) {
        ENSURE(len - p >= 2 && in[p + 1] >= 1 && in[p + 1] <= 32 &&
                   len - p - 2 >= in[p + 1],
               VEIL_ERR_MALFORMED);
        key_set(&keys[i], in[p], in + p + 2, in[p + 1]);
        p += 2u + in[p + 1];
    }
    ENSURE(p == len, VEIL_ERR_MALFORMED);
    *n = in[0];
    return VEIL_OK;
}

veil_status tqe_state_answer_height(const uint8_t *in, size_t len, int64_t *height)
{
    ENSURE(len >= 8 && len <= TQE_STATE_ANSWER_MAX && veil_get_u64(in) >= 1 &&
               veil_get_u64(in) <= INT64_MAX,
           VEIL_ERR_TQE_STATE_PROOF);
    *height = (int64_t)veil_get_u64(in);
    return VEIL_OK;
}

veil_status tqe_state_answer_begin(int64_t height, uint8_t *out, size_t cap, size_t *len)
{
    ENSURE(height >= 1, VEIL_ERR_ARG);
    ENSURE(cap >= 8, VEIL_ERR_BUFFER_TOO_SMALL);
    veil_put_u64(out, (uint64_t)height);
    *len = 8;
    return VEIL_OK;
}

veil_status tqe_state_answer_add(const uint8_t *record, size_t record_len, const uint8_t *proof,
                                 size_t proof_len, uint8_t *out, size_t cap, size_t *len)
{
    if (record == NULL) record_len = 0;
    ENSURE(record_len <= TQE_STATE_RECORD_MAX && proof_len <= VEIL_SMT_PROOF_MAX_LEN,
           VEIL_ERR_TOO_LARGE);
    ENSURE(*len <= cap && cap - *len >= 9u + record_len + proof_len, VEIL_ERR_BUFFER_TOO_SMALL);
    uint8_t *p = out + *len;
    p[0] = record != NULL;
    veil_put_u32(p + 1, (uint32_t)record_len);
    if (record_len > 0) memcpy(p + 5, record, record_len);
    veil_put_u32(p + 5 + record_len, (uint32_t)proof_len);
    if (proof_len > 0) memcpy(p + 9 + record_len, proof, proof_len);
    *len += 9u + record_len + proof_len;
    return VEIL_OK;
}

/* Reads the next record of an answer at *pos and verifies it for key k: *record NULL
 * when proven absent. */
static veil_status next_record(const uint8_t *in, size_t len, size_t *pos,
                               const uint8_t app_hash[static 32], const tqe_state_key *k,
                               veil_smt_proof *proof, const uint8_t **record, size_t *record_len)
{
    size_t p = *pos;
    ENSURE(len - p >= 5 && in[p] <= 1, VEIL_ERR_TQE_STATE_PROOF);
    bool present = in[p] == 1;
    uint32_t rn = veil_get_u32(in + p + 1);
    ENSURE(rn <= TQE_STATE_RECORD_MAX && (present || rn == 0) && len - p - 5 >= rn &&
               len - p - 5 - rn >= 4,
           VEIL_ERR_TQE_STATE_PROOF);
    const uint8_t *rec = in + p + 5;
    uint32_t pn = veil_get_u32(rec + rn);
    ENSURE(pn <= VEIL_SMT_PROOF_MAX_LEN && len - p - 9 - rn >= pn, VEIL_ERR_TQE_STATE_PROOF);
    veil_status st = veil_smt_proof_decode(rec + rn + 4, pn, proof);
    if (st == VEIL_OK)
        st = veil_smt_verify_record(app_hash, k->ns, k->id, k->id_len, present ? rec : NULL, rn,
                                    proof);
    ENSURE(st == VEIL_OK, VEIL_ERR_TQE_STATE_PROOF);
    *record = present ? rec : NULL;
    *record_len = rn;
    *pos = p + 9u + rn + pn;
    return VEIL_OK;
}

static veil_status take_params(ProtobufCAllocator *a, const uint8_t *rec, size_t n,
                               tqe_chain_state *out)
{
    ENSURE(rec != NULL, VEIL_ERR_TQE_STATE_PROOF); /* a chain always has parameters */
    Veil__Node__Params *p = veil__node__params__unpack(a, n, rec);
    ENSURE(p != NULL, VEIL_ERR_TQE_STATE_PROOF);
    bool ok = p->fee_rule == 1 || p->fee_rule == 2;
    out->fee_rule = p->fee_rule;
    out->fee_base = p->fee_base;
    out->fee_per_byte = p->fee_per_byte;
    veil__node__params__free_unpacked(p, a);
    return ok ? VEIL_OK : VEIL_ERR_TQE_STATE_PROOF;
}

static veil_status take_account(ProtobufCAllocator *a, const uint8_t *rec, size_t n,
                                const uint8_t address[static 32], tqe_chain_state *out)
{
    if (rec == NULL) return VEIL_OK; /* proven absent */
    Veil__Node__Account *acc = veil__node__account__unpack(a, n, rec);
    ENSURE(acc != NULL, VEIL_ERR_TQE_STATE_PROOF);
    bool ok = acc->address.len == 32 && memcmp(acc->address.data, address, 32) == 0;
    out->account.present = true;
    memcpy(out->account.address, address, 32);
    out->account.bonded = acc->bonded;
    out->account.unbonded = acc->unbonded;
    out->account.unbonded_from = acc->unbonded_from;
    out->account.nonce = acc->nonce;
    out->account.jailed_until = acc->jailed_until;
    veil__node__account__free_unpacked(acc, a);
    return ok ? VEIL_OK : VEIL_ERR_TQE_STATE_PROOF;
}

/* An input's spent flag from its tx's output status; a tx the chain does not have
 * spends nothing (the TVE then finds no such input). */
static veil_status take_spent(ProtobufCAllocator *a, const uint8_t *rec, size_t n,
                              uint32_t index, bool *spent)
{
    *spent = false;
    if (rec == NULL) return VEIL_OK;
    Veil__Node__OutputStatus *os = veil__node__output_status__unpack(a, n, rec);
    ENSURE(os != NULL, VEIL_ERR_TQE_STATE_PROOF);
    *spent = index < 64 && ((os->spent >> index) & 1u) != 0;
    veil__node__output_status__free_unpacked(os, a);
    return VEIL_OK;
}

veil_status tqe_state_verify(ProtobufCAllocator *a, const uint8_t *answer, size_t len,
                             const uint8_t app_hash[static 32], const veil_tx_body *body,
                             tqe_chain_state *out)
{
    tqe_state_key keys[TQE_STATE_MAX_KEYS];
    size_t n = tqe_state_keys(body, keys), pos = 8, k = 0;
    memset(out, 0, sizeof *out);
    TRY(tqe_state_answer_height(answer, len, &out->height));
    veil_smt_proof *proof = a->alloc(a->allocator_data, sizeof *proof); /* about 8 KiB */
    ENSURE(proof != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    veil_status st = VEIL_OK;
    const uint8_t *rec = NULL;
    size_t rn = 0;
    if ((st = next_record(answer, len, &pos, app_hash, &keys[k++], proof, &rec, &rn)) == VEIL_OK)
        st = take_params(a, rec, rn, out);
    if (st == VEIL_OK &&
        (body->kind == VEIL_TX_KIND_DEPOSIT || body->kind == VEIL_TX_KIND_WITHDRAW) &&
        (st = next_record(answer, len, &pos, app_hash, &keys[k++], proof, &rec, &rn)) == VEIL_OK)
        st = take_account(a, rec, rn, body->account, out);
    for (size_t i = 0; st == VEIL_OK && i < body->n_inputs; i++)
        if ((st = next_record(answer, len, &pos, app_hash, &keys[k++], proof, &rec, &rn)) ==
            VEIL_OK)
            st = take_spent(a, rec, rn, body->inputs[i].index, &out->spent[i]);
    a->free(a->allocator_data, proof);
    if (st == VEIL_OK && (k != n || pos != len)) st = VEIL_ERR_TQE_STATE_PROOF;
    if (st == VEIL_OK) out->n_spent = body->n_inputs;
    return st;
}
