/* One tx through the enclave: the ocalls that serve E_VERIFY and E_ENCRYPT, the
 * E_VERIFY call itself, and staging of a DELIVER result. Shared by verify-tx (service
 * thread) and verify-block (worker threads), so everything here is thread-safe. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "common/cursor.h"
#include "host/tve/tve_internal.h"
#include "trusted/tx/tx.h"


/* --- ocalls ------------------------------------------------------------------------ */
/* TVE_O_GET_SEALED: in = txid (32); out = sealed tx, empty if unknown. Staged txs of
 * the block being built come first (a tx may spend an output created earlier in the
 * same block), then the committed store. */
static veil_status ocall_get_sealed(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                                    size_t out_cap, size_t *out_len)
{
    const tve_call_ctx *cc = ctx;
    tve_service *s = cc->s;
    ENSURE(in_len == TVE_TXID_LEN, VEIL_ERR_ARG);
    veil_status st = VEIL_OK;
    bool found = false;
    pthread_rwlock_rdlock(&s->staging_lock);
    const tve_staged *x = tve_staging_find(&s->staging, in, cc->visible);
    if (x != NULL) {
        found = true;
        if (x->sealed_len > out_cap) {
            st = VEIL_ERR_BUFFER_TOO_SMALL;
        } else {
            memcpy(out, x->sealed, x->sealed_len);
            *out_len = x->sealed_len;
        }
    }
    pthread_rwlock_unlock(&s->staging_lock);
    if (found) return st;
    st = tve_store_tx_get(s->store, in, out, out_cap, out_len);
    if (st == VEIL_ERR_NOT_FOUND) {
        *out_len = 0;
        return VEIL_OK;
    }
    return st;
}

/* Spent by a staged tx below block position `visible`, or by a committed one. */
static veil_status host_is_spent(tve_service *s, const uint8_t outpoint[static TVE_OUTPOINT_LEN],
                                 uint32_t visible, bool *spent)
{
    pthread_rwlock_rdlock(&s->staging_lock);
    *spent = tve_staging_spends(&s->staging, outpoint, visible);
    pthread_rwlock_unlock(&s->staging_lock);
    if (*spent) return VEIL_OK;
    return tve_store_is_spent(s->store, outpoint, spent);
}

static const tee_ocall_fn g_tve_ocalls[] = {
    [TVE_O_GET_SEALED] = ocall_get_sealed,
};

tee_ocall_table tve_ocall_table(tve_service *s)
{
    s->committed_view = (tve_call_ctx){s, 0};
    tee_ocall_table t = {g_tve_ocalls, sizeof g_tve_ocalls / sizeof g_tve_ocalls[0],
                         &s->committed_view};
    return t;
}

/* --- E_VERIFY ---------------------------------------------------------------------- */
veil_status tve_job_prepare(tve_tx_job *job)
{
    job->shaped = false;
    if (job->ctx == NULL) return VEIL_OK;
    if (job->wire == NULL) job->wire = malloc(sizeof *job->wire);
    ENSURE(job->wire != NULL, VEIL_ERR_NOMEM);
    veil_status st = veil_tx_wire_decode(job->ctx->tx.data, job->ctx->tx.len, NULL, job->wire);
    if (st == VEIL_ERR_NOMEM) return st;
    job->shaped = st == VEIL_OK;
    return VEIL_OK;
}

void tve_job_release(tve_tx_job *job)
{
    free(job->wire);
    job->wire = NULL;
    job->shaped = false;
}

static void outpoint_key(uint8_t key[static TVE_OUTPOINT_LEN], const veil_tx_outpoint *op)
{
    memcpy(key, op->txid, TVE_TXID_LEN);
    veil_put_u32(key + TVE_TXID_LEN, op->index);
}

/* The node's spent flags, OR-ed with what this host knows (staged and committed
 * spends). The enclave applies them; the host passes more truth, never less. */
static veil_status job_spent_flags(tve_service *s, const tve_tx_job *job, uint32_t visible,
                                   protobuf_c_boolean *flags)
{
    const Veil__Tve__TxContext *c = job->ctx;
    for (size_t i = 0; i < c->n_input_spent; i++) flags[i] = c->input_spent[i];
    /* A count that disagrees with the tx is the enclave's to reject (VEIL_ERR_ARG). */
    if (!job->shaped || c->n_input_spent != job->wire->n_inputs) return VEIL_OK;
    for (size_t i = 0; i < c->n_input_spent; i++) {
        if (flags[i]) continue;
        uint8_t key[TVE_OUTPOINT_LEN];
        bool spent;
        outpoint_key(key, &job->wire->inputs[i]);
        TRY(host_is_spent(s, key, visible, &spent));
        flags[i] = spent;
    }
    return VEIL_OK;
}

