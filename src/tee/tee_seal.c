/* Sealing: the blob format and its AEAD, the same for every backend. It runs inside the
 * enclave on the trusted calls of tee.h (tee_derive_key, tee_random, tee_self_identity,
 * tee_alloc); a backend provides the key derivation (EGETKEY on SGX, the hardware
 * unique key on OP-TEE, the sealing-key derivation on Keystone), not the format. */
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "tee/tee.h"

/* --- sealing --------------------------------------------------------------------
 * Blob layout (docs/sealing-and-attestation.md), big-endian:
 *   0  magic "VSEL"     4   version (1)      5  policy      6 prodid (u16)
 *   8  svn (u16)       10   reserved (6 bytes, zero)
 *  16  key_id (32)     48   nonce (12)      60  plaintext length (u32)
 *  64  ciphertext (plaintext length) || tag (16)
 * The AEAD (AES-256-GCM-SIV) authenticates header || caller's aad.
 */
#define SEAL_HEADER_LEN 64u
#define SEAL_VERSION 1u
static const uint8_t seal_magic[4] = {'V', 'S', 'E', 'L'};

_Static_assert(SEAL_HEADER_LEN + VEIL_AEAD_TAG_LEN <= TEE_SEAL_OVERHEAD_MAX, "seal overhead");
#define SEAL_OVERHEAD (SEAL_HEADER_LEN + VEIL_AEAD_TAG_LEN)

size_t tee_sealed_size(size_t pt_len) { return SEAL_OVERHEAD + pt_len; }

typedef struct seal_header {
    uint8_t policy;
    uint16_t prodid;
    uint16_t svn;
    uint8_t key_id[TEE_KEY_ID_LEN];
    uint8_t nonce[VEIL_AEAD_NONCE_LEN];
    uint32_t pt_len;
} seal_header;

static veil_status seal_header_parse(const uint8_t *blob, size_t blob_len, seal_header *h)
{
    veil_reader r = veil_reader_init(blob, blob_len);
    uint8_t magic[4], version, reserved[6];
    TRY(veil_read_bytes(&r, magic, sizeof magic));
    ENSURE(memcmp(magic, seal_magic, sizeof magic) == 0, VEIL_ERR_BAD_MAGIC);
    TRY(veil_read_u8(&r, &version));
    ENSURE(version == SEAL_VERSION, VEIL_ERR_BAD_VERSION);
    TRY(veil_read_u8(&r, &h->policy));
    ENSURE(h->policy == TEE_POLICY_MRSIGNER || h->policy == TEE_POLICY_MRENCLAVE,
           VEIL_ERR_TEE_POLICY);
    TRY(veil_read_u16(&r, &h->prodid));
    TRY(veil_read_u16(&r, &h->svn));
    TRY(veil_read_bytes(&r, reserved, sizeof reserved));
    for (size_t i = 0; i < sizeof reserved; i++) ENSURE(reserved[i] == 0, VEIL_ERR_MALFORMED);
    TRY(veil_read_bytes(&r, h->key_id, sizeof h->key_id));
    TRY(veil_read_bytes(&r, h->nonce, sizeof h->nonce));
    TRY(veil_read_u32(&r, &h->pt_len));
    /* The declared length must account for every remaining byte. */
    ENSURE(veil_reader_left(&r) >= VEIL_AEAD_TAG_LEN, VEIL_ERR_TRUNCATED);
    ENSURE((size_t)h->pt_len + VEIL_AEAD_TAG_LEN == veil_reader_left(&r), VEIL_ERR_MALFORMED);
    return VEIL_OK;
}

static void seal_header_write(const seal_header *h, uint8_t out[static SEAL_HEADER_LEN])
{
    memset(out, 0, SEAL_HEADER_LEN);
    memcpy(out, seal_magic, sizeof seal_magic);
    out[4] = SEAL_VERSION;
    out[5] = h->policy;
    veil_put_u16(out + 6, h->prodid);
    veil_put_u16(out + 8, h->svn);
    memcpy(out + 16, h->key_id, TEE_KEY_ID_LEN);
    memcpy(out + 48, h->nonce, VEIL_AEAD_NONCE_LEN);
    veil_put_u32(out + 60, h->pt_len);
}

