/* tee.h — Veil's portable TEE layer.
 *
 * One interface, one directory per backend (src/tee/sim today; SGX, OP-TEE and
 * Keystone are ports of the same calls, see docs/tee-ports.md). Nothing above this
 * header may assume a particular TEE.
 *
 * Two sides:
 *  - HOST side (untrusted process): open the platform, load a signed enclave image,
 *    call its ecalls by index with byte buffers, serve its ocalls, destroy it, and
 *    verify quotes.
 *  - TRUSTED side (code compiled into an enclave image): random bytes, key derivation
 *    by policy, seal/unseal with associated data, reports for a target enclave and
 *    their verification, quotes, own identity, memory, ocalls.
 *
 * Buffers crossing the boundary are plain (pointer, length) pairs. The backend copies
 * ecall input into enclave-owned memory before the handler runs and copies output
 * back after it returns, so a handler never reads host memory twice.
 */
#ifndef VEIL_TEE_TEE_H
#define VEIL_TEE_TEE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define TEE_MEASUREMENT_LEN 32
#define TEE_REPORT_DATA_LEN 64
#define TEE_KEY_ID_LEN 32
#define TEE_KEY_LEN 32

/* Enclave attribute flags (identity.attributes). */
#define TEE_ATTR_DEBUG ((uint64_t)1 << 1)

/* Who an enclave is. mrenclave: hash of the image; mrsigner: hash of the signer's
 * public key; prodid / svn: chosen by the signer in the signature structure. */
typedef struct tee_identity {
    uint8_t mrenclave[TEE_MEASUREMENT_LEN];
    uint8_t mrsigner[TEE_MEASUREMENT_LEN];
    uint16_t prodid;
    uint16_t svn;
    uint64_t attributes;
} tee_identity;

/* What a report binds: the enclave's identity plus 64 bytes of its choosing. */
typedef struct tee_report_body {
    tee_identity identity;
    uint8_t report_data[TEE_REPORT_DATA_LEN];
} tee_report_body;

/* Enough about a target enclave for another enclave to MAC a report to it. */
typedef struct tee_target_info {
    uint8_t mrenclave[TEE_MEASUREMENT_LEN];
    uint64_t attributes;
} tee_target_info;

/* A report: body, the key id used for the MAC, and the MAC (only the target enclave
 * can recompute it). Serialised form: docs/sealing-and-attestation.md. */
#define TEE_REPORT_MAC_LEN 32
typedef struct tee_report {
    tee_report_body body;
    uint8_t key_id[TEE_KEY_ID_LEN];
    uint8_t mac[TEE_REPORT_MAC_LEN];
} tee_report;

/* Key policies: whose identity a derived key is bound to. */
typedef enum tee_key_policy {
    TEE_POLICY_MRSIGNER = 1, /* any enclave of the same signer and product id */
    TEE_POLICY_MRENCLAVE = 2 /* only this exact image */
} tee_key_policy;

/* Key names: what a derived key is for (separates key spaces). */
typedef enum tee_key_name {
    TEE_KEY_SEAL = 1,
    TEE_KEY_REPORT = 2, /* only via the report calls */
    TEE_KEY_APP = 3     /* application-defined use of a policy-bound key */
} tee_key_name;

/* Sizes. A sealed blob is tee_sealed_size(plaintext length) bytes; every backend keeps
 * it within plaintext + TEE_SEAL_OVERHEAD_MAX, so buffers can be sized at compile time. */
#define TEE_SEAL_OVERHEAD_MAX 80u
#define TEE_SEAL_MAX_PLAINTEXT (64u * 1024u * 1024u)
#define TEE_REPORT_WIRE_LEN 248u
#define TEE_QUOTE_MAX_LEN 8192u

/* Serialise/parse the fixed report layout (hosts carry reports between enclaves).
 * Parsing checks length and shape only; authenticity comes from tee_report_verify. */
void tee_report_serialize(const tee_report *r, uint8_t out[static TEE_REPORT_WIRE_LEN]);
VEIL_MUST_CHECK veil_status tee_report_parse(const uint8_t *in, size_t len, tee_report *out);
/* Which enclave identities a party accepts: MRENCLAVE and/or MRSIGNER (NULL: not
 * pinned), the product id and a minimum SVN. One check for every place that judges
 * an enclave (attested TLS, node joins, the node's TVE, the TVE<->TQE hand-off), each
 * mapping the answer to its own error code. */
