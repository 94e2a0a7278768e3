/* The TQE<->TVE hand-off and channel (tve_channel.h). */
#include "trusted/tve/tve_channel.h"

#include <string.h>

#include <sodium.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "trusted/tve/tve_abi.h"

veil_status tve_channel_check_peer(const tee_identity *peer, uint16_t prodid, uint16_t min_svn)
{
    tee_identity self;
    tee_self_identity(&self);
    tee_identity_policy p = {NULL, self.mrsigner, true, prodid, true, min_svn};
    tee_identity_verdict v = tee_identity_check(&p, peer);
    ENSURE(v != TEE_IDENTITY_MRSIGNER, VEIL_ERR_HANDOFF_SIGNER);
    ENSURE(v != TEE_IDENTITY_PRODID, VEIL_ERR_HANDOFF_PRODID);
    ENSURE(v != TEE_IDENTITY_SVN, VEIL_ERR_HANDOFF_SVN);
    ENSURE((peer->attributes & TEE_ATTR_DEBUG) == (self.attributes & TEE_ATTR_DEBUG),
           VEIL_ERR_HANDOFF_DEBUG);
    return VEIL_OK;
}

void tve_channel_bind(const char *tag, const uint8_t *a, size_t a_len, const uint8_t *b,
                      size_t b_len, uint8_t rd[static TEE_REPORT_DATA_LEN])
{
    uint8_t buf[TVE_HANDOFF_BOX_LEN + TVE_HANDOFF_PUB_LEN];
    memset(rd, 0, TEE_REPORT_DATA_LEN);
    if (a_len + b_len > sizeof buf) return; /* callers bind fixed, small inputs */
    memcpy(buf, a, a_len);
    if (b_len) memcpy(buf + a_len, b, b_len);
    veil_sha256_tagged(rd, tag, buf, a_len + b_len);
}

static veil_status box_key(const uint8_t shared[32], const uint8_t epk[32], const uint8_t pub[32],
                           uint8_t k[32])
{
    static const char salt[] = "veil/handoff-box/v1";
    uint8_t info[64];
    memcpy(info, epk, 32);
    memcpy(info + 32, pub, 32);
    return veil_hkdf_sha256(k, 32, salt, sizeof salt - 1, shared, 32, info, sizeof info);
}

veil_status tve_channel_box(const uint8_t key[static TVE_CHANNEL_KEY_LEN],
                            const uint8_t peer_pub[static TVE_HANDOFF_PUB_LEN],
                            uint8_t box[static TVE_HANDOFF_BOX_LEN])
{
    uint8_t esk[32], shared[32], k[32];
    veil_status st;
    TRY(tee_random(esk, sizeof esk));
    ENSURE_OUT(crypto_scalarmult_base(box, esk) == 0 &&
                   crypto_scalarmult(shared, esk, peer_pub) == 0,
               VEIL_ERR_BAD_KEY);
    TRY_OUT(box_key(shared, box, peer_pub, k));
    TRY_OUT(tee_random(box + 32, 12));
    st = veil_aead_seal(k, box + 32, NULL, 0, key, TVE_CHANNEL_KEY_LEN, box + 44);
out:
    veil_wipe(esk, sizeof esk);
    veil_wipe(shared, sizeof shared);
    veil_wipe(k, sizeof k);
    return st;
}

veil_status tve_channel_unbox(const uint8_t box[static TVE_HANDOFF_BOX_LEN],
                              const uint8_t sk[static 32],
                              const uint8_t pub[static TVE_HANDOFF_PUB_LEN],
                              uint8_t key[static TVE_CHANNEL_KEY_LEN])
{
    uint8_t shared[32], k[32];
    veil_status st;
    ENSURE_OUT(crypto_scalarmult(shared, sk, box) == 0, VEIL_ERR_HANDOFF_CHANNEL);
    TRY_OUT(box_key(shared, box, pub, k));
    st = veil_aead_open(k, box + 32, NULL, 0, box + 44, TVE_CHANNEL_KEY_LEN + 16, key);
    if (st != VEIL_OK) st = VEIL_ERR_HANDOFF_CHANNEL;
out:
    veil_wipe(shared, sizeof shared);
    veil_wipe(k, sizeof k);
    return st;
}

/* aad = label || bind (bind at most 64 bytes). */
static size_t channel_aad(const char *label, const uint8_t *bind, size_t bind_len,
                          uint8_t aad[static 128])
{
    size_t l = strlen(label);
    if (l > 63 || bind_len > 64) return 0;
    memcpy(aad, label, l);
    if (bind_len) memcpy(aad + l, bind, bind_len);
    return l + bind_len;
}

veil_status tve_channel_seal(const uint8_t key[static TVE_CHANNEL_KEY_LEN], const char *label,
                             const uint8_t *bind, size_t bind_len, const uint8_t *pt,
                             size_t pt_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    uint8_t aad[128];
    size_t aad_len = channel_aad(label, bind, bind_len, aad);
    ENSURE(aad_len > 0, VEIL_ERR_ARG);
    ENSURE(out_cap >= pt_len + TVE_CHANNEL_OVERHEAD, VEIL_ERR_BUFFER_TOO_SMALL);
    TRY(tee_random(out, 12));
    TRY(veil_aead_seal(key, out, aad, aad_len, pt, pt_len, out + 12));
    *out_len = pt_len + TVE_CHANNEL_OVERHEAD;
    return VEIL_OK;
}

