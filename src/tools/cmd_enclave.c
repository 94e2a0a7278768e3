/* veil enclave keygen|sign|info|verify */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "hostutil/fileio.h"
#include "tee/sim/sigstruct.h"
#include "tools/cli.h"
#include "tools/commands.h"

static int enclave_keygen(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'h':
            printf("usage: veil enclave keygen --out SIGNER_KEY\n\n"
                   "Creates an Ed25519 enclave signer key (PKCS#8 PEM, mode 0600).\n"
                   "Refuses to overwrite an existing file. MRSIGNER of enclaves signed with it\n"
                   "is printed.\n");
            return 0;
        default:
            return cli_bad_option("enclave keygen", argv);
        }
    }
    if (out == NULL || optind != argc) return cli_usage_error("enclave keygen needs --out FILE");
    veil_status st = veil_crypto_init();
    if (st == VEIL_OK) st = sim_signer_key_generate(out);
    if (st != VEIL_OK) return cli_fail(out, st);
    EVP_PKEY *key;
    st = sim_signer_key_load(out, &key);
    if (st != VEIL_OK) return cli_fail(out, st);
    uint8_t pub[SIM_SIGNER_PUBKEY_LEN], mrsigner[TEE_MEASUREMENT_LEN];
    char hex[65];
    st = sim_signer_pubkey(key, pub);
    EVP_PKEY_free(key);
    if (st != VEIL_OK) return cli_fail(out, st);
    sim_mrsigner(pub, mrsigner);
    veil_hex_encode(hex, mrsigner, sizeof mrsigner);
    printf("signer key written to %s\nmrsigner %s\n", out, hex);
    return 0;
}

