/* veil-enclave: the signing and inspection commands of `veil enclave`, as a small
 * program of their own. The build signs enclave images with it, so relinking `veil`
 * never re-signs (and so never rebuilds what depends on) every image. */
#include <getopt.h>

#include "hostutil/process.h"
#include "tools/commands.h"

int main(int argc, char **argv)
{
    veil_process_init();
    opterr = 0; /* option errors are reported once, by cli_bad_option */
    return cmd_enclave(argc, argv);
}
