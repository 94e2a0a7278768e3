/* The TDBE: key sharing between two platforms' TVEs over mutually attested TLS, and
 * each refusal with its own code (docs/tdbe.md). Real TVE services (0MQ, LMDB, enclave)
 * and TDBE hosts run in this process on ipc:// and loopback sockets; each member has
 * its own simulated platform, all provisioned by one authority unless said otherwise.
 * Membership proofs come from a real node state (LMDB and its app-hash tree) that the
 * test writes accounts and node bindings into, as a chain's node joins would; each
 * commit's app hash goes into the next header of a signed test chain, which the
 * serving TDBEs' light clients follow and verify. */
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <pthread.h>
#include <sys/socket.h>
#include <setjmp.h>
#include <stdatomic.h>
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
#include "trusted/tve/tve_abi.h"
#include "trusted/cmt/cmt_hash.h"
#include "trusted/tdbe/tdbe_member.h"
#include "veil/tve.pb-c.h"

#include "support/lc_testchain.h"
#include "support/tx_builder.h"
#include "hostutil/tcp.h"
#include "common/cursor.h"

#define ENC VEIL_BUILD_DIR "/enclaves/"
#define CHAIN "tdbe-test"

static char g_dir[64], g_auth[128], g_coll[160];
/* The TVE daemon test_bootstrap_kill runs (0: none), stopped by teardown if a failed
 * assertion left it. */
static pid_t g_daemon;

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
    if (g_daemon > 0) {
        kill(g_daemon, SIGKILL);
        waitpid(g_daemon, NULL, 0);
    }
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

/* --- bootstrap of tx data (docs/tdbe.md, "Bootstrap") ----------------------------------- */
/* The serving member's TVE runs the image with the test hooks: the test takes its epoch
 * key out (as test_key_epochs' attacker does) to encrypt the withdraws its blocks
 * commit, through the real verify-block, end-block and commit-block. Each accepted tx's
 * output record goes into the registry, whose app hash the blocks commit. */
#define BREACH_TVE ENC "veil_tve_enclave_breach.signed.so"
#define TS_TDBE ENC "veil_tdbe_enclave_ts.signed.so"
#define BOOT_BLOCK_TIME 2000u

static struct {
    uint8_t key[32]; /* the serving TVE's epoch-0 key */
    uint8_t acct_sk[32], acct_pk[32], out_pk[32];
    uint64_t nonce;
    uint64_t height; /* the serving TVE's last committed height */
    size_t txs;      /* accepted txs committed so far */
    uint8_t txid[32]; /* one accepted tx of block 3 (the not-on-chain case) */
} g_boot;

static void boot_params(Veil__Tve__ChainParams *p)
{
    veil__tve__chain_params__init(p);
    p->chain_id = (char *)CHAIN;
    p->block_time = BOOT_BLOCK_TIME;
    p->fee_rule = VEIL__TVE__FEE_RULE__FEE_RULE_AT_LEAST;
}

/* Commits block height + 1 on m's TVE: n withdraws (payloads of `pad` extra view keys
 * to vary their size) and, with a refused one, a withdraw whose account nonce the
 * chain state does not match; every accepted tx's output record into the registry. */