typedef struct tee_identity_policy {
    const uint8_t *mrenclave; /* TEE_MEASUREMENT_LEN bytes, or NULL */
    const uint8_t *mrsigner;  /* TEE_MEASUREMENT_LEN bytes, or NULL */
    bool has_prodid;
    uint16_t prodid;
    bool has_min_svn;
    uint16_t min_svn;
} tee_identity_policy;

typedef enum tee_identity_verdict {
    TEE_IDENTITY_OK = 0,
    TEE_IDENTITY_MRSIGNER, /* checked first */
    TEE_IDENTITY_MRENCLAVE,
    TEE_IDENTITY_PRODID,
    TEE_IDENTITY_SVN,
} tee_identity_verdict;

/* The first pinned field `id` fails (in the order of the enum), or TEE_IDENTITY_OK.
 * Measurements are compared in constant time. Attributes (debug) and platform TCB are
 * the caller's to judge. */
tee_identity_verdict tee_identity_check(const tee_identity_policy *p, const tee_identity *id);

void tee_identity_serialize(const tee_identity *id, uint8_t out[static 76]);
VEIL_MUST_CHECK veil_status tee_identity_parse(const uint8_t *in, size_t len, tee_identity *out);
#define TEE_IDENTITY_WIRE_LEN 76u

/* ============================ HOST SIDE ========================================== */

typedef struct tee_platform tee_platform;
typedef struct tee_enclave tee_enclave;

/* An ocall handler, run by the host on the enclave's behalf. `ctx` is the table's. */
typedef veil_status (*tee_ocall_fn)(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                                    size_t out_cap, size_t *out_len);

typedef struct tee_ocall_table {
    const tee_ocall_fn *fns;
    size_t count;
    void *ctx;
} tee_ocall_table;

/* Opens this machine's platform state in `dir` (NULL: $VEIL_PLATFORM_DIR, else
 * $HOME/.veil/platform). Creates the root secret (0600) on first use. Quoting needs
 * a provisioned platform (veil platform init); other calls do not. */
VEIL_MUST_CHECK veil_status tee_platform_open(const char *dir, tee_platform **out);
void tee_platform_close(tee_platform *p);
/* The directory tee_platform_open(NULL, ...) would use, written into buf. */
VEIL_MUST_CHECK veil_status tee_platform_default_dir(char *buf, size_t cap);
/* The attestation proxy (veil attest-proxy, http://HOST:PORT) through which enclaves'
 * tee_attestation_report reaches the attestation service; NULL: none (the default).
 * Set before loading enclaves; at most 255 characters (VEIL_ERR_TOO_LARGE). */
VEIL_MUST_CHECK veil_status tee_platform_set_attestation_proxy(tee_platform *p, const char *url);
/* The collateral (a bundle file, docs/attestation.md) the platform's quote verification
 * service judges other enclaves' quotes with (tee_quote_verify); NULL: none, and
 * tee_quote_verify answers VEIL_ERR_TEE_UNSUPPORTED. The service pins the root of the
 * authority that provisioned this platform, so collateral signed under another root
 * is refused at use (VEIL_ERR_TEE_QUOTE_CHAIN), whoever supplied it. Loaded and
 * checked for shape now (VEIL_ERR_TEE_COLLATERAL); set before loading enclaves. */
VEIL_MUST_CHECK veil_status tee_platform_set_collateral(tee_platform *p, const char *path);

/* Loads a signed enclave image. Verifies the signature structure, recomputes the
 * measurement over the image bytes and refuses any mismatch; the bytes that were
 * verified are the bytes that run. `ocalls` may be NULL. `max_memory` bounds the
 * enclave's heap (0: 64 MiB). */
VEIL_MUST_CHECK veil_status tee_enclave_load(tee_platform *p, const char *signed_image_path,
                                             const tee_ocall_table *ocalls, size_t max_memory,
                                             tee_enclave **out);
void tee_enclave_destroy(tee_enclave *e);

/* The identity a signed enclave image would have once loaded (its signature is
 * verified; nothing is loaded or run): what tools and policies pin (MRENCLAVE, MRSIGNER,
 * product id, SVN, attributes) without knowing the backend's image format. */
VEIL_MUST_CHECK veil_status tee_image_identity(const char *signed_image_path, tee_identity *out);

