/* A provisioned simulated platform for fuzz targets that verify or make quotes: a
 * temporary directory (removed at exit) with the platform in dir/p and its
 * provisioning authority in dir/r. Aborts on failure (a fuzzer cannot run without it). */
#ifndef VEIL_FUZZ_FUZZ_PLATFORM_H
#define VEIL_FUZZ_FUZZ_PLATFORM_H

#include "host/attest/attest.h"

/* Initialises the crypto libraries, provisions the platform (directory into
 * plat[64]) and loads its authority's collateral bundle into *collateral. */
void fuzz_platform_provision(const char *name, char plat[static 64],
                             attest_collateral **collateral);

#endif
