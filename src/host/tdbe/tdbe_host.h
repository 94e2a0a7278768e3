/* tdbe_host.h — the TDBE host: `veil tdbe` (docs/tdbe.md).
 *
 * Loads the TDBE enclave, hands it the TDBE<->TVE channel key from this platform's TVE
 * (local attestation), and then:
 *  - joins: with an operator account, it binds its enclave key to that account on
 *    chain by a node join (once; again if the image or platform changes the key);
 *  - serves peer TDBEs: accepts TCP connections and moves their bytes to and from the
 *    enclave (TDBE_E_FEED), which terminates mutually attested TLS, judges the peer,
 *    checks its membership against the node's state (TDBE_O_MEMBERSHIP: the account's
 *    record with its SMT proof and the app hash, from the node's RPC) and answers a
 *    key request with the key its TVE exports under the channel key;
 *  - fetches: while its TVE waits for a key of the chain (the TVE's status, asked every
 *    250 ms, names the awaited epoch and commitment: the genesis key, or a later epoch's,
 *    docs/key-epochs.md), it asks the peers in turn, again `retry_ms` after a round no
 *    peer served, and hands the key its enclave accepted to the TVE (ImportKeyRequest),
 *    which checks the commitment again.
 * The host sees only ciphertext and sealed blobs. Limits: at most max_peers
 * connections at once (more are closed at once); a connection that has not verified
 * its peer within handshake_ms, or is idle for timeout_ms, is closed.
 */
#ifndef VEIL_HOST_TDBE_TDBE_HOST_H
#define VEIL_HOST_TDBE_TDBE_HOST_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "tee/tee.h"
#include "trusted/lightclient/lc.h"

#define TDBE_MAX_PEERS 64u
#define TDBE_BOOTSTRAP_LAG 10u

typedef struct tdbe_config {
    const char *listen;       /* HOST:PORT (port 0: any free port) */
    const char *tve_endpoint; /* this platform's TVE: ipc://PATH or tcp://HOST:PORT */
    const char *home;         /* created 0700; holds tdbe-cert.der */
    const char *platform_dir; /* NULL: default */
    const char *collateral;   /* the collateral bundle peers' quotes are judged with */
    const char *enclave_path;
    const char *peers[TDBE_MAX_PEERS]; /* HOST:PORT of peer TDBEs */
    size_t n_peers;
    unsigned max_peers;    /* concurrent served connections; 0: 16 */
    unsigned timeout_ms;   /* 0: 10000 */
    unsigned handshake_ms; /* 0: 5000 */
    unsigned retry_ms;     /* after a fetch round no peer served; 0: 2000 */
    unsigned poll_ms;      /* between asking the TVE whether it awaits a key; 0: 250 */
    unsigned tve_timeout_ms; /* an answer of the TVE; 0: the 0MQ client's default (30 s) */
    /* The node's RPC (CometBFT's or the dev chain's): membership proofs and the node
     * join. Required unless `state_proof` is set. */
    const char *rpc;
    /* Where the node join is sent and the account read (NULL: rpc). A node that is
     * catching up cannot relay its own join; a synced node's RPC can. */
    const char *join_rpc;
    /* This node's staking account: named in key requests (a server serves only a
     * member); fetching needs it. With account_sk, the TDBE joins it (a node join
     * binding this enclave's key, signed with the account key). */
    bool has_account, has_account_sk;
    uint8_t account[32];
    uint8_t account_sk[32];
    /* With has_validator, the node join also names this node's CometBFT consensus key
     * (Ed25519; sk as libsodium's 64 bytes), signing the proof that its holder asks:
     * the account's node becomes a validator (docs/node.md, "Validators"). */
    bool has_validator;
    uint8_t validator_pk[32];
    uint8_t validator_sk[64];
    /* The light client whose verified app hashes membership proofs are checked
     * against (docs/light-client.md). A first start needs a trust root: a height and
     * its header hash; later starts resume from home/lc-state.sealed. lc: zero for
     * lc_params_default. */
    bool has_trust;
    int64_t trust_height;
    uint8_t trust_hash[32];
    lc_params lc;
    /* Bootstrap of tx data (docs/tdbe.md, "Bootstrap"): while the TVE lags the
     * light client's verified height by more than bootstrap_lag blocks (0: 10), or at
     * all while it waits for a key, fetch the blocks it lacks from the peers. Needs an
     * account (has_account), joined when this TDBE joins it. */
    bool bootstrap;
    unsigned bootstrap_lag;
    /* Tests: light blocks from here instead of the RPC. */
    veil_status (*light_block)(void *ctx, int64_t height, lc_light_block *out);
    veil_status (*latest_height)(void *ctx, int64_t *height);
    void *chain_ctx;
    /* Tests: where state proofs come from instead of the RPC: the record of (ns, id)
     * (smt_verify.h namespaces: account, key_epoch) in tdbe_member.h's encoding. */
    veil_status (*state_proof)(void *ctx, uint8_t ns, const uint8_t *id, size_t id_len,
                               uint8_t *out, size_t cap, size_t *out_len);
    void *state_proof_ctx;
    /* Tests: a serving host that lies. Called with the answer to the enclave's
     * TDBE_O_TX_EXPORT (its length in *len, room for cap bytes) before the enclave sees
     * it; may rewrite it. */
    void (*export_filter)(void *ctx, uint8_t *answer, size_t *len, size_t cap);
    void *export_filter_ctx;
} tdbe_config;

