/* Crypto glue: known-answer vectors (files in tests/vectors) and negative cases. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <sodium.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "crypto/crypto_host.h"

/* ----------------------------------------------------------------------------------
 * Vector-file helpers
 * ---------------------------------------------------------------------------------- */

#define MAX_FIELDS 12

typedef struct {
    FILE *f;
    char *line;
    size_t cap;
    char *field[MAX_FIELDS];
    size_t nfields;
    const char *path;
    unsigned lineno;
} vec_file;

static void vec_open(vec_file *v, const char *name)
{
    static char path[1024];
    memset(v, 0, sizeof *v);
    snprintf(path, sizeof path, "%s/%s", VEIL_TEST_VECTORS, name);
    v->path = path;
    v->f = fopen(path, "r");
    if (v->f == NULL) fail_msg("cannot open vector file %s", path);
}

/* Next data line split on `sep`, keeping empty fields (an empty field is empty bytes).
 * Skips blank lines and '#' comments. Returns false at end of file. */
static bool vec_next(vec_file *v, char sep)
{
    for (;;) {
        ssize_t n = getline(&v->line, &v->cap, v->f);
        if (n < 0) return false;
        v->lineno++;
        while (n > 0 && (v->line[n - 1] == '\n' || v->line[n - 1] == '\r')) v->line[--n] = '\0';
        if (n == 0 || v->line[0] == '#') continue;
        v->nfields = 0;
        char *p = v->line;
        for (;;) {
            assert_true(v->nfields < MAX_FIELDS);
            v->field[v->nfields++] = p;
            char *q = strchr(p, sep);
            if (q == NULL) break;
            *q = '\0';
            p = q + 1;
        }
        return true;
    }
}

static void vec_close(vec_file *v)
{
    free(v->line);
    fclose(v->f);
}

/* Decodes a hex field into a fresh heap buffer (never NULL, so empty fields are usable
 * as zero-length inputs). */
static uint8_t *unhex(const char *hex, size_t *len)
{
    size_t hl = strlen(hex);
    uint8_t *b = malloc(hl / 2 + 1);
    assert_non_null(b);
    assert_int_equal(veil_hex_decode(b, hl / 2 + 1, hex, hl, len), VEIL_OK);
    return b;
}

static void unhex_exact(uint8_t *out, size_t n, const char *hex)
{
    assert_int_equal(veil_hex_decode_exact(out, n, hex, strlen(hex)), VEIL_OK);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0) return false;
    return true;
}

static int setup(void **state)
{
    (void)state;
    return veil_crypto_init() == VEIL_OK ? 0 : -1;
}

/* ----------------------------------------------------------------------------------
 * Init, hashing
 * ---------------------------------------------------------------------------------- */

/* Runs first, so that the lazily built secp256k1 context is created under contention. */
enum { RACE_THREADS = 8 };
static pthread_barrier_t race_barrier;

static void *race_worker(void *arg)
{
    uint8_t *pk = arg;
    uint8_t sk[32] = {0}, sig[64], ct[16 + 3], key[32] = {0}, nonce[12] = {0};
    sk[31] = 3;
    pthread_barrier_wait(&race_barrier);
    if (veil_crypto_init() != VEIL_OK) return "init";
    if (veil_schnorr_pubkey(pk, sk) != VEIL_OK) return "pubkey";
    if (veil_schnorr_sign(sig, "race", 4, sk, NULL) != VEIL_OK) return "sign";
    if (veil_schnorr_verify(sig, "race", 4, pk) != VEIL_OK) return "verify";
    if (veil_aead_seal(key, nonce, NULL, 0, "abc", 3, ct) != VEIL_OK) return "seal";
    return NULL;
}

static void test_concurrent_first_use(void **state)
{
    (void)state;
    pthread_t th[RACE_THREADS];
    uint8_t pk[RACE_THREADS][32];
    assert_int_equal(pthread_barrier_init(&race_barrier, NULL, RACE_THREADS), 0);
    for (int i = 0; i < RACE_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race_worker, pk[i]), 0);
    for (int i = 0; i < RACE_THREADS; i++) {
        void *err;
        assert_int_equal(pthread_join(th[i], &err), 0);
        if (err != NULL) fail_msg("thread %d failed at %s", i, (const char *)err);
    }
    pthread_barrier_destroy(&race_barrier);
    /* BIP-340 vector 0's public key (secret key 3) */
    uint8_t want[32];
    unhex_exact(want, 32, "f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9");
    for (int i = 0; i < RACE_THREADS; i++) assert_memory_equal(pk[i], want, 32);
}

