/* The TQE's chain-state answers (src/trusted/tqe/tqe_state.h) on hostile bytes: the
 * request decoder as a host reads it, and the answer verifier as the enclave reads a
 * host's answer — the bytes as a whole answer (which can prove nothing against a root
 * the fuzzer does not know), and as the parameters record, the account record, then an
 * input's output status, in a tree whose proofs do verify, so the record decoders see
 * them too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "trusted/state/smt_verify.h"
#include "trusted/tqe/tqe_state.h"

static void *sys_alloc(void *d, size_t n)
{
    (void)d;
    return malloc(n);
}
static void sys_free(void *d, void *p)
{
    (void)d;
    free(p);
}
static ProtobufCAllocator g_alloc = {sys_alloc, sys_free, NULL};

/* Appends a record with a proof of `bitmap` carrying `sibling` (if non-NULL). */
static void add(const uint8_t *rec, size_t n, int bit, const uint8_t *sibling, uint8_t *ans,
                size_t cap, size_t *len)
{
    uint8_t proof[64] = {0};
    size_t pn = 32;
    if (bit >= 0) {
        proof[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
        memcpy(proof + 32, sibling, 32);
        pn = 64;
    }
    if (tqe_state_answer_add(rec, n, proof, pn, ans, cap, len) != VEIL_OK) abort();
}

/* The root of a tree holding leaves a and b (keys ka, kb), and the depth where their
 * paths part. */
static int two_leaf_root(const uint8_t ka[32], const uint8_t la[32], const uint8_t kb[32],
                         const uint8_t lb[32], uint8_t root[32])
{
    int d = 0;
    while (veil_smt_bit(ka, (unsigned)d) == veil_smt_bit(kb, (unsigned)d)) d++;
    uint8_t h[32];
    if (veil_smt_bit(ka, (unsigned)d) == 0)
        veil_smt_node_hash(h, la, lb);
    else
        veil_smt_node_hash(h, lb, la);
    static const uint8_t zero[32] = {0};
    for (int i = d - 1; i >= 0; i--) {
        if (veil_smt_bit(ka, (unsigned)i) == 0)
            veil_smt_node_hash(h, h, zero);
        else
            veil_smt_node_hash(h, zero, h);
    }
    memcpy(root, h, 32);
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tqe_state_key keys[TQE_STATE_MAX_KEYS];
    size_t n = 0, len = 0;
    uint8_t buf[TQE_STATE_REQUEST_MAX];
    if (tqe_state_request_decode(data, size, keys, &n) == VEIL_OK) {
        if (tqe_state_request_encode(keys, n, buf, sizeof buf, &len) != VEIL_OK || len != size ||
            memcmp(buf, data, size) != 0)
            abort();
    }
    static veil_tx_body body; /* a deposit without inputs: parameters, then the account */
    memset(&body, 0, sizeof body);
    body.kind = VEIL_TX_KIND_DEPOSIT;
    memset(body.account, 0x5a, 32);
    static const uint8_t some_root[32] = {3};
    tqe_chain_state cs;
    if (tqe_state_verify(&g_alloc, data, size, some_root, &body, &cs) == VEIL_OK) abort();
    if (size > TQE_STATE_RECORD_MAX) return 0;

    /* The bytes as the parameters record, then as the account record (a deposit), then as
     * an input's output status (a transfer of one input), of a two-leaf tree whose other
     * record is a fixed valid one. */
    static const uint8_t params_ok[] = {0x08, 0x02};       /* fee_rule 2 */
    static const uint8_t output_ok[] = {0x08, 0x03, 0x10, 0x04}; /* 3 outputs, #2 spent */
    uint8_t account_ok[34] = {0x0a, 0x20};                   /* address = body.account */
    memcpy(account_ok + 2, body.account, 32);
    static veil_tx_body transfer;
    memset(&transfer, 0, sizeof transfer);
    transfer.kind = VEIL_TX_KIND_TRANSFER;
    transfer.n_inputs = 1;
    memset(transfer.inputs[0].txid, 0xa5, 32);
    transfer.inputs[0].index = 2;
    uint8_t kp[32], k2[32], vp[32], v2[32], lp[32], l2[32], root[32];
    veil_smt_key(kp, VEIL_SMT_NS_PARAM, (const uint8_t *)TQE_STATE_PARAMS_ID,
                 sizeof TQE_STATE_PARAMS_ID - 1);
    size_t cap = 16 + 2 * (TQE_STATE_RECORD_MAX + 128);
    uint8_t *ans = malloc(cap);
    if (ans == NULL) abort();
    for (int mode = 0; mode < 3; mode++) {
        const veil_tx_body *b = mode == 2 ? &transfer : &body;
        const uint8_t *rp = mode == 0 ? data : params_ok;
        size_t np = mode == 0 ? size : sizeof params_ok;
        const uint8_t *r2 = mode == 0 ? account_ok : data;
        size_t n2 = mode == 0 ? sizeof account_ok : size;
        if (mode == 2)
            veil_smt_key(k2, VEIL_SMT_NS_OUTPUT, transfer.inputs[0].txid, 32);
        else
            veil_smt_key(k2, VEIL_SMT_NS_ACCOUNT, body.account, 32);
        veil_smt_value_hash(vp, rp, np);
        veil_smt_value_hash(v2, r2, n2);
        veil_smt_leaf_hash(lp, kp, vp);
        veil_smt_leaf_hash(l2, k2, v2);
        int d = two_leaf_root(kp, lp, k2, l2, root);
        if (tqe_state_answer_begin(5, ans, cap, &len) != VEIL_OK) abort();
        add(rp, np, d, l2, ans, cap, &len);
        add(r2, n2, d, lp, ans, cap, &len);
        veil_status st = tqe_state_verify(&g_alloc, ans, len, root, b, &cs);
        if (st != VEIL_OK && st != VEIL_ERR_TQE_STATE_PROOF) abort();
        if (st == VEIL_OK && (cs.height != 5 || (cs.fee_rule != 1 && cs.fee_rule != 2)))
            abort();
        if (st == VEIL_OK && mode < 2 &&
            (!cs.account.present || memcmp(cs.account.address, body.account, 32) != 0 ||
             cs.n_spent != 0))
            abort();
        if (st == VEIL_OK && mode == 2 && (cs.account.present || cs.n_spent != 1)) abort();
        /* The valid records must verify: the harness itself is checked. */
        const uint8_t *ok = mode == 0 ? params_ok : mode == 1 ? account_ok : output_ok;
        size_t ok_len = mode == 0 ? sizeof params_ok
                        : mode == 1 ? sizeof account_ok
                                    : sizeof output_ok;
        if (size == ok_len && memcmp(data, ok, size) == 0 &&
            (st != VEIL_OK || (mode == 2 && !cs.spent[0])))
            abort();
        /* The same answer against another root proves nothing. */
        root[31] ^= 1;
        if (tqe_state_verify(&g_alloc, ans, len, root, b, &cs) != VEIL_ERR_TQE_STATE_PROOF)
            abort();
    }
    free(ans);
    return 0;
}
