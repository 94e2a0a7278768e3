/* The transaction query enclave (TQE).
 *
 * Wallets talk to it over attested TLS terminated here (ratls_server.h): the host
 * only moves ciphertext between sockets and TQE_E_FEED. Inside TLS the wallet protocol
 * (tqe_conn.h) seals plaintext txs to the TVE for encryption and answers blind queries
 * with the txs that name the querier's view key. Plaintext leaves only inside TLS or
 * sealed to the signer.
 *
 * Thread-safe: the host may feed different connections on different threads; one
 * connection is used by one thread at a time (a second caller gets
 * VEIL_ERR_OUT_OF_ORDER).
 */
#include <stdatomic.h>
#include <stddef.h>

#include <sodium.h>
#include <string.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "tee/tee.h"
#include "tee/tee_pb.h"
#include "trusted/lightclient/lc_enclave.h"
#include "trusted/ratls/ratls_server.h"
#include "trusted/tqe/tqe_abi.h"
#include "trusted/tqe/tqe_conn.h"
#include "trusted/tqe/tqe_state.h"
#include "trusted/tve/tve_abi.h"
#include "trusted/tve/tve_channel.h"
#include "trusted/tx/tx.h"

/* Plaintext read from a session per step. */
#define READ_CHUNK (16u * 1024u)

/* --- the TQE<->TVE channel (tve_channel.h) ------------------------------------------ */
static tve_handoff_client g_handoff = TVE_HANDOFF_CLIENT_INIT;

/* A copy of the channel key; VEIL_ERR_HANDOFF_NONE before the hand-off. */
static veil_status channel_key(uint8_t k[static TVE_CHANNEL_KEY_LEN])
{
    return tve_handoff_client_key(&g_handoff, k);
}

/* TQE_E_HANDOFF_BEGIN / _END (tqe_abi.h). */
static veil_status e_handoff_begin(const uint8_t *in, size_t in_len, uint8_t *out,
                                   size_t out_cap, size_t *out_len)
{
    return tve_handoff_client_begin(&g_handoff, in, in_len, out, out_cap, out_len);
}

static veil_status e_handoff_end(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                                 size_t *out_len)
{
    (void)out, (void)out_cap;
    *out_len = 0;
    return tve_handoff_client_end(&g_handoff, in, in_len);
}

/* Seals an EncryptOrder for the TVE under the channel key: what a wallet's encrypt
 * request does inside the protocol core. Only test images (VEIL_TQE_TEST_SEAL) also
 * expose it as ecall 0, so tests and benchmarks can seal orders without a TLS wallet;
 * a production image has no such ecall (VEIL_ERR_TEE_NO_ECALL). */
static veil_status e_seal_payload(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                                  size_t *out_len)
{
    ENSURE(in_len > 0, VEIL_ERR_TRUNCATED);
    ENSURE(in_len <= TQE_ORDER_MAX, VEIL_ERR_TX_TOO_LARGE);
    uint8_t k[TVE_CHANNEL_KEY_LEN];
    TRY(channel_key(k));
    veil_status st = tve_channel_seal(k, TVE_CHANNEL_ORDER_LABEL, NULL, 0, in, in_len, out,
                                      out_cap, out_len);
    veil_wipe(k, sizeof k);
    return st;
}

/* --- the protocol core's backend ---------------------------------------------------- */

static ProtobufCAllocator g_alloc = TEE_PB_ALLOCATOR(NULL);

static veil_status be_random(void *ctx, uint8_t *buf, size_t n)
{
    (void)ctx;
    return tee_random(buf, n);
}

static veil_status be_seal_order(void *ctx, const uint8_t *pt, size_t pt_len, uint8_t *out,
                                   size_t out_cap, size_t *out_len)
{
    (void)ctx;
    return e_seal_payload(pt, pt_len, out, out_cap, out_len);
}

static veil_status be_unseal_tx(void *ctx, const uint8_t txid[32], const uint8_t *blob,
                                size_t blob_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    (void)ctx;
    uint8_t k[TVE_CHANNEL_KEY_LEN];
    TRY(channel_key(k));
    veil_status st = tve_channel_open(k, TVE_CHANNEL_EXPORT_LABEL, txid, VEIL_TX_ID_LEN, blob,
                                      blob_len, out, out_cap, out_len);
    veil_wipe(k, sizeof k);
    return st;
}

