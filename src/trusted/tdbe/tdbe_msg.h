/* tdbe_msg.h — the TDBE peer protocol's messages (proto/veil/tdbe.proto, docs/tdbe.md):
 * framing and strict decoding. Portable (the TDBE enclave links it; the fuzz target
 * drives it with hostile bytes). */
#ifndef VEIL_TRUSTED_TDBE_MSG_H
#define VEIL_TRUSTED_TDBE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/status.h"

#define TDBE_MSG_MAX 4096u /* one message, after its u32 BE length */
/* One TxData message: up to 8 MiB of payloads and their blocks' records. */
#define TDBE_DATA_MSG_MAX ((8u << 20) + (1u << 20))
#define TDBE_KEY_LEN 32u
#define TDBE_ACCOUNT_LEN 32u

/* The length a frame's 4-byte header announces: VEIL_ERR_TDBE_PROTOCOL unless
 * 1..TDBE_MSG_MAX. */
VEIL_MUST_CHECK veil_status tdbe_frame_len(const uint8_t header[static 4], size_t *len);
/* The same with another limit (TDBE_DATA_MSG_MAX in a tx-data stream). */
VEIL_MUST_CHECK veil_status tdbe_frame_len_max(const uint8_t header[static 4], size_t max,
                                               size_t *len);

/* A request as a server reads it. */
typedef struct tdbe_request {
    bool data;         /* a TxDataRequest; else a KeyRequest */
    uint64_t epoch;    /* KeyRequest */
    uint64_t from, to; /* TxDataRequest: 1 <= from <= to */
    uint8_t account[TDBE_ACCOUNT_LEN];
} tdbe_request;
/* Either request, with a 32-byte account and no unknown fields; VEIL_ERR_TDBE_PROTOCOL
 * otherwise. */
VEIL_MUST_CHECK veil_status tdbe_request_decode(ProtobufCAllocator *a, const uint8_t *msg,
                                                size_t len, tdbe_request *out);

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

/* A Response in a tx-data stream: VEIL_OK and *out (a Response holding TxData, with no
 * unknown field at any depth; free it with veil__tdbe__response__free_unpacked(*out, a));
 * VEIL_ERR_TDBE_REFUSED (*code = the peer's code) for an Error; VEIL_ERR_TDBE_PROTOCOL
 * for anything else. */
struct Veil__Tdbe__Response;
VEIL_MUST_CHECK veil_status tdbe_data_parse(ProtobufCAllocator *a, const uint8_t *msg, size_t len,
                                            struct Veil__Tdbe__Response **out, uint32_t *code);

/* Encoders, into out (cap bytes) with the u32 BE length in front. */
VEIL_MUST_CHECK veil_status tdbe_request_frame(uint64_t epoch,
                                               const uint8_t account[static TDBE_ACCOUNT_LEN],
                                               uint8_t *out, size_t cap, size_t *out_len);
VEIL_MUST_CHECK veil_status tdbe_key_frame(uint64_t epoch, const uint8_t key[static TDBE_KEY_LEN],
                                           uint8_t *out, size_t cap, size_t *out_len);
VEIL_MUST_CHECK veil_status tdbe_data_request_frame(const uint8_t account[static TDBE_ACCOUNT_LEN],
                                                    uint64_t from, uint64_t to, uint8_t *out,
                                                    size_t cap, size_t *out_len);
struct Veil__Tdbe__TxData;
VEIL_MUST_CHECK veil_status tdbe_data_frame(const struct Veil__Tdbe__TxData *d, uint8_t *out,
                                            size_t cap, size_t *out_len);
VEIL_MUST_CHECK veil_status tdbe_error_frame(veil_status code, uint8_t *out, size_t cap,
                                             size_t *out_len);

#endif
