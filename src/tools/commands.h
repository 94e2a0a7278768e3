/* The subcommands of `veil`. Each lives in its own cmd_<name>.c. */
#ifndef VEIL_TOOLS_COMMANDS_H
#define VEIL_TOOLS_COMMANDS_H

int cmd_enclave(int argc, char **argv);
int cmd_platform(int argc, char **argv);

/* Commands added by later modules: declared here, listed in VEIL_EXTRA_COMMANDS. */
#define VEIL_EXTRA_COMMANDS

#endif
