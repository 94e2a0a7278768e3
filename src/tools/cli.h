/* Shared helpers for `veil` subcommands. */
#ifndef VEIL_TOOLS_CLI_H
#define VEIL_TOOLS_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "common/status.h"

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
    const char *summary;
} cli_command;

/* Dispatches argv[1] among commands; prints a usage table for --help or no match.
 * `prog` is e.g. "veil enclave". */
int cli_dispatch(const char *prog, const cli_command *cmds, int argc, char **argv);

/* Prints "veil: <what>: <status message> [(<detail>)]" to stderr; returns 1. */
int cli_fail(const char *what, veil_status st);
/* Prints "veil: <message>" to stderr; returns 2 (usage error). */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a decimal unsigned number in [0, max]. */
bool cli_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* True if argv contains -h or --help. */
bool cli_wants_help(int argc, char **argv);

#endif
