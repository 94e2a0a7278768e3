/* The node's application logic (node_app.h; protocol and rules: docs/node.md). */
#include "host/node/node_app.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/cursor.h"
#include "common/hex.h"
#include "host/node/node_genesis.h"
#include "host/node/node_state.h"
#include "host/node/node_tx.h"
#include "host/node/tve_client.h"
#include "hostutil/fileio.h"
#include "tee/tee.h"
#include "veil/node.pb-c.h"
#include "veil/tve.pb-c.h"

#define LOCK_DEPOSIT 1u
#define LOCK_WITHDRAW 2u
/* How often a request that timed out is retried while waiting for the TVE. */
#define TVE_RETRY_PAUSE_MS 500
/* verify-block may take long for a full block; its own timeout. */
#define TVE_BLOCK_TIMEOUT_MS 120000

/* --- a small hash map: fixed-length keys (<= 36 bytes) -> u32 ----------------------- */
/* Keys come from txs (txids, outpoints), so slots are picked by SipHash under a
 * per-process random key: nobody can aim collisions at the table. */
typedef struct nmap_slot {
    uint8_t key[36];
    uint32_t value;
    bool used;
} nmap_slot;

typedef struct nmap {
    nmap_slot *slots;
    size_t cap, n, key_len;
} nmap;

static uint8_t g_map_key[crypto_shorthash_KEYBYTES];
static pthread_once_t g_map_once = PTHREAD_ONCE_INIT;
static void map_key_init(void) { randombytes_buf(g_map_key, sizeof g_map_key); }

static void nmap_init(nmap *m, size_t key_len)
{
    (void)pthread_once(&g_map_once, map_key_init);
    memset(m, 0, sizeof *m);
    m->key_len = key_len;
}

static void nmap_free(nmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static size_t nmap_idx(const nmap *m, const uint8_t *key)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, key, m->key_len, g_map_key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (size_t)v & (m->cap - 1);
}

static nmap_slot *nmap_find(const nmap *m, const uint8_t *key)
{
    if (m->cap == 0) return NULL;
    for (size_t i = nmap_idx(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (!m->slots[i].used) return NULL;
        if (memcmp(m->slots[i].key, key, m->key_len) == 0) return &m->slots[i];
    }
}

static bool nmap_get(const nmap *m, const uint8_t *key, uint32_t *value)
{
    const nmap_slot *s = nmap_find(m, key);
    if (s && value) *value = s->value;
    return s != NULL;
}

static veil_status nmap_put(nmap *m, const uint8_t *key, uint32_t value)
{
    nmap_slot *s = nmap_find(m, key);
    if (s) {
        s->value = value;
        return VEIL_OK;
    }
    if ((m->n + 1) * 2 > m->cap) {
        nmap old = *m;
        m->cap = old.cap ? old.cap * 2 : 64;
        m->slots = calloc(m->cap, sizeof *m->slots);
        if (m->slots == NULL) {
            *m = old;
            return VEIL_ERR_NOMEM;
        }
        m->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.slots[i].used) (void)nmap_put(m, old.slots[i].key, old.slots[i].value);
        free(old.slots);
    }
    size_t i = nmap_idx(m, key);
    while (m->slots[i].used) i = (i + 1) & (m->cap - 1);
    memcpy(m->slots[i].key, key, m->key_len);
    m->slots[i].value = value;
    m->slots[i].used = true;
    m->n++;
    return VEIL_OK;
}

/* --- the app ---------------------------------------------------------------------- */
struct node_app {
    node_config cfg;
    node_state *st;
    tve_client *tve;
    FILE *log;
    bool tve_checked; /* identity checked on the current connection */
    /* The block finalized and not yet committed. */
    bool have_block;
    uint64_t block_height, block_time;
    uint8_t block_hash[32];
    uint8_t *block_rec; /* BlockRecord encoding */
    size_t block_rec_len;
    size_t n_txs; /* txs in the block */
    size_t n_accepted;
    uint8_t (*accepted)[32];
    node_chain_tx *tx; /* scratch decode buffer (large) */
};

