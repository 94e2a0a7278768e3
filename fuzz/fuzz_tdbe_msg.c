/* The TDBE peer protocol's decoders (src/trusted/tdbe/tdbe_msg.h) on hostile bytes: the
 * frame header, a Request as a server reads it, a Response as a fetching TDBE reads it
 * (a key, or tx data). Each must refuse or accept without crashing, and whatever they
 * accept must re-encode to a message they accept again with the same meaning. And the
 * membership check (tdbe_member.h) on what a host answers: the bytes as a whole answer,
 * and as an account record in a one-leaf tree whose proof does verify, so the record
 * decoder sees them too. And the bootstrap's checks of served tx data
 * (tdbe_txdata.h): the bytes as a block record with no payload, as a record and one
 * payload, and as an output record; the record also through the importing TVE's parser
 * (tve_store_block_parse), which must agree with the TDBE's on the layout. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "host/tve/tve_store.h"
#include "trusted/state/smt_verify.h"
#include "trusted/tdbe/tdbe_member.h"
#include "trusted/tdbe/tdbe_msg.h"
#include "trusted/tdbe/tdbe_txdata.h"
#include "trusted/tx/bloom.h"
#include "veil/node.pb-c.h"
#include "veil/tdbe.pb-c.h"
#include "veil/tve.pb-c.h"

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

/* tdbe_block_check allocates with its allocator directly (the enclave always passes
 * one): malloc, failing once `left` allocations are made (-1: never), so the OOM paths
 * run too. */
static void *budget_alloc(void *d, size_t n)
{
    long *left = d;
    if (*left == 0) return NULL;
    if (*left > 0) (*left)--;
    return malloc(n ? n : 1);
}
static void budget_free(void *d, void *p)
{
    (void)d;
    free(p);
}

/* An answer proving `record` at (ns, id) in a tree of that one leaf (its root in `root`). */
static uint8_t *one_leaf(uint8_t ns, const uint8_t *id, size_t id_len, const uint8_t *record,
                         size_t record_len, uint8_t root[static 32], size_t *n)
{
    static const uint8_t bitmap[32] = {0};
    uint8_t key[32], vh[32], *ans = malloc(TDBE_MEMBER_PROOF_MAX);
    if (ans == NULL) abort();
    veil_smt_key(key, ns, id, id_len);
    veil_smt_value_hash(vh, record, record_len);
    veil_smt_leaf_hash(root, key, vh);
    if (tdbe_member_proof_encode(7, record, record_len, bitmap, sizeof bitmap, ans,
                                 TDBE_MEMBER_PROOF_MAX, n) != VEIL_OK)
        abort();
    return ans;
}

/* The bytes as a host's answer for an output record: never accepted against a root
 * no one made; as the record itself under a proof that verifies, accepted exactly when
 * it decodes to the claim's output count and height. */
static void output(const uint8_t *data, size_t size)
{
    static const uint8_t some_root[32] = {3};
    const tdbe_tx_claim claim = {.txid = {5}, .output_count = 2, .height = 9};
    veil_status st = tdbe_output_check(NULL, data, size, some_root, &claim);
    if (st != VEIL_ERR_TDBE_MEMBERSHIP_PROOF && st != VEIL_ERR_TDBE_TX_NOT_ON_CHAIN) abort();
    if (size > TDBE_MEMBER_RECORD_MAX) return;
    uint8_t root[32];
    size_t n;
    uint8_t *ans = one_leaf(VEIL_SMT_NS_OUTPUT, claim.txid, TDBE_TXID_LEN, data, size, root, &n);
    st = tdbe_output_check(NULL, ans, n, root, &claim);
    Veil__Node__OutputStatus *o = veil__node__output_status__unpack(NULL, size, data);
    bool match = o != NULL && o->output_count == claim.output_count && o->height == claim.height;
    if (st != (o == NULL  ? VEIL_ERR_TDBE_MEMBERSHIP_PROOF
               : match    ? VEIL_OK
                          : VEIL_ERR_TDBE_TX_NOT_ON_CHAIN))
        abort();
    if (o != NULL) veil__node__output_status__free_unpacked(o, NULL);
    free(ans);
}

/* What a passed block promises: claims in place order at its height, the record one
 * the importing TVE parses with the same txs, and each claim met by an output record
 * that says what it claims (and only that). */
