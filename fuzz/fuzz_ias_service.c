/* Fuzz target: what crosses the attestation service's and its client's boundaries.
 * Input: u8 mode || bytes. Even modes: a request body as the service reads it (after
 * the subscription key check): JSON, base64, then the quote through the DCAP verifier
 * against a simulated authority's collateral; invariant: no crash, the answer is 200
 * (a signed report), 400 or 503, and a 200 always carries its signature headers. Odd
 * modes: response header lines as the client takes them (split at '\n'), then the
 * signing chain's percent-decoding; invariant: no crash, a decoded value is never
 * longer than its encoding. */
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

static void headers(const uint8_t *data, size_t size)
{
    ias_headers h = {0};
    size_t start = 0;
    for (size_t i = 0; i <= size; i++)
        if (i == size || data[i] == '\n') {
            (void)ias_header_line(&h, (const char *)data + start, i - start);
            start = i + 1;
        }
    if (h.chain != NULL) {
        char *d = ias_url_decode(h.chain);
        if (d != NULL && strlen(d) > strlen(h.chain)) abort();
        free(d);
    }
    ias_headers_free(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (data[0] & 1) {
        headers(data + 1, size - 1);
        return 0;
    }
    data++, size--;
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