static void nlog(node_app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void nlog(node_app *a, const char *fmt, ...)
{
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(a->log, "%s veil node: ", ts);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(a->log, fmt, ap);
    va_end(ap);
    fputc('\n', a->log);
    fflush(a->log);
}

static void hex8(char out[17], const uint8_t *p) { veil_hex_encode(out, p, 8); }

static void result_set(node_tx_result *r, veil_status code, const char *detail)
{
    r->code = (uint32_t)code;
    if (code == VEIL_OK)
        r->log[0] = '\0';
    else if (detail)
        snprintf(r->log, sizeof r->log, "%s: %s", veil_status_str(code), detail);
    else
        snprintf(r->log, sizeof r->log, "%s", veil_status_str(code));
}

veil_status node_app_open(const node_config *cfg, node_app **out)
{
    ENSURE(cfg->home != NULL && cfg->tve_endpoint != NULL, VEIL_ERR_ARG);
    node_app *a = calloc(1, sizeof *a);
    ENSURE(a != NULL, VEIL_ERR_NOMEM);
    veil_status st;
    a->cfg = *cfg;
    a->log = cfg->log ? cfg->log : stderr;
    a->tx = malloc(sizeof *a->tx);
    ENSURE_OUT(a->tx != NULL, VEIL_ERR_NOMEM);
    TRY_OUT(veil_crypto_init());
    TRY_OUT(node_state_open(cfg->home, cfg->no_sync, &a->st));
    TRY_OUT(tve_client_open(cfg->tve_endpoint, cfg->tve_timeout_ms, &a->tve));
    *out = a;
    return VEIL_OK;
out:
    node_app_close(a);
    return st;
}

static void block_clear(node_app *a)
{
    a->have_block = false;
    free(a->block_rec);
    a->block_rec = NULL;
    free(a->accepted);
    a->accepted = NULL;
    a->n_accepted = 0;
}

void node_app_close(node_app *a)
{
    if (a == NULL) return;
    block_clear(a);
    tve_client_close(a->tve);
    node_state_close(a->st);
    free(a->tx);
    free(a);
}

const char *node_app_chain_id(const node_app *a) { return node_state_meta(a->st)->chain_id; }

void node_app_info(node_app *a, uint64_t *height, uint8_t app_hash[static 32], bool *has_hash)
{
    const node_meta *m = node_state_meta(a->st);
    *height = m->last_height;
    *has_hash = m->initialized;
    if (m->initialized)
        memcpy(app_hash, m->last_app_hash, 32);
    else
        memset(app_hash, 0, 32);
}

/* --- the TVE ---------------------------------------------------------------------- */
/* Failures that say nothing about the request: the TVE is unreachable or hit a local
 * resource problem. Blocks wait these out rather than decide anything on them. */
static bool transient(veil_status st)
{
    return st == VEIL_ERR_TIMEOUT || st == VEIL_ERR_NET || st == VEIL_ERR_DB ||
           st == VEIL_ERR_IO || st == VEIL_ERR_NOMEM || st == VEIL_ERR_TEE_OUT_OF_MEMORY ||
           st == VEIL_ERR_TEE_ENCLAVE_FAULT;
}

static veil_status tve_identity_check(node_app *a, const Veil__Tve__StatusResponse *s)
{
    char why[512] = "";
    size_t w = 0;
    char got[65], want[65];
    if (s->mrsigner.len != 32 || s->mrenclave.len != 32) {
        veil_error_detail_set("TVE at %s reported no enclave identity", a->cfg.tve_endpoint);
        return VEIL_ERR_TVE_IDENTITY;
    }
    if (a->cfg.check_mrsigner && memcmp(s->mrsigner.data, a->cfg.mrsigner, 32) != 0) {
        veil_hex_encode(got, s->mrsigner.data, 32);
        veil_hex_encode(want, a->cfg.mrsigner, 32);
        w += (size_t)snprintf(why + w, sizeof why - w, "MRSIGNER is %.16s..., configured %.16s...; ",
                              got, want);
    }
    if (a->cfg.check_mrenclave && memcmp(s->mrenclave.data, a->cfg.mrenclave, 32) != 0 &&
        w < sizeof why) {
        veil_hex_encode(got, s->mrenclave.data, 32);
        veil_hex_encode(want, a->cfg.mrenclave, 32);
        w += (size_t)snprintf(why + w, sizeof why - w,
                              "MRENCLAVE is %.16s..., configured %.16s...; ", got, want);
    }
    if (a->cfg.check_min_svn && s->svn < a->cfg.min_svn && w < sizeof why)
        w += (size_t)snprintf(why + w, sizeof why - w, "SVN is %u, configured minimum %u; ",
                              s->svn, a->cfg.min_svn);
    if (s->debug && !a->cfg.allow_debug_tve && w < sizeof why)
        w += (size_t)snprintf(why + w, sizeof why - w, "it is a debug enclave; ");
    if (w == 0) return VEIL_OK;
    if (w >= 2 && w < sizeof why) why[w - 2] = '\0';
    veil_error_detail_set("refusing the TVE at %s: %s", a->cfg.tve_endpoint, why);
    return VEIL_ERR_TVE_IDENTITY;
}

/* One request. Transport failures are retried (the socket is re-created each time)
 * until cfg.tve_wait_ms passes (0: forever) if `wait`; on every new connection the
 * TVE's identity is checked again before the request goes out. */
static veil_status tve_call(node_app *a, const Veil__Tve__Request *req,
                            Veil__Tve__Response__ResponseCase want, int timeout_ms, bool wait,
                            Veil__Tve__Response **resp);

static veil_status tve_status_raw(node_app *a, int timeout_ms, Veil__Tve__Response **resp)
{
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__StatusRequest sr = VEIL__TVE__STATUS_REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_STATUS;
    req.status = &sr;
    return tve_client_call(a->tve, &req, VEIL__TVE__RESPONSE__RESPONSE_STATUS, timeout_ms, resp);
}

static veil_status tve_call(node_app *a, const Veil__Tve__Request *req,
                            Veil__Tve__Response__ResponseCase want, int timeout_ms, bool wait,
                            Veil__Tve__Response **resp)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long long logged = -1; /* ms since t0 of the last "waiting" line */
    for (;;) {
        veil_status st = VEIL_OK;
        if (!a->tve_checked) {
            Veil__Tve__Response *s = NULL;
            st = tve_status_raw(a, 0, &s);
            if (st == VEIL_OK) {
                st = tve_identity_check(a, s->status);
                veil__tve__response__free_unpacked(s, NULL);
                if (st != VEIL_OK) return st;
                a->tve_checked = true;
            }
        }
        if (st == VEIL_OK) {
            st = tve_client_call(a->tve, req, want, timeout_ms, resp);
            if (st == VEIL_OK || !transient(st)) return st;
        }
        /* Whatever answers next may be a restarted (or another) TVE. */
        a->tve_checked = false;
        if (!wait) return st;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long ms = (now.tv_sec - t0.tv_sec) * 1000LL + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (a->cfg.tve_wait_ms > 0 && ms >= a->cfg.tve_wait_ms) return st;
        if (logged < 0 || ms - logged >= 10000) {
            nlog(a, "waiting for the TVE at %s (%s)", a->cfg.tve_endpoint, veil_error_detail());
            logged = ms;
        }
        struct timespec pause = {0, TVE_RETRY_PAUSE_MS * 1000000L};
        nanosleep(&pause, NULL);
    }
}

static void params_msg(node_app *a, uint64_t block_time, Veil__Tve__ChainParams *p)
{
    const node_params *np = node_state_params(a->st);
    veil__tve__chain_params__init(p);
    p->chain_id = (char *)node_state_meta(a->st)->chain_id;
    p->block_time = block_time;
    p->fee_base = np->fee_base;
    p->fee_per_byte = np->fee_per_byte;
    p->fee_rule = np->fee_rule == NODE_FEE_EXACT ? VEIL__TVE__FEE_RULE__FEE_RULE_EXACT
                                                 : VEIL__TVE__FEE_RULE__FEE_RULE_AT_LEAST;
}

static void account_msg(node_account *acc, Veil__Tve__AccountState *m)
{
    veil__tve__account_state__init(m);
    m->address.data = acc->address;
    m->address.len = 32;
    m->bonded = acc->bonded;
    m->unbonded = acc->unbonded;
    m->unbonded_from = acc->unbonded_from;
    m->nonce = acc->nonce;
    m->jailed_until = acc->jailed_until;
}

static veil_status tve_end_block(node_app *a, uint64_t height, bool wait, uint8_t bloom[256])
{
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__EndBlockRequest eb = VEIL__TVE__END_BLOCK_REQUEST__INIT;
    Veil__Tve__Response *r;
    eb.height = height;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_END_BLOCK;
    req.end_block = &eb;
    TRY(tve_call(a, &req, VEIL__TVE__RESPONSE__RESPONSE_END_BLOCK, 0, wait, &r));
    veil_status st = VEIL_OK;
    if (r->end_block->bloom.len != VEIL_BLOOM_BYTES) {
        veil_error_detail_set("TVE returned a bloom filter of %zu bytes", r->end_block->bloom.len);
        st = VEIL_ERR_DECODE;
    } else {
        memcpy(bloom, r->end_block->bloom.data, VEIL_BLOOM_BYTES);
    }
    veil__tve__response__free_unpacked(r, NULL);
    return st;
}

static veil_status tve_commit_block(node_app *a, uint64_t height, const uint8_t app_hash[32],
                                    const uint8_t (*txids)[32], size_t n, bool wait)
{
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__CommitBlockRequest cb = VEIL__TVE__COMMIT_BLOCK_REQUEST__INIT;
    Veil__Tve__Response *r;
    ProtobufCBinaryData *ids = calloc(n ? n : 1, sizeof *ids);
    ENSURE(ids != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        ids[i].data = (uint8_t *)txids[i];
        ids[i].len = 32;
    }
    cb.height = height;
    cb.app_hash.data = (uint8_t *)app_hash;
    cb.app_hash.len = 32;
    cb.n_txids = n;
    cb.txids = ids;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_COMMIT_BLOCK;
    req.commit_block = &cb;
    veil_status st = tve_call(a, &req, VEIL__TVE__RESPONSE__RESPONSE_COMMIT_BLOCK, 0, wait, &r);
    free(ids);
    if (st == VEIL_OK) veil__tve__response__free_unpacked(r, NULL);
    return st;
}

