/* The node's public-state records: plain C views, their canonical protobuf encodings
 * (proto/veil/node.proto) and their places in the app-hash tree. Host only. */
#ifndef VEIL_CHAIN_NODE_RECORDS_H
#define VEIL_CHAIN_NODE_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "trusted/state/node_join.h"
#include "trusted/state/smt_verify.h"

#define NODE_ADDRESS_LEN 32
#define NODE_TXID_LEN 32
#define NODE_HASH_LEN 32
#define NODE_ATTESTATION_COLLATERAL_MAX 32768 /* compact JSON, bytes */
#define NODE_IAS_ROOT_MAX 8192 /* PEM, bytes */
/* Bits of node_params.attestation_accept: statuses 1..5 (never 0, UpToDate, always
 * accepted; never 6, Revoked). */
#define NODE_ATTESTATION_ACCEPT_MASK 0x3eu
#define NODE_MAX_OUTPUTS 64            /* = VEIL_TX_MAX_OUTPUTS: spent flags fit a u64 */
#define NODE_PARAMS_ID "chain"
/* Largest encoded record (an account with a node binding; params with collateral). */
#define NODE_RECORD_MAX (NODE_ATTESTATION_COLLATERAL_MAX + NODE_IAS_ROOT_MAX + 2048) /* + pins */

/* Fee rules: the values of veil.tve.FeeRule. */
#define NODE_FEE_EXACT 1u
#define NODE_FEE_AT_LEAST 2u

typedef struct node_binding {
    size_t enclave_pubkey_len;
    uint8_t enclave_pubkey[NODE_ENCLAVE_PUBKEY_MAX];
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint8_t quote_hash[32];
    bool quote_verified;
    uint64_t joined_at;
    bool has_validator; /* the join named a consensus key */
    uint8_t validator_pubkey[32];
} node_binding;

typedef struct node_account {
    uint8_t address[NODE_ADDRESS_LEN];
    uint64_t bonded;
    uint64_t unbonded;
    uint64_t unbonded_from;
    uint64_t nonce;
    uint64_t jailed_until;
    bool has_node;
    node_binding node;
} node_account;

typedef struct node_output {
    uint32_t output_count;
    uint64_t spent; /* bit i: output i spent */
    uint64_t height;
} node_output;

/* One identity a node join may bind (genesis params, docs/node.md). */
#define NODE_MAX_ENCLAVE_PINS 16
typedef struct node_enclave_pin {
    bool by_mrenclave; /* true: mrenclave; false: mrsigner + prodid + min_svn */
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint16_t prodid;
    uint16_t min_svn;
} node_enclave_pin;

typedef struct node_params {
    uint32_t fee_rule;
    uint64_t fee_base;
    uint64_t fee_per_byte;
    uint64_t unbonding_period;
    uint64_t key_epoch_blocks; /* 0: no rotation */
    uint64_t key_grace_blocks; /* 1..key_epoch_blocks (0 with key_epoch_blocks 0) */
    uint32_t max_validators;
    char attestation_collateral[NODE_ATTESTATION_COLLATERAL_MAX + 1]; /* "" = none */
    uint32_t attestation_accept; /* NODE_ATTESTATION_ACCEPT_MASK bits */
    char attestation_ias_root[NODE_IAS_ROOT_MAX + 1]; /* "" = none */
    uint64_t attestation_ias_max_age;                 /* seconds */
    size_t n_enclaves; /* accepted enclave identities for node joins */
    node_enclave_pin enclaves[NODE_MAX_ENCLAVE_PINS];
} node_params;

/* A validator named by a node join (namespace "validator", id = consensus key). */
typedef struct node_validator {
    uint8_t account[NODE_ADDRESS_LEN];
    int64_t power; /* last given to CometBFT; 0: not in its set (by us) */
} node_validator;
/* Voting power of a validator account: bonded / NODE_STAKE_PER_POWER, capped; 0 when
 * jailed. */
#define NODE_STAKE_PER_POWER 100u
#define NODE_MAX_POWER ((int64_t)1 << 40)

/* Bound on key_epoch_blocks and key_grace_blocks: heights computed from them never
 * overflow. */
#define NODE_KEY_EPOCH_BLOCKS_MAX ((uint64_t)1 << 40)

typedef struct node_key_epoch {
    uint64_t epoch;
    uint64_t start_height;
    size_t commitment_len; /* 0 or 32 */
    uint8_t commitment[32];
} node_key_epoch;

/* Encoders write the canonical protobuf encoding into out (cap bytes; NODE_RECORD_MAX
 * always suffices). Decoders accept only canonical encodings with valid shapes
 * (VEIL_ERR_MALFORMED): the store is ours, but a corrupted one must not be trusted. */
VEIL_MUST_CHECK veil_status node_account_encode(const node_account *a, uint8_t *out, size_t cap,
                                                size_t *len);
VEIL_MUST_CHECK veil_status node_account_decode(const uint8_t *in, size_t len, node_account *out);
VEIL_MUST_CHECK veil_status node_output_encode(const node_output *o, uint8_t *out, size_t cap,
                                               size_t *len);
VEIL_MUST_CHECK veil_status node_output_decode(const uint8_t *in, size_t len, node_output *out);
VEIL_MUST_CHECK veil_status node_params_encode(const node_params *p, uint8_t *out, size_t cap,
                                               size_t *len);
VEIL_MUST_CHECK veil_status node_params_decode(const uint8_t *in, size_t len, node_params *out);
VEIL_MUST_CHECK veil_status node_validator_encode(const node_validator *v, uint8_t *out,
                                                  size_t cap, size_t *len);
VEIL_MUST_CHECK veil_status node_validator_decode(const uint8_t *in, size_t len,
                                                  node_validator *out);
VEIL_MUST_CHECK veil_status node_key_epoch_encode(const node_key_epoch *e, uint8_t *out,
                                                  size_t cap, size_t *len);
VEIL_MUST_CHECK veil_status node_key_epoch_decode(const uint8_t *in, size_t len,
                                                  node_key_epoch *out);

/* Tree keys of each record (smt_verify.h namespaces). */
void node_smtkey_account(uint8_t key[static 32], const uint8_t address[static NODE_ADDRESS_LEN]);
void node_smtkey_output(uint8_t key[static 32], const uint8_t txid[static NODE_TXID_LEN]);
void node_smtkey_params(uint8_t key[static 32]);
void node_smtkey_epoch(uint8_t key[static 32], uint64_t epoch);

#endif
