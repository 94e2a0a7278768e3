/* CometBFT's JSON renderings (libs/json, "cmtjson") of blocks, headers and commits,
 * and the reverse for tests and tools. The rules CometBFT follows and we copy:
 *   int64/uint64 -> decimal strings ("10"); int32/uint32 -> JSON numbers (round, total,
 *   block_id_flag); HexBytes (hashes, addresses) -> upper-case hex, "" when empty;
 *   []byte (txs, signatures, data) -> standard base64, null when empty; times ->
 *   RFC 3339 with nanoseconds (cmt_time.h); object keys in Go struct order.
 * Constructors return a new reference or NULL when out of memory (jansson's
 * convention). Parsers accept what CometBFT's JSON decoder accepts for these fields
 * (int64 as a string or a number). Host only.
 */
#ifndef VEIL_HOST_DEVCHAIN_CMT_JSON_H
#define VEIL_HOST_DEVCHAIN_CMT_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "trusted/cmt/cmt_types.h"

json_t *cmt_json_hex(const uint8_t *p, size_t n);
/* base64; NULL/0 gives JSON null. */
json_t *cmt_json_b64(const uint8_t *p, size_t n);
/* base64; "" for empty (fields CometBFT renders as a string even when empty). */
json_t *cmt_json_b64_str(const uint8_t *p, size_t n);
json_t *cmt_json_i64(int64_t v);
json_t *cmt_json_u64(uint64_t v);
json_t *cmt_json_time(const cmt_timestamp *t);
/* A JSON string from untrusted text (an app's log, an event value): invalid UTF-8 is
 * replaced by U+FFFD, as Go's encoding/json does. NULL text gives "". */
json_t *cmt_json_text(const char *s);

json_t *cmt_json_block_id(const cmt_block_id *id);
json_t *cmt_json_header(const cmt_header *h);
json_t *cmt_json_commit(const cmt_commit *c);
json_t *cmt_json_block(const cmt_block *blk);
/* {"type":"tendermint/PubKeyEd25519","value":base64} */
json_t *cmt_json_pub_key(const uint8_t pub_key[static CMT_PUBKEY_LEN]);

/* cmt_json_obj("k1", v1, "k2", v2, ..., NULL): an object with the keys in that order
 * (CometBFT's struct order). Takes every value reference; a NULL value (a failed
 * constructor passed straight in) makes the result NULL, after releasing the rest. */
json_t *cmt_json_obj(const char *key, ...) __attribute__((sentinel));

/* json_object_set_new that reports failure: frees v either way. */
VEIL_MUST_CHECK veil_status cmt_json_set(json_t *obj, const char *key, json_t *v);

/* Parsers: VEIL_ERR_MALFORMED for a missing or mistyped field, VEIL_ERR_BAD_HEX,
 * VEIL_ERR_TOO_LARGE for a hash above CMT_MAX_HASH_LEN. */
VEIL_MUST_CHECK veil_status cmt_json_get_i64(const json_t *v, int64_t *out);
VEIL_MUST_CHECK veil_status cmt_json_get_hex(const json_t *v, cmt_bytes *out);
/* Decodes base64 into a malloc'd buffer (caller frees; *out NULL for null/""). */
VEIL_MUST_CHECK veil_status cmt_json_get_b64(const json_t *v, size_t max, uint8_t **out,
                                             size_t *len);
VEIL_MUST_CHECK veil_status cmt_json_parse_block_id(const json_t *j, cmt_block_id *out);
VEIL_MUST_CHECK veil_status cmt_json_parse_header(const json_t *j, cmt_header *out);
VEIL_MUST_CHECK veil_status cmt_json_parse_commit(const json_t *j, cmt_commit *out);
/* One element of a commit's "signatures"; a commit's height, round and block_id. */
VEIL_MUST_CHECK veil_status cmt_json_parse_commit_sig(const json_t *j, cmt_commit_sig *out);
VEIL_MUST_CHECK veil_status cmt_json_parse_commit_head(const json_t *j, int64_t *height,
                                                       int32_t *round, cmt_block_id *block_id);

#endif
