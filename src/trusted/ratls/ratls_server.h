/* ratls_server.h — attested TLS 1.3 endpoint for enclave images (trusted side).
 *
 * An I/O-free engine in the shape of BearSSL's: the host pushes network bytes in and
 * pulls network bytes out (ratls_session_feed); the enclave never touches a socket.
 * TLS terminates here: the host sees only ciphertext.
 *
 * Identity: a P-256 key generated inside the enclave, a quote whose report_data is
 *   SHA-256-tagged("veil/ratls/v1", DER SubjectPublicKeyInfo) || 32 zero bytes
 * and a self-signed X.509 certificate carrying that quote in the TCG DICE
 * tagged-evidence extension (OID 2.23.133.5.4.9). Layout: docs/attested-tls.md.
 *
 * Time: the enclave has no clock; `now_unix` is the host's (untrusted) time. A lying
 * host can only make the enclave issue a certificate that verifiers refuse as expired
 * or not yet valid; the evidence itself does not depend on time.
 *
 * Randomness and memory: the key, the TLS nonces and the ECDSA signatures use
 * OpenSSL's own DRBG, and OpenSSL allocates with malloc, outside the tee_alloc budget
 * in the sim backend. A real-TEE port links an enclave build of OpenSSL (e.g.
 * SGX-SSL) whose DRBG is seeded from the TEE's RNG and whose allocator is the
 * enclave heap (docs/attested-tls.md, "Porting").
 *
 * Threads: an identity may be shared by sessions on several threads once created;
 * a session is used by one thread at a time.
 */
#ifndef VEIL_TRUSTED_RATLS_RATLS_SERVER_H
#define VEIL_TRUSTED_RATLS_RATLS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#include "trusted/ratls/ratls_evidence.h" /* the evidence format and its OID */

/* Validity: [now - skew, now + lifetime + skew]; renewal after `lifetime`. */
#define RATLS_CERT_LIFETIME_SECONDS (24u * 3600u)
#define RATLS_CERT_SKEW_SECONDS 3600u
/* Unread network input a session buffers at most (a TLS record is <= 16 KiB + 256). */
#define RATLS_MAX_BUFFERED_IN (1024u * 1024u)
#define RATLS_SPKI_MAX 128u /* a P-256 SubjectPublicKeyInfo is 91 bytes */

typedef struct ratls_identity ratls_identity;
typedef struct ratls_session ratls_session;

/* Generates a fresh key, quotes it (needs a provisioned platform:
 * VEIL_ERR_TEE_PLATFORM otherwise) and builds the self-signed certificate valid from
 * now - 1 h to now + 24 h + 1 h. VEIL_ERR_ARG if now_unix is below the
 * skew or after year 9999; VEIL_ERR_CRYPTO for an OpenSSL failure. */
VEIL_MUST_CHECK veil_status ratls_identity_create(uint64_t now_unix, ratls_identity **out);

/* The same with a key derived from `seed` (32 secret bytes, e.g. from tee_derive_key):
 * an enclave that renews its certificate, or restarts, keeps its public key, so others
 * can name it (a node join binds it on chain, docs/tdbe.md). */
VEIL_MUST_CHECK veil_status ratls_identity_create_seeded(uint64_t now_unix,
                                                         const uint8_t seed[static 32],
                                                         ratls_identity **out);

/* The identity key's DER SubjectPublicKeyInfo (owned by the identity; at most
 * RATLS_SPKI_MAX bytes). */
void ratls_identity_spki(const ratls_identity *id, const uint8_t **der, size_t *len);

/* True once RATLS_CERT_LIFETIME_SECONDS have passed since creation, or if the clock
 * went backwards past the certificate's notBefore. The caller then creates a new
 * identity for new sessions; sessions opened on the old one keep working (they hold
 * their own reference to its key and certificate). */
bool ratls_identity_needs_renewal(const ratls_identity *id, uint64_t now_unix);

/* The attestation service's report (ias-report, ratls_evidence.h) on the quote of
 * `evidence`, through tee_attestation_report: VEIL_ERR_TEE_UNSUPPORTED when the host
 * has no attestation proxy. */
VEIL_MUST_CHECK veil_status ratls_evidence_report(const uint8_t *evidence, size_t evidence_len,
                                                  uint8_t *out, size_t cap, size_t *out_len);

/* Fresh evidence for this identity's key whose claims carry `nonce` (1..64 bytes): a
 * client that chose the nonce knows the evidence was made for it, not replayed. */
VEIL_MUST_CHECK veil_status ratls_identity_evidence(const ratls_identity *id,
                                                   const uint8_t *nonce, size_t nonce_len,
                                                   uint8_t *out, size_t cap, size_t *out_len);

/* Fresh evidence with `nonce` for the key of the certificate this session presented
 * (the identity may have been renewed since: the session's key is the one the client
 * saw). */
VEIL_MUST_CHECK veil_status ratls_session_evidence(const ratls_session *s, const uint8_t *nonce,
                                                  size_t nonce_len, uint8_t *out, size_t cap,
                                                  size_t *out_len);

