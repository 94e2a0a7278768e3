/* Fuzzes the attested-TLS verifier's parsers of untrusted bytes. The first input byte
 * selects:
 *   0  a DER certificate, through ratls_verify_cert_der (X.509, extension lookup,
 *      CBOR evidence, quote) against a freshly provisioned authority's collateral
 *   1  evidence (CBOR tag 60000 [quote, claims]), through ratls_evidence_decode
 *   2  an attestation report beside it (CBOR [body, signature, chain]), ratls_ias_decode
 * Invariant: every call returns a status; no input can verify (its quote would have
 * to chain to a root created at start-up), and a decoded quote, claims and nonce lie
 * inside the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "fuzz_platform.h"
#include "host/ratls/ratls_verify.h"
#include "hostutil/fileio.h"
#include "tee/sim/sim_host.h"
#include "tee/tee.h"

static attest_collateral *g_collateral;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char plat[64];
    fuzz_platform_provision("ratls", plat, &g_collateral);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    if (data[0] % 3 == 2) {
        ratls_ias r;
        if (ratls_ias_decode(in, len, &r) == VEIL_OK &&
            (r.body < in || r.body_len == 0 || r.body_len > RATLS_IAS_BODY_MAX ||
             r.signature_len == 0 || r.signature_len > RATLS_IAS_SIG_MAX || r.chain_len == 0 ||
             r.chain_len > RATLS_IAS_CHAIN_MAX || r.chain + r.chain_len != in + len))
            abort();
        return 0;
    }
    if (data[0] % 3 == 0) {
        static const uint8_t any[TEE_MEASUREMENT_LEN];
        ratls_policy p = {.mrsigner = any,
                          .has_prodid = 1,
                          .has_min_svn = 1,
                          .allow_debug = true,
                          .collateral = g_collateral};
        dcap_policy_default(&p.tcb);
        if (ratls_verify_cert_der(in, len, &p, time(NULL), NULL) == VEIL_OK) abort();
    } else {
        ratls_evidence ev;
        if (ratls_evidence_decode(in, len, &ev) == VEIL_OK &&
            (ev.quote < in || ev.quote_len == 0 || ev.quote_len > TEE_QUOTE_MAX_LEN ||
             ev.quote + ev.quote_len > in + len || ev.claims < in ||
             ev.claims + ev.claims_len != in + len ||
             (ev.nonce != NULL && (ev.nonce < ev.claims || ev.nonce_len > RATLS_NONCE_MAX))))
            abort();
    }
    return 0;
}
