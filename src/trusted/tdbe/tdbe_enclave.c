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
#include "trusted/state/node_join.h"

static tve_handoff_client g_handoff = TVE_HANDOFF_CLIENT_INIT;

typedef struct conn {
    bool used;
    bool busy;
    uint32_t handle;
    bool fetch;
    int64_t now;
    uint64_t epoch;
    uint8_t commitment[32];
    uint8_t account[TDBE_ACCOUNT_LEN]; /* FETCH: ours, named in the request */
    ratls_session *s;
    bool verified, sent, done;
    veil_status result;
    uint32_t peer_code; /* FETCH refused by the peer: the code it gave (untrusted) */
    uint8_t frame[4 + TDBE_FRAME_MAX];
    size_t frame_len;
    uint8_t sealed[TDBE_RESULT_MAX];
    size_t sealed_len;
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
    veil_wipe(c, sizeof *c);
    tee_free(c);
}

static veil_status check_epoch(uint64_t epoch, const uint8_t commitment[static 32]);

static veil_status e_open(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                          size_t *out_len)
{
    ENSURE(in_len >= 9 && out_cap >= 4, VEIL_ERR_MALFORMED);
    bool fetch = in[0] == TDBE_ROLE_FETCH;
    ENSURE(in[0] == TDBE_ROLE_SERVE || fetch, VEIL_ERR_MALFORMED);
    ENSURE(in_len == (fetch ? 9u + 8u + 32u + TDBE_ACCOUNT_LEN : 9u), VEIL_ERR_MALFORMED);
    uint8_t k[TVE_CHANNEL_KEY_LEN];
    TRY(tve_handoff_client_key(&g_handoff, k)); /* nothing to serve or hand over without it */
    veil_wipe(k, sizeof k);
    /* A fetch only for the commitment the chain holds: the host's word is not enough. */
    if (fetch) TRY(check_epoch(veil_get_u64(in + 9), in + 17));
    conn *c = tee_calloc(1, sizeof *c);
    ENSURE(c != NULL, VEIL_ERR_TEE_OUT_OF_MEMORY);
    c->fetch = fetch;
    c->now = (int64_t)veil_get_u64(in + 1);
    if (fetch) {
        c->epoch = veil_get_u64(in + 9);
        memcpy(c->commitment, in + 17, 32);
        memcpy(c->account, in + 49, TDBE_ACCOUNT_LEN);
    }
    veil_status st = VEIL_ERR_OUT_OF_ORDER;
    lock();
    if (g_identity != NULL) st = ratls_session_new_peer(g_identity, fetch, &c->s);
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
 * longer than TDBE_FRAME_MAX or bytes after it are VEIL_ERR_TDBE_PROTOCOL. */
static veil_status read_frame(conn *c, bool *whole)
{
    *whole = false;
    for (;;) {
        size_t want = c->frame_len < 4 ? 4 - c->frame_len : 0, n = 0, len = 0;
        if (c->frame_len >= 4) {
            TRY(tdbe_frame_len(c->frame, &len));
            want = 4 + len - c->frame_len;
            if (want == 0) {
                uint8_t extra;
                TRY(ratls_session_read(c->s, &extra, 1, &n));
                ENSURE(n == 0, VEIL_ERR_TDBE_PROTOCOL);
                *whole = true;
                return VEIL_OK;
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
    uint64_t epoch;
    uint8_t account[TDBE_ACCOUNT_LEN];
    TRY(tdbe_request_parse(&g_alloc, c->frame + 4, c->frame_len - 4, &epoch, account));
    TRY(check_member(c, account));
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
    if (c->fetch && !c->sent) {
        uint8_t buf[4 + TDBE_FRAME_MAX];
        size_t n = 0;
        veil_status made = tdbe_request_frame(c->epoch, c->account, buf, sizeof buf, &n);
        TRY(send_frame(c, made, buf, &n));
        c->sent = true;
    }
    bool whole;
    TRY(read_frame(c, &whole));
    if (!whole) return VEIL_OK;
    veil_status st = c->fetch ? fetched(c) : serve(c);
    if (!c->fetch && st != VEIL_OK) send_error(c, st);
    c->done = true;
    c->result = st;
    veil_wipe(c->frame, sizeof c->frame);
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
    if (ratls_session_pending_out(c->s) > 0) flags |= TDBE_FEED_MORE;
    out[0] = flags;
    *out_len = 1 + n1 + n2;
    conn_put(c);
    return st;
}

static veil_status e_result(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                            size_t *out_len)
{
    ENSURE(in_len == 4, VEIL_ERR_MALFORMED);
    conn *c;
    TRY(conn_take(in, in_len, &c));
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
