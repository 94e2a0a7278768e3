/* Shared by the files of the veil_tx library only; not an API. */
#ifndef VEIL_TRUSTED_TX_TX_INTERNAL_H
#define VEIL_TRUSTED_TX_TX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trusted/tx/tx.h"
#include "veil/tx.pb-c.h"

/* protobuf-c unpack / free through the caller's allocator. When an allocator is given
 * (the enclave always gives one), every block is wiped before it is returned to it:
 * decoded messages hold plaintext amounts, addresses and view keys. With NULL,
 * protobuf-c's default allocator is used and freed blocks are not wiped (hosts). */
/* On failure: `malformed`, or VEIL_ERR_NOMEM when the allocator ran out. */
VEIL_MUST_CHECK veil_status tx_msg_unpack(const ProtobufCMessageDescriptor *desc,
                                          ProtobufCAllocator *alloc, const uint8_t *data,
                                          size_t len, veil_status malformed,
                                          ProtobufCMessage **out);
void tx_msg_free(ProtobufCMessage *msg, ProtobufCAllocator *alloc);

/* true iff re-encoding msg yields exactly bytes[0..len): the one-meaning rule. */
#define tx_is_canonical veil_pb_is_canonical

/* Decode steps B1-B5 of docs/transactions.md. On VEIL_OK *out is a checked message
 * the caller frees with tx_msg_free(&(*out)->base, alloc). */
VEIL_MUST_CHECK veil_status tx_body_unpack(const uint8_t *body, size_t len,
                                           ProtobufCAllocator *alloc, Veil__Tx__TxBody **out);
/* Decode steps P1-P4. Same ownership. */
VEIL_MUST_CHECK veil_status tx_payload_unpack(const uint8_t *payload, size_t len,
                                              ProtobufCAllocator *alloc,
                                              Veil__Tx__TxPayload **out);
/* Decode steps W1-W4; fills *pub and keeps the message (for the ciphertext). Same
 * ownership. */
VEIL_MUST_CHECK veil_status tx_wire_unpack(const uint8_t *wire, size_t len,
                                           ProtobufCAllocator *alloc, veil_tx_wire *pub,
                                           Veil__Tx__ConfidentialTx **out);

/* The input / output lists of a checked body message, whatever its kind (n = 0 and
 * NULL when the kind has none). */
void tx_body_msg_inputs(const Veil__Tx__TxBody *m, Veil__Tx__OutPoint ***inputs, size_t *n);
void tx_body_msg_outputs(const Veil__Tx__TxBody *m, Veil__Tx__TxOut ***outputs, size_t *n);
/* The account field of a checked deposit or withdraw body; NULL for a transfer. */
const ProtobufCBinaryData *tx_body_msg_account(const Veil__Tx__TxBody *m);
veil_tx_kind tx_body_msg_kind(const Veil__Tx__TxBody *m);

#endif