/* Sends a verify-block request (encoded) and returns the response. */
static veil_status tve_verify_block(node_app *a, Veil__Tve__VerifyBlockRequest *vb, bool wait,
                                    Veil__Tve__Response **r)
{
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    if (vb->n_txs == 0) {
        /* Nothing to verify: end-block opens and closes the height by itself. */
        *r = calloc(1, sizeof **r);
        Veil__Tve__VerifyBlockResponse *e = calloc(1, sizeof *e);
        if (*r == NULL || e == NULL) {
            free(*r);
            free(e);
            *r = NULL;
            return VEIL_ERR_NOMEM;
        }
        veil__tve__response__init(*r);
        veil__tve__verify_block_response__init(e);
        (*r)->response_case = VEIL__TVE__RESPONSE__RESPONSE_VERIFY_BLOCK;
        (*r)->verify_block = e;
        return VEIL_OK;
    }
    req.request_case = VEIL__TVE__REQUEST__REQUEST_VERIFY_BLOCK;
    req.verify_block = vb;
    TRY(tve_call(a, &req, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_BLOCK, TVE_BLOCK_TIMEOUT_MS, wait,
                 r));
    if ((*r)->verify_block->n_results != vb->n_txs) {
        veil_error_detail_set("TVE returned %zu results for %zu txs", (*r)->verify_block->n_results,
                              vb->n_txs);
        veil__tve__response__free_unpacked(*r, NULL);
        *r = NULL;
        return VEIL_ERR_DECODE;
    }
    return VEIL_OK;
}

/* Replays the stored block `height` into a TVE whose last committed height is
 * height - 1: verify-block from the record as it was sent, end-block, commit-block.
 * The TVE must accept exactly the txs it accepted the first time. */
static veil_status tve_replay_block(node_app *a, uint64_t height)
{
    uint8_t *raw = NULL;
    size_t raw_len;
    Veil__Node__BlockRecord *rec = NULL;
    Veil__Tve__VerifyBlockRequest *vb = NULL;
    Veil__Tve__Response *r = NULL;
    uint8_t (*ids)[32] = NULL;
    uint8_t bloom[VEIL_BLOOM_BYTES];
    veil_status st;

    st = node_state_block_get(a->st, height, &raw, &raw_len);
    if (st == VEIL_ERR_NOT_FOUND)
        veil_error_detail_set("the node has no record of block %llu to replay into the TVE",
                              (unsigned long long)height);
    TRY(st);
    rec = veil__node__block_record__unpack(NULL, raw_len, raw);
    ENSURE_OUT(rec != NULL && rec->height == height && rec->app_hash.len == 32, VEIL_ERR_DB);
    vb = veil__tve__verify_block_request__unpack(NULL, rec->verify_block.len, rec->verify_block.data);
    ENSURE_OUT(vb != NULL && vb->height == height, VEIL_ERR_DB);
    TRY_OUT(tve_verify_block(a, vb, true, &r));
    size_t k = 0;
    for (size_t i = 0; i < r->verify_block->n_results; i++) {
        const Veil__Tve__TxResult *x = r->verify_block->results[i];
        if (x->result_case != VEIL__TVE__TX_RESULT__RESULT_OK) continue;
        ENSURE_OUT(k < rec->n_accepted_txids && x->ok->txid.len == 32 &&
                       rec->accepted_txids[k].len == 32 &&
                       memcmp(x->ok->txid.data, rec->accepted_txids[k].data, 32) == 0,
                   VEIL_ERR_TVE_STAGING_MISMATCH);
        k++;
    }
    ENSURE_OUT(k == rec->n_accepted_txids, VEIL_ERR_TVE_STAGING_MISMATCH);
    TRY_OUT(tve_end_block(a, height, true, bloom));
    ids = calloc(k ? k : 1, 32);
    ENSURE_OUT(ids != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < k; i++) memcpy(ids[i], rec->accepted_txids[i].data, 32);
    TRY_OUT(tve_commit_block(a, height, rec->app_hash.data, (const uint8_t(*)[32])ids, k, true));
    char h[17];
    hex8(h, rec->app_hash.data);
    nlog(a, "replayed block %llu into the TVE (%zu confidential txs, app hash %s...)",
         (unsigned long long)height, k, h);
out:
    if (st == VEIL_ERR_TVE_STAGING_MISMATCH)
        veil_error_detail_set("the TVE disagrees with the node about which txs of block %llu "
                              "are valid: the two stores have diverged",
                              (unsigned long long)height);
    free(ids);
    if (r) veil__tve__response__free_unpacked(r, NULL);
    if (vb) veil__tve__verify_block_request__free_unpacked(vb, NULL);
    if (rec) veil__node__block_record__free_unpacked(rec, NULL);
    free(raw);
    return st;
}

/* Brings the TVE up to the node's height `target` (its committed height, or the
 * height before the block being executed) by replaying stored blocks. A TVE ahead of
 * `target` is left alone: the node catches up through CometBFT's replay, and the TVE
 * answers those heights from its own records. */
static veil_status tve_sync(node_app *a, uint64_t target)
{
    const node_meta *m = node_state_meta(a->st);
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__CheckChainRequest cc = VEIL__TVE__CHECK_CHAIN_REQUEST__INIT;
    Veil__Tve__Response *r;
    uint8_t hash[32];
    cc.chain_id = (char *)m->chain_id;
    cc.height = target;
    if (target > 0) {
        if (target == m->last_height) {
            memcpy(hash, m->last_app_hash, 32);
        } else {
            uint8_t *raw;
            size_t len;
            TRY(node_state_block_get(a->st, target, &raw, &len));
            Veil__Node__BlockRecord *rec = veil__node__block_record__unpack(NULL, len, raw);
            free(raw);
            ENSURE(rec != NULL && rec->app_hash.len == 32, VEIL_ERR_DB);
            memcpy(hash, rec->app_hash.data, 32);
            veil__node__block_record__free_unpacked(rec, NULL);
        }
        cc.app_hash.data = hash;
        cc.app_hash.len = 32;
    }
    req.request_case = VEIL__TVE__REQUEST__REQUEST_CHECK_CHAIN;
    req.check_chain = &cc;
    veil_status st = tve_call(a, &req, VEIL__TVE__RESPONSE__RESPONSE_CHECK_CHAIN, 0, true, &r);
    if (st == VEIL_ERR_TVE_APP_HASH_MISMATCH)
        veil_error_detail_set("the TVE committed a different app hash at height %llu: the node's "
                              "and the TVE's stores have diverged",
                              (unsigned long long)target);
    if (st == VEIL_ERR_TVE_CHAIN_MISMATCH)
        veil_error_detail_set("the TVE serves another chain than '%s'", m->chain_id);
    TRY(st);
    uint64_t tve_height = r->check_chain->last_height;
    Veil__Tve__CheckChainResponse__Verdict v = r->check_chain->verdict;
    veil__tve__response__free_unpacked(r, NULL);
    switch (v) {
    case VEIL__TVE__CHECK_CHAIN_RESPONSE__VERDICT__IN_SYNC:
        return VEIL_OK;
    case VEIL__TVE__CHECK_CHAIN_RESPONSE__VERDICT__NODE_BEHIND:
        nlog(a, "the TVE is ahead (height %llu, node %llu): the node catches up as CometBFT "
                "replays blocks",
             (unsigned long long)tve_height, (unsigned long long)target);
        return VEIL_OK;
    case VEIL__TVE__CHECK_CHAIN_RESPONSE__VERDICT__TVE_BEHIND:
        nlog(a, "the TVE is behind (height %llu, node %llu): replaying",
             (unsigned long long)tve_height, (unsigned long long)target);
        for (uint64_t h = tve_height + 1; h <= target; h++) TRY(tve_replay_block(a, h));
        return VEIL_OK;
    default:
        veil_error_detail_set("TVE answered check-chain with no verdict");
        return VEIL_ERR_DECODE;
    }
}

