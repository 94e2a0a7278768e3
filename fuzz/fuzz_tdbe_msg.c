/* The TDBE peer protocol's decoders (src/trusted/tdbe/tdbe_msg.h) on hostile bytes: the
 * frame header, a Request as a server reads it, a Response as a fetching TDBE reads it.
 * Each must refuse or accept without crashing, and whatever they accept must re-encode
 * to a message they accept again with the same meaning. And the membership check
 * (tdbe_member.h) on what a host answers: the bytes as a whole answer, and as an
 * account record in a one-leaf tree whose proof does verify, so the record decoder
 * sees them too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "trusted/state/smt_verify.h"
#include "trusted/tdbe/tdbe_member.h"
#include "trusted/tdbe/tdbe_msg.h"

static void member(const uint8_t *data, size_t size)
{
    static const uint8_t account[32] = {1}, spki_hash[32] = {2}, some_root[32] = {3};
    int64_t height;
    if (tdbe_member_height(data, size, &height) == VEIL_OK && height < 0) abort();
    veil_status st = tdbe_member_check(NULL, data, size, some_root, account, spki_hash, 1000);
    if (st == VEIL_OK) abort(); /* no proof in random bytes proves this spki_hash */
    if (size > TDBE_MEMBER_RECORD_MAX) return;
    uint8_t key[32], vh[32], root[32], bitmap[32] = {0}, *ans = malloc(TDBE_MEMBER_PROOF_MAX);
    size_t n = 0;
    if (ans == NULL) abort();
    veil_smt_key(key, VEIL_SMT_NS_ACCOUNT, account, 32);
    veil_smt_value_hash(vh, data, size);
    veil_smt_leaf_hash(root, key, vh);
    if (tdbe_member_proof_encode(7, data, size, bitmap, sizeof bitmap, ans, TDBE_MEMBER_PROOF_MAX,
                                 &n) != VEIL_OK ||
        tdbe_member_height(ans, n, &height) != VEIL_OK || height != 7)
        abort();
    st = tdbe_member_check(NULL, ans, n, root, account, spki_hash, 1000);
    if (st != VEIL_ERR_TDBE_MEMBERSHIP_PROOF && st != VEIL_ERR_TDBE_NOT_MEMBER &&
        st != VEIL_ERR_TDBE_NOT_STAKED && st != VEIL_OK)
        abort();
    /* The same bytes as epoch 0's KeyEpoch record in a one-leaf tree. */
    static const uint8_t epoch0[8] = {0}, commitment[32] = {4};
    veil_smt_key(key, VEIL_SMT_NS_KEY_EPOCH, epoch0, sizeof epoch0);
    veil_smt_leaf_hash(root, key, vh);
    if (tdbe_member_proof_encode(7, data, size, bitmap, sizeof bitmap, ans, TDBE_MEMBER_PROOF_MAX,
                                 &n) != VEIL_OK)
        abort();
    st = tdbe_epoch_check(NULL, ans, n, root, 0, commitment);
    if (st != VEIL_ERR_TDBE_MEMBERSHIP_PROOF && st != VEIL_ERR_TDBE_COMMITMENT && st != VEIL_OK)
        abort();
    if (tdbe_epoch_check(NULL, data, size, some_root, 0, commitment) == VEIL_OK) abort();
    free(ans);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len;
    if (size >= 4 && tdbe_frame_len(data, &len) == VEIL_OK && (len < 1 || len > TDBE_MSG_MAX))
        abort();
    uint8_t buf[4 + TDBE_MSG_MAX], key[TDBE_KEY_LEN], key2[TDBE_KEY_LEN];
    size_t n;
    uint64_t epoch, epoch2;
    uint8_t acct[TDBE_ACCOUNT_LEN], acct2[TDBE_ACCOUNT_LEN];
    if (tdbe_request_parse(NULL, data, size, &epoch, acct) == VEIL_OK) {
        if (tdbe_request_frame(epoch, acct, buf, sizeof buf, &n) != VEIL_OK ||
            tdbe_request_parse(NULL, buf + 4, n - 4, &epoch2, acct2) != VEIL_OK ||
            epoch2 != epoch || memcmp(acct, acct2, sizeof acct) != 0)
            abort();
    }
    /* The epoch a fetching TDBE asked: the first 8 bytes' worth, or 0. */
    uint64_t want = 0;
    for (size_t i = 0; i < size && i < 8; i++) want = want << 8 | data[i];
    uint32_t code = 0;
    for (uint64_t e = 0; e < 2; e++) {
        uint64_t asked = e == 0 ? 0 : want;
        veil_status st = tdbe_response_parse(NULL, data, size, asked, key, &code);
        if (st == VEIL_OK) {
            if (tdbe_key_frame(asked, key, buf, sizeof buf, &n) != VEIL_OK ||
                tdbe_response_parse(NULL, buf + 4, n - 4, asked, key2, &code) != VEIL_OK ||
                memcmp(key, key2, sizeof key) != 0)
                abort();
        } else if (st != VEIL_ERR_TDBE_REFUSED && st != VEIL_ERR_TDBE_PROTOCOL) {
            abort();
        }
    }
    member(data, size);
    return 0;
}