static void boot_block(member *m, size_t n, bool refused)
{
    uint64_t h = ++g_boot.height;
    size_t total = n + (refused ? 1 : 0);
    txb **b = calloc(total ? total : 1, sizeof *b);
    Veil__Tve__TxContext *ctx = calloc(total ? total : 1, sizeof *ctx);
    Veil__Tve__TxContext **ctxp = calloc(total ? total : 1, sizeof *ctxp);
    Veil__Tve__AccountState *acct = calloc(total ? total : 1, sizeof *acct);
    ProtobufCBinaryData *ids = calloc(total ? total : 1, sizeof *ids);
    assert_true(b != NULL && ctx != NULL && ctxp != NULL && acct != NULL && ids != NULL);
    for (size_t i = 0; i < total; i++) {
        bool bad = refused && i == n / 2;
        b[i] = txb_new(VEIL_TX_KIND_WITHDRAW, CHAIN);
        memcpy(b[i]->account, g_boot.acct_pk, 32);
        b[i]->nonce = bad ? 1u << 30 : g_boot.nonce++;
        /* A withdraw's outputs are locked to the stake's unbonding time and spend the
         * unbonded amount exactly (fee 0 here). */
        txb_output(b[i], g_boot.out_pk, 1 + i, 1000);
        txb_output(b[i], g_boot.acct_pk, 2, 1000);
        txb_view_key(b[i], g_boot.out_pk);
        txb_signer(b[i], g_boot.acct_sk);
        memcpy(b[i]->key, g_boot.key, 32);
        b[i]->key_epoch = 0;
        txb_build(b[i]);
        veil__tve__account_state__init(&acct[i]);
        acct[i].address = (ProtobufCBinaryData){32, g_boot.acct_pk};
        acct[i].unbonded = 3 + i;
        acct[i].unbonded_from = 1000;
        acct[i].nonce = bad ? 0 : b[i]->nonce;
        veil__tve__tx_context__init(&ctx[i]);
        ctx[i].tx = (ProtobufCBinaryData){b[i]->wire_len, b[i]->wire};
        ctx[i].account = &acct[i];
        ctxp[i] = &ctx[i];
    }
    Veil__Tve__ChainParams params;
    boot_params(&params);
    veil_status st;
    Veil__Tve__Response *r;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    size_t k = 0;
    if (total > 0) {
        Veil__Tve__VerifyBlockRequest vb = VEIL__TVE__VERIFY_BLOCK_REQUEST__INIT;
        vb.height = h;
        vb.params = &params;
        vb.txs = ctxp;
        vb.n_txs = total;
        vb.mode = VEIL__TVE__MODE__DELIVER;
        req.request_case = VEIL__TVE__REQUEST__REQUEST_VERIFY_BLOCK;
        req.verify_block = &vb;
        r = call(m, &req, VEIL__TVE__RESPONSE__RESPONSE_VERIFY_BLOCK, &st);
        assert_int_equal(st, VEIL_OK);
        pthread_mutex_lock(&g_reg.lock);
        for (size_t i = 0; i < total; i++) {
            const Veil__Tve__TxResult *x = r->verify_block->results[i];
            if (x->result_case != VEIL__TVE__TX_RESULT__RESULT_OK) {
                if (!(refused && i == n / 2))
                    fail_msg("tx %zu of block %llu refused: %u", i, (unsigned long long)h,
                             x->error != NULL ? x->error->code : 0);
                continue;
            }
            node_output o = {.output_count = 2, .spent = 0, .height = h};
            assert_int_equal(node_state_output_put(g_reg.st, b[i]->txid, &o), VEIL_OK);
            ids[k++] = (ProtobufCBinaryData){32, b[i]->txid};
            if (h == 3 && k == 1) memcpy(g_boot.txid, b[i]->txid, 32);
        }
        reg_commit();
        pthread_mutex_unlock(&g_reg.lock);
        veil__tve__response__free_unpacked(r, NULL);
    } else {
        pthread_mutex_lock(&g_reg.lock);
        reg_commit();
        pthread_mutex_unlock(&g_reg.lock);
    }
    assert_int_equal(k, n);
    Veil__Tve__EndBlockRequest eb = VEIL__TVE__END_BLOCK_REQUEST__INIT;
    eb.height = h;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_END_BLOCK;
    req.end_block = &eb;
    r = call(m, &req, VEIL__TVE__RESPONSE__RESPONSE_END_BLOCK, &st);
    assert_int_equal(st, VEIL_OK);
    veil__tve__response__free_unpacked(r, NULL);
    uint8_t app[32];
    pthread_mutex_lock(&g_reg.lock);
    node_state_app_hash(g_reg.st, app);
    pthread_mutex_unlock(&g_reg.lock);
    Veil__Tve__CommitBlockRequest cb = VEIL__TVE__COMMIT_BLOCK_REQUEST__INIT;
    cb.height = h;
    cb.app_hash = (ProtobufCBinaryData){32, app};
    cb.txids = ids;
    cb.n_txids = k;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_COMMIT_BLOCK;
    req.commit_block = &cb;
    r = call(m, &req, VEIL__TVE__RESPONSE__RESPONSE_COMMIT_BLOCK, &st);
    assert_int_equal(st, VEIL_OK);
    veil__tve__response__free_unpacked(r, NULL);
    g_boot.txs += k;
    for (size_t i = 0; i < total; i++) txb_free(b[i]);
    free(b);
    free(ctx);
    free(ctxp);
    free(acct);
    free(ids);
}

