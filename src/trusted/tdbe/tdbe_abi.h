/* TDBE host <-> enclave interface: ecall and ocall indices, limits. Shared by both
 * sides. Fixed big-endian fields; the peer protocol inside TLS is
 * proto/veil/tdbe.proto (docs/tdbe.md). */
#ifndef VEIL_TRUSTED_TDBE_ABI_H
#define VEIL_TRUSTED_TDBE_ABI_H

enum tdbe_ecall {
    /* in: the host's unix time (u64 BE); creates the attested-TLS identity if there is
     * none or it is due for renewal. out: its certificate (DER). The identity's key is
     * derived on this platform for this image (TEE_POLICY_MRENCLAVE, key id
     * SHA-256("veil/tdbe-identity/v1")): renewals and restarts keep it, so a node join
     * can bind it. */
    TDBE_E_IDENTITY = 0,
    /* The hand-off with the TVE (tve_channel.h): in/out as TQE_E_HANDOFF_BEGIN/_END. */
    TDBE_E_HANDOFF_BEGIN = 1,
    TDBE_E_HANDOFF_END = 2,
    /* in: role (u8: TDBE_ROLE_SERVE, TDBE_ROLE_FETCH, TDBE_ROLE_FETCH_DATA) || the
     * host's unix time (u64 BE, judges the peer's certificate and quote), and for FETCH:
     * epoch (u64 BE) || the chain's key commitment for it (32) || this node's staking
     * account (32), named in the request so the server can find its node join; for
     * FETCH_DATA: from height (u64 BE, >= 1) || to height (u64 BE, >= from) || account. out: a connection handle (u32).
     * VEIL_ERR_LIMIT when TDBE_MAX_CONNECTIONS are open, VEIL_ERR_OUT_OF_ORDER before
     * TDBE_E_IDENTITY, VEIL_ERR_HANDOFF_NONE before the hand-off. */
    TDBE_E_OPEN = 3,
    /* in: handle (u32) || bytes from the network (<= TDBE_FEED_IN_MAX); out: flags (u8,
     * TDBE_FEED_*) || bytes to send. As TQE_E_FEED. */
    TDBE_E_FEED = 4,
    /* in: handle (u32). For a FETCH_DATA connection: a checked batch as soon as one is
     * ready (TDBE_FEED_DATA), out = TDBE_RESULT_DATA || first height (u64 BE) || n (u32
     * BE) || n x (u32 BE length || block record) || the batch's txs as a tx stream
     * sealed under the channel key for the TVE's E_TX_IMPORT (label
     * "veil/tdbe-tx-import/v1", binding the first height); once done, TDBE_RESULT_END
     * || the server's last height (u64 BE, its word), TDBE_RESULT_REFUSED || code, or
     * TDBE_RESULT_FAILED || code (u32 BE) || height (u64 BE) || index (u32 BE: the tx,
     * or 0xffffffff for the block as a whole) where a check failed.
     * For a FETCH connection that is done: out = TDBE_RESULT_KEY ||
     * the key sealed under the TDBE<->TVE channel key for the TVE's E_KEY_IMPORT
     * (label "veil/tdbe-key-import/v1", binding epoch), or TDBE_RESULT_REFUSED || the
     * code the peer refused with (u32 BE; the peer's word, for the log); its error
     * otherwise (VEIL_ERR_TDBE_KEY_MISMATCH, a verification code);
     * VEIL_ERR_OUT_OF_ORDER while it runs. */
    TDBE_E_RESULT = 5,
    /* in: handle (u32); wipes and frees the connection. */
    TDBE_E_CLOSE = 6,
    /* Frees the identity and every connection. */
    TDBE_E_SHUTDOWN = 7,
    /* in: u8 len(chain id) || chain id || staking account (32). out: u16 BE length ||
     * the identity key's DER SubjectPublicKeyInfo || a quote whose report data is
     * node_join_report_data(chain id, account, that SPKI) (trusted/state/node_join.h),
     * for a node join. VEIL_ERR_OUT_OF_ORDER before TDBE_E_IDENTITY. */
    TDBE_E_JOIN_QUOTE = 8,
    /* The light client (docs/light-client.md), whose app hashes membership proofs are
     * checked against; in and out as lc_enclave.h (trusted/lightclient) defines. */
    TDBE_E_LC_INIT = 9,
    TDBE_E_LC_RESUME = 10,
    TDBE_E_LC_UPDATE = 11,
};

