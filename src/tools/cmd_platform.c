/* veil platform init — the simulated TEE platform of this machine. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hostutil/fileio.h"
#include "tee/sim/sim_host.h"
#include "tools/cli.h"
#include "tools/commands.h"

static int platform_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'}, {"root-ca-dir", required_argument, NULL, 'r'},
        {"tcb", required_argument, NULL, 't'}, {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0}};
    char dir[PATH_MAX] = "", root[PATH_MAX] = "";
    uint64_t tcb = 1;
    bool force = false;
    int c;
    while ((c = getopt_long(argc, argv, "d:r:t:fh", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            snprintf(dir, sizeof dir, "%s", optarg);
            break;
        case 'r':
            snprintf(root, sizeof root, "%s", optarg);
            break;
        case 't':
            if (!cli_parse_u64(optarg, UINT16_MAX, &tcb))
                return cli_usage_error("--tcb must be 0..65535");
            break;
        case 'f':
            force = true;
            break;
        case 'h':
            printf("usage: veil platform init [--dir DIR] [--root-ca-dir DIR] [--tcb N] [--force]\n\n"
                   "Provisions the simulated TEE platform: its root secret (stands in for CPU\n"
                   "fuses), a provisioning root CA (stands in for the TEE vendor's root; verifiers\n"
                   "pin its certificate) and the platform's ECDSA P-256 attestation key, certified\n"
                   "by that root with TCB level N (default 1).\n"
                   "  --dir DIR          platform directory (default $VEIL_PLATFORM_DIR, else\n"
                   "                     ~/.veil/platform)\n"
                   "  --root-ca-dir DIR  where the root CA lives or is created (default\n"
                   "                     DIR/provisioning-root); share it between platforms so one\n"
                   "                     pinned root verifies them all\n"
                   "  --force            re-issue the attestation key even if one exists\n"
                   "An already provisioned platform is left as it is (exit 0).\n");
            return 0;
        default:
            return cli_bad_option("platform init", argv);
        }
    }
    if (optind != argc) return cli_usage_error("platform init takes no positional arguments");
    veil_status st;
    if (dir[0] == '\0' && (st = tee_platform_default_dir(dir, sizeof dir)) != VEIL_OK)
        return cli_fail("platform directory", st);
    if (root[0] == '\0' && (size_t)snprintf(root, sizeof root, "%s/provisioning-root", dir) >=
                               sizeof root)
        return cli_usage_error("--dir is too long");
    /* A directory without a root secret is a new platform (or one that lost it, which
     * sim_platform_provision refuses); only an existing one can already be provisioned. */
    char secret[PATH_MAX + 64];
    snprintf(secret, sizeof secret, "%s/%s", dir, SIM_ROOT_SECRET_FILE);
    bool provisioned = false;
    if (access(secret, F_OK) == 0) {
        st = sim_platform_is_provisioned(dir, &provisioned);
        if (st != VEIL_OK) return cli_fail(dir, st);
    }
    if (provisioned && !force) {
        printf("platform %s is already provisioned; nothing changed (--force re-issues its "
               "attestation key)\n",
               dir);
        return 0;
    }
    st = sim_platform_provision(dir, root, (uint16_t)tcb, force);
    if (st != VEIL_OK) return cli_fail(dir, st);
    printf("platform      %s\nroot secret   %s/%s\nattestation   %s/%s\n"
           "pinned root   %s/%s\n",
           dir, dir, SIM_ROOT_SECRET_FILE, dir, SIM_PCK_CERT_FILE, root, SIM_ROOT_CA_CERT_FILE);
    return 0;
}

int cmd_platform(int argc, char **argv)
{
    static const cli_command sub[] = {
        {"init", platform_init, "create the platform's root secret, root CA and attestation key"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("veil platform", sub, argc, argv);
}