/* The TVE's chain and key must be the ones this node's chain was started with. */
static veil_status tve_check_chain_key(node_app *a, const Veil__Tve__StatusResponse *s)
{
    const node_meta *m = node_state_meta(a->st);
    if (strcmp(s->chain_id, m->chain_id) != 0) {
        veil_error_detail_set("the TVE at %s serves chain '%.64s', this node '%s'",
                              a->cfg.tve_endpoint, s->chain_id, m->chain_id);
        return VEIL_ERR_TVE_CHAIN_MISMATCH;
    }
    if (s->key_epoch == 0 && m->tve_key_commitment_len == 32 &&
        (s->key_commitment.len != 32 ||
         memcmp(s->key_commitment.data, m->tve_key_commitment, 32) != 0)) {
        veil_error_detail_set("the TVE at %s holds another obfuscation key than the one this "
                              "chain started with (was its store replaced?)",
                              a->cfg.tve_endpoint);
        return VEIL_ERR_TVE_IDENTITY;
    }
    return VEIL_OK;
}

static veil_status tve_init_chain(node_app *a, const char *chain_id, uint8_t commitment[32])
{
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__InitChainRequest ic = VEIL__TVE__INIT_CHAIN_REQUEST__INIT;
    Veil__Tve__Response *r;
    ic.chain_id = (char *)chain_id;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_INIT_CHAIN;
    req.init_chain = &ic;
    veil_status st = tve_call(a, &req, VEIL__TVE__RESPONSE__RESPONSE_INIT_CHAIN, 0, true, &r);
    if (st == VEIL_ERR_TVE_CHAIN_MISMATCH)
        veil_error_detail_set("the TVE at %s is already initialised for another chain",
                              a->cfg.tve_endpoint);
    TRY(st);
    if (r->init_chain->key_epoch != 0 || r->init_chain->key_commitment.len != 32) {
        veil__tve__response__free_unpacked(r, NULL);
        veil_error_detail_set("TVE answered init-chain without an epoch-0 key commitment");
        return VEIL_ERR_DECODE;
    }
    memcpy(commitment, r->init_chain->key_commitment.data, 32);
    veil__tve__response__free_unpacked(r, NULL);
    return VEIL_OK;
}

veil_status node_app_start(node_app *a)
{
    const node_meta *m = node_state_meta(a->st);
    Veil__Tve__Response *r = NULL;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__StatusRequest sr = VEIL__TVE__STATUS_REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_STATUS;
    req.status = &sr;
    /* tve_call checks the identity before anything else goes out. */
    TRY(tve_call(a, &req, VEIL__TVE__RESPONSE__RESPONSE_STATUS, 0, true, &r));
    veil_status st = VEIL_OK;
    char id[17];
    hex8(id, r->status->mrenclave.data);
    nlog(a, "TVE at %s: MRENCLAVE %s..., SVN %u, height %llu", a->cfg.tve_endpoint, id,
         r->status->svn, (unsigned long long)r->status->last_height);
    if (!m->initialized) goto out; /* InitChain does the rest */
    if (!r->status->initialized) {
        /* The TVE committed init-chain before the node recorded genesis, so a TVE
         * without chain state lost its store: a fresh one would draw a new key and
         * could not read a single committed tx. */
        veil_error_detail_set("the TVE at %s has no chain state (its store is empty or was "
                              "replaced); it cannot serve chain '%s' at height %llu: restore "
                              "its store",
                              a->cfg.tve_endpoint, m->chain_id, (unsigned long long)m->last_height);
        st = VEIL_ERR_TVE_NOT_INITIALIZED;
        goto out;
    }
    TRY_OUT(tve_check_chain_key(a, r->status));
    TRY_OUT(tve_sync(a, m->last_height));
    hex8(id, m->last_app_hash);
    nlog(a, "chain %s at height %llu, app hash %s...: ready", m->chain_id,
         (unsigned long long)m->last_height, id);
out:
    if (r) veil__tve__response__free_unpacked(r, NULL);
    return st;
}

/* --- genesis ---------------------------------------------------------------------- */
static void genesis_hash(uint8_t out[32], const char *chain_id, uint64_t initial_height,
                         uint64_t time, const uint8_t *app_state, size_t len)
{
    veil_sha256_ctx c;
    uint8_t b[17];
    veil_sha256_init(&c);
    b[0] = (uint8_t)strlen(chain_id);
    veil_sha256_update(&c, b, 1);
    veil_sha256_update(&c, chain_id, strlen(chain_id));
    veil_put_u64(b, initial_height);
    veil_put_u64(b + 8, time);
    veil_sha256_update(&c, b, 16);
    veil_sha256_update(&c, app_state, len);
    veil_sha256_final(&c, out);
}

