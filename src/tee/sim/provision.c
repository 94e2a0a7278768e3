/* Provisioning of a simulated platform, and the collateral of its authority.
 *
 * The authority directory (the stand-in for Intel's PCS) holds a root CA (what
 * verifiers pin), a PCK platform CA and a TCB signing key. A platform gets a PCK key
 * and a certificate from the PCK CA carrying its TCB level in Intel's SGX extension;
 * its certificate file holds PCK leaf || PCK CA || root, the quote's certification
 * data. docs/attestation.md, "The simulated platform". */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "crypto/crypto_host.h"
#include "hostutil/fileio.h"
#include "tee/sim/sim_host.h"
#include "tee/sim/sim_pcs.h"

#define DAY INT64_C(86400)
#define CA_DAYS 3650
#define PCK_DAYS 1825

static veil_status pem_write_key(const char *path, EVP_PKEY *key)
{
    BIO *b = BIO_new(BIO_s_mem());
    ENSURE(b != NULL, VEIL_ERR_NOMEM);
    veil_status st = VEIL_ERR_CRYPTO;
    if (PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1) {
        char *data;
        long n = BIO_get_mem_data(b, &data);
        st = n > 0 ? veil_file_write_atomic(path, data, (size_t)n, 0600) : VEIL_ERR_CRYPTO;
    }
    BIO_free_all(b);
    return st;
}

static veil_status pem_write_cert(const char *path, X509 *cert)
{
    BIO *b = BIO_new(BIO_s_mem());
    ENSURE(b != NULL, VEIL_ERR_NOMEM);
    veil_status st = VEIL_ERR_CRYPTO;
    if (PEM_write_bio_X509(b, cert) == 1) {
        char *data;
        long n = BIO_get_mem_data(b, &data);
        st = n > 0 ? veil_file_write_atomic(path, data, (size_t)n, 0644) : VEIL_ERR_CRYPTO;
    }
    BIO_free_all(b);
    return st;
}

static veil_status pem_read(const char *path, EVP_PKEY **key, X509 **cert)
{
    uint8_t *buf = NULL;
    size_t len;
    TRY(veil_file_read(path, 64 * 1024, &buf, &len));
    BIO *b = BIO_new_mem_buf(buf, (int)len);
    veil_status st = VEIL_ERR_NOMEM;
    if (b != NULL) {
        if (key != NULL) *key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
        if (cert != NULL) *cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
        st = ((key == NULL || *key != NULL) && (cert == NULL || *cert != NULL)) ? VEIL_OK
                                                                                : VEIL_ERR_MALFORMED;
        if (st != VEIL_OK) veil_error_detail_set("%s: not a PEM key/certificate", path);
    }
    BIO_free(b);
    veil_wipe(buf, len);
    free(buf);
    return st;
}

veil_status sim_platform_is_provisioned(const char *dir, bool *provisioned)
{
    tee_platform *p;
    TRY(tee_platform_open(dir, &p));
    *provisioned = p->pck_key != NULL;
    tee_platform_close(p);
    return VEIL_OK;
}

/* One key and certificate of the authority: loaded, or made (issued by `issuer`, or
 * self-signed) and written if the key file is missing. */
static veil_status authority_member(const char *dir, const char *key_file, const char *cert_file,
                                    const char *cn, bool ca, X509 *issuer, EVP_PKEY *issuer_key,
                                    EVP_PKEY **key, X509 **cert)
{
    char kp[PATH_MAX], cp[PATH_MAX];
    TRY(veil_path_join(kp, sizeof kp, dir, key_file));
    TRY(veil_path_join(cp, sizeof cp, dir, cert_file));
    veil_status st = pem_read(kp, key, NULL);
    if (st == VEIL_OK) {
        st = veil_file_check_private(kp);
        if (st == VEIL_OK) st = pem_read(cp, NULL, cert);
        if (st != VEIL_OK) {
            EVP_PKEY_free(*key);
            *key = NULL;
        }
        return st;
    }
    if (st != VEIL_ERR_NOT_FOUND) return st;
    int64_t now = (int64_t)time(NULL);
    TRY(veil_p256_keygen(key));
    st = sim_pcs_cert(cn, *key, issuer, issuer != NULL ? issuer_key : *key, ca, 0, now - 3600,
                      now + CA_DAYS * DAY, NULL, 0, cert);
    /* Certificate first, then the key: the member exists once its key does. */
    if (st == VEIL_OK) st = pem_write_cert(cp, *cert);
    if (st == VEIL_OK) st = pem_write_key(kp, *key);
    if (st != VEIL_OK) {
        EVP_PKEY_free(*key);
        X509_free(*cert);
        *key = NULL;
        *cert = NULL;
    }
    return st;
}

