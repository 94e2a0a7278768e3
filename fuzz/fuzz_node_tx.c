/* libFuzzer target: the node's ChainTx envelope and public-tx rules
 * (src/host/node/node_tx.c).
 *
 * Every input is decoded as a ChainTx for chain "veil-fuzz". Public txs are then
 * applied to a fixed account of the fixture key (and to a missing account); the
 * target aborts if a tx that passes breaks an invariant: the nonce advances by one,
 * stake is conserved, only the signing account changes.
 *
 * Corpus: fuzz/corpus/node_tx/, written by tests/test_node.c (run it with
 * VEIL_NODE_WRITE_CORPUS=<dir>): valid unbond / unjail / node join txs signed by the
 * fixture key (secret key 32 x 0x11), a confidential envelope and broken variants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "chain/node_tx.h"
#include "host/node/node_rules.h"

#define FUZZ_CHAIN "veil-fuzz"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static node_chain_tx *d;
    static uint8_t pk[32];
    if (d == NULL) {
        uint8_t sk[32];
        memset(sk, 0x11, sizeof sk);
        if (veil_crypto_init() != VEIL_OK || veil_schnorr_pubkey(pk, sk) != VEIL_OK) abort();
        d = malloc(sizeof *d);
        if (d == NULL) abort();
    }
    if (node_chain_tx_decode(data, size, FUZZ_CHAIN, d) != VEIL_OK) return 0;
    if (d->type == NODE_TX_CONFIDENTIAL) {
        if (d->conf < data || d->conf + d->conf_len != data + size) abort();
        return 0;
    }
    node_params params;
    memset(&params, 0, sizeof params);
    params.fee_rule = NODE_FEE_EXACT;
    params.unbonding_period = 100;
    node_account acc, next;
    memset(&acc, 0, sizeof acc);
    memcpy(acc.address, pk, 32);
    acc.bonded = 1000;
    acc.unbonded = 10;
    acc.jailed_until = 50;
    node_public_env env = {&params, "fuzz", 100, 1};
    const char *detail;
    if (node_public_apply(d, &env, NULL, &next, &detail) == VEIL_OK) abort();
    if (node_public_apply(d, &env, &acc, &next, &detail) != VEIL_OK) return 0;
    if (memcmp(next.address, acc.address, 32) != 0 || next.nonce != acc.nonce + 1) abort();
    if (next.bonded + next.unbonded != acc.bonded + acc.unbonded) abort();
    if (memcmp(d->pub.account, pk, 32) != 0) abort(); /* only the fixture key can sign */
    return 0;
}
