/* Tests of the TEE layer's sim backend, through tee.h and real enclave images. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "crypto/crypto_host.h"
#include "host/attest/attest.h"
#include "hostutil/fileio.h"
#include "tee/sim/sigstruct.h"
#include "tee/sim/sim_host.h"
#include "tee/sim/sim_pcs.h"
#include "tee/tee.h"
#include "test_enclave.h"

#define IMG(name) VEIL_BUILD_DIR "/enclaves/" name ".signed.so"

static char g_dir[256];       /* scratch root */
static char g_plat[300];      /* provisioned platform */
static char g_collateral[400]; /* its authority's collateral bundle */
static tee_platform *g_p;

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/veil-test-tee-XXXXXX");
    if (mkdtemp(g_dir) == NULL) return -1;
    snprintf(g_plat, sizeof g_plat, "%s/platform", g_dir);
    snprintf(g_collateral, sizeof g_collateral, "%s/root/%s", g_dir, SIM_COLLATERAL_FILE);
    char root[300];
    snprintf(root, sizeof root, "%s/root", g_dir);
    if (sim_platform_provision(g_plat, root, 3, false) != VEIL_OK) return -1;
    return tee_platform_open(g_plat, &g_p) == VEIL_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tee_platform_close(g_p);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void assert_identity_equal(const tee_identity *x, const tee_identity *y)
{
    assert_memory_equal(x->mrenclave, y->mrenclave, TEE_MEASUREMENT_LEN);
    assert_memory_equal(x->mrsigner, y->mrsigner, TEE_MEASUREMENT_LEN);
    assert_int_equal(x->prodid, y->prodid);
    assert_int_equal(x->svn, y->svn);
    assert_int_equal(x->attributes, y->attributes);
}

static tee_enclave *load_on(tee_platform *p, const char *path)
{
    tee_enclave *e = NULL;
    veil_status st = tee_enclave_load(p, path, NULL, 0, &e);
    if (st != VEIL_OK) fail_msg("loading %s: %s (%s)", path, veil_status_str(st), veil_error_detail());
    return e;
}

static tee_enclave *load(const char *path) { return load_on(g_p, path); }

/* Seals `pt` with `policy` and aad inside e. */
static veil_status seal_in(tee_enclave *e, tee_key_policy policy, const char *aad, const char *pt,
                           uint8_t *blob, size_t cap, size_t *blob_len)
{
    uint8_t in[512];
    size_t al = strlen(aad), pl = strlen(pt);
    in[0] = (uint8_t)policy;
    veil_put_u32(in + 1, (uint32_t)al);
    memcpy(in + 5, aad, al);
    memcpy(in + 5 + al, pt, pl);
    return tee_enclave_call(e, TE_SEAL, in, 5 + al + pl, blob, cap, blob_len);
}

static veil_status unseal_in(tee_enclave *e, const char *aad, const uint8_t *blob, size_t blob_len,
                             uint8_t *pt, size_t cap, size_t *pt_len)
{
    uint8_t in[1024];
    size_t al = strlen(aad);
    assert_true(4 + al + blob_len <= sizeof in);
    veil_put_u32(in, (uint32_t)al);
    memcpy(in + 4, aad, al);
    memcpy(in + 4 + al, blob, blob_len);
    return tee_enclave_call(e, TE_UNSEAL, in, 4 + al + blob_len, pt, cap, pt_len);
}

/* Seals "secret" in `sealer`, opens it in `opener`: returns the unseal status. */
static veil_status seal_open(tee_enclave *sealer, tee_enclave *opener, tee_key_policy policy)
{
    uint8_t blob[256], pt[256];
    size_t blob_len, pt_len = 0;
    assert_int_equal(seal_in(sealer, policy, "aad", "secret", blob, sizeof blob, &blob_len),
                     VEIL_OK);
    assert_int_equal(blob_len, TEE_SEAL_OVERHEAD_MAX + 6);
    veil_status st = unseal_in(opener, "aad", blob, blob_len, pt, sizeof pt, &pt_len);
    if (st == VEIL_OK) {
        assert_int_equal(pt_len, 6);
        assert_memory_equal(pt, "secret", 6);
    }
    return st;
}

/* --- loading -------------------------------------------------------------------- */
/* The one identity check every judge of an enclave uses: each pinned field, in order. */
static void test_identity_policy(void **state)
{
    (void)state;
    tee_identity id = {.prodid = 2, .svn = 3};
    memset(id.mrenclave, 0xe1, sizeof id.mrenclave);
    memset(id.mrsigner, 0x51, sizeof id.mrsigner);
    uint8_t other[TEE_MEASUREMENT_LEN];
    memset(other, 0x52, sizeof other);
    tee_identity_policy p = {NULL, id.mrsigner, true, 2, true, 3};
    assert_int_equal(tee_identity_check(&p, &id), TEE_IDENTITY_OK);
    p.min_svn = 4;
    assert_int_equal(tee_identity_check(&p, &id), TEE_IDENTITY_SVN);
    p.prodid = 8;
    assert_int_equal(tee_identity_check(&p, &id), TEE_IDENTITY_PRODID);
    p.mrenclave = other;
    assert_int_equal(tee_identity_check(&p, &id), TEE_IDENTITY_MRENCLAVE);
    p.mrsigner = other;
    assert_int_equal(tee_identity_check(&p, &id), TEE_IDENTITY_MRSIGNER);
    uint8_t pinned[TEE_MEASUREMENT_LEN];
    memcpy(pinned, id.mrenclave, sizeof pinned);
    tee_identity_policy by_enclave = {pinned, NULL, false, 0, false, 0};
    assert_int_equal(tee_identity_check(&by_enclave, &id), TEE_IDENTITY_OK);
    id.mrenclave[31] ^= 1; /* the last byte counts too */
    assert_int_equal(tee_identity_check(&by_enclave, &id), TEE_IDENTITY_MRENCLAVE);
}

