/* tdbe_msg.h — the TDBE peer protocol's messages (proto/veil/tdbe.proto, docs/tdbe.md):
 * framing and strict decoding. Portable (the TDBE enclave links it; the fuzz target
 * drives it with hostile bytes). */
#ifndef VEIL_TRUSTED_TDBE_MSG_H
#define VEIL_TRUSTED_TDBE_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/status.h"

#define TDBE_MSG_MAX 4096u /* one message, after its u32 BE length */
#define TDBE_KEY_LEN 32u
#define TDBE_ACCOUNT_LEN 32u

/* The length a frame's 4-byte header announces: VEIL_ERR_TDBE_PROTOCOL unless
 * 1..TDBE_MSG_MAX. */
VEIL_MUST_CHECK veil_status tdbe_frame_len(const uint8_t header[static 4], size_t *len);

/* The decoders allocate with `a` (the enclave's heap; NULL: malloc).
 * A Request: only KeyRequest with a 32-byte account, no unknown fields.
 * VEIL_ERR_TDBE_PROTOCOL otherwise. */
VEIL_MUST_CHECK veil_status tdbe_request_parse(ProtobufCAllocator *a, const uint8_t *msg,
                                               size_t len, uint64_t *epoch,
                                               uint8_t account[static TDBE_ACCOUNT_LEN]);

/* A Response to a KeyRequest for `epoch`: VEIL_OK and the key (TDBE_KEY_LEN bytes) for
 * a KeyResponse of that epoch; VEIL_ERR_TDBE_REFUSED (*code = the peer's code) for an
 * Error; VEIL_ERR_TDBE_PROTOCOL for anything else (another epoch, a key of another
 * length, unknown fields, bytes that do not decode). The key is wiped from the decoder's
 * memory. */
VEIL_MUST_CHECK veil_status tdbe_response_parse(ProtobufCAllocator *a, const uint8_t *msg,
                                                size_t len, uint64_t epoch,
                                                uint8_t key[static TDBE_KEY_LEN],
                                                uint32_t *code);

/* Encoders, into out (cap bytes) with the u32 BE length in front. */
VEIL_MUST_CHECK veil_status tdbe_request_frame(uint64_t epoch,
                                               const uint8_t account[static TDBE_ACCOUNT_LEN],
                                               uint8_t *out, size_t cap, size_t *out_len);
VEIL_MUST_CHECK veil_status tdbe_key_frame(uint64_t epoch, const uint8_t key[static TDBE_KEY_LEN],
                                           uint8_t *out, size_t cap, size_t *out_len);
VEIL_MUST_CHECK veil_status tdbe_error_frame(veil_status code, uint8_t *out, size_t cap,
                                             size_t *out_len);

#endif
