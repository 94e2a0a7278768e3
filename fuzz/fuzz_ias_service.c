/* Fuzz target: a request body as the IAS-style attestation service reads it (after the
 * subscription key check): JSON, base64, then the quote through the DCAP verifier
 * against a simulated authority's collateral. Invariant: no crash; the answer is 200
 * (a signed report), 400 or 503, and a 200 always carries its signature headers. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "fuzz_platform.h"
#include "host/attest/ias_service.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static attest_collateral *g_coll;
static EVP_PKEY *g_key;
static ias_service g_svc;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char plat[64];
    fuzz_platform_provision("ias-service", plat, &g_coll);
    g_key = EVP_RSA_gen(2048);
    if (g_key == NULL) abort();
    g_svc = (ias_service){.collateral = g_coll,
                          .report_key = g_key,
                          .signing_chain_pem = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"};
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    http_response r;
    memset(&r, 0, sizeof r);
    ias_service_report(&g_svc, data, size, (int64_t)time(NULL) * 1000000, &r);
    bool signed_ok = false;
    for (size_t i = 0; i < r.n_headers; i++)
        if (strcmp(r.headers[i].name, "X-IASReport-Signature") == 0) signed_ok = true;
    if (!(r.status == 400 || r.status == 503 || (r.status == 200 && signed_ok && r.body != NULL)))
        abort();
    free(r.body);
    for (size_t i = 0; i < r.n_headers; i++) free(r.headers[i].value);
    return 0;
}
