/* The TDBE: key sharing between two platforms' TVEs over mutually attested TLS, and
 * each refusal with its own code (docs/tdbe.md). Real TVE services (0MQ, LMDB, enclave)
 * and TDBE hosts run in this process on ipc:// and loopback sockets; each member has
 * its own simulated platform, all provisioned by one authority unless said otherwise.
 * Membership proofs come from a real node state (LMDB and its app-hash tree) that the
 * test writes accounts and node bindings into, as a chain's node joins would; each
 * commit's app hash goes into the next header of a signed test chain, which the
 * serving TDBEs' light clients follow and verify. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "chain/node_records.h"
#include "crypto/crypto.h"
#include "host/node/node_state.h"
#include "host/tdbe/tdbe_host.h"
#include "host/tve/tve_client.h"
#include "host/tve/tve_server.h"
#include "host/tve/tve_service.h"
#include "hostutil/fileio.h"
#include "tee/sim/sim_host.h"
#include "trusted/tdbe/tdbe_abi.h"
#include "trusted/cmt/cmt_hash.h"
#include "trusted/tdbe/tdbe_member.h"
#include "veil/tve.pb-c.h"

#include "support/lc_testchain.h"

#define ENC VEIL_BUILD_DIR "/enclaves/"
#define CHAIN "tdbe-test"

static char g_dir[64], g_auth[128], g_coll[160];

/* --- the chain's state: accounts and their node bindings ------------------------------ */
static struct {
    pthread_mutex_t lock;
    node_state *st;
    bool tamper; /* answer naming another height (another app hash) */
    unsigned asked;
    lc_testchain chain; /* header h + 1 carries the app hash after registry height h */
    uint8_t trust_hash[32];
} g_reg = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void reg_commit(void)
{
    node_meta m = *node_state_meta(g_reg.st);
    m.initialized = true;
    snprintf(m.chain_id, sizeof m.chain_id, "%s", CHAIN);
    m.last_height++;
    node_state_app_hash(g_reg.st, m.last_app_hash);
    assert_int_equal(node_state_commit(g_reg.st, &m, NULL, 0), VEIL_OK);
    (void)lc_testchain_append(&g_reg.chain, m.last_app_hash);
}

/* The chain the TDBEs' light clients follow. */
static veil_status chain_block(void *ctx, int64_t height, lc_light_block *out)
{
    (void)ctx;
    pthread_mutex_lock(&g_reg.lock);
    const lc_light_block *b = lc_testchain_get(&g_reg.chain, height);
    if (b != NULL) memcpy(out, b, sizeof *out);
    pthread_mutex_unlock(&g_reg.lock);
    return b != NULL ? VEIL_OK : VEIL_ERR_LC_UNAVAILABLE;
}

static veil_status chain_latest(void *ctx, int64_t *height)
{
    (void)ctx;
    pthread_mutex_lock(&g_reg.lock);
    *height = g_reg.chain.height;
    pthread_mutex_unlock(&g_reg.lock);
    return VEIL_OK;
}


/* Writes an account: bonded stake, jail term, and a binding to `spki` (NULL: none). */
static void reg_account(const uint8_t account[32], uint64_t bonded, uint64_t jailed_until,
                        const uint8_t *spki, size_t spki_len)
{
    node_account a;
    memset(&a, 0, sizeof a);
    memcpy(a.address, account, 32);
    a.bonded = bonded;
    a.jailed_until = jailed_until;
    if (spki != NULL) {
        a.has_node = true;
        memcpy(a.node.enclave_pubkey, spki, spki_len);
        a.node.enclave_pubkey_len = spki_len;
        a.node.joined_at = (uint64_t)time(NULL);
    }
    pthread_mutex_lock(&g_reg.lock);
    assert_int_equal(node_state_account_put(g_reg.st, &a), VEIL_OK);
    reg_commit();
    pthread_mutex_unlock(&g_reg.lock);
}

/* The chain's key commitment of epoch 0, as the node's genesis records it. */
static void reg_epoch(const uint8_t commitment[32])
{
    node_key_epoch e = {.epoch = 0, .start_height = 0, .commitment_len = 32};
    memcpy(e.commitment, commitment, 32);
    pthread_mutex_lock(&g_reg.lock);
    assert_int_equal(node_state_epoch_put(g_reg.st, &e), VEIL_OK);
    reg_commit();
    pthread_mutex_unlock(&g_reg.lock);
}