veil_status node_app_init_chain(node_app *a, const char *chain_id, uint64_t initial_height,
                                uint64_t genesis_time, const uint8_t *app_state,
                                size_t app_state_len, uint8_t app_hash[static 32], char *err,
                                size_t err_cap)
{
    const node_meta *m = node_state_meta(a->st);
    uint8_t gh[32], commitment[32];
    veil_status st;
    node_genesis g;

    if (err_cap) err[0] = '\0';
    size_t cid = strlen(chain_id);
    if (cid == 0 || cid > NODE_CHAIN_ID_MAX) {
        snprintf(err, err_cap, "chain id must be 1..%u bytes", NODE_CHAIN_ID_MAX);
        return VEIL_ERR_ARG;
    }
    if (initial_height > 1) {
        snprintf(err, err_cap, "initial_height %llu is not supported (must be 1)",
                 (unsigned long long)initial_height);
        return VEIL_ERR_ARG;
    }
    genesis_hash(gh, chain_id, 1, genesis_time, app_state, app_state_len);
    if (m->initialized) {
        /* CometBFT repeats InitChain when the node crashed before its first block. */
        if (memcmp(gh, m->genesis_hash, 32) != 0 || m->last_height != 0) {
            snprintf(err, err_cap, "this node is already initialised for %s chain '%s'",
                     m->last_height ? "a running" : "another genesis of", m->chain_id);
            return VEIL_ERR_EXISTS;
        }
        st = tve_init_chain(a, chain_id, commitment);
        if (st == VEIL_OK && m->tve_key_commitment_len == 32 &&
            memcmp(commitment, m->tve_key_commitment, 32) != 0) {
            veil_error_detail_set("the TVE holds another key than at the first InitChain");
            st = VEIL_ERR_TVE_IDENTITY;
        }
        if (st != VEIL_OK) {
            snprintf(err, err_cap, "TVE: %s (%s)", veil_status_str(st), veil_error_detail());
            return st;
        }
        memcpy(app_hash, m->last_app_hash, 32);
        return VEIL_OK;
    }

    st = node_genesis_parse(app_state, app_state_len, &g, err, err_cap);
    if (st != VEIL_OK) return st;
    st = tve_init_chain(a, chain_id, commitment);
    if (st != VEIL_OK) {
        snprintf(err, err_cap, "TVE init-chain: %s (%s)", veil_status_str(st), veil_error_detail());
        goto out;
    }
    if (g.has_key_commitment && memcmp(g.key_commitment, commitment, 32) != 0) {
        snprintf(err, err_cap, "the TVE's epoch-0 key commitment differs from the genesis "
                               "key_commitment: this TVE does not hold the chain's key");
        st = VEIL_ERR_TVE_IDENTITY;
        goto out;
    }
    node_state_rollback(a->st);
    TRY_OUT(node_state_params_put(a->st, &g.params));
    for (size_t i = 0; i < g.n_accounts; i++) TRY_OUT(node_state_account_put(a->st, &g.accounts[i]));
    node_key_epoch e0 = {.epoch = 0, .start_height = 1};
    if (g.has_key_commitment) {
        e0.commitment_len = 32;
        memcpy(e0.commitment, g.key_commitment, 32);
    }
    TRY_OUT(node_state_epoch_put(a->st, &e0));
    node_meta nm;
    memset(&nm, 0, sizeof nm);
    nm.initialized = true;
    memcpy(nm.chain_id, chain_id, cid + 1);
    nm.initial_height = 1;
    nm.genesis_time = genesis_time;
    memcpy(nm.genesis_hash, gh, 32);
    nm.last_height = 0;
    node_state_app_hash(a->st, nm.last_app_hash);
    nm.last_block_time = genesis_time;
    nm.tve_key_commitment_len = 32;
    memcpy(nm.tve_key_commitment, commitment, 32);
    TRY_OUT(node_state_commit(a->st, &nm, NULL, 0));
    memcpy(app_hash, nm.last_app_hash, 32);
    char h[17];
    hex8(h, app_hash);
    nlog(a, "genesis: chain %s, %zu accounts, app hash %s...", chain_id, g.n_accounts, h);
out:
    if (st != VEIL_OK) {
        node_state_rollback(a->st);
        if (err_cap && err[0] == '\0')
            snprintf(err, err_cap, "%s (%s)", veil_status_str(st), veil_error_detail());
    }
    node_genesis_free(&g);
    return st;
}

/* --- public checks of a block's txs ------------------------------------------------ */
/* What the txs so far in a block have claimed (phase 1 of a block, docs/node.md). */
typedef struct block_scan {
    bool pending;   /* read and write the block overlay (else committed state, no writes) */
    uint64_t height;
    uint64_t time;
    nmap spent;     /* outpoint (36) -> claimed by an earlier tx of the block */
    nmap created;   /* txid -> output count, confidential txs passed on to the TVE */
    nmap locks;     /* address -> LOCK_* of confidential txs passed on to the TVE */
} block_scan;

static void scan_init(block_scan *b, bool pending, uint64_t height, uint64_t time)
{
    memset(b, 0, sizeof *b);
    b->pending = pending;
    b->height = height;
    b->time = time;
    nmap_init(&b->spent, 36);
    nmap_init(&b->created, 32);
    nmap_init(&b->locks, 32);
}

static void scan_free(block_scan *b)
{
    nmap_free(&b->spent);
    nmap_free(&b->created);
    nmap_free(&b->locks);
}

static void outpoint_key(uint8_t k[36], const veil_tx_outpoint *o)
{
    memcpy(k, o->txid, 32);
    veil_put_u32(k + 32, o->index);
}

/* A confidential tx passed on to the TVE: what goes into its TxContext. */
typedef struct conf_job {
    size_t tx_index;               /* position in the block */
    veil_tx_wire *wire;            /* its public fields, as the scan decoded them */
    protobuf_c_boolean *spent;     /* n_inputs flags (all false: spent inputs are refused) */
    bool has_account;
    node_account account;
    Veil__Tve__AccountState account_msg;
    Veil__Tve__TxContext ctx;
} conf_job;

/* Public checks of one tx at its position. Public txs are applied to the overlay at
 * once (when scanning pending state); confidential ones that pass are recorded in the
 * scan and, if job is not NULL, described in *job for the TVE. *to_tve tells which. */
