/* The checks of served tx data (tdbe_txdata.h). */
#include "trusted/tdbe/tdbe_txdata.h"

#include <string.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "trusted/state/smt_verify.h"
#include "trusted/tdbe/tdbe_member.h"
#include "trusted/tx/bloom.h"
#include "trusted/tx/tx.h"
#include "veil/node.pb-c.h"
#include "veil/tve.pb-c.h"

#define APP_HASH_MAX 64u

/* One payload against the outcome the record gives it. */
static veil_status tx_check(ProtobufCAllocator *a, const ProtobufCBinaryData *payload,
                            const uint8_t *outcome, size_t outcome_len, veil_tx_body *body,
                            veil_bloom *bloom, tdbe_tx_claim *claim)
{
    uint8_t txid[VEIL_TX_ID_LEN];
    veil_status st = veil_tx_payload_open(payload->data, payload->len, a, body, txid);
    /* Out of memory is this enclave's trouble, not the peer's lie. */
    ENSURE(st != VEIL_ERR_NOMEM && st != VEIL_ERR_TEE_OUT_OF_MEMORY, st);
    ENSURE(st == VEIL_OK, VEIL_ERR_TDBE_TX_MISMATCH);
    Veil__Tve__TxOutcome *o = veil__tve__tx_outcome__unpack(a, outcome_len, outcome);
    ENSURE(o != NULL, VEIL_ERR_TDBE_PROTOCOL);
    bool account = body->kind != VEIL_TX_KIND_TRANSFER;
    bool ok = o->base.n_unknown_fields == 0 && o->txid.len == VEIL_TX_ID_LEN &&
              memcmp(o->txid.data, txid, VEIL_TX_ID_LEN) == 0 && (int)o->kind == (int)body->kind &&
              o->output_count == body->n_outputs &&
              (account ? o->account.len == 32 && memcmp(o->account.data, body->account, 32) == 0
                       : o->account.len == 0) &&
              (body->kind != VEIL_TX_KIND_DEPOSIT || o->amount == body->amount) &&
              (body->kind != VEIL_TX_KIND_WITHDRAW || o->nonce == body->nonce);
    veil__tve__tx_outcome__free_unpacked(o, a);
    ENSURE(ok, VEIL_ERR_TDBE_TX_MISMATCH);
    veil_tx_bloom_add(bloom, body);
    memcpy(claim->txid, txid, VEIL_TX_ID_LEN);
    claim->output_count = (uint32_t)body->n_outputs;
    return VEIL_OK;
}

veil_status tdbe_block_check(ProtobufCAllocator *a, uint64_t height, const uint8_t *record,
                             size_t record_len, const ProtobufCBinaryData *payloads,
                             size_t n_payloads, tdbe_tx_claim *claims, size_t *bad)
{
    veil_reader r = veil_reader_init(record, record_len);
    const uint8_t *skip, *bloom_rec;
    uint8_t hl;
    uint32_t n;
    *bad = n_payloads;
    ENSURE(veil_read_u8(&r, &hl) == VEIL_OK && hl <= APP_HASH_MAX &&
               veil_read_view(&r, hl, &skip) == VEIL_OK &&
               veil_read_view(&r, VEIL_BLOOM_BYTES, &bloom_rec) == VEIL_OK &&
               veil_read_u32(&r, &n) == VEIL_OK && n <= TDBE_BLOCK_MAX_TXS,
           VEIL_ERR_TDBE_PROTOCOL);
    ENSURE(n == n_payloads, VEIL_ERR_TDBE_TX_MISMATCH);
    veil_bloom bloom;
    veil_bloom_clear(&bloom);
    ENSURE(a != NULL, VEIL_ERR_ARG);
    veil_tx_body *body = a->alloc(a->allocator_data, sizeof *body);
    ENSURE(body != NULL, VEIL_ERR_NOMEM);
    veil_status st = VEIL_OK;
    for (uint32_t i = 0; i < n && st == VEIL_OK; i++) {
        uint32_t len;
        const uint8_t *outcome;
        if (veil_read_u32(&r, &len) != VEIL_OK || veil_read_view(&r, len, &outcome) != VEIL_OK) {
            st = VEIL_ERR_TDBE_PROTOCOL;
            break;
        }
        st = tx_check(a, &payloads[i], outcome, len, body, &bloom, &claims[i]);
        claims[i].height = height;
        claims[i].index = i;
        veil_wipe(body, sizeof *body);
        if (st != VEIL_OK) *bad = i;
    }
    a->free(a->allocator_data, body);
    TRY(st);
    if (r.pos < r.len) {
        /* The verdicts of every tx the block asked about: its zeros are the n accepted. */
        uint32_t m, ok = 0, code;
        ENSURE(veil_read_u32(&r, &m) == VEIL_OK && m >= 1 && m <= TDBE_BLOCK_MAX_TXS,
               VEIL_ERR_TDBE_PROTOCOL);
        for (uint32_t i = 0; i < m; i++) {
            ENSURE(veil_read_u32(&r, &code) == VEIL_OK, VEIL_ERR_TDBE_PROTOCOL);
            ok += code == 0;
        }
        ENSURE(ok == n, VEIL_ERR_TDBE_TX_MISMATCH);
    }
    ENSURE(veil_reader_finish(&r) == VEIL_OK, VEIL_ERR_TDBE_PROTOCOL);
    ENSURE(veil_ct_equal(bloom.bits, bloom_rec, VEIL_BLOOM_BYTES), VEIL_ERR_TDBE_TX_MISMATCH);
    return VEIL_OK;
}

veil_status tdbe_output_check(ProtobufCAllocator *a, const uint8_t *proof, size_t proof_len,
                              const uint8_t app_hash[static 32], const tdbe_tx_claim *claim)
{
    const uint8_t *record;
    size_t record_len;
    TRY(tdbe_proven_record(proof, proof_len, app_hash, VEIL_SMT_NS_OUTPUT, claim->txid,
                           TDBE_TXID_LEN, &record, &record_len));
    ENSURE(record != NULL, VEIL_ERR_TDBE_TX_NOT_ON_CHAIN); /* proven absent */
    Veil__Node__OutputStatus *o = veil__node__output_status__unpack(a, record_len, record);
    ENSURE(o != NULL, VEIL_ERR_TDBE_MEMBERSHIP_PROOF);
    bool ok = o->output_count == claim->output_count && o->height == claim->height;
    veil__node__output_status__free_unpacked(o, a);
    return ok ? VEIL_OK : VEIL_ERR_TDBE_TX_NOT_ON_CHAIN;
}
