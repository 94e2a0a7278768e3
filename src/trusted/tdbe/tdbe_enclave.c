/* The transaction data bootstrapping enclave (TDBE): key sharing between validators.
 *
 * TDBEs talk to each other over mutually attested TLS 1.3 terminated here
 * (ratls_server.h): the host only moves ciphertext. Each side judges the other's
 * certificate inside the enclave (ratls_session_peer_verify: the quote through the
 * platform's verification service) against one policy: a TDBE of this enclave's
 * signer, SVN at least TDBE_SVN, not a debug enclave unless this one is, TCB
 * UpToDate. Only then does a byte of the protocol (proto/veil/tdbe.proto) pass.
 *
 * Serving: only to a member, a peer whose certificate key a node join bound to a staked,
 * unjailed account, proven by the app-hash tree (TDBE_O_MEMBERSHIP, tdbe_member.h). The
 * key of an epoch comes from this platform's TVE sealed under the
 * TDBE<->TVE channel key (TDBE_O_KEY_EXPORT), is opened here and sent inside TLS.
 * Fetching: the peer's key must have the commitment the chain named; it leaves this
 * enclave only sealed under the channel key for the TVE's E_KEY_IMPORT, which checks
 * the commitment again. docs/tdbe.md.
 *
 * Thread-safe: the host may feed different connections on different threads; one
 * connection is used by one thread at a time (a second caller gets
 * VEIL_ERR_OUT_OF_ORDER).
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "tee/tee.h"
#include "tee/tee_pb.h"
#include "trusted/ratls/ratls_server.h"
#include "trusted/tdbe/tdbe_abi.h"
#include "trusted/tve/tve_abi.h"
#include "trusted/tve/tve_channel.h"
#include "trusted/lightclient/lc_enclave.h"
#include "trusted/tdbe/tdbe_member.h"
#include "trusted/tdbe/tdbe_msg.h"
#include "trusted/tdbe/tdbe_txdata.h"
#include "veil/tdbe.pb-c.h"
#include "trusted/state/node_join.h"

static tve_handoff_client g_handoff = TVE_HANDOFF_CLIENT_INIT;

typedef struct conn {
    bool used;
    bool busy;
    uint32_t handle;
    bool fetch;
    bool data; /* tx data: fetched (TDBE_ROLE_FETCH_DATA) or served (a TxDataRequest) */
    int64_t now;
    uint64_t epoch;
    uint8_t commitment[32];
    uint8_t account[TDBE_ACCOUNT_LEN]; /* FETCH: ours, named in the request */
    ratls_session *s;
    bool verified, sent, done;
    veil_status result;
    uint32_t peer_code; /* FETCH refused by the peer: the code it gave (untrusted) */
    uint8_t *frame;     /* 4 + TDBE_FRAME_MAX, grown for a tx-data message */
    size_t frame_len, frame_cap;
    uint8_t sealed[TDBE_RESULT_MAX];
    size_t sealed_len;
    /* Tx data: the next height the stream must bring, the last one asked. */
    uint64_t next, to;
    uint64_t peer_last; /* FETCH_DATA: the server's last height, as it said (untrusted) */
    uint64_t fail_height; /* FETCH_DATA: where a check failed */
    uint32_t fail_index;
    uint8_t *out; /* FETCH_DATA: a checked batch for the host (TDBE_RESULT_DATA) */
    size_t out_len;
} conn;

static atomic_flag g_lock = ATOMIC_FLAG_INIT; /* guards the identity and the table */
static ratls_identity *g_identity;
static conn *g_conns[TDBE_MAX_CONNECTIONS];
static uint32_t g_next_handle = 1;

static void lock(void)
{
    while (atomic_flag_test_and_set_explicit(&g_lock, memory_order_acquire)) {
    }
}
static void unlock(void) { atomic_flag_clear_explicit(&g_lock, memory_order_release); }

static ProtobufCAllocator g_alloc = TEE_PB_ALLOCATOR(NULL);


/* --- identity and hand-off ---------------------------------------------------------- */

/* The identity key's seed: derived on this platform for this image, so the key a node
 * join bound stays the key after a restart or a certificate renewal. */
static veil_status identity_seed(uint8_t seed[static TEE_KEY_LEN])
{
    uint8_t id[TEE_KEY_ID_LEN];
    veil_sha256(id, "veil/tdbe-identity/v1", 21);
    tee_identity self;
    tee_self_identity(&self);
    return tee_derive_key(TEE_KEY_APP, TEE_POLICY_MRENCLAVE, self.svn, id, seed);
}

static veil_status e_identity(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                              size_t *out_len)
{
    ENSURE(in_len == 8, VEIL_ERR_MALFORMED);
    uint64_t now = veil_get_u64(in);
    lock();
    bool renew = g_identity == NULL || ratls_identity_needs_renewal(g_identity, now);
    unlock();
    if (renew) {
        ratls_identity *fresh = NULL;
        uint8_t seed[TEE_KEY_LEN];
        veil_status made = identity_seed(seed);
        if (made == VEIL_OK) made = ratls_identity_create_seeded(now, seed, &fresh);
        veil_wipe(seed, sizeof seed);
        TRY(made);
        lock();
        ratls_identity *old = g_identity; /* open sessions hold their own reference */
        g_identity = fresh;
        unlock();
        ratls_identity_free(old);
    }
    veil_status st = VEIL_OK;
    lock();
    const uint8_t *der;
    size_t len;
    ratls_identity_cert_der(g_identity, &der, &len);
    if (len <= out_cap) {
        memcpy(out, der, len);
        *out_len = len;
    } else {
        st = VEIL_ERR_BUFFER_TOO_SMALL;
    }
    unlock();
    return st;
}

