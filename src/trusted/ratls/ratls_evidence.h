/* ratls_evidence.h — the attested-TLS evidence format, encoder and strict decoder.
 *
 * Portable: enclaves encode it (ratls_identity.c), hosts decode it (the verifier), so
 * the format has one definition. It is the form Gramine, rats-tls and Intel's SGX SDK
 * emit in a certificate extension (OID 2.23.133.5.4.9, non-critical):
 *
 *   evidence = #6.60000([ quote: bstr, claims: bstr ])
 *   claims   = { ? "nonce": bstr (1..64), "pubkey-hash": [ 1, bstr .size 32 ] }
 *   report_data of the quote = SHA-256(claims bytes) || 32 zero bytes
 *
 * "pubkey-hash" is [hash algorithm (1 = SHA-256, COSE/IANA "named information"),
 * SHA-256 of the DER SubjectPublicKeyInfo of the key the evidence vouches for]. Veil
 * emits and accepts only deterministic CBOR (RFC 8949 §4.2): definite lengths, the
 * shortest heads, map keys in bytewise order of their encodings, no duplicate or
 * unknown keys, nothing after the item. docs/attested-tls.md gives the bytes.
 */
#ifndef VEIL_TRUSTED_RATLS_RATLS_EVIDENCE_H
#define VEIL_TRUSTED_RATLS_RATLS_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "tee/tee.h"

#define RATLS_EVIDENCE_OID "2.23.133.5.4.9"
#define RATLS_CBOR_TAG_EVIDENCE 60000u
#define RATLS_HASH_SHA256 1u
#define RATLS_NONCE_MAX 64u
/* claims: map head 1 + "nonce" 6 + bstr head 2 + 64 + "pubkey-hash" 12 + array 1 +
 * uint 1 + bstr head 2 + 32 = 121 bytes at most. */
#define RATLS_CLAIMS_MAX 128u
/* tag 3 + array 1 + two bstr heads (3 each) + quote + claims. */
#define RATLS_EVIDENCE_MAX (TEE_QUOTE_MAX_LEN + RATLS_CLAIMS_MAX + 16u)

/* Deterministic claims for the key whose SPKI hashes to spki_hash, with a nonce
 * (nonce_len 0: none; else 1..RATLS_NONCE_MAX). */
VEIL_MUST_CHECK veil_status ratls_claims_encode(const uint8_t spki_hash[static 32],
                                                const uint8_t *nonce, size_t nonce_len,
                                                uint8_t *out, size_t cap, size_t *out_len);

/* report_data = SHA-256(claims) || 32 zero bytes. */
void ratls_claims_report_data(const uint8_t *claims, size_t claims_len,
                              uint8_t rd[static TEE_REPORT_DATA_LEN]);

VEIL_MUST_CHECK veil_status ratls_evidence_encode(const uint8_t *quote, size_t quote_len,
                                                  const uint8_t *claims, size_t claims_len,
                                                  uint8_t *out, size_t cap, size_t *out_len);

/* A decoded evidence: views into the input. */
typedef struct ratls_evidence {
    const uint8_t *quote;
    size_t quote_len;
    const uint8_t *claims;
    size_t claims_len;
    uint8_t pubkey_hash[32];
    const uint8_t *nonce; /* NULL: no nonce claim */
    size_t nonce_len;
} ratls_evidence;

/* Strict decoding. Refusals, each with its own code:
 *   VEIL_ERR_RATLS_EVIDENCE_FORMAT  not the [bstr, bstr] shape, wrong major types, a
 *                                   quote of 0 or more than TEE_QUOTE_MAX_LEN bytes
 *   VEIL_ERR_RATLS_EVIDENCE_TAG     not CBOR tag 60000
 *   VEIL_ERR_RATLS_CBOR_NONCANONICAL a head longer than needed, an indefinite length,
 *                                   map keys out of order
 *   VEIL_ERR_TRAILING               bytes after the item (evidence or claims)
 *   VEIL_ERR_RATLS_CLAIMS           claims not a map of known text keys, a key twice,
 *                                   "pubkey-hash" missing, a nonce of 0 or > 64 bytes
 *   VEIL_ERR_RATLS_HASH_ALG         "pubkey-hash" not [1, 32-byte bstr]
 *   VEIL_ERR_TOO_LARGE              input over RATLS_EVIDENCE_MAX */
VEIL_MUST_CHECK veil_status ratls_evidence_decode(const uint8_t *in, size_t len,
                                                  ratls_evidence *out);

/* An attestation report endorsing an evidence's quote (IAS-style, docs/attestation.md):
 *
 *   ias-report = [ body: bstr (1..65536), signature: tstr (base64, 1..1024),
 *                  signing-chain: tstr (PEM, 1..16384) ]
 *
 * body is the report JSON exactly as the service signed it; signature and chain are
 * the X-IASReport-Signature and the URL-decoded X-IASReport-Signing-Certificate. In a
 * certificate it is the value of a second, non-critical extension (RATLS_IAS_OID);
 * after the handshake it travels beside fresh evidence. tee_attestation_report
 * returns it. */
#define RATLS_IAS_OID "2.25.187670005989247724948175277698992169202"
#define RATLS_IAS_BODY_MAX 65536u
#define RATLS_IAS_SIG_MAX 1024u
#define RATLS_IAS_CHAIN_MAX 16384u
#define RATLS_IAS_MAX (RATLS_IAS_BODY_MAX + RATLS_IAS_SIG_MAX + RATLS_IAS_CHAIN_MAX + 16u)

typedef struct ratls_ias {
    const uint8_t *body;
    size_t body_len;
    const uint8_t *signature; /* base64 text, not NUL-terminated */
    size_t signature_len;
    const uint8_t *chain; /* PEM text, not NUL-terminated */
    size_t chain_len;
} ratls_ias;

VEIL_MUST_CHECK veil_status ratls_ias_encode(const ratls_ias *in, uint8_t *out, size_t cap,
                                             size_t *out_len);
/* Strict, as ratls_evidence_decode: VEIL_ERR_RATLS_EVIDENCE_FORMAT for another shape or
 * a part outside its bounds, VEIL_ERR_RATLS_CBOR_NONCANONICAL, VEIL_ERR_TRAILING,
 * VEIL_ERR_TOO_LARGE. Views into the input. */
VEIL_MUST_CHECK veil_status ratls_ias_decode(const uint8_t *in, size_t len, ratls_ias *out);

#endif
