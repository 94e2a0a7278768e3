/* CometBFT v0.38 genesis.json: what the dev chain reads from it and writes with
 * `veil devchain init`. Field names, nesting and encodings are CometBFT's
 * (types.GenesisDoc), so a real CometBFT node accepts the same file:
 *   genesis_time (RFC 3339), chain_id (1..50 bytes), initial_height (decimal string),
 *   consensus_params {block {max_bytes, max_gas}, evidence {max_age_num_blocks,
 *   max_age_duration (ns), max_bytes}, validator {pub_key_types}, version {app},
 *   abci {vote_extensions_enable_height}} (optional; CometBFT's defaults when absent),
 *   validators [{address, pub_key {type, value}, power, name}], app_hash (hex),
 *   app_state (any JSON; handed to InitChain as app_state_bytes, byte for byte as it
 *   appears in the file, like CometBFT's json.RawMessage).
 * The dev chain signs alone, so exactly one Ed25519 validator is required. Host only.
 */
#ifndef VEIL_HOST_DEVCHAIN_GENESIS_H
#define VEIL_HOST_DEVCHAIN_GENESIS_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "trusted/cmt/cmt_types.h"

#define GENESIS_FILE_MAX ((size_t)64 << 20)

/* CometBFT v0.38 defaults (types.DefaultConsensusParams). */
#define GENESIS_DEFAULT_BLOCK_MAX_BYTES 22020096
#define GENESIS_DEFAULT_BLOCK_MAX_GAS (-1)
#define GENESIS_DEFAULT_EVIDENCE_MAX_AGE_BLOCKS 100000
#define GENESIS_DEFAULT_EVIDENCE_MAX_AGE_NS 172800000000000LL /* 48 h */
#define GENESIS_DEFAULT_EVIDENCE_MAX_BYTES 1048576
#define GENESIS_DEFAULT_POWER 10

typedef struct genesis_doc {
    cmt_timestamp genesis_time;
    char chain_id[CMT_MAX_CHAIN_ID_LEN + 1];
    int64_t initial_height;
    int64_t block_max_bytes;
    int64_t block_max_gas;
    int64_t evidence_max_age_num_blocks;
    int64_t evidence_max_age_duration_ns;
    int64_t evidence_max_bytes;
    uint64_t version_app;
    int64_t vote_extensions_enable_height;
    cmt_validator validator;
    uint8_t validator_address[CMT_ADDRESS_LEN];
    cmt_bytes app_hash;
    uint8_t *app_state; /* raw JSON bytes of "app_state" (malloc'd), NULL if absent */
    size_t app_state_len;
    uint8_t file_hash[CMT_HASH_LEN]; /* SHA-256 of the file: the block store pins it */
} genesis_doc;

/* VEIL_ERR_MALFORMED (with a reason via veil_error_detail) for anything CometBFT
 * would refuse, or that this single-validator chain cannot run. */
VEIL_MUST_CHECK veil_status genesis_parse(const uint8_t *text, size_t len, genesis_doc *out);
VEIL_MUST_CHECK veil_status genesis_load(const char *path, genesis_doc *out);
void genesis_free(genesis_doc *g);

/* Renders a new genesis file (indented, CometBFT's key order) with CometBFT's default
 * consensus params and one validator. app_state may be NULL (field omitted) or JSON
 * text. *text is malloc'd. VEIL_ERR_MALFORMED if app_state is not JSON. */
VEIL_MUST_CHECK veil_status genesis_render(const char *chain_id, const cmt_timestamp *time,
                                           const uint8_t pub_key[static CMT_PUBKEY_LEN],
                                           int64_t power, const uint8_t *app_state,
                                           size_t app_state_len, char **text, size_t *len);


#endif
