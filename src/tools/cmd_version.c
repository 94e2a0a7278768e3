/* veil version — what this veil is: its version, the enclave images it would load and
 * their identities, and the product ids and SVNs it expects of them. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/hex.h"
#include "hostutil/fileio.h"
#include "tee/tee.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "trusted/tqe/tqe_abi.h"
#include "trusted/tve/tve_abi.h"

/* An image's signed identity, or why there is none. */
static json_t *image_json(const char *image, uint16_t want_prodid, uint16_t want_svn)
{
    char path[PATH_MAX];
    json_t *j = json_object();
    if (veil_enclave_image_path(image, path, sizeof path) != VEIL_OK) return j;
    json_object_set_new(j, "path", json_string(path));
    json_object_set_new(j, "expected_prodid", json_integer(want_prodid));
    json_object_set_new(j, "expected_min_svn", json_integer(want_svn));
    tee_identity id;
    veil_status st = tee_image_identity(path, &id);
    if (st != VEIL_OK) {
        json_object_set_new(j, "error", json_string(veil_status_str(st)));
        return j;
    }
    char mre[65];
    char mrs[65];
    veil_hex_encode(mre, id.mrenclave, 32);
    veil_hex_encode(mrs, id.mrsigner, 32);
    json_object_set_new(j, "mrenclave", json_string(mre));
    json_object_set_new(j, "mrsigner", json_string(mrs));
    json_object_set_new(j, "prodid", json_integer(id.prodid));
    json_object_set_new(j, "svn", json_integer(id.svn));
    json_object_set_new(j, "debug", json_boolean((id.attributes & TEE_ATTR_DEBUG) != 0));
    return j;
}

int cmd_version(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'h':
            printf("usage: veil version [--json]\n\n"
                   "Prints this veil's version, where it finds its enclave images ($VEIL_ENCLAVE_DIR,\n"
                   "else beside the binary, else the install directory) and each image's\n"
                   "measurement, product id and SVN.\n");
            return 0;
        default: return cli_bad_option("version", argv);
        }
    }
    if (optind != argc) return cli_usage_error("version takes no arguments");
    char dir[PATH_MAX] = "";
    if (veil_enclave_dir(dir, sizeof dir) != VEIL_OK) snprintf(dir, sizeof dir, "(unknown)");
    json_t *tve = image_json(TVE_ENCLAVE_IMAGE, TVE_PRODID, TVE_SVN);
    json_t *tqe = image_json(TQE_ENCLAVE_IMAGE, TQE_PRODID, TQE_SVN);
    if (json) {
        json_t *j = json_pack("{s:s, s:s, s:o, s:o}", "version", VEIL_VERSION, "enclave_dir", dir,
                              "tve", tve, "tqe", tqe);
        json_dumpf(j, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(j);
        return 0;
    }
    printf("veil %s\nenclave images: %s\n", VEIL_VERSION, dir);
    json_t *imgs[2] = {tve, tqe};
    const char *names[2] = {"tve", "tqe"};
    for (int i = 0; i < 2; i++) {
        const char *err = json_string_value(json_object_get(imgs[i], "error"));
        if (err != NULL)
            printf("  %s  %s: %s\n", names[i],
                   json_string_value(json_object_get(imgs[i], "path")), err);
        else
            printf("  %s  mrenclave %s  prodid %lld  svn %lld\n", names[i],
                   json_string_value(json_object_get(imgs[i], "mrenclave")),
                   json_integer_value(json_object_get(imgs[i], "prodid")),
                   json_integer_value(json_object_get(imgs[i], "svn")));
        json_decref(imgs[i]);
    }
    return 0;
}