static veil_status e_join_quote(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                                 size_t *out_len)
{
    ENSURE(in_len >= 1 && in_len == 1u + in[0] + 32u, VEIL_ERR_MALFORMED);
    char chain_id[256];
    memcpy(chain_id, in + 1, in[0]);
    chain_id[in[0]] = '\0';
    ENSURE(strlen(chain_id) == in[0], VEIL_ERR_MALFORMED);
    const uint8_t *account = in + 1 + in[0];
    uint8_t spki[RATLS_SPKI_MAX], rd[TEE_REPORT_DATA_LEN];
    size_t spki_len = 0, quote_len = 0;
    veil_status st = VEIL_ERR_OUT_OF_ORDER;
    lock();
    if (g_identity != NULL) {
        const uint8_t *der;
        ratls_identity_spki(g_identity, &der, &spki_len);
        memcpy(spki, der, spki_len);
        st = VEIL_OK;
    }
    unlock();
    TRY(st);
    ENSURE(out_cap >= 2 + spki_len, VEIL_ERR_BUFFER_TOO_SMALL);
    TRY(node_join_report_data(chain_id, account, spki, spki_len, rd));
    veil_put_u16(out, (uint16_t)spki_len);
    memcpy(out + 2, spki, spki_len);
    TRY(tee_quote_create(rd, out + 2 + spki_len, out_cap - 2 - spki_len, &quote_len));
    *out_len = 2 + spki_len + quote_len;
    return VEIL_OK;
}

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

/* --- connections -------------------------------------------------------------------- */

static void conn_free(conn *c)
{
    if (c == NULL) return;
    ratls_session_free(c->s);
    if (c->frame != NULL) veil_wipe(c->frame, c->frame_cap);
    tee_free(c->frame);
    tee_free(c->out); /* sealed under the channel key, and public records */
    veil_wipe(c, sizeof *c);
    tee_free(c);
}

static veil_status check_epoch(uint64_t epoch, const uint8_t commitment[static 32]);