/* m's committed blocks from..to as its TVE exports them: the records, concatenated
 * with their lengths (what two stores that agree share byte for byte). */
static size_t boot_records(member *m, uint64_t from, uint64_t to, uint8_t **out)
{
    size_t len = 0;
    *out = NULL;
    while (from <= to) {
        Veil__Tve__ExportBlocksRequest er = VEIL__TVE__EXPORT_BLOCKS_REQUEST__INIT;
        er.from_height = from;
        er.to_height = to;
        Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
        req.request_case = VEIL__TVE__REQUEST__REQUEST_EXPORT_BLOCKS;
        req.export_blocks = &er;
        veil_status st;
        Veil__Tve__Response *r = call(m, &req, VEIL__TVE__RESPONSE__RESPONSE_EXPORT_BLOCKS, &st);
        assert_int_equal(st, VEIL_OK);
        if (r->export_blocks->n_records == 0) {
            veil__tve__response__free_unpacked(r, NULL);
            break;
        }
        for (size_t i = 0; i < r->export_blocks->n_records; i++) {
            const ProtobufCBinaryData *rec = &r->export_blocks->records[i];
            *out = realloc(*out, len + 4 + rec->len);
            assert_non_null(*out);
            veil_put_u32(*out + len, (uint32_t)rec->len);
            memcpy(*out + len + 4, rec->data, rec->len);
            len += 4 + rec->len;
        }
        from += r->export_blocks->n_records;
        veil__tve__response__free_unpacked(r, NULL);
    }
    return len;
}

static uint64_t boot_last(member *m)
{
    Veil__Tve__StatusRequest sr = VEIL__TVE__STATUS_REQUEST__INIT;
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_STATUS;
    req.status = &sr;
    veil_status st;
    Veil__Tve__Response *r = call(m, &req, VEIL__TVE__RESPONSE__RESPONSE_STATUS, &st);
    assert_int_equal(st, VEIL_OK);
    uint64_t h = r->status->last_height;
    veil__tve__response__free_unpacked(r, NULL);
    return h;
}

/* Whether b's store holds exactly a's blocks 1..a's last height. */
static void boot_same(member *a, member *b)
{
    uint8_t *x, *y;
    size_t nx = boot_records(a, 1, g_boot.height, &x), ny = boot_records(b, 1, g_boot.height, &y);
    assert_int_equal(boot_last(b), g_boot.height);
    assert_int_equal(nx, ny);
    assert_memory_equal(x, y, nx);
    free(x);
    free(y);
}

/* A serving host that lies about the public records it hands its enclave. */
typedef enum { LIE_NONE, LIE_TXID, LIE_COUNT, LIE_BLOOM } lie_kind;
static struct {
    lie_kind kind;
    uint64_t height; /* the block lied about */
} g_lie;