static void test_load_and_identity(void **state)
{
    (void)state;
    tee_enclave *e = load(IMG("test_enclave"));
    tee_identity id, inside;
    tee_enclave_identity(e, &id);
    assert_int_equal(id.prodid, 7);
    assert_int_equal(id.svn, 1);
    assert_int_equal(id.attributes & TEE_ATTR_DEBUG, 0);
    uint8_t out[TEE_IDENTITY_WIRE_LEN];
    size_t n;
    assert_int_equal(tee_enclave_call(e, TE_IDENTITY, NULL, 0, out, sizeof out, &n), VEIL_OK);
    assert_int_equal(tee_identity_parse(out, n, &inside), VEIL_OK);
    assert_identity_equal(&inside, &id);
    assert_int_equal(tee_enclave_call(e, TE_PING, NULL, 0, out, sizeof out, &n), VEIL_OK);
    assert_int_equal(tee_enclave_call(e, 1000, NULL, 0, out, sizeof out, &n), VEIL_ERR_TEE_NO_ECALL);
    tee_enclave_destroy(e);
}

static void write_copy(const char *dst, const uint8_t *buf, size_t len)
{
    assert_int_equal(veil_file_write_atomic(dst, buf, len, 0644), VEIL_OK);
}

static void test_tampered_image_refused(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t len;
    char path[400];
    tee_enclave *e = NULL;
    assert_int_equal(veil_file_read(IMG("test_enclave"), 1 << 28, &buf, &len), VEIL_OK);
    snprintf(path, sizeof path, "%s/tampered.so", g_dir);
    /* One byte anywhere in the image (here: code, data, the very first byte). */
    size_t spots[] = {0, len / 3, len / 2, len - SIM_SIGSTRUCT_LEN - 1};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        buf[spots[i]] ^= 0x01;
        write_copy(path, buf, len);
        assert_int_equal(tee_enclave_load(g_p, path, NULL, 0, &e), VEIL_ERR_TEE_MEASUREMENT);
        assert_null(e);
        buf[spots[i]] ^= 0x01;
    }
    /* A byte of the signature structure: the signature no longer verifies. */
    buf[len - SIM_SIGSTRUCT_LEN + 56] ^= 0x01; /* prodid */
    write_copy(path, buf, len);
    assert_int_equal(tee_enclave_load(g_p, path, NULL, 0, &e), VEIL_ERR_TEE_SIGNATURE);
    buf[len - SIM_SIGSTRUCT_LEN + 56] ^= 0x01;
    /* Truncated, empty, and a file that is no signed image at all. */
    write_copy(path, buf, len - 1);
    assert_int_equal(tee_enclave_load(g_p, path, NULL, 0, &e), VEIL_ERR_TEE_IMAGE_FORMAT);
    write_copy(path, buf, 0);
    assert_int_equal(tee_enclave_load(g_p, path, NULL, 0, &e), VEIL_ERR_TEE_IMAGE_FORMAT);
    write_copy(path, (const uint8_t *)"hello", 5);
    assert_int_equal(tee_enclave_load(g_p, path, NULL, 0, &e), VEIL_ERR_TEE_IMAGE_FORMAT);
    assert_int_equal(tee_enclave_load(g_p, "/nonexistent/x.so", NULL, 0, &e), VEIL_ERR_NOT_FOUND);
    free(buf);
}

static void test_wrong_signer_key_refused(void **state)
{
    (void)state;
    uint8_t *dev, *other;
    size_t dev_len, other_len;
    char path[400];
    tee_enclave *e = NULL;
    assert_int_equal(veil_file_read(IMG("test_enclave"), 1 << 28, &dev, &dev_len), VEIL_OK);
    assert_int_equal(veil_file_read(IMG("test_enclave_othersigner"), 1 << 28, &other, &other_len),
                     VEIL_OK);
    assert_int_equal(dev_len, other_len);
    /* Signed by the other key, but claiming the dev key as its signer. */
    memcpy(other + other_len - SIM_SIGSTRUCT_LEN + 72, dev + dev_len - SIM_SIGSTRUCT_LEN + 72, 32);
    snprintf(path, sizeof path, "%s/wrongsigner.so", g_dir);
    write_copy(path, other, other_len);
    assert_int_equal(tee_enclave_load(g_p, path, NULL, 0, &e), VEIL_ERR_TEE_SIGNATURE);
    assert_null(e);
    free(dev);
    free(other);
}