/* The TDBE hosts' source of state proofs: a record and its proof against the
 * committed app hash, as the node's abci_query with prove answers. */
static veil_status reg_source(void *ctx, uint8_t ns, const uint8_t *id, size_t id_len,
                              uint8_t *out, size_t cap, size_t *out_len)
{
    (void)ctx;
    veil_smt_proof *p = malloc(sizeof *p);
    uint8_t *enc = malloc(VEIL_SMT_PROOF_MAX_LEN), *value = NULL;
    size_t vlen = 0, elen = 0;
    veil_status st = p != NULL && enc != NULL ? VEIL_OK : VEIL_ERR_NOMEM;
    pthread_mutex_lock(&g_reg.lock);
    if (ns == VEIL_SMT_NS_ACCOUNT) g_reg.asked++; /* membership proofs asked for */
    if (st == VEIL_OK)
        st = node_state_prove(g_reg.st, ns, id, id_len, &value, &vlen, p);
    /* The header after the proven height; tampered (account proofs, which a serving
     * TDBE asks for): the first header's, another state. */
    int64_t height = g_reg.tamper && ns == VEIL_SMT_NS_ACCOUNT
                         ? 1
                         : (int64_t)node_state_meta(g_reg.st)->last_height + 1;
    pthread_mutex_unlock(&g_reg.lock);
    if (st == VEIL_OK) st = veil_smt_proof_encode(p, enc, VEIL_SMT_PROOF_MAX_LEN, &elen);
    if (st == VEIL_OK) st = tdbe_member_proof_encode(height, value, vlen, enc, elen, out, cap, out_len);
    free(value);
    free(enc);
    free(p);
    return st;
}

/* One member: a platform, a TVE service behind 0MQ, a TDBE host (serving in a thread). */
typedef struct member {
    char plat[128], ep[160];
    tve_service *svc;
    tve_server *srv;
    pthread_t tve_th, tdbe_th;
    volatile sig_atomic_t stop, tdbe_stop;
    tve_client *cli;
    tdbe *t;
    uint8_t account[32];
    uint8_t spki[128];
    size_t spki_len;
} member;

/* A TDBE configuration for member m (its account named; trust root block 1). */
static tdbe_config member_config(member *m, const char *home, const char *tdbe_img,
                                 const char *collateral)
{
    tdbe_config tc = {.listen = "127.0.0.1:0", .tve_endpoint = m->ep, .home = home,
                      .platform_dir = m->plat, .collateral = collateral,
                      .enclave_path = tdbe_img, .timeout_ms = 5000, .handshake_ms = 5000,
                      .retry_ms = 3600000, .poll_ms = 3600000, .state_proof = reg_source,
                      .has_account = true,
                      .has_trust = true, .trust_height = 1, .light_block = chain_block,
                      .latest_height = chain_latest};
    memcpy(tc.account, m->account, 32);
    memcpy(tc.trust_hash, g_reg.trust_hash, 32);
    return tc;
}

static void *tve_main(void *arg)
{
    member *m = arg;
    veil_status st = tve_server_run(m->srv, TVE_LOG_ERRORS, &m->stop);
    if (st != VEIL_OK) fprintf(stderr, "tve_server_run: %s\n", veil_status_name(st));
    return NULL;
}

static void *tdbe_main(void *arg)
{
    member *m = arg;
    veil_status st = tdbe_run(m->t, &m->tdbe_stop);
    if (st != VEIL_OK) fprintf(stderr, "tdbe_run: %s\n", veil_status_name(st));
    return NULL;
}

/* name: its directory (and its account: SHA-256 of it); tve_img/tdbe_img: enclave
 * images; authority: whose platform. The member's TDBE key is bound to its account,
 * staked, as a node join would. */
