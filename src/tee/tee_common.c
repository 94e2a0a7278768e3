/* Fixed encodings of TEE structures shared by hosts and enclaves. */
#include <string.h>

#include "common/cursor.h"
#include "tee/tee.h"

static bool measurement_equal(const uint8_t *a, const uint8_t *b)
{
    uint8_t d = 0;
    for (size_t i = 0; i < TEE_MEASUREMENT_LEN; i++) d |= (uint8_t)(a[i] ^ b[i]);
    return d == 0;
}

tee_identity_verdict tee_identity_check(const tee_identity_policy *p, const tee_identity *id)
{
    if (p->mrsigner != NULL && !measurement_equal(p->mrsigner, id->mrsigner))
        return TEE_IDENTITY_MRSIGNER;
    if (p->mrenclave != NULL && !measurement_equal(p->mrenclave, id->mrenclave))
        return TEE_IDENTITY_MRENCLAVE;
    if (p->has_prodid && id->prodid != p->prodid) return TEE_IDENTITY_PRODID;
    if (p->has_min_svn && id->svn < p->min_svn) return TEE_IDENTITY_SVN;
    return TEE_IDENTITY_OK;
}

void tee_identity_serialize(const tee_identity *id, uint8_t out[static TEE_IDENTITY_WIRE_LEN])
{
    memcpy(out, id->mrenclave, TEE_MEASUREMENT_LEN);
    memcpy(out + 32, id->mrsigner, TEE_MEASUREMENT_LEN);
    veil_put_u16(out + 64, id->prodid);
    veil_put_u16(out + 66, id->svn);
    veil_put_u64(out + 68, id->attributes);
}

veil_status tee_identity_parse(const uint8_t *in, size_t len, tee_identity *out)
{
    ENSURE(len == TEE_IDENTITY_WIRE_LEN, len < TEE_IDENTITY_WIRE_LEN ? VEIL_ERR_TRUNCATED
                                                                     : VEIL_ERR_TRAILING);
    memcpy(out->mrenclave, in, TEE_MEASUREMENT_LEN);
    memcpy(out->mrsigner, in + 32, TEE_MEASUREMENT_LEN);
    out->prodid = veil_get_u16(in + 64);
    out->svn = veil_get_u16(in + 66);
    out->attributes = veil_get_u64(in + 68);
    return VEIL_OK;
}

/* Report wire layout: identity (76) || report_data (64) || key_id (32) || reserved (44,
 * zero) || mac (32) = 248 bytes. The MAC covers bytes [0, 216). */
void tee_report_serialize(const tee_report *r, uint8_t out[static TEE_REPORT_WIRE_LEN])
{
    memset(out, 0, TEE_REPORT_WIRE_LEN);
    tee_identity_serialize(&r->body.identity, out);
    memcpy(out + 76, r->body.report_data, TEE_REPORT_DATA_LEN);
    memcpy(out + 140, r->key_id, TEE_KEY_ID_LEN);
    memcpy(out + 216, r->mac, TEE_REPORT_MAC_LEN);
}

veil_status tee_report_parse(const uint8_t *in, size_t len, tee_report *out)
{
    ENSURE(len >= TEE_REPORT_WIRE_LEN, VEIL_ERR_TRUNCATED);
    ENSURE(len == TEE_REPORT_WIRE_LEN, VEIL_ERR_TRAILING);
    for (size_t i = 172; i < 216; i++) ENSURE(in[i] == 0, VEIL_ERR_MALFORMED);
    TRY(tee_identity_parse(in, TEE_IDENTITY_WIRE_LEN, &out->body.identity));
    memcpy(out->body.report_data, in + 76, TEE_REPORT_DATA_LEN);
    memcpy(out->key_id, in + 140, TEE_KEY_ID_LEN);
    memcpy(out->mac, in + 216, TEE_REPORT_MAC_LEN);
    return VEIL_OK;
}