static void block_ok(uint64_t height, const uint8_t *rec, size_t rec_len,
                     const tdbe_tx_claim *claims, size_t n)
{
    tve_store_block b;
    if (tve_store_block_parse(rec, rec_len, &b) != VEIL_OK || b.n != n) abort();
    for (size_t i = 0; i < n; i++) {
        const tdbe_tx_claim *c = &claims[i];
        if (c->height != height || c->index != i) abort();
        Veil__Tve__TxOutcome *o = veil__tve__tx_outcome__unpack(NULL, b.outcome_lens[i],
                                                                b.outcomes[i]);
        if (o == NULL || o->txid.len != TDBE_TXID_LEN ||
            memcmp(o->txid.data, c->txid, TDBE_TXID_LEN) != 0 ||
            o->output_count != c->output_count)
            abort();
        veil__tve__tx_outcome__free_unpacked(o, NULL);
        if (i >= 4) continue; /* a proof costs a hash per level: a few suffice */
        for (uint64_t h = height; h <= height + 1; h++) {
            Veil__Node__OutputStatus os = VEIL__NODE__OUTPUT_STATUS__INIT;
            uint8_t enc[64], root[32];
            size_t ans_len;
            os.output_count = c->output_count;
            os.height = h;
            size_t len = veil__node__output_status__pack(&os, enc);
            uint8_t *ans =
                one_leaf(VEIL_SMT_NS_OUTPUT, c->txid, TDBE_TXID_LEN, enc, len, root, &ans_len);
            if (tdbe_output_check(NULL, ans, ans_len, root, c) !=
                (h == height ? VEIL_OK : VEIL_ERR_TDBE_TX_NOT_ON_CHAIN))
                abort();
            free(ans);
        }
    }
    tve_store_block_free(&b);
}

/* One served block through tdbe_block_check, allocating from *left (see budget_alloc). */
static veil_status block(long *left, uint64_t height, const uint8_t *rec, size_t rec_len,
                         const ProtobufCBinaryData *payloads, size_t n)
{
    ProtobufCAllocator a = {.alloc = budget_alloc, .free = budget_free, .allocator_data = left};
    tdbe_tx_claim *claims = calloc(n ? n : 1, sizeof *claims);
    size_t bad = SIZE_MAX;
    if (claims == NULL) abort();
    veil_status st = tdbe_block_check(&a, height, rec, rec_len, payloads, n, claims, &bad);
    if ((st != VEIL_OK && st != VEIL_ERR_TDBE_TX_MISMATCH && st != VEIL_ERR_TDBE_PROTOCOL &&
         st != VEIL_ERR_NOMEM) ||
        bad > n)
        abort();
    if (st == VEIL_OK) block_ok(height, rec, rec_len, claims, n);
    free(claims);
    return st;
}

/* The bytes as a served block: u32 BE record length (at most what follows), the record,
 * one payload. Again with the first, second, ... allocation failing: that may refuse
 * the block but never pass one refused otherwise, and once no allocation fails the
 * answer is the same. */
static void served(const uint8_t *data, size_t size)
{
    if (size < 4) return;
    size_t rl = veil_get_u32(data);
    if (rl > size - 4) rl = size - 4;
    ProtobufCBinaryData p = {size - 4 - rl, (uint8_t *)data + 4 + rl};
    long left = -1;
    veil_status st = block(&left, 7, data + 4, rl, &p, 1);
    for (long k = 0; k < 256; k++) {
        left = k;
        veil_status fst = block(&left, 7, data + 4, rl, &p, 1);
        if ((fst == VEIL_OK && st != VEIL_OK) || (left > 0 && fst != st)) abort();
        if (left > 0) break; /* every allocation was served */
    }
}

/* A parsed record re-encodes to exactly its bytes (one meaning per record), its
 * outcomes inside its own copy, its verdicts' zeros as many as its outcomes. */
static void record_same(const tve_store_block *b, const uint8_t *data, size_t size)
{
    size_t len = 1 + b->app_hash_len + TVE_STORE_BLOOM_LEN + 4, zeros = 0;
    for (size_t i = 0; i < b->n; i++) len += 4 + b->outcome_lens[i];
    if (b->n_codes > 0) len += 4 + 4 * b->n_codes;
    if (len != size || b->app_hash_len > TVE_APP_HASH_MAX) abort();
    uint8_t *enc = malloc(len), *p = enc;
    if (enc == NULL) abort();
    *p++ = (uint8_t)b->app_hash_len;
    memcpy(p, b->app_hash, b->app_hash_len);
    p += b->app_hash_len;
    memcpy(p, b->bloom, TVE_STORE_BLOOM_LEN);
    p += TVE_STORE_BLOOM_LEN;
    veil_put_u32(p, (uint32_t)b->n);
    p += 4;
    for (size_t i = 0; i < b->n; i++) {
        if (b->outcomes[i] < b->record || b->outcomes[i] + b->outcome_lens[i] > b->record + size)
            abort();
        veil_put_u32(p, (uint32_t)b->outcome_lens[i]);
        if (b->outcome_lens[i] > 0) memcpy(p + 4, b->outcomes[i], b->outcome_lens[i]);
        p += 4 + b->outcome_lens[i];
    }
    if (b->n_codes > 0) {
        veil_put_u32(p, (uint32_t)b->n_codes);
        p += 4;
        for (size_t i = 0; i < b->n_codes; i++, p += 4) {
            veil_put_u32(p, b->codes[i]);
            zeros += b->codes[i] == 0;
        }
        if (zeros != b->n) abort();
    }
    if (memcmp(enc, data, size) != 0) abort();
    free(enc);
}

/* The bytes as a block record: the TVE that imports a block parses the record the
 * TDBE checked, so the two readers must agree. With no payload the TDBE passes exactly
 * a record of no tx whose bloom is empty; a record of txs is a count mismatch. */