/* --- sealing -------------------------------------------------------------------- */
static void test_seal_policies(void **state)
{
    (void)state;
    tee_enclave *a = load(IMG("test_enclave"));
    tee_enclave *a2 = load(IMG("test_enclave")); /* the same image, loaded again */
    tee_enclave *b = load(IMG("test_enclave_b"));
    tee_enclave *other = load(IMG("test_enclave_othersigner"));
    tee_identity ia, ib;
    tee_enclave_identity(a, &ia);
    tee_enclave_identity(b, &ib);
    assert_memory_equal(ia.mrsigner, ib.mrsigner, 32);
    assert_memory_not_equal(ia.mrenclave, ib.mrenclave, 32);

    /* Same signer, other image: signer policy opens, enclave policy does not. */
    assert_int_equal(seal_open(a, b, TEE_POLICY_MRSIGNER), VEIL_OK);
    assert_int_equal(seal_open(a, b, TEE_POLICY_MRENCLAVE), VEIL_ERR_TEE_UNSEAL);
    assert_int_equal(seal_open(a, a2, TEE_POLICY_MRENCLAVE), VEIL_OK);
    assert_int_equal(seal_open(a, a, TEE_POLICY_MRSIGNER), VEIL_OK);
    /* Another signer never opens signer-sealed data. */
    assert_int_equal(seal_open(a, other, TEE_POLICY_MRSIGNER), VEIL_ERR_TEE_UNSEAL);
    assert_int_equal(seal_open(other, a, TEE_POLICY_MRSIGNER), VEIL_ERR_TEE_UNSEAL);
    /* As on SGX, the enclave policy binds the measurement, not the signer: the very
     * same image signed by someone else has the same MRENCLAVE and opens it. */
    assert_int_equal(seal_open(a, other, TEE_POLICY_MRENCLAVE), VEIL_OK);
    assert_int_equal(seal_open(b, other, TEE_POLICY_MRENCLAVE), VEIL_ERR_TEE_UNSEAL);

    /* One enclave instance seals under one key id per policy (its derived key cached);
     * another instance draws its own, and each opens the other's blobs. */
    uint8_t x[256], y[256], z[256], pt[256];
    size_t xl, yl, zl, pl;
    assert_int_equal(seal_in(a, TEE_POLICY_MRENCLAVE, "aad", "one", x, sizeof x, &xl), VEIL_OK);
    assert_int_equal(seal_in(a, TEE_POLICY_MRENCLAVE, "aad", "two", y, sizeof y, &yl), VEIL_OK);
    assert_int_equal(seal_in(a2, TEE_POLICY_MRENCLAVE, "aad", "three", z, sizeof z, &zl), VEIL_OK);
    assert_memory_equal(x + 16, y + 16, TEE_KEY_ID_LEN);     /* same instance */
    assert_memory_not_equal(x + 16, z + 16, TEE_KEY_ID_LEN); /* another instance */
    assert_memory_not_equal(x + 48, y + 48, 12);             /* nonces differ */
    assert_int_equal(unseal_in(a2, "aad", x, xl, pt, sizeof pt, &pl), VEIL_OK);
    assert_int_equal(unseal_in(a, "aad", z, zl, pt, sizeof pt, &pl), VEIL_OK);
    assert_memory_equal(pt, "three", 5);
    tee_enclave_destroy(a);
    tee_enclave_destroy(a2);
    tee_enclave_destroy(b);
    tee_enclave_destroy(other);
}

