/* The subcommands of `veil`. Each lives in its own cmd_<name>.c. */
#ifndef VEIL_TOOLS_COMMANDS_H
#define VEIL_TOOLS_COMMANDS_H

int cmd_enclave(int argc, char **argv);
int cmd_platform(int argc, char **argv);

/* Commands added by later modules: declared here, listed in VEIL_EXTRA_COMMANDS. */
int cmd_tve(int argc, char **argv);
int cmd_node(int, char **);
int cmd_devnet(int argc, char **argv);
int cmd_devchain(int, char **);
int cmd_tqe(int argc, char **argv);
int cmd_tdbe(int argc, char **argv);
int cmd_wallet(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_completion(int argc, char **argv);
int cmd_attest(int argc, char **argv);
int cmd_attest_service(int argc, char **argv);
int cmd_attest_proxy(int argc, char **argv);
int cmd_testnet(int argc, char **argv);
int cmd_lightclient(int argc, char **argv);

#define VEIL_EXTRA_COMMANDS \
    {"tve", cmd_tve, "run the transaction validation enclave service"}, \
    {"node", cmd_node, "run the chain node (ABCI application)"}, \
    {"devnet", cmd_devnet, "run the whole system locally; status"}, \
    {"testnet", cmd_testnet, "several validators on this machine under CometBFT"}, \
    {"devchain", cmd_devchain, "run a single-validator development chain"}, \
    {"tqe", cmd_tqe, "run the transaction query enclave service (wallets)"}, \
    {"tdbe", cmd_tdbe, "run the bootstrapping enclave service (key sharing with peers)"}, \
    {"wallet", cmd_wallet, "keys, balances and confidential payments"}, \
    {"attest", cmd_attest, "verify SGX DCAP quotes and attestation reports"}, \
    {"lightclient", cmd_lightclient, "verify a chain's headers as the enclaves do"}, \
    {"attest-service", cmd_attest_service, "run the IAS-style attestation service (HTTPS)"}, \
    {"attest-proxy", cmd_attest_proxy, "run the node's proxy to the attestation service"}, \
    {"version", cmd_version, "this veil's version and its enclave images"}, \
    {"completion", cmd_completion, "a bash completion script"},

/* veil's command table (veil.c), NULL-terminated: completion lists it. */
#include "tools/cli.h"
extern const cli_command veil_commands[];

#endif