static void member_start(member *m, const char *name, const char *tve_img, const char *tdbe_img,
                         const char *authority, uint8_t tcb, const char *collateral)
{
    memset(m, 0, sizeof *m);
    char home[160], tdbe_home[160];
    snprintf(m->plat, sizeof m->plat, "%s/%s/platform", g_dir, name);
    snprintf(home, sizeof home, "%s/%s/tve", g_dir, name);
    snprintf(tdbe_home, sizeof tdbe_home, "%s/%s/tdbe", g_dir, name);
    snprintf(m->ep, sizeof m->ep, "ipc://%s/%s.sock", g_dir, name);
    assert_int_equal(sim_platform_provision(m->plat, authority, tcb, false), VEIL_OK);
    tve_service_config sc = {.home = home, .platform_dir = m->plat, .enclave_path = tve_img,
                             .threads = 1};
    assert_int_equal(tve_service_open(&sc, &m->svc), VEIL_OK);
    assert_int_equal(tve_server_bind(m->svc, m->ep, &m->srv), VEIL_OK);
    assert_int_equal(pthread_create(&m->tve_th, NULL, tve_main, m), 0);
    assert_int_equal(tve_client_open(m->ep, 5000, &m->cli), VEIL_OK);
    veil_sha256(m->account, name, strlen(name));
    tdbe_config tc = member_config(m, tdbe_home, tdbe_img, collateral);
    assert_int_equal(tdbe_open(&tc, &m->t), VEIL_OK);
    uint8_t *quote = malloc(8192);
    size_t qlen = 0;
    assert_non_null(quote);
    assert_int_equal(tdbe_join_quote(m->t, CHAIN, m->spki, &m->spki_len, quote, &qlen), VEIL_OK);
    assert_true(qlen > 0);
    free(quote);
    reg_account(m->account, 1000, 0, m->spki, m->spki_len);
    /* Every member runs: it serves, and its light client follows the chain (a fetch,
     * too, checks the awaited commitment against it). */
    assert_int_equal(pthread_create(&m->tdbe_th, NULL, tdbe_main, m), 0);
}

/* Stops a member's TDBE (its thread, then the host) ... */
static void tdbe_down(member *m)
{
    m->tdbe_stop = 1;
    pthread_join(m->tdbe_th, NULL);
    tdbe_close(m->t);
    m->tdbe_stop = 0;
}

/* ... and starts it again with tc. */
static void tdbe_up(member *m, const tdbe_config *tc)
{
    assert_int_equal(tdbe_open(tc, &m->t), VEIL_OK);
    assert_int_equal(pthread_create(&m->tdbe_th, NULL, tdbe_main, m), 0);
}

static void member_stop(member *m)
{
    m->stop = 1;
    m->tdbe_stop = 1;
    pthread_join(m->tdbe_th, NULL);
    tdbe_close(m->t);
    pthread_join(m->tve_th, NULL);
    tve_client_close(m->cli);
    tve_server_close(m->srv);
    tve_service_close(m->svc);
}

static Veil__Tve__Response *call(member *m, Veil__Tve__Request *req,
                                 Veil__Tve__Response__ResponseCase want, veil_status *st)
{
    Veil__Tve__Response *resp = NULL;
    *st = tve_client_call(m->cli, req, want, 0, &resp);
    return resp;
}

/* init-chain: with commitment NULL the TVE draws the key; its commitment goes to out. */
static void init_chain(member *m, const uint8_t *commitment, uint8_t out[32])
{
    Veil__Tve__InitChainRequest ic = VEIL__TVE__INIT_CHAIN_REQUEST__INIT;
    ic.chain_id = CHAIN;
    if (commitment != NULL) {
        ic.key_commitment.data = (uint8_t *)commitment;
        ic.key_commitment.len = 32;
    }
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_INIT_CHAIN;
    req.init_chain = &ic;
    veil_status st;
    Veil__Tve__Response *r = call(m, &req, VEIL__TVE__RESPONSE__RESPONSE_INIT_CHAIN, &st);
    assert_int_equal(st, VEIL_OK);
    if (out != NULL) {
        assert_int_equal(r->init_chain->key_commitment.len, 32);
        memcpy(out, r->init_chain->key_commitment.data, 32);
    }
    veil__tve__response__free_unpacked(r, NULL);
}

static veil_status import_key(member *m, const uint8_t *sealed, size_t len)
{
    Veil__Tve__ImportKeyRequest ir = VEIL__TVE__IMPORT_KEY_REQUEST__INIT;
    ir.sealed.data = (uint8_t *)sealed;
    ir.sealed.len = len;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_IMPORT_KEY;
    req.import_key = &ir;
    veil_status st;
    Veil__Tve__Response *r = call(m, &req, VEIL__TVE__RESPONSE__RESPONSE_IMPORT_KEY, &st);
    if (r != NULL) veil__tve__response__free_unpacked(r, NULL);
    return st;
}

