/* Shared helpers for `veil` subcommands. */
#ifndef VEIL_TOOLS_CLI_H
#define VEIL_TOOLS_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "common/status.h"
#include "trusted/lightclient/lc.h"

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
    const char *summary;
} cli_command;

/* Dispatches argv[1] among commands; prints a usage table for --help or no match.
 * `prog` is e.g. "veil enclave". */
int cli_dispatch(const char *prog, const cli_command *cmds, int argc, char **argv);

/* Prints "veil: <what>: <status message> [(<detail>)]" to stderr; returns 1, or 2 (a
 * usage error) for VEIL_ERR_USAGE. */
int cli_fail(const char *what, veil_status st);
/* Prints "veil: <message>" to stderr; returns 2 (usage error). */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The usage error of an option getopt refused (call from its '?' case, with opterr 0):
 * "veil: <cmd>: unknown option or missing value: '<arg>' (see --help)"; returns 2. */
int cli_bad_option(const char *cmd, char **argv);

/* A chain time (unix seconds) for people: "2026-12-04 21:47:17 UTC". */
#define CLI_TIME_STR_MAX 32
const char *cli_time_format(char out[static CLI_TIME_STR_MAX], uint64_t unix_seconds);

/* Parses a decimal unsigned number in [0, max]. */
bool cli_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* Parses a positive duration "N" followed by s, m or h ("336h", "90m", "10s") into
 * nanoseconds. */
bool cli_parse_duration(const char *s, int64_t *ns);

/* The light-client trust root options of the enclave daemons (veil tdbe, veil tqe):
 * --trust-height H, --trust-hash HEX, --trusting-period D, as getopt_long entries
 * ('y', 'x', 'g'). cli_trust_option handles one of those letters into the fields and
 * returns 0, or prints a usage error and returns its exit code; CLI_TRUST_NOT_MINE for
 * any other letter. cli_trust_check: after parsing, the two go together. */
#define CLI_TRUST_LONG_OPTIONS                                                           \
    {"trust-height", required_argument, NULL, 'y'},                                      \
        {"trust-hash", required_argument, NULL, 'x'},                                    \
        {"trusting-period", required_argument, NULL, 'g'}
#define CLI_TRUST_SHORT "y:x:g:"
#define CLI_TRUST_NOT_MINE (-1)
int cli_trust_option(int c, const char *arg, bool *has_trust, int64_t *height,
                     uint8_t hash[static 32], lc_params *lc);
int cli_trust_check(bool has_trust, int64_t height);

/* The key-epoch options of `veil devnet` and `veil testnet init` (docs/key-epochs.md):
 * --key-epoch-blocks N (2..2^40) and --key-grace-blocks N (1..), getopt_long entries
 * 'E' and 'G'. cli_key_epoch_option handles one of them like cli_trust_option (0, a
 * usage error's exit code, or CLI_TRUST_NOT_MINE). cli_key_epoch_check, after parsing:
 * an unset grace (0) becomes a quarter of the epoch (at least 1); grace must not
 * exceed the epoch. */
#define CLI_KEY_EPOCH_LONG_OPTIONS                                                       \
    {"key-epoch-blocks", required_argument, NULL, 'E'},                                  \
        {"key-grace-blocks", required_argument, NULL, 'G'}
int cli_key_epoch_option(int c, const char *arg, uint64_t *epoch_blocks, uint64_t *grace_blocks);
int cli_key_epoch_check(uint64_t epoch_blocks, uint64_t *grace_blocks);

/* True if argv contains -h or --help. */
bool cli_wants_help(int argc, char **argv);

#endif
