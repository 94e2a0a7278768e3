/* The TEE seam with a second, minimal backend: the trusted side of tee.h implemented
 * here with what any TEE offers (randomness, a derived key, its own identity, a heap)
 * and nothing else: no local or remote attestation, no ocalls. Portable code that runs
 * inside enclaves (the sealing format, the attested-TLS identity, the TVE<->TQE
 * channel) must work on it where it needs only those, and answer
 * VEIL_ERR_TEE_UNSUPPORTED, not crash or mislabel, where it needs more: what a port to a
 * TEE without (say) remote attestation would see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "tee/tee.h"
#include "trusted/ratls/ratls_server.h"
#include "trusted/tve/tve_channel.h"

/* --- the minimal backend ------------------------------------------------------------ */
static const uint8_t g_root[32] = "minimal backend test root key..";
static unsigned g_unsupported_calls;

veil_status tee_random(void *buf, size_t n)
{
    randombytes_buf(buf, n);
    return VEIL_OK;
}

void tee_self_identity(tee_identity *out)
{
    memset(out, 0, sizeof *out);
    memset(out->mrenclave, 0x4d, sizeof out->mrenclave);
    memset(out->mrsigner, 0x53, sizeof out->mrsigner);
    out->prodid = 9;
    out->svn = 2;
}

void tee_self_target_info(tee_target_info *out)
{
    tee_identity id;
    tee_self_identity(&id);
    memcpy(out->mrenclave, id.mrenclave, TEE_MEASUREMENT_LEN);
    out->attributes = id.attributes;
}

veil_status tee_derive_key(tee_key_name name, tee_key_policy policy, uint16_t svn,
                           const uint8_t key_id[static TEE_KEY_ID_LEN],
                           uint8_t key[static TEE_KEY_LEN])
{
    tee_identity id;
    tee_self_identity(&id);
    ENSURE(svn <= id.svn, VEIL_ERR_TEE_SVN);
    uint8_t info[3 + 2 + TEE_KEY_ID_LEN];
    info[0] = (uint8_t)name, info[1] = (uint8_t)policy, info[2] = 0;
    info[3] = (uint8_t)(svn >> 8), info[4] = (uint8_t)svn;
    memcpy(info + 5, key_id, TEE_KEY_ID_LEN);
    return veil_hkdf_sha256(key, TEE_KEY_LEN, NULL, 0, g_root, sizeof g_root, info, sizeof info);
}

veil_status tee_report_create(const tee_target_info *target,
                              const uint8_t report_data[static TEE_REPORT_DATA_LEN],
                              tee_report *out)
{
    (void)target, (void)report_data, (void)out;
    g_unsupported_calls++;
    return VEIL_ERR_TEE_UNSUPPORTED;
}

veil_status tee_report_verify(const tee_report *r)
{
    (void)r;
    g_unsupported_calls++;
    return VEIL_ERR_TEE_UNSUPPORTED;
}

veil_status tee_quote_create(const uint8_t report_data[static TEE_REPORT_DATA_LEN], uint8_t *out,
                             size_t out_cap, size_t *out_len)
{
    (void)report_data, (void)out, (void)out_cap, (void)out_len;
    g_unsupported_calls++;
    return VEIL_ERR_TEE_UNSUPPORTED;
}

veil_status tee_attestation_report(const uint8_t *quote, size_t quote_len, uint8_t *out,
                                   size_t out_cap, size_t *out_len)
{
    (void)quote, (void)quote_len, (void)out, (void)out_cap, (void)out_len;
    g_unsupported_calls++;
    return VEIL_ERR_TEE_UNSUPPORTED;
}

void *tee_alloc(size_t n) { return malloc(n ? n : 1); }
void *tee_calloc(size_t count, size_t size) { return calloc(count ? count : 1, size ? size : 1); }
void tee_free(void *p) { free(p); }

veil_status tee_ocall(uint32_t index, const uint8_t *in, size_t in_len, uint8_t *out,
                      size_t out_cap, size_t *out_len)
{
    (void)index, (void)in, (void)in_len, (void)out, (void)out_cap, (void)out_len;
    g_unsupported_calls++;
    return VEIL_ERR_TEE_UNSUPPORTED;
}

/* --- tests -------------------------------------------------------------------------- */

/* The sealing format is the layer's, not the backend's: it works on this one. */
static void test_sealing_runs_on_any_backend(void **state)
{
    (void)state;
    static const uint8_t pt[] = "a sealed secret", aad[] = "context";
    uint8_t blob[sizeof pt + TEE_SEAL_OVERHEAD_MAX], back[sizeof pt];
    size_t n = 0, m = 0;
    assert_int_equal(tee_seal(TEE_POLICY_MRSIGNER, aad, sizeof aad, pt, sizeof pt, blob, sizeof blob,
                              &n),
                     VEIL_OK);
    assert_int_equal(n, tee_sealed_size(sizeof pt));
    assert_true(n <= sizeof pt + TEE_SEAL_OVERHEAD_MAX);
    assert_int_equal(tee_unseal(blob, n, aad, sizeof aad, back, sizeof back, &m), VEIL_OK);
    assert_int_equal(m, sizeof pt);
    assert_memory_equal(back, pt, sizeof pt);
    blob[n - 1] ^= 1;
    assert_int_equal(tee_unseal(blob, n, aad, sizeof aad, back, sizeof back, &m),
                     VEIL_ERR_TEE_UNSEAL);
}

/* Without remote attestation an attested-TLS identity cannot exist: the layer's code
 * says so with the backend's code. */
static void test_attested_tls_needs_quotes(void **state)
{
    (void)state;
    unsigned before = g_unsupported_calls;
    ratls_identity *id = NULL;
    assert_int_equal(ratls_identity_create(1800000000u, &id), VEIL_ERR_TEE_UNSUPPORTED);
    assert_null(id);
    assert_true(g_unsupported_calls > before);
}

/* Local attestation, too, is the backend's to offer: asked for, it answers so. */
static void test_reports_unsupported(void **state)
{
    (void)state;
    tee_target_info t;
    tee_self_target_info(&t);
    uint8_t rd[TEE_REPORT_DATA_LEN] = {0};
    tee_report r;
    assert_int_equal(tee_report_create(&t, rd, &r), VEIL_ERR_TEE_UNSUPPORTED);
    /* And the channel's peer check, which needs only the own identity, works. */
    tee_identity self;
    tee_self_identity(&self);
    assert_int_equal(tve_channel_check_peer(&self, self.prodid, self.svn), VEIL_OK);
}

int main(void)
{
    if (veil_crypto_init() != VEIL_OK) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sealing_runs_on_any_backend),
        cmocka_unit_test(test_attested_tls_needs_quotes),
        cmocka_unit_test(test_reports_unsupported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
