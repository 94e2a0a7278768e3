/* veil: the multi-call front door. One subcommand per file (cmd_*.c). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "hostutil/json_wipe.h"
#include "hostutil/process.h"
#include "tools/cli.h"
#include "tools/commands.h"

const cli_command veil_commands[] = {
    {"enclave", cmd_enclave, "sign, inspect and verify enclave images"},
    {"platform", cmd_platform, "provision the simulated TEE platform"},
    VEIL_EXTRA_COMMANDS
    {NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    veil_process_init();
    opterr = 0; /* option errors are reported once, by cli_bad_option */
    veil_json_wipe_install();
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) return cmd_version(1, argv);
    return cli_dispatch("veil", veil_commands, argc, argv);
}