static void boot_lie(void *ctx, uint8_t *ans, size_t *len, size_t cap)
{
    (void)ctx, (void)cap;
    if (g_lie.kind == LIE_NONE || *len < 12) return;
    uint32_t n = veil_get_u32(ans + 8);
    size_t at = 12;
    /* The answer covers blocks from the request's first height; find the one lied about
     * by walking the records (each names its txs' outcomes; heights run from the
     * stream's next height, which the filter learns from the record count only: the
     * test asks from height 1). */
    for (uint32_t i = 0; i < n && at + 4 <= *len; i++) {
        uint32_t rl = veil_get_u32(ans + at);
        uint8_t *rec = ans + at + 4;
        if (i + 1 == g_lie.height && rl > 1 + 32 + 256 + 4) {
            uint8_t *bloom = rec + 1 + rec[0];
            uint8_t *outcome = bloom + 256 + 4 + 4; /* the first outcome's bytes */
            if (g_lie.kind == LIE_BLOOM) bloom[7] ^= 0x10;
            /* TxOutcome: field 1 txid (0x0a 0x20 || 32 bytes) comes first. */
            if (g_lie.kind == LIE_TXID && outcome[0] == 0x0a) outcome[2] ^= 1;
            if (g_lie.kind == LIE_COUNT) {
                /* output_count (field 7, 0x38) of the first outcome: 2 -> 3. */
                uint32_t ol = veil_get_u32(bloom + 256 + 4);
                for (uint32_t j = 0; j + 1 < ol; j++)
                    if (outcome[j] == 0x38 && outcome[j + 1] == 2) {
                        outcome[j + 1] = 3;
                        break;
                    }
            }
        }
        at += 4 + rl;
    }
}

/* A TCP relay between a fetching TDBE and a serving one that stops relaying the
 * server's bytes after `after` of them: cut (both sockets closed) or stalled (open,
 * silent). */
typedef struct relay {
    int listen_fd;
    char address[64];
    const char *target;
    size_t after;
    bool stall;
    pthread_t th;
} relay;

static void *relay_main(void *arg)
{
    relay *rl = arg;
    int c = accept(rl->listen_fd, NULL, NULL), s = -1;
    if (c < 0 || veil_tcp_connect(rl->target, 5000, &s) != VEIL_OK) goto out;
    size_t sent = 0;
    uint8_t buf[16384];
    for (;;) {
        struct pollfd p[2] = {{c, POLLIN, 0}, {s, POLLIN, 0}};
        if (poll(p, 2, 10000) <= 0) break;
        if (p[0].revents) {
            ssize_t n = recv(c, buf, sizeof buf, 0);
            if (n <= 0 || !veil_tcp_send_all(s, buf, (size_t)n)) break;
        }
        if (p[1].revents) {
            ssize_t n = recv(s, buf, sizeof buf, 0);
            if (n <= 0) break;
            size_t k = (size_t)n;
            if (sent + k > rl->after) k = rl->after - sent;
            if (k > 0 && !veil_tcp_send_all(c, buf, k)) break;
            sent += k;
            if (sent >= rl->after) {
                if (!rl->stall) break;
                /* Silent from now on: the client's idle timeout ends it. */
                uint8_t drop[1];
                while (recv(c, drop, 1, 0) > 0) {
                }
                break;
            }
        }
    }
out:
    if (s >= 0) close(s);
    if (c >= 0) close(c);
    return NULL;
}

static void relay_start(relay *rl, const char *target, size_t after, bool stall)
{
    memset(rl, 0, sizeof *rl);
    rl->target = target;
    rl->after = after;
    rl->stall = stall;
    assert_int_equal(veil_tcp_listen("127.0.0.1:0", 4, &rl->listen_fd, rl->address,
                                     sizeof rl->address),
                     VEIL_OK);
    assert_int_equal(pthread_create(&rl->th, NULL, relay_main, rl), 0);
}

static void relay_stop(relay *rl)
{
    pthread_join(rl->th, NULL);
    close(rl->listen_fd);
}