static void test_seal_svn_prodid_debug(void **state)
{
    (void)state;
    tee_enclave *v1 = load(IMG("test_enclave"));
    tee_enclave *v2 = load(IMG("test_enclave_svn2"));
    tee_enclave *p8 = load(IMG("test_enclave_prodid8"));
    tee_enclave *dbg = load(IMG("test_enclave_debug"));

    /* An upgrade opens what the older version sealed; never the reverse. */
    assert_int_equal(seal_open(v1, v2, TEE_POLICY_MRSIGNER), VEIL_OK);
    assert_int_equal(seal_open(v2, v1, TEE_POLICY_MRSIGNER), VEIL_ERR_TEE_SVN);

    /* Key derivation: SVN 1 cannot ask for SVN 2 keys; SVN 2 derives SVN 1's keys. */
    uint8_t req[4 + 32] = {TEE_KEY_SEAL, TEE_POLICY_MRSIGNER, 0, 2};
    uint8_t k1[32], k2[32];
    size_t n;
    memset(req + 4, 0xab, 32);
    assert_int_equal(tee_enclave_call(v1, TE_DERIVE, req, sizeof req, k1, 32, &n), VEIL_ERR_TEE_SVN);
    req[3] = 1;
    assert_int_equal(tee_enclave_call(v1, TE_DERIVE, req, sizeof req, k1, 32, &n), VEIL_OK);
    assert_int_equal(tee_enclave_call(v2, TE_DERIVE, req, sizeof req, k2, 32, &n), VEIL_OK);
    assert_memory_equal(k1, k2, 32);
    req[3] = 2;
    assert_int_equal(tee_enclave_call(v2, TE_DERIVE, req, sizeof req, k2, 32, &n), VEIL_OK);
    assert_memory_not_equal(k1, k2, 32);
    /* Report keys are not for the enclave to take. */
    req[0] = TEE_KEY_REPORT;
    assert_int_equal(tee_enclave_call(v1, TE_DERIVE, req, sizeof req, k1, 32, &n),
                     VEIL_ERR_TEE_POLICY);
    req[0] = TEE_KEY_SEAL;
    req[1] = 9;
    req[3] = 1;
    assert_int_equal(tee_enclave_call(v1, TE_DERIVE, req, sizeof req, k1, 32, &n),
                     VEIL_ERR_TEE_POLICY);

    /* Other product id of the same signer: refused by name. */
    assert_int_equal(seal_open(v1, p8, TEE_POLICY_MRSIGNER), VEIL_ERR_TEE_PRODID);
    /* A debug build of the same image never opens production data, nor the reverse. */
    assert_int_equal(seal_open(v1, dbg, TEE_POLICY_MRSIGNER), VEIL_ERR_TEE_UNSEAL);
    assert_int_equal(seal_open(dbg, v1, TEE_POLICY_MRSIGNER), VEIL_ERR_TEE_UNSEAL);
    tee_enclave_destroy(v1);
    tee_enclave_destroy(v2);
    tee_enclave_destroy(p8);
    tee_enclave_destroy(dbg);
}

static void test_sealed_blob_tampering(void **state)
{
    (void)state;
    tee_enclave *a = load(IMG("test_enclave"));
    uint8_t blob[256], bad[256], pt[256];
    size_t blob_len, pt_len;
    assert_int_equal(seal_in(a, TEE_POLICY_MRSIGNER, "txid-1", "payload bytes", blob, sizeof blob,
                             &blob_len),
                     VEIL_OK);
    assert_int_equal(unseal_in(a, "txid-1", blob, blob_len, pt, sizeof pt, &pt_len), VEIL_OK);
    assert_int_equal(pt_len, 13);
    /* Every single-bit change anywhere in the blob is refused. */
    for (size_t i = 0; i < blob_len; i++) {
        memcpy(bad, blob, blob_len);
        bad[i] ^= 0x04;
        veil_status st = unseal_in(a, "txid-1", bad, blob_len, pt, sizeof pt, &pt_len);
        assert_int_not_equal(st, VEIL_OK);
    }
    /* The header fields give their own errors. */
    memcpy(bad, blob, blob_len);
    bad[0] = 'X';
    assert_int_equal(unseal_in(a, "txid-1", bad, blob_len, pt, sizeof pt, &pt_len),
                     VEIL_ERR_BAD_MAGIC);
    memcpy(bad, blob, blob_len);
    bad[4] = 2;
    assert_int_equal(unseal_in(a, "txid-1", bad, blob_len, pt, sizeof pt, &pt_len),
                     VEIL_ERR_BAD_VERSION);
    /* Other associated data, truncation, trailing bytes. */
    assert_int_equal(unseal_in(a, "txid-2", blob, blob_len, pt, sizeof pt, &pt_len),
                     VEIL_ERR_TEE_UNSEAL);
    assert_int_equal(unseal_in(a, "", blob, blob_len, pt, sizeof pt, &pt_len), VEIL_ERR_TEE_UNSEAL);
    assert_int_not_equal(unseal_in(a, "txid-1", blob, blob_len - 1, pt, sizeof pt, &pt_len),
                         VEIL_OK);
    assert_int_equal(unseal_in(a, "txid-1", blob, 10, pt, sizeof pt, &pt_len), VEIL_ERR_TRUNCATED);
    memcpy(bad, blob, blob_len);
    bad[blob_len] = 0;
    assert_int_equal(unseal_in(a, "txid-1", bad, blob_len + 1, pt, sizeof pt, &pt_len),
                     VEIL_ERR_MALFORMED);
    tee_enclave_destroy(a);
}

static void test_sealing_is_per_platform(void **state)
{
    (void)state;
    char other_dir[400];
    tee_platform *q;
    snprintf(other_dir, sizeof other_dir, "%s/other-platform", g_dir);
    /* Opening never creates a platform: a mistyped directory is refused, not made. */
    assert_int_equal(tee_platform_open(other_dir, &q), VEIL_ERR_TEE_PLATFORM);
    assert_non_null(strstr(veil_error_detail(), "veil platform init"));
    assert_int_equal(sim_platform_create(other_dir), VEIL_OK);
    assert_int_equal(sim_platform_create(other_dir), VEIL_ERR_EXISTS);
    assert_int_equal(tee_platform_open(other_dir, &q), VEIL_OK);
    tee_enclave *here = load(IMG("test_enclave"));
    tee_enclave *there = load_on(q, IMG("test_enclave"));
    assert_int_equal(seal_open(here, there, TEE_POLICY_MRSIGNER), VEIL_ERR_TEE_UNSEAL);
    tee_enclave_destroy(here);
    tee_enclave_destroy(there);
    /* Unprovisioned: no quotes, with a clear status. */
    tee_enclave *e = load_on(q, IMG("test_enclave"));
    uint8_t rd[64] = {0}, quote[TEE_QUOTE_MAX_LEN];
    size_t n;
    assert_int_equal(tee_enclave_call(e, TE_QUOTE, rd, sizeof rd, quote, sizeof quote, &n),
                     VEIL_ERR_TEE_PLATFORM);
    tee_enclave_destroy(e);
    tee_platform_close(q);
}

