/* TQE host <-> enclave interface: ecall and ocall indices, limits. Shared by both
 * sides. Byte layouts are fixed big-endian fields (no protobuf at this boundary
 * except the veil.tve messages the ocalls carry). */
#ifndef VEIL_TRUSTED_TQE_ABI_H
#define VEIL_TRUSTED_TQE_ABI_H

enum tqe_ecall {
    /* in: a veil.tve.EncryptOrder (a TxPayload, its fee and chain state; at most
     * TQE_ORDER_MAX bytes); out: the order sealed under the channel key
     * (tve_channel.h, label "veil/tqe-order/v1"), for an EncryptRequest to the TVE;
     * VEIL_ERR_HANDOFF_NONE before the hand-off.
     * The host must hold the plaintext payload to use it: it cannot re-seal the order of
     * a payload it only saw sealed, so it cannot change another wallet's fee.
     * Test images only (built with VEIL_TQE_TEST_SEAL, never installed): a production
     * TQE answers VEIL_ERR_TEE_NO_ECALL; its orders come from wallets over TLS. */
    TQE_E_SEAL_PAYLOAD = 0,
    /* in: the host's current unix time (u64); creates the attested-TLS identity if there
     * is none or it is due for renewal. out: the certificate (DER) new connections get.
     * Must succeed once before TQE_E_OPEN. */
    TQE_E_IDENTITY = 1,
    /* in: empty; out: a connection handle (u32). VEIL_ERR_LIMIT when all
     * TQE_MAX_CONNECTIONS are open, VEIL_ERR_OUT_OF_ORDER before TQE_E_IDENTITY. */
    TQE_E_OPEN = 2,
    /* in: handle (u32) || bytes received from the network (at most TQE_FEED_IN_MAX);
     * out: flags (u8, TQE_FEED_*) || bytes to send to the network. With no input it only
     * drains queued output (call again while TQE_FEED_MORE is set). After
     * TQE_FEED_CLOSE the host sends the bytes, closes the socket and calls
     * TQE_E_CLOSE. VEIL_ERR_NOT_FOUND for an unknown handle. */
    TQE_E_FEED = 3,
    /* in: handle (u32); out: empty. Wipes and frees the connection. */
    TQE_E_CLOSE = 4,
    /* in, out: empty. Frees the identity and every connection (the host calls it once
     * no connection thread is left, before destroying the enclave). */
    TQE_E_SHUTDOWN = 5,
    /* in: the TVE's target info (MRENCLAVE 32 || attributes u64 BE); out: a report
     * targeted at the TVE || a fresh X25519 key (tve_channel.h). */
    TQE_E_HANDOFF_BEGIN = 6,
    /* in: the TVE's E_HANDOFF output (box || report); out: empty. Until it succeeds,
     * encrypt and query answer VEIL_ERR_HANDOFF_NONE. */
    TQE_E_HANDOFF_END = 7,
    /* The light client whose verified app hashes the chain state of every order is
     * proven against (docs/light-client.md); in and out as lc_enclave.h defines. */
    TQE_E_LC_INIT = 8,
    TQE_E_LC_RESUME = 9,
    TQE_E_LC_UPDATE = 10,
};

enum tqe_ocall {
    /* in: veil.tve.EncryptRequest (sealed_order); the host sends it to the TVE and
     * returns the veil.tve.Response bytes. */
    TQE_O_TVE_ENCRYPT = 0,
    /* in: veil.tve.GetSealedTxsRequest; out: the TVE's veil.tve.Response bytes. */
    TQE_O_TVE_GET_SEALED = 1,
    /* in: the records an order needs; out: them with their proofs at one height
     * (tqe_state.h). VEIL_ERR_TQE_NOT_SYNCED while this host's light client has not
     * verified the header that proves them. */
    TQE_O_CHAIN_STATE = 2,
};

#define TQE_FEED_CLOSE 0x01u /* close the connection after sending the output */
#define TQE_FEED_MORE 0x02u  /* more output is queued: call TQE_E_FEED with no input */
/* The TLS handshake is complete. Until a connection reports it, the host gives it only
 * a short pre-authentication deadline: a client that never finishes its handshake
 * must not hold a connection slot for the whole idle timeout. */
#define TQE_FEED_ESTABLISHED 0x04u

/* An encoded veil.tve.EncryptOrder: the payload (VEIL_TX_MAX_PAYLOAD_LEN), at most 16
 * bytes of framing and the fee, and the chain state (parameters with a 64-byte chain
 * id, an account, 64 spent flags, the height: under 512 bytes). */
#define TQE_ORDER_MAX (12800u + 16u + 512u)

#define TQE_MAX_CONNECTIONS 128u
#define TQE_FEED_IN_MAX (64u * 1024u)
#define TQE_FEED_OUT_MAX (256u * 1024u)
#define TQE_CERT_MAX (16u * 1024u)

/* The TQE has its own product id: it derives none of the TVE's sealing keys. The two
 * share one channel key, handed over by local attestation (tve_channel.h). */
#define TQE_ENCLAVE_IMAGE "veil_tqe_enclave.signed.so"
#define TQE_PRODID 2
#define TQE_SVN 1

#endif