static veil_status scan_tx(node_app *a, block_scan *b, const uint8_t *tx, size_t len,
                           node_tx_result *res, conf_job *job, bool *to_tve)
{
    node_chain_tx *d = a->tx;
    const char *detail = NULL;
    *to_tve = false;
    veil_status st = node_chain_tx_decode(tx, len, node_state_meta(a->st)->chain_id, d);
    if (st != VEIL_OK) {
        result_set(res, st, "the tx does not decode");
        return VEIL_OK;
    }
    if (d->type == NODE_TX_PUBLIC) {
        node_account acc, next;
        bool found;
        uint32_t lock;
        TRY(node_state_account_get(a->st, b->pending, d->pub.account, &acc, &found));
        if (nmap_get(&b->locks, d->pub.account, &lock)) {
            result_set(res, VEIL_ERR_OUT_OF_ORDER,
                       "the account has a confidential tx earlier in this block; resubmit");
            return VEIL_OK;
        }
        node_public_env env = {node_state_params(a->st), node_app_chain_id(a), b->time,
                               b->height};
        st = node_public_apply(d, &env, found ? &acc : NULL, &next, &detail);
        if (st == VEIL_OK && b->pending) TRY(node_state_account_put(a->st, &next));
        result_set(res, st, detail);
        return VEIL_OK;
    }

    /* confidential: public fields against public state */
    const veil_tx_wire *w = &d->wire;
    node_output o;
    bool found;
    uint32_t v;
    TRY(node_state_output_get(a->st, b->pending, w->txid, &o, &found));
    if (found || nmap_get(&b->created, w->txid, NULL)) {
        result_set(res, found ? VEIL_ERR_TVE_TX_EXISTS : VEIL_ERR_TVE_DUPLICATE_TX, NULL);
        return VEIL_OK;
    }
    for (size_t i = 0; i < w->n_inputs; i++) {
        const veil_tx_outpoint *in = &w->inputs[i];
        uint8_t k[36];
        uint32_t count;
        TRY(node_state_output_get(a->st, b->pending, in->txid, &o, &found));
        if (found) {
            count = o.output_count;
        } else if (nmap_get(&b->created, in->txid, &count)) {
            o.spent = 0;
        } else {
            result_set(res, VEIL_ERR_TX_INPUT_NOT_FOUND, NULL);
            return VEIL_OK;
        }
        if (in->index >= count) {
            result_set(res, VEIL_ERR_TX_OUTPUT_INDEX_OUT_OF_RANGE, NULL);
            return VEIL_OK;
        }
        outpoint_key(k, in);
        if (((o.spent >> in->index) & 1u) || nmap_get(&b->spent, k, NULL)) {
            result_set(res, VEIL_ERR_TX_INPUT_SPENT, NULL);
            return VEIL_OK;
        }
    }
    node_account acc;
    bool has_acc = false;
    if (w->kind != VEIL_TX_KIND_TRANSFER) {
        if (!w->has_account) {
            result_set(res, VEIL_ERR_TX_ACCOUNT_MISMATCH, NULL);
            return VEIL_OK;
        }
        TRY(node_state_account_get(a->st, b->pending, w->account, &acc, &has_acc));
        uint32_t lock = 0;
        (void)nmap_get(&b->locks, w->account, &lock);
        if (w->kind == VEIL_TX_KIND_WITHDRAW) {
            if (!has_acc) {
                result_set(res, VEIL_ERR_TX_ACCOUNT_NOT_FOUND, NULL);
                return VEIL_OK;
            }
            /* A withdraw reads the nonce and unbonded stake an earlier withdraw of the
             * block may change: one per account per block. */
            if (lock & LOCK_WITHDRAW) {
                result_set(res, VEIL_ERR_OUT_OF_ORDER,
                           "the account has a withdraw earlier in this block; resubmit");
                return VEIL_OK;
            }
        }
        v = lock | (w->kind == VEIL_TX_KIND_WITHDRAW ? LOCK_WITHDRAW : LOCK_DEPOSIT);
        TRY(nmap_put(&b->locks, w->account, v));
    }
    for (size_t i = 0; i < w->n_inputs; i++) {
        uint8_t k[36];
        outpoint_key(k, &w->inputs[i]);
        TRY(nmap_put(&b->spent, k, 1));
    }
    TRY(nmap_put(&b->created, w->txid, w->output_count));
    result_set(res, VEIL_OK, NULL);
    *to_tve = true;
    if (job == NULL) return VEIL_OK;

    memset(job, 0, sizeof *job);
    job->spent = calloc(w->n_inputs ? w->n_inputs : 1, sizeof *job->spent);
    job->wire = malloc(sizeof *job->wire);
    if (job->spent == NULL || job->wire == NULL) return VEIL_ERR_NOMEM;
    *job->wire = *w;
    veil__tve__tx_context__init(&job->ctx);
    /* The block's bytes, not a re-encoding: the enclave judges exactly what is on chain. */
    job->ctx.tx.data = (uint8_t *)d->conf;
    job->ctx.tx.len = d->conf_len;
    job->ctx.n_input_spent = w->n_inputs;
    job->ctx.input_spent = job->spent;
    if (has_acc) {
        job->has_account = true;
        job->account = acc;
        account_msg(&job->account, &job->account_msg);
        job->ctx.account = &job->account_msg;
    }
    return VEIL_OK;
}

static void job_release(conf_job *job)
{
    free(job->spent);
    free(job->wire);
    memset(job, 0, sizeof *job);
}

static void jobs_free(conf_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) job_release(&jobs[i]);
    free(jobs);
}

/* What one verify-block may carry (the TVE refuses more: TVE_BLOCK_MAX_TXS, and a
 * 32 MiB request). A block beyond them, which a byzantine proposer could build, must
 * not halt the chain: the excess confidential txs are refused one by one, in block
 * order, the same way on every validator. */
#define NODE_BLOCK_MAX_CONF_TXS 10000u
#define NODE_BLOCK_MAX_CONF_BYTES (24u << 20)

/* --- CheckTx ---------------------------------------------------------------------- */
veil_status node_app_check_tx(node_app *a, const uint8_t *tx, size_t len, node_tx_result *res)
{
    const node_meta *m = node_state_meta(a->st);
    if (!m->initialized) {
        result_set(res, VEIL_ERR_TVE_NOT_INITIALIZED, "the chain has not started");
        return VEIL_OK;
    }
    block_scan b;
    conf_job job;
    bool to_tve;
    memset(&job, 0, sizeof job);
    scan_init(&b, false, m->last_height + 1, m->last_block_time);
    veil_status st = scan_tx(a, &b, tx, len, res, &job, &to_tve);
    scan_free(&b);
    if (st != VEIL_OK || !to_tve) {
        job_release(&job);
        return st;
    }
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__VerifyTxRequest vt = VEIL__TVE__VERIFY_TX_REQUEST__INIT;
    Veil__Tve__ChainParams params;
    Veil__Tve__Response *r = NULL;
    params_msg(a, m->last_block_time, &params);
    vt.mode = VEIL__TVE__MODE__CHECK;
    vt.height = m->last_height + 1;
    vt.params = &params;
    vt.tx = &job.ctx;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_VERIFY_TX;
    req.verify_tx = &vt;
    /* The mempool does not wait for a TVE that is down: the tx is refused. */
    st = tve_call(a, &req, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_TX, 0, false, &r);
    if (st == VEIL_OK) {
        result_set(res, VEIL_OK, NULL);
        veil__tve__response__free_unpacked(r, NULL);
    } else {
        result_set(res, st, transient(st) ? "the TVE is not reachable" : NULL);
    }
    job_release(&job);
    return VEIL_OK;
}

/* --- PrepareProposal ---------------------------------------------------------------- */
veil_status node_app_prepare(node_app *a, uint64_t height, uint64_t time,
                             const uint8_t *const *txs, const size_t *lens, size_t n,
                             uint64_t max_bytes, size_t *keep, size_t *n_keep)
{
    *n_keep = 0;
    uint64_t total = 0;
    /* The scan applies public txs to the overlay; only do it on a clean one, and drop
     * the changes after. */
    bool scan = !node_state_pending(a->st) && node_state_meta(a->st)->initialized;
    block_scan b;
    scan_init(&b, true, height, time);
    veil_status st = VEIL_OK;
    size_t conf_txs = 0, conf_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (max_bytes && (lens[i] > max_bytes || total > max_bytes - lens[i])) continue;
        if (scan) {
            node_tx_result res;
            bool to_tve;
            st = scan_tx(a, &b, txs[i], lens[i], &res, NULL, &to_tve);
            if (st != VEIL_OK) break;
            if (res.code != VEIL_OK) continue;
            /* Confidential txs beyond one verify-block batch wait for the next block. */
            if (to_tve) {
                if (conf_txs >= NODE_BLOCK_MAX_CONF_TXS ||
                    conf_bytes + lens[i] > NODE_BLOCK_MAX_CONF_BYTES)
                    continue;
                conf_txs++;
                conf_bytes += lens[i];
            }
        }
        keep[(*n_keep)++] = i;
        total += lens[i];
    }
    scan_free(&b);
    if (scan) node_state_rollback(a->st);
    return st;
}

