/* Provisioning of a simulated platform: a provisioning root CA (the stand-in for the
 * TEE vendor's root that verifiers pin) and the platform's attestation key (PCK),
 * certified by that root together with the platform's TCB level. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crypto/crypto.h"
#include "crypto/crypto_host.h"
#include "hostutil/fileio.h"
#include "tee/sim/sim_host.h"

#define ROOT_DAYS 3650
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

static veil_status add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ENSURE(ext != NULL, VEIL_ERR_CRYPTO);
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? VEIL_OK : VEIL_ERR_CRYPTO;
}

static veil_status add_tcb_ext(X509 *cert, uint16_t level)
{
    veil_status st = VEIL_ERR_CRYPTO;
    ASN1_OBJECT *oid = OBJ_txt2obj(SIM_TCB_OID, 1);
    ASN1_INTEGER *value = ASN1_INTEGER_new();
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    unsigned char *der = NULL;
    int der_len = -1;
    if (value != NULL && ASN1_INTEGER_set(value, level) == 1) der_len = i2d_ASN1_INTEGER(value, &der);
    /* extnValue holds the DER of the value (RFC 5280), here an INTEGER. */
    if (oid != NULL && os != NULL && der_len > 0 && ASN1_OCTET_STRING_set(os, der, der_len) == 1)
        ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os);
    if (ext != NULL && X509_add_ext(cert, ext, -1) == 1) st = VEIL_OK;
    X509_EXTENSION_free(ext);
    OPENSSL_free(der);
    ASN1_OCTET_STRING_free(os);
    ASN1_INTEGER_free(value);
    ASN1_OBJECT_free(oid);
    return st;
}

/* A certificate for `key`, issued by (issuer_cert, issuer_key) or self-signed. */
static veil_status cert_make(EVP_PKEY *key, const char *cn, X509 *issuer_cert,
                             EVP_PKEY *issuer_key, int days, bool ca, int tcb_level, X509 **out)
{
    veil_status st = VEIL_OK;
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    uint8_t serial[16];
    BIGNUM *bn = NULL;
    ENSURE_OUT(cert != NULL && name != NULL, VEIL_ERR_NOMEM);
    TRY_OUT(veil_random_bytes(serial, sizeof serial));
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    ENSURE_OUT(bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL,
               VEIL_ERR_CRYPTO);
    ENSURE_OUT(X509_set_version(cert, X509_VERSION_3) == 1, VEIL_ERR_CRYPTO);
    ENSURE_OUT(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                          (const unsigned char *)"Veil simulated TEE", -1, -1,
                                          0) == 1 &&
                   X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                              (const unsigned char *)cn, -1, -1, 0) == 1,
               VEIL_ERR_CRYPTO);
    ENSURE_OUT(X509_set_subject_name(cert, name) == 1, VEIL_ERR_CRYPTO);
    ENSURE_OUT(X509_set_issuer_name(cert, issuer_cert ? X509_get_subject_name(issuer_cert) : name) ==
                   1,
               VEIL_ERR_CRYPTO);
    ENSURE_OUT(X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != NULL &&
                   X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400) != NULL,
               VEIL_ERR_CRYPTO);
    ENSURE_OUT(X509_set_pubkey(cert, key) == 1, VEIL_ERR_CRYPTO);
    X509 *iss = issuer_cert ? issuer_cert : cert;
    TRY_OUT(add_ext(cert, iss, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE"));
    TRY_OUT(add_ext(cert, iss, NID_key_usage, ca ? "critical,keyCertSign,cRLSign"
                                                  : "critical,digitalSignature"));
    TRY_OUT(add_ext(cert, iss, NID_subject_key_identifier, "hash"));
    if (issuer_cert != NULL) TRY_OUT(add_ext(cert, iss, NID_authority_key_identifier, "keyid"));
    if (tcb_level >= 0) TRY_OUT(add_tcb_ext(cert, (uint16_t)tcb_level));
    ENSURE_OUT(X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256()) > 0, VEIL_ERR_CRYPTO);
    *out = cert;
    cert = NULL;
out:
    BN_free(bn);
    X509_NAME_free(name);
    X509_free(cert);
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

veil_status sim_platform_provision(const char *dir, const char *root_ca_dir, uint16_t tcb_level,
                                   bool force)
{
    veil_status st = VEIL_OK;
    char ca_key_path[PATH_MAX], ca_cert_path[PATH_MAX], pck_key_path[PATH_MAX],
        pck_cert_path[PATH_MAX];
    EVP_PKEY *ca_key = NULL, *pck_key = NULL;
    X509 *ca_cert = NULL, *pck_cert = NULL;

    TRY(veil_path_join(ca_key_path, sizeof ca_key_path, root_ca_dir, SIM_ROOT_CA_KEY_FILE));
    TRY(veil_path_join(ca_cert_path, sizeof ca_cert_path, root_ca_dir, SIM_ROOT_CA_CERT_FILE));
    TRY(veil_path_join(pck_key_path, sizeof pck_key_path, dir, SIM_PCK_KEY_FILE));
    TRY(veil_path_join(pck_cert_path, sizeof pck_cert_path, dir, SIM_PCK_CERT_FILE));

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
    TRY(veil_mkdir_p(root_ca_dir, 0700));

    st = pem_read(ca_key_path, &ca_key, NULL);
    if (st == VEIL_ERR_NOT_FOUND) {
        TRY_OUT(veil_p256_keygen(&ca_key));
        TRY_OUT(cert_make(ca_key, "Veil simulated provisioning root", NULL, NULL, ROOT_DAYS, true,
                          -1, &ca_cert));
        TRY_OUT(pem_write_key(ca_key_path, ca_key));
        TRY_OUT(pem_write_cert(ca_cert_path, ca_cert));
    } else {
        TRY_OUT(st);
        TRY_OUT(veil_file_check_private(ca_key_path));
        TRY_OUT(pem_read(ca_cert_path, NULL, &ca_cert));
    }
    TRY_OUT(veil_p256_keygen(&pck_key));
    TRY_OUT(cert_make(pck_key, "Veil simulated platform attestation key", ca_cert, ca_key,
                      PCK_DAYS, false, tcb_level, &pck_cert));
    /* Certificate first, then the key: a platform is provisioned once its key exists. */
    TRY_OUT(pem_write_cert(pck_cert_path, pck_cert));
    TRY_OUT(pem_write_key(pck_key_path, pck_key));
out:
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(pck_key);
    X509_free(ca_cert);
    X509_free(pck_cert);
    return st;
}
