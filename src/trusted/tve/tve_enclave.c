/* The transaction validation enclave (TVE).
 *
 * Holds the obfuscation keys (generated here, sealed to the signer for storage),
 * decrypts and validates confidential txs with the tx core, seals valid ones to the
 * signer for the host's store, accumulates each block's view-key bloom filter, and
 * encrypts payloads that another enclave of the same signer (the TQE) sealed to it.
 *
 * Everything arriving through an ecall or ocall is untrusted: messages are decoded
 * with size limits by protobuf-c into enclave memory, and nothing that was read is
 * read again from the host. Plaintext leaves only sealed to the signer.
 * Thread-safe: the host runs E_VERIFY on several threads at once.
 */
#include <stdatomic.h>
#include <string.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "tee/tee.h"
#include "tee/tee_pb.h"
#include "trusted/tve/tve_abi.h"
#include "trusted/tdbe/tdbe_abi.h"
#include "trusted/tqe/tqe_abi.h"
#include "trusted/tve/tve_channel.h"
#include "trusted/tve/tve_enclave_internal.h"
#include "trusted/tx/tx.h"
#include "veil/tve_enclave.pb-c.h"

#define MAX_EPOCH_KEYS 8

/* --- state ---------------------------------------------------------------------- */
static atomic_flag g_lock = ATOMIC_FLAG_INIT; /* guards the key table and bloom height */
static veil_tx_epoch_key g_keys[MAX_EPOCH_KEYS];
static size_t g_n_keys;
/* The chain's current epoch, once the node told its window (E_KEY_WINDOW); before,
 * the newest key held is current (a chain that never rotated). */
static bool g_has_window;
static uint64_t g_current_epoch;
/* The key floor: a platform counter whose value is the lowest epoch whose key may
 * still be loaded. Its id is drawn with the first key and sealed with every key, so a
 * sealed copy of a destroyed key the host kept never opens again. */
static bool g_has_floor_id;
static uint8_t g_floor_id[TEE_COUNTER_ID_LEN];
#define FLOOR_STEP_MAX 1024u /* epochs one window may destroy at once */

static uint64_t g_bloom_height;
static _Atomic uint64_t g_bloom_words[VEIL_BLOOM_BYTES / 8];

static void lock(void)
{
    while (atomic_flag_test_and_set_explicit(&g_lock, memory_order_acquire)) {
    }
}
static void unlock(void) { atomic_flag_clear_explicit(&g_lock, memory_order_release); }

ProtobufCAllocator tve_alloc = TEE_PB_ALLOCATOR(NULL);

/* --- verified signatures -------------------------------------------------------- */
/* A tx is judged up to three times here (encrypt, CheckTx, its block): its Schnorr
 * verifications, half of a block's CPU, are done once. Tags of (signature, txid, key)
 * triples that verified (veil_tx_sig_known_fn), direct-mapped, in enclave memory:
 * nothing the host does can add one. A hit costs one SHA-256 instead of a verification;
 * its timing tells the host only that the same bytes were judged before, which it
 * knows (it sent them). */
#define SIG_CACHE_SLOTS (1u << 17) /* 4 MiB: two signatures of 64k txs */
static uint8_t g_sig_cache[SIG_CACHE_SLOTS][32];
static atomic_flag g_sig_lock = ATOMIC_FLAG_INIT;

static size_t sig_slot(const uint8_t tag[32])
{
    return ((size_t)tag[0] | (size_t)tag[1] << 8 | (size_t)tag[2] << 16) & (SIG_CACHE_SLOTS - 1);
}

static bool sig_known(void *ctx, const uint8_t tag[32])
{
    (void)ctx;
    size_t i = sig_slot(tag);
    while (atomic_flag_test_and_set_explicit(&g_sig_lock, memory_order_acquire)) {
    }
    bool hit = memcmp(g_sig_cache[i], tag, 32) == 0;
    atomic_flag_clear_explicit(&g_sig_lock, memory_order_release);
    return hit;
}

static void sig_learn(void *ctx, const uint8_t tag[32])
{
    (void)ctx;
    size_t i = sig_slot(tag);
    while (atomic_flag_test_and_set_explicit(&g_sig_lock, memory_order_acquire)) {
    }
    memcpy(g_sig_cache[i], tag, 32);
    atomic_flag_clear_explicit(&g_sig_lock, memory_order_release);
}


veil_status tve_pack_out(const ProtobufCMessage *m, uint8_t *out, size_t out_cap,
                            size_t *out_len)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    ENSURE(n <= out_cap, VEIL_ERR_BUFFER_TOO_SMALL);
    *out_len = protobuf_c_message_pack(m, out);
    return VEIL_OK;
}

static void commitment(uint64_t epoch, const uint8_t key[static VEIL_AEAD_KEY_LEN],
                       uint8_t out[static 32])
{
    tve_key_commitment(epoch, key, out);
}

/* The AAD of a sealed epoch key: label || epoch. */
static size_t epoch_key_aad(uint64_t epoch, uint8_t aad[static 32])
{
    size_t n = sizeof TVE_AAD_EPOCH_KEY - 1;
    memcpy(aad, TVE_AAD_EPOCH_KEY, n);
    veil_put_u64(aad + n, epoch);
    return n + 8;
}

