/* `veil devnet`: layout of a devnet home, its preparation, RPC access, status and the
 * demo scenario. */
#ifndef VEIL_TOOLS_DEVNET_H
#define VEIL_TOOLS_DEVNET_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/status.h"

#define DEVNET_CHAIN_ID "veil-devnet"
#define DEVNET_ACCOUNTS 3
/* The TQE's port unless --tqe-port: the RPC port + 13 (26670 for the default RPC port),
 * so devnets on distinct RPC ports do not collide. */
#define DEVNET_TQE_PORT_OFFSET 13
/* The TCB level the devnet provisions its simulated platform at (veil platform init
 * --tcb), and so the floor its wallets' attestation policy pins. */
#define DEVNET_PLATFORM_TCB 1

typedef struct devnet_account {
    char name[16];
    uint8_t seed[32];    /* a wallet seed: `veil wallet restore --seed-hex` gives these keys */
    uint8_t sk[32];
    uint8_t address[32]; /* x-only public key: staking address and output address */
    uint8_t view_sk[32];
    uint8_t view_pk[32];
} devnet_account;

typedef struct devnet_layout {
    char home[PATH_MAX];
    char platform[PATH_MAX];
    char tve_home[PATH_MAX];
    char node_home[PATH_MAX];
    char chain_home[PATH_MAX];
    char tqe_home[PATH_MAX];
    char run[PATH_MAX];
    char logs[PATH_MAX];
    char tve_sock[PATH_MAX];
    char abci_sock[PATH_MAX];
    char config[PATH_MAX];   /* devnet.json */
    char accounts_file[PATH_MAX];
    uint16_t rpc_port;
    uint16_t tqe_port; /* the TQE's TCP port on 127.0.0.1 (wallets) */
    /* Genesis key-epoch parameters (first start only; docs/key-epochs.md). */
    uint64_t key_epoch_blocks, key_grace_blocks;
    char chain_id[64];
    char tve_mrsigner_hex[65]; /* MRSIGNER the node requires of the TVE */
    devnet_account accounts[DEVNET_ACCOUNTS];
} devnet_layout;

uint16_t devnet_default_tqe_port(uint16_t rpc_port);
/* Fills the paths under home (nothing is created). */
VEIL_MUST_CHECK veil_status devnet_layout_init(devnet_layout *l, const char *home,
                                               uint16_t rpc_port);
/* Loads an existing devnet's layout (devnet.json, demo accounts). */
VEIL_MUST_CHECK veil_status devnet_layout_load(devnet_layout *l, const char *home);
/* First start: directories, demo accounts, genesis (`veil devchain init`). Later starts
 * reload what is there. */
VEIL_MUST_CHECK veil_status devnet_prepare(devnet_layout *l, const char *block_time);

/* GET http://127.0.0.1:<port>/<method>?<query>: the JSON-RPC `result`, or the error. */
VEIL_MUST_CHECK veil_status devnet_rpc_get(const devnet_layout *l, const char *path_and_query,
                                           json_t **result);

/* Whether the TQE accepts TCP connections on 127.0.0.1:tqe_port. */
bool devnet_tqe_listening(const devnet_layout *l);
/* The provisioning root wallets pin (DIR/platform/provisioning-root/root_ca.crt). */
void devnet_collateral(const devnet_layout *l, char *out, size_t cap);
/* The TVE's status at endpoint as JSON ({mrenclave, mrsigner, svn, debug, key_epoch,
 * holds_key, last_height, last_app_hash} or {error, detail}); *ok false on an error. */
json_t *devnet_tve_status(const char *endpoint, bool *ok);

/* Reports the TQE's verified identity for status (a JSON object; {"error", "detail"} on
 * failure). The veil binary passes one (it links the RA-TLS verifier). */
typedef json_t *(*devnet_tqe_status_fn)(const devnet_layout *l);

/* Starts `veil ARGS...` (this binary re-executed) with output appended to `log` (NULL:
 * inherited), in a process group of its own if own_group. The pid, or -1. */
pid_t devnet_spawn(const char *log, char *const argv[], bool own_group);
/* devnet_spawn and wait: the exit status, 128 after a signal, -1 if it did not start. */
int devnet_run(const char *log, char *const argv[]);

/* tqe_status: NULL omits the TQE. */
int devnet_print_status(const devnet_layout *l, bool json, devnet_tqe_status_fn tqe_status);

#endif