/* --- FinalizeBlock ------------------------------------------------------------------ */
void node_block_result_free(node_block_result *r)
{
    free(r->txs);
    r->txs = NULL;
    r->n = 0;
}

/* verify-block then end-block for the block being executed. A TVE that restarted or
 * lags is brought to height - 1 first; transport failures are waited out. */
static veil_status tve_run_block(node_app *a, Veil__Tve__VerifyBlockRequest *vb,
                                 Veil__Tve__Response **r, uint8_t bloom[VEIL_BLOOM_BYTES])
{
    for (unsigned attempt = 0;; attempt++) {
        veil_status st = tve_verify_block(a, vb, true, r);
        if (st == VEIL_OK) {
            st = tve_end_block(a, vb->height, true, bloom);
            if (st == VEIL_OK) return VEIL_OK;
            veil__tve__response__free_unpacked(*r, NULL);
            *r = NULL;
        }
        bool resync = st == VEIL_ERR_TVE_HEIGHT || st == VEIL_ERR_OUT_OF_ORDER ||
                      st == VEIL_ERR_TVE_STAGING_MISMATCH || transient(st);
        if (!resync || attempt >= 3) return st;
        nlog(a, "TVE answered %s for block %llu: re-synchronising", veil_status_name(st),
             (unsigned long long)vb->height);
        TRY(tve_sync(a, vb->height - 1));
    }
}

/* Applies one accepted confidential tx's outcome to the overlay. */
static veil_status apply_outcome(node_app *a, uint64_t height, const conf_job *job,
                                 const Veil__Tve__TxOutcome *o)
{
    const veil_tx_wire *m = job->wire;
    /* The TVE reports what the public fields already say; anything else means the
     * TVE is not answering for this tx. */
    if (o->txid.len != 32 || memcmp(o->txid.data, m->txid, 32) != 0 ||
        (int)o->kind != (int)m->kind || o->output_count != m->output_count || o->fee != m->fee ||
        (m->kind != VEIL_TX_KIND_TRANSFER &&
         (o->account.len != 32 || memcmp(o->account.data, m->account, 32) != 0))) {
        veil_error_detail_set("the TVE's outcome for a tx contradicts its public fields");
        return VEIL_ERR_TVE_STAGING_MISMATCH;
    }
    for (size_t i = 0; i < m->n_inputs; i++) {
        node_output prev;
        bool found;
        TRY(node_state_output_get(a->st, true, m->inputs[i].txid, &prev, &found));
        ENSURE(found && m->inputs[i].index < prev.output_count, VEIL_ERR_TVE_STAGING_MISMATCH);
        prev.spent |= (uint64_t)1 << m->inputs[i].index;
        TRY(node_state_output_put(a->st, m->inputs[i].txid, &prev));
    }
    node_output created = {.output_count = m->output_count, .spent = 0, .height = height};
    TRY(node_state_output_put(a->st, m->txid, &created));
    if (m->kind == VEIL_TX_KIND_TRANSFER) return VEIL_OK;

    node_account acc;
    bool found;
    TRY(node_state_account_get(a->st, true, m->account, &acc, &found));
    if (m->kind == VEIL_TX_KIND_DEPOSIT) {
        if (!found) {
            memset(&acc, 0, sizeof acc);
            memcpy(acc.address, m->account, 32);
        }
        ENSURE(o->amount <= VEIL_TX_MAX_SUPPLY && acc.bonded <= VEIL_TX_MAX_SUPPLY - o->amount,
               VEIL_ERR_TX_SUM_OVERFLOW);
        acc.bonded += o->amount;
    } else {
        ENSURE(found && o->amount <= acc.unbonded && o->nonce == acc.nonce,
               VEIL_ERR_TVE_STAGING_MISMATCH);
        acc.unbonded -= o->amount;
        acc.nonce++;
    }
    return node_state_account_put(a->st, &acc);
}

