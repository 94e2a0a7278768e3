/* A provisioned simulated platform for fuzz targets that verify or make quotes: a
 * temporary directory (removed at exit) with the platform in dir/p and its
 * provisioning root in dir/r. Aborts on failure (a fuzzer cannot run without it). */
#ifndef VEIL_FUZZ_FUZZ_PLATFORM_H
#define VEIL_FUZZ_FUZZ_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* Initialises the crypto libraries, provisions the platform (directory into
 * plat[64]) and reads the root CA's PEM into *root_pem (malloc'ed). */
void fuzz_platform_provision(const char *name, char plat[static 64], uint8_t **root_pem,
                             size_t *root_pem_len);

#endif
