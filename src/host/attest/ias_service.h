/* The IAS-style attestation service (`veil attest-service`), the per-node proxy in front
 * of it (`veil attest-proxy`), and the client both use (host only).
 * docs/attestation.md, "The attestation service and its proxy".
 *
 * Service: the API shape of Intel's IAS v4 over HTTPS.
 *   POST /attestation/v4/report  {"isvEnclaveQuote": base64, "nonce"?: <= 32 chars}
 *     200: the report JSON, signed (RSA PKCS#1 v1.5 SHA-256) in X-IASReport-Signature,
 *          with X-IASReport-Signing-Certificate (URL-encoded PEM: signing cert, root)
 *     400 malformed request or quote; 401 no or unknown Ocp-Apim-Subscription-Key;
 *     503 the service's own collateral is not valid now.
 *   GET /attestation/v4/sigrl/<8 hex>  200 with an empty body (no EPID groups here).
 * The quote is judged by the DCAP verifier against the service's collateral, now.
 *
 * Proxy: plain HTTP on the node's loopback; the only process that holds the
 * subscription key and reaches the service. It refuses callers outside its allow list
 * (default: loopback), rate-limits (token bucket), forwards only the two calls above,
 * and answers 502 when the service does not.
 */
#ifndef VEIL_HOST_ATTEST_IAS_SERVICE_H
#define VEIL_HOST_ATTEST_IAS_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/status.h"
#include "host/attest/attest.h"
#include "host/attest/ias.h"
#include "hostutil/http_server.h"

#define IAS_REQUEST_MAX (96u * 1024u) /* a request body: a base64 quote of 64 KiB fits */
#define IAS_NONCE_MAX 32u
#define IAS_MAX_KEYS 64u

/* ---- service -------------------------------------------------------------------- */
typedef struct ias_service {
    const attest_collateral *collateral;
    EVP_PKEY *report_key;          /* RSA-2048 or larger */
    const char *signing_chain_pem; /* signing certificate, then the report-signing root */
    const char *const *keys;       /* accepted subscription keys */
    size_t n_keys;
} ias_service;

/* The handler (http_handler_fn) with ctx = an ias_service, judging at the wall clock. */
void ias_service_handle(void *ctx, const http_request *req, http_response *resp);
/* The same at a given time (Unix microseconds). */
void ias_service_handle_at(const ias_service *s, const http_request *req, int64_t now_us,
                           http_response *resp);
/* The report call's answer to a request body (after the key check): the part that parses
 * untrusted JSON and quotes, which the fuzz target drives. */
void ias_service_report(const ias_service *s, const uint8_t *body, size_t len, int64_t now_us,
                        http_response *resp);

/* The service's home: TLS certificate and key, report-signing root and signing key.
 * init creates what is missing (RSA-2048 root valid 10 years, signing certificate 5
 * years; TLS: ECDSA P-256, self-signed, names localhost, 127.0.0.1, ::1 and `names`
 * (comma-separated DNS names or IP addresses, may be NULL)). */
#define IAS_TLS_CERT_FILE "tls.crt"
#define IAS_TLS_KEY_FILE "tls.key"
#define IAS_ROOT_CERT_FILE "report-root.crt"
#define IAS_ROOT_KEY_FILE "report-root.key"
#define IAS_SIGNING_CERT_FILE "report-signing.crt"
#define IAS_SIGNING_KEY_FILE "report-signing.key"
VEIL_MUST_CHECK veil_status ias_service_init_home(const char *home, const char *names);

/* Reads a key file: one key per line (blank lines and '#' comments skipped), the file
 * private (0600); at most IAS_MAX_KEYS keys of 1..128 printable characters. */
VEIL_MUST_CHECK veil_status ias_keys_load(const char *path, char ***keys, size_t *n);
void ias_keys_free(char **keys, size_t n);

/* ---- proxy ---------------------------------------------------------------------- */
typedef struct ias_proxy ias_proxy;
typedef struct ias_proxy_config {
    const char *service_url;   /* https://host:port */
    const char *service_ca;    /* PEM file the service's TLS certificate must chain to */
    const char *key;           /* the subscription key */
    double rate_per_s;         /* sustained requests per second (0: 10) */
    unsigned burst;            /* bucket size (0: 20) */
    const char *allow;         /* comma-separated client IP literals; NULL: loopback only */
    unsigned timeout_ms;       /* per forwarded call (0: 10000) */
} ias_proxy_config;
VEIL_MUST_CHECK veil_status ias_proxy_new(const ias_proxy_config *cfg, ias_proxy **out);
void ias_proxy_free(ias_proxy *p);
/* The handler (http_handler_fn) with ctx = an ias_proxy. */
void ias_proxy_handle(void *ctx, const http_request *req, http_response *resp);

/* ---- client --------------------------------------------------------------------- */
/* The IAS headers of an answer, taken line by line as they arrive (values as sent). */
typedef struct ias_headers {
    char *signature, *chain, *request_id;
} ias_headers;
/* One raw header line ("Name: value\r\n", any case): keeps the IAS ones; false for a
 * line over 64 KiB. */
bool ias_header_line(ias_headers *h, const char *line, size_t n);
void ias_headers_free(ias_headers *h);
/* Percent-decoding (X-IASReport-Signing-Certificate); malloc'd, NULL when out of memory. */
char *ias_url_decode(const char *s);

typedef struct ias_fetched {
    char *body; /* the report JSON, exactly as received */
    size_t body_len;
    char *signature_b64;
    char *signing_chain_pem; /* URL-decoded */
} ias_fetched;
void ias_fetched_free(ias_fetched *f);

/* Asks base_url (a proxy, http://; or a service, https:// with ca_file and key) for a
 * report on quote with nonce (NULL: none). VEIL_ERR_TEE_IAS_UNAVAILABLE if it does not
 * answer, VEIL_ERR_TEE_IAS_REFUSED for any answer but 200 (detail: the HTTP status and
 * the error), VEIL_ERR_TEE_IAS_REPORT when a 200 lacks the signature headers. */
VEIL_MUST_CHECK veil_status ias_fetch_report(const char *base_url, const char *ca_file,
                                             const char *key, const uint8_t *quote,
                                             size_t quote_len, const char *nonce,
                                             unsigned timeout_ms, ias_fetched *out);

#endif
