/* An enclave image for testing the TEE layer: one ecall per trusted-side call.
 * Built twice (TEST_ENCLAVE_VARIANT) so that two images differ in MRENCLAVE. */
#include <string.h>

#include "common/cursor.h"
#include "tee/tee.h"
#include "test_enclave.h"

#ifndef TEST_ENCLAVE_VARIANT
#define TEST_ENCLAVE_VARIANT 1
#endif
/* Part of the image bytes, so variants measure differently. */
#define TE_STR2(x) #x
#define TE_STR(x) TE_STR2(x)
__attribute__((used)) static const char variant_tag[] = "test enclave variant " TE_STR(
    TEST_ENCLAVE_VARIANT);

static veil_status te_ping(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                           size_t *out_len)
{
    (void)in, (void)in_len, (void)out, (void)out_cap;
    *out_len = 0;
    return VEIL_OK;
}

/* in: policy u8 || aad_len u32 || aad || plaintext */
static veil_status te_seal(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                           size_t *out_len)
{
    veil_reader r = veil_reader_init(in, in_len);
    uint8_t policy;
    uint32_t aad_len;
    const uint8_t *aad;
    TRY(veil_read_u8(&r, &policy));
    TRY(veil_read_u32(&r, &aad_len));
    TRY(veil_read_view(&r, aad_len, &aad));
    return tee_seal((tee_key_policy)policy, aad, aad_len, in + r.pos, veil_reader_left(&r), out,
                    out_cap, out_len);
}

/* in: aad_len u32 || aad || blob */
static veil_status te_unseal(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                             size_t *out_len)
{
    veil_reader r = veil_reader_init(in, in_len);
    uint32_t aad_len;
    const uint8_t *aad;
    TRY(veil_read_u32(&r, &aad_len));
    TRY(veil_read_view(&r, aad_len, &aad));
    return tee_unseal(in + r.pos, veil_reader_left(&r), aad, aad_len, out, out_cap, out_len);
}

/* in: target mrenclave (32) || target attributes u64 || report_data (64) */
static veil_status te_report(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                             size_t *out_len)
{
    ENSURE(in_len == 32 + 8 + TEE_REPORT_DATA_LEN, VEIL_ERR_MALFORMED);
    ENSURE(out_cap >= TEE_REPORT_WIRE_LEN, VEIL_ERR_BUFFER_TOO_SMALL);
    tee_target_info t;
    tee_report rep;
    memcpy(t.mrenclave, in, 32);
    t.attributes = veil_get_u64(in + 32);
    TRY(tee_report_create(&t, in + 40, &rep));
    tee_report_serialize(&rep, out);
    *out_len = TEE_REPORT_WIRE_LEN;
    return VEIL_OK;
}

static veil_status te_verify_report(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                                    size_t *out_len)
{
    tee_report rep;
    TRY(tee_report_parse(in, in_len, &rep));
    TRY(tee_report_verify(&rep));
    ENSURE(out_cap >= TEE_IDENTITY_WIRE_LEN, VEIL_ERR_BUFFER_TOO_SMALL);
    tee_identity_serialize(&rep.body.identity, out);
    *out_len = TEE_IDENTITY_WIRE_LEN;
    return VEIL_OK;
}

static veil_status te_quote(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                            size_t *out_len)
{
    ENSURE(in_len == TEE_REPORT_DATA_LEN, VEIL_ERR_MALFORMED);
    return tee_quote_create(in, out, out_cap, out_len);
}

/* in: name u8 || policy u8 || svn u16 || key_id (32). Returns the key: test only. */
static veil_status te_derive(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                             size_t *out_len)
{
    ENSURE(in_len == 4 + TEE_KEY_ID_LEN && out_cap >= TEE_KEY_LEN, VEIL_ERR_MALFORMED);
    TRY(tee_derive_key((tee_key_name)in[0], (tee_key_policy)in[1], veil_get_u16(in + 2), in + 4,
                       out));
    *out_len = TEE_KEY_LEN;
    return VEIL_OK;
}

static veil_status te_identity(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                               size_t *out_len)
{
    (void)in, (void)in_len;
    ENSURE(out_cap >= TEE_IDENTITY_WIRE_LEN, VEIL_ERR_BUFFER_TOO_SMALL);
    tee_identity id;
    tee_self_identity(&id);
    tee_identity_serialize(&id, out);
    *out_len = TEE_IDENTITY_WIRE_LEN;
    return VEIL_OK;
}

/* in: u64 n. Allocates n bytes and frees them: VEIL_ERR_TEE_OUT_OF_MEMORY past the budget. */
static veil_status te_alloc(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                            size_t *out_len)
{
    (void)out, (void)out_cap;
    ENSURE(in_len == 8, VEIL_ERR_MALFORMED);
    void *p = tee_alloc((size_t)veil_get_u64(in));
    ENSURE(p != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    tee_free(p);
    *out_len = 0;
    return VEIL_OK;
}

/* Forwards its input to ocall 0 and returns what the host answered. */
static veil_status te_ocall_echo(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                                 size_t *out_len)
{
    return tee_ocall(0, in, in_len, out, out_cap, out_len);
}

/* in: u8 increment (0, 1) || counter id (32); out: the counter's value (u64 BE). */
static veil_status te_counter(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                              size_t *out_len)
{
    ENSURE(in_len == 1 + TEE_COUNTER_ID_LEN && in[0] <= 1 && out_cap >= 8, VEIL_ERR_MALFORMED);
    uint64_t v = 0;
    TRY(in[0] ? tee_counter_increment(in + 1, &v) : tee_counter_read(in + 1, &v));
    veil_put_u64(out, v);
    *out_len = 8;
    return VEIL_OK;
}

TEE_ENCLAVE_DEFINE(NULL, te_ping, te_seal, te_unseal, te_report, te_verify_report, te_quote,
                   te_derive, te_identity, te_alloc, te_ocall_echo, te_counter);
