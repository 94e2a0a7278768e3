/* The TVE service: the node <-> TVE protocol (proto/veil/tve.proto,
 * docs/tve-protocol.md) without any transport.
 *
 * A service owns the loaded TVE enclave, the LMDB store and the in-memory staging of
 * the block being built. tve_service_handle takes one request frame (untrusted bytes)
 * and always produces one encoded Response: a result, or an Error with a status code.
 * It never fails in a way that leaves the caller without a reply, so a transport can
 * answer every frame (0MQ REP needs exactly one reply per request).
 *
 * Not thread-safe: one request at a time (the service uses its own worker threads
 * for verify-block). The fuzz target and the tests drive it directly; tve_server.c
 * puts it behind a 0MQ REP socket.
 */
#ifndef VEIL_HOST_TVE_SERVICE_H
#define VEIL_HOST_TVE_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "tee/tee.h"

/* Frame limits, checked before decoding (tve.proto). */
#define TVE_FRAME_MAX (1u << 20)        /* any request */
#define TVE_BLOCK_FRAME_MAX (32u << 20) /* a request whose first byte is TVE_BLOCK_TAG */
#define TVE_BLOCK_TAG 0x2a              /* Request.verify_block: field 5, length-delimited */
#define TVE_IMPORT_TAG 0x7a             /* Request.import_blocks: field 15, length-delimited */
/* Items per request. */
#define TVE_BLOCK_MAX_TXS 10000u      /* verify-block batch; also txs staged per height */
#define TVE_GET_SEALED_MAX_TXIDS 256u /* get-sealed-txs */
/* Enclave heap budget (the bound), whatever the store size. */
#define TVE_ENCLAVE_MEMORY (64u << 20)
/* Upper bound on worker threads for verify-block. */
#define TVE_MAX_THREADS 64u

typedef enum tve_log_level {
    TVE_LOG_NONE = 0,   /* nothing per request */
    TVE_LOG_ERRORS = 1, /* one line per request that failed */
    TVE_LOG_ALL = 2     /* one line per request */
} tve_log_level;

typedef struct tve_service_config {
    const char *home;         /* store directory (created 0700 if missing); required */
    const char *platform_dir; /* NULL: tee_platform_open's default */
    const char *enclave_path; /* signed veil_tve_enclave image; required */
    unsigned threads;         /* verify-block workers; 0: online CPUs */
    /* Expected enclave identity; NULL / false: not checked. */
    const uint8_t *mrsigner;  /* 32 bytes */
    const uint8_t *mrenclave; /* 32 bytes */
    bool check_min_svn;
    uint16_t min_svn;
    bool no_sync; /* store commits without fsync: fuzzing only, never in production */
} tve_service_config;

typedef struct tve_service tve_service;

/* What one handled request was, for the caller's log line. Never plaintext. */
typedef struct tve_request_info {
    const char *name;   /* "status", "verify-block", ..., or "invalid" */
    veil_status status; /* VEIL_OK, or the code of the Error response */
    size_t n_items;     /* txs in the request (verify-block, commit-block, ...) */
} tve_request_info;

/* Opens the platform, loads and checks the enclave (VEIL_ERR_TVE_IDENTITY on a
 * mismatch, with veil_error_detail saying which field), opens the store and loads
 * every stored epoch key into the enclave. */
VEIL_MUST_CHECK veil_status tve_service_open(const tve_service_config *cfg, tve_service **out);
/* The loaded enclave (tests: the test image's hooks). */
struct tee_enclave *tve_service_enclave(tve_service *s);
void tve_service_close(tve_service *s);

/* Handles one request frame. On VEIL_OK, *resp (malloc'd; caller frees) holds an
 * encoded Response — possibly an Error response — and *info describes the request.
 * Returns an error only if even an error response could not be built (out of memory);
 * the caller then replies with tve_response_static_error. */
VEIL_MUST_CHECK veil_status tve_service_handle(tve_service *s, const uint8_t *req, size_t req_len,
                                               uint8_t **resp, size_t *resp_len,
                                               tve_request_info *info);

/* A preallocated encoded Error response for `st` (for when allocation failed).
 * Writes at most cap bytes; returns the length (0 if cap is too small). */
size_t tve_response_static_error(veil_status st, uint8_t *out, size_t cap);

void tve_service_identity(const tve_service *s, tee_identity *out);
/* Last committed height (0: none). */
uint64_t tve_service_last_height(const tve_service *s);
/* Key epochs (docs/key-epochs.md): the current epoch as the last window named it, whether
 * a key is awaited (1) or not (0), and how many keys this TVE destroyed since it started. */
uint64_t tve_service_key_epoch(const tve_service *s);
uint64_t tve_service_key_awaited(const tve_service *s);
uint64_t tve_service_keys_destroyed(const tve_service *s);
/* Bytes the service's store uses. */
uint64_t tve_service_store_bytes(tve_service *s);
unsigned tve_service_threads(const tve_service *s);

#endif