/* The certificate (DER), owned by `id`, valid until ratls_identity_free. */
void ratls_identity_cert_der(const ratls_identity *id, const uint8_t **der, size_t *len);

/* NULL is a no-op. Wipes and frees the key. */
void ratls_identity_free(ratls_identity *id);

/* A TLS 1.3 server session (TLS 1.3 only, both min and max) presenting id's
 * certificate. The session takes its own reference: `id` may be freed afterwards. */
VEIL_MUST_CHECK veil_status ratls_session_new(ratls_identity *id, ratls_session **out);

/* A session between two enclaves (mutually attested TLS 1.3): both present their
 * certificate; as a server (`client` false) it requires the peer's. TLS itself accepts
 * any certificate whose key signs the handshake: after the handshake the caller judges
 * the peer with ratls_session_peer_verify before trusting a byte it sent. */
VEIL_MUST_CHECK veil_status ratls_session_new_peer(ratls_identity *id, bool client,
                                                   ratls_session **out);

/* What the peer's certificate proves, verified inside the enclave: its self-signature,
 * validity at `now` (the host's time: a lying host can make a peer look expired, or an
 * expired certificate current, but never forge one; TLS already proved the peer holds
 * the key), the evidence extension (exactly one, non-critical), the quote through the
 * platform's verification service (tee_quote_verify, at `now`), report data =
 * SHA-256(claims) and the claims naming the certificate's key. The identity and the TCB
 * status are returned for the caller's policy. Errors: VEIL_ERR_OUT_OF_ORDER before the
 * handshake, VEIL_ERR_RATLS_NO_EVIDENCE (no certificate or extension),
 * VEIL_ERR_RATLS_CERT_SIGNATURE, VEIL_ERR_RATLS_EXPIRED, VEIL_ERR_RATLS_CRITICAL,
 * VEIL_ERR_RATLS_DUPLICATE_EXT, the evidence decoder's codes, the quote verifier's
 * (610-623), VEIL_ERR_RATLS_REPORT_DATA, VEIL_ERR_RATLS_KEY_BINDING. */
VEIL_MUST_CHECK veil_status ratls_session_peer_verify(const ratls_session *s, int64_t now,
                                                      tee_quote_verdict *out);

/* SHA-256 of the peer certificate's SubjectPublicKeyInfo, the key TLS proved the peer
 * holds (meaningful once ratls_session_peer_verify accepted it).
 * VEIL_ERR_OUT_OF_ORDER before the handshake or without a peer certificate. */
VEIL_MUST_CHECK veil_status ratls_session_peer_spki_hash(const ratls_session *s,
                                                         uint8_t out[static 32]);

/* Pushes in_len bytes received from the network (in may be NULL when in_len is 0),
 * advances the handshake, and moves up to out_cap bytes the session wants sent into
 * out (*out_len set, possibly 0). Bytes that do not fit stay queued: call again with
 * no input to drain them (ratls_session_pending_out tells how many). Application
 * data received after the handshake is kept for ratls_session_read.
 * Errors: VEIL_ERR_RATLS_HANDSHAKE when the peer's bytes make the handshake fail
 * (an alert for the peer may still be in out; the session is dead),
 * VEIL_ERR_OUT_OF_ORDER once the session is dead, VEIL_ERR_TOO_LARGE if more than
 * RATLS_MAX_BUFFERED_IN bytes of input are buffered unread. */
VEIL_MUST_CHECK veil_status ratls_session_feed(ratls_session *s, const uint8_t *in, size_t in_len,
                                               uint8_t *out, size_t out_cap, size_t *out_len);

/* Bytes queued for the network, not yet moved out by ratls_session_feed. */
size_t ratls_session_pending_out(const ratls_session *s);

/* Application plaintext received: up to cap bytes into buf, *n = 0 when none is
 * available yet (feed more) or the peer closed (see ratls_session_closed).
 * VEIL_ERR_AUTH when a record fails authentication or the peer breaks the protocol
 * (the session is dead; an alert may be queued for feed to move out). */
VEIL_MUST_CHECK veil_status ratls_session_read(ratls_session *s, uint8_t *buf, size_t cap,
                                               size_t *n);

/* Queues application data for the peer (encrypted now; the ciphertext is moved out by
 * the next ratls_session_feed, which may have no input). Only after the handshake:
 * VEIL_ERR_OUT_OF_ORDER before it or once closed. */
VEIL_MUST_CHECK veil_status ratls_session_write(ratls_session *s, const uint8_t *data, size_t len);

/* Sends close_notify (moved out by the next feed) and marks the session closed. */
void ratls_session_shutdown(ratls_session *s);

bool ratls_session_handshake_done(const ratls_session *s);
/* True after close_notify from the peer, a fatal error, or ratls_session_shutdown. */
bool ratls_session_closed(const ratls_session *s);

/* NULL is a no-op. */
void ratls_session_free(ratls_session *s);

#endif