veil_status node_app_finalize_block(node_app *a, uint64_t height, uint64_t time,
                                    const uint8_t *const *txs, const size_t *lens, size_t n,
                                    node_block_result *out)
{
    const node_meta *m = node_state_meta(a->st);
    memset(out, 0, sizeof *out);
    ENSURE(m->initialized, VEIL_ERR_TVE_NOT_INITIALIZED);
    if (height != m->last_height + 1) {
        veil_error_detail_set("block %llu delivered after block %llu", (unsigned long long)height,
                              (unsigned long long)m->last_height);
        return VEIL_ERR_OUT_OF_ORDER;
    }
    /* Once per block the TVE's identity is checked again: the REQ socket reconnects
     * by itself, so a TVE swapped at the same endpoint would otherwise go unseen. */
    a->tve_checked = false;
    /* A repeat of FinalizeBlock before Commit starts over from committed state. */
    node_state_rollback(a->st);
    block_clear(a);

    veil_status st = VEIL_OK;
    block_scan b;
    conf_job *jobs = NULL;
    size_t n_jobs = 0;
    Veil__Tve__TxContext **ctxs = NULL;
    Veil__Tve__Response *r = NULL;
    uint8_t *vb_bytes = NULL;
    uint32_t *codes = NULL;
    ProtobufCBinaryData *acc_ids = NULL;
    scan_init(&b, true, height, time);
    out->n = n;
    out->txs = calloc(n ? n : 1, sizeof *out->txs);
    jobs = calloc(n ? n : 1, sizeof *jobs);
    ENSURE_OUT(out->txs != NULL && jobs != NULL, VEIL_ERR_NOMEM);

    /* Phase 1: public checks in block order; public txs take effect at once. */
    size_t conf_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        bool to_tve;
        TRY_OUT(scan_tx(a, &b, txs[i], lens[i], &out->txs[i], &jobs[n_jobs], &to_tve));
        if (!to_tve) continue;
        if (n_jobs >= NODE_BLOCK_MAX_CONF_TXS || conf_bytes + lens[i] > NODE_BLOCK_MAX_CONF_BYTES) {
            job_release(&jobs[n_jobs]);
            result_set(&out->txs[i], VEIL_ERR_TVE_TOO_MANY,
                       "the block's confidential txs exceed one verify-block batch");
            continue;
        }
        conf_bytes += lens[i];
        jobs[n_jobs++].tx_index = i;
    }

    /* Phase 2: the confidential txs that passed, as one batch. */
    Veil__Tve__VerifyBlockRequest vb = VEIL__TVE__VERIFY_BLOCK_REQUEST__INIT;
    Veil__Tve__ChainParams params;
    params_msg(a, time, &params);
    ctxs = calloc(n_jobs ? n_jobs : 1, sizeof *ctxs);
    ENSURE_OUT(ctxs != NULL, VEIL_ERR_NOMEM);
    for (size_t k = 0; k < n_jobs; k++) ctxs[k] = &jobs[k].ctx;
    vb.height = height;
    vb.params = &params;
    vb.n_txs = n_jobs;
    vb.txs = ctxs;
    size_t vb_len = veil__tve__verify_block_request__get_packed_size(&vb);
    vb_bytes = malloc(vb_len ? vb_len : 1);
    ENSURE_OUT(vb_bytes != NULL, VEIL_ERR_NOMEM);
    veil__tve__verify_block_request__pack(&vb, vb_bytes);
    TRY_OUT(tve_run_block(a, &vb, &r, out->bloom));

    /* Phase 3: outcomes, in block order. Under the per-block account rule no tx read
     * what these change, so applying them after the public txs is the same as in
     * order. */
    a->accepted = calloc(n_jobs ? n_jobs : 1, 32);
    ENSURE_OUT(a->accepted != NULL, VEIL_ERR_NOMEM);
    for (size_t k = 0; k < n_jobs; k++) {
        const Veil__Tve__TxResult *x = r->verify_block->results[k];
        node_tx_result *res = &out->txs[jobs[k].tx_index];
        if (x->result_case == VEIL__TVE__TX_RESULT__RESULT_OK && x->ok != NULL) {
            TRY_OUT(apply_outcome(a, height, &jobs[k], x->ok));
            memcpy(a->accepted[a->n_accepted++], jobs[k].wire->txid, 32);
        } else if (x->result_case == VEIL__TVE__TX_RESULT__RESULT_ERROR && x->error != NULL &&
                   veil_status_is_tx_verdict(veil_status_from_wire(x->error->code))) {
            result_set(res, veil_status_from_wire(x->error->code), NULL);
        } else {
            veil_error_detail_set("TVE returned no verdict for tx %zu", k);
            st = VEIL_ERR_DECODE;
            goto out;
        }
    }
    node_state_app_hash(a->st, out->app_hash);

    /* The record the TVE replay needs, persisted with the block at Commit. */
    Veil__Node__BlockRecord rec = VEIL__NODE__BLOCK_RECORD__INIT;
    codes = calloc(n ? n : 1, sizeof *codes);
    acc_ids = calloc(a->n_accepted ? a->n_accepted : 1, sizeof *acc_ids);
    ENSURE_OUT(codes != NULL && acc_ids != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) codes[i] = out->txs[i].code;
    for (size_t k = 0; k < a->n_accepted; k++) {
        acc_ids[k].data = a->accepted[k];
        acc_ids[k].len = 32;
    }
    rec.height = height;
    rec.time = time;
    rec.app_hash.data = out->app_hash;
    rec.app_hash.len = 32;
    rec.verify_block.data = vb_bytes;
    rec.verify_block.len = vb_len;
    rec.n_accepted_txids = a->n_accepted;
    rec.accepted_txids = acc_ids;
    rec.n_codes = n;
    rec.codes = codes;
    a->block_rec_len = veil__node__block_record__get_packed_size(&rec);
    a->block_rec = malloc(a->block_rec_len ? a->block_rec_len : 1);
    ENSURE_OUT(a->block_rec != NULL, VEIL_ERR_NOMEM);
    veil__node__block_record__pack(&rec, a->block_rec);
    a->have_block = true;
    a->n_txs = n;
    a->block_height = height;
    a->block_time = time;
    memcpy(a->block_hash, out->app_hash, 32);
out:
    if (st != VEIL_OK) {
        node_state_rollback(a->st);
        block_clear(a);
        node_block_result_free(out);
    }
    free(codes);
    free(acc_ids);
    free(vb_bytes);
    free(ctxs);
    if (r) veil__tve__response__free_unpacked(r, NULL);
    jobs_free(jobs, n_jobs);
    scan_free(&b);
    return st;
}

/* --- Commit ------------------------------------------------------------------------- */
veil_status node_app_commit(node_app *a)
{
    ENSURE(a->have_block, VEIL_ERR_OUT_OF_ORDER);
    node_meta nm = *node_state_meta(a->st);
    nm.last_height = a->block_height;
    memcpy(nm.last_app_hash, a->block_hash, 32);
    nm.last_block_time = a->block_time;
    TRY(node_state_commit(a->st, &nm, a->block_rec, a->block_rec_len));
    if (a->cfg.test_crash_after_node_commit) raise(SIGKILL);
    char h[17];
    hex8(h, a->block_hash);
    nlog(a, "block %llu: %zu txs, %zu confidential accepted, app hash %s...",
         (unsigned long long)a->block_height, a->n_txs, a->n_accepted, h);
    /* The node's commit is durable; now the TVE's. If the TVE lost the block (it
     * restarted) or lags, replay from the record just written. */
    veil_status st = tve_commit_block(a, a->block_height, a->block_hash,
                                      (const uint8_t(*)[32])a->accepted, a->n_accepted, true);
    if (st != VEIL_OK) {
        nlog(a, "TVE commit of block %llu: %s; re-synchronising",
             (unsigned long long)a->block_height, veil_status_name(st));
        st = tve_sync(a, a->block_height);
    }
    block_clear(a);
    return st;
}

/* --- Query ---------------------------------------------------------------------------- */
void node_query_result_free(node_query_result *r)
{
    free(r->value);
    r->value = NULL;
}

veil_status node_app_query(node_app *a, const char *path, bool prove, node_query_result *out)
{
    memset(out, 0, sizeof *out);
    uint8_t id[32];
    size_t id_len;
    uint8_t ns;
    if (strncmp(path, "/account/", 9) == 0) {
        ns = VEIL_SMT_NS_ACCOUNT;
        TRY(veil_hex_decode_exact(id, 32, path + 9, strlen(path + 9)));
        id_len = 32;
    } else if (strncmp(path, "/output/", 8) == 0) {
        ns = VEIL_SMT_NS_OUTPUT;
        TRY(veil_hex_decode_exact(id, 32, path + 8, strlen(path + 8)));
        id_len = 32;
    } else if (strcmp(path, "/params") == 0) {
        ns = VEIL_SMT_NS_PARAM;
        id_len = strlen(NODE_PARAMS_ID);
        memcpy(id, NODE_PARAMS_ID, id_len);
    } else if (strncmp(path, "/key_epoch/", 11) == 0) {
        uint64_t e = 0;
        const char *s = path + 11;
        ENSURE(*s != '\0' && strlen(s) <= 20, VEIL_ERR_ARG);
        for (; *s; s++) {
            ENSURE(*s >= '0' && *s <= '9' && e <= (UINT64_MAX - 9) / 10, VEIL_ERR_ARG);
            e = e * 10 + (uint64_t)(*s - '0');
        }
        ns = VEIL_SMT_NS_KEY_EPOCH;
        veil_put_u64(id, e);
        id_len = 8;
    } else {
        return VEIL_ERR_ARG;
    }
    veil_smt_key(out->key, ns, id, id_len);
    TRY(node_state_prove(a->st, ns, id, id_len, &out->value, &out->value_len, &out->proof));
    out->has_proof = prove;
    out->height = node_state_meta(a->st)->last_height;
    return VEIL_OK;
}