/* AEAD associated data = header || caller's aad, assembled in enclave memory. */
static veil_status seal_aad_build(const uint8_t header[static SEAL_HEADER_LEN], const void *aad,
                                  size_t aad_len, uint8_t **out, size_t *out_len)
{
    size_t n;
    ENSURE(!veil_add_overflows(SEAL_HEADER_LEN, aad_len, &n), VEIL_ERR_TOO_LARGE);
    uint8_t *buf = tee_alloc(n);
    ENSURE(buf != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    memcpy(buf, header, SEAL_HEADER_LEN);
    if (aad_len > 0) memcpy(buf + SEAL_HEADER_LEN, aad, aad_len);
    *out = buf;
    *out_len = n;
    return VEIL_OK;
}

veil_status tee_sealed_plaintext_len(const uint8_t *blob, size_t blob_len, size_t *pt_len)
{
    seal_header h;
    TRY(seal_header_parse(blob, blob_len, &h));
    *pt_len = h.pt_len;
    return VEIL_OK;
}

/* --- derived keys --------------------------------------------------------------- */
/* An HKDF per seal and per unseal was a large part of a tx's cost once signatures were
 * remembered. So an enclave instance seals under one key id per policy (drawn at its
 * first seal, renewed after 2^32 seals: AES-GCM-SIV with random nonces stays far
 * inside its bounds), and keeps the last derived keys in its own memory. */
#define KEY_CACHE_SLOTS 16u
#define SEALS_PER_KEY_ID (UINT64_C(1) << 32)

typedef struct cached_key {
    bool used;
    uint8_t policy;
    uint16_t svn;
    uint8_t key_id[TEE_KEY_ID_LEN];
    uint8_t key[TEE_KEY_LEN];
    uint64_t last_use;
} cached_key;

static cached_key g_keys[KEY_CACHE_SLOTS];
static uint64_t g_key_clock;
static struct {
    bool ready;
    uint8_t key_id[TEE_KEY_ID_LEN];
    uint64_t seals;
} g_seal_id[3]; /* by policy (1, 2) */
static atomic_flag g_key_lock = ATOMIC_FLAG_INIT;

static void key_lock(void)
{
    while (atomic_flag_test_and_set_explicit(&g_key_lock, memory_order_acquire)) {
    }
}
static void key_unlock(void) { atomic_flag_clear_explicit(&g_key_lock, memory_order_release); }

/* tee_derive_key(TEE_KEY_SEAL, ...), from the cache when it holds the key. */
static veil_status seal_key(tee_key_policy policy, uint16_t svn,
                            const uint8_t key_id[static TEE_KEY_ID_LEN],
                            uint8_t key[static TEE_KEY_LEN])
{
    key_lock();
    for (size_t i = 0; i < KEY_CACHE_SLOTS; i++) {
        cached_key *c = &g_keys[i];
        if (c->used && c->policy == (uint8_t)policy && c->svn == svn &&
            memcmp(c->key_id, key_id, TEE_KEY_ID_LEN) == 0) {
            memcpy(key, c->key, TEE_KEY_LEN);
            c->last_use = ++g_key_clock;
            key_unlock();
            return VEIL_OK;
        }
    }
    key_unlock();
    TRY(tee_derive_key(TEE_KEY_SEAL, policy, svn, key_id, key));
    key_lock();
    cached_key *victim = &g_keys[0];
    for (size_t i = 1; i < KEY_CACHE_SLOTS && victim->used; i++)
        if (!g_keys[i].used || g_keys[i].last_use < victim->last_use) victim = &g_keys[i];
    victim->used = true;
    victim->policy = (uint8_t)policy;
    victim->svn = svn;
    memcpy(victim->key_id, key_id, TEE_KEY_ID_LEN);
    memcpy(victim->key, key, TEE_KEY_LEN);
    victim->last_use = ++g_key_clock;
    key_unlock();
    return VEIL_OK;
}

/* The key id this instance seals under with `policy`. */
static veil_status seal_key_id(tee_key_policy policy, uint8_t key_id[static TEE_KEY_ID_LEN])
{
    uint8_t fresh[TEE_KEY_ID_LEN];
    TRY(tee_random(fresh, sizeof fresh)); /* used only if a new id is due */
    key_lock();
    if (!g_seal_id[policy].ready || g_seal_id[policy].seals >= SEALS_PER_KEY_ID) {
        memcpy(g_seal_id[policy].key_id, fresh, TEE_KEY_ID_LEN);
        g_seal_id[policy].ready = true;
        g_seal_id[policy].seals = 0;
    }
    g_seal_id[policy].seals++;
    memcpy(key_id, g_seal_id[policy].key_id, TEE_KEY_ID_LEN);
    key_unlock();
    return VEIL_OK;
}

veil_status tee_seal(tee_key_policy policy, const void *aad, size_t aad_len, const void *pt,
                     size_t pt_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    veil_status st;
    uint8_t key[TEE_KEY_LEN], header[SEAL_HEADER_LEN];
    uint8_t *full_aad = NULL;
    size_t full_aad_len;
    tee_identity self;

    ENSURE(policy == TEE_POLICY_MRSIGNER || policy == TEE_POLICY_MRENCLAVE, VEIL_ERR_TEE_POLICY);
    ENSURE(pt_len <= TEE_SEAL_MAX_PLAINTEXT, VEIL_ERR_TOO_LARGE);
    ENSURE(out_cap >= SEAL_OVERHEAD + pt_len, VEIL_ERR_BUFFER_TOO_SMALL);

    tee_self_identity(&self);
    seal_header h = {.policy = (uint8_t)policy, .prodid = self.prodid, .svn = self.svn,
                     .pt_len = (uint32_t)pt_len};
    TRY(seal_key_id(policy, h.key_id));
    TRY(tee_random(h.nonce, sizeof h.nonce));
    TRY(seal_key(policy, self.svn, h.key_id, key));
    seal_header_write(&h, header);
    TRY_OUT(seal_aad_build(header, aad, aad_len, &full_aad, &full_aad_len));
    TRY_OUT(veil_aead_seal(key, h.nonce, full_aad, full_aad_len, pt, pt_len,
                           out + SEAL_HEADER_LEN));
    memcpy(out, header, SEAL_HEADER_LEN);
    *out_len = SEAL_OVERHEAD + pt_len;
out:
    veil_wipe(key, sizeof key);
    tee_free(full_aad);
    return st;
}

veil_status tee_unseal(const uint8_t *blob, size_t blob_len, const void *aad, size_t aad_len,
                       uint8_t *out, size_t out_cap, size_t *out_len)
{
    veil_status st;
    seal_header h;
    uint8_t key[TEE_KEY_LEN];
    uint8_t *full_aad = NULL;
    size_t full_aad_len;
    tee_identity self;

    TRY(seal_header_parse(blob, blob_len, &h));
    ENSURE(out_cap >= h.pt_len, VEIL_ERR_BUFFER_TOO_SMALL);
    tee_self_identity(&self);
    /* Clear refusals for what this enclave can never open; everything else (other
     * signer, other image, any altered byte) fails authentication below. */
    ENSURE(h.prodid == self.prodid, VEIL_ERR_TEE_PRODID);
    ENSURE(h.svn <= self.svn, VEIL_ERR_TEE_SVN);
    TRY(seal_key((tee_key_policy)h.policy, h.svn, h.key_id, key));
    TRY_OUT(seal_aad_build(blob, aad, aad_len, &full_aad, &full_aad_len));
    st = veil_aead_open(key, h.nonce, full_aad, full_aad_len, blob + SEAL_HEADER_LEN,
                        (size_t)h.pt_len + VEIL_AEAD_TAG_LEN, out);
    if (st == VEIL_ERR_AUTH) st = VEIL_ERR_TEE_UNSEAL;
    if (st == VEIL_OK) *out_len = h.pt_len;
out:
    veil_wipe(key, sizeof key);
    tee_free(full_aad);
    return st;
}
