/* The simulated platform: its root secret (the fuses) and its provisioned
 * attestation key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "crypto/crypto_host.h"
#include "hostutil/fileio.h"
#include "tee/sim/sim_abi.h"
#include "host/attest/attest.h"
#include "host/attest/dcap.h"
#include "tee/sim/sim_host.h"
#include "tee/sim/sim_pcs.h"

veil_status tee_platform_default_dir(char *buf, size_t cap)
{
    const char *env = getenv("VEIL_PLATFORM_DIR");
    if (env != NULL && env[0] != '\0') {
        ENSURE(strlen(env) < cap, VEIL_ERR_TOO_LARGE);
        strcpy(buf, env);
        return VEIL_OK;
    }
    const char *home = getenv("HOME");
    ENSURE(home != NULL && home[0] != '\0', VEIL_ERR_ARG);
    int n = snprintf(buf, cap, "%s/.veil/platform", home);
    ENSURE(n > 0 && (size_t)n < cap, VEIL_ERR_TOO_LARGE);
    return VEIL_OK;
}

/* The root secret stands in for CPU fuses: created once (sim_platform_create, by
 * 'veil platform init'), 0600, never rewritten. Opening a platform never creates it: a
 * mistyped --platform must not become a new platform with keys of its own. */
veil_status sim_platform_create(const char *dir)
{
    char path[PATH_MAX];
    TRY(veil_path_join(path, sizeof path, dir, SIM_ROOT_SECRET_FILE));
    uint8_t fresh[SIM_ROOT_SECRET_LEN];
    TRY(veil_mkdir_p(dir, 0700));
    TRY(veil_random_bytes(fresh, sizeof fresh));
    veil_status st = veil_file_create_new(path, fresh, sizeof fresh, 0600);
    veil_wipe(fresh, sizeof fresh);
    return st;
}

static veil_status root_secret_load(const char *dir, uint8_t out[static SIM_ROOT_SECRET_LEN])
{
    char path[PATH_MAX];
    uint8_t *buf = NULL;
    size_t len;
    TRY(veil_path_join(path, sizeof path, dir, SIM_ROOT_SECRET_FILE));
    veil_status st = veil_file_read(path, 1024, &buf, &len);
    if (st == VEIL_ERR_NOT_FOUND) {
        veil_error_detail_set("%s is not a platform directory (no %s): create the platform with "
                              "'veil platform init --dir %s', or fix --platform",
                              dir, SIM_ROOT_SECRET_FILE, dir);
        return VEIL_ERR_TEE_PLATFORM;
    }
    if (st != VEIL_OK) return st;
    st = veil_file_check_private(path);
    if (st == VEIL_OK && len != SIM_ROOT_SECRET_LEN) {
        veil_error_detail_set("%s: expected %u bytes, found %zu", path, SIM_ROOT_SECRET_LEN, len);
        st = VEIL_ERR_MALFORMED;
    }
    if (st == VEIL_OK) memcpy(out, buf, SIM_ROOT_SECRET_LEN);
    veil_wipe(buf, len);
    free(buf);
    return st;
}

/* The QE's start: a fresh attestation key, certified by the QE report the PCK key signs. */
static veil_status qe_start(tee_platform *p, X509 *leaf)
{
    dcap_pck_tcb t;
    uint8_t signer[32];
    TRY(dcap_pck_tcb_read(leaf, &t));
    memcpy(p->cpusvn, t.comp, sizeof p->cpusvn);
    p->pcesvn = t.pcesvn;
    veil_sha256_tagged(p->qe_auth, "veil/sim/qe/v1", "auth data", 9);
    sim_pcs_qe_mrsigner(signer);
    TRY(veil_p256_keygen(&p->att_key));
    return sim_pcs_qe_report(p->att_key, p->qe_auth, sizeof p->qe_auth, signer, SIM_QE_ISVSVN,
                             p->pck_key, p->qe_report, p->qe_report_sig);
}

static veil_status pck_load(tee_platform *p)
{
    char kpath[PATH_MAX], cpath[PATH_MAX];
    veil_status st;
    uint8_t *kpem = NULL, *cpem = NULL;
    size_t klen = 0, clen = 0;
    BIO *kb = NULL, *cb = NULL;
    X509 *cert = NULL;

    TRY(veil_path_join(kpath, sizeof kpath, p->dir, SIM_PCK_KEY_FILE));
    TRY(veil_path_join(cpath, sizeof cpath, p->dir, SIM_PCK_CERT_FILE));
    st = veil_file_read(kpath, 64 * 1024, &kpem, &klen);
    if (st == VEIL_ERR_NOT_FOUND) return VEIL_OK; /* not provisioned: quoting will say so */
    if (st != VEIL_OK) return st;
    TRY_OUT(veil_file_check_private(kpath));
    TRY_OUT(veil_file_read(cpath, SIM_PCK_CHAIN_MAX, &cpem, &clen));
    kb = BIO_new_mem_buf(kpem, (int)klen);
    cb = BIO_new_mem_buf(cpem, (int)clen);
    ENSURE_OUT(kb != NULL && cb != NULL, VEIL_ERR_NOMEM);
    p->pck_key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
    cert = PEM_read_bio_X509(cb, NULL, NULL, NULL);
    ENSURE_OUT(p->pck_key != NULL && cert != NULL, VEIL_ERR_TEE_PLATFORM);
    p->pck_chain = malloc(clen + 1);
    ENSURE_OUT(p->pck_chain != NULL, VEIL_ERR_NOMEM);
    memcpy(p->pck_chain, cpem, clen);
    p->pck_chain[clen] = '\0';
    st = qe_start(p, cert);
    if (st == VEIL_ERR_TEE_QUOTE_CHAIN) st = VEIL_ERR_TEE_PLATFORM;
out:
    BIO_free(kb);
    BIO_free(cb);
    X509_free(cert);
    if (kpem != NULL) veil_wipe(kpem, klen);
    free(kpem);
    free(cpem);
    if (st == VEIL_ERR_NOT_FOUND) {
        veil_error_detail_set("%s exists but %s is missing (re-run 'veil platform init --force')",
                              kpath, cpath);
        st = VEIL_ERR_TEE_PLATFORM;
    } else if (st == VEIL_ERR_TEE_PLATFORM) {
        veil_error_detail_set("%s or %s is not a PEM key / PCK certificate chain with Intel's "
                              "SGX extension (re-run 'veil platform init --force')",
                              kpath, cpath);
    }
    return st;
}