static void boot_world(const char *names[3], int blocks, size_t txs, member *a, member *b,
                       member *c)
{
    member_start(a, names[0], BREACH_TVE, TS_TDBE, g_auth, 1, g_coll);
    member_start(b, names[1], BREACH_TVE, TS_TDBE, g_auth, 1, g_coll);
    member_start(c, names[2], BREACH_TVE, TS_TDBE, g_auth, 1, g_coll);
    uint8_t commit[32];
    init_chain(a, NULL, commit);
    init_chain(b, commit, NULL);
    init_chain(c, commit, NULL);
    reg_epoch(commit);
    uint8_t in[8] = {0};
    size_t n = 0;
    assert_int_equal(tee_enclave_call(tve_service_enclave(a->svc), TVE_E_TEST_BREACH, in, sizeof in,
                                      g_boot.key, 32, &n),
                     VEIL_OK);
    memset(g_boot.acct_sk, 0x11, 32);
    txb_pubkey(g_boot.acct_pk, g_boot.acct_sk);
    uint8_t out_sk[32];
    memset(out_sk, 0x22, 32);
    txb_pubkey(g_boot.out_pk, out_sk);
    g_boot.height = 0;
    g_boot.txs = 0;
    g_boot.nonce = 0;
    /* Some blocks empty, one with a refused tx among accepted ones; 12 blocks are about
     * 2 MB, so that the stream takes more than one batch. */
    for (int i = 0; i < blocks; i++) boot_block(a, i % 4 == 1 ? 0 : txs, i == 2);
}

/* A node that joined late fetches every committed block from a peer: every tx checked
 * against the chain, the same records (outcomes, bloom, verdicts) as the peer's, its
 * txs sealed anew on its own platform; asked again, nothing is fetched twice. */
static void test_bootstrap(void **state)
{
    (void)state;
    member a, b, c;
    const char *names[3] = {"ba", "bb", "bc"};
    boot_world(names, 12, 250, &a, &b, &c);
    tdbe_data_report rep;
    assert_int_equal(tdbe_fetch_data(b.t, tdbe_address(a.t), 1, g_boot.height, &rep), VEIL_OK);
    assert_int_equal(rep.blocks, g_boot.height);
    assert_int_equal(rep.txs, g_boot.txs);
    assert_int_equal(rep.peer_last, g_boot.height);
    assert_true(rep.bytes > 1000000);
    boot_same(&a, &b);
    /* Again: every height is committed, nothing is sealed twice. */
    assert_int_equal(tdbe_fetch_data(b.t, tdbe_address(a.t), 1, g_boot.height, &rep), VEIL_OK);
    assert_int_equal(rep.txs, 0);
    /* b serves c what it fetched (its own seals, opened by its own enclave). */
    assert_int_equal(tdbe_fetch_data(c.t, tdbe_address(b.t), 1, g_boot.height, &rep), VEIL_OK);
    assert_int_equal(rep.txs, g_boot.txs);
    boot_same(&a, &c);
    member_stop(&c);
    member_stop(&b);
    member_stop(&a);
}

/* Peers that serve what the chain does not say: refused inside the fetching enclave
 * with the block and tx named, nothing of that batch kept; a cut or stalled stream
 * keeps the whole batches before it, and the next peer resumes from there. */
