/* Membership of a peer TDBE (tdbe_member.h). */
#include "trusted/tdbe/tdbe_member.h"

#include <string.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "trusted/state/smt_verify.h"
#include "veil/node.pb-c.h"

veil_status tdbe_member_proof_encode(const uint8_t app_hash[static 32], const uint8_t *record,
                                     size_t record_len, const uint8_t *smt_proof, size_t smt_len,
                                     uint8_t *out, size_t cap, size_t *out_len)
{
    if (record == NULL) record_len = 0;
    ENSURE(record_len <= TDBE_MEMBER_RECORD_MAX && smt_len <= VEIL_SMT_PROOF_MAX_LEN,
           VEIL_ERR_TOO_LARGE);
    size_t n = 32 + 1 + 4 + record_len + smt_len;
    ENSURE(n <= cap, VEIL_ERR_BUFFER_TOO_SMALL);
    memcpy(out, app_hash, 32);
    out[32] = record != NULL;
    veil_put_u32(out + 33, (uint32_t)record_len);
    if (record_len > 0) memcpy(out + 37, record, record_len);
    if (smt_len > 0) memcpy(out + 37 + record_len, smt_proof, smt_len);
    *out_len = n;
    return VEIL_OK;
}

veil_status tdbe_member_check(ProtobufCAllocator *a, const uint8_t *proof, size_t proof_len,
                              const uint8_t account[static 32],
                              const uint8_t peer_spki_hash[static 32], uint64_t now)
{
    ENSURE(proof_len >= 37 && proof_len <= TDBE_MEMBER_PROOF_MAX,
           VEIL_ERR_TDBE_MEMBERSHIP_PROOF);
    const uint8_t *app_hash = proof;
    uint8_t present = proof[32];
    uint32_t record_len = veil_get_u32(proof + 33);
    ENSURE(present <= 1 && record_len <= TDBE_MEMBER_RECORD_MAX &&
               record_len <= proof_len - 37 && (present || record_len == 0),
           VEIL_ERR_TDBE_MEMBERSHIP_PROOF);
    const uint8_t *record = proof + 37;
    veil_smt_proof p; /* about 8 KiB */
    veil_status st = veil_smt_proof_decode(record + record_len, proof_len - 37 - record_len, &p);
    if (st == VEIL_OK)
        st = veil_smt_verify_record(app_hash, VEIL_SMT_NS_ACCOUNT, account, 32,
                                    present ? record : NULL, record_len, &p);
    ENSURE(st == VEIL_OK, VEIL_ERR_TDBE_MEMBERSHIP_PROOF);
    ENSURE(present, VEIL_ERR_TDBE_NOT_MEMBER); /* proven absent */
    Veil__Node__Account *acc = veil__node__account__unpack(a, record_len, record);
    ENSURE(acc != NULL, VEIL_ERR_TDBE_MEMBERSHIP_PROOF);
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
