/* Veil status codes: one enum for the whole project.
 *
 * Every fallible function returns a veil_status and puts results in out-params.
 * Codes are grouped by category (the hundreds digit): usage, input/protocol,
 * crypto/authentication, I/O, internal, TEE, transaction validation, TVE.
 * Each code has one fixed human-readable message (veil_status_str). Messages never
 * contain secret or plaintext data.
 *
 * This header is portable: it is used by the trusted core and by hosts.
 */
#ifndef VEIL_COMMON_STATUS_H
#define VEIL_COMMON_STATUS_H

#define VEIL_MUST_CHECK __attribute__((warn_unused_result))

/* X(name, value, message). Append new codes within their category block. */
#define VEIL_STATUS_LIST(X)                                                              \
    X(VEIL_OK, 0, "ok")                                                                  \
    /* usage (1xx) */                                                                    \
    X(VEIL_ERR_USAGE, 100, "invalid usage")                                              \
    X(VEIL_ERR_ARG, 101, "invalid argument")                                             \
    /* untrusted input / protocol (2xx) */                                               \
    X(VEIL_ERR_TRUNCATED, 200, "input truncated")                                        \
    X(VEIL_ERR_TRAILING, 201, "unexpected trailing bytes after message")                 \
    X(VEIL_ERR_TOO_LARGE, 202, "input exceeds its size limit")                           \
    X(VEIL_ERR_MALFORMED, 203, "malformed input")                                        \
    X(VEIL_ERR_BAD_MAGIC, 204, "unrecognised format (bad magic)")                        \
    X(VEIL_ERR_BAD_VERSION, 205, "unsupported format version")                           \
    X(VEIL_ERR_LIMIT, 206, "a count exceeds its limit")                                  \
    X(VEIL_ERR_BAD_HEX, 207, "invalid hexadecimal string")                               \
    X(VEIL_ERR_DECODE, 208, "message could not be decoded")                              \
    X(VEIL_ERR_OUT_OF_ORDER, 209, "request out of order")                                \
    /* crypto and authentication (3xx) */                                                \
    X(VEIL_ERR_CRYPTO, 300, "cryptographic library failure")                             \
    X(VEIL_ERR_AUTH, 301, "authentication failed")                                       \
    X(VEIL_ERR_BAD_SIGNATURE, 302, "signature verification failed")                      \
    X(VEIL_ERR_BAD_KEY, 303, "invalid key")                                              \
    /* I/O and environment (4xx) */                                                      \
    X(VEIL_ERR_IO, 400, "input/output error")                                            \
    X(VEIL_ERR_NOT_FOUND, 401, "not found")                                              \
    X(VEIL_ERR_EXISTS, 402, "already exists")                                            \
    X(VEIL_ERR_PERMISSION, 403, "file permissions are unsafe or access denied")          \
    X(VEIL_ERR_TIMEOUT, 404, "timed out")                                                \
    X(VEIL_ERR_DB, 405, "database error")                                                \
    X(VEIL_ERR_NET, 406, "network error")                                                \
    /* internal (5xx) */                                                                 \
    X(VEIL_ERR_INTERNAL, 500, "internal error")                                          \
    X(VEIL_ERR_NOMEM, 501, "out of memory")                                              \
    X(VEIL_ERR_BUFFER_TOO_SMALL, 502, "output buffer too small")                         \
    X(VEIL_ERR_OVERFLOW, 503, "arithmetic overflow")                                     \
    /* TEE layer (6xx) */                                                                \
    X(VEIL_ERR_TEE_IMAGE_FORMAT, 600, "enclave image is not a signed Veil enclave")      \
    X(VEIL_ERR_TEE_MEASUREMENT, 601,                                                     \
      "enclave image measurement does not match its signature structure")                \
    X(VEIL_ERR_TEE_SIGNATURE, 602,                                                       \
      "enclave signature structure is not validly signed by its signer key")             \
    X(VEIL_ERR_TEE_LOAD, 603, "enclave image could not be loaded")                       \
    X(VEIL_ERR_TEE_NO_ECALL, 604, "no such ecall in the enclave's table")                \
    X(VEIL_ERR_TEE_NO_OCALL, 605, "no such ocall in the host's table")                   \
    X(VEIL_ERR_TEE_SVN, 606, "requested security version is above the enclave's own")    \
    X(VEIL_ERR_TEE_POLICY, 607, "unknown key policy or key name")                        \
    X(VEIL_ERR_TEE_UNSEAL, 608, "sealed data failed authentication")                     \
    X(VEIL_ERR_TEE_REPORT_MAC, 609, "report MAC does not verify for this enclave")       \
    X(VEIL_ERR_TEE_QUOTE_FORMAT, 610, "quote is malformed")                              \
    X(VEIL_ERR_TEE_QUOTE_CHAIN, 611,                                                     \
      "quote's attestation key is not certified by the pinned provisioning root")        \
    X(VEIL_ERR_TEE_QUOTE_SIGNATURE, 612, "quote signature does not verify")              \
    X(VEIL_ERR_TEE_PLATFORM, 613,                                                        \
      "platform is not provisioned (run 'veil platform init')")                          \
    X(VEIL_ERR_TEE_ENCLAVE_FAULT, 614, "enclave call failed inside the enclave")         \
    X(VEIL_ERR_TEE_OUT_OF_MEMORY, 615, "enclave memory budget exhausted")                \
    X(VEIL_ERR_TEE_PRODID, 616, "sealed data belongs to another product id")             \
    X(VEIL_ERR_TEE_SIGNER_KEY, 617, "signer key file is invalid")

typedef enum veil_status {
#define VEIL_STATUS_ENUM_(name, value, msg) name = value,
    VEIL_STATUS_LIST(VEIL_STATUS_ENUM_)
#undef VEIL_STATUS_ENUM_
} veil_status;

/* The fixed message for a code; "unknown status" for values outside the list. */
const char *veil_status_str(veil_status s);
/* The code's symbolic name, e.g. "VEIL_ERR_TRUNCATED". */
const char *veil_status_name(veil_status s);

/* Guard macros: keep the happy path straight. */
#define TRY(expr)                                                                        \
    do {                                                                                 \
        veil_status try_s_ = (expr);                                                     \
        if (try_s_ != VEIL_OK) return try_s_;                                            \
    } while (0)

#define ENSURE(cond, err)                                                                \
    do {                                                                                 \
        if (!(cond)) return (err);                                                       \
    } while (0)

/* For functions with a cleanup path: set `st` and jump to `out`. */
#define TRY_OUT(expr)                                                                    \
    do {                                                                                 \
        st = (expr);                                                                     \
        if (st != VEIL_OK) goto out;                                                     \
    } while (0)

#define ENSURE_OUT(cond, err)                                                            \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            st = (err);                                                                  \
            goto out;                                                                    \
        }                                                                                \
    } while (0)

#endif
