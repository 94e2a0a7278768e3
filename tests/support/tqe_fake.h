/* The pieces of a stand-in TQE backend that the protocol core's tests and its fuzzer
 * share (tqe_conn.h's tqe_backend): heap allocation, "sealing" by copying, evidence
 * "EV" || nonce, and a sink that collects what the core writes. Each user adds its own
 * randomness and TVE. Tests only. */
#ifndef VEIL_TESTS_SUPPORT_TQE_FAKE_H
#define VEIL_TESTS_SUPPORT_TQE_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include "trusted/tqe/tqe_conn.h"

extern ProtobufCAllocator tqe_fake_alloc;

/* Seal: a copy (cap permitting). */
veil_status tqe_fake_seal(void *ctx, const uint8_t *pt, size_t n, uint8_t *out, size_t cap,
                          size_t *out_len);
/* Unseal: a copy of the blob, whatever the txid. */
veil_status tqe_fake_unseal(void *ctx, const uint8_t txid[32], const uint8_t *blob, size_t n,
                            uint8_t *out, size_t cap, size_t *out_len);
/* Evidence: "EV" || nonce, so a test sees the nonce went through. */
veil_status tqe_fake_evidence(void *ctx, const tqe_conn *conn, const uint8_t *nonce,
                              size_t nonce_len, uint8_t *out, size_t cap, size_t *out_len);

/* Collects the core's output (a tqe_write_fn over a tqe_fake_sink). */
typedef struct tqe_fake_sink {
    uint8_t *p;
    size_t len;
} tqe_fake_sink;
veil_status tqe_fake_write(void *wctx, const uint8_t *data, size_t len);

#endif
