/* A provisioned simulated platform for fuzz targets (fuzz_platform.h). */
#include "fuzz_platform.h"

#include <stdio.h>
#include <stdlib.h>

#include "crypto/crypto.h"
#include "hostutil/fileio.h"
#include "tee/sim/sim_host.h"

static char g_dir[48];

static void remove_dir(void) { veil_remove_tree(g_dir); }

void fuzz_platform_provision(const char *name, char plat[static 64], attest_collateral **collateral)
{
    char root[96], bundle[128];
    snprintf(g_dir, sizeof g_dir, "/tmp/veil-fuzz-%s-XXXXXX", name);
    if (mkdtemp(g_dir) == NULL) abort();
    atexit(remove_dir);
    snprintf(plat, 64, "%s/p", g_dir);
    snprintf(root, sizeof root, "%s/r", g_dir);
    snprintf(bundle, sizeof bundle, "%s/%s", root, SIM_COLLATERAL_FILE);
    if (veil_crypto_init() != VEIL_OK || sim_platform_provision(plat, root, 1, false) != VEIL_OK ||
        attest_collateral_load(bundle, collateral) != VEIL_OK)
        abort();
}