/* The TVE's status: whether it holds a key, and its commitment or the awaited one. */
static bool status_key(member *m, uint8_t commitment[32], bool *awaiting)
{
    Veil__Tve__StatusRequest sr = VEIL__TVE__STATUS_REQUEST__INIT;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_STATUS;
    req.status = &sr;
    veil_status st;
    Veil__Tve__Response *r = call(m, &req, VEIL__TVE__RESPONSE__RESPONSE_STATUS, &st);
    assert_int_equal(st, VEIL_OK);
    bool has = r->status->key_commitment.len == 32;
    *awaiting = r->status->awaited_key_commitment.len == 32;
    if (has) memcpy(commitment, r->status->key_commitment.data, 32);
    if (*awaiting) memcpy(commitment, r->status->awaited_key_commitment.data, 32);
    veil__tve__response__free_unpacked(r, NULL);
    return has;
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/veil-test-tdbe-XXXXXX");
    if (mkdtemp(g_dir) == NULL) return -1;
    snprintf(g_auth, sizeof g_auth, "%s/authority", g_dir);
    snprintf(g_coll, sizeof g_coll, "%s/collateral.json", g_auth);
    signal(SIGPIPE, SIG_IGN);
    char chain[128];
    snprintf(chain, sizeof chain, "%s/chain", g_dir);
    if (veil_crypto_init() != VEIL_OK || node_state_open(chain, true, &g_reg.st) != VEIL_OK)
        return -1;
    /* Block 1 carries the empty state's app hash; the TDBEs trust it. */
    uint8_t root[32];
    node_state_app_hash(g_reg.st, root);
    lc_testchain_init(&g_reg.chain, CHAIN, 1, (int64_t)time(NULL) - 3600);
    const lc_light_block *b1 = lc_testchain_append(&g_reg.chain, root);
    return cmt_header_hash(&b1->header, g_reg.trust_hash) == VEIL_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    node_state_close(g_reg.st);
    lc_testchain_free(&g_reg.chain);
    if (getenv("VEIL_TEST_KEEP")) return 0;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A keyless TVE gets the chain's key from a peer's TDBE, and only that key. */
static void test_key_sharing(void **state)
{
    (void)state;
    member a, b, c;
    member_start(&a, "a", ENC "veil_tve_enclave.signed.so", ENC "veil_tdbe_enclave.signed.so",
                 g_auth, 1, g_coll);
    member_start(&b, "b", ENC "veil_tve_enclave.signed.so", ENC "veil_tdbe_enclave.signed.so",
                 g_auth, 1, g_coll);
    member_start(&c, "c", ENC "veil_tve_enclave.signed.so", ENC "veil_tdbe_enclave.signed.so",
                 g_auth, 1, g_coll);
    uint8_t commit[32], got[32], wrong[32];
    bool awaiting;
    init_chain(&a, NULL, commit);
    init_chain(&b, commit, NULL);
    init_chain(&c, commit, NULL);
    assert_false(status_key(&b, got, &awaiting));
    assert_true(awaiting);
    assert_memory_equal(got, commit, 32);

    /* The host offers the TVE a key directly: it does not open under the channel key. */
    uint8_t junk[92];
    memset(junk, 0x5a, sizeof junk);
    assert_int_equal(import_key(&b, junk, sizeof junk), VEIL_ERR_HANDOFF_CHANNEL);

    uint8_t sealed[TDBE_RESULT_MAX], sealed_c[TDBE_RESULT_MAX];
    size_t len = 0, len_c = 0;
    memcpy(wrong, commit, 32);
    wrong[0] ^= 1;
    /* The chain's commitment; a host asking its enclave to fetch for another one (a
     * commitment of its choosing) is refused before anything is sent. */
    reg_epoch(commit);
    assert_int_equal(tdbe_fetch(b.t, tdbe_address(a.t), 0, wrong, sealed, sizeof sealed, &len, NULL),
                     VEIL_ERR_TDBE_COMMITMENT);
    /* An epoch the chain has no record of. */
    assert_int_equal(tdbe_fetch(b.t, tdbe_address(a.t), 7, commit, sealed, sizeof sealed, &len, NULL),
                     VEIL_ERR_TDBE_COMMITMENT);
    /* A key that does not match the commitment on chain is refused inside the fetching
     * enclave; nothing reaches the TVE. (Here the chain is made to name a wrong
     * commitment, so the peer's genuine key does not match it. A real chain never
     * changes an epoch's commitment, and the enclave remembers the last one it proved:
     * this comes after the checks above, which it would otherwise answer.) */
    reg_epoch(wrong);
    assert_int_equal(tdbe_fetch(b.t, tdbe_address(a.t), 0, wrong, sealed, sizeof sealed, &len, NULL),
                     VEIL_ERR_TDBE_KEY_MISMATCH);
    reg_epoch(commit);
    /* A certificate judged after it expired (the host's clock two days on). */
    assert_int_equal(tdbe_fetch_at(b.t, tdbe_address(a.t), 0, commit,
                                   (int64_t)time(NULL) + 2 * 86400, sealed, sizeof sealed, &len, NULL),
                     VEIL_ERR_RATLS_EXPIRED);

    /* The genuine fetch, sealed for b's TVE: c's TVE (another platform) cannot open it. */
    assert_int_equal(tdbe_fetch(b.t, tdbe_address(a.t), 0, commit, sealed, sizeof sealed, &len, NULL),
                     VEIL_OK);
    assert_int_equal(import_key(&c, sealed, len), VEIL_ERR_HANDOFF_CHANNEL);
    assert_int_equal(import_key(&b, sealed, len), VEIL_OK);
    assert_true(status_key(&b, got, &awaiting));
    assert_false(awaiting);
    assert_memory_equal(got, commit, 32);
    /* Once it holds the key, b's TVE takes no other. */
    assert_int_equal(import_key(&b, sealed, len), VEIL_ERR_TVE_NOT_AWAITING);
    /* c fetched from b, which got it from a: the same key. */
    assert_int_equal(
        tdbe_fetch(c.t, tdbe_address(b.t), 0, commit, sealed_c, sizeof sealed_c, &len_c, NULL), VEIL_OK);
    assert_int_equal(import_key(&c, sealed_c, len_c), VEIL_OK);
    assert_true(status_key(&c, got, &awaiting));
    assert_memory_equal(got, commit, 32);
    /* a, whose TVE drew the key, awaits none. */
    assert_true(status_key(&a, got, &awaiting));
    assert_false(awaiting);
    member_stop(&c);
    member_stop(&b);
    member_stop(&a);
}

/* Peers that are not what the policy names: refused by the fetching enclave with its
 * own code before it sends a byte of the protocol, and by a serving one likewise. */
static void test_peer_refusals(void **state)
{
    (void)state;
    member a, dbg, other, foreign, old, req;
    char foreign_auth[128], foreign_coll[160];
    snprintf(foreign_auth, sizeof foreign_auth, "%s/foreign-authority", g_dir);
    snprintf(foreign_coll, sizeof foreign_coll, "%s/collateral.json", foreign_auth);
    member_start(&a, "ra", ENC "veil_tve_enclave.signed.so", ENC "veil_tdbe_enclave.signed.so",
                 g_auth, 1, g_coll);
    member_start(&req, "rq", ENC "veil_tve_enclave.signed.so", ENC "veil_tdbe_enclave.signed.so",
                 g_auth, 1, g_coll);
    /* A debug TDBE (its TVE debug too, or the hand-off refuses it). */
    member_start(&dbg, "rd", ENC "veil_tve_enclave_debug.signed.so",
                 ENC "veil_tdbe_enclave_debug.signed.so", g_auth, 1, g_coll);
    /* Another signer's TDBE and TVE. */
    member_start(&other, "ro", ENC "veil_tve_enclave_othersigner.signed.so",
                 ENC "veil_tdbe_enclave_othersigner.signed.so", g_auth, 1, g_coll);
    /* A platform certified by another provisioning authority. */
    member_start(&foreign, "rf", ENC "veil_tve_enclave.signed.so",
                 ENC "veil_tdbe_enclave.signed.so", foreign_auth, 1, foreign_coll);
    /* A platform below the collateral's TCB (OutOfDate). */
    member_start(&old, "rt", ENC "veil_tve_enclave.signed.so", ENC "veil_tdbe_enclave.signed.so",
                 g_auth, 0, g_coll);
    uint8_t commit[32], sealed[TDBE_RESULT_MAX];
    size_t len = 0;
    init_chain(&a, NULL, commit);
    init_chain(&req, commit, NULL);
    reg_epoch(commit);

    assert_int_equal(tdbe_fetch(req.t, tdbe_address(dbg.t), 0, commit, sealed, sizeof sealed, &len, NULL),
                     VEIL_ERR_RATLS_DEBUG);
    assert_int_equal(
        tdbe_fetch(req.t, tdbe_address(other.t), 0, commit, sealed, sizeof sealed, &len, NULL),
        VEIL_ERR_RATLS_MRSIGNER);
    assert_int_equal(
        tdbe_fetch(req.t, tdbe_address(foreign.t), 0, commit, sealed, sizeof sealed, &len, NULL),
        VEIL_ERR_TEE_QUOTE_CHAIN);
    assert_int_equal(tdbe_fetch(req.t, tdbe_address(old.t), 0, commit, sealed, sizeof sealed, &len, NULL),
                     VEIL_ERR_RATLS_TCB);
    /* The serving side applies the same policy: a debug TDBE asking a genuine one is
     * refused, and learns only that. */
    uint32_t code = 0;
    assert_int_equal(tdbe_fetch(dbg.t, tdbe_address(a.t), 0, commit, sealed, sizeof sealed, &len, &code),
                     VEIL_ERR_TDBE_REFUSED);
    assert_int_equal(code, VEIL_ERR_RATLS_DEBUG);
    /* Another signer's TDBE asking: it judges first, and its own policy refuses ours. */
    assert_int_equal(
        tdbe_fetch(other.t, tdbe_address(a.t), 0, commit, sealed, sizeof sealed, &len, NULL),
        VEIL_ERR_RATLS_MRSIGNER);
    /* Nothing listens: a transport error, not a verdict. */
    assert_int_equal(tdbe_fetch(req.t, "127.0.0.1:1", 0, commit, sealed, sizeof sealed, &len, NULL),
                     VEIL_ERR_IO);
    /* And the genuine peer still serves. */
    assert_int_equal(tdbe_fetch(req.t, tdbe_address(a.t), 0, commit, sealed, sizeof sealed, &len, NULL),
                     VEIL_OK);
    member_stop(&old);
    member_stop(&foreign);
    member_stop(&other);
    member_stop(&dbg);
    member_stop(&req);
    member_stop(&a);
}

/* A server serves only members: a client whose TDBE key a node join bound to a staked,
 * unjailed account, proven against the app hash. Each refusal has its own code, and
 * the client learns only that code. */
static void test_membership(void **state)
{
    (void)state;
    member a, b, c;
    member_start(&a, "ma", ENC "veil_tve_enclave.signed.so", ENC "veil_tdbe_enclave.signed.so",
                 g_auth, 1, g_coll);
    member_start(&b, "mb", ENC "veil_tve_enclave.signed.so", ENC "veil_tdbe_enclave.signed.so",
                 g_auth, 1, g_coll);
    member_start(&c, "mc", ENC "veil_tve_enclave.signed.so", ENC "veil_tdbe_enclave.signed.so",
                 g_auth, 1, g_coll);
    uint8_t commit[32], sealed[TDBE_RESULT_MAX];
    size_t len = 0;
    uint32_t code = 0;
    init_chain(&a, NULL, commit);
    init_chain(&b, commit, NULL);
    reg_epoch(commit);
    /* Each platform's TDBE has its own key. */
    assert_false(b.spki_len == c.spki_len && memcmp(b.spki, c.spki, b.spki_len) == 0);
#define FETCH_B() tdbe_fetch(b.t, tdbe_address(a.t), 0, commit, sealed, sizeof sealed, &len, &code)
    assert_int_equal(FETCH_B(), VEIL_OK);

    /* An account with no node join. */
    reg_account(b.account, 1000, 0, NULL, 0);
    assert_int_equal(FETCH_B(), VEIL_ERR_TDBE_REFUSED);
    assert_int_equal(code, VEIL_ERR_TDBE_NOT_MEMBER);
    /* Bound to another enclave's key (c's), which b cannot present. */
    reg_account(b.account, 1000, 0, c.spki, c.spki_len);
    assert_int_equal(FETCH_B(), VEIL_ERR_TDBE_REFUSED);
    assert_int_equal(code, VEIL_ERR_TDBE_NOT_MEMBER);
    /* c naming b's account: its key is not the one bound there either. */
    reg_account(b.account, 1000, 0, b.spki, b.spki_len);
    tdbe_down(&c);
    char c_home[160];
    snprintf(c_home, sizeof c_home, "%s/mc/tdbe", g_dir);
    tdbe_config tc = member_config(&c, c_home, ENC "veil_tdbe_enclave.signed.so", g_coll);
    memcpy(tc.account, b.account, 32);
    tdbe_up(&c, &tc);
    assert_int_equal(tdbe_fetch(c.t, tdbe_address(a.t), 0, commit, sealed, sizeof sealed, &len,
                                &code),
                     VEIL_ERR_TDBE_REFUSED);
    assert_int_equal(code, VEIL_ERR_TDBE_NOT_MEMBER);
    /* An account nobody created: its absence is proven. */
    memcpy(tc.account, "an account that was never created", 32);
    tdbe_down(&c);
    tdbe_up(&c, &tc);
    assert_int_equal(tdbe_fetch(c.t, tdbe_address(a.t), 0, commit, sealed, sizeof sealed, &len,
                                &code),
                     VEIL_ERR_TDBE_REFUSED);
    assert_int_equal(code, VEIL_ERR_TDBE_NOT_MEMBER);
    /* No bonded stake; jailed. */
    reg_account(b.account, 0, 0, b.spki, b.spki_len);
    assert_int_equal(FETCH_B(), VEIL_ERR_TDBE_REFUSED);
    assert_int_equal(code, VEIL_ERR_TDBE_NOT_STAKED);
    reg_account(b.account, 1000, (uint64_t)time(NULL) + 3600, b.spki, b.spki_len);
    assert_int_equal(FETCH_B(), VEIL_ERR_TDBE_REFUSED);
    assert_int_equal(code, VEIL_ERR_TDBE_NOT_STAKED);
    /* A jail term that is over. */
    reg_account(b.account, 1000, (uint64_t)time(NULL) - 10, b.spki, b.spki_len);
    assert_int_equal(FETCH_B(), VEIL_OK);
    /* A host that answers with a proof that does not verify (here: another app hash). */
    g_reg.tamper = true;
    assert_int_equal(FETCH_B(), VEIL_ERR_TDBE_REFUSED);
    assert_int_equal(code, VEIL_ERR_TDBE_MEMBERSHIP_PROOF);
    g_reg.tamper = false;

    /* The key survives a restart of the TDBE on the same platform: the binding holds. */
    uint8_t before[128], quote[8192];
    size_t before_len = b.spki_len, qlen = 0;
    memcpy(before, b.spki, b.spki_len);
    tdbe_down(&b);
    char b_home[160];
    snprintf(b_home, sizeof b_home, "%s/mb/tdbe", g_dir);
    tc = member_config(&b, b_home, ENC "veil_tdbe_enclave.signed.so", g_coll);
    tdbe_up(&b, &tc);
    assert_int_equal(tdbe_join_quote(b.t, CHAIN, b.spki, &b.spki_len, quote, &qlen), VEIL_OK);
    assert_int_equal(b.spki_len, before_len);
    assert_memory_equal(b.spki, before, before_len);
    unsigned asked = g_reg.asked;
    assert_int_equal(FETCH_B(), VEIL_OK);
    assert_int_equal(g_reg.asked, asked + 1); /* judged by proof every time */
    assert_int_equal(import_key(&b, sealed, len), VEIL_OK);

    /* The serving TDBE restarts with no trust root: its light client resumes from the
     * state it sealed, and it serves again. */
    int64_t lc_before = tdbe_lc_height(a.t);
    assert_true(lc_before >= 2);
    char a_home[160], lc_file[200];
    snprintf(a_home, sizeof a_home, "%s/ma/tdbe", g_dir);
    snprintf(lc_file, sizeof lc_file, "%s/lc-state.sealed", a_home);
    tdbe_down(&a);
    tdbe_config ta = member_config(&a, a_home, ENC "veil_tdbe_enclave.signed.so", g_coll);
    ta.has_trust = false;
    tdbe_up(&a, &ta);
    for (int i = 0; i < 100 && tdbe_lc_height(a.t) < lc_before; i++) usleep(50000);
    assert_true(tdbe_lc_height(a.t) >= lc_before);
    assert_int_equal(FETCH_B(), VEIL_OK);
    /* An older copy of its own sealed state, put back: the seals are numbered with the
     * platform's monotonic counter, so it is refused as a rollback. Without a trust
     * root nothing is served; with one the light client starts again from it. */
    uint8_t *old_state = NULL;
    size_t old_len = 0;
    assert_int_equal(veil_file_read(lc_file, 1u << 20, &old_state, &old_len), VEIL_OK);
    int64_t lc_old = tdbe_lc_height(a.t);
    reg_account(b.account, 1000, 0, b.spki, b.spki_len); /* a new block */
    for (int i = 0; i < 100 && tdbe_lc_height(a.t) <= lc_old; i++) usleep(50000);
    assert_true(tdbe_lc_height(a.t) > lc_old);
    tdbe_down(&a);
    uint8_t *new_state = NULL;
    size_t new_len = 0;
    assert_int_equal(veil_file_read(lc_file, 1u << 20, &new_state, &new_len), VEIL_OK);
    /* The enclave itself, asked directly: the older copy is a rollback (1023), the
     * newest still resumes (a refusal does not move the counter). */
    tee_platform *pa;
    tee_enclave *ea;
    size_t rn = 0;
    assert_int_equal(tee_platform_open(a.plat, &pa), VEIL_OK);
    assert_int_equal(tee_enclave_load(pa, ENC "veil_tdbe_enclave.signed.so", NULL,
                                      TDBE_ENCLAVE_MEMORY, &ea),
                     VEIL_OK);
    assert_int_equal(tee_enclave_call(ea, TDBE_E_LC_RESUME, old_state, old_len, NULL, 0, &rn),
                     VEIL_ERR_LC_ROLLBACK);
    assert_int_equal(tee_enclave_call(ea, TDBE_E_LC_RESUME, new_state, new_len, NULL, 0, &rn),
                     VEIL_OK);
    assert_int_equal(tee_enclave_call(ea, TDBE_E_SHUTDOWN, NULL, 0, NULL, 0, &rn), VEIL_OK);
    tee_enclave_destroy(ea);
    tee_platform_close(pa);
    free(new_state);
    assert_int_equal(veil_file_write_atomic(lc_file, old_state, old_len, 0600), VEIL_OK);
    free(old_state);
    tdbe_up(&a, &ta);
    usleep(300000);
    assert_int_equal(tdbe_lc_height(a.t), 0);
    assert_int_equal(FETCH_B(), VEIL_ERR_TDBE_REFUSED);
    assert_int_equal(code, VEIL_ERR_TDBE_MEMBERSHIP_PROOF);
    tdbe_down(&a);
    ta.has_trust = true;
    tdbe_up(&a, &ta);
    for (int i = 0; i < 100 && tdbe_lc_height(a.t) <= lc_old; i++) usleep(50000);
    assert_true(tdbe_lc_height(a.t) > lc_old);
    assert_int_equal(FETCH_B(), VEIL_OK);
    ta.has_trust = false;
    /* A damaged sealed state and no trust root: the light client cannot start, so no
     * membership can be proven and nothing is served. */
    tdbe_down(&a);
    FILE *f = fopen(lc_file, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 200, SEEK_SET), 0);
    int ch = fgetc(f);
    assert_int_equal(fseek(f, 200, SEEK_SET), 0);
    fputc(ch ^ 0x01, f);
    fclose(f);
    tdbe_up(&a, &ta);
    usleep(300000);
    assert_int_equal(tdbe_lc_height(a.t), 0);
    assert_int_equal(FETCH_B(), VEIL_ERR_TDBE_REFUSED);
    assert_int_equal(code, VEIL_ERR_TDBE_MEMBERSHIP_PROOF);
#undef FETCH_B
    member_stop(&c);
    member_stop(&b);
    member_stop(&a);
}

/* A TDBE whose platform's collateral names another root is refused at start. */
static void test_collateral_of_another_root(void **state)
{
    (void)state;
    char foreign_auth[128], foreign_coll[160], plat[128];
    snprintf(foreign_auth, sizeof foreign_auth, "%s/foreign-authority", g_dir);
    snprintf(foreign_coll, sizeof foreign_coll, "%s/collateral.json", foreign_auth);
    snprintf(plat, sizeof plat, "%s/cr/platform", g_dir);
    assert_int_equal(sim_platform_provision(plat, foreign_auth, 1, false), VEIL_OK);
    tee_platform *p;
    assert_int_equal(tee_platform_open(plat, &p), VEIL_OK);
    assert_int_equal(tee_platform_set_collateral(p, g_coll), VEIL_ERR_TEE_QUOTE_CHAIN);
    assert_int_equal(tee_platform_set_collateral(p, foreign_coll), VEIL_OK);
    tee_platform_close(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_sharing),
        cmocka_unit_test(test_peer_refusals),
        cmocka_unit_test(test_membership),
        cmocka_unit_test(test_collateral_of_another_root),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