typedef struct authority {
    EVP_PKEY *root_key, *pck_ca_key, *tcb_key;
    X509 *root, *pck_ca, *tcb;
} authority;

static void authority_free(authority *a)
{
    EVP_PKEY_free(a->root_key);
    EVP_PKEY_free(a->pck_ca_key);
    EVP_PKEY_free(a->tcb_key);
    X509_free(a->root);
    X509_free(a->pck_ca);
    X509_free(a->tcb);
    memset(a, 0, sizeof *a);
}

/* Opens the authority in dir, creating what is missing. */
static veil_status authority_open(const char *dir, authority *a)
{
    memset(a, 0, sizeof *a);
    TRY(veil_mkdir_p(dir, 0700));
    veil_status st = authority_member(dir, SIM_ROOT_CA_KEY_FILE, SIM_ROOT_CA_CERT_FILE,
                                      "Veil simulated provisioning root", true, NULL, NULL,
                                      &a->root_key, &a->root);
    if (st == VEIL_OK)
        st = authority_member(dir, SIM_PCK_CA_KEY_FILE, SIM_PCK_CA_CERT_FILE,
                              "Veil simulated PCK platform CA", true, a->root, a->root_key,
                              &a->pck_ca_key, &a->pck_ca);
    if (st == VEIL_OK)
        st = authority_member(dir, SIM_TCB_KEY_FILE, SIM_TCB_CERT_FILE,
                              "Veil simulated TCB signing", false, a->root, a->root_key,
                              &a->tcb_key, &a->tcb);
    if (st != VEIL_OK) authority_free(a);
    return st;
}

veil_status sim_platform_provision(const char *dir, const char *root_ca_dir, uint8_t tcb_level,
                                   bool force)
{
    veil_status st = VEIL_OK;
    char pck_key_path[PATH_MAX], pck_cert_path[PATH_MAX], coll_path[PATH_MAX];
    EVP_PKEY *pck_key = NULL;
    X509 *pck_cert = NULL;
    char *chain = NULL;
    authority a = {0};

    TRY(veil_path_join(pck_key_path, sizeof pck_key_path, dir, SIM_PCK_KEY_FILE));
    TRY(veil_path_join(pck_cert_path, sizeof pck_cert_path, dir, SIM_PCK_CERT_FILE));
    TRY(veil_path_join(coll_path, sizeof coll_path, root_ca_dir, SIM_COLLATERAL_FILE));

    /* A platform whose root secret is gone but whose attestation key is there lost its
     * fuses: everything sealed on it is unreadable for good. A new secret would make a
     * different platform under the same attestation key, so refuse and say so. */
    char secret_path[PATH_MAX];
    TRY(veil_path_join(secret_path, sizeof secret_path, dir, SIM_ROOT_SECRET_FILE));
    if (access(secret_path, F_OK) != 0) {
        if (access(pck_key_path, F_OK) == 0) {
            veil_error_detail_set("%s was provisioned but its root secret %s is missing: what was "
                                  "sealed on this platform cannot be recovered; remove %s to "
                                  "create a new platform",
                                  dir, secret_path, dir);
            return VEIL_ERR_TEE_PLATFORM;
        }
        veil_status cs = sim_platform_create(dir);
        if (cs != VEIL_OK && cs != VEIL_ERR_EXISTS) return cs;
    }
    bool provisioned;
    TRY(sim_platform_is_provisioned(dir, &provisioned));
    if (provisioned && !force) return VEIL_OK;
    TRY(authority_open(root_ca_dir, &a));
    /* The authority publishes collateral once; `veil platform collateral` renews it. */
    if (access(coll_path, F_OK) != 0)
        TRY_OUT(sim_pcs_write_collateral(root_ca_dir, 1, (int64_t)time(NULL), 365, coll_path));

    uint8_t comp[16], ext[SIM_PCS_SGX_EXT_MAX];
    size_t ext_len;
    memset(comp, tcb_level, sizeof comp);
    TRY_OUT(sim_pcs_sgx_extension(comp, tcb_level, sim_pcs_fmspc, ext, sizeof ext, &ext_len));
    int64_t now = (int64_t)time(NULL);
    TRY_OUT(veil_p256_keygen(&pck_key));
    TRY_OUT(sim_pcs_cert("Veil simulated PCK certificate", pck_key, a.pck_ca, a.pck_ca_key, false,
                         0, now - 3600, now + PCK_DAYS * DAY, ext, ext_len, &pck_cert));
    X509 *chain_certs[3] = {pck_cert, a.pck_ca, a.root};
    TRY_OUT(sim_pcs_pem(chain_certs, 3, &chain));
    /* Certificate first, then the key: a platform is provisioned once its key exists. */
    TRY_OUT(veil_file_write_atomic(pck_cert_path, chain, strlen(chain), 0644));
    TRY_OUT(pem_write_key(pck_key_path, pck_key));
out:
    authority_free(&a);
    free(chain);
    EVP_PKEY_free(pck_key);
    X509_free(pck_cert);
    return st;
}