enum tdbe_ocall {
    /* in: epoch (u64 BE); out: the TVE's E_KEY_EXPORT output for it (the host asks its
     * TVE with an ExportKeyRequest). */
    TDBE_O_KEY_EXPORT = 0,
    /* in: a client's staking account (32); out: its membership proof
     * (tdbe_member.h: height || present || record length || Account record || SMT
     * proof), from the node's state; the enclave checks it against the app hash its
     * light client verified at that height. */
    TDBE_O_MEMBERSHIP = 1,
    /* in: an epoch (u64 BE); out: the chain's KeyEpoch record for it with its proof, the
     * same encoding: before fetching a key, the enclave checks that the commitment its
     * TVE awaits is the one on chain. */
    TDBE_O_EPOCH_PROOF = 2,
    /* Serving tx data. in: from (u64 BE) || to (u64 BE) || max bytes (u32 BE); out: the
     * TVE's last height (u64 BE) || n (u32 BE) || n x (u32 BE length || block record) ||
     * the TVE's E_TX_EXPORT output for them (the host asks its TVE with an
     * ExportBlocksRequest). VEIL_ERR_BUFFER_TOO_SMALL: the enclave asks again with
     * TDBE_EXPORT_OUT_MAX. */
    TDBE_O_TX_EXPORT = 3,
    /* Fetching tx data. in: n (1..TDBE_PROOF_BATCH) txids (32 each); out: n x (u32 BE
     * length || the output record of that txid with its proof, TDBE_O_MEMBERSHIP's
     * encoding). */
    TDBE_O_OUTPUT_PROOFS = 4,
};

#define TDBE_ROLE_SERVE 0u
#define TDBE_ROLE_FETCH 1u
#define TDBE_ROLE_FETCH_DATA 2u

#define TDBE_FEED_CLOSE 0x01u       /* close after sending the output */
#define TDBE_FEED_MORE 0x02u        /* more output queued: feed again with no input */
#define TDBE_FEED_ESTABLISHED 0x04u /* both sides verified each other */
#define TDBE_FEED_DONE 0x08u        /* a FETCH connection has its result */
#define TDBE_FEED_DATA 0x10u        /* a FETCH_DATA batch is ready: take it (E_RESULT),
                                       then feed again with no input */

#define TDBE_RESULT_KEY 0u
#define TDBE_RESULT_REFUSED 1u
#define TDBE_RESULT_DATA 2u
#define TDBE_RESULT_END 3u
#define TDBE_RESULT_FAILED 4u

#define TDBE_MAX_CONNECTIONS 32u
#define TDBE_FEED_IN_MAX (64u * 1024u)
#define TDBE_FEED_OUT_MAX (128u * 1024u)
#define TDBE_CERT_MAX (16u * 1024u)
#define TDBE_FRAME_MAX 4096u /* one peer message (u32 BE length || protobuf) */
#define TDBE_RESULT_MAX 128u
#define TDBE_JOIN_QUOTE_MAX (2u + 128u + 8192u) /* SPKI + quote (TEE_QUOTE_MAX_LEN) */

#define TDBE_ENCLAVE_IMAGE "veil_tdbe_enclave.signed.so"
#define TDBE_PRODID 3
#define TDBE_SVN 1
/* Tx data: one served batch (about), the export answer's capacity, proofs per ocall,
 * the largest E_RESULT of a FETCH_DATA connection. */
#define TDBE_SERVE_BATCH (1u << 20)
#define TDBE_EXPORT_OUT_SMALL (3u << 20)
#define TDBE_EXPORT_OUT_MAX ((8u << 20) + (2u << 20))
#define TDBE_PROOF_BATCH 256u
#define TDBE_DATA_RESULT_MAX ((8u << 20) + (2u << 20))
#define TDBE_ENCLAVE_MEMORY ((size_t)64 << 20)

#endif
