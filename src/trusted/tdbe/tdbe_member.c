/* Membership of a peer TDBE (tdbe_member.h). */
#include "trusted/tdbe/tdbe_member.h"

#include <string.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "trusted/state/smt_verify.h"
#include "veil/node.pb-c.h"

#define HEAD 13u /* height (8) || present (1) || record length (4) */

veil_status tdbe_member_height(const uint8_t *proof, size_t proof_len, int64_t *height)
{
    ENSURE(proof_len >= HEAD && veil_get_u64(proof) <= INT64_MAX, VEIL_ERR_TDBE_MEMBERSHIP_PROOF);
    *height = (int64_t)veil_get_u64(proof);
    return VEIL_OK;
}

veil_status tdbe_member_proof_encode(int64_t height, const uint8_t *record, size_t record_len,
                                     const uint8_t *smt_proof, size_t smt_len, uint8_t *out,
                                     size_t cap, size_t *out_len)
{
    if (record == NULL) record_len = 0;
    ENSURE(record_len <= TDBE_MEMBER_RECORD_MAX && smt_len <= VEIL_SMT_PROOF_MAX_LEN,
           VEIL_ERR_TOO_LARGE);
    ENSURE(height >= 0, VEIL_ERR_ARG);
    size_t n = HEAD + record_len + smt_len;
    ENSURE(n <= cap, VEIL_ERR_BUFFER_TOO_SMALL);
    veil_put_u64(out, (uint64_t)height);
    out[8] = record != NULL;
    veil_put_u32(out + 9, (uint32_t)record_len);
    if (record_len > 0) memcpy(out + HEAD, record, record_len);
    if (smt_len > 0) memcpy(out + HEAD + record_len, smt_proof, smt_len);
    *out_len = n;
    return VEIL_OK;
}

/* The record an answer proves at (ns, id) under app_hash: *record NULL when the proof
 * shows it absent. */
veil_status tdbe_proven_record(const uint8_t *proof, size_t proof_len,
                               const uint8_t app_hash[static 32], uint8_t ns, const uint8_t *id,
                               size_t id_len, const uint8_t **record, size_t *record_len)
{
    ENSURE(proof_len >= HEAD && proof_len <= TDBE_MEMBER_PROOF_MAX,
           VEIL_ERR_TDBE_MEMBERSHIP_PROOF);
    uint8_t present = proof[8];
    uint32_t n = veil_get_u32(proof + 9);
    ENSURE(present <= 1 && n <= TDBE_MEMBER_RECORD_MAX && n <= proof_len - HEAD &&
               (present || n == 0),
           VEIL_ERR_TDBE_MEMBERSHIP_PROOF);
    const uint8_t *rec = proof + HEAD;
    veil_smt_proof p; /* about 8 KiB */
    veil_status st = veil_smt_proof_decode(rec + n, proof_len - HEAD - n, &p);
    if (st == VEIL_OK)
        st = veil_smt_verify_record(app_hash, ns, id, id_len, present ? rec : NULL, n, &p);
    ENSURE(st == VEIL_OK, VEIL_ERR_TDBE_MEMBERSHIP_PROOF);
    *record = present ? rec : NULL;
    *record_len = n;
    return VEIL_OK;
}

veil_status tdbe_member_check(ProtobufCAllocator *a, const uint8_t *proof, size_t proof_len,
                              const uint8_t app_hash[static 32], const uint8_t account[static 32],
                              const uint8_t peer_spki_hash[static 32], uint64_t now)
{
    const uint8_t *record;
    size_t record_len;
    TRY(tdbe_proven_record(proof, proof_len, app_hash, VEIL_SMT_NS_ACCOUNT, account, 32, &record,
                      &record_len));
    ENSURE(record != NULL, VEIL_ERR_TDBE_NOT_MEMBER); /* proven absent */
    Veil__Node__Account *acc = veil__node__account__unpack(a, record_len, record);
    ENSURE(acc != NULL, VEIL_ERR_TDBE_MEMBERSHIP_PROOF);
    veil_status st = VEIL_OK;
    if (acc->address.len != 32 || !veil_ct_equal(acc->address.data, account, 32)) {
        st = VEIL_ERR_TDBE_MEMBERSHIP_PROOF;
    } else if (acc->node == NULL || acc->node->enclave_pubkey.len == 0) {
        st = VEIL_ERR_TDBE_NOT_MEMBER;
    } else {
        uint8_t h[32];
        veil_sha256(h, acc->node->enclave_pubkey.data, acc->node->enclave_pubkey.len);
        if (!veil_ct_equal(h, peer_spki_hash, 32))
            st = VEIL_ERR_TDBE_NOT_MEMBER;
        else if (acc->bonded == 0 || acc->jailed_until > now)
            st = VEIL_ERR_TDBE_NOT_STAKED;
    }
    veil__node__account__free_unpacked(acc, a);
    return st;
}

veil_status tdbe_epoch_check(ProtobufCAllocator *a, const uint8_t *proof, size_t proof_len,
                             const uint8_t app_hash[static 32], uint64_t epoch,
                             const uint8_t commitment[static 32])
{
    uint8_t id[8];
    veil_put_u64(id, epoch);
    const uint8_t *record;
    size_t record_len;
    TRY(tdbe_proven_record(proof, proof_len, app_hash, VEIL_SMT_NS_KEY_EPOCH, id, sizeof id, &record,
                      &record_len));
    ENSURE(record != NULL, VEIL_ERR_TDBE_COMMITMENT); /* no such epoch on chain */
    Veil__Node__KeyEpoch *e = veil__node__key_epoch__unpack(a, record_len, record);
    ENSURE(e != NULL, VEIL_ERR_TDBE_MEMBERSHIP_PROOF);
    bool ok = e->epoch == epoch && e->commitment.len == 32 &&
              veil_ct_equal(e->commitment.data, commitment, 32);
    veil__node__key_epoch__free_unpacked(e, a);
    return ok ? VEIL_OK : VEIL_ERR_TDBE_COMMITMENT;
}