static uint64_t counter(tee_enclave *e, int increment, uint8_t id_byte)
{
    uint8_t in[1 + TEE_COUNTER_ID_LEN], out[8];
    size_t n = 0;
    in[0] = (uint8_t)increment;
    memset(in + 1, id_byte, TEE_COUNTER_ID_LEN);
    assert_int_equal(tee_enclave_call(e, TE_COUNTER, in, sizeof in, out, sizeof out, &n), VEIL_OK);
    assert_int_equal(n, 8);
    return veil_get_u64(out);
}

/* Monotonic counters: per image (MRENCLAVE) and id, durable across reloads and platform
 * reopenings, never going back; another image (or another platform) has its own. */
static void test_counters(void **state)
{
    (void)state;
    tee_enclave *e = load(IMG("test_enclave"));
    assert_int_equal(counter(e, 0, 0x11), 0);
    assert_int_equal(counter(e, 1, 0x11), 1);
    assert_int_equal(counter(e, 1, 0x11), 2);
    assert_int_equal(counter(e, 0, 0x11), 2);
    assert_int_equal(counter(e, 0, 0x22), 0); /* another id */
    tee_enclave *b = load(IMG("test_enclave_b"));
    assert_int_equal(counter(b, 0, 0x11), 0); /* another image: its own counters */
    assert_int_equal(counter(b, 1, 0x11), 1);
    tee_enclave_destroy(b);
    tee_enclave_destroy(e);
    /* Reloaded, and on the platform opened again: where it was. The same image signed
     * with another SVN has the same MRENCLAVE, so the same counters. */
    tee_platform *again;
    assert_int_equal(tee_platform_open(g_plat, &again), VEIL_OK);
    e = load_on(again, IMG("test_enclave_svn2"));
    assert_int_equal(counter(e, 0, 0x11), 2);
    assert_int_equal(counter(e, 1, 0x11), 3);
    tee_enclave_destroy(e);
    tee_platform_close(again);
    /* Malformed requests are refused by the test enclave, not the platform. */
    e = load(IMG("test_enclave"));
    uint8_t in[2] = {1, 0}, out[8];
    size_t n;
    assert_int_equal(tee_enclave_call(e, TE_COUNTER, in, sizeof in, out, sizeof out, &n),
                     VEIL_ERR_MALFORMED);
    tee_enclave_destroy(e);
}

