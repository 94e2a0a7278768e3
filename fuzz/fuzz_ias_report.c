/* Fuzz target: an attestation report body as the IAS-style verifier reads it, after
 * its signature. Each input is signed here with a generated report-signing key (so the
 * JSON stage is reached), then verified against a fixed quote and nonce. Invariant: no
 * crash, and only a report naming that quote's body and nonce is ever accepted. */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "host/attest/ias.h"

#define T0 INT64_C(1735689600)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *g_key;
static char *g_chain, *g_root;
static uint8_t g_quote[IAS_QUOTE_BODY_LEN];

static char *pem_of(X509 *x)
{
    BIO *m = BIO_new(BIO_s_mem());
    if (m == NULL || !PEM_write_bio_X509(m, x)) abort();
    char *p;
    long len = BIO_get_mem_data(m, &p);
    char *out = malloc((size_t)len + 1);
    if (out == NULL) abort();
    memcpy(out, p, (size_t)len);
    out[len] = 0;
    BIO_free(m);
    return out;
}

static void setup(void)
{
    g_key = EVP_RSA_gen(2048);
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    if (g_key == NULL || x == NULL || n == NULL) abort();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"fuzz", -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(T0 - 86400));
    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(T0 + 86400));
    X509_set_pubkey(x, g_key);
    if (!X509_sign(x, g_key, EVP_sha256())) abort();
    g_chain = pem_of(x); /* self-signed: the pinned root signs directly */
    g_root = pem_of(x);
    X509_NAME_free(n);
    X509_free(x);
    memset(g_quote, 0x41, sizeof g_quote);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_key == NULL) setup();
    if (size == 0 || size > 16384) return 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t sig[512];
    size_t sig_len = sizeof sig;
    char b64[800];
    if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, g_key) != 1 ||
        EVP_DigestSign(md, sig, &sig_len, data, size) != 1)
        abort();
    EVP_MD_CTX_free(md);
    EVP_EncodeBlock((unsigned char *)b64, sig, (int)sig_len);
    ias_report_check c = {.body = (const char *)data,
                          .body_len = size,
                          .signature_b64 = b64,
                          .signing_chain_pem = g_chain,
                          .root_pem = g_root,
                          .quote = g_quote,
                          .quote_len = sizeof g_quote,
                          .nonce = "fuzz-nonce",
                          .at = T0,
                          .max_age = 86400};
    ias_result r;
    veil_status st = ias_report_verify(&c, &r);
    /* Accepted means the body names g_quote and the nonce: both must appear. */
    if (st == VEIL_OK && (memmem(data, size, "fuzz-nonce", 10) == NULL ||
                          memmem(data, size, "QUFBQUFB", 8) == NULL))
        abort();
    return 0;
}