static void test_bootstrap_hostile(void **state)
{
    (void)state;
    member a, b, c;
    const char *names[3] = {"ha", "hb", "hc"};
    boot_world(names, 12, 250, &a, &b, &c);
    /* a's host lies: every lie is caught before anything is sealed. */
    tdbe_config lying = member_config(&a, "", TS_TDBE, g_coll);
    char home[160];
    snprintf(home, sizeof home, "%s/ha/tdbe", g_dir);
    lying.home = home;
    lying.export_filter = boot_lie;
    tdbe_down(&a);
    tdbe_up(&a, &lying);
    const struct {
        lie_kind kind;
        veil_status st;
        uint32_t index;
    } lies[] = {{LIE_TXID, VEIL_ERR_TDBE_TX_MISMATCH, 0},
                {LIE_COUNT, VEIL_ERR_TDBE_TX_MISMATCH, 0},
                {LIE_BLOOM, VEIL_ERR_TDBE_TX_MISMATCH, 0xffffffffu}};
    tdbe_data_report rep;
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        g_lie.kind = lies[i].kind;
        g_lie.height = 3;
        assert_int_equal(tdbe_fetch_data(b.t, tdbe_address(a.t), 1, g_boot.height, &rep),
                         lies[i].st);
        assert_true(rep.failed_check);
        assert_int_equal(rep.fail_height, 3);
        assert_int_equal(rep.fail_index, lies[i].index);
        assert_int_equal(rep.txs, 0);
        assert_int_equal(boot_last(&b), 0);
    }
    g_lie.kind = LIE_NONE;
    /* A tx the chain holds elsewhere (its output record names another height). */
    node_output o = {.output_count = 2, .spent = 0, .height = 4}, right = o;
    right.height = 3;
    pthread_mutex_lock(&g_reg.lock);
    assert_int_equal(node_state_output_put(g_reg.st, g_boot.txid, &o), VEIL_OK);
    reg_commit();
    pthread_mutex_unlock(&g_reg.lock);
    assert_int_equal(tdbe_fetch_data(b.t, tdbe_address(a.t), 1, g_boot.height, &rep),
                     VEIL_ERR_TDBE_TX_NOT_ON_CHAIN);
    assert_int_equal(rep.fail_height, 3);
    assert_int_equal(rep.fail_index, 0);
    assert_int_equal(boot_last(&b), 0);
    pthread_mutex_lock(&g_reg.lock);
    assert_int_equal(node_state_output_put(g_reg.st, g_boot.txid, &right), VEIL_OK);
    reg_commit();
    pthread_mutex_unlock(&g_reg.lock);

    /* Cut after 1.2 MB of the server's bytes: the first batch (about 1 MB) is kept. */
    relay rl;
    relay_start(&rl, tdbe_address(a.t), 1200000, false);
    veil_status st = tdbe_fetch_data(b.t, rl.address, 1, g_boot.height, &rep);
    relay_stop(&rl);
    if (st != VEIL_ERR_IO && st != VEIL_ERR_TDBE_STREAM) fail_msg("cut stream: %s", veil_status_name(st));
    uint64_t kept = boot_last(&b);
    assert_true(kept >= 1 && kept < g_boot.height);
    assert_int_equal(rep.last_height, kept);
    /* Stalled after 1.2 MB more: the idle timeout ends it. */
    relay_start(&rl, tdbe_address(a.t), 300000, true);
    st = tdbe_fetch_data(b.t, rl.address, kept + 1, g_boot.height, &rep);
    relay_stop(&rl);
    assert_int_equal(st, VEIL_ERR_TIMEOUT);
    /* Another peer (c, which has the blocks from a) resumes where b's store stands. */
    assert_int_equal(tdbe_fetch_data(c.t, tdbe_address(a.t), 1, g_boot.height, &rep), VEIL_OK);
    uint64_t from = boot_last(&b) + 1;
    assert_int_equal(tdbe_fetch_data(b.t, tdbe_address(c.t), from, g_boot.height, &rep), VEIL_OK);
    assert_int_equal(rep.blocks, g_boot.height - from + 1);
    boot_same(&a, &b);
    member_stop(&c);
    member_stop(&b);
    member_stop(&a);
}

/* Several peers at once: the range split between them, each stream checked on its own,
 * the TVE committing in height order; a peer that fails early leaves the later range's
 * batches nowhere to go, and the next attempt resumes where the TVE stands. */
