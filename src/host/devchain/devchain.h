/* The single-validator development chain: a stand-in for CometBFT v0.38 in front of
 * the node's ABCI socket (docs/devchain.md).
 *
 *   devchain_init_home   writes HOME/config/genesis.json and
 *                        HOME/config/priv_validator_key.json (CometBFT's formats)
 *   devchain_run         opens the block store (HOME/data), connects to the app the way
 *                        CometBFT does (four ABCI connections, Info/InitChain handshake,
 *                        replay of stored blocks the app lacks), produces, signs and
 *                        stores one block every block_time, and serves the CometBFT
 *                        JSON-RPC subset on a loopback address until *stop is set.
 * Host only.
 */
#ifndef VEIL_HOST_DEVCHAIN_DEVCHAIN_H
#define VEIL_HOST_DEVCHAIN_DEVCHAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/status.h"
#include "host/devchain/mempool.h"

#define DEVCHAIN_DEFAULT_RPC "127.0.0.1:26657"
#define DEVCHAIN_DEFAULT_BLOCK_TIME_MS 1000
#define DEVCHAIN_DEFAULT_TX_COMMIT_TIMEOUT_MS 10000
#define DEVCHAIN_DEFAULT_CONNECT_WAIT_MS 30000
#define DEVCHAIN_BODY_OVERHEAD ((size_t)1 << 20)

typedef struct devchain_config {
    const char *home;
    const char *abci_addr;        /* "unix:///path" or "tcp://host:port" */
    const char *rpc_addr;         /* loopback host:port */
    int64_t block_time_ms;        /* pause after each commit (CometBFT timeout_commit) */
    bool create_empty_blocks;     /* false: wait for txs (and the block that commits
                                     the previous block's app hash) */
    int64_t tx_commit_timeout_ms; /* broadcast_tx_commit's wait */
    int64_t connect_wait_ms;      /* keep retrying the ABCI connection this long */
    mempool_limits mempool;
    FILE *log;                    /* one line per block and per event; NULL: silent */
    const char *pid_file;         /* written once the RPC serves; NULL: none */
} devchain_config;

void devchain_config_defaults(devchain_config *cfg);

/* Creates HOME/config (0700) and HOME/data (0700), the key file (0600) if absent and
 * genesis.json if absent. Idempotent: existing files are kept when they agree (same
 * chain id, the key is genesis's only validator, same app state if one is given);
 * otherwise VEIL_ERR_EXISTS with a detail naming the conflict. app_state may be NULL.
 * *created tells whether anything was written. */
VEIL_MUST_CHECK veil_status devchain_init_home(const char *home, const char *chain_id,
                                               const uint8_t *app_state, size_t app_state_len,
                                               bool *created);

/* Runs until *stop becomes non-zero (set it from a signal handler), then finishes
 * the block in progress, stops the RPC server and returns VEIL_OK. Errors that stop
 * the chain (the app refused the handshake, a FinalizeBlock failed, the store is
 * unusable) are returned with a detail via veil_error_detail(). */
VEIL_MUST_CHECK veil_status devchain_run(const devchain_config *cfg, volatile sig_atomic_t *stop);

#endif