static veil_status job_verify(tve_service *s, tve_tx_job *job, Veil__Tve__Mode mode,
                              uint64_t height, const Veil__Tve__ChainParams *params)
{
    const Veil__Tve__TxContext *c = job->ctx;
    uint8_t *call_buf = NULL, *out = NULL;
    protobuf_c_boolean *flags = NULL;
    veil_status st = VEIL_OK;

    ENSURE(c != NULL, VEIL_ERR_TX_MALFORMED);
    /* CHECK validates against committed state; a DELIVER sees the block before it. */
    uint32_t visible = mode == VEIL__TVE__MODE__DELIVER ? job->index : 0;
    /* Bound the tx and the flags before allocating for them: the enclave refuses
     * larger ones with the same codes. */
    ENSURE(c->tx.len <= VEIL_TX_MAX_WIRE_LEN, VEIL_ERR_TX_TOO_LARGE);
    ENSURE(c->n_input_spent <= VEIL_TX_MAX_INPUTS, VEIL_ERR_TX_TOO_MANY_INPUTS);
    flags = calloc(c->n_input_spent ? c->n_input_spent : 1, sizeof *flags);
    out = malloc(TVE_VERIFY_OUT_MAX);
    ENSURE_OUT(flags != NULL && out != NULL, VEIL_ERR_NOMEM);
    TRY_OUT(job_spent_flags(s, job, visible, flags));

    Veil__Tve__Enclave__VerifyCall call = VEIL__TVE__ENCLAVE__VERIFY_CALL__INIT;
    call.mode = mode;
    call.height = mode == VEIL__TVE__MODE__DELIVER ? height : 0;
    call.params = (Veil__Tve__ChainParams *)params;
    call.tx = c->tx; /* the block's bytes, as the node sent them */
    call.n_input_spent = c->n_input_spent;
    call.input_spent = flags;
    call.account = c->account;
    size_t call_len = protobuf_c_message_get_packed_size(&call.base);
    call_buf = malloc(call_len ? call_len : 1);
    ENSURE_OUT(call_buf != NULL, VEIL_ERR_NOMEM);
    protobuf_c_message_pack(&call.base, call_buf);

    tve_call_ctx cc = {s, visible}; /* what this ecall's ocalls may see */
    size_t out_len = 0;
    TRY_OUT(tee_enclave_call_ctx(s->enclave, TVE_E_VERIFY, call_buf, call_len, out,
                                 TVE_VERIFY_OUT_MAX, &out_len, &cc));
    job->result = veil__tve__enclave__verify_result__unpack(NULL, out_len, out);
    ENSURE_OUT(job->result != NULL, VEIL_ERR_TEE_ENCLAVE_FAULT);
    /* The enclave is trusted, but a result that does not describe this tx would be
     * staged under the wrong txid: cheap to refuse. */
    const Veil__Tve__TxOutcome *o = job->result->outcome;
    ENSURE_OUT(o != NULL && o->txid.len == TVE_TXID_LEN && job->shaped &&
                   memcmp(o->txid.data, job->wire->txid, TVE_TXID_LEN) == 0,
               VEIL_ERR_TEE_ENCLAVE_FAULT);
    if (mode == VEIL__TVE__MODE__DELIVER)
        ENSURE_OUT(job->result->sealed_tx.len > 0 &&
                       job->result->sealed_tx.len <= TVE_SEALED_TX_MAX,
                   VEIL_ERR_TEE_ENCLAVE_FAULT);
out:
    if (st != VEIL_OK && job->result != NULL) {
        veil__tve__enclave__verify_result__free_unpacked(job->result, NULL);
        job->result = NULL;
    }
    free(flags);
    free(call_buf);
    free(out);
    return st;
}

void tve_job_verify(tve_service *s, tve_tx_job *job, Veil__Tve__Mode mode, uint64_t height,
                    const Veil__Tve__ChainParams *params)
{
    job->result = NULL;
    job->st = job_verify(s, job, mode, height, params);
}

veil_status tve_job_stage(tve_service *s, const tve_tx_job *job)
{
    const Veil__Tve__Enclave__VerifyResult *r = job->result;
    uint8_t *outcome = NULL;
    veil_status st = VEIL_OK;

    ENSURE(job->st == VEIL_OK && r != NULL && job->shaped, VEIL_ERR_INTERNAL);
    size_t outcome_len = protobuf_c_message_get_packed_size(&r->outcome->base);
    outcome = malloc(outcome_len ? outcome_len : 1);
    ENSURE(outcome != NULL, VEIL_ERR_NOMEM);
    protobuf_c_message_pack(&r->outcome->base, outcome);
    pthread_rwlock_wrlock(&s->staging_lock);
    st = tve_staging_add(&s->staging, job->index, job->wire->txid, r->sealed_tx.data,
                         r->sealed_tx.len, outcome, outcome_len, job->wire->inputs,
                         job->wire->n_inputs);
    pthread_rwlock_unlock(&s->staging_lock);
    free(outcome);
    return st;
}

/* --- E_END_BLOCK ------------------------------------------------------------------- */
veil_status tve_enclave_end_block(tve_service *s, uint64_t height,
                                  uint8_t bloom[static TVE_BLOOM_LEN])
{
    Veil__Tve__Enclave__EndBlockCall call = VEIL__TVE__ENCLAVE__END_BLOCK_CALL__INIT;
    uint8_t in[16], out[TVE_BLOOM_LEN + 16];
    size_t out_len = 0;
    call.height = height;
    size_t in_len = protobuf_c_message_pack(&call.base, in);
    TRY(tee_enclave_call(s->enclave, TVE_E_END_BLOCK, in, in_len, out, sizeof out, &out_len));
    Veil__Tve__Enclave__EndBlockResult *r =
        veil__tve__enclave__end_block_result__unpack(NULL, out_len, out);
    ENSURE(r != NULL, VEIL_ERR_TEE_ENCLAVE_FAULT);
    veil_status st = r->bloom.len == TVE_BLOOM_LEN ? VEIL_OK : VEIL_ERR_TEE_ENCLAVE_FAULT;
    if (st == VEIL_OK) memcpy(bloom, r->bloom.data, TVE_BLOOM_LEN);
    veil__tve__enclave__end_block_result__free_unpacked(r, NULL);
    return st;
}
