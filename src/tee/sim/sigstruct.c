#include "tee/sim/sigstruct.h"

#include <elf.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "common/cursor.h"
#include "common/hex.h"
#include "crypto/crypto.h"
#include "hostutil/fileio.h"

#if defined(__x86_64__)
#define EM_NATIVE EM_X86_64
#elif defined(__aarch64__)
#define EM_NATIVE EM_AARCH64
#elif defined(__riscv)
#define EM_NATIVE EM_RISCV
#else
#error "enclave images: unknown machine"
#endif
#if __SIZEOF_POINTER__ == 8
#define ELFCLASS_NATIVE ELFCLASS64
#else
#define ELFCLASS_NATIVE ELFCLASS32
#endif

static const uint8_t sig_magic[8] = {'V', 'E', 'I', 'L', 'S', 'I', 'G', '1'};
#define SIG_VERSION 1u
#define SIG_SIGNED_LEN 192u

void sim_measure_image(const uint8_t *image, size_t len, uint8_t out[static TEE_MEASUREMENT_LEN])
{
    veil_sha256_tagged(out, "veil/sim/mrenclave/v1", image, len);
}

void sim_mrsigner(const uint8_t pubkey[static SIM_SIGNER_PUBKEY_LEN],
                  uint8_t out[static TEE_MEASUREMENT_LEN])
{
    veil_sha256_tagged(out, "veil/sim/mrsigner/v1", pubkey, SIM_SIGNER_PUBKEY_LEN);
}

/* Layout (big-endian): 0 magic(8) 8 version(2) 10 reserved(6) 16 image_len(8)
 * 24 mrenclave(32) 56 prodid(2) 58 svn(2) 60 reserved(4) 64 attributes(8)
 * 72 signer_pubkey(32) 104 reserved(88) 192 signature(64). */
static void sigstruct_write(const sim_sigstruct *s, uint8_t out[static SIM_SIGSTRUCT_LEN])
{
    memset(out, 0, SIM_SIGSTRUCT_LEN);
    memcpy(out, sig_magic, sizeof sig_magic);
    veil_put_u16(out + 8, SIG_VERSION);
    veil_put_u64(out + 16, s->image_len);
    memcpy(out + 24, s->mrenclave, TEE_MEASUREMENT_LEN);
    veil_put_u16(out + 56, s->prodid);
    veil_put_u16(out + 58, s->svn);
    veil_put_u64(out + 64, s->attributes);
    memcpy(out + 72, s->signer_pubkey, SIM_SIGNER_PUBKEY_LEN);
    memcpy(out + 192, s->signature, sizeof s->signature);
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) acc |= p[i];
    return acc == 0;
}

veil_status sim_sigstruct_parse(const uint8_t *file, size_t file_len, sim_sigstruct *out)
{
    ENSURE(file_len >= SIM_SIGSTRUCT_LEN, VEIL_ERR_TEE_IMAGE_FORMAT);
    const uint8_t *s = file + file_len - SIM_SIGSTRUCT_LEN;
    ENSURE(memcmp(s, sig_magic, sizeof sig_magic) == 0, VEIL_ERR_TEE_IMAGE_FORMAT);
    ENSURE(veil_get_u16(s + 8) == SIG_VERSION, VEIL_ERR_BAD_VERSION);
    ENSURE(all_zero(s + 10, 6) && all_zero(s + 60, 4) && all_zero(s + 104, 88),
           VEIL_ERR_TEE_IMAGE_FORMAT);
    out->image_len = veil_get_u64(s + 16);
    ENSURE(out->image_len == file_len - SIM_SIGSTRUCT_LEN, VEIL_ERR_TEE_IMAGE_FORMAT);
    memcpy(out->mrenclave, s + 24, TEE_MEASUREMENT_LEN);
    out->prodid = veil_get_u16(s + 56);
    out->svn = veil_get_u16(s + 58);
    out->attributes = veil_get_u64(s + 64);
    ENSURE((out->attributes & ~TEE_ATTR_DEBUG) == 0, VEIL_ERR_TEE_IMAGE_FORMAT);
    memcpy(out->signer_pubkey, s + 72, SIM_SIGNER_PUBKEY_LEN);
    memcpy(out->signature, s + 192, sizeof out->signature);
    return VEIL_OK;
}

veil_status sim_sigstruct_verify(const uint8_t *file, size_t file_len, sim_sigstruct *out)
{
    veil_status st = VEIL_OK;
    uint8_t measured[TEE_MEASUREMENT_LEN];
    EVP_MD_CTX *md = NULL;
    EVP_PKEY *pub = NULL;

    TRY(sim_sigstruct_parse(file, file_len, out));
    const uint8_t *s = file + file_len - SIM_SIGSTRUCT_LEN;
    pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, out->signer_pubkey,
                                      SIM_SIGNER_PUBKEY_LEN);
    ENSURE_OUT(pub != NULL, VEIL_ERR_TEE_SIGNATURE);
    md = EVP_MD_CTX_new();
    ENSURE_OUT(md != NULL, VEIL_ERR_NOMEM);
    ENSURE_OUT(EVP_DigestVerifyInit(md, NULL, NULL, NULL, pub) == 1, VEIL_ERR_CRYPTO);
    ENSURE_OUT(EVP_DigestVerify(md, out->signature, sizeof out->signature, s, SIG_SIGNED_LEN) == 1,
               VEIL_ERR_TEE_SIGNATURE);
    /* The signature vouches for the claimed measurement; the image must match it. */
    sim_measure_image(file, (size_t)out->image_len, measured);
    if (!veil_ct_equal(measured, out->mrenclave, sizeof measured)) {
        char want[65], got[65];
        veil_hex_encode(want, out->mrenclave, TEE_MEASUREMENT_LEN);
        veil_hex_encode(got, measured, TEE_MEASUREMENT_LEN);
        veil_error_detail_set("signature structure says MRENCLAVE %s, image measures %s", want,
                              got);
        st = VEIL_ERR_TEE_MEASUREMENT;
    }
out:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pub);
    return st;
}

void sim_sigstruct_identity(const sim_sigstruct *s, tee_identity *out)
{
    memcpy(out->mrenclave, s->mrenclave, TEE_MEASUREMENT_LEN);
    sim_mrsigner(s->signer_pubkey, out->mrsigner);
    out->prodid = s->prodid;
    out->svn = s->svn;
    out->attributes = s->attributes;
}

veil_status sim_signer_pubkey(EVP_PKEY *key, uint8_t out[static SIM_SIGNER_PUBKEY_LEN])
{
    size_t n = SIM_SIGNER_PUBKEY_LEN;
    ENSURE(EVP_PKEY_get_id(key) == EVP_PKEY_ED25519, VEIL_ERR_TEE_SIGNER_KEY);
    ENSURE(EVP_PKEY_get_raw_public_key(key, out, &n) == 1 && n == SIM_SIGNER_PUBKEY_LEN,
           VEIL_ERR_TEE_SIGNER_KEY);
    return VEIL_OK;
}

/* An ELF shared object of this machine's class and architecture: what the loader
 * dlopens, and nothing else. */
static bool is_enclave_image(const uint8_t *image, size_t len)
{
    ElfW(Ehdr) eh;
    if (len < sizeof eh) return false;
    memcpy(&eh, image, sizeof eh);
    return memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS_NATIVE &&
           eh.e_type == ET_DYN && eh.e_machine == EM_NATIVE;
}

veil_status sim_image_sign(EVP_PKEY *signer, const uint8_t *image, size_t len, uint16_t prodid,
                           uint16_t svn, bool debug, uint8_t **out, size_t *out_len)
{
    veil_status st = VEIL_OK;
    sim_sigstruct s = {.image_len = len, .prodid = prodid, .svn = svn,
                       .attributes = debug ? TEE_ATTR_DEBUG : 0};
    uint8_t raw[SIM_SIGSTRUCT_LEN];
    size_t siglen = sizeof s.signature;
    EVP_MD_CTX *md = NULL;
    uint8_t *buf = NULL;

    ENSURE(len > 0 && len <= SIM_IMAGE_MAX, VEIL_ERR_TOO_LARGE);
    /* Signing a signed file would nest structures; refuse it. */
    sim_sigstruct existing;
    ENSURE(sim_sigstruct_parse(image, len, &existing) != VEIL_OK, VEIL_ERR_EXISTS);
    /* A signature vouches for what it covers: never put one on an arbitrary file. */
    if (!is_enclave_image(image, len)) {
        veil_error_detail_set("not an enclave image (an ELF shared object built for this "
                              "machine)");
        return VEIL_ERR_TEE_LOAD;
    }
    TRY(sim_signer_pubkey(signer, s.signer_pubkey));
    sim_measure_image(image, len, s.mrenclave);
    sigstruct_write(&s, raw);
    md = EVP_MD_CTX_new();
    ENSURE_OUT(md != NULL, VEIL_ERR_NOMEM);
    ENSURE_OUT(EVP_DigestSignInit(md, NULL, NULL, NULL, signer) == 1, VEIL_ERR_CRYPTO);
    ENSURE_OUT(EVP_DigestSign(md, s.signature, &siglen, raw, SIG_SIGNED_LEN) == 1 && siglen == 64,
               VEIL_ERR_CRYPTO);
    sigstruct_write(&s, raw);
    buf = malloc(len + SIM_SIGSTRUCT_LEN);
    ENSURE_OUT(buf != NULL, VEIL_ERR_NOMEM);
    memcpy(buf, image, len);
    memcpy(buf + len, raw, SIM_SIGSTRUCT_LEN);
    *out = buf;
    *out_len = len + SIM_SIGSTRUCT_LEN;
out:
    EVP_MD_CTX_free(md);
    return st;
}

veil_status sim_signer_key_generate(const char *path)
{
    veil_status st = VEIL_OK;
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    BIO *bio = NULL;
    ENSURE(key != NULL, VEIL_ERR_CRYPTO);
    bio = BIO_new(BIO_s_mem());
    ENSURE_OUT(bio != NULL, VEIL_ERR_NOMEM);
    ENSURE_OUT(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1, VEIL_ERR_CRYPTO);
    char *pem;
    long n = BIO_get_mem_data(bio, &pem);
    ENSURE_OUT(n > 0, VEIL_ERR_CRYPTO);
    st = veil_file_create_new(path, pem, (size_t)n, 0600);
out:
    BIO_free_all(bio);
    EVP_PKEY_free(key);
    return st;
}

veil_status sim_signer_key_load(const char *path, EVP_PKEY **out)
{
    veil_status st;
    uint8_t *pem = NULL;
    size_t len;
    BIO *bio = NULL;
    TRY(veil_file_check_private(path));
    TRY(veil_file_read(path, 64 * 1024, &pem, &len));
    bio = BIO_new_mem_buf(pem, (int)len);
    ENSURE_OUT(bio != NULL, VEIL_ERR_NOMEM);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    if (key == NULL || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(key);
        veil_error_detail_set("%s: not an Ed25519 private key in PEM", path);
        st = VEIL_ERR_TEE_SIGNER_KEY;
        goto out;
    }
    *out = key;
    st = VEIL_OK;
out:
    BIO_free_all(bio);
    if (pem != NULL) {
        veil_wipe(pem, len);
        free(pem);
    }
    return st;
}