/* Calls ecall `index`. Input is copied in; at most out_cap bytes are copied out and
 * *out_len set. Returns the handler's status (an enclave-side error code),
 * VEIL_ERR_TEE_NO_ECALL, VEIL_ERR_TEE_OUT_OF_MEMORY when the marshalled buffers do not
 * fit the enclave's memory budget, or VEIL_ERR_TEE_ENCLAVE_FAULT when the handler claims
 * more output than out_cap. Several host threads may call concurrently. */
VEIL_MUST_CHECK veil_status tee_enclave_call(tee_enclave *e, uint32_t index, const uint8_t *in,
                                             size_t in_len, uint8_t *out, size_t out_cap,
                                             size_t *out_len);
/* The same, with a context for this call's ocalls: they receive ocall_ctx (instead of
 * the table's ctx). Per call: concurrent calls on several threads each see their own,
 * so a host needs no thread-local state to tell its ocalls what the call is about. */
VEIL_MUST_CHECK veil_status tee_enclave_call_ctx(tee_enclave *e, uint32_t index, const uint8_t *in,
                                                 size_t in_len, uint8_t *out, size_t out_cap,
                                                 size_t *out_len, void *ocall_ctx);

void tee_enclave_identity(const tee_enclave *e, tee_identity *out);
void tee_enclave_target_info(const tee_enclave *e, tee_target_info *out);

/* Quotes are verified by host/attest/attest.h: every backend produces Intel's SGX
 * ECDSA quote v3 (docs/attestation.md), so one verifier serves them all. */

/* ============================ TRUSTED SIDE ======================================= */
/* Only code linked into an enclave image may call these. */

/* An ecall handler. Input and output are enclave-owned copies. */
typedef veil_status (*tee_ecall_fn)(const uint8_t *in, size_t in_len, uint8_t *out,
                                    size_t out_cap, size_t *out_len);

/* Each enclave image defines exactly one ecall table and an optional init hook:
 *   TEE_ENCLAVE_DEFINE(init_fn_or_NULL, handler0, handler1, ...);
 * The init hook runs once at load, before any ecall. */
typedef struct tee_enclave_def {
    veil_status (*init)(void);
    const tee_ecall_fn *ecalls;
    size_t ecall_count;
} tee_enclave_def;

extern const tee_enclave_def tee_enclave_definition;

#define TEE_ENCLAVE_DEFINE(init_fn, ...)                                                 \
    static const tee_ecall_fn tee_ecalls_[] = {__VA_ARGS__};                             \
    const tee_enclave_def tee_enclave_definition = {                                     \
        (init_fn), tee_ecalls_, sizeof tee_ecalls_ / sizeof tee_ecalls_[0]}

VEIL_MUST_CHECK veil_status tee_random(void *buf, size_t n);

/* Derives a 32-byte key bound to this enclave's identity under `policy`, for
 * security version `svn` (must be <= own SVN, else VEIL_ERR_TEE_SVN) and `key_id`. */
VEIL_MUST_CHECK veil_status tee_derive_key(tee_key_name name, tee_key_policy policy, uint16_t svn,
                                           const uint8_t key_id[static TEE_KEY_ID_LEN],
                                           uint8_t key[static TEE_KEY_LEN]);

/* Seals pt under a key derived with `policy` at the enclave's own SVN and a fresh key
 * id. aad is authenticated, not stored: the same aad must be given to unseal.
 * out_cap >= tee_sealed_size(pt_len). */
/* The exact size of a sealed blob of pt_len bytes (<= pt_len + TEE_SEAL_OVERHEAD_MAX). */
size_t tee_sealed_size(size_t pt_len);
VEIL_MUST_CHECK veil_status tee_seal(tee_key_policy policy, const void *aad, size_t aad_len,
                                     const void *pt, size_t pt_len, uint8_t *out, size_t out_cap,
                                     size_t *out_len);

/* Opens a sealed blob. Refusals: header shape (VEIL_ERR_BAD_MAGIC, VEIL_ERR_BAD_VERSION,
 * VEIL_ERR_TEE_POLICY, VEIL_ERR_MALFORMED, VEIL_ERR_TRUNCATED); another product id
 * (VEIL_ERR_TEE_PRODID); a newer SVN than this enclave's (VEIL_ERR_TEE_SVN); and
 * VEIL_ERR_TEE_UNSEAL for any other alteration of blob or aad, or when this enclave may
 * not derive the key (other signer, other image under MRENCLAVE, other platform).
 * out_cap >= the plaintext length (tee_sealed_plaintext_len). */
VEIL_MUST_CHECK veil_status tee_unseal(const uint8_t *blob, size_t blob_len, const void *aad,
                                       size_t aad_len, uint8_t *out, size_t out_cap,
                                       size_t *out_len);