static int enclave_sign(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},   {"prodid", required_argument, NULL, 'p'},
        {"svn", required_argument, NULL, 's'},   {"debug", no_argument, NULL, 'd'},
        {"out", required_argument, NULL, 'o'},   {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    const char *key_path = NULL, *out = NULL;
    uint64_t prodid = 0, svn = 0;
    bool have_prodid = false, have_svn = false, debug = false, force = false;
    int c;
    while ((c = getopt_long(argc, argv, "k:p:s:do:fh", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            key_path = optarg;
            break;
        case 'p':
            if (!cli_parse_u64(optarg, UINT16_MAX, &prodid))
                return cli_usage_error("--prodid must be 0..65535");
            have_prodid = true;
            break;
        case 's':
            if (!cli_parse_u64(optarg, UINT16_MAX, &svn))
                return cli_usage_error("--svn must be 0..65535");
            have_svn = true;
            break;
        case 'd':
            debug = true;
            break;
        case 'o':
            out = optarg;
            break;
        case 'f':
            force = true;
            break;
        case 'h':
            printf("usage: veil enclave sign --key SIGNER_KEY --prodid N --svn N [--debug] IMAGE "
                   "--out SIGNED\n\n"
                   "Measures IMAGE (an enclave shared object) and appends a signature structure\n"
                   "(MRENCLAVE, product id, security version, debug flag) signed with SIGNER_KEY.\n"
                   "Anything but an ELF shared object of this machine is refused.\n"
                   "  --debug   mark the enclave as debuggable: its keys differ from a production\n"
                   "            build's and quotes show the flag to verifiers\n"
                   "  --force   replace SIGNED if it exists (refused otherwise)\n");
            return 0;
        default:
            return cli_bad_option("enclave sign", argv);
        }
    }
    if (key_path == NULL || out == NULL || !have_prodid || !have_svn || optind != argc - 1)
        return cli_usage_error("enclave sign needs --key, --prodid, --svn, --out and one IMAGE");
    const char *image = argv[optind];
    veil_status st = veil_crypto_init();
    if (st != VEIL_OK) return cli_fail("crypto", st);
    EVP_PKEY *key = NULL;
    uint8_t *img = NULL, *signed_img = NULL;
    size_t img_len, signed_len;
    st = sim_signer_key_load(key_path, &key);
    if (st != VEIL_OK) return cli_fail(key_path, st);
    st = veil_file_read(image, SIM_IMAGE_MAX, &img, &img_len);
    if (st == VEIL_OK)
        st = sim_image_sign(key, img, img_len, (uint16_t)prodid, (uint16_t)svn, debug, &signed_img,
                            &signed_len);
    if (st == VEIL_OK && !force && access(out, F_OK) == 0) {
        veil_error_detail_set("%s exists (--force replaces it)", out);
        st = VEIL_ERR_EXISTS;
        image = out;
    }
    if (st == VEIL_OK) st = veil_file_write_atomic(out, signed_img, signed_len, 0644);
    EVP_PKEY_free(key);
    free(img);
    free(signed_img);
    if (st == VEIL_ERR_EXISTS && image != out) {
        fprintf(stderr, "veil: %s is already a signed enclave image\n", image);
        return 1;
    }
    return st == VEIL_OK ? 0 : cli_fail(image, st);
}

static int load_signed(const char *path, sim_sigstruct *sig, bool verify)
{
    uint8_t *file;
    size_t len;
    veil_status st = veil_crypto_init();
    if (st == VEIL_OK) st = veil_file_read(path, SIM_IMAGE_MAX + SIM_SIGSTRUCT_LEN, &file, &len);
    if (st != VEIL_OK) return cli_fail(path, st);
    st = verify ? sim_sigstruct_verify(file, len, sig) : sim_sigstruct_parse(file, len, sig);
    free(file);
    return st == VEIL_OK ? 0 : cli_fail(path, st);
}

static int enclave_info(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    bool json = false;
    int c;
    while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = true;
            break;
        case 'h':
            printf("usage: veil enclave info SIGNED [--json]\n\n"
                   "Prints the identity a signed enclave image claims: MRENCLAVE, MRSIGNER,\n"
                   "product id, SVN, debug flag. Does not verify; see 'veil enclave verify'.\n");
            return 0;
        default:
            return cli_bad_option("enclave info", argv);
        }
    }
    if (optind != argc - 1) return cli_usage_error("enclave info needs one SIGNED image");
    sim_sigstruct sig;
    int rc = load_signed(argv[optind], &sig, false);
    if (rc != 0) return rc;
    tee_identity id;
    sim_sigstruct_identity(&sig, &id);
    char mre[65], mrs[65];
    veil_hex_encode(mre, id.mrenclave, sizeof id.mrenclave);
    veil_hex_encode(mrs, id.mrsigner, sizeof id.mrsigner);
    bool debug = (id.attributes & TEE_ATTR_DEBUG) != 0;
    if (json)
        printf("{\"mrenclave\":\"%s\",\"mrsigner\":\"%s\",\"prodid\":%u,\"svn\":%u,"
               "\"debug\":%s}\n",
               mre, mrs, id.prodid, id.svn, debug ? "true" : "false");
    else
        printf("mrenclave %s\nmrsigner  %s\nprodid    %u\nsvn       %u\ndebug     %s\n", mre, mrs,
               id.prodid, id.svn, debug ? "yes" : "no");
    return 0;
}

static int enclave_verify(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: veil enclave verify SIGNED\n\n"
               "Exits 0 if the signature structure is validly signed by its signer key and\n"
               "the image bytes match its MRENCLAVE; otherwise says what failed, exits 1.\n");
        return 0;
    }
    if (argc != 2) return cli_usage_error("enclave verify needs one SIGNED image");
    sim_sigstruct sig;
    int rc = load_signed(argv[1], &sig, true);
    if (rc == 0) printf("%s: signature and measurement verified\n", argv[1]);
    return rc;
}

int cmd_enclave(int argc, char **argv)
{
    static const cli_command sub[] = {
        {"keygen", enclave_keygen, "create an enclave signer key"},
        {"sign", enclave_sign, "measure and sign an enclave image"},
        {"info", enclave_info, "print a signed image's identity"},
        {"verify", enclave_verify, "check a signed image's signature and measurement"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("veil enclave", sub, argc, argv);
}