static veil_status bundle_hex(json_t *o, const char *name, const uint8_t *der, size_t len)
{
    char *hex = malloc(2 * len + 1);
    ENSURE(hex != NULL, VEIL_ERR_NOMEM);
    veil_hex_encode(hex, der, len);
    int rc = json_object_set_new(o, name, json_string(hex));
    free(hex);
    return rc == 0 ? VEIL_OK : VEIL_ERR_NOMEM;
}

veil_status sim_pcs_write_collateral(const char *root_ca_dir, uint8_t current_level, int64_t now,
                                     unsigned days, const char *out_path)
{
    veil_status st = VEIL_OK;
    authority a;
    uint8_t *root_crl = NULL, *pck_crl = NULL;
    size_t root_crl_len = 0, pck_crl_len = 0;
    char *tcb_info = NULL, *qe_id = NULL, *root_pem = NULL, *tcb_chain = NULL, *text = NULL;
    json_t *o = NULL;
    ENSURE(days >= 1 && days <= 3650, VEIL_ERR_ARG);
    TRY(authority_open(root_ca_dir, &a));
    int64_t from = now - 3600, until = now + (int64_t)days * DAY;

    sim_pcs_level levels[2] = {
        {.pcesvn = current_level, .status = "UpToDate"},
        {.pcesvn = 0, .status = "OutOfDate", .advisories = "[\"VEIL-SIM-00001\"]"}};
    memset(levels[0].comp, current_level, 16);
    uint8_t qe_signer[32];
    sim_pcs_qe_mrsigner(qe_signer);
    TRY_OUT(sim_pcs_tcb_info(sim_pcs_fmspc, levels, current_level > 0 ? 2 : 1, from, until,
                             a.tcb_key, &tcb_info));
    TRY_OUT(sim_pcs_qe_identity(qe_signer, SIM_QE_ISVSVN, "UpToDate", from, until, a.tcb_key,
                                &qe_id));
    TRY_OUT(sim_pcs_crl(a.root, a.root_key, NULL, 0, from, until, &root_crl, &root_crl_len));
    TRY_OUT(sim_pcs_crl(a.pck_ca, a.pck_ca_key, NULL, 0, from, until, &pck_crl, &pck_crl_len));
    TRY_OUT(sim_pcs_pem(&a.root, 1, &root_pem));
    X509 *chain[2] = {a.tcb, a.root};
    TRY_OUT(sim_pcs_pem(chain, 2, &tcb_chain));
    o = json_pack("{s:i, s:s, s:s, s:s, s:s}", "version", 1, "trustedRootCaCert", root_pem,
                  "tcbSignChain", tcb_chain, "tcbInfo", tcb_info, "qeIdentity", qe_id);
    ENSURE_OUT(o != NULL, VEIL_ERR_NOMEM);
    TRY_OUT(bundle_hex(o, "rootCaCrl", root_crl, root_crl_len));
    TRY_OUT(bundle_hex(o, "intermediateCaCrl", pck_crl, pck_crl_len));
    text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    ENSURE_OUT(text != NULL, VEIL_ERR_NOMEM);
    TRY_OUT(veil_file_write_atomic(out_path, text, strlen(text), 0644));
out:
    authority_free(&a);
    json_decref(o);
    free(text);
    free(root_crl);
    free(pck_crl);
    free(tcb_info);
    free(qe_id);
    free(root_pem);
    free(tcb_chain);
    return st;
}
