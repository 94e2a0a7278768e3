/* Fuzzes the TEE layer's parsers of untrusted bytes. The first input byte selects:
 *   0  signed enclave image (sim_sigstruct_verify)
 *   1  quote (attest_quote_verify against a fresh authority's collateral)
 *   2  report wire (tee_report_parse) and identity wire (tee_identity_parse)
 *   3  sealed blob, opened inside a real enclave (TE_UNSEAL ecall)
 * Invariant: every call returns a status; only well-formed and authentic input
 * may return VEIL_OK. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "hostutil/fileio.h"
#include "tee/sim/sigstruct.h"
#include "tee/sim/sim_host.h"
#include "fuzz_platform.h"
#include "tee/tee.h"

#define TE_UNSEAL 2 /* tests/enclave/test_enclave.h */

static tee_platform *g_platform;
static tee_enclave *g_enclave;
static attest_collateral *g_collateral;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char plat[64];
    fuzz_platform_provision("tee", plat, &g_collateral);
    if (tee_platform_open(plat, &g_platform) != VEIL_OK ||
        tee_enclave_load(g_platform, VEIL_TEST_ENCLAVE, NULL, 0, &g_enclave) != VEIL_OK)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    switch (data[0] % 4) {
    case 0: {
        sim_sigstruct s;
        if (sim_sigstruct_verify(in, n, &s) == VEIL_OK && s.image_len + SIM_SIGSTRUCT_LEN != n)
            abort();
        break;
    }
    case 1: {
        attest_claims c;
        /* No quote in the corpus is certified by this run's fresh authority. */
        if (attest_quote_verify(in, n, g_collateral, (int64_t)time(NULL), &c) == VEIL_OK) abort();
        break;
    }
    case 2: {
        tee_report r;
        tee_identity id;
        if (tee_report_parse(in, n, &r) == VEIL_OK && n != TEE_REPORT_WIRE_LEN) abort();
        if (tee_identity_parse(in, n, &id) == VEIL_OK && n != TEE_IDENTITY_WIRE_LEN) abort();
        break;
    }
    default: {
        /* aad_len (u32, 0) || blob */
        uint8_t *buf = malloc(n + 4), out[1024];
        size_t out_len;
        if (buf == NULL) abort();
        veil_put_u32(buf, 0);
        memcpy(buf + 4, in, n);
        /* Blobs sealed on another platform (the corpus) never open here. */
        if (tee_enclave_call(g_enclave, TE_UNSEAL, buf, n + 4, out, sizeof out, &out_len) ==
            VEIL_OK)
            abort();
        free(buf);
        break;
    }
    }
    return 0;
}
