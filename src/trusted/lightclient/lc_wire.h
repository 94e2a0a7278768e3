/* lc_wire.h — light blocks on the wire from the host to an enclave: CometBFT's own
 * `tendermint.types.LightBlock` protobuf (proto/tendermint/types/types.proto:
 * SignedHeader{Header, Commit}, ValidatorSet{validators}) so another implementation
 * needs no Veil-specific format (docs/light-client.md, "Wire format").
 *
 * The decoder is the enclave's parser of host bytes: bounded (LC_WIRE_MAX bytes in,
 * LC_MAX_VALIDATORS validators and signatures, hashes of at most CMT_MAX_HASH_LEN
 * bytes, chain ids of at most 50), no allocation, unknown fields skipped as protobuf
 * requires, VEIL_ERR_LC_MALFORMED for anything else and
 * VEIL_ERR_LC_VALSET_TOO_LARGE for more validators or signatures than the cap. It
 * decodes; lc_verify judges. Portable. */
#ifndef VEIL_TRUSTED_LIGHTCLIENT_LC_WIRE_H
#define VEIL_TRUSTED_LIGHTCLIENT_LC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "trusted/cmt/cmt_proto.h"
#include "trusted/lightclient/lc.h"

/* A light block of LC_MAX_VALIDATORS validators and signatures is about 60 KiB. */
#define LC_WIRE_MAX (128u * 1024u)

VEIL_MUST_CHECK veil_status lc_light_block_decode(const uint8_t *in, size_t len,
                                                  lc_light_block *out);
/* Encodes as CometBFT does (gogoproto's rules, cmt_proto.h) into a fresh cmt_buf
 * (*out; free with cmt_buf_free). */
VEIL_MUST_CHECK veil_status lc_light_block_encode(const lc_light_block *lb, cmt_buf *out);

#endif