static void test_root_secret_permissions(void **state)
{
    (void)state;
    char dir[400], secret[500];
    tee_platform *q = NULL;
    snprintf(dir, sizeof dir, "%s/perm-platform", g_dir);
    assert_int_equal(sim_platform_create(dir), VEIL_OK);
    assert_int_equal(tee_platform_open(dir, &q), VEIL_OK);
    tee_platform_close(q);
    snprintf(secret, sizeof secret, "%s/%s", dir, SIM_ROOT_SECRET_FILE);
    struct stat sb;
    assert_int_equal(stat(secret, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(chmod(secret, 0644), 0);
    q = NULL;
    assert_int_equal(tee_platform_open(dir, &q), VEIL_ERR_PERMISSION);
    assert_null(q);
    assert_int_equal(chmod(secret, 0600), 0);
    assert_int_equal(truncate(secret, 16), 0);
    assert_int_equal(tee_platform_open(dir, &q), VEIL_ERR_MALFORMED);
}

/* --- reports -------------------------------------------------------------------- */
static void report_for(tee_enclave *from, tee_enclave *to, uint8_t wire[TEE_REPORT_WIRE_LEN])
{
    uint8_t in[32 + 8 + 64];
    tee_target_info t;
    size_t n;
    tee_enclave_target_info(to, &t);
    memcpy(in, t.mrenclave, 32);
    veil_put_u64(in + 32, t.attributes);
    memset(in + 40, 0x5a, 64);
    assert_int_equal(tee_enclave_call(from, TE_REPORT, in, sizeof in, wire, TEE_REPORT_WIRE_LEN, &n),
                     VEIL_OK);
    assert_int_equal(n, TEE_REPORT_WIRE_LEN);
}

static void test_local_attestation(void **state)
{
    (void)state;
    tee_enclave *a = load(IMG("test_enclave"));
    tee_enclave *b = load(IMG("test_enclave_b"));
    tee_enclave *c = load(IMG("test_enclave_othersigner"));
    uint8_t wire[TEE_REPORT_WIRE_LEN], bad[TEE_REPORT_WIRE_LEN], out[TEE_IDENTITY_WIRE_LEN];
    size_t n;
    tee_identity got, ia;

    report_for(a, b, wire);
    assert_int_equal(tee_enclave_call(b, TE_VERIFY_REPORT, wire, sizeof wire, out, sizeof out, &n),
                     VEIL_OK);
    assert_int_equal(tee_identity_parse(out, n, &got), VEIL_OK);
    tee_enclave_identity(a, &ia);
    assert_identity_equal(&got, &ia);

    /* Forged MAC, altered body, altered key id: all refused. */
    size_t spots[] = {0, 70, 76 + 10, 140 + 3, 216, 247};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        memcpy(bad, wire, sizeof wire);
        bad[spots[i]] ^= 0x80;
        assert_int_equal(tee_enclave_call(b, TE_VERIFY_REPORT, bad, sizeof bad, out, sizeof out, &n),
                         VEIL_ERR_TEE_REPORT_MAC);
    }
    /* A report for b does not verify in c (or in a). */
    assert_int_equal(tee_enclave_call(c, TE_VERIFY_REPORT, wire, sizeof wire, out, sizeof out, &n),
                     VEIL_ERR_TEE_REPORT_MAC);
    assert_int_equal(tee_enclave_call(a, TE_VERIFY_REPORT, wire, sizeof wire, out, sizeof out, &n),
                     VEIL_ERR_TEE_REPORT_MAC);
    /* Shape errors before any MAC work. */
    assert_int_equal(tee_enclave_call(b, TE_VERIFY_REPORT, wire, 100, out, sizeof out, &n),
                     VEIL_ERR_TRUNCATED);
    memcpy(bad, wire, sizeof wire);
    bad[180] = 1; /* reserved */
    assert_int_equal(tee_enclave_call(b, TE_VERIFY_REPORT, bad, sizeof bad, out, sizeof out, &n),
                     VEIL_ERR_MALFORMED);
    tee_enclave_destroy(a);
    tee_enclave_destroy(b);
    tee_enclave_destroy(c);
}

/* --- quotes --------------------------------------------------------------------- */
static size_t make_quote(tee_enclave *e, uint8_t rd_byte, uint8_t *quote)
{
    uint8_t rd[64];
    size_t n;
    memset(rd, rd_byte, sizeof rd);
    assert_int_equal(tee_enclave_call(e, TE_QUOTE, rd, sizeof rd, quote, TEE_QUOTE_MAX_LEN, &n),
                     VEIL_OK);
    return n;
}

static attest_collateral *collateral(const char *path)
{
    attest_collateral *c = NULL;
    assert_int_equal(attest_collateral_load(path, &c), VEIL_OK);
    return c;
}

static void test_quotes(void **state)
{
    (void)state;
    tee_enclave *a = load(IMG("test_enclave"));
    tee_enclave *dbg = load(IMG("test_enclave_debug"));
    uint8_t quote[TEE_QUOTE_MAX_LEN], bad[TEE_QUOTE_MAX_LEN + 1];
    attest_claims c;
    tee_identity ia;
    int64_t now = (int64_t)time(NULL);
    attest_collateral *col = collateral(g_collateral);

    /* An SGX ECDSA quote v3: Intel's layout, this platform's TCB in header and body. */
    size_t n = make_quote(a, 0x11, quote);
    dcap_quote dq;
    assert_int_equal(dcap_quote_parse(quote, n, &dq), VEIL_OK);
    assert_int_equal(dq.version, 3);
    assert_int_equal(dq.att_key_type, 2);
    assert_int_equal(dq.pce_svn, 3);
    assert_int_equal(dq.cert_type, 5);
    assert_int_equal(dq.body[0], 3); /* CPUSVN */
    assert_int_equal(attest_quote_verify(quote, n, col, now, &c), VEIL_OK);
    tee_enclave_identity(a, &ia);
    assert_identity_equal(&c.body.identity, &ia);
    assert_int_equal(c.body.report_data[0], 0x11);
    assert_int_equal(c.body.report_data[63], 0x11);
    assert_int_equal(c.tcb_status, DCAP_TCB_UP_TO_DATE);
    assert_memory_equal(c.fmspc, "VEIL\0\0", 6);
    assert_int_equal(c.body.identity.attributes & TEE_ATTR_DEBUG, 0);

    /* A TCB recovery: the authority's new collateral makes level 3 out of date. */
    char recovered[400], rootdir[300];
    snprintf(rootdir, sizeof rootdir, "%s/root", g_dir);
    snprintf(recovered, sizeof recovered, "%s/recovered.json", g_dir);
    assert_int_equal(sim_pcs_write_collateral(rootdir, 4, now, 30, recovered), VEIL_OK);
    attest_collateral *col4 = collateral(recovered);
    assert_int_equal(attest_quote_verify(quote, n, col4, now, &c), VEIL_OK);
    assert_int_equal(c.tcb_status, DCAP_TCB_OUT_OF_DATE);
    assert_string_equal(c.advisory_ids, "VEIL-SIM-00001");
    /* ... and its validity is its own: 30 days. */
    assert_int_equal(attest_quote_verify(quote, n, col4, now + 31 * 86400, &c),
                     VEIL_ERR_TEE_COLLATERAL_EXPIRED);
    attest_collateral_free(col4);

    /* Debug flag visible in the claims. */
    size_t dn = make_quote(dbg, 0x22, bad);
    assert_int_equal(attest_quote_verify(bad, dn, col, now, &c), VEIL_OK);
    assert_int_not_equal(c.body.identity.attributes & TEE_ATTR_DEBUG, 0);

    /* Altered header, body (identity, report data), signature, attestation key or QE
     * report: a signature fails. */
    size_t sig = 48 + 384 + 4;
    size_t spots[] = {9, 48 + 64, 48 + 128, 48 + 256, 48 + 320, sig + 3, sig + 64 + 5,
                      sig + 128 + 100, sig + 128 + 384 + 7};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        memcpy(bad, quote, n);
        bad[spots[i]] ^= 0x01;
        veil_status st = attest_quote_verify(bad, n, col, now, &c);
        assert_true(st == VEIL_ERR_TEE_QUOTE_SIGNATURE || st == VEIL_ERR_TEE_QE_IDENTITY);
    }
    /* Altered certification data: no longer the authority's chain (or unparsable). */
    memcpy(bad, quote, n);
    bad[n - 200] ^= 0x01;
    veil_status st = attest_quote_verify(bad, n, col, now, &c);
    if (st != VEIL_ERR_TEE_QUOTE_CHAIN && st != VEIL_ERR_TEE_QUOTE_FORMAT)
        fail_msg("%s: %s", veil_status_name(st), veil_error_detail());
    assert_true(st == VEIL_ERR_TEE_QUOTE_CHAIN || st == VEIL_ERR_TEE_QUOTE_FORMAT);
    /* Shape: truncated, trailing byte, other version, oversized. */
    assert_int_equal(attest_quote_verify(quote, n - 1, col, now, &c), VEIL_ERR_TEE_QUOTE_FORMAT);
    assert_int_equal(attest_quote_verify(quote, 100, col, now, &c), VEIL_ERR_TEE_QUOTE_FORMAT);
    memcpy(bad, quote, n);
    bad[n] = 0;
    assert_int_equal(attest_quote_verify(bad, n + 1, col, now, &c), VEIL_ERR_TEE_QUOTE_FORMAT);
    memcpy(bad, quote, n);
    bad[0] = 4;
    assert_int_equal(attest_quote_verify(bad, n, col, now, &c), VEIL_ERR_TEE_QUOTE_FORMAT);

    /* A platform of another authority: refused under ours, verified under its own. */
    char other[400], other_root[400], other_bundle[500];
    tee_platform *q;
    snprintf(other, sizeof other, "%s/foreign", g_dir);
    snprintf(other_root, sizeof other_root, "%s/foreign-root", g_dir);
    snprintf(other_bundle, sizeof other_bundle, "%s/%s", other_root, SIM_COLLATERAL_FILE);
    assert_int_equal(sim_platform_provision(other, other_root, 3, false), VEIL_OK);
    assert_int_equal(tee_platform_open(other, &q), VEIL_OK);
    tee_enclave *f = load_on(q, IMG("test_enclave"));
    size_t fn = make_quote(f, 0x33, bad);
    attest_collateral *foreign = collateral(other_bundle);
    assert_int_equal(attest_quote_verify(bad, fn, col, now, &c), VEIL_ERR_TEE_QUOTE_CHAIN);
    assert_int_equal(attest_quote_verify(bad, fn, foreign, now, &c), VEIL_OK);
    assert_int_equal(attest_quote_verify(quote, n, foreign, now, &c), VEIL_ERR_TEE_QUOTE_CHAIN);
    attest_collateral_free(foreign);

    /* A quote signed by an attestation key the QE report does not certify. */
    EVP_PKEY *rogue;
    uint8_t body[384];
    assert_int_equal(veil_p256_keygen(&rogue), VEIL_OK);
    sim_report_body_encode(&c.body, g_p->cpusvn, body);
    sim_pcs_quoter qr = {.att_key = rogue,
                         .qe_svn = SIM_QE_ISVSVN,
                         .pce_svn = g_p->pcesvn,
                         .qe_report = g_p->qe_report,
                         .qe_report_sig = g_p->qe_report_sig,
                         .auth = g_p->qe_auth,
                         .auth_len = sizeof g_p->qe_auth,
                         .chain_pem = g_p->pck_chain};
    assert_int_equal(sim_pcs_quote(&qr, body, bad, sizeof bad, &fn), VEIL_OK);
    assert_int_equal(attest_quote_verify(bad, fn, col, now, &c), VEIL_ERR_TEE_QUOTE_SIGNATURE);
    /* With the platform's own key the same body verifies (the forgery above is the key). */
    qr.att_key = g_p->att_key;
    assert_int_equal(sim_pcs_quote(&qr, body, bad, sizeof bad, &fn), VEIL_OK);
    assert_int_equal(attest_quote_verify(bad, fn, col, now, &c), VEIL_OK);
    EVP_PKEY_free(rogue);

    attest_collateral_free(col);
    tee_enclave_destroy(f);
    tee_platform_close(q);
    tee_enclave_destroy(a);
    tee_enclave_destroy(dbg);
}

