/* Internals shared by the trusted attested-TLS files. */
#ifndef VEIL_TRUSTED_RATLS_RATLS_INTERNAL_H
#define VEIL_TRUSTED_RATLS_RATLS_INTERNAL_H

#include <openssl/ssl.h>

#include "trusted/ratls/ratls_server.h"

struct ratls_identity {
    SSL_CTX *ctx;      /* holds the key and certificate; sessions take references */
    uint8_t *cert_der; /* tee_alloc'ed */
    size_t cert_len;
    uint64_t created;  /* host time at creation (untrusted, used only for renewal) */
    uint8_t spki[RATLS_SPKI_MAX]; /* the key's DER SubjectPublicKeyInfo */
    size_t spki_len;
    uint8_t spki_hash[32]; /* its SHA-256 (the claims') */
};

/* Fresh evidence for the key whose SPKI hashes to `hash` (ratls_identity.c). */
VEIL_MUST_CHECK veil_status ratls_evidence_make(const uint8_t hash[static 32],
                                               const uint8_t *nonce, size_t nonce_len,
                                               uint8_t *out, size_t cap, size_t *out_len);

/* The peer's certificate once the handshake is done (owned by the session); NULL
 * before, or if the peer sent none. */
X509 *ratls_session_peer_cert(const ratls_session *s);

#endif