static void record(const uint8_t *data, size_t size)
{
    tve_store_block b;
    veil_status ss = tve_store_block_parse(data, size, &b);
    if (ss == VEIL_OK)
        record_same(&b, data, size);
    else if (ss != VEIL_ERR_DB && ss != VEIL_ERR_NOMEM)
        abort();
    long left = -1;
    veil_status ts = block(&left, 1, data, size, NULL, 0);
    if (ss == VEIL_OK) {
        veil_bloom empty;
        veil_bloom_clear(&empty);
        bool pass = b.n == 0 && memcmp(b.bloom, empty.bits, VEIL_BLOOM_BYTES) == 0;
        if (ts != (pass ? VEIL_OK : VEIL_ERR_TDBE_TX_MISMATCH)) abort();
    } else if (ss == VEIL_ERR_DB && ts == VEIL_OK) {
        abort();
    }
    tve_store_block_free(&b);
}

/* A request as a server reads it: accepted ones re-encode (each kind with its own
 * encoder) and decode again to the same request; the key-only parser agrees. */
static void request(const uint8_t *data, size_t size)
{
    uint8_t buf[4 + TDBE_MSG_MAX], acct[TDBE_ACCOUNT_LEN];
    size_t n, len;
    uint64_t epoch;
    tdbe_request q, q2;
    veil_status st = tdbe_request_decode(NULL, data, size, &q);
    veil_status kst = tdbe_request_parse(NULL, data, size, &epoch, acct);
    if (st != VEIL_OK) {
        if (st != VEIL_ERR_TDBE_PROTOCOL || kst == VEIL_OK) abort();
        return;
    }
    if ((kst == VEIL_OK) == q.data) abort();
    if (!q.data && (epoch != q.epoch || memcmp(acct, q.account, sizeof acct) != 0)) abort();
    if (q.data && (q.from < 1 || q.from > q.to)) abort();
    st = q.data ? tdbe_data_request_frame(q.account, q.from, q.to, buf, sizeof buf, &n)
                : tdbe_request_frame(q.epoch, q.account, buf, sizeof buf, &n);
    if (st != VEIL_OK || tdbe_frame_len(buf, &len) != VEIL_OK || len != n - 4 ||
        tdbe_request_decode(NULL, buf + 4, n - 4, &q2) != VEIL_OK || q2.data != q.data ||
        memcmp(q2.account, q.account, sizeof q.account) != 0 ||
        (q.data ? q2.from != q.from || q2.to != q.to : q2.epoch != q.epoch))
        abort();
}

/* A Response in a tx-data stream: accepted ones re-encode and parse again to the same
 * encoding; each block they carry goes through the check the fetching TDBE makes. */
static void data_response(const uint8_t *data, size_t size)
{
    Veil__Tdbe__Response *r = NULL, *r2 = NULL;
    uint32_t code = 0;
    size_t len;
    veil_status st = tdbe_data_parse(NULL, data, size, &r, &code);
    if (st != VEIL_OK) {
        if ((st != VEIL_ERR_TDBE_REFUSED && st != VEIL_ERR_TDBE_PROTOCOL) || r != NULL) abort();
        return;
    }
    if (r == NULL || r->response_case != VEIL__TDBE__RESPONSE__RESPONSE_TX_DATA) abort();
    size_t cap = 4 + veil__tdbe__response__get_packed_size(r), n, n2;
    uint8_t *buf = malloc(cap), *buf2 = malloc(cap);
    if (buf == NULL || buf2 == NULL) abort();
    if (tdbe_data_frame(r->tx_data, buf, cap, &n) != VEIL_OK ||
        tdbe_frame_len_max(buf, TDBE_DATA_MSG_MAX, &len) != VEIL_OK || len != n - 4 ||
        tdbe_data_parse(NULL, buf + 4, n - 4, &r2, &code) != VEIL_OK ||
        tdbe_data_frame(r2->tx_data, buf2, cap, &n2) != VEIL_OK || n2 != n ||
        memcmp(buf, buf2, n) != 0)
        abort();
    veil__tdbe__response__free_unpacked(r2, NULL);
    const Veil__Tdbe__TxData *d = r->tx_data;
    for (size_t i = 0; i < d->n_blocks; i++) {
        long left = -1;
        block(&left, d->blocks[i]->height, d->blocks[i]->record.data, d->blocks[i]->record.len,
              d->blocks[i]->payloads, d->blocks[i]->n_payloads);
    }
    veil__tdbe__response__free_unpacked(r, NULL);
    free(buf);
    free(buf2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len;
    if (size >= 4 && tdbe_frame_len(data, &len) == VEIL_OK && (len < 1 || len > TDBE_MSG_MAX))
        abort();
    /* A tx-data stream's limit only widens the key stream's. */
    size_t data_len;
    if (size >= 4 &&
        (tdbe_frame_len_max(data, TDBE_DATA_MSG_MAX, &data_len) == VEIL_OK
             ? data_len < 1 || data_len > TDBE_DATA_MSG_MAX
             : tdbe_frame_len(data, &len) == VEIL_OK))
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
    request(data, size);
    data_response(data, size);
    record(data, size);
    served(data, size);
    output(data, size);
    return 0;
}