veil_status tee_platform_open(const char *dir, tee_platform **out)
{
    veil_status st;
    TRY(veil_crypto_init());
    tee_platform *p = calloc(1, sizeof *p);
    ENSURE(p != NULL, VEIL_ERR_NOMEM);
    if (dir != NULL) {
        ENSURE_OUT(strlen(dir) < sizeof p->dir, VEIL_ERR_TOO_LARGE);
        strcpy(p->dir, dir);
    } else {
        TRY_OUT(tee_platform_default_dir(p->dir, sizeof p->dir));
    }
    TRY_OUT(root_secret_load(p->dir, p->root_secret));
    TRY_OUT(pck_load(p));
    *out = p;
    return VEIL_OK;
out:
    tee_platform_close(p);
    return st;
}

veil_status tee_platform_set_attestation_proxy(tee_platform *p, const char *url)
{
    if (url == NULL) url = "";
    ENSURE(strlen(url) < sizeof p->attest_proxy, VEIL_ERR_TOO_LARGE);
    strcpy(p->attest_proxy, url);
    return VEIL_OK;
}

/* The last certificate of a PEM chain (the root); NULL if none parses. */
static X509 *pem_last_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *last = NULL, *x;
    while (b != NULL && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        X509_free(last);
        last = x;
    }
    ERR_clear_error();
    BIO_free(b);
    return last;
}

veil_status tee_platform_set_collateral(tee_platform *p, const char *path)
{
    attest_collateral_free(p->collateral);
    p->collateral = NULL;
    if (path == NULL) return VEIL_OK;
    ENSURE(p->pck_chain != NULL, VEIL_ERR_TEE_PLATFORM);
    attest_collateral *c;
    TRY(attest_collateral_load(path, &c));
    X509 *mine = pem_last_cert(p->pck_chain);
    X509 *theirs = pem_last_cert(attest_collateral_view(c)->root_ca_pem);
    bool same = mine != NULL && theirs != NULL && X509_cmp(mine, theirs) == 0;
    X509_free(mine);
    X509_free(theirs);
    if (!same) {
        attest_collateral_free(c);
        veil_error_detail_set("%s: its root is not the root this platform was provisioned under",
                              path);
        return VEIL_ERR_TEE_QUOTE_CHAIN;
    }
    p->collateral = c;
    return VEIL_OK;
}

void tee_platform_close(tee_platform *p)
{
    if (p == NULL) return;
    attest_collateral_free(p->collateral);
    veil_wipe(p->root_secret, sizeof p->root_secret);
    EVP_PKEY_free(p->pck_key);
    EVP_PKEY_free(p->att_key);
    free(p->pck_chain);
    free(p);
}

veil_status sim_cpu_derive(const tee_platform *p, tee_key_name name, tee_key_policy policy,
                           const uint8_t identity[TEE_MEASUREMENT_LEN], uint16_t prodid,
                           uint16_t svn, uint64_t attributes, const uint8_t key_id[TEE_KEY_ID_LEN],
                           uint8_t key[TEE_KEY_LEN])
{
    /* info = label || name || policy || identity || prodid || svn || attributes || key id */
    uint8_t info[sizeof SIM_KDF_LABEL - 1 + 2 + 2 + 32 + 2 + 2 + 8 + 32];
    uint8_t *q = info;
    memcpy(q, SIM_KDF_LABEL, sizeof SIM_KDF_LABEL - 1);
    q += sizeof SIM_KDF_LABEL - 1;
    veil_put_u16(q, (uint16_t)name);
    veil_put_u16(q + 2, (uint16_t)policy);
    memcpy(q + 4, identity, TEE_MEASUREMENT_LEN);
    veil_put_u16(q + 36, prodid);
    veil_put_u16(q + 38, svn);
    veil_put_u64(q + 40, attributes);
    memcpy(q + 48, key_id, TEE_KEY_ID_LEN);
    return veil_hkdf_sha256(key, TEE_KEY_LEN, NULL, 0, p->root_secret, sizeof p->root_secret, info,
                            sizeof info);
}