typedef struct tdbe tdbe;

VEIL_MUST_CHECK veil_status tdbe_open(const tdbe_config *cfg, tdbe **out);
/* "HOST:PORT" actually bound. */
const char *tdbe_address(const tdbe *t);
void tdbe_identity(const tdbe *t, tee_identity *out);
/* Serves and fetches until *stop becomes non-zero (checked at least once a second). */
VEIL_MUST_CHECK veil_status tdbe_run(tdbe *t, volatile sig_atomic_t *stop);
/* One fetch of the key of `epoch` committed to by `commitment` from `peer` (HOST:PORT):
 * on VEIL_OK, `sealed` holds the key sealed for this platform's TVE (*sealed_len
 * bytes, at most 128). Errors: the connection's (VEIL_ERR_IO, VEIL_ERR_TIMEOUT), the
 * enclave's verdict on the peer (9xx, 610-623), the peer's refusal
 * (VEIL_ERR_TDBE_REFUSED; *peer_code, if not NULL, gets the code it gave),
 * VEIL_ERR_TDBE_KEY_MISMATCH. */
VEIL_MUST_CHECK veil_status tdbe_fetch(tdbe *t, const char *peer, uint64_t epoch,
                                       const uint8_t commitment[static 32], uint8_t *sealed,
                                       size_t cap, size_t *sealed_len, uint32_t *peer_code);
/* The same, judging the peer's certificate and quote at `now` (Unix seconds) instead of
 * the host's clock (tests). */
VEIL_MUST_CHECK veil_status tdbe_fetch_at(tdbe *t, const char *peer, uint64_t epoch,
                                          const uint8_t commitment[static 32], int64_t now,
                                          uint8_t *sealed, size_t cap, size_t *sealed_len,
                                          uint32_t *peer_code);
/* What one tx-data stream from a peer did. */
typedef struct tdbe_data_report {
    uint64_t blocks, txs, bytes; /* checked and committed to the TVE */
    uint64_t last_height;        /* the TVE's, after the last batch (0: none) */
    uint64_t peer_last;          /* the peer's last height, as it said at the end */
    uint32_t peer_code;          /* VEIL_ERR_TDBE_REFUSED: the code the peer gave */
    bool failed_check;           /* the enclave refused what the peer served: */
    uint64_t fail_height;        /*   in this block, */
    uint32_t fail_index;         /*   this tx (0xffffffff: the block as a whole) */
    veil_status tve_refused;     /* the TVE refused a checked batch (its code) */
    veil_status status;          /* how this stream ended (VEIL_OK: the peer's end) */
} tdbe_data_report;

/* One stream of the tx data of blocks from..to (inclusive) from `peer`, each checked
 * batch committed to the TVE before the next is read. VEIL_OK when the peer ended the
 * stream (it may have had fewer blocks: rep->peer_last); else the connection's error,
 * the peer's refusal (VEIL_ERR_TDBE_REFUSED), a failed check (968-970, 966; rep says
 * where), VEIL_ERR_TDBE_STREAM for a stream cut before its end; what was committed
 * before stays. */
VEIL_MUST_CHECK veil_status tdbe_fetch_data(tdbe *t, const char *peer, uint64_t from, uint64_t to,
                                            tdbe_data_report *rep);
/* The same from several peers at once: from..to split into up to 4 ranges of at least
 * 64 blocks, one per peer (the first ones given), each a stream of its own; the TVE
 * commits their batches in height order. reps[i] (room for n_peers) reports peer i's
 * stream. Returns the TVE's refusal, else the first failing stream's status in height
 * order (VEIL_ERR_TDBE_STREAM for a later range whose batches could no longer follow);
 * what follows the TVE's height when that happened is committed, the rest dropped. */
VEIL_MUST_CHECK veil_status tdbe_fetch_data_peers(tdbe *t, const char *const *peers,
                                                  size_t n_peers, uint64_t from, uint64_t to,
                                                  tdbe_data_report *reps);

/* The node join's content for `chain_id` and this node's account: the enclave key
 * (DER SubjectPublicKeyInfo, *spki_len bytes, at most 128) and a quote binding it
 * (*quote_len bytes, at most 8192). */
VEIL_MUST_CHECK veil_status tdbe_join_quote(tdbe *t, const char *chain_id, uint8_t *spki,
                                            size_t *spki_len, uint8_t *quote, size_t *quote_len);
/* The height of the latest header the enclave's light client verified (0: none yet). */
int64_t tdbe_lc_height(const tdbe *t);
/* The loaded enclave (benchmarks: its memory). */
tee_enclave *tdbe_enclave(const tdbe *t);
/* Registers the TDBE's metrics (served by --metrics; docs/tdbe.md). */
void tdbe_metrics_register(void);

/* Waits for served connections to end and frees everything. NULL is a no-op. */
void tdbe_close(tdbe *t);

#endif
