/* libFuzzer target: confidential transaction decoding and validation.
 *
 * Every input is tried two ways against one fixed fixture (key, chain parameters,
 * account state, and a resolver that returns a fixed output for any outpoint):
 *   1. as a wire tx (ConfidentialTx bytes) fed to veil_tx_validate — the path an
 *      attacker controls end to end;
 *   2. as a TxPayload sealed under the fixture key (veil_tx_wire_seal) and then
 *      validated — so mutations reach the body rules, which random wire bytes almost
 *      never do past the AEAD.
 * Any crash, sanitizer report or broken invariant (abort) is a finding.
 *
 * Corpus: fuzz/corpus/tx_validate/, named <mode>-<expected code>-<what>, generated
 * and replayed by tests/test_tx.c (test "fuzz_corpus") through fuzz_tx_run_wire /
 * fuzz_tx_run_payload, which is why those and fuzz_tx_fixture are not static.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "trusted/tx/tx.h"

#define FUZZ_TX_CHAIN_ID "veil-fuzz"
#define FUZZ_TX_EPOCH 1
#define FUZZ_TX_BLOCK_TIME UINT64_C(1700000000)
#define FUZZ_TX_INPUT_VALUE UINT64_C(1000000)
#define FUZZ_TX_PAYLOAD_FEE UINT64_C(10000)
/* Resolver conventions, so the corpus can reach each state rule. */
#define FUZZ_TX_SPENT_INDEX 6     /* public input with this index is flagged spent */
#define FUZZ_TX_LOCKED_INDEX 7    /* resolves to an output locked past block time */
#define FUZZ_TX_N_OUTPUTS 8       /* higher indices are out of range */
#define FUZZ_TX_MISSING_BYTE 0xEE /* txids starting with this byte are not stored */

static bool g_ready;
static veil_tx_params g_params;
static veil_tx_epoch_key g_key;
static uint8_t g_owner_sk[32];
static uint8_t g_owner_pk[32];
static veil_tx_account g_account;
static veil_tx_outcome g_outcome; /* ~20 KiB: not on the stack */
static uint8_t g_wire[VEIL_TX_MAX_WIRE_LEN];

static void fuzz_tx_init(void)
{
    if (g_ready) return;
    if (veil_crypto_init() != VEIL_OK) abort();
    memset(g_owner_sk, 0x01, sizeof g_owner_sk);
    if (veil_schnorr_pubkey(g_owner_pk, g_owner_sk) != VEIL_OK) abort();
    g_params = (veil_tx_params){.chain_id = FUZZ_TX_CHAIN_ID,
                                .block_time = FUZZ_TX_BLOCK_TIME,
                                .fee_base = 1000,
                                .fee_per_byte = 1,
                                .fee_rule = VEIL_TX_FEE_AT_LEAST};
    g_key.epoch = FUZZ_TX_EPOCH;
    memset(g_key.key, 0x42, sizeof g_key.key);
    g_account = (veil_tx_account){.present = true,
                                  .bonded = 5000000,
                                  .unbonded = 2000000,
                                  .unbonded_from = FUZZ_TX_BLOCK_TIME - 100,
                                  .nonce = 3,
                                  .jailed_until = 0};
    memcpy(g_account.address, g_owner_pk, 32);
    g_ready = true;
}

/* The fixture, for the corpus generator in tests/test_tx.c. */
void fuzz_tx_fixture(veil_tx_params *params, veil_tx_epoch_key *key, uint8_t owner_sk[32],
                     veil_tx_account *account, uint64_t *input_value, uint64_t *payload_fee);
void fuzz_tx_fixture(veil_tx_params *params, veil_tx_epoch_key *key, uint8_t owner_sk[32],
                     veil_tx_account *account, uint64_t *input_value, uint64_t *payload_fee)
{
    fuzz_tx_init();
    *params = g_params;
    *key = g_key;
    memcpy(owner_sk, g_owner_sk, 32);
    *account = g_account;
    *input_value = FUZZ_TX_INPUT_VALUE;
    *payload_fee = FUZZ_TX_PAYLOAD_FEE;
}

