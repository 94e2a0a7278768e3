/* The on-chain tx envelope (ChainTx) and the public txs the node validates itself.
 *
 * A ChainTx is what CometBFT carries: at most NODE_CHAIN_TX_MAX bytes (checked before
 * anything is decoded), canonical protobuf, exactly one of
 *   confidential  a veil.tx.ConfidentialTx: only its public fields are decoded here
 *                 (veil_tx_wire_decode); the TVE validates the rest;
 *   public        a PublicTx (unbond, unjail, node join) signed by the account key;
 *   key_epoch     a KeyEpochCommit: the next epoch key's commitment, valid only in a
 *                 block built by the proposer it names (docs/key-epochs.md).
 * Encoding, decoding and signing only (the chain protocol library that wallets and tools
 * link without the node); the node's rules are host/node/node_rules.h. Error codes:
 * docs/node.md, "Transactions".
 */
#ifndef VEIL_CHAIN_NODE_TX_H
#define VEIL_CHAIN_NODE_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "chain/node_records.h"
#include "trusted/state/node_join.h"
#include "trusted/tx/tx.h"

#define NODE_CHAIN_TX_MAX 65536u
#define NODE_QUOTE_MAX 8192u /* = TEE_QUOTE_MAX_LEN */
#define NODE_IAS_REPORT_MAX 16384u /* a node join's attestation report (CBOR) */
#define NODE_PUBLIC_TX_TAG "veil/public-tx/v1"

typedef enum node_tx_type {
    NODE_TX_CONFIDENTIAL = 1,
    NODE_TX_PUBLIC = 2,
    NODE_TX_KEY_EPOCH = 3,
} node_tx_type;

#define NODE_PROPOSER_ADDRESS_LEN 20 /* CometBFT: SHA-256(consensus key)[:20] */

/* A key-epoch tx. */
typedef struct node_key_epoch_tx {
    uint64_t epoch;
    uint8_t commitment[32];
    uint8_t proposer[NODE_PROPOSER_ADDRESS_LEN];
} node_key_epoch_tx;

/* Values are the PublicTx oneof field numbers. */
typedef enum node_public_kind {
    NODE_PUBLIC_UNBOND = 1,
    NODE_PUBLIC_UNJAIL = 2,
    NODE_PUBLIC_NODE_JOIN = 3,
} node_public_kind;

typedef struct node_public_tx {
    node_public_kind kind;
    uint8_t account[NODE_ADDRESS_LEN];
    uint64_t nonce;
    uint64_t amount; /* unbond */
    /* node join */
    size_t enclave_pubkey_len;
    uint8_t enclave_pubkey[NODE_ENCLAVE_PUBKEY_MAX];
    size_t quote_len;
    uint8_t quote[NODE_QUOTE_MAX];
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    size_t ias_report_len; /* 0: none */
    uint8_t ias_report[NODE_IAS_REPORT_MAX];
    bool has_validator; /* the join names a consensus key, with its signature */
    uint8_t validator_pubkey[32];
    uint8_t validator_signature[64];
    uint8_t signature[64];
} node_public_tx;

/* A decoded ChainTx. About 41 KiB: allocate it rather than nest many on a stack. */
typedef struct node_chain_tx {
    node_tx_type type;
    /* confidential: the ConfidentialTx bytes (a view into the decoded input) and its
     * public fields */
    const uint8_t *conf;
    size_t conf_len;
    veil_tx_wire wire;
    /* key_epoch */
    node_key_epoch_tx key_epoch;
    /* public: the tx and the hash its signature covers */
    node_public_tx pub;
    uint8_t sighash[32];
} node_chain_tx;

/* Decodes a ChainTx. chain_id goes into the public-tx signature hash. Errors:
 * VEIL_ERR_TX_TOO_LARGE over NODE_CHAIN_TX_MAX; VEIL_ERR_TX_MALFORMED for a
 * non-canonical or ill-shaped envelope or public tx; veil_tx_wire_decode's codes for a
 * confidential tx. *out is valid only while `tx` is. */
VEIL_MUST_CHECK veil_status node_chain_tx_decode(const uint8_t *tx, size_t len,
                                                 const char *chain_id, node_chain_tx *out);

/* The report data a node join's quote must carry: node_join_report_data
 * (trusted/state/node_join.h). */

/* What a node join's validator key signs (Ed25519), proving its holder asked:
 * SHA-256-tagged(NODE_VALIDATOR_KEY_TAG, u8 len(chain_id) || chain_id || account). */
#define NODE_VALIDATOR_KEY_TAG "veil/validator-key/v1"
VEIL_MUST_CHECK veil_status node_validator_key_message(const char *chain_id,
                                                       const uint8_t account[static 32],
                                                       uint8_t out[static 32]);

/* --- building (wallets, tools, tests) ------------------------------------------------ */
/* The hash a public tx's signature covers. VEIL_ERR_ARG on ill-shaped fields. */
VEIL_MUST_CHECK veil_status node_public_tx_sighash(const node_public_tx *tx, const char *chain_id,
                                                   uint8_t out[static 32]);
/* Signs tx (sets tx->signature) with the account's secret key. */
VEIL_MUST_CHECK veil_status node_public_tx_sign(node_public_tx *tx, const char *chain_id,
                                                const uint8_t sk[static 32]);
/* Encodes a ChainTx carrying the public tx. VEIL_ERR_BUFFER_TOO_SMALL. */
VEIL_MUST_CHECK veil_status node_public_tx_encode(const node_public_tx *tx, uint8_t *out,
                                                  size_t cap, size_t *len);
/* Encodes a ChainTx carrying a key-epoch tx. VEIL_ERR_BUFFER_TOO_SMALL. */
VEIL_MUST_CHECK veil_status node_key_epoch_tx_encode(const node_key_epoch_tx *tx, uint8_t *out,
                                                     size_t cap, size_t *len);
/* Encodes a ChainTx carrying a ConfidentialTx (its encoding as given). */
VEIL_MUST_CHECK veil_status node_confidential_tx_encode(const uint8_t *wire, size_t wire_len,
                                                        uint8_t *out, size_t cap, size_t *len);

#endif