/* Plaintext length a blob would unseal to, from its header (no authentication). */
VEIL_MUST_CHECK veil_status tee_sealed_plaintext_len(const uint8_t *blob, size_t blob_len,
                                                     size_t *pt_len);

void tee_self_identity(tee_identity *out);
void tee_self_target_info(tee_target_info *out);

/* A report of this enclave, MACed for `target`. */
VEIL_MUST_CHECK veil_status tee_report_create(const tee_target_info *target,
                                              const uint8_t report_data[static TEE_REPORT_DATA_LEN],
                                              tee_report *out);
/* Verifies a report targeted at this enclave (local attestation). */
VEIL_MUST_CHECK veil_status tee_report_verify(const tee_report *r);

/* A quote over this enclave's identity and report_data, signed by the platform's
 * quoting service. */
VEIL_MUST_CHECK veil_status tee_quote_create(const uint8_t report_data[static TEE_REPORT_DATA_LEN],
                                             uint8_t *out, size_t out_cap, size_t *out_len);

/* An attestation report (IAS-style) on one of this enclave's quotes, from the
 * attestation service through the host's proxy, encoded as ratls_evidence.h's
 * ias-report (at most RATLS_IAS_MAX bytes). The service signs it, so the host cannot
 * forge it; verifiers check it. VEIL_ERR_TEE_UNSUPPORTED when the host has no proxy
 * (tee_platform_set_attestation_proxy); VEIL_ERR_TEE_IAS_UNAVAILABLE or
 * VEIL_ERR_TEE_IAS_REFUSED when the proxy or the service fails. */
VEIL_MUST_CHECK veil_status tee_attestation_report(const uint8_t *quote, size_t quote_len,
                                                   uint8_t *out, size_t out_cap, size_t *out_len);

/* What a remote enclave's quote says once the platform's quote verification service
 * (Intel's QvE on SGX) verified it. */
typedef struct tee_quote_verdict {
    tee_identity identity;
    uint8_t report_data[TEE_REPORT_DATA_LEN];
    uint32_t tcb_status; /* 0 UpToDate, then Intel's order (host/attest/dcap.h); 6 Revoked */
} tee_quote_verdict;

/* Verifies another enclave's quote (SGX ECDSA v3) at time `at` (Unix seconds; the
 * caller's idea of now: enclaves have no clock) with the collateral the host configured
 * (tee_platform_set_collateral), chained to the root the platform itself was
 * provisioned under. The verdict reaches the enclave from the platform's verification
 * service, not from the host: on SGX the port checks the QvE's report targeted at this
 * enclave (sgx_tvl_verify_qve_report_and_identity); in the sim the service is part of
 * the simulated platform, as its quoting enclave is. The TCB status is returned, not
 * judged. Errors: the verifier's (610-623), VEIL_ERR_TEE_UNSUPPORTED without
 * collateral. */
VEIL_MUST_CHECK veil_status tee_quote_verify(const uint8_t *quote, size_t quote_len, int64_t at,
                                             tee_quote_verdict *out);

/* Monotonic counters of this platform, scoped to the calling enclave's identity
 * (MRENCLAVE): another image can neither read nor move them. `id` names one (an
 * enclave draws ids at random to keep instances apart). A counter never seen reads 0.
 * tee_counter_increment adds one durably and returns the new value, so state sealed
 * with that value can later be told from older copies: rollback protection. Errors:
 * VEIL_ERR_TEE_COUNTER when the platform's counter store fails. Backends: sim (a file
 * per counter in the platform directory, docs/tee-ports.md), others per their port. */
#define TEE_COUNTER_ID_LEN 32
VEIL_MUST_CHECK veil_status tee_counter_increment(const uint8_t id[static TEE_COUNTER_ID_LEN],
                                                  uint64_t *value);
VEIL_MUST_CHECK veil_status tee_counter_read(const uint8_t id[static TEE_COUNTER_ID_LEN],
                                             uint64_t *value);

/* Enclave heap, bounded by the budget given at load. NULL when exhausted. */
void *tee_alloc(size_t n);
void *tee_calloc(size_t count, size_t size);
void tee_free(void *p);

/* Calls the host's ocall `index`. The host's output is copied into `out`. */
VEIL_MUST_CHECK veil_status tee_ocall(uint32_t index, const uint8_t *in, size_t in_len,
                                      uint8_t *out, size_t out_cap, size_t *out_len);

#endif
