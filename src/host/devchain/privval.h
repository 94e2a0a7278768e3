/* The validator key in CometBFT's priv_validator_key.json format:
 *   {"address": upper-hex first 20 bytes of SHA-256(pubkey),
 *    "pub_key": {"type": "tendermint/PubKeyEd25519", "value": base64(32 bytes)},
 *    "priv_key": {"type": "tendermint/PrivKeyEd25519", "value": base64(seed || pubkey)}}
 * so the same home directory can be handed to a real CometBFT node. The file is
 * created 0600 and refused when group/other can read it. Host only.
 */
#ifndef VEIL_HOST_DEVCHAIN_PRIVVAL_H
#define VEIL_HOST_DEVCHAIN_PRIVVAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "trusted/cmt/cmt_types.h"

#define PRIVVAL_FILE_MAX 4096

typedef struct privval_key {
    uint8_t sk[64]; /* libsodium secret key: seed || pubkey (CometBFT's priv_key bytes) */
    uint8_t pub_key[CMT_PUBKEY_LEN];
    uint8_t address[CMT_ADDRESS_LEN];
} privval_key;

/* Parses a key file's JSON text. Checks the type tags and lengths, that the public key
 * is the one the seed derives, and that the address matches: any mismatch is
 * VEIL_ERR_BAD_KEY (a hand-edited or corrupted file must not sign). */
VEIL_MUST_CHECK veil_status privval_parse(const char *json, size_t len, privval_key *out);

/* Reads and parses path; VEIL_ERR_PERMISSION if the file is group/other accessible. */
VEIL_MUST_CHECK veil_status privval_load(const char *path, privval_key *out);

/* A new random key. */
VEIL_MUST_CHECK veil_status privval_generate(privval_key *out);

/* The file's JSON text (malloc'd, caller frees after wiping: it holds the secret). */
VEIL_MUST_CHECK veil_status privval_render(const privval_key *k, char **json, size_t *len);

/* Ed25519 signature over msg. */
void privval_sign(const privval_key *k, const uint8_t *msg, size_t len,
                  uint8_t sig[static CMT_SIGNATURE_LEN]);

void privval_wipe(privval_key *k);

#endif
