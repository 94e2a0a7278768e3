/* A test/bench client of the TVE daemon: starting and killing the real `veil tve`
 * process, a 0MQ REQ connection, request helpers, and confidential txs made the way
 * a wallet makes them (TxPayload -> TQE seal -> EncryptRequest).
 *
 * Test support only: failures of the harness itself (fork, socket, allocation) abort
 * with a message; protocol outcomes are returned for the caller to check.
 */
#ifndef VEIL_TESTS_SUPPORT_TVE_CLIENT_H
#define VEIL_TESTS_SUPPORT_TVE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tee/tee.h"
#include "veil/tve.pb-c.h"

/* --- the daemon process ---------------------------------------------------------- */
typedef struct tvec_daemon {
    pid_t pid;
    char ready_line[512]; /* what the daemon printed once listening */
} tvec_daemon;

/* Starts `veil tve --listen endpoint --home home --platform platform --threads N
 * --log errors [extra...]` (extra: NULL-terminated, may be NULL) and waits up to
 * timeout_s for its start-up line. Returns 0, or -1 if the daemon exited or timed out
 * (its exit status in *exit_status if not NULL; -1 for a timeout). stderr is inherited
 * unless $VEIL_TVE_QUIET is set. */
int tvec_daemon_start(tvec_daemon *d, const char *veil, const char *endpoint, const char *home,
                      const char *platform, unsigned threads, const char *const *extra,
                      double timeout_s, int *exit_status);
/* Sends sig (SIGKILL, SIGTERM) and reaps the process; returns its wait status. */
int tvec_daemon_stop(tvec_daemon *d, int sig);
/* true while the process has not exited. */
bool tvec_daemon_alive(tvec_daemon *d);

/* --- the connection --------------------------------------------------------------- */
typedef struct tvec_client {
    void *ctx;
    void *sock;
} tvec_client;

/* A REQ socket connected to endpoint; receives time out after timeout_ms. */
void tvec_connect(tvec_client *c, const char *endpoint, int timeout_ms);
void tvec_close(tvec_client *c);
/* Sends one frame and decodes the reply. NULL on timeout or an undecodable reply. */
Veil__Tve__Response *tvec_call_raw(tvec_client *c, const void *frame, size_t len);
Veil__Tve__Response *tvec_call(tvec_client *c, const Veil__Tve__Request *req);
/* Encodes a request (malloc'd). */
uint8_t *tvec_request_pack(const Veil__Tve__Request *req, size_t *len);
/* The Error code of a response; 0 if it is not an error. */
uint32_t tvec_error_code(const Veil__Tve__Response *r);
void tvec_response_free(Veil__Tve__Response *r);

/* Requests. Each returns the decoded response (caller frees). */
Veil__Tve__Response *tvec_status(tvec_client *c);
Veil__Tve__Response *tvec_init_chain(tvec_client *c, const char *chain_id);
Veil__Tve__Response *tvec_check_chain(tvec_client *c, const char *chain_id, uint64_t height,
                                      const uint8_t *app_hash, size_t app_hash_len);
Veil__Tve__Response *tvec_end_block(tvec_client *c, uint64_t height);
Veil__Tve__Response *tvec_commit_block(tvec_client *c, uint64_t height, const uint8_t *app_hash,
                                       size_t app_hash_len, const uint8_t (*txids)[32], size_t n);
Veil__Tve__Response *tvec_get_sealed(tvec_client *c, const uint8_t (*txids)[32], size_t n);

/* --- transactions ----------------------------------------------------------------- */
/* Chain parameters used by the helpers: chain id, block time, fee rule at-least with
 * zero fees unless changed. */
typedef struct tvec_chain {
    char chain_id[65];
    Veil__Tve__ChainParams params;
} tvec_chain;

void tvec_chain_init(tvec_chain *ch, const char *chain_id, uint64_t block_time);

/* A wire tx as the node sees it (owned copy of the encoding, decoded message). */
typedef struct tvec_tx {
    uint8_t txid[32];
    uint8_t *wire;
    size_t wire_len;
    Veil__Tx__ConfidentialTx *msg; /* decoded from wire */
    size_t n_inputs;
    /* deposit/withdraw: the account state to verify with (address in account_addr) */
    bool has_account;
    Veil__Tve__AccountState account;
    uint8_t account_addr[32];
} tvec_tx;

void tvec_tx_free(tvec_tx *t);
/* Re-decodes t->msg after t->wire was edited. Returns false if it no longer decodes. */
bool tvec_tx_redecode(tvec_tx *t);

/* Seals an order in the TQE (a test image: TQE_E_SEAL_PAYLOAD) — payload, fee, ch's
 * parameters, `account` (may be NULL: none) and one spent flag per public input
 * (`spent`, n_spent) — and sends an EncryptRequest. On success (return 0) fills *out;
 * otherwise returns the Error code (or -1 on a transport failure). */
int tvec_encrypt(tvec_client *c, tee_enclave *tqe, const tvec_chain *ch, const uint8_t *payload,
                 size_t payload_len, const Veil__Tve__AccountState *account, uint64_t fee,
                 const bool *spent, size_t n_spent, tvec_tx *out);

/* A verify-tx request for a wire tx (input_spent all false). Returns the response. */
Veil__Tve__Response *tvec_verify_tx(tvec_client *c, const tvec_chain *ch, Veil__Tve__Mode mode,
                                    uint64_t height, const tvec_tx *t);
/* Builds (not sends) a VerifyBlockRequest frame for txs[0..n). */
uint8_t *tvec_verify_block_pack(const tvec_chain *ch, uint64_t height, tvec_tx *const *txs,
                                size_t n, size_t *len);

#endif