size_t tve_sealed_tx_aad(const uint8_t txid[static VEIL_TX_ID_LEN], uint8_t aad[static 64])
{
    size_t n = sizeof TVE_AAD_SEALED_TX - 1;
    memcpy(aad, TVE_AAD_SEALED_TX, n);
    memcpy(aad + n, txid, VEIL_TX_ID_LEN);
    return n + VEIL_TX_ID_LEN;
}

/* Adds a key to the table; the same epoch twice must be the same key. */
static veil_status keys_add(uint64_t epoch, const uint8_t key[static VEIL_AEAD_KEY_LEN])
{
    veil_status st = VEIL_OK;
    lock();
    for (size_t i = 0; i < g_n_keys; i++) {
        if (g_keys[i].epoch != epoch) continue;
        st = veil_ct_equal(g_keys[i].key, key, VEIL_AEAD_KEY_LEN) ? VEIL_OK : VEIL_ERR_EXISTS;
        unlock();
        return st;
    }
    if (g_n_keys == MAX_EPOCH_KEYS) {
        st = VEIL_ERR_LIMIT;
    } else {
        g_keys[g_n_keys].epoch = epoch;
        memcpy(g_keys[g_n_keys].key, key, VEIL_AEAD_KEY_LEN);
        g_n_keys++;
    }
    unlock();
    return st;
}

/* A private copy of the key table (validation runs without holding the lock). */
static size_t keys_copy(veil_tx_epoch_key out[static MAX_EPOCH_KEYS])
{
    lock();
    size_t n = g_n_keys;
    memcpy(out, g_keys, n * sizeof *out);
    unlock();
    return n;
}

/* The key wallets' txs are encrypted under: the chain's current epoch's. */
static bool keys_current(veil_tx_epoch_key *out)
{
    lock();
    size_t best = g_n_keys;
    for (size_t i = 0; i < g_n_keys; i++) {
        if (g_has_window ? g_keys[i].epoch == g_current_epoch
                         : best == g_n_keys || g_keys[i].epoch > g_keys[best].epoch)
            best = i;
    }
    if (best < g_n_keys) *out = g_keys[best];
    unlock();
    return best < g_n_keys;
}

/* Removes entry i from the table, wiping it (lock held). */
static void keys_remove_locked(size_t i)
{
    g_n_keys--;
    if (i != g_n_keys) g_keys[i] = g_keys[g_n_keys];
    veil_wipe(&g_keys[g_n_keys], sizeof g_keys[g_n_keys]);
}

/* --- host lookups (ocalls) ------------------------------------------------------ */
/* Resolves an input through the host's store: the host returns the input tx's sealed
 * blob; only a blob this signer sealed for exactly that txid opens. */
