/* A client of the CometBFT-style JSON-RPC (URI form over HTTP GET) that the dev chain
 * and a real CometBFT node serve. Host only; thread-safe (one curl handle per call;
 * call curl_global_init once before using it from several threads). */
#ifndef VEIL_HOSTUTIL_RPC_CLIENT_H
#define VEIL_HOSTUTIL_RPC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/status.h"

/* GET <base_url>/<path_and_query>; *result receives the answer's "result" (a new
 * reference). Errors: VEIL_ERR_NET when the node cannot be reached or answers with a
 * JSON-RPC error (veil_error_detail has its message), VEIL_ERR_TOO_LARGE over max_body,
 * VEIL_ERR_DECODE for an answer that is not JSON-RPC. */
VEIL_MUST_CHECK veil_status veil_rpc_get(const char *base_url, const char *path_and_query,
                                         long timeout_ms, size_t max_body, json_t **result);

/* The hash of the block at `height` (block?height=H: block_id.hash), 64 hex digits: an
 * operator's light-client trust root. VEIL_ERR_NOT_FOUND if the node has no such block
 * yet. */
VEIL_MUST_CHECK veil_status veil_rpc_block_hash(const char *base_url, int64_t height,
                                                long timeout_ms, char hex[static 65]);

/* abci_query with a path (no data): the response value, decoded from base64, malloc'd.
 * VEIL_ERR_NOT_FOUND when the app answers with a non-zero code (detail: code and log). */
VEIL_MUST_CHECK veil_status veil_rpc_abci_query(const char *base_url, const char *path,
                                                long timeout_ms, uint8_t **value, size_t *len);

/* A record of the app's state with its SMT proof (docs/node.md, "Queries") and the
 * height of the state it is proven in (*height): abci_query with prove. *value is NULL
 * for a record the proof shows absent; *proof is the encoded proof. Both malloc'd. The
 * proof is checked against a verified app hash by whoever asks, not here.
 * VEIL_ERR_NOT_FOUND when the app answers with a non-zero code, VEIL_ERR_DECODE for an
 * answer without a proof or a height. */
VEIL_MUST_CHECK veil_status veil_rpc_abci_proof(const char *base_url, const char *path,
                                                long timeout_ms, int64_t *height,
                                                uint8_t **value, size_t *value_len,
                                                uint8_t **proof, size_t *proof_len);

/* The output records of n txids (1..256) and their proofs in one query
 * (`/outputs/<hex>,<hex>,...`, docs/node.md "Queries"): *value holds per txid u8
 * present || u32 BE length || record; proofs[i] (proof_lens[i] bytes) the encoded proof
 * of txid i; all in the state after *height. malloc'd; errors as veil_rpc_abci_proof. */
VEIL_MUST_CHECK veil_status veil_rpc_abci_outputs(const char *base_url,
                                                  const uint8_t (*txids)[32], size_t n,
                                                  long timeout_ms, int64_t *height,
                                                  uint8_t **value, size_t *value_len,
                                                  uint8_t **proofs, size_t *proof_lens);

#endif