static void test_bootstrap_parallel(void **state)
{
    (void)state;
    member a, b, c;
    const char *names[3] = {"pa", "pb", "pc"};
    boot_world(names, 140, 8, &a, &b, &c); /* two ranges of at least 64 blocks */
    tdbe_data_report reps[2];
    assert_int_equal(tdbe_fetch_data(c.t, tdbe_address(a.t), 1, g_boot.height, &reps[0]), VEIL_OK);
    const char *both[2] = {tdbe_address(a.t), tdbe_address(c.t)};
    assert_int_equal(tdbe_fetch_data_peers(b.t, both, 2, 1, g_boot.height, reps), VEIL_OK);
    if (!(reps[0].blocks >= 64 && reps[1].blocks >= 64))
        fail_msg("blocks %llu + %llu, status %d %d, last %llu %llu, peer_last %llu %llu", (unsigned long long)reps[0].blocks,
                 (unsigned long long)reps[1].blocks, (int)reps[0].status, (int)reps[1].status,
                 (unsigned long long)reps[0].last_height, (unsigned long long)reps[1].last_height,
                 (unsigned long long)reps[0].peer_last, (unsigned long long)reps[1].peer_last);
    assert_int_equal(reps[0].blocks + reps[1].blocks, g_boot.height);
    assert_int_equal(reps[0].txs + reps[1].txs, g_boot.txs);
    boot_same(&a, &b);
    member_stop(&b);
    /* A fresh member whose first peer cuts its stream at once. */
    member d;
    member_start(&d, "pd", BREACH_TVE, TS_TDBE, g_auth, 1, g_coll);
    uint8_t commit[32];
    bool awaiting;
    (void)status_key(&a, commit, &awaiting);
    init_chain(&d, commit, NULL);
    relay rl;
    relay_start(&rl, tdbe_address(a.t), 3000, false);
    const char *cut[2] = {rl.address, tdbe_address(c.t)};
    veil_status st = tdbe_fetch_data_peers(d.t, cut, 2, 1, g_boot.height, reps);
    relay_stop(&rl);
    assert_true(st == VEIL_ERR_IO || st == VEIL_ERR_TDBE_STREAM);
    assert_int_not_equal(reps[0].status, VEIL_OK);
    assert_int_equal(boot_last(&d), reps[0].last_height); /* nothing past a gap */
    uint64_t from = boot_last(&d) + 1;
    assert_int_equal(tdbe_fetch_data(d.t, tdbe_address(c.t), from, g_boot.height, &reps[0]), VEIL_OK);
    boot_same(&a, &d);
    member_stop(&d);
    member_stop(&c);
    member_stop(&a);
}

/* The fetching member's TVE as its own process (`veil tve`), started on its home. */
static pid_t boot_tve_daemon(member *m, const char *name)
{
    char home[160], log[160];
    snprintf(home, sizeof home, "%s/%s/tve", g_dir, name);
    snprintf(log, sizeof log, "%s/%s/tve.log", g_dir, name);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
        execl(VEIL_BUILD_DIR "/veil", "veil", "tve", "--listen", m->ep, "--home", home,
              "--platform", m->plat, "--enclave", BREACH_TVE, "--threads", "1", "--log", "errors",
              (char *)NULL);
        _exit(127);
    }
    g_daemon = pid;
    /* Serving once it answers a status request. */
    for (int i = 0; i < 200; i++) {
        Veil__Tve__StatusRequest sr = VEIL__TVE__STATUS_REQUEST__INIT;
        Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
        req.request_case = VEIL__TVE__REQUEST__REQUEST_STATUS;
        req.status = &sr;
        Veil__Tve__Response *r = NULL;
        tve_client *cli;
        assert_int_equal(tve_client_open(m->ep, 200, &cli), VEIL_OK);
        veil_status st = tve_client_call(cli, &req, VEIL__TVE__RESPONSE__RESPONSE_STATUS, 200, &r);
        tve_client_close(cli);
        if (r != NULL) veil__tve__response__free_unpacked(r, NULL);
        if (st == VEIL_OK) return pid;
        usleep(50 * 1000);
    }
    fail_msg("the TVE daemon did not start");
    return pid;
}

