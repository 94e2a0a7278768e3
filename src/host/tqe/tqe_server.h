/* tqe_server.h — the TQE host: `veil tqe` (docs/tqe.md).
 *
 * Loads the TQE enclave, accepts wallets' TCP connections and moves their bytes to and
 * from the enclave (TQE_E_FEED), which terminates attested TLS and runs the protocol:
 * the host sees only ciphertext. It answers the enclave's ocalls: forwarding an
 * EncryptRequest or a GetSealedTxs to the TVE, and fetching the chain state an order
 * needs with its proofs from the node's RPC (tqe_chain.h). A thread follows the chain
 * for the enclave's light client (lc_follow.h), against which those proofs are judged.
 *
 * Limits: at most max_clients connections at once, and at most max_per_address from
 * one client address (more are accepted and closed at once); a connection that has
 * not completed its TLS handshake within handshake_ms is closed (slow or silent
 * clients cannot hold the slots before authenticating); each connection is closed
 * after `timeout_ms` without input and after 20 x timeout_ms in total; a token bucket per client address (rate per second,
 * burst 2 x rate) is charged for each connection and each read: a new connection
 * without a token is closed, a read without one waits for it. Per-connection input is
 * never buffered in the host beyond one 16 KiB read (the enclave limits messages to
 * 64 KiB before buffering them).
 */
#ifndef VEIL_HOST_TQE_TQE_SERVER_H
#define VEIL_HOST_TQE_TQE_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/status.h"
#include "tee/tee.h"
#include "trusted/lightclient/lc.h"

typedef struct tqe_server_config {
    const char *listen;       /* HOST:PORT (port 0: any free port) */
    const char *tve_endpoint; /* ipc://PATH or tcp://HOST:PORT */
    const char *home;         /* created 0700; holds tqe-cert.der */
    const char *rpc_url;      /* node RPC, e.g. http://127.0.0.1:26657; NULL: none (queries
                                 only: an encrypt needs the chain's state) */
    const char *platform_dir; /* NULL: default */
    const char *attest_proxy; /* http://HOST:PORT of the node's attestation proxy, or NULL:
                                 the certificate carries no attestation report */
    const char *enclave_path;
    unsigned max_clients;     /* 0: 64 */
    unsigned timeout_ms;      /* 0: 30000 */
    unsigned rate;            /* reads and connections per second per address; 0: 50 */
    unsigned max_per_address; /* concurrent connections per client address; 0: 8 */
    unsigned handshake_ms;    /* pre-authentication deadline; 0: 5000 */
    /* The enclave's light client (docs/light-client.md), which proves the chain state of
     * every order. A first start needs a trust root: a height and its header hash;
     * later starts resume from home/lc-state.sealed. lc: zero for lc_params_default. */
    bool has_trust;
    int64_t trust_height;
    uint8_t trust_hash[32];
    lc_params lc;
} tqe_server_config;

typedef struct tqe_server tqe_server;

VEIL_MUST_CHECK veil_status tqe_server_open(const tqe_server_config *cfg, tqe_server **out);
/* "HOST:PORT" actually bound. */
const char *tqe_server_address(const tqe_server *s);
void tqe_server_identity(const tqe_server *s, tee_identity *out);
/* Serves until *stop becomes non-zero (checked at least once a second). */
VEIL_MUST_CHECK veil_status tqe_server_run(tqe_server *s, volatile sig_atomic_t *stop);
/* Waits for connection threads to finish and frees everything. NULL is a no-op. */
void tqe_server_close(tqe_server *s);

/* Registers the TQE's metrics (served by --metrics). */
void tqe_server_metrics_register(void);

#endif
