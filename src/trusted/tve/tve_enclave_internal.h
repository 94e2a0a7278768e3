/* What the TVE enclave's files share (tve_enclave.c: keys, validation, blocks, encrypt;
 * tve_enclave_tqe.c: the channel key, the hand-off and the export for the TQE).
 * Trusted code only. */
#ifndef VEIL_TRUSTED_TVE_TVE_ENCLAVE_INTERNAL_H
#define VEIL_TRUSTED_TVE_TVE_ENCLAVE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tee/tee_pb.h"
#include "trusted/tve/tve_channel.h"
#include "trusted/tx/tx.h"

/* protobuf-c on the enclave heap. */
extern ProtobufCAllocator tve_alloc;

/* Decodes an ecall message strictly: no unknown fields, so bytes have one meaning. */
#define DECODE(type, fn, in, len, out)                                                   \
    do {                                                                                 \
        bool oom_ = false;                                                               \
        ProtobufCAllocator alloc_ = TEE_PB_ALLOCATOR(&oom_);                             \
        (out) = fn(&alloc_, (len), (in));                                                \
        ENSURE((out) != NULL || !oom_, VEIL_ERR_TEE_OUT_OF_MEMORY);                      \
        ENSURE((out) != NULL, VEIL_ERR_DECODE);                                          \
        if ((out)->base.n_unknown_fields != 0) {                                         \
            protobuf_c_message_free_unpacked(&(out)->base, &tve_alloc);                    \
            return VEIL_ERR_DECODE;                                                      \
        }                                                                                \
    } while (0)

/* Packs m into out (VEIL_ERR_BUFFER_TOO_SMALL if it does not fit). */
VEIL_MUST_CHECK veil_status tve_pack_out(const ProtobufCMessage *m, uint8_t *out, size_t out_cap,
                                         size_t *out_len);
/* The AAD of a sealed tx: label || txid; returns its length. */
size_t tve_sealed_tx_aad(const uint8_t txid[static VEIL_TX_ID_LEN], uint8_t aad[static 64]);
/* The channel key this TVE shares with enclaves of product `prodid` (TQE_PRODID or
 * TDBE_PRODID; tve_channel.h). VEIL_ERR_HANDOFF_PRODID for another product. */
VEIL_MUST_CHECK veil_status tve_channel_key(uint16_t prodid, uint8_t k[static TVE_CHANNEL_KEY_LEN]);

/* Ecalls TVE_E_HANDOFF and TVE_E_EXPORT (tve_enclave_tqe.c). */
veil_status tve_e_handoff(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                          size_t *out_len);
veil_status tve_e_export(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                         size_t *out_len);

/* Ecalls TVE_E_TX_EXPORT and TVE_E_TX_IMPORT (tve_enclave_tdbe.c). */
veil_status tve_e_tx_export(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                            size_t *out_len);
veil_status tve_e_tx_import(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                            size_t *out_len);

#endif