veil_status tve_channel_open(const uint8_t key[static TVE_CHANNEL_KEY_LEN], const char *label,
                             const uint8_t *bind, size_t bind_len, const uint8_t *in,
                             size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    uint8_t aad[128];
    size_t aad_len = channel_aad(label, bind, bind_len, aad);
    ENSURE(aad_len > 0, VEIL_ERR_ARG);
    ENSURE(in_len >= TVE_CHANNEL_OVERHEAD, VEIL_ERR_HANDOFF_CHANNEL);
    ENSURE(out_cap >= in_len - TVE_CHANNEL_OVERHEAD, VEIL_ERR_BUFFER_TOO_SMALL);
    ENSURE(veil_aead_open(key, in, aad, aad_len, in + 12, in_len - 12, out) == VEIL_OK,
           VEIL_ERR_HANDOFF_CHANNEL);
    *out_len = in_len - TVE_CHANNEL_OVERHEAD;
    return VEIL_OK;
}

void tve_key_commitment(uint64_t epoch, const uint8_t key[static TVE_EPOCH_KEY_LEN],
                        uint8_t out[static 32])
{
    uint8_t buf[8 + TVE_EPOCH_KEY_LEN];
    veil_put_u64(buf, epoch);
    memcpy(buf + 8, key, TVE_EPOCH_KEY_LEN);
    veil_sha256_tagged(out, TVE_KEY_COMMITMENT_TAG, buf, sizeof buf);
    veil_wipe(buf, sizeof buf);
}

/* --- the asking side of the hand-off ------------------------------------------------ */
static void client_lock(tve_handoff_client *c)
{
    while (atomic_flag_test_and_set_explicit(&c->lock, memory_order_acquire)) {
    }
}
static void client_unlock(tve_handoff_client *c)
{
    atomic_flag_clear_explicit(&c->lock, memory_order_release);
}

veil_status tve_handoff_client_begin(tve_handoff_client *c, const uint8_t *in, size_t in_len,
                                     uint8_t *out, size_t out_cap, size_t *out_len)
{
    ENSURE(in_len == TEE_MEASUREMENT_LEN + 8, VEIL_ERR_MALFORMED);
    ENSURE(out_cap >= TEE_REPORT_WIRE_LEN + TVE_HANDOFF_PUB_LEN, VEIL_ERR_BUFFER_TOO_SMALL);
    tee_target_info target;
    memcpy(target.mrenclave, in, TEE_MEASUREMENT_LEN);
    target.attributes = veil_get_u64(in + TEE_MEASUREMENT_LEN);
    uint8_t sk[32], pub[TVE_HANDOFF_PUB_LEN], rd[TEE_REPORT_DATA_LEN];
    TRY(tee_random(sk, sizeof sk));
    ENSURE(crypto_scalarmult_base(pub, sk) == 0, VEIL_ERR_CRYPTO);
    tve_channel_bind(TVE_HANDOFF_TQE_TAG, pub, sizeof pub, NULL, 0, rd);
    tee_report rep;
    veil_status st = tee_report_create(&target, rd, &rep);
    if (st == VEIL_OK) {
        client_lock(c);
        memcpy(c->sk, sk, sizeof sk);
        memcpy(c->pub, pub, sizeof pub);
        client_unlock(c);
        tee_report_serialize(&rep, out);
        memcpy(out + TEE_REPORT_WIRE_LEN, pub, sizeof pub);
        *out_len = TEE_REPORT_WIRE_LEN + TVE_HANDOFF_PUB_LEN;
    }
    veil_wipe(sk, sizeof sk);
    return st;
}

veil_status tve_handoff_client_end(tve_handoff_client *c, const uint8_t *in, size_t in_len)
{
    ENSURE(in_len == TVE_HANDOFF_BOX_LEN + TEE_REPORT_WIRE_LEN, VEIL_ERR_MALFORMED);
    tee_report peer;
    uint8_t rd[TEE_REPORT_DATA_LEN], sk[32], pub[TVE_HANDOFF_PUB_LEN], k[TVE_CHANNEL_KEY_LEN];
    TRY(tee_report_parse(in + TVE_HANDOFF_BOX_LEN, TEE_REPORT_WIRE_LEN, &peer));
    TRY(tee_report_verify(&peer));
    TRY(tve_channel_check_peer(&peer.body.identity, TVE_PRODID, TVE_SVN));
    client_lock(c);
    memcpy(sk, c->sk, sizeof sk);
    memcpy(pub, c->pub, sizeof pub);
    client_unlock(c);
    tve_channel_bind(TVE_HANDOFF_TVE_TAG, in, TVE_HANDOFF_BOX_LEN, pub, sizeof pub, rd);
    veil_status st = veil_ct_equal(rd, peer.body.report_data, sizeof rd)
                         ? tve_channel_unbox(in, sk, pub, k)
                         : VEIL_ERR_HANDOFF_BINDING;
    if (st == VEIL_OK) {
        client_lock(c);
        memcpy(c->key, k, sizeof k);
        c->have_key = true;
        client_unlock(c);
    }
    veil_wipe(sk, sizeof sk);
    veil_wipe(k, sizeof k);
    return st;
}

veil_status tve_handoff_client_key(tve_handoff_client *c, uint8_t k[static TVE_CHANNEL_KEY_LEN])
{
    client_lock(c);
    bool have = c->have_key;
    if (have) memcpy(k, c->key, TVE_CHANNEL_KEY_LEN);
    client_unlock(c);
    return have ? VEIL_OK : VEIL_ERR_HANDOFF_NONE;
}
