/* Test-only SGX DCAP world (dcap_factory.h), made with the simulated provisioning
 * authority's builders (src/tee/sim/sim_pcs.h). */
#include "support/dcap_factory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "crypto/crypto_host.h"
#include "tee/sim/sim_pcs.h"

#define DAY INT64_C(86400)
#define PCK_SERIAL 77u

static void die(const char *what)
{
    fprintf(stderr, "dcap_factory: %s\n", what);
    abort();
}

static EVP_PKEY *new_key(void)
{
    EVP_PKEY *k;
    if (veil_p256_keygen(&k) != VEIL_OK) die("keygen");
    return k;
}

X509 *dcapf_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
                 long serial)
{
    X509 *x;
    if (sim_pcs_cert(cn, pub, issuer, issuer_key, ca, (uint64_t)serial, DCAPF_T0 - 365 * DAY,
                     DCAPF_T0 + 365 * DAY, NULL, 0, &x) != VEIL_OK)
        die("certificate");
    return x;
}

char *dcapf_pem(X509 *const *certs, size_t n)
{
    char *out;
    if (sim_pcs_pem(certs, n, &out) != VEIL_OK) die("pem");
    return out;
}

static uint8_t *make_crl(X509 *issuer, EVP_PKEY *key, bool revoke, size_t *len)
{
    uint8_t *der;
    uint64_t serial = PCK_SERIAL;
    if (sim_pcs_crl(issuer, key, revoke ? &serial : NULL, revoke ? 1 : 0, DCAPF_T0 - DAY,
                    DCAPF_T0 + 365 * DAY, &der, len) != VEIL_OK)
        die("crl");
    return der;
}

static const uint8_t g_qe_mrsigner[32] = {0x44, 0x44, 0x44, 0x44};

static uint8_t *make_quote(const dcapf_spec *s, EVP_PKEY *pck_key, const char *chain_pem,
                           size_t *len)
{
    EVP_PKEY *att = new_key();
    uint8_t auth[32], qe[384], qe_sig[64], body[384] = {0};
    memset(auth, 0x55, sizeof auth);
    if (sim_pcs_qe_report(att, auth, sizeof auth, g_qe_mrsigner, s->qe_isvsvn, pck_key, qe,
                          qe_sig) != VEIL_OK)
        die("qe report");
    memset(body + DCAP_RB_MRENCLAVE, 0x11, 32);
    memset(body + DCAP_RB_MRSIGNER, 0x22, 32);
    body[DCAP_RB_ISVPRODID] = 7;
    body[DCAP_RB_ISVSVN] = 3;
    memset(body + DCAP_RB_REPORTDATA, 0x33, 64);
    sim_pcs_quoter q = {.att_key = att,
                        .qe_svn = s->qe_isvsvn,
                        .pce_svn = s->pck_pcesvn,
                        .qe_report = qe,
                        .qe_report_sig = qe_sig,
                        .auth = auth,
                        .auth_len = sizeof auth,
                        .chain_pem = chain_pem};
    size_t n = sim_pcs_quote_len(&q);
    uint8_t *out = malloc(n);
    if (out == NULL || sim_pcs_quote(&q, body, out, n, len) != VEIL_OK) die("quote");
    EVP_PKEY_free(att);
    return out;
}

void dcapf_spec_default(dcapf_spec *s)
{
    static const dcapf_level up = {{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, 5, "UpToDate",
                                   NULL};
    memset(s, 0, sizeof *s);
    memset(s->pck_comp, 2, 16);
    s->pck_pcesvn = 5;
    static const uint8_t fmspc[6] = {0x00, 0x60, 0x6a, 0x00, 0x00, 0x00};
    memcpy(s->pck_fmspc, fmspc, 6);
    memcpy(s->info_fmspc, fmspc, 6);
    s->levels = &up;
    s->n_levels = 1;
    s->qe_isvsvn = 3;
    s->qe_level_svn = 2;
    s->qe_status = "UpToDate";
    s->next_update = DCAPF_T0 + 30 * DAY;
}

void dcapf_build(const dcapf_spec *s, dcapf_world *w)
{
    memset(w, 0, sizeof *w);
    EVP_PKEY *root_key = new_key(), *ca_key = new_key(), *pck_key = new_key(),
             *tcb_key = new_key();
    X509 *root = dcapf_cert("Test SGX Root CA", root_key, NULL, root_key, true, 1);
    X509 *ca = dcapf_cert("Test SGX PCK Platform CA", ca_key, root, root_key, true, 2);
    uint8_t ext[SIM_PCS_SGX_EXT_MAX];
    size_t ext_len;
    X509 *pck = NULL;
    if (sim_pcs_sgx_extension(s->pck_comp, s->pck_pcesvn, s->pck_fmspc, ext, sizeof ext,
                              &ext_len) != VEIL_OK ||
        sim_pcs_cert("Test SGX PCK Certificate", pck_key, ca, ca_key, false, PCK_SERIAL,
                     DCAPF_T0 - 365 * DAY, DCAPF_T0 + 365 * DAY, ext, ext_len, &pck) != VEIL_OK)
        die("pck certificate");
    X509 *tcb = dcapf_cert("Test SGX TCB Signing", tcb_key, root, root_key, false, 3);
    X509 *chain[3] = {pck, ca, root};
    char *chain_pem = dcapf_pem(chain, 3);
    X509 *tcb_chain[2] = {tcb, root};
    w->root_pem = dcapf_pem(&root, 1);
    w->tcb_chain_pem = dcapf_pem(tcb_chain, 2);
    w->root_crl = make_crl(root, root_key, false, &w->root_crl_len);
    w->pck_crl = make_crl(ca, ca_key, s->revoke_pck, &w->pck_crl_len);
    uint8_t qe_signer[32];
    memcpy(qe_signer, g_qe_mrsigner, 32);
    if (s->qe_other_mrsigner) qe_signer[31] ^= 1;
    if (sim_pcs_tcb_info(s->info_fmspc, s->levels, s->n_levels, DCAPF_T0 - DAY, s->next_update,
                         tcb_key, &w->tcb_info) != VEIL_OK ||
        sim_pcs_qe_identity(qe_signer, s->qe_level_svn, s->qe_status, DCAPF_T0 - DAY,
                            s->next_update, tcb_key, &w->qe_identity) != VEIL_OK)
        die("signed collateral");
    w->quote = make_quote(s, pck_key, chain_pem, &w->quote_len);
    free(chain_pem);
    X509_free(root);
    X509_free(ca);
    X509_free(pck);
    X509_free(tcb);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(pck_key);
    EVP_PKEY_free(tcb_key);
}

void dcapf_free(dcapf_world *w)
{
    free(w->root_pem);
    free(w->tcb_chain_pem);
    free(w->tcb_info);
    free(w->qe_identity);
    free(w->root_crl);
    free(w->pck_crl);
    free(w->quote);
    memset(w, 0, sizeof *w);
}

dcap_collateral dcapf_collateral(const dcapf_world *w)
{
    dcap_collateral c = {.root_ca_pem = w->root_pem,
                         .root_crl = w->root_crl,
                         .root_crl_len = w->root_crl_len,
                         .pck_crl = w->pck_crl,
                         .pck_crl_len = w->pck_crl_len,
                         .tcb_info_json = w->tcb_info,
                         .tcb_info_len = strlen(w->tcb_info),
                         .tcb_chain_pem = w->tcb_chain_pem,
                         .qe_identity_json = w->qe_identity,
                         .qe_identity_len = strlen(w->qe_identity)};
    return c;
}