typedef struct boot_run {
    member *b;
    const char *peer;
    veil_status st;
    atomic_bool done;
} boot_run;

static void *boot_run_main(void *arg)
{
    boot_run *r = arg;
    tdbe_data_report rep;
    r->st = tdbe_fetch_data(r->b->t, r->peer, 1, g_boot.height, &rep);
    atomic_store(&r->done, true);
    return NULL;
}

/* The fetching member's TVE killed (-9) at random points of a bootstrap, ten times,
 * each time restarted and the bootstrap resumed where its store stands: the final
 * store is the serving one's, every tx once. */
static void test_bootstrap_kill(void **state)
{
    (void)state;
    member a, b, c;
    const char *names[3] = {"ka", "kb", "kc"};
    boot_world(names, 60, 250, &a, &b, &c); /* about 10 MB: several batches */
    member_stop(&c);
    /* b's TVE becomes a process of its own; its TDBE (here) talks to it over 0MQ. */
    tdbe_down(&b);
    b.stop = 1;
    pthread_join(b.tve_th, NULL);
    tve_client_close(b.cli);
    tve_server_close(b.srv);
    tve_service_close(b.svc);
    pid_t tve = boot_tve_daemon(&b, "kb");
    assert_int_equal(tve_client_open(b.ep, 5000, &b.cli), VEIL_OK);
    char home[160];
    snprintf(home, sizeof home, "%s/kb/tdbe", g_dir);
    tdbe_config tc = member_config(&b, home, TS_TDBE, g_coll);
    tc.timeout_ms = 2000;
    tc.tve_timeout_ms = 2000; /* a request the killed TVE never answers */
    tdbe_up(&b, &tc);
    unsigned seed = (unsigned)time(NULL);
    uint64_t seen[10];
    int midway = 0;
    uint64_t before = 0;
    for (int i = 0; i < 10; i++) {
        boot_run run = {.b = &b, .peer = tdbe_address(a.t)};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, boot_run_main, &run), 0);
        /* Once this round has committed something (or finished), a random moment
         * later: the kill falls anywhere in a batch's import or in the stream. */
        for (int k = 0; k < 5000 && !atomic_load(&run.done) && boot_last(&b) <= before; k++)
            usleep(2000);
        usleep((useconds_t)(rand_r(&seed) % 15) * 1000);
        kill(tve, SIGKILL);
        waitpid(tve, NULL, 0);
        pthread_join(th, NULL);
        tve = boot_tve_daemon(&b, "kb");
        seen[i] = before = boot_last(&b);
        midway += seen[i] > 0 && seen[i] < g_boot.height;
    }
    /* The last resume completes; nothing twice, nothing lost. */
    tdbe_data_report rep;
    assert_int_equal(tdbe_fetch_data(b.t, tdbe_address(a.t), 1, g_boot.height, &rep), VEIL_OK);
    boot_same(&a, &b);
    for (int i = 1; i < 10; i++) assert_true(seen[i] >= seen[i - 1]);
    assert_true(midway >= 1); /* some kills fell inside the stream */
    print_message("bootstrap killed 10 times at heights");
    for (int i = 0; i < 10; i++) print_message(" %llu", (unsigned long long)seen[i]);
    print_message(" of %llu (%d midway)\n", (unsigned long long)g_boot.height, midway);
    tdbe_down(&b);
    tve_client_close(b.cli);
    kill(tve, SIGTERM);
    waitpid(tve, NULL, 0);
    g_daemon = 0;
    member_stop(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_sharing),
        cmocka_unit_test(test_peer_refusals),
        cmocka_unit_test(test_membership),
        cmocka_unit_test(test_collateral_of_another_root),
        cmocka_unit_test(test_bootstrap),
        cmocka_unit_test(test_bootstrap_hostile),
        cmocka_unit_test(test_bootstrap_parallel),
        cmocka_unit_test(test_bootstrap_kill),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
