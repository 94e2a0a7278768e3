/* Fuzz target: DCAP quotes and collateral documents as a verifier receives them.
 *
 * Input: u8 mode || bytes. Mode 0: the bytes are a quote, parsed, then verified against
 * Intel's sample collateral; mode 1: they are a TCB info document and mode 2 a QE
 * identity document, verified with Intel's sample quote and the rest of its collateral;
 * mode 3: a collateral bundle (attest_collateral_parse), then the sample quote against it.
 * Invariant: no crash, and no quote verifies unless its signed parts are the sample's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/attest/attest.h"
#include "hostutil/fileio.h"

#ifndef VEIL_SOURCE_DIR
#error "VEIL_SOURCE_DIR must be defined by the build"
#endif
#define SAMPLE VEIL_SOURCE_DIR "/tests/vectors/dcap-intel-sample/"
#define AT INT64_C(1735689600) /* 2025-01-01 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *g_quote;
static size_t g_quote_len;
static attest_collateral *g_sample; /* Intel's sample collateral, for the process's life */
static dcap_collateral g_col;        /* its view */

static void setup(void)
{
    if (veil_file_read(SAMPLE "quote.dat", DCAP_QUOTE_MAX_LEN, &g_quote, &g_quote_len) != VEIL_OK ||
        attest_collateral_load(SAMPLE, &g_sample) != VEIL_OK)
        abort();
    g_col = *attest_collateral_view(g_sample);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_quote == NULL) setup();
    if (size < 1) return 0;
    uint8_t mode = data[0] % 4;
    if (mode == 3) {
        attest_collateral *b = NULL;
        dcap_result r;
        if (attest_collateral_parse(data + 1, size - 1, &b) == VEIL_OK) {
            const dcap_collateral *v = attest_collateral_view(b);
            if (v->root_ca_pem == NULL || v->tcb_info_json == NULL || v->qe_identity_json == NULL ||
                strlen(v->tcb_info_json) != v->tcb_info_len)
                abort();
            veil_status vs = dcap_verify(g_quote, g_quote_len, v, AT, &r);
            (void)vs; /* any verdict: the sample quote is not the bundle's */
        }
        attest_collateral_free(b);
        return 0;
    }
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    char *text = malloc(n + 1); /* documents are strings: NUL-terminated copies */
    if (text == NULL) return 0;
    memcpy(text, in, n);
    text[n] = 0;
    dcap_collateral c = g_col;
    const uint8_t *quote = g_quote;
    size_t quote_len = g_quote_len;
    if (mode == 0) {
        dcap_quote q;
        if (dcap_quote_parse(in, n, &q) == VEIL_OK && (q.version != 3 || q.att_key_type != 2))
            abort(); /* the parser accepts only v3 ECDSA quotes */
        quote = in;
        quote_len = n;
    } else if (mode == 1) {
        c.tcb_info_json = text;
        c.tcb_info_len = n;
    } else {
        c.qe_identity_json = text;
        c.qe_identity_len = n;
    }
    dcap_result r;
    veil_status st = dcap_verify(quote, quote_len, &c, AT, &r);
    /* Only the sample's signed bytes verify: header and body, attestation key and QE
     * report must be the sample's (its certification data of type 1 is not signed, and
     * a document's bytes outside the signed member are not either). */
    size_t signed_end = DCAP_HEADER_LEN + DCAP_REPORT_BODY_LEN;
    size_t att = signed_end + 4 + 64, qe = att + 64;
    if (st == VEIL_OK && mode == 0 &&
        (n < qe + DCAP_REPORT_BODY_LEN || memcmp(in, g_quote, signed_end) != 0 ||
         memcmp(in + att, g_quote + att, 64) != 0 ||
         memcmp(in + qe, g_quote + qe, DCAP_REPORT_BODY_LEN) != 0))
        abort();
    free(text);
    return 0;
}