static veil_status be_tve_call(void *ctx, tqe_tve_call which, const uint8_t *in, size_t in_len,
                               uint8_t *out, size_t out_cap, size_t *out_len)
{
    (void)ctx;
    uint32_t idx = which == TQE_TVE_ENCRYPT ? TQE_O_TVE_ENCRYPT : TQE_O_TVE_GET_SEALED;
    return tee_ocall(idx, in, in_len, out, out_cap, out_len);
}

/* The state an encrypt is judged against: the host answers TQE_O_CHAIN_STATE with
 * records and proofs at a height it names; this enclave's light client must have
 * verified the header of that height, whose app hash they must verify against. */
static veil_status be_chain_state(void *ctx, const veil_tx_body *body, tqe_chain_state *out,
                                  char *chain_id, uint64_t *block_time)
{
    (void)ctx;
    tqe_state_key keys[TQE_STATE_MAX_KEYS];
    uint8_t req[TQE_STATE_REQUEST_MAX];
    size_t req_len = 0, n = 0;
    TRY(tqe_state_request_encode(keys, tqe_state_keys(body, keys), req, sizeof req, &req_len));
    uint8_t *answer = tee_alloc(TQE_STATE_ANSWER_MAX);
    ENSURE(answer != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    lc_recent r;
    char cid[CMT_MAX_CHAIN_ID_LEN + 1];
    int64_t height = 0;
    veil_status st = tee_ocall(TQE_O_CHAIN_STATE, req, req_len, answer, TQE_STATE_ANSWER_MAX, &n);
    if (st != VEIL_OK) st = st == VEIL_ERR_TQE_NOT_SYNCED ? st : VEIL_ERR_TQE_UNAVAILABLE;
    if (st == VEIL_OK) st = tqe_state_answer_height(answer, n, &height);
    /* A height this light client has not verified (or forgot): the host's word alone. */
    if (st == VEIL_OK && lc_enclave_recent(height, &r, cid) != VEIL_OK) st = VEIL_ERR_TQE_NOT_SYNCED;
    if (st == VEIL_OK && (r.app_hash_len != 32 || strlen(cid) > VEIL_TX_MAX_CHAIN_ID_LEN ||
                          r.time.seconds < 0))
        st = VEIL_ERR_TQE_STATE_PROOF;
    if (st == VEIL_OK) st = tqe_state_verify(&g_alloc, answer, n, r.app_hash, body, out);
    if (st == VEIL_OK) {
        memcpy(chain_id, cid, strlen(cid) + 1);
        *block_time = (uint64_t)r.time.seconds;
    }
    tee_free(answer);
    return st;
}

static veil_status be_evidence(void *ctx, const tqe_conn *conn, const uint8_t *nonce,
                               size_t nonce_len, uint8_t *out, size_t out_cap, size_t *out_len);

static veil_status be_report(void *ctx, const uint8_t *evidence, size_t evidence_len, uint8_t *out,
                             size_t out_cap, size_t *out_len)
{
    (void)ctx;
    return ratls_evidence_report(evidence, evidence_len, out, out_cap, out_len);
}

static const tqe_backend g_backend = {.ctx = NULL,
                                      .alloc = &g_alloc,
                                      .random = be_random,
                                      .seal_order = be_seal_order,
                                      .unseal_tx = be_unseal_tx,
                                      .chain_state = be_chain_state,
                                      .tve_call = be_tve_call,
                                      .evidence = be_evidence,
                                      .report = be_report};


/* --- identity and connection table ------------------------------------------------- */

typedef struct slot {
    bool in_use, busy;
    uint32_t handle;
    ratls_session *tls;
    tqe_conn conn;
} slot;

static atomic_flag g_lock = ATOMIC_FLAG_INIT; /* guards everything below */
static ratls_identity *g_identity;
static slot g_slots[TQE_MAX_CONNECTIONS];
static uint32_t g_generation;

/* The connection's slot holds its TLS session (conn is a member of the slot). */
static veil_status be_evidence(void *ctx, const tqe_conn *conn, const uint8_t *nonce,
                               size_t nonce_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    (void)ctx;
    const slot *s = (const slot *)(const void *)((const char *)conn - offsetof(slot, conn));
    return ratls_session_evidence(s->tls, nonce, nonce_len, out, out_cap, out_len);
}

static void lock(void)
{
    while (atomic_flag_test_and_set_explicit(&g_lock, memory_order_acquire)) {
    }
}
static void unlock(void) { atomic_flag_clear_explicit(&g_lock, memory_order_release); }

static veil_status e_identity(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                              size_t *out_len)
{
    ENSURE(in_len == 8, VEIL_ERR_MALFORMED);
    uint64_t now = veil_get_u64(in);
    veil_status st = VEIL_OK;
    lock();
    bool renew = g_identity == NULL || ratls_identity_needs_renewal(g_identity, now);
    unlock();
    if (renew) {
        /* Made outside the lock: a quote, and with an attestation proxy the service's
         * report, can take a while, and other threads spin on the lock meanwhile. */
        ratls_identity *fresh = NULL, *old = NULL;
        st = ratls_identity_create(now, &fresh);
        if (st != VEIL_OK) return st;
        lock();
        if (g_identity == NULL || ratls_identity_needs_renewal(g_identity, now)) {
            old = g_identity; /* sessions hold their own reference: they are left be */
            g_identity = fresh;
        } else {
            old = fresh; /* another thread renewed it first */
        }
        unlock();
        ratls_identity_free(old);
    }
    lock();
    if (st == VEIL_OK) {
        const uint8_t *der = NULL;
        size_t len = 0;
        ratls_identity_cert_der(g_identity, &der, &len);
        if (len > out_cap) {
            st = VEIL_ERR_BUFFER_TOO_SMALL;
        } else {
            memcpy(out, der, len);
            *out_len = len;
        }
    }
    unlock();
    return st;
}

static veil_status e_open(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                          size_t *out_len)
{
    (void)in;
    ENSURE(in_len == 0, VEIL_ERR_MALFORMED);
    ENSURE(out_cap >= 4, VEIL_ERR_BUFFER_TOO_SMALL);
    veil_status st = VEIL_ERR_LIMIT;
    lock();
    if (g_identity == NULL) {
        st = VEIL_ERR_OUT_OF_ORDER;
        goto out;
    }
    for (uint32_t i = 0; i < TQE_MAX_CONNECTIONS; i++) {
        slot *s = &g_slots[i];
        if (s->in_use) continue;
        ratls_session *tls = NULL;
        st = ratls_session_new(g_identity, &tls);
        if (st != VEIL_OK) goto out;
        /* A handle names one connection's lifetime: slot index and a generation, so a
         * stale handle cannot reach the slot's next occupant. */
        g_generation = (g_generation + 1) & 0xffffffu;
        memset(s, 0, sizeof *s);
        s->in_use = true;
        s->tls = tls;
        s->handle = (g_generation << 8) | i;
        tqe_conn_init(&s->conn);
        veil_put_u32(out, s->handle);
        *out_len = 4;
        break;
    }
out:
    unlock();
    return st;
}

/* Marks the handle's slot busy and returns it, or NULL. */
static slot *slot_acquire(uint32_t handle, veil_status *st)
{
    uint32_t i = handle & 0xffu;
    slot *s = NULL;
    *st = VEIL_ERR_NOT_FOUND;
    lock();
    if (i < TQE_MAX_CONNECTIONS && g_slots[i].in_use && g_slots[i].handle == handle) {
        if (g_slots[i].busy) {
            *st = VEIL_ERR_OUT_OF_ORDER;
        } else {
            s = &g_slots[i];
            s->busy = true;
            *st = VEIL_OK;
        }
    }
    unlock();
    return s;
}

static void slot_release(slot *s)
{
    lock();
    s->busy = false;
    unlock();
}

static veil_status tls_write(void *wctx, const uint8_t *data, size_t len)
{
    return ratls_session_write(wctx, data, len);
}

/* Moves the session's plaintext through the protocol. false: close the connection. */
static bool run_protocol(slot *s)
{
    uint8_t *buf = tee_alloc(READ_CHUNK);
    if (buf == NULL) return false;
    bool keep = true;
    for (;;) {
        size_t n = 0;
        if (ratls_session_read(s->tls, buf, READ_CHUNK, &n) != VEIL_OK) {
            keep = false;
            break;
        }
        if (n == 0) break;
        if (tqe_conn_consume(&s->conn, &g_backend, buf, n, tls_write, s->tls) != VEIL_OK) {
            keep = false;
            break;
        }
    }
    veil_wipe(buf, READ_CHUNK);
    tee_free(buf);
    return keep;
}

static veil_status e_feed(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                          size_t *out_len)
{
    ENSURE(in_len >= 4, VEIL_ERR_MALFORMED);
    ENSURE(in_len - 4 <= TQE_FEED_IN_MAX, VEIL_ERR_TOO_LARGE);
    ENSURE(out_cap >= 1 + 1024, VEIL_ERR_BUFFER_TOO_SMALL);
    veil_status st;
    slot *s = slot_acquire(veil_get_u32(in), &st);
    if (s == NULL) return st;

    uint8_t flags = 0;
    size_t used = 0, n = 0;
    /* Peer bytes that break TLS (garbage instead of a ClientHello, a bad record) end
     * the connection; an alert may still be in the output. */
    if (ratls_session_feed(s->tls, in_len > 4 ? in + 4 : NULL, in_len - 4, out + 1,
                           out_cap - 1, &n) != VEIL_OK) {
        flags |= TQE_FEED_CLOSE;
    }
    used = n;
    if (!(flags & TQE_FEED_CLOSE) && ratls_session_handshake_done(s->tls)) {
        if (!run_protocol(s)) {
            ratls_session_shutdown(s->tls);
            flags |= TQE_FEED_CLOSE;
        }
        /* Responses just written are queued in the session: move them out. */
        n = 0;
        if (ratls_session_feed(s->tls, NULL, 0, out + 1 + used, out_cap - 1 - used, &n) !=
            VEIL_OK)
            flags |= TQE_FEED_CLOSE;
        used += n;
    }
    if (ratls_session_closed(s->tls)) flags |= TQE_FEED_CLOSE;
    if (ratls_session_pending_out(s->tls) > 0) flags |= TQE_FEED_MORE;
    if (ratls_session_handshake_done(s->tls)) flags |= TQE_FEED_ESTABLISHED;
    out[0] = flags;
    *out_len = 1 + used;
    slot_release(s);
    return VEIL_OK;
}

static veil_status e_close(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                           size_t *out_len)
{
    (void)out;
    (void)out_cap;
    ENSURE(in_len == 4, VEIL_ERR_MALFORMED);
    veil_status st;
    slot *s = slot_acquire(veil_get_u32(in), &st);
    if (s == NULL) return st;
    ratls_session_free(s->tls);
    tqe_conn_reset(&s->conn, &g_backend);
    lock();
    memset(s, 0, sizeof *s);
    unlock();
    *out_len = 0;
    return VEIL_OK;
}

static veil_status e_shutdown(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                              size_t *out_len)
{
    (void)in;
    (void)out;
    (void)out_cap;
    ENSURE(in_len == 0, VEIL_ERR_MALFORMED);
    lock();
    for (size_t i = 0; i < TQE_MAX_CONNECTIONS; i++) {
        slot *s = &g_slots[i];
        if (!s->in_use || s->busy) continue;
        ratls_session_free(s->tls);
        tqe_conn_reset(&s->conn, &g_backend);
        memset(s, 0, sizeof *s);
    }
    ratls_identity_free(g_identity);
    g_identity = NULL;
    unlock();
    lc_enclave_shutdown();
    *out_len = 0;
    return VEIL_OK;
}

#ifdef VEIL_TQE_TEST_SEAL
#define TQE_ECALL_SEAL e_seal_payload
#else
#define TQE_ECALL_SEAL NULL
#endif
TEE_ENCLAVE_DEFINE(NULL, TQE_ECALL_SEAL, e_identity, e_open, e_feed, e_close, e_shutdown,
                   e_handoff_begin, e_handoff_end,
                   /* the light client's, as lc_enclave.h defines them */
                   lc_enclave_init, lc_enclave_resume, lc_enclave_update);
