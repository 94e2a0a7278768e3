/* tqe_conn.h — the TQE's wallet protocol on one connection (trusted core).
 *
 * Transport-free: the caller pushes the plaintext byte stream it received inside TLS
 * (tqe_conn_consume) and gets the framed responses through a write callback. The
 * enclave (tqe_enclave.c) runs it on an attested-TLS session; tests run it directly
 * with a stub backend. Protocol: proto/veil/tqe.proto, docs/tqe.md.
 *
 * Everything outside the enclave goes through `tqe_backend`: randomness, sealing and
 * the two questions to the TVE (asked through the host, whose answers are checked:
 * a returned tx must carry the payload's txid, sealed txs must answer the txids asked
 * and unseal under AAD "veil/sealed-tx/v1" || txid).
 *
 * Limits before anything is buffered: a message's length prefix must be 1..65536
 * (TQE_MAX_MESSAGE), else the connection is to be closed. A request that does not
 * decode strictly (unknown fields included) also closes it. Errors of a well-formed
 * request come back as Response.error and the connection stays open.
 *
 * Not thread-safe: one thread per connection at a time.
 */
#ifndef VEIL_TRUSTED_TQE_TQE_CONN_H
#define VEIL_TRUSTED_TQE_TQE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/status.h"
#include "trusted/tqe/tqe_state.h"
#include "trusted/tx/tx.h"

#define TQE_MAX_MESSAGE (64u * 1024u)
#define TQE_MAX_QUERY_TXIDS 64u
#define TQE_CHALLENGE_LEN 32u
#define TQE_QUERY_TAG "veil/tqe-query/v1"

/* Which TVE request a backend's tve_call forwards. */
typedef enum tqe_tve_call {
    /* in: veil.tve.EncryptRequest (sealed_order); the host sends it to the TVE. out:
     * the TVE's veil.tve.Response bytes. */
    TQE_TVE_ENCRYPT = 0,
    /* in: veil.tve.GetSealedTxsRequest bytes; out: the TVE's veil.tve.Response bytes. */
    TQE_TVE_GET_SEALED = 1,
} tqe_tve_call;

/* Capacity for a TVE response to a GetSealedTxs of 64 txids. */
#define TQE_TVE_RESPONSE_MAX (64u * (16u * 1024u + 256u) + 4096u)

typedef struct tqe_conn tqe_conn;

typedef struct tqe_backend {
    void *ctx;
    ProtobufCAllocator *alloc; /* all allocations of the protocol core */
    veil_status (*random)(void *ctx, uint8_t *buf, size_t n);
    /* Seals a veil.tve.EncryptOrder for the TVE under the TQE<->TVE channel key
     * (label "veil/tqe-order/v1", tve_channel.h). */
    veil_status (*seal_order)(void *ctx, const uint8_t *pt, size_t pt_len, uint8_t *out,
                              size_t out_cap, size_t *out_len);
    /* Unseals a stored tx (AAD "veil/sealed-tx/v1" || txid). */
    veil_status (*unseal_tx)(void *ctx, const uint8_t txid[32], const uint8_t *blob,
                             size_t blob_len, uint8_t *out, size_t out_cap, size_t *out_len);
    /* The public state an encrypt of `body` is judged against, proven against the app
     * hash of a header the enclave's light client verified (tqe_state.h); that header's
     * chain id (VEIL_TX_MAX_CHAIN_ID_LEN + 1 bytes) and BFT time in seconds. */
    veil_status (*chain_state)(void *ctx, const veil_tx_body *body, tqe_chain_state *out,
                               char *chain_id, uint64_t *block_time);
    veil_status (*tve_call)(void *ctx, tqe_tve_call which, const uint8_t *in, size_t in_len,
                            uint8_t *out, size_t out_cap, size_t *out_len);
    /* Fresh evidence (ratls_evidence.h) with `nonce` for the key of conn's TLS session. */
    veil_status (*evidence)(void *ctx, const tqe_conn *conn, const uint8_t *nonce,
                            size_t nonce_len, uint8_t *out, size_t out_cap, size_t *out_len);
    /* The attestation service's report on that evidence's quote (ratls_evidence_report);
     * NULL, or VEIL_ERR_TEE_UNSUPPORTED: none (the response carries no report). */
    veil_status (*report)(void *ctx, const uint8_t *evidence, size_t evidence_len, uint8_t *out,
                          size_t out_cap, size_t *out_len);
} tqe_backend;

/* Sends bytes to the peer (inside TLS). A failure aborts the connection. */
typedef veil_status (*tqe_write_fn)(void *wctx, const uint8_t *data, size_t len);

struct tqe_conn {
    bool has_challenge;
    uint8_t challenge[TQE_CHALLENGE_LEN];
    uint8_t hdr[4];
    size_t hdr_have;
    uint8_t *msg; /* TQE_MAX_MESSAGE bytes once a message is being read */
    size_t msg_len, msg_have;
};

void tqe_conn_init(tqe_conn *c);
/* Wipes and frees what the connection holds (the same allocator as consume). */
void tqe_conn_reset(tqe_conn *c, const tqe_backend *b);

/* Consumes n plaintext bytes; handles every complete request, writing each framed
 * Response through write. VEIL_OK: keep the connection. Any other status: close it
 * (VEIL_ERR_TOO_LARGE oversized or zero length prefix, VEIL_ERR_DECODE undecodable
 * request, a write or allocation failure). */
VEIL_MUST_CHECK veil_status tqe_conn_consume(tqe_conn *c, const tqe_backend *b, const uint8_t *in,
                                             size_t n, tqe_write_fn write, void *wctx);

#endif
