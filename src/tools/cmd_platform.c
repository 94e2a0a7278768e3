/* veil platform init | collateral — the simulated TEE platform of this machine and the
 * collateral of its provisioning authority (docs/attestation.md). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hostutil/fileio.h"
#include "tee/sim/sim_host.h"
#include "tee/sim/sim_pcs.h"
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
            if (!cli_parse_u64(optarg, UINT8_MAX, &tcb))
                return cli_usage_error("--tcb must be 0..255");
            break;
        case 'f':
            force = true;
            break;
        case 'h':
            printf("usage: veil platform init [--dir DIR] [--root-ca-dir DIR] [--tcb N] [--force]\n\n"
                   "Provisions the simulated TEE platform: its root secret (stands in for CPU\n"
                   "fuses), a provisioning authority (stands in for Intel's PCS: a root CA that\n"
                   "verifiers pin, a PCK CA, a TCB signing key, and collateral.json, the collateral\n"
                   "verifiers use) and the platform's PCK key, certified by the PCK CA with Intel's\n"
                   "SGX extension: FMSPC 5645494c0000, TCB components and PCESVN all N (default 1).\n"
                   "Its quotes are SGX ECDSA quotes v3.\n"
                   "  --dir DIR          platform directory (default $VEIL_PLATFORM_DIR, else\n"
                   "                     ~/.veil/platform)\n"
                   "  --root-ca-dir DIR  where the authority lives or is created (default\n"
                   "                     DIR/provisioning-root); share it between platforms so one\n"
                   "                     collateral verifies them all\n"
                   "  --tcb N            the platform's TCB level, 0..255 (default 1)\n"
                   "  --force            re-issue the PCK certificate even if one exists\n"
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
    st = sim_platform_provision(dir, root, (uint8_t)tcb, force);
    if (st != VEIL_OK) return cli_fail(dir, st);
    printf("platform      %s\nroot secret   %s/%s\nPCK chain     %s/%s\n"
           "pinned root   %s/%s\ncollateral    %s/%s\n",
           dir, dir, SIM_ROOT_SECRET_FILE, dir, SIM_PCK_CERT_FILE, root, SIM_ROOT_CA_CERT_FILE, root,
           SIM_COLLATERAL_FILE);
    return 0;
}

static int platform_collateral(int argc, char **argv)
{
    static const struct option opts[] = {{"root-ca-dir", required_argument, NULL, 'r'},
                                         {"tcb", required_argument, NULL, 't'},
                                         {"days", required_argument, NULL, 'd'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *root = NULL, *out = NULL;
    uint64_t tcb = 1, days = 365;
    int c;
    while ((c = getopt_long(argc, argv, "r:t:d:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': root = optarg; break;
        case 'o': out = optarg; break;
        case 't':
            if (!cli_parse_u64(optarg, UINT8_MAX, &tcb)) return cli_usage_error("--tcb must be 0..255");
            break;
        case 'd':
            if (!cli_parse_u64(optarg, 3650, &days) || days == 0)
                return cli_usage_error("--days must be 1..3650");
            break;
        case 'h':
            printf("usage: veil platform collateral --root-ca-dir DIR [--tcb N] [--days D]\n"
                   "                                [--out FILE]\n\n"
                   "Issues the simulated provisioning authority's collateral, as Intel's PCS\n"
                   "publishes it: TCB info for FMSPC 5645494c0000 (platforms at TCB level N and\n"
                   "above are UpToDate, below it OutOfDate with advisory VEIL-SIM-00001), the QE\n"
                   "identity, the root and PCK CA CRLs, the TCB signing chain and the root, valid\n"
                   "from an hour ago for D days, as one collateral bundle (docs/attestation.md).\n"
                   "  --root-ca-dir DIR  the authority (made by 'veil platform init')\n"
                   "  --tcb N            the current TCB level, 0..255 (default 1)\n"
                   "  --days D           validity, 1..3650 (default 365)\n"
                   "  --out FILE         where to write it (default DIR/%s)\n"
                   "Raising N makes every platform below it OutOfDate for verifiers that take the\n"
                   "new collateral: a TCB recovery.\n",
                   SIM_COLLATERAL_FILE);
            return 0;
        default: return cli_bad_option("platform collateral", argv);
        }
    }
    if (optind != argc) return cli_usage_error("platform collateral takes no positional arguments");
    if (root == NULL) return cli_usage_error("platform collateral needs --root-ca-dir DIR");
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", root, SIM_ROOT_CA_KEY_FILE) >= sizeof path)
        return cli_usage_error("--root-ca-dir is too long");
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "veil: platform collateral: %s holds no authority (no %s); 'veil platform "
                        "init --root-ca-dir %s' creates one\n",
                root, SIM_ROOT_CA_KEY_FILE, root);
        return 1;
    }
    if (out == NULL) {
        if ((size_t)snprintf(path, sizeof path, "%s/%s", root, SIM_COLLATERAL_FILE) >= sizeof path)
            return cli_usage_error("--root-ca-dir is too long");
        out = path;
    }
    veil_status st = sim_pcs_write_collateral(root, (uint8_t)tcb, (int64_t)time(NULL),
                                              (unsigned)days, out);
    if (st != VEIL_OK) return cli_fail(root, st);
    printf("collateral    %s (TCB level %u current, valid %u days)\n", out, (unsigned)tcb,
           (unsigned)days);
    return 0;
}

int cmd_platform(int argc, char **argv)
{
    static const cli_command sub[] = {
        {"init", platform_init, "create the platform's root secret, authority and PCK key"},
        {"collateral", platform_collateral, "issue the authority's attestation collateral"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("veil platform", sub, argc, argv);
}