static void test_quoting_service_checks_report(void **state)
{
    (void)state;
    /* The QE only signs what this platform's CPU reported to it. */
    tee_report r;
    uint8_t quote[TEE_QUOTE_MAX_LEN];
    size_t n;
    memset(&r, 0, sizeof r);
    r.body.identity.prodid = 7;
    assert_int_equal(sim_qe_quote(g_p, &r, quote, sizeof quote, &n), VEIL_ERR_TEE_REPORT_MAC);
}

/* --- memory and ocalls ---------------------------------------------------------- */
static veil_status host_echo(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                             size_t out_cap, size_t *out_len)
{
    int *calls = ctx;
    (*calls)++;
    ENSURE(in_len <= out_cap, VEIL_ERR_BUFFER_TOO_SMALL);
    for (size_t i = 0; i < in_len; i++) out[i] = (uint8_t)(in[i] + 1);
    *out_len = in_len;
    return VEIL_OK;
}

static void test_memory_budget_and_ocalls(void **state)
{
    (void)state;
    int calls = 0;
    const tee_ocall_fn fns[] = {host_echo};
    tee_ocall_table table = {fns, 1, &calls};
    tee_enclave *e = NULL;
    assert_int_equal(tee_enclave_load(g_p, IMG("test_enclave"), &table, 1u << 20, &e), VEIL_OK);
    uint8_t in[8], out[16];
    size_t n;
    veil_put_u64(in, 512 * 1024);
    assert_int_equal(tee_enclave_call(e, TE_ALLOC, in, 8, out, sizeof out, &n), VEIL_OK);
    veil_put_u64(in, 2u << 20);
    assert_int_equal(tee_enclave_call(e, TE_ALLOC, in, 8, out, sizeof out, &n),
                     VEIL_ERR_TEE_OUT_OF_MEMORY);
    veil_put_u64(in, SIZE_MAX - 4);
    assert_int_equal(tee_enclave_call(e, TE_ALLOC, in, 8, out, sizeof out, &n),
                     VEIL_ERR_TEE_OUT_OF_MEMORY);
    /* Marshalled buffers count too: a 2 MiB input does not fit a 1 MiB enclave. */
    uint8_t *big = calloc(1, 2u << 20);
    assert_non_null(big);
    assert_int_equal(tee_enclave_call(e, TE_PING, big, 2u << 20, out, sizeof out, &n),
                     VEIL_ERR_TEE_OUT_OF_MEMORY);
    free(big);
    /* The budget is back after the failures. */
    veil_put_u64(in, 512 * 1024);
    assert_int_equal(tee_enclave_call(e, TE_ALLOC, in, 8, out, sizeof out, &n), VEIL_OK);

    uint8_t msg[3] = {1, 2, 3};
    assert_int_equal(tee_enclave_call(e, TE_OCALL_ECHO, msg, 3, out, sizeof out, &n), VEIL_OK);
    assert_int_equal(n, 3);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[2], 4);
    assert_int_equal(calls, 1);
    /* A per-call context goes to this call's ocalls only; the next call without one
     * gets the table's again. */
    int mine = 0;
    assert_int_equal(tee_enclave_call_ctx(e, TE_OCALL_ECHO, msg, 3, out, sizeof out, &n, &mine),
                     VEIL_OK);
    assert_int_equal(mine, 1);
    assert_int_equal(calls, 1);
    assert_int_equal(tee_enclave_call(e, TE_OCALL_ECHO, msg, 3, out, sizeof out, &n), VEIL_OK);
    assert_int_equal(mine, 1);
    assert_int_equal(calls, 2);
    /* The host's answer may not exceed what the enclave asked for. */
    assert_int_equal(tee_enclave_call(e, TE_OCALL_ECHO, msg, 3, out, 2, &n),
                     VEIL_ERR_BUFFER_TOO_SMALL);
    tee_enclave_destroy(e);

    /* Without an ocall table, ocalls fail cleanly. */
    e = load(IMG("test_enclave"));
    assert_int_equal(tee_enclave_call(e, TE_OCALL_ECHO, msg, 3, out, sizeof out, &n),
                     VEIL_ERR_TEE_NO_OCALL);
    tee_enclave_destroy(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_policy),
        cmocka_unit_test(test_load_and_identity),
        cmocka_unit_test(test_tampered_image_refused),
        cmocka_unit_test(test_wrong_signer_key_refused),
        cmocka_unit_test(test_seal_policies),
        cmocka_unit_test(test_seal_svn_prodid_debug),
        cmocka_unit_test(test_sealed_blob_tampering),
        cmocka_unit_test(test_sealing_is_per_platform),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_root_secret_permissions),
        cmocka_unit_test(test_local_attestation),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_quoting_service_checks_report),
        cmocka_unit_test(test_memory_budget_and_ocalls),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