static void test_init_idempotent(void **state)
{
    (void)state;
    assert_int_equal(veil_crypto_init(), VEIL_OK);
    assert_int_equal(veil_crypto_init(), VEIL_OK);
}

static void test_sha256_fips(void **state)
{
    (void)state;
    uint8_t want[32], got[32];

    /* FIPS 180-2 appendix B.1 */
    unhex_exact(want, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    veil_sha256(got, "abc", 3);
    assert_memory_equal(got, want, 32);

    unhex_exact(want, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    veil_sha256(got, NULL, 0);
    assert_memory_equal(got, want, 32);

    /* FIPS 180-2 appendix B.2 (two blocks), fed in uneven pieces through the stream API. */
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    unhex_exact(want, 32, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    veil_sha256_ctx ctx;
    veil_sha256_init(&ctx);
    veil_sha256_update(&ctx, m, 1);
    veil_sha256_update(&ctx, NULL, 0);
    veil_sha256_update(&ctx, m + 1, 40);
    veil_sha256_update(&ctx, m + 41, strlen(m) - 41);
    veil_sha256_final(&ctx, got);
    assert_memory_equal(got, want, 32);
    veil_sha256(got, m, strlen(m));
    assert_memory_equal(got, want, 32);
}

static void test_sha256_tagged(void **state)
{
    (void)state;
    const char *tag = "veil/test/v1";
    const uint8_t data[] = {1, 2, 3};
    uint8_t buf[1 + 12 + 3], want[32], got[32];
    buf[0] = 12;
    memcpy(buf + 1, tag, 12);
    memcpy(buf + 13, data, 3);
    veil_sha256(want, buf, sizeof buf);
    veil_sha256_tagged(got, tag, data, sizeof data);
    assert_memory_equal(got, want, 32);

    /* Tag and data boundaries are not ambiguous thanks to the length prefix. */
    uint8_t other[32];
    veil_sha256_tagged(other, "veil/test/v", "1\x01\x02\x03", 4);
    assert_memory_not_equal(got, other, 32);
}

static void test_hmac_rfc4231(void **state)
{
    (void)state;
    uint8_t key[20], want[32], got[32];

    /* test case 1 */
    memset(key, 0x0b, sizeof key);
    unhex_exact(want, 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    veil_hmac_sha256(got, key, 20, "Hi There", 8);
    assert_memory_equal(got, want, 32);

    /* test case 2 */
    unhex_exact(want, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    veil_hmac_sha256(got, "Jefe", 4, "what do ya want for nothing?", 28);
    assert_memory_equal(got, want, 32);
}

static void test_hkdf_vectors(void **state)
{
    (void)state;
    vec_file v;
    unsigned rows = 0;
    vec_open(&v, "hkdf-sha256.tsv");
    while (vec_next(&v, '\t')) {
        assert_int_equal(v.nfields, 7);
        size_t ikm_len, salt_len, info_len, prk_len, okm_len;
        uint8_t *ikm = unhex(v.field[1], &ikm_len);
        uint8_t *salt = unhex(v.field[2], &salt_len);
        uint8_t *info = unhex(v.field[3], &info_len);
        size_t L = strtoul(v.field[4], NULL, 10);
        uint8_t *prk = unhex(v.field[5], &prk_len);
        uint8_t *okm = unhex(v.field[6], &okm_len);
        assert_int_equal(okm_len, L);
        assert_int_equal(prk_len, 32);

        /* PRK = HMAC(salt or 32 zero bytes, IKM): checks the extract step alone. */
        uint8_t zero[32] = {0}, got_prk[32];
        if (salt_len > 0) veil_hmac_sha256(got_prk, salt, salt_len, ikm, ikm_len);
        else veil_hmac_sha256(got_prk, zero, sizeof zero, ikm, ikm_len);
        assert_memory_equal(got_prk, prk, 32);

        uint8_t *out = malloc(L);
        assert_non_null(out);
        assert_int_equal(veil_hkdf_sha256(out, L, salt, salt_len, ikm, ikm_len, info, info_len),
                         VEIL_OK);
        assert_memory_equal(out, okm, L);
        if (salt_len == 0) {
            /* An absent salt is the same as an empty one. */
            memset(out, 0, L);
            assert_int_equal(veil_hkdf_sha256(out, L, NULL, 0, ikm, ikm_len, info, info_len),
                             VEIL_OK);
            assert_memory_equal(out, okm, L);
        }
        free(out);
        free(ikm);
        free(salt);
        free(info);
        free(prk);
        free(okm);
        rows++;
    }
    vec_close(&v);
    assert_int_equal(rows, 3); /* RFC 5869 A.1-A.3 */
}

static void test_hkdf_limits(void **state)
{
    (void)state;
    static uint8_t out[VEIL_HKDF_MAX_OUT + 1];
    const uint8_t ikm[16] = {7};
    assert_int_equal(veil_hkdf_sha256(out, VEIL_HKDF_MAX_OUT + 1, NULL, 0, ikm, sizeof ikm,
                                      NULL, 0),
                     VEIL_ERR_ARG);
    assert_int_equal(veil_hkdf_sha256(out, VEIL_HKDF_MAX_OUT, NULL, 0, ikm, sizeof ikm, NULL, 0),
                     VEIL_OK);
    /* A shorter output is a prefix of a longer one (same T(i) chain). */
    uint8_t short_out[33];
    assert_int_equal(veil_hkdf_sha256(short_out, sizeof short_out, NULL, 0, ikm, sizeof ikm,
                                      NULL, 0),
                     VEIL_OK);
    assert_memory_equal(short_out, out, sizeof short_out);
    assert_int_equal(veil_hkdf_sha256(NULL, 0, NULL, 0, ikm, sizeof ikm, NULL, 0), VEIL_OK);
}

/* ----------------------------------------------------------------------------------
 * AES-256-GCM-SIV
 * ---------------------------------------------------------------------------------- */

static void test_aead_vectors(void **state)
{
    (void)state;
    vec_file v;
    unsigned rows = 0, valid = 0, invalid = 0;
    vec_open(&v, "aes256-gcm-siv.tsv");
    while (vec_next(&v, '\t')) {
        assert_int_equal(v.nfields, 8);
        uint8_t key[VEIL_AEAD_KEY_LEN], nonce[VEIL_AEAD_NONCE_LEN];
        unhex_exact(key, sizeof key, v.field[1]);
        unhex_exact(nonce, sizeof nonce, v.field[2]);
        size_t aad_len, msg_len, ct_len, tag_len;
        uint8_t *aad = unhex(v.field[3], &aad_len);
        uint8_t *msg = unhex(v.field[4], &msg_len);
        uint8_t *ct = unhex(v.field[5], &ct_len);
        uint8_t *tag = unhex(v.field[6], &tag_len);
        assert_int_equal(tag_len, VEIL_AEAD_TAG_LEN);

        size_t sealed_len = ct_len + tag_len;
        uint8_t *sealed = malloc(sealed_len);
        uint8_t *pt = malloc(ct_len + 1);
        assert_non_null(sealed);
        assert_non_null(pt);
        memcpy(sealed, ct, ct_len);
        memcpy(sealed + ct_len, tag, tag_len);

        if (strcmp(v.field[7], "valid") == 0) {
            assert_int_equal(ct_len, msg_len);
            uint8_t *out = malloc(sealed_len);
            assert_non_null(out);
            assert_int_equal(veil_aead_seal(key, nonce, aad, aad_len, msg, msg_len, out),
                             VEIL_OK);
            if (memcmp(out, sealed, sealed_len) != 0)
                fail_msg("seal mismatch, vector id %s", v.field[0]);
            assert_int_equal(veil_aead_open(key, nonce, aad, aad_len, sealed, sealed_len, pt),
                             VEIL_OK);
            assert_memory_equal(pt, msg, msg_len);
            free(out);
            valid++;
        } else {
            assert_string_equal(v.field[7], "invalid");
            memset(pt, 0xaa, ct_len + 1);
            veil_status st = veil_aead_open(key, nonce, aad, aad_len, sealed, sealed_len, pt);
            if (st != VEIL_ERR_AUTH)
                fail_msg("vector id %s: got %s", v.field[0], veil_status_name(st));
            assert_true(all_zero(pt, ct_len));
            invalid++;
        }
        free(aad);
        free(msg);
        free(ct);
        free(tag);
        free(sealed);
        free(pt);
        rows++;
    }
    vec_close(&v);
    assert_int_equal(rows, valid + invalid);
    assert_true(rows >= 32);
    assert_int_equal(invalid, 3);
}

static void test_aead_tamper(void **state)
{
    (void)state;
    uint8_t key[32], nonce[12], aad[20], msg[45];
    assert_int_equal(veil_random_bytes(key, sizeof key), VEIL_OK);
    assert_int_equal(veil_random_bytes(nonce, sizeof nonce), VEIL_OK);
    assert_int_equal(veil_random_bytes(aad, sizeof aad), VEIL_OK);
    assert_int_equal(veil_random_bytes(msg, sizeof msg), VEIL_OK);

    uint8_t ct[sizeof msg + 16], pt[sizeof msg], bad[sizeof ct];
    assert_int_equal(veil_aead_seal(key, nonce, aad, sizeof aad, msg, sizeof msg, ct), VEIL_OK);
    assert_int_equal(veil_aead_open(key, nonce, aad, sizeof aad, ct, sizeof ct, pt), VEIL_OK);
    assert_memory_equal(pt, msg, sizeof msg);

    /* every ciphertext byte and every tag byte */
    for (size_t i = 0; i < sizeof ct; i++) {
        memcpy(bad, ct, sizeof ct);
        bad[i] ^= 0x01;
        memset(pt, 0xaa, sizeof pt);
        assert_int_equal(veil_aead_open(key, nonce, aad, sizeof aad, bad, sizeof bad, pt),
                         VEIL_ERR_AUTH);
        assert_true(all_zero(pt, sizeof pt));
    }

    uint8_t n2[12];
    memcpy(n2, nonce, sizeof n2);
    n2[11] ^= 0x80;
    assert_int_equal(veil_aead_open(key, n2, aad, sizeof aad, ct, sizeof ct, pt), VEIL_ERR_AUTH);

    uint8_t a2[sizeof aad];
    memcpy(a2, aad, sizeof a2);
    a2[0] ^= 0x01;
    assert_int_equal(veil_aead_open(key, nonce, a2, sizeof a2, ct, sizeof ct, pt), VEIL_ERR_AUTH);
    assert_int_equal(veil_aead_open(key, nonce, aad, sizeof aad - 1, ct, sizeof ct, pt),
                     VEIL_ERR_AUTH);
    assert_int_equal(veil_aead_open(key, nonce, NULL, 0, ct, sizeof ct, pt), VEIL_ERR_AUTH);

    uint8_t k2[32];
    memcpy(k2, key, sizeof k2);
    k2[31] ^= 0x01;
    assert_int_equal(veil_aead_open(k2, nonce, aad, sizeof aad, ct, sizeof ct, pt),
                     VEIL_ERR_AUTH);

    /* dropping the last ciphertext byte shifts the tag */
    memcpy(bad, ct, sizeof msg - 1);
    memcpy(bad + sizeof msg - 1, ct + sizeof msg, 16);
    assert_int_equal(veil_aead_open(key, nonce, aad, sizeof aad, bad, sizeof ct - 1, pt),
                     VEIL_ERR_AUTH);
}

static void test_aead_lengths(void **state)
{
    (void)state;
    const uint8_t key[32] = {1}, nonce[12] = {2};
    uint8_t ct[16 + 1], pt[1];

    for (size_t n = 0; n < 16; n++)
        assert_int_equal(veil_aead_open(key, nonce, NULL, 0, ct, n, pt), VEIL_ERR_TRUNCATED);
    assert_int_equal(veil_aead_open(key, nonce, NULL, 0, NULL, 0, NULL), VEIL_ERR_TRUNCATED);

    /* empty plaintext, no AAD: the tag alone */
    assert_int_equal(veil_aead_seal(key, nonce, NULL, 0, NULL, 0, ct), VEIL_OK);
    assert_int_equal(veil_aead_open(key, nonce, NULL, 0, ct, 16, NULL), VEIL_OK);
    ct[0] ^= 1;
    assert_int_equal(veil_aead_open(key, nonce, NULL, 0, ct, 16, NULL), VEIL_ERR_AUTH);

    /* a handle is not reused, so the same inputs seal identically every time */
    uint8_t a[17], b[17];
    assert_int_equal(veil_aead_seal(key, nonce, "x", 1, "y", 1, a), VEIL_OK);
    assert_int_equal(veil_aead_seal(key, nonce, "x", 1, "y", 1, b), VEIL_OK);
    assert_memory_equal(a, b, sizeof a);

    /* larger message crossing many blocks */
    enum { BIG = 100000 };
    uint8_t *m = malloc(BIG), *c = malloc(BIG + 16), *p = malloc(BIG);
    assert_non_null(m);
    assert_non_null(c);
    assert_non_null(p);
    for (size_t i = 0; i < BIG; i++) m[i] = (uint8_t)(i * 31 + 7);
    assert_int_equal(veil_aead_seal(key, nonce, NULL, 0, m, BIG, c), VEIL_OK);
    assert_int_equal(veil_aead_open(key, nonce, NULL, 0, c, BIG + 16, p), VEIL_OK);
    assert_memory_equal(m, p, BIG);
    free(m);
    free(c);
    free(p);
}

/* ----------------------------------------------------------------------------------
 * BIP-340 Schnorr
 * ---------------------------------------------------------------------------------- */

static void test_schnorr_vectors(void **state)
{
    (void)state;
    vec_file v;
    unsigned rows = 0, signing = 0, false_rows = 0, bad_key = 0;
    bool header = true;
    vec_open(&v, "bip340-test-vectors.csv");
    while (vec_next(&v, ',')) {
        if (header) { /* column names */
            assert_string_equal(v.field[0], "index");
            header = false;
            continue;
        }
        assert_true(v.nfields >= 7);
        const char *idx = v.field[0];
        uint8_t pk[32], sig[64];
        size_t msg_len;
        uint8_t *msg = unhex(v.field[4], &msg_len);
        unhex_exact(sig, sizeof sig, v.field[5]);
        bool expect_ok = strcmp(v.field[6], "TRUE") == 0;
        if (!expect_ok) assert_string_equal(v.field[6], "FALSE");

        /* Invalid public keys in the file are still 32 bytes of hex; they are
         * rejected by veil_schnorr_verify, which counts as verification failure. */
        unhex_exact(pk, sizeof pk, v.field[2]);

        if (v.field[1][0] != '\0') {
            uint8_t sk[32], aux[32], got_pk[32], got_sig[64];
            unhex_exact(sk, sizeof sk, v.field[1]);
            unhex_exact(aux, sizeof aux, v.field[3]);
            assert_int_equal(veil_schnorr_pubkey(got_pk, sk), VEIL_OK);
            if (memcmp(got_pk, pk, 32) != 0) fail_msg("pubkey mismatch, vector %s", idx);
            assert_int_equal(veil_schnorr_sign(got_sig, msg, msg_len, sk, aux), VEIL_OK);
            if (memcmp(got_sig, sig, 64) != 0) fail_msg("signature mismatch, vector %s", idx);
            if (all_zero(aux, sizeof aux)) {
                /* NULL aux_rand means 32 zero bytes */
                assert_int_equal(veil_schnorr_sign(got_sig, msg, msg_len, sk, NULL), VEIL_OK);
                assert_memory_equal(got_sig, sig, 64);
            }
            signing++;
        }

        veil_status st = veil_schnorr_verify(sig, msg, msg_len, pk);
        if (expect_ok) {
            if (st != VEIL_OK) fail_msg("vector %s should verify: %s", idx, veil_status_name(st));
        } else {
            if (st != VEIL_ERR_BAD_SIGNATURE && st != VEIL_ERR_BAD_KEY)
                fail_msg("vector %s should fail: %s", idx, veil_status_name(st));
            false_rows++;
            if (st == VEIL_ERR_BAD_KEY) bad_key++;
        }
        free(msg);
        rows++;
    }
    vec_close(&v);
    /* BIP-340 test-vectors.csv: indices 0-18, of which 0-3 and 15-18 carry a secret key,
     * 5-14 must fail, and two of those (5, 14) have public keys that do not parse. */
    assert_true(rows >= 19);
    assert_int_equal(signing, 8);
    assert_int_equal(false_rows, 10);
    assert_int_equal(bad_key, 2);
}

static void test_schnorr_keys(void **state)
{
    (void)state;
    uint8_t sk[32] = {0}, pk[32], sig[64];
    /* 0 */
    assert_int_equal(veil_schnorr_pubkey(pk, sk), VEIL_ERR_BAD_KEY);
    assert_int_equal(veil_schnorr_sign(sig, "m", 1, sk, NULL), VEIL_ERR_BAD_KEY);
    /* n, n+1 and 2^256-1 */
    unhex_exact(sk, 32, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
    assert_int_equal(veil_schnorr_pubkey(pk, sk), VEIL_ERR_BAD_KEY);
    assert_int_equal(veil_schnorr_sign(sig, "m", 1, sk, NULL), VEIL_ERR_BAD_KEY);
    sk[31] = 0x42;
    assert_int_equal(veil_schnorr_pubkey(pk, sk), VEIL_ERR_BAD_KEY);
    memset(sk, 0xff, sizeof sk);
    assert_int_equal(veil_schnorr_pubkey(pk, sk), VEIL_ERR_BAD_KEY);
    /* n-1 is the largest valid key */
    unhex_exact(sk, 32, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140");
    assert_int_equal(veil_schnorr_pubkey(pk, sk), VEIL_OK);
}

static void test_schnorr_roundtrip(void **state)
{
    (void)state;
    uint8_t sk[32], pk[32], aux[32], sig[64], sig2[64];
    uint8_t msg[300];
    assert_int_equal(veil_random_bytes(sk, sizeof sk), VEIL_OK);
    assert_int_equal(veil_random_bytes(aux, sizeof aux), VEIL_OK);
    assert_int_equal(veil_random_bytes(msg, sizeof msg), VEIL_OK);
    assert_int_equal(veil_schnorr_pubkey(pk, sk), VEIL_OK);

    assert_int_equal(veil_schnorr_sign(sig, msg, sizeof msg, sk, aux), VEIL_OK);
    assert_int_equal(veil_schnorr_verify(sig, msg, sizeof msg, pk), VEIL_OK);
    /* aux_rand changes the nonce, not validity */
    aux[0] ^= 1;
    assert_int_equal(veil_schnorr_sign(sig2, msg, sizeof msg, sk, aux), VEIL_OK);
    assert_memory_not_equal(sig, sig2, 64);
    assert_int_equal(veil_schnorr_verify(sig2, msg, sizeof msg, pk), VEIL_OK);

    assert_int_equal(veil_schnorr_verify(sig, msg, sizeof msg - 1, pk), VEIL_ERR_BAD_SIGNATURE);
    msg[100] ^= 1;
    assert_int_equal(veil_schnorr_verify(sig, msg, sizeof msg, pk), VEIL_ERR_BAD_SIGNATURE);
    msg[100] ^= 1;
    sig[63] ^= 1;
    assert_int_equal(veil_schnorr_verify(sig, msg, sizeof msg, pk), VEIL_ERR_BAD_SIGNATURE);
    sig[63] ^= 1;

    /* empty message */
    assert_int_equal(veil_schnorr_sign(sig, NULL, 0, sk, NULL), VEIL_OK);
    assert_int_equal(veil_schnorr_verify(sig, NULL, 0, pk), VEIL_OK);
    assert_int_equal(veil_schnorr_verify(sig, "", 1, pk), VEIL_ERR_BAD_SIGNATURE);
}

/* ----------------------------------------------------------------------------------
 * ECDSA P-256
 * ---------------------------------------------------------------------------------- */

static const char p256_n_hex[] =
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

static void test_p256_sign_verify(void **state)
{
    (void)state;
    EVP_PKEY *key = NULL;
    uint8_t sig[64], bad[64];
    const char *msg = "attestation evidence";
    size_t len = strlen(msg);

    assert_int_equal(veil_p256_keygen(&key), VEIL_OK);
    assert_int_equal(veil_p256_sign(key, msg, len, sig), VEIL_OK);
    assert_int_equal(veil_p256_verify(key, msg, len, sig), VEIL_OK);

    /* altered message */
    assert_int_equal(veil_p256_verify(key, "attestation evidencf", len, sig),
                     VEIL_ERR_BAD_SIGNATURE);
    assert_int_equal(veil_p256_verify(key, msg, len - 1, sig), VEIL_ERR_BAD_SIGNATURE);

    /* altered signature, r half and s half */
    memcpy(bad, sig, 64);
    bad[5] ^= 0x10;
    assert_int_equal(veil_p256_verify(key, msg, len, bad), VEIL_ERR_BAD_SIGNATURE);
    memcpy(bad, sig, 64);
    bad[40] ^= 0x10;
    assert_int_equal(veil_p256_verify(key, msg, len, bad), VEIL_ERR_BAD_SIGNATURE);

    /* out-of-range scalars */
    uint8_t n[32];
    unhex_exact(n, 32, p256_n_hex);
    memcpy(bad, sig, 64);
    memset(bad, 0, 32); /* r = 0 */
    assert_int_equal(veil_p256_verify(key, msg, len, bad), VEIL_ERR_BAD_SIGNATURE);
    memcpy(bad, sig, 64);
    memset(bad + 32, 0, 32); /* s = 0 */
    assert_int_equal(veil_p256_verify(key, msg, len, bad), VEIL_ERR_BAD_SIGNATURE);
    memcpy(bad, sig, 64);
    memcpy(bad + 32, n, 32); /* s = n */
    assert_int_equal(veil_p256_verify(key, msg, len, bad), VEIL_ERR_BAD_SIGNATURE);
    memcpy(bad, sig, 64);
    memcpy(bad, n, 32); /* r = n */
    assert_int_equal(veil_p256_verify(key, msg, len, bad), VEIL_ERR_BAD_SIGNATURE);
    memset(bad, 0xff, 64); /* both >= n */
    assert_int_equal(veil_p256_verify(key, msg, len, bad), VEIL_ERR_BAD_SIGNATURE);

    /* empty message */
    assert_int_equal(veil_p256_sign(key, NULL, 0, sig), VEIL_OK);
    assert_int_equal(veil_p256_verify(key, NULL, 0, sig), VEIL_OK);
    assert_int_equal(veil_p256_verify(key, msg, len, sig), VEIL_ERR_BAD_SIGNATURE);

    /* another key's signature */
    EVP_PKEY *other = NULL;
    assert_int_equal(veil_p256_keygen(&other), VEIL_OK);
    assert_int_equal(veil_p256_sign(other, msg, len, sig), VEIL_OK);
    assert_int_equal(veil_p256_verify(key, msg, len, sig), VEIL_ERR_BAD_SIGNATURE);

    EVP_PKEY_free(other);
    EVP_PKEY_free(key);
}

static void test_p256_pubkey(void **state)
{
    (void)state;
    EVP_PKEY *key = NULL, *pub = NULL;
    uint8_t raw[65], raw2[65], sig[64];

    assert_int_equal(veil_p256_keygen(&key), VEIL_OK);
    assert_int_equal(veil_p256_pubkey_export(key, raw), VEIL_OK);
    assert_int_equal(raw[0], 0x04);
    assert_int_equal(veil_p256_pubkey_import(raw, &pub), VEIL_OK);
    assert_int_equal(veil_p256_pubkey_export(pub, raw2), VEIL_OK);
    assert_memory_equal(raw, raw2, 65);

    /* the imported public key verifies what the private key signed */
    assert_int_equal(veil_p256_sign(key, "q", 1, sig), VEIL_OK);
    assert_int_equal(veil_p256_verify(pub, "q", 1, sig), VEIL_OK);
    EVP_PKEY_free(pub);

    /* off the curve: y + 1 */
    memcpy(raw2, raw, 65);
    raw2[64] ^= 0x01;
    pub = NULL;
    assert_int_equal(veil_p256_pubkey_import(raw2, &pub), VEIL_ERR_BAD_KEY);
    assert_null(pub);
    /* not an uncompressed encoding */
    memcpy(raw2, raw, 65);
    raw2[0] = 0x02;
    assert_int_equal(veil_p256_pubkey_import(raw2, &pub), VEIL_ERR_BAD_KEY);
    /* (0, 0) and coordinates >= p */
    memset(raw2, 0, 65);
    raw2[0] = 0x04;
    assert_int_equal(veil_p256_pubkey_import(raw2, &pub), VEIL_ERR_BAD_KEY);
    memset(raw2 + 1, 0xff, 64);
    assert_int_equal(veil_p256_pubkey_import(raw2, &pub), VEIL_ERR_BAD_KEY);

    /* a key on another curve is refused rather than used */
    EVP_PKEY *k384 = EVP_EC_gen("P-384");
    assert_non_null(k384);
    assert_int_equal(veil_p256_pubkey_export(k384, raw2), VEIL_ERR_BAD_KEY);
    assert_int_equal(veil_p256_sign(k384, "q", 1, sig), VEIL_ERR_BAD_KEY);
    EVP_PKEY_free(k384);

    EVP_PKEY_free(key);
}

/* ----------------------------------------------------------------------------------
 * Secrets, randomness
 * ---------------------------------------------------------------------------------- */

static void test_ct_equal(void **state)
{
    (void)state;
    uint8_t a[33], b[33];
    for (size_t i = 0; i < sizeof a; i++) a[i] = b[i] = (uint8_t)i;
    assert_true(veil_ct_equal(a, b, sizeof a));
    assert_true(veil_ct_equal(a, b, 0));
    b[0] ^= 0x80;
    assert_false(veil_ct_equal(a, b, sizeof a));
    assert_true(veil_ct_equal(a + 1, b + 1, sizeof a - 1));
    b[0] = a[0];
    b[32] ^= 0x01;
    assert_false(veil_ct_equal(a, b, sizeof a));
    assert_true(veil_ct_equal(a, b, sizeof a - 1));

    veil_wipe(a, sizeof a);
    assert_true(all_zero(a, sizeof a));
    veil_wipe(NULL, 0);
}

static void test_random(void **state)
{
    (void)state;
    uint8_t a[64], b[64];
    assert_int_equal(veil_random_bytes(a, sizeof a), VEIL_OK);
    assert_int_equal(veil_random_bytes(b, sizeof b), VEIL_OK);
    assert_memory_not_equal(a, b, sizeof a);
    assert_false(all_zero(a, sizeof a));
    assert_int_equal(veil_random_bytes(NULL, 0), VEIL_OK);
}

/* One-shot and tagged SHA-256 run on libgcrypt (the CPU's SHA instructions) once the
 * libraries are initialised: every length up to a few blocks must give what libsodium's
 * portable SHA-256, the reference here, gives over the same bytes. */
static void test_sha256_backends_agree(void **state)
{
    (void)state;
    assert_int_equal(veil_crypto_init(), VEIL_OK);
    uint8_t in[300], a[32], b[32], tagged[1 + 20 + sizeof in];
    for (size_t i = 0; i < sizeof in; i++) in[i] = (uint8_t)(i * 7 + 3);
    static const char tag[] = "veil/test-tag/v1";
    for (size_t n = 0; n <= sizeof in; n++) {
        veil_sha256(a, in, n);
        crypto_hash_sha256(b, in, n);
        assert_memory_equal(a, b, 32);
        veil_sha256_tagged(a, tag, in, n);
        tagged[0] = (uint8_t)(sizeof tag - 1);
        memcpy(tagged + 1, tag, sizeof tag - 1);
        memcpy(tagged + sizeof tag, in, n);
        crypto_hash_sha256(b, tagged, sizeof tag + n);
        assert_memory_equal(a, b, 32);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_first_use),
        cmocka_unit_test(test_init_idempotent),
        cmocka_unit_test(test_sha256_fips),
        cmocka_unit_test(test_sha256_backends_agree),
        cmocka_unit_test(test_sha256_tagged),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_hkdf_vectors),
        cmocka_unit_test(test_hkdf_limits),
        cmocka_unit_test(test_aead_vectors),
        cmocka_unit_test(test_aead_tamper),
        cmocka_unit_test(test_aead_lengths),
        cmocka_unit_test(test_schnorr_vectors),
        cmocka_unit_test(test_schnorr_keys),
        cmocka_unit_test(test_schnorr_roundtrip),
        cmocka_unit_test(test_p256_sign_verify),
        cmocka_unit_test(test_p256_pubkey),
        cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