static veil_status fuzz_tx_resolve(void *ctx, const uint8_t txid[VEIL_TX_ID_LEN], uint32_t index,
                                   veil_tx_output *out)
{
    (void)ctx;
    if (txid[0] == FUZZ_TX_MISSING_BYTE) return VEIL_ERR_TX_INPUT_NOT_FOUND;
    if (index >= FUZZ_TX_N_OUTPUTS) return VEIL_ERR_TX_OUTPUT_INDEX_OUT_OF_RANGE;
    memcpy(out->address, g_owner_pk, 32);
    out->value = FUZZ_TX_INPUT_VALUE;
    out->valid_from = index == FUZZ_TX_LOCKED_INDEX ? FUZZ_TX_BLOCK_TIME + 1 : 0;
    return VEIL_OK;
}

/* Invariants of an accepted tx. */
static void fuzz_tx_check_accepted(const uint8_t *wire, size_t len)
{
    const veil_tx_outcome *o = &g_outcome;
    veil_tx_wire pub;
    veil_bloom bloom;
    size_t n;

    if (o->payload_len > VEIL_TX_MAX_PAYLOAD_LEN) abort();
    if (o->kind != o->body.kind) abort();
    if (veil_tx_wire_decode(wire, len, NULL, &pub) != VEIL_OK) abort();
    if (pub.fee != o->fee || pub.key_epoch != o->key_epoch) abort();
    /* Canonical form: sealing the accepted plaintext again with the same public
     * parameters must give back exactly the bytes that were accepted. */
    if (veil_tx_wire_seal(o->payload, o->payload_len, pub.fee, pub.key_epoch, g_key.key,
                          pub.nonce, NULL, g_wire, sizeof g_wire, &n) != VEIL_OK)
        abort();
    if (n != len || memcmp(g_wire, wire, len) != 0) abort();
    veil_bloom_clear(&bloom);
    veil_tx_bloom_add(&bloom, &o->body);
    for (size_t i = 0; i < o->body.n_view_keys; i++)
        if (!veil_bloom_contains(&bloom, o->body.view_keys[i])) abort();
}

veil_status fuzz_tx_run_wire(const uint8_t *data, size_t size);
veil_status fuzz_tx_run_wire(const uint8_t *data, size_t size)
{
    veil_tx_wire pub;
    bool spent[VEIL_TX_MAX_INPUTS] = {false};
    size_t n_spent = 0;

    fuzz_tx_init();
    /* The node decodes the public part first to look up spent flags and the account. */
    if (veil_tx_wire_decode(data, size, NULL, &pub) == VEIL_OK) {
        n_spent = pub.n_inputs;
        for (size_t i = 0; i < pub.n_inputs; i++)
            spent[i] = pub.inputs[i].index == FUZZ_TX_SPENT_INDEX;
    }
    veil_tx_env env = {.params = &g_params, .keys = &g_key, .n_keys = 1,
                       .resolve = fuzz_tx_resolve, .resolve_ctx = NULL, .alloc = NULL};
    veil_tx_state state = {.spent = spent, .n_spent = n_spent, .account = &g_account};
    veil_status st = veil_tx_validate(&env, &state, data, size, &g_outcome);
    if (st == VEIL_OK) fuzz_tx_check_accepted(data, size);
    veil_tx_outcome_wipe(&g_outcome);
    return st;
}

veil_status fuzz_tx_run_payload(const uint8_t *data, size_t size);
veil_status fuzz_tx_run_payload(const uint8_t *data, size_t size)
{
    static const uint8_t nonce[VEIL_TX_NONCE_LEN] = {0};
    size_t n;

    fuzz_tx_init();
    veil_status st = veil_tx_wire_seal(data, size, FUZZ_TX_PAYLOAD_FEE, FUZZ_TX_EPOCH, g_key.key,
                                       nonce, NULL, g_wire, sizeof g_wire, &n);
    if (st != VEIL_OK) return st;
    /* g_wire is reused by the accepted-tx check; validate a copy. */
    static uint8_t wire[VEIL_TX_MAX_WIRE_LEN];
    memcpy(wire, g_wire, n);
    return fuzz_tx_run_wire(wire, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)fuzz_tx_run_wire(data, size);
    (void)fuzz_tx_run_payload(data, size);
    return 0;
}