static veil_status e_open(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                          size_t *out_len)
{
    ENSURE(in_len >= 9 && out_cap >= 4, VEIL_ERR_MALFORMED);
    bool fetch = in[0] == TDBE_ROLE_FETCH, data = in[0] == TDBE_ROLE_FETCH_DATA;
    ENSURE(in[0] == TDBE_ROLE_SERVE || fetch || data, VEIL_ERR_MALFORMED);
    ENSURE(in_len == (fetch  ? 9u + 8u + 32u + TDBE_ACCOUNT_LEN
                      : data ? 9u + 8u + 8u + TDBE_ACCOUNT_LEN
                             : 9u),
           VEIL_ERR_MALFORMED);
    uint8_t k[TVE_CHANNEL_KEY_LEN];
    TRY(tve_handoff_client_key(&g_handoff, k)); /* nothing to serve or hand over without it */
    veil_wipe(k, sizeof k);
    /* A fetch only for the commitment the chain holds: the host's word is not enough. */
    if (fetch) TRY(check_epoch(veil_get_u64(in + 9), in + 17));
    if (data)
        ENSURE(veil_get_u64(in + 9) >= 1 && veil_get_u64(in + 9) <= veil_get_u64(in + 17),
               VEIL_ERR_MALFORMED);
    conn *c = tee_calloc(1, sizeof *c);
    ENSURE(c != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    c->frame_cap = 4 + TDBE_FRAME_MAX;
    c->frame = tee_alloc(c->frame_cap);
    if (c->frame == NULL) {
        tee_free(c);
        return VEIL_ERR_TEE_OUT_OF_MEMORY;
    }
    c->fetch = fetch || data;
    c->data = data;
    c->now = (int64_t)veil_get_u64(in + 1);
    if (fetch) {
        c->epoch = veil_get_u64(in + 9);
        memcpy(c->commitment, in + 17, 32);
        memcpy(c->account, in + 49, TDBE_ACCOUNT_LEN);
    } else if (data) {
        c->next = veil_get_u64(in + 9);
        c->to = veil_get_u64(in + 17);
        memcpy(c->account, in + 25, TDBE_ACCOUNT_LEN);
    }
    veil_status st = VEIL_ERR_OUT_OF_ORDER;
    lock();
    if (g_identity != NULL) st = ratls_session_new_peer(g_identity, c->fetch, &c->s);
    size_t slot = 0;
    if (st == VEIL_OK) {
        while (slot < TDBE_MAX_CONNECTIONS && g_conns[slot] != NULL) slot++;
        if (slot == TDBE_MAX_CONNECTIONS) st = VEIL_ERR_LIMIT;
    }
    if (st == VEIL_OK) {
        c->used = true;
        c->handle = g_next_handle++;
        if (g_next_handle == 0) g_next_handle = 1;
        g_conns[slot] = c;
        veil_put_u32(out, c->handle);
        *out_len = 4;
    }
    unlock();
    if (st != VEIL_OK) conn_free(c);
    return st;
}

/* Takes the connection for this call (VEIL_ERR_OUT_OF_ORDER if another thread has it). */
static veil_status conn_take(const uint8_t *in, size_t in_len, conn **out)
{
    ENSURE(in_len >= 4, VEIL_ERR_MALFORMED);
    uint32_t h = veil_get_u32(in);
    veil_status st = VEIL_ERR_NOT_FOUND;
    lock();
    for (size_t i = 0; i < TDBE_MAX_CONNECTIONS; i++) {
        conn *c = g_conns[i];
        if (c == NULL || c->handle != h) continue;
        st = c->busy ? VEIL_ERR_OUT_OF_ORDER : VEIL_OK;
        if (st == VEIL_OK) {
            c->busy = true;
            *out = c;
        }
        break;
    }
    unlock();
    return st;
}

static void conn_put(conn *c)
{
    lock();
    c->busy = false;
    unlock();
}

/* The policy both sides apply to each other. */
static veil_status check_peer(const tee_quote_verdict *v)
{
    tee_identity self;
    tee_self_identity(&self);
    ENSURE(veil_ct_equal(v->identity.mrsigner, self.mrsigner, TEE_MEASUREMENT_LEN),
           VEIL_ERR_RATLS_MRSIGNER);
    ENSURE(v->identity.prodid == TDBE_PRODID, VEIL_ERR_RATLS_PRODID);
    ENSURE(v->identity.svn >= TDBE_SVN, VEIL_ERR_RATLS_SVN);
    ENSURE(!(v->identity.attributes & TEE_ATTR_DEBUG) || (self.attributes & TEE_ATTR_DEBUG),
           VEIL_ERR_RATLS_DEBUG);
    ENSURE(v->tcb_status == 0, VEIL_ERR_RATLS_TCB);
    return VEIL_OK;
}

/* Queues one framed message made by a tdbe_*_frame encoder into buf (`made` its
 * status, n its length), then wipes buf. */
static veil_status send_frame(conn *c, veil_status made, uint8_t *buf, const size_t *n)
{
    veil_status st = made == VEIL_OK ? ratls_session_write(c->s, buf, *n) : made;
    veil_wipe(buf, 4 + TDBE_FRAME_MAX);
    return st;
}

static void send_error(conn *c, veil_status code)
{
    uint8_t buf[4 + TDBE_FRAME_MAX];
    size_t n = 0;
    veil_status made = tdbe_error_frame(code, buf, sizeof buf, &n);
    (void)send_frame(c, made, buf, &n);
}

/* Reads plaintext into the frame buffer; true once one whole frame is there. A frame
 * longer than `max` is VEIL_ERR_TDBE_PROTOCOL, and so are bytes after it when it must
 * be the connection's last (`last`); a tx-data stream's frames follow each other. */
static veil_status read_frame(conn *c, size_t max, bool last, bool *whole)
{
    *whole = false;
    for (;;) {
        size_t want = c->frame_len < 4 ? 4 - c->frame_len : 0, n = 0, len = 0;
        if (c->frame_len >= 4) {
            TRY(tdbe_frame_len_max(c->frame, max, &len));
            want = 4 + len - c->frame_len;
            if (want == 0) {
                uint8_t extra;
                if (last) {
                    TRY(ratls_session_read(c->s, &extra, 1, &n));
                    ENSURE(n == 0, VEIL_ERR_TDBE_PROTOCOL);
                }
                *whole = true;
                return VEIL_OK;
            }
            if (4 + len > c->frame_cap) {
                uint8_t *grown = tee_alloc(4 + len);
                ENSURE(grown != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
                memcpy(grown, c->frame, c->frame_len);
                veil_wipe(c->frame, c->frame_cap);
                tee_free(c->frame);
                c->frame = grown;
                c->frame_cap = 4 + len;
            }
        }
        TRY(ratls_session_read(c->s, c->frame + c->frame_len, want, &n));
        if (n == 0) return VEIL_OK;
        c->frame_len += n;
    }
}

/* A state proof from the host (ocall `which` with `in`), and the app hash of the height
 * it names as this enclave's light client verified it. A host that cannot prove gets
 * VEIL_ERR_TDBE_MEMBERSHIP_PROOF. *proof is tee_alloc'ed (the caller frees it). */
static veil_status proven(uint32_t which, const uint8_t *in, size_t in_len, uint8_t **proof,
                          size_t *n, uint8_t app[static 32])
{
    *proof = tee_alloc(TDBE_MEMBER_PROOF_MAX);
    ENSURE(*proof != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    lc_recent r;
    char chain_id[CMT_MAX_CHAIN_ID_LEN + 1];
    int64_t height = 0;
    veil_status st = tee_ocall(which, in, in_len, *proof, TDBE_MEMBER_PROOF_MAX, n);
    if (st != VEIL_OK) st = VEIL_ERR_TDBE_MEMBERSHIP_PROOF;
    if (st == VEIL_OK) st = tdbe_member_height(*proof, *n, &height);
    if (st == VEIL_OK && (lc_enclave_recent(height, &r, chain_id) != VEIL_OK || r.app_hash_len != 32))
        st = VEIL_ERR_TDBE_MEMBERSHIP_PROOF;
    if (st == VEIL_OK) memcpy(app, r.app_hash, 32);
    return st;
}

/* Whether the client is a member: its certificate's key bound by a node join of
 * `account`, staked and not jailed, proven against the app hash (tdbe_member.h). */
static veil_status check_member(conn *c, const uint8_t account[static TDBE_ACCOUNT_LEN])
{
    uint8_t spki_hash[32], app[32], *proof = NULL;
    size_t n = 0;
    TRY(ratls_session_peer_spki_hash(c->s, spki_hash));
    veil_status st = proven(TDBE_O_MEMBERSHIP, account, TDBE_ACCOUNT_LEN, &proof, &n, app);
    if (st == VEIL_OK) st = tdbe_member_check(&g_alloc, proof, n, app, account, spki_hash,
                                              (uint64_t)(c->now < 0 ? 0 : c->now));
    tee_free(proof);
    return st;
}

/* The last (epoch, commitment) proven on chain: a chain never changes an epoch's
 * commitment, so asking the next peer of a round need not wait for another header. */
static bool g_epoch_proven;
static uint64_t g_proven_epoch;
static uint8_t g_proven_commitment[32];

/* Before fetching: the commitment this platform's TVE awaits must be the chain's, as
 * proven against this enclave's light client (tdbe_epoch_check). */
static veil_status check_epoch(uint64_t epoch, const uint8_t commitment[static 32])
{
    lock();
    bool known = g_epoch_proven && g_proven_epoch == epoch &&
                 veil_ct_equal(g_proven_commitment, commitment, 32);
    unlock();
    if (known) return VEIL_OK;
    uint8_t ep[8], app[32], *proof = NULL;
    size_t n = 0;
    veil_put_u64(ep, epoch);
    veil_status st = proven(TDBE_O_EPOCH_PROOF, ep, sizeof ep, &proof, &n, app);
    if (st == VEIL_OK) st = tdbe_epoch_check(&g_alloc, proof, n, app, epoch, commitment);
    tee_free(proof);
    if (st == VEIL_OK) {
        lock();
        g_epoch_proven = true;
        g_proven_epoch = epoch;
        memcpy(g_proven_commitment, commitment, 32);
        unlock();
    }
    return st;
}

/* Server: one KeyRequest from a member, answered with the key from this platform's
 * TVE. */
static veil_status serve(conn *c)
{
    tdbe_request q;
    TRY(tdbe_request_decode(&g_alloc, c->frame + 4, c->frame_len - 4, &q));
    TRY(check_member(c, q.account));
    if (q.data) {
        /* A tx-data stream: serve_data sends it, batch by batch. */
        c->data = true;
        c->next = q.from;
        c->to = q.to;
        return VEIL_OK;
    }
    uint64_t epoch = q.epoch;
    uint8_t ep[8], blob[128], key[TVE_EPOCH_KEY_LEN + 1], k[TVE_CHANNEL_KEY_LEN];
    uint8_t buf[4 + TDBE_FRAME_MAX];
    size_t blob_len = 0, key_len = 0, n = 0;
    veil_put_u64(ep, epoch);
    TRY(tee_ocall(TDBE_O_KEY_EXPORT, ep, sizeof ep, blob, sizeof blob, &blob_len));
    ENSURE(blob_len == TVE_EPOCH_KEY_LEN + TVE_CHANNEL_OVERHEAD, VEIL_ERR_HANDOFF_CHANNEL);
    TRY(tve_handoff_client_key(&g_handoff, k));
    veil_status st = tve_channel_open(k, TVE_CHANNEL_KEY_EXPORT_LABEL, ep, sizeof ep, blob,
                                      blob_len, key, sizeof key, &key_len);
    veil_wipe(k, sizeof k);
    if (st == VEIL_OK && key_len != TVE_EPOCH_KEY_LEN) st = VEIL_ERR_HANDOFF_CHANNEL;
    if (st == VEIL_OK) {
        veil_status made = tdbe_key_frame(epoch, key, buf, sizeof buf, &n);
        st = send_frame(c, made, buf, &n);
    }
    veil_wipe(key, sizeof key);
    return st;
}

/* Client: the peer's answer. A key must have the chain's commitment; it leaves only
 * sealed for this platform's TVE. */
static veil_status fetched(conn *c)
{
    uint8_t key[TDBE_KEY_LEN], got[32], k[TVE_CHANNEL_KEY_LEN], ep[8];
    uint32_t code = 0;
    veil_status st = tdbe_response_parse(&g_alloc, c->frame + 4, c->frame_len - 4, c->epoch, key,
                                         &code);
    if (st == VEIL_ERR_TDBE_REFUSED) c->peer_code = code;
    if (st == VEIL_OK) {
        tve_key_commitment(c->epoch, key, got);
        st = veil_ct_equal(got, c->commitment, sizeof got) ? VEIL_OK : VEIL_ERR_TDBE_KEY_MISMATCH;
    }
    if (st == VEIL_OK) st = tve_handoff_client_key(&g_handoff, k);
    if (st == VEIL_OK) {
        veil_put_u64(ep, c->epoch);
        st = tve_channel_seal(k, TVE_CHANNEL_KEY_IMPORT_LABEL, ep, sizeof ep, key, TDBE_KEY_LEN,
                              c->sealed, sizeof c->sealed, &c->sealed_len);
    }
    veil_wipe(k, sizeof k);
    veil_wipe(key, sizeof key);
    return st;
}

/* --- tx data (docs/tdbe.md, "Bootstrap") -------------------------------------------- */

#define SERVE_LOW_WATER (512u << 10) /* queued TLS output below which the next batch goes */
#define NO_INDEX 0xffffffffu

/* The next entry of a tx stream (tve_enclave_tdbe.c) whose heights must lie in
 * [first, first + n). */
static veil_status stream_next(veil_reader *t, uint64_t first, uint32_t n, uint64_t *h,
                               uint32_t *idx, ProtobufCBinaryData *payload)
{
    uint32_t len;
    const uint8_t *p;
    ENSURE(veil_read_u64(t, h) == VEIL_OK && veil_read_u32(t, idx) == VEIL_OK &&
               veil_read_u32(t, &len) == VEIL_OK && veil_read_view(t, len, &p) == VEIL_OK &&
               *h >= first && *h - first < n,
           VEIL_ERR_MALFORMED);
    *payload = (ProtobufCBinaryData){.len = len, .data = (uint8_t *)p};
    return VEIL_OK;
}

/* Server: the next batch of blocks from this platform's TVE (TDBE_O_TX_EXPORT), sent as
 * one TxData message; the last one says `end`. The payloads are opened here and leave
 * only inside TLS. */
static veil_status serve_batch(conn *c)
{
    uint8_t in[20], *ans = NULL, *pt = NULL, *buf = NULL, k[TVE_CHANNEL_KEY_LEN], bind[8];
    size_t ans_len = 0, cap = TDBE_EXPORT_OUT_SMALL, pt_len = 0, pt_cap = 0, n_frame = 0;
    Veil__Tdbe__TxBlock *blocks = NULL, **bp = NULL;
    ProtobufCBinaryData *payloads = NULL;
    veil_status st;
    veil_put_u64(in, c->next);
    veil_put_u64(in + 8, c->to);
    veil_put_u32(in + 16, TDBE_SERVE_BATCH);
    for (;;) {
        ans = tee_alloc(cap);
        ENSURE(ans != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
        st = tee_ocall(TDBE_O_TX_EXPORT, in, sizeof in, ans, cap, &ans_len);
        if (st != VEIL_ERR_BUFFER_TOO_SMALL || cap == TDBE_EXPORT_OUT_MAX) break;
        tee_free(ans);
        cap = TDBE_EXPORT_OUT_MAX;
    }
    if (st != VEIL_OK) st = VEIL_ERR_TDBE_UNAVAILABLE;
    TRY_OUT(st);
    veil_reader r = veil_reader_init(ans, ans_len);
    uint64_t last;
    uint32_t n;
    ENSURE_OUT(veil_read_u64(&r, &last) == VEIL_OK && veil_read_u32(&r, &n) == VEIL_OK &&
                   n <= 65536 && n <= c->to - c->next + 1,
               VEIL_ERR_TDBE_UNAVAILABLE);
    blocks = tee_calloc(n ? n : 1, sizeof *blocks);
    bp = tee_calloc(n ? n : 1, sizeof *bp);
    ENSURE_OUT(blocks != NULL && bp != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len;
        const uint8_t *rec;
        ENSURE_OUT(veil_read_u32(&r, &len) == VEIL_OK && veil_read_view(&r, len, &rec) == VEIL_OK,
                   VEIL_ERR_TDBE_UNAVAILABLE);
        veil__tdbe__tx_block__init(&blocks[i]);
        blocks[i].height = c->next + i;
        blocks[i].record = (ProtobufCBinaryData){.len = len, .data = (uint8_t *)rec};
        bp[i] = &blocks[i];
    }
    if (n > 0) {
        /* The txs, opened: only this enclave (and the TVE) holds the channel key. */
        pt_cap = r.len - r.pos;
        pt = tee_alloc(pt_cap ? pt_cap : 1);
        ENSURE_OUT(pt != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
        veil_put_u64(bind, c->next);
        TRY_OUT(tve_handoff_client_key(&g_handoff, k));
        st = tve_channel_open(k, TVE_CHANNEL_TX_EXPORT_LABEL, bind, sizeof bind, r.p + r.pos,
                              r.len - r.pos, pt, pt_cap, &pt_len);
        veil_wipe(k, sizeof k);
        TRY_OUT(st);
        /* Two passes over the stream: count, then point each block at its payloads. */
        size_t m = 0;
        veil_reader t = veil_reader_init(pt, pt_len);
        while (t.pos < t.len) {
            uint64_t h;
            uint32_t idx;
            ProtobufCBinaryData p;
            ENSURE_OUT(stream_next(&t, c->next, n, &h, &idx, &p) == VEIL_OK,
                       VEIL_ERR_TDBE_UNAVAILABLE);
            blocks[h - c->next].n_payloads++;
            m++;
        }
        payloads = tee_calloc(m ? m : 1, sizeof *payloads);
        ENSURE_OUT(payloads != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
        size_t at = 0;
        for (uint32_t i = 0; i < n; i++) {
            blocks[i].payloads = payloads + at;
            at += blocks[i].n_payloads;
            blocks[i].n_payloads = 0;
        }
        t = veil_reader_init(pt, pt_len);
        while (t.pos < t.len) {
            uint64_t h;
            uint32_t idx;
            ProtobufCBinaryData p;
            ENSURE_OUT(stream_next(&t, c->next, n, &h, &idx, &p) == VEIL_OK,
                       VEIL_ERR_TDBE_UNAVAILABLE);
            Veil__Tdbe__TxBlock *b = &blocks[h - c->next];
            ENSURE_OUT(idx == b->n_payloads, VEIL_ERR_TDBE_UNAVAILABLE);
            b->payloads[b->n_payloads++] = p;
        }
    }
    Veil__Tdbe__TxData d = VEIL__TDBE__TX_DATA__INIT;
    d.blocks = bp;
    d.n_blocks = n;
    d.last_height = last;
    d.end = n == 0 || c->next + n > c->to;
    Veil__Tdbe__Response resp = VEIL__TDBE__RESPONSE__INIT;
    resp.response_case = VEIL__TDBE__RESPONSE__RESPONSE_TX_DATA;
    resp.tx_data = &d;
    size_t need = 4 + protobuf_c_message_get_packed_size(&resp.base);
    ENSURE_OUT(need <= 4 + TDBE_DATA_MSG_MAX, VEIL_ERR_TOO_LARGE);
    buf = tee_alloc(need);
    ENSURE_OUT(buf != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    TRY_OUT(tdbe_data_frame(&d, buf, need, &n_frame));
    TRY_OUT(ratls_session_write(c->s, buf, n_frame));
    c->next += n;
    if (d.end) {
        c->done = true;
        c->result = VEIL_OK;
    }
out:
    if (buf != NULL) veil_wipe(buf, n_frame);
    tee_free(buf);
    if (pt != NULL) veil_wipe(pt, pt_cap);
    tee_free(pt);
    tee_free(payloads);
    tee_free(bp);
    tee_free(blocks);
    tee_free(ans);
    return st;
}

/* Server, after a member's TxDataRequest: batches while the TLS queue is short; the
 * host feeds again (TDBE_FEED_MORE) until the stream ends. */
static veil_status serve_data(conn *c)
{
    while (!c->done && ratls_session_pending_out(c->s) < SERVE_LOW_WATER) TRY(serve_batch(c));
    return VEIL_OK;
}

/* Client: the proofs that the chain holds each claimed tx where the peer says, in
 * ocalls of TDBE_PROOF_BATCH. */
static veil_status check_claims(conn *c, const tdbe_tx_claim *claims, size_t n)
{
    size_t cap = TDBE_PROOF_BATCH * (4 + TDBE_MEMBER_PROOF_MAX);
    uint8_t *ids = tee_alloc(TDBE_PROOF_BATCH * TDBE_TXID_LEN), *ans = tee_alloc(cap);
    veil_status st = VEIL_OK;
    ENSURE_OUT(ids != NULL && ans != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    for (size_t at = 0; at < n && st == VEIL_OK; at += TDBE_PROOF_BATCH) {
        size_t k = n - at < TDBE_PROOF_BATCH ? n - at : TDBE_PROOF_BATCH, ans_len = 0;
        for (size_t i = 0; i < k; i++)
            memcpy(ids + i * TDBE_TXID_LEN, claims[at + i].txid, TDBE_TXID_LEN);
        st = tee_ocall(TDBE_O_OUTPUT_PROOFS, ids, k * TDBE_TXID_LEN, ans, cap, &ans_len);
        if (st != VEIL_OK) st = VEIL_ERR_TDBE_MEMBERSHIP_PROOF;
        veil_reader r = veil_reader_init(ans, ans_len);
        for (size_t i = 0; i < k && st == VEIL_OK; i++) {
            uint32_t len;
            const uint8_t *proof;
            int64_t height = 0;
            lc_recent rc;
            char chain_id[CMT_MAX_CHAIN_ID_LEN + 1];
            st = veil_read_u32(&r, &len) == VEIL_OK && veil_read_view(&r, len, &proof) == VEIL_OK
                     ? tdbe_member_height(proof, len, &height)
                     : VEIL_ERR_TDBE_MEMBERSHIP_PROOF;
            if (st == VEIL_OK &&
                (lc_enclave_recent(height, &rc, chain_id) != VEIL_OK || rc.app_hash_len != 32))
                st = VEIL_ERR_TDBE_MEMBERSHIP_PROOF;
            if (st == VEIL_OK) st = tdbe_output_check(&g_alloc, proof, len, rc.app_hash, &claims[at + i]);
            if (st != VEIL_OK) {
                c->fail_height = claims[at + i].height;
                c->fail_index = claims[at + i].index;
            }
        }
        if (st == VEIL_OK && r.pos != r.len) st = VEIL_ERR_TDBE_MEMBERSHIP_PROOF;
    }
out:
    tee_free(ids);
    tee_free(ans);
    return st;
}

/* Client: the batch for the host, once every block and tx of a message passed: the
 * records (public) and the txs sealed for this platform's TVE. */
static veil_status batch_out(conn *c, const Veil__Tdbe__TxData *d)
{
    size_t rec_bytes = 0, pt_len = 0, sealed_len = 0;
    for (size_t i = 0; i < d->n_blocks; i++) {
        rec_bytes += 4 + d->blocks[i]->record.len;
        for (size_t j = 0; j < d->blocks[i]->n_payloads; j++)
            pt_len += 16 + d->blocks[i]->payloads[j].len;
    }
    size_t head = 1 + 8 + 4 + rec_bytes, cap = head + pt_len + TVE_CHANNEL_OVERHEAD;
    ENSURE(cap <= TDBE_DATA_RESULT_MAX, VEIL_ERR_TOO_LARGE);
    uint8_t *out = tee_alloc(cap), *pt = tee_alloc(pt_len ? pt_len : 1), k[TVE_CHANNEL_KEY_LEN];
    uint8_t bind[8];
    veil_status st = VEIL_OK;
    ENSURE_OUT(out != NULL && pt != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    veil_writer w = veil_writer_init(out, cap), t = veil_writer_init(pt, pt_len);
    TRY_OUT(veil_write_u8(&w, TDBE_RESULT_DATA));
    TRY_OUT(veil_write_u64(&w, d->blocks[0]->height));
    TRY_OUT(veil_write_u32(&w, (uint32_t)d->n_blocks));
    for (size_t i = 0; i < d->n_blocks; i++) {
        const Veil__Tdbe__TxBlock *b = d->blocks[i];
        TRY_OUT(veil_write_u32(&w, (uint32_t)b->record.len));
        TRY_OUT(veil_write_bytes(&w, b->record.data, b->record.len));
        for (size_t j = 0; j < b->n_payloads; j++) {
            TRY_OUT(veil_write_u64(&t, b->height));
            TRY_OUT(veil_write_u32(&t, (uint32_t)j));
            TRY_OUT(veil_write_u32(&t, (uint32_t)b->payloads[j].len));
            TRY_OUT(veil_write_bytes(&t, b->payloads[j].data, b->payloads[j].len));
        }
    }
    veil_put_u64(bind, d->blocks[0]->height);
    TRY_OUT(tve_handoff_client_key(&g_handoff, k));
    st = tve_channel_seal(k, TVE_CHANNEL_TX_IMPORT_LABEL, bind, sizeof bind, pt, t.len,
                          out + w.len, cap - w.len, &sealed_len);
    veil_wipe(k, sizeof k);
    TRY_OUT(st);
    c->out = out;
    c->out_len = w.len + sealed_len;
    out = NULL;
out:
    if (pt != NULL) veil_wipe(pt, pt_len);
    tee_free(pt);
    tee_free(out);
    return st;
}

/* Client: one TxData message. Every block must be the next height asked, match its
 * record tx by tx, and every tx must be on chain where the record puts it; only then
 * is anything of the message sealed for the TVE. */
static veil_status fetched_data(conn *c)
{
    Veil__Tdbe__Response *r = NULL;
    uint32_t code = 0;
    tdbe_tx_claim *claims = NULL;
    veil_status st = tdbe_data_parse(&g_alloc, c->frame + 4, c->frame_len - 4, &r, &code);
    if (st == VEIL_ERR_TDBE_REFUSED) c->peer_code = code;
    TRY(st);
    const Veil__Tdbe__TxData *d = r->tx_data;
    size_t m = 0;
    c->peer_last = d->last_height;
    c->fail_height = c->next;
    c->fail_index = NO_INDEX;
    ENSURE_OUT(d->n_blocks <= c->to - c->next + 1, VEIL_ERR_TDBE_STREAM);
    for (size_t i = 0; i < d->n_blocks; i++) {
        ENSURE_OUT(d->blocks[i]->height == c->next + i, VEIL_ERR_TDBE_STREAM);
        ENSURE_OUT(d->blocks[i]->n_payloads <= TDBE_BLOCK_MAX_TXS, VEIL_ERR_TDBE_TX_MISMATCH);
        m += d->blocks[i]->n_payloads;
    }
    claims = tee_calloc(m ? m : 1, sizeof *claims);
    ENSURE_OUT(claims != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    for (size_t i = 0, at = 0; i < d->n_blocks; i++) {
        const Veil__Tdbe__TxBlock *b = d->blocks[i];
        size_t bad = 0;
        c->fail_height = b->height;
        st = tdbe_block_check(&g_alloc, b->height, b->record.data, b->record.len, b->payloads,
                              b->n_payloads, claims + at, &bad);
        if (st != VEIL_OK) c->fail_index = bad < b->n_payloads ? (uint32_t)bad : NO_INDEX;
        TRY_OUT(st);
        at += b->n_payloads;
    }
    TRY_OUT(check_claims(c, claims, m));
    if (d->n_blocks > 0) TRY_OUT(batch_out(c, d));
    c->next += d->n_blocks;
    if (d->end) {
        c->done = true;
        c->result = VEIL_OK;
    }
out:
    tee_free(claims);
    veil__tdbe__response__free_unpacked(r, &g_alloc);
    return st;
}

/* Client: the request, then one message at a time; the next is read only after the
 * host took the previous batch (E_RESULT), so at most one batch waits here. */
static veil_status step_fetch_data(conn *c)
{
    if (!c->sent) {
        uint8_t buf[4 + TDBE_FRAME_MAX];
        size_t n = 0;
        veil_status made = tdbe_data_request_frame(c->account, c->next, c->to, buf, sizeof buf, &n);
        TRY(send_frame(c, made, buf, &n));
        c->sent = true;
    }
    while (!c->done && c->out == NULL) {
        bool whole;
        TRY(read_frame(c, TDBE_DATA_MSG_MAX, false, &whole));
        if (!whole) return VEIL_OK;
        veil_status st = fetched_data(c);
        veil_wipe(c->frame, c->frame_len);
        c->frame_len = 0;
        TRY(st);
    }
    return VEIL_OK;
}

/* Runs the protocol as far as the bytes received allow. A returned error ends the
 * connection (the caller shuts the session down). */
static veil_status step(conn *c)
{
    if (!ratls_session_handshake_done(c->s) || c->done) return VEIL_OK;
    if (!c->verified) {
        tee_quote_verdict v;
        veil_status st = ratls_session_peer_verify(c->s, c->now, &v);
        if (st == VEIL_OK) st = check_peer(&v);
        if (st != VEIL_OK) {
            /* The refused peer learns only the code; a fetching side says nothing. */
            if (!c->fetch) send_error(c, st);
            return st;
        }
        c->verified = true;
    }
    if (c->fetch && c->data) return step_fetch_data(c);
    if (!c->fetch && c->data) {
        veil_status st = serve_data(c);
        if (st != VEIL_OK) send_error(c, st); /* after the batches sent: the client stops */
        return st;
    }
    if (c->fetch && !c->sent) {
        uint8_t buf[4 + TDBE_FRAME_MAX];
        size_t n = 0;
        veil_status made = tdbe_request_frame(c->epoch, c->account, buf, sizeof buf, &n);
        TRY(send_frame(c, made, buf, &n));
        c->sent = true;
    }
    bool whole;
    TRY(read_frame(c, TDBE_MSG_MAX, true, &whole));
    if (!whole) return VEIL_OK;
    veil_status st = c->fetch ? fetched(c) : serve(c);
    veil_wipe(c->frame, c->frame_len);
    c->frame_len = 0;
    if (!c->fetch && st != VEIL_OK) send_error(c, st);
    if (st == VEIL_OK && !c->fetch && c->data) {
        st = serve_data(c);
        if (st != VEIL_OK) send_error(c, st);
        return st;
    }
    c->done = true;
    c->result = st;
    return VEIL_OK;
}

static veil_status e_feed(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                          size_t *out_len)
{
    ENSURE(in_len <= 4 + TDBE_FEED_IN_MAX, VEIL_ERR_TOO_LARGE);
    ENSURE(out_cap >= 1, VEIL_ERR_BUFFER_TOO_SMALL);
    conn *c;
    TRY(conn_take(in, in_len, &c));
    size_t n1 = 0, n2 = 0;
    uint8_t flags = 0;
    veil_status st = ratls_session_feed(c->s, in + 4, in_len - 4, out + 1, out_cap - 1, &n1);
    if (st == VEIL_OK) {
        st = step(c);
        if (st != VEIL_OK || c->done) {
            if (st != VEIL_OK && !c->done) {
                c->done = true;
                c->result = st;
            }
            ratls_session_shutdown(c->s);
            flags |= TDBE_FEED_CLOSE;
        }
        st = ratls_session_feed(c->s, NULL, 0, out + 1 + n1, out_cap - 1 - n1, &n2);
        if (st == VEIL_ERR_OUT_OF_ORDER) st = VEIL_OK; /* closed: nothing more queued */
    } else {
        c->done = true;
        if (c->result == VEIL_OK) c->result = st;
        flags |= TDBE_FEED_CLOSE;
        st = VEIL_OK; /* the alert, if any, is in out */
    }
    if (ratls_session_closed(c->s)) flags |= TDBE_FEED_CLOSE;
    if (c->verified) flags |= TDBE_FEED_ESTABLISHED;
    if (c->done) flags |= TDBE_FEED_DONE;
    if (c->out != NULL) flags |= TDBE_FEED_DATA;
    /* A stream being served: feed again for its next batch. */
    if (ratls_session_pending_out(c->s) > 0 || (!c->fetch && c->data && !c->done && c->verified))
        flags |= TDBE_FEED_MORE;
    out[0] = flags;
    *out_len = 1 + n1 + n2;
    conn_put(c);
    return st;
}

/* E_RESULT of a FETCH_DATA connection (tdbe_abi.h). */
static veil_status data_result(conn *c, uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (c->out != NULL) {
        ENSURE(c->out_len <= out_cap, VEIL_ERR_BUFFER_TOO_SMALL);
        memcpy(out, c->out, c->out_len);
        *out_len = c->out_len;
        tee_free(c->out);
        c->out = NULL;
        c->out_len = 0;
        return VEIL_OK;
    }
    ENSURE(c->done, VEIL_ERR_OUT_OF_ORDER);
    ENSURE(out_cap >= 17, VEIL_ERR_BUFFER_TOO_SMALL);
    if (c->result == VEIL_OK) {
        out[0] = TDBE_RESULT_END;
        veil_put_u64(out + 1, c->peer_last);
        *out_len = 9;
    } else if (c->result == VEIL_ERR_TDBE_REFUSED) {
        out[0] = TDBE_RESULT_REFUSED;
        veil_put_u32(out + 1, c->peer_code);
        *out_len = 5;
    } else {
        out[0] = TDBE_RESULT_FAILED;
        veil_put_u32(out + 1, (uint32_t)c->result);
        veil_put_u64(out + 5, c->fail_height);
        veil_put_u32(out + 13, c->fail_index);
        *out_len = 17;
    }
    return VEIL_OK;
}

static veil_status e_result(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                            size_t *out_len)
{
    ENSURE(in_len == 4, VEIL_ERR_MALFORMED);
    conn *c;
    TRY(conn_take(in, in_len, &c));
    if (c->fetch && c->data) {
        veil_status st = data_result(c, out, out_cap, out_len);
        conn_put(c);
        return st;
    }
    veil_status st = !c->fetch || !c->done ? VEIL_ERR_OUT_OF_ORDER : c->result;
    if (st == VEIL_ERR_TDBE_REFUSED) {
        st = out_cap >= 5 ? VEIL_OK : VEIL_ERR_BUFFER_TOO_SMALL;
        if (st == VEIL_OK) {
            out[0] = TDBE_RESULT_REFUSED;
            veil_put_u32(out + 1, c->peer_code);
            *out_len = 5;
        }
    } else if (st == VEIL_OK) {
        if (1 + c->sealed_len > out_cap) {
            st = VEIL_ERR_BUFFER_TOO_SMALL;
        } else {
            out[0] = TDBE_RESULT_KEY;
            memcpy(out + 1, c->sealed, c->sealed_len);
            *out_len = 1 + c->sealed_len;
        }
    }
    conn_put(c);
    return st;
}

static veil_status e_close(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                           size_t *out_len)
{
    (void)out, (void)out_cap;
    *out_len = 0;
    ENSURE(in_len == 4, VEIL_ERR_MALFORMED);
    uint32_t h = veil_get_u32(in);
    conn *found = NULL;
    lock();
    for (size_t i = 0; i < TDBE_MAX_CONNECTIONS; i++) {
        if (g_conns[i] != NULL && g_conns[i]->handle == h && !g_conns[i]->busy) {
            found = g_conns[i];
            g_conns[i] = NULL;
            break;
        }
    }
    unlock();
    ENSURE(found != NULL, VEIL_ERR_NOT_FOUND);
    conn_free(found);
    return VEIL_OK;
}

static veil_status e_shutdown(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                              size_t *out_len)
{
    (void)in, (void)in_len, (void)out, (void)out_cap;
    *out_len = 0;
    lock();
    for (size_t i = 0; i < TDBE_MAX_CONNECTIONS; i++) {
        conn_free(g_conns[i]);
        g_conns[i] = NULL;
    }
    ratls_identity_free(g_identity);
    g_identity = NULL;
    unlock();
    lc_enclave_shutdown();
    return VEIL_OK;
}

TEE_ENCLAVE_DEFINE(NULL, e_identity, e_handoff_begin, e_handoff_end, e_open, e_feed, e_result,
                   e_close, e_shutdown, e_join_quote,
                   /* the light client's, as lc_enclave.h defines them */
                   lc_enclave_init, lc_enclave_resume, lc_enclave_update);