static veil_status resolve_input(void *ctx, const uint8_t txid[VEIL_TX_ID_LEN], uint32_t index,
                                 veil_tx_output *out)
{
    (void)ctx;
    veil_status st;
    uint8_t aad[64];
    size_t blob_len = 0, pt_len = 0, aad_len = tve_sealed_tx_aad(txid, aad);
    uint8_t *blob = tee_alloc(TVE_SEALED_TX_MAX);
    uint8_t *payload = tee_alloc(TVE_SEALED_TX_MAX);
    ENSURE_OUT(blob != NULL && payload != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    /* Only "not found" and "no such output" are verdicts here: every validator's store
     * agrees on them. A failed lookup or a record that does not open or decode is this
     * machine's fault; reported as a verdict it would fork this validator from the
     * others, so it fails the whole request instead (the node halts). */
    st = tee_ocall(TVE_O_GET_SEALED, txid, VEIL_TX_ID_LEN, blob, TVE_SEALED_TX_MAX, &blob_len);
    ENSURE_OUT(st == VEIL_OK, VEIL_ERR_TVE_HOST_FAULT);
    ENSURE_OUT(blob_len > 0, VEIL_ERR_TX_INPUT_NOT_FOUND);
    st = tee_unseal(blob, blob_len, aad, aad_len, payload, TVE_SEALED_TX_MAX, &pt_len);
    ENSURE_OUT(st == VEIL_OK, VEIL_ERR_TVE_STORE_DAMAGED);
    st = veil_tx_payload_output(payload, pt_len, index, &tve_alloc, out);
    if (st != VEIL_OK && st != VEIL_ERR_TX_OUTPUT_INDEX_OUT_OF_RANGE && st != VEIL_ERR_NOMEM)
        st = VEIL_ERR_TVE_STORE_DAMAGED;
out:
    if (payload != NULL) veil_wipe(payload, pt_len);
    tee_free(payload);
    tee_free(blob);
    return st;
}

/* --- conversions from the host's messages --------------------------------------- */
typedef struct call_env {
    char chain_id[VEIL_TX_MAX_CHAIN_ID_LEN + 1];
    veil_tx_params params;
    veil_tx_account account;
    veil_tx_epoch_key keys[MAX_EPOCH_KEYS];
    veil_tx_env env;
} call_env;

static veil_status params_from(const Veil__Tve__ChainParams *p, call_env *ce)
{
    ENSURE(p != NULL && p->chain_id != NULL, VEIL_ERR_DECODE);
    size_t len = strlen(p->chain_id);
    ENSURE(len > 0 && len <= VEIL_TX_MAX_CHAIN_ID_LEN, VEIL_ERR_DECODE);
    memcpy(ce->chain_id, p->chain_id, len + 1);
    ENSURE(p->fee_rule == VEIL__TVE__FEE_RULE__FEE_RULE_EXACT ||
               p->fee_rule == VEIL__TVE__FEE_RULE__FEE_RULE_AT_LEAST,
           VEIL_ERR_DECODE);
    ce->params.chain_id = ce->chain_id;
    ce->params.block_time = p->block_time;
    ce->params.fee_base = p->fee_base;
    ce->params.fee_per_byte = p->fee_per_byte;
    ce->params.fee_rule =
        p->fee_rule == VEIL__TVE__FEE_RULE__FEE_RULE_EXACT ? VEIL_TX_FEE_EXACT : VEIL_TX_FEE_AT_LEAST;
    return VEIL_OK;
}

static veil_status account_from(const Veil__Tve__AccountState *a, veil_tx_account *out)
{
    memset(out, 0, sizeof *out);
    if (a == NULL) return VEIL_OK;
    ENSURE(a->address.len == VEIL_TX_ADDRESS_LEN, VEIL_ERR_DECODE);
    out->present = true;
    memcpy(out->address, a->address.data, VEIL_TX_ADDRESS_LEN);
    out->bonded = a->bonded;
    out->unbonded = a->unbonded;
    out->unbonded_from = a->unbonded_from;
    out->nonce = a->nonce;
    out->jailed_until = a->jailed_until;
    return VEIL_OK;
}

static veil_status env_init(call_env *ce, const Veil__Tve__ChainParams *p,
                            const Veil__Tve__AccountState *a)
{
    memset(ce, 0, sizeof *ce);
    TRY(params_from(p, ce));
    TRY(account_from(a, &ce->account));
    ce->env.params = &ce->params;
    ce->env.n_keys = keys_copy(ce->keys);
    ENSURE(ce->env.n_keys > 0, VEIL_ERR_TVE_NO_KEY);
    ce->env.keys = ce->keys;
    ce->env.resolve = resolve_input;
    ce->env.alloc = &tve_alloc;
    ce->env.sig_known = sig_known;
    ce->env.sig_learn = sig_learn;
    return VEIL_OK;
}

static void env_wipe(call_env *ce) { veil_wipe(ce->keys, sizeof ce->keys); }

static void outcome_to(const veil_tx_outcome *o, Veil__Tve__TxOutcome *m)
{
    m->txid.data = (uint8_t *)o->txid;
    m->txid.len = VEIL_TX_ID_LEN;
    m->kind = (Veil__Tx__TxKind)o->kind;
    m->fee = o->fee;
    if (o->kind != VEIL_TX_KIND_TRANSFER) {
        m->account.data = (uint8_t *)o->account;
        m->account.len = VEIL_TX_ADDRESS_LEN;
    }
    m->amount = o->amount;
    m->nonce = o->nonce;
    m->output_count = o->output_count;
}

/* --- bloom filter --------------------------------------------------------------- */
static void bloom_reset_locked(uint64_t height)
{
    for (size_t i = 0; i < VEIL_BLOOM_BYTES / 8; i++) atomic_store(&g_bloom_words[i], 0);
    g_bloom_height = height;
}

/* ORs a delivered tx's view keys into the filter of `height` (a new height starts a
 * fresh filter: a block that was verified but never ended leaves nothing behind). */
static void bloom_deliver(uint64_t height, const veil_tx_body *body)
{
    veil_bloom local;
    veil_bloom_clear(&local);
    veil_tx_bloom_add(&local, body);
    lock();
    if (g_bloom_height != height) bloom_reset_locked(height);
    for (size_t i = 0; i < VEIL_BLOOM_BYTES / 8; i++) {
        uint64_t w = 0;
        for (size_t b = 0; b < 8; b++) w |= (uint64_t)local.bits[8 * i + b] << (8 * b);
        atomic_fetch_or(&g_bloom_words[i], w);
    }
    unlock();
}

/* --- ecalls --------------------------------------------------------------------- */
static veil_status e_status(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                            size_t *out_len)
{
    (void)in;
    ENSURE(in_len == 0, VEIL_ERR_TRAILING);
    Veil__Tve__Enclave__StatusResult r = VEIL__TVE__ENCLAVE__STATUS_RESULT__INIT;
    veil_tx_epoch_key k;
    uint8_t c[32], id[TEE_COUNTER_ID_LEN];
    uint64_t held[MAX_EPOCH_KEYS];
    bool has_id;
    lock();
    r.n_held_epochs = g_n_keys;
    for (size_t i = 0; i < g_n_keys; i++) held[i] = g_keys[i].epoch;
    has_id = g_has_floor_id;
    memcpy(id, g_floor_id, sizeof id);
    unlock();
    for (size_t i = 1; i < r.n_held_epochs; i++) /* ascending */
        for (size_t j = i; j > 0 && held[j - 1] > held[j]; j--) {
            uint64_t t = held[j];
            held[j] = held[j - 1];
            held[j - 1] = t;
        }
    r.held_epochs = held;
    if (has_id) TRY(tee_counter_read(id, &r.destroyed_below));
    if (keys_current(&k)) {
        r.has_key = true;
        r.key_epoch = k.epoch;
        commitment(k.epoch, k.key, c);
        r.key_commitment.data = c;
        r.key_commitment.len = sizeof c;
        veil_wipe(&k, sizeof k);
    }
    return tve_pack_out(&r.base, out, out_cap, out_len);
}

static veil_status key_result(uint64_t epoch, const uint8_t key[static VEIL_AEAD_KEY_LEN],
                              uint8_t *sealed, size_t sealed_len, uint8_t *out, size_t out_cap,
                              size_t *out_len)
{
    Veil__Tve__Enclave__KeyResult r = VEIL__TVE__ENCLAVE__KEY_RESULT__INIT;
    uint8_t c[32];
    commitment(epoch, key, c);
    r.epoch = epoch;
    r.sealed_key.data = sealed;
    r.sealed_key.len = sealed_len;
    r.key_commitment.data = c;
    r.key_commitment.len = sizeof c;
    return tve_pack_out(&r.base, out, out_cap, out_len);
}

/* The key floor's id: the one the keys loaded so far carry, or (with `want` NULL and
 * none yet) a fresh one. A key carrying another id than the table's is refused. */
static veil_status floor_id_use(const uint8_t *want, uint8_t id[static TEE_COUNTER_ID_LEN])
{
    uint8_t fresh[TEE_COUNTER_ID_LEN];
    if (want == NULL) TRY(tee_random(fresh, sizeof fresh));
    veil_status st = VEIL_OK;
    lock();
    if (!g_has_floor_id) {
        memcpy(g_floor_id, want != NULL ? want : fresh, TEE_COUNTER_ID_LEN);
        g_has_floor_id = true;
    } else if (want != NULL && !veil_ct_equal(g_floor_id, want, TEE_COUNTER_ID_LEN)) {
        st = VEIL_ERR_TVE_STORE_DAMAGED; /* keys of two stores mixed */
    }
    memcpy(id, g_floor_id, TEE_COUNTER_ID_LEN);
    unlock();
    return st;
}

/* Whether a key of epoch may still live here: at or above the floor. */
static veil_status floor_admits(const uint8_t id[static TEE_COUNTER_ID_LEN], uint64_t epoch)
{
    uint64_t floor;
    TRY(tee_counter_read(id, &floor));
    return epoch >= floor ? VEIL_OK : VEIL_ERR_TVE_KEY_DESTROYED;
}

/* A key new to this enclave (drawn here, or received from a peer): sealed to the signer
 * for the host's store with the floor id (AAD binds the epoch), added to the table,
 * answered as KeyResult. */
static veil_status key_adopt(uint64_t epoch, const uint8_t key[static VEIL_AEAD_KEY_LEN],
                             uint8_t *out, size_t out_cap, size_t *out_len)
{
    uint8_t aad[32], pt[VEIL_AEAD_KEY_LEN + TEE_COUNTER_ID_LEN];
    uint8_t sealed[TEE_SEAL_OVERHEAD_MAX + sizeof pt];
    size_t sealed_len, aad_len = epoch_key_aad(epoch, aad);
    veil_status st;
    TRY_OUT(floor_id_use(NULL, pt + VEIL_AEAD_KEY_LEN));
    TRY_OUT(floor_admits(pt + VEIL_AEAD_KEY_LEN, epoch));
    memcpy(pt, key, VEIL_AEAD_KEY_LEN);
    TRY_OUT(tee_seal(TEE_POLICY_MRSIGNER, aad, aad_len, pt, sizeof pt, sealed, sizeof sealed,
                     &sealed_len));
    TRY_OUT(keys_add(epoch, key));
    st = key_result(epoch, key, sealed, sealed_len, out, out_cap, out_len);
out:
    veil_wipe(pt, sizeof pt);
    return st;
}

static veil_status e_generate_key(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                                  size_t *out_len)
{
    Veil__Tve__Enclave__GenerateKeyCall *call;
    DECODE(GenerateKeyCall, veil__tve__enclave__generate_key_call__unpack, in, in_len, call);
    uint64_t epoch = call->epoch;
    protobuf_c_message_free_unpacked(&call->base, &tve_alloc);

    uint8_t key[VEIL_AEAD_KEY_LEN];
    veil_tx_epoch_key existing;
    /* Keys are drawn once per epoch; a second draw would fork the epoch. */
    if (keys_current(&existing)) {
        bool taken = existing.epoch >= epoch;
        veil_wipe(&existing, sizeof existing);
        ENSURE(!taken, VEIL_ERR_EXISTS);
    }
    TRY(tee_random(key, sizeof key));
    veil_status st = key_adopt(epoch, key, out, out_cap, out_len);
    veil_wipe(key, sizeof key);
    return st;
}

static veil_status e_load_key(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                              size_t *out_len)
{
    Veil__Tve__Enclave__LoadKeyCall *call;
    DECODE(LoadKeyCall, veil__tve__enclave__load_key_call__unpack, in, in_len, call);
    veil_status st;
    uint8_t key[VEIL_AEAD_KEY_LEN + TEE_COUNTER_ID_LEN + 1], aad[32], id[TEE_COUNTER_ID_LEN];
    size_t key_len = 0, aad_len = epoch_key_aad(call->epoch, aad);
    /* The AAD binds the epoch: a key sealed for one epoch cannot be loaded as another. */
    TRY_OUT(tee_unseal(call->sealed_key.data, call->sealed_key.len, aad, aad_len, key, sizeof key,
                       &key_len));
    if (key_len == VEIL_AEAD_KEY_LEN) {
        /* A copy sealed before key floors existed (the key alone): adopted under this
         * enclave's floor and answered sealed again in today's form, which the host
         * stores in its place. */
        st = key_adopt(call->epoch, key, out, out_cap, out_len);
        goto out;
    }
    ENSURE_OUT(key_len == VEIL_AEAD_KEY_LEN + TEE_COUNTER_ID_LEN, VEIL_ERR_MALFORMED);
    /* A destroyed key's copy still opens (the signer's sealing key is the same); the
     * floor it carries the id of is what refuses it. */
    TRY_OUT(floor_id_use(key + VEIL_AEAD_KEY_LEN, id));
    TRY_OUT(floor_admits(id, call->epoch));
    TRY_OUT(keys_add(call->epoch, key));
    st = key_result(call->epoch, key, NULL, 0, out, out_cap, out_len);
out:
    veil_wipe(key, sizeof key);
    protobuf_c_message_free_unpacked(&call->base, &tve_alloc);
    return st;
}

/* E_KEY_EXPORT: the key of one epoch this enclave holds, for a TDBE to serve a peer:
 * sealed under the TDBE<->TVE channel key, which only a TDBE of this signer on this
 * platform that passed the hand-off holds. */
static veil_status e_key_export(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                                size_t *out_len)
{
    Veil__Tve__Enclave__ExportKeyCall *call;
    DECODE(ExportKeyCall, veil__tve__enclave__export_key_call__unpack, in, in_len, call);
    uint64_t epoch = call->epoch;
    protobuf_c_message_free_unpacked(&call->base, &tve_alloc);
    veil_tx_epoch_key all[MAX_EPOCH_KEYS];
    size_t n = keys_copy(all), i = 0;
    while (i < n && all[i].epoch != epoch) i++;
    veil_status st = VEIL_ERR_TVE_NO_KEY;
    uint8_t k[TVE_CHANNEL_KEY_LEN], bind[8];
    veil_put_u64(bind, epoch);
    if (i < n && (st = tve_channel_key(TDBE_PRODID, k)) == VEIL_OK)
        st = tve_channel_seal(k, TVE_CHANNEL_KEY_EXPORT_LABEL, bind, sizeof bind, all[i].key,
                              VEIL_AEAD_KEY_LEN, out, out_cap, out_len);
    veil_wipe(k, sizeof k);
    veil_wipe(all, sizeof all);
    return st;
}

/* E_KEY_IMPORT: a key a TDBE fetched from a peer. It must open under the TDBE<->TVE
 * channel key (a key the host offers directly does not) and have the commitment the
 * chain named; then it is sealed to the signer for the host's store and used. */
static veil_status e_key_import(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                                size_t *out_len)
{
    Veil__Tve__Enclave__ImportKeyCall *call;
    DECODE(ImportKeyCall, veil__tve__enclave__import_key_call__unpack, in, in_len, call);
    veil_status st;
    uint8_t k[TVE_CHANNEL_KEY_LEN], key[VEIL_AEAD_KEY_LEN + 1], bind[8], c[32];
    size_t key_len = 0;
    ENSURE_OUT(call->key_commitment.len == 32, VEIL_ERR_MALFORMED);
    ENSURE_OUT(call->sealed.len == VEIL_AEAD_KEY_LEN + TVE_CHANNEL_OVERHEAD,
               VEIL_ERR_HANDOFF_CHANNEL);
    veil_put_u64(bind, call->epoch);
    TRY_OUT(tve_channel_key(TDBE_PRODID, k));
    TRY_OUT(tve_channel_open(k, TVE_CHANNEL_KEY_IMPORT_LABEL, bind, sizeof bind,
                             call->sealed.data, call->sealed.len, key, sizeof key, &key_len));
    ENSURE_OUT(key_len == VEIL_AEAD_KEY_LEN, VEIL_ERR_MALFORMED);
    commitment(call->epoch, key, c);
    ENSURE_OUT(veil_ct_equal(c, call->key_commitment.data, sizeof c), VEIL_ERR_TVE_KEY_COMMITMENT);
    st = key_adopt(call->epoch, key, out, out_cap, out_len);
out:
    veil_wipe(k, sizeof k);
    veil_wipe(key, sizeof key);
    protobuf_c_message_free_unpacked(&call->base, &tve_alloc);
    return st;
}

/* E_DRAW_KEY: the key of the chain's next epoch, drawn here for this node's key-epoch
 * tx; drawn once (a later round of the same height gets the same commitment). */
static veil_status e_draw_key(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                              size_t *out_len)
{
    Veil__Tve__Enclave__GenerateKeyCall *call;
    DECODE(GenerateKeyCall, veil__tve__enclave__generate_key_call__unpack, in, in_len, call);
    uint64_t epoch = call->epoch;
    protobuf_c_message_free_unpacked(&call->base, &tve_alloc);
    ENSURE(epoch > 0, VEIL_ERR_ARG);
    veil_tx_epoch_key all[MAX_EPOCH_KEYS];
    size_t n = keys_copy(all);
    veil_status st = VEIL_OK;
    bool have = false;
    for (size_t i = 0; i < n && st == VEIL_OK; i++) {
        if (all[i].epoch == epoch) {
            have = true;
            st = key_result(epoch, all[i].key, NULL, 0, out, out_cap, out_len);
        } else if (all[i].epoch > epoch) {
            st = VEIL_ERR_EXISTS; /* the chain is past that epoch */
        }
    }
    veil_wipe(all, sizeof all);
    if (have || st != VEIL_OK) return st;
    uint8_t key[VEIL_AEAD_KEY_LEN];
    TRY(tee_random(key, sizeof key));
    st = key_adopt(epoch, key, out, out_cap, out_len);
    veil_wipe(key, sizeof key);
    return st;
}

/* Shape of the node's window: 1..3 ascending epochs, the current one among them,
 * commitments empty or 32 bytes. */
static veil_status window_check(const Veil__Tve__KeyWindow *w)
{
    ENSURE(w->n_epochs >= 1 && w->n_epochs <= 3, VEIL_ERR_DECODE);
    bool has_current = false;
    for (size_t i = 0; i < w->n_epochs; i++) {
        const Veil__Tve__KeyEpochInfo *e = w->epochs[i];
        ENSURE(e != NULL && (e->commitment.len == 0 || e->commitment.len == 32), VEIL_ERR_DECODE);
        ENSURE(i == 0 || e->epoch == w->epochs[i - 1]->epoch + 1, VEIL_ERR_DECODE);
        has_current |= e->epoch == w->current_epoch;
    }
    ENSURE(has_current, VEIL_ERR_DECODE);
    return VEIL_OK;
}

/* E_KEY_WINDOW: the chain's epochs for the next block. Keys below the window are
 * destroyed: the floor counter moves past them first (their sealed copies never open
 * again, whatever the host keeps), then they are wiped and named for the host to
 * delete. A key whose commitment is not the chain's for its epoch (a draw that lost)
 * is dropped. The newest committed epoch of the window whose key is missing is named
 * as awaited (the TDBE fetches it). The host chooses the window (it is the node's
 * consensus state, docs/key-epochs.md); a lie can only destroy keys early, which
 * stops this validator, or keep them, which it could by not asking. */
static veil_status e_key_window(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                                size_t *out_len)
{
    Veil__Tve__KeyWindow *w;
    DECODE(KeyWindow, veil__tve__key_window__unpack, in, in_len, w);
    Veil__Tve__Enclave__KeyWindowResult r = VEIL__TVE__ENCLAVE__KEY_WINDOW_RESULT__INIT;
    uint64_t destroyed[MAX_EPOCH_KEYS], dropped[MAX_EPOCH_KEYS], floor = 0, v;
    uint8_t id[TEE_COUNTER_ID_LEN], c[32], awaited_c[32];
    veil_status st;
    TRY_OUT(window_check(w));
    uint64_t low = w->epochs[0]->epoch;
    TRY_OUT(floor_id_use(NULL, id));
    TRY_OUT(tee_counter_read(id, &floor));
    ENSURE_OUT(low <= floor || low - floor <= FLOOR_STEP_MAX, VEIL_ERR_ARG);
    for (v = floor; v < low;) TRY_OUT(tee_counter_increment(id, &v));

    lock();
    for (size_t i = 0; i < g_n_keys;) {
        uint64_t e = g_keys[i].epoch;
        const Veil__Tve__KeyEpochInfo *info = NULL;
        for (size_t j = 0; j < w->n_epochs; j++)
            if (w->epochs[j]->epoch == e) info = w->epochs[j];
        if (e < low) {
            destroyed[r.n_destroyed++] = e;
            keys_remove_locked(i);
            continue;
        }
        if (info != NULL && info->commitment.len == 32) {
            commitment(e, g_keys[i].key, c);
            if (!veil_ct_equal(c, info->commitment.data, 32)) {
                dropped[r.n_dropped++] = e;
                keys_remove_locked(i);
                continue;
            }
        }
        i++;
    }
    g_has_window = true;
    g_current_epoch = w->current_epoch;
    for (size_t j = w->n_epochs; j-- > 0;) {
        const Veil__Tve__KeyEpochInfo *info = w->epochs[j];
        bool held = false;
        for (size_t i = 0; i < g_n_keys; i++) held |= g_keys[i].epoch == info->epoch;
        if (!held && info->commitment.len == 32) {
            r.awaiting = true;
            r.awaited_epoch = info->epoch;
            memcpy(awaited_c, info->commitment.data, 32);
            r.awaited_commitment.data = awaited_c;
            r.awaited_commitment.len = 32;
            break;
        }
    }
    unlock();
    r.destroyed = destroyed;
    r.dropped = dropped;
    st = tve_pack_out(&r.base, out, out_cap, out_len);
out:
    veil_wipe(c, sizeof c);
    protobuf_c_message_free_unpacked(&w->base, &tve_alloc);
    return st;
}

static veil_status e_verify(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                            size_t *out_len)
{
    Veil__Tve__Enclave__VerifyCall *call;
    DECODE(VerifyCall, veil__tve__enclave__verify_call__unpack, in, in_len, call);
    veil_status st;
    call_env *ce = tee_alloc(sizeof *ce);
    veil_tx_outcome *o = tee_alloc(sizeof *o);
    uint8_t *sealed = tee_alloc(TVE_SEALED_TX_MAX);
    bool spent[VEIL_TX_MAX_INPUTS];
    size_t sealed_len = 0;

    ENSURE_OUT(ce != NULL && o != NULL && sealed != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    ENSURE_OUT(call->mode == VEIL__TVE__MODE__CHECK || call->mode == VEIL__TVE__MODE__DELIVER,
               VEIL_ERR_DECODE);
    ENSURE_OUT(call->n_input_spent <= VEIL_TX_MAX_INPUTS, VEIL_ERR_TX_TOO_MANY_INPUTS);
    for (size_t i = 0; i < call->n_input_spent; i++) spent[i] = call->input_spent[i];
    TRY_OUT(env_init(ce, call->params, call->account));
    veil_tx_state state = {spent, call->n_input_spent,
                           call->account != NULL ? &ce->account : NULL};
    TRY_OUT(veil_tx_validate(&ce->env, &state, call->tx.data, call->tx.len, o));

    Veil__Tve__Enclave__VerifyResult r = VEIL__TVE__ENCLAVE__VERIFY_RESULT__INIT;
    Veil__Tve__TxOutcome om = VEIL__TVE__TX_OUTCOME__INIT;
    outcome_to(o, &om);
    r.outcome = &om;
    if (call->mode == VEIL__TVE__MODE__DELIVER) {
        uint8_t aad[64];
        size_t aad_len = tve_sealed_tx_aad(o->txid, aad);
        TRY_OUT(tee_seal(TEE_POLICY_MRSIGNER, aad, aad_len, o->payload, o->payload_len, sealed,
                         TVE_SEALED_TX_MAX, &sealed_len));
        r.sealed_tx.data = sealed;
        r.sealed_tx.len = sealed_len;
    }
    TRY_OUT(tve_pack_out(&r.base, out, out_cap, out_len));
    /* Only a tx the host received as valid contributes to the published filter. */
    if (call->mode == VEIL__TVE__MODE__DELIVER) bloom_deliver(call->height, &o->body);
out:
    if (o != NULL) veil_tx_outcome_wipe(o);
    if (ce != NULL) env_wipe(ce);
    tee_free(o);
    tee_free(ce);
    tee_free(sealed);
    protobuf_c_message_free_unpacked(&call->base, &tve_alloc);
    return st;
}

static veil_status e_end_block(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                               size_t *out_len)
{
    Veil__Tve__Enclave__EndBlockCall *call;
    DECODE(EndBlockCall, veil__tve__enclave__end_block_call__unpack, in, in_len, call);
    uint64_t height = call->height;
    protobuf_c_message_free_unpacked(&call->base, &tve_alloc);

    uint8_t bits[VEIL_BLOOM_BYTES] = {0};
    lock();
    if (g_bloom_height == height) {
        for (size_t i = 0; i < VEIL_BLOOM_BYTES / 8; i++) {
            uint64_t w = atomic_load(&g_bloom_words[i]);
            for (size_t b = 0; b < 8; b++) bits[8 * i + b] = (uint8_t)(w >> (8 * b));
        }
    }
    /* A block's filter is read once; the next block starts empty. */
    bloom_reset_locked(height + 1);
    unlock();
    Veil__Tve__Enclave__EndBlockResult r = VEIL__TVE__ENCLAVE__END_BLOCK_RESULT__INIT;
    r.bloom.data = bits;
    r.bloom.len = sizeof bits;
    return tve_pack_out(&r.base, out, out_cap, out_len);
}

/* Opens an EncryptOrder the TQE sealed for us (the caller frees *order with tve_alloc).
 * The order was sealed whole, so its fee and the chain state in it are the TQE
 * enclave's: the wallet's fee, and parameters, account and spent flags its light client
 * proved. No host chose any of them. */
static veil_status order_open(const ProtobufCBinaryData *sealed, Veil__Tve__EncryptOrder **order)
{
    veil_status st;
    size_t pt_len = 0;
    uint8_t k[TVE_CHANNEL_KEY_LEN];
    Veil__Tve__EncryptOrder *o = NULL;
    uint8_t *pt = tee_alloc(TVE_SEALED_TX_MAX);
    ENSURE_OUT(pt != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    /* Only a TQE that passed the hand-off holds the channel key. */
    TRY_OUT(tve_channel_key(TQE_PRODID, k));
    st = tve_channel_open(k, TVE_CHANNEL_ORDER_LABEL, NULL, 0, sealed->data, sealed->len, pt,
                          TVE_SEALED_TX_MAX, &pt_len);
    veil_wipe(k, sizeof k);
    TRY_OUT(st);
    o = veil__tve__encrypt_order__unpack(&tve_alloc, pt_len, pt);
    ENSURE_OUT(o != NULL && veil_pb_is_canonical(&o->base, pt, pt_len), VEIL_ERR_DECODE);
    ENSURE_OUT(o->payload.len >= 1 && o->payload.len <= VEIL_TX_MAX_PAYLOAD_LEN,
               VEIL_ERR_TX_TOO_LARGE);
    /* Version 3: an order without proven state (an older TQE's) is not judged. */
    ENSURE_OUT(o->params != NULL && o->n_input_spent <= VEIL_TX_MAX_INPUTS, VEIL_ERR_DECODE);
    *order = o;
    o = NULL;
    st = VEIL_OK;
out:
    if (o != NULL) protobuf_c_message_free_unpacked(&o->base, &tve_alloc);
    if (pt != NULL) veil_wipe(pt, TVE_SEALED_TX_MAX);
    tee_free(pt);
    return st;
}

static veil_status e_encrypt(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                             size_t *out_len)
{
    Veil__Tve__Enclave__EncryptCall *call;
    DECODE(EncryptCall, veil__tve__enclave__encrypt_call__unpack, in, in_len, call);
    veil_status st;
    Veil__Tve__EncryptOrder *order = NULL;
    call_env *ce = tee_alloc(sizeof *ce);
    veil_tx_outcome *o = tee_alloc(sizeof *o);
    veil_tx_wire *wire = tee_alloc(sizeof *wire);
    /* Holds any stored blob of the same txid. */
    uint8_t *blob = tee_alloc(TVE_SEALED_TX_MAX);
    uint8_t *tx = tee_alloc(VEIL_TX_MAX_WIRE_LEN);
    uint8_t nonce[VEIL_TX_NONCE_LEN];
    bool spent[VEIL_TX_MAX_INPUTS];
    size_t tx_len = 0, blob_len = 0;
    veil_tx_epoch_key current;

    ENSURE_OUT(ce != NULL && o != NULL && wire != NULL && blob != NULL && tx != NULL,
               VEIL_ERR_TEE_OUT_OF_MEMORY);
    ENSURE_OUT(keys_current(&current), VEIL_ERR_TVE_NO_KEY);
    TRY_OUT(order_open(&call->sealed_order, &order));
    TRY_OUT(env_init(ce, order->params, order->account));
    TRY_OUT(tee_random(nonce, sizeof nonce));
    TRY_OUT(veil_tx_wire_seal(order->payload.data, order->payload.len, order->fee,
                              current.epoch, current.key, nonce, &tve_alloc, tx,
                              VEIL_TX_MAX_WIRE_LEN, &tx_len));
    TRY_OUT(veil_tx_wire_decode(tx, tx_len, &tve_alloc, wire));
    /* A tx already committed is refused before any rule runs: a replayed order must not
     * become a fresh question about a committed tx. The store answers through the host,
     * which could deny the tx exists; it then only gets the same verdict as before,
     * since every value the rules read is sealed in the order or public. */
    TRY_OUT(tee_ocall(TVE_O_GET_SEALED, wire->txid, VEIL_TX_ID_LEN, blob, TVE_SEALED_TX_MAX,
                      &blob_len));
    ENSURE_OUT(blob_len == 0, VEIL_ERR_TVE_TX_EXISTS);
    /* One proven flag per public input: the TQE proved them for this payload's inputs. */
    ENSURE_OUT(order->n_input_spent == wire->n_inputs, VEIL_ERR_DECODE);
    for (size_t i = 0; i < wire->n_inputs; i++) spent[i] = order->input_spent[i];
    veil_tx_state state = {spent, wire->n_inputs, order->account != NULL ? &ce->account : NULL};
    /* The same validation a block would apply: nothing invalid gets encrypted. */
    TRY_OUT(veil_tx_validate(&ce->env, &state, tx, tx_len, o));
    Veil__Tve__Enclave__EncryptResult r = VEIL__TVE__ENCLAVE__ENCRYPT_RESULT__INIT;
    r.tx.data = tx;
    r.tx.len = tx_len;
    st = tve_pack_out(&r.base, out, out_cap, out_len);
out:
    veil_wipe(&current, sizeof current);
    if (order != NULL) {
        veil_wipe(order->payload.data, order->payload.len);
        protobuf_c_message_free_unpacked(&order->base, &tve_alloc);
    }
    if (o != NULL) veil_tx_outcome_wipe(o);
    if (ce != NULL) env_wipe(ce);
    tee_free(blob);
    tee_free(tx);
    tee_free(wire);
    tee_free(o);
    tee_free(ce);
    protobuf_c_message_free_unpacked(&call->base, &tve_alloc);
    return st;
}

#ifdef VEIL_TVE_TEST_BREACH
/* Test images only (veil_tve_enclave_breach, signed by the test signer, never
 * installed): what an attacker who breaks into this enclave at one moment takes away,
 * the raw key of an epoch it holds then. in: epoch (u64 BE); out: the key. The breach
 * test (tests/test_key_epochs.c) shows what that key opens on chain and what not. */
static veil_status e_test_breach(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                                 size_t *out_len)
{
    ENSURE(in_len == 8 && out_cap >= VEIL_AEAD_KEY_LEN, VEIL_ERR_ARG);
    uint64_t epoch = veil_get_u64(in);
    veil_tx_epoch_key all[MAX_EPOCH_KEYS];
    size_t n = keys_copy(all);
    veil_status st = VEIL_ERR_TVE_NO_KEY;
    for (size_t i = 0; i < n; i++) {
        if (all[i].epoch != epoch) continue;
        memcpy(out, all[i].key, VEIL_AEAD_KEY_LEN);
        *out_len = VEIL_AEAD_KEY_LEN;
        st = VEIL_OK;
    }
    veil_wipe(all, sizeof all);
    return st;
}
/* in: epoch (u64 BE) || key (32); out: the key sealed as copies were before key
 * floors (the key alone), to test their upgrade on load. */
static veil_status e_test_seal_legacy(const uint8_t *in, size_t in_len, uint8_t *out,
                                      size_t out_cap, size_t *out_len)
{
    ENSURE(in_len == 8 + VEIL_AEAD_KEY_LEN, VEIL_ERR_ARG);
    uint8_t aad[32];
    size_t aad_len = epoch_key_aad(veil_get_u64(in), aad);
    return tee_seal(TEE_POLICY_MRSIGNER, aad, aad_len, in + 8, VEIL_AEAD_KEY_LEN, out, out_cap,
                    out_len);
}
#define TVE_TEST_ECALLS , e_test_breach, e_test_seal_legacy
#else
#define TVE_TEST_ECALLS
#endif

TEE_ENCLAVE_DEFINE(NULL, e_status, e_generate_key, e_load_key, e_verify, e_end_block, e_encrypt,
                   tve_e_handoff, tve_e_export, e_key_export, e_key_import, e_draw_key,
                   e_key_window, tve_e_tx_export, tve_e_tx_import TVE_TEST_ECALLS);
