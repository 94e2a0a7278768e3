/* The node end to end: `veil node` processes driven over their ABCI sockets (as
 * CometBFT would), each with a real `veil tve` daemon; confidential txs made with the
 * TQE enclave in-process and encrypted by the TVE.
 *
 *   - a chain: withdraw, transfer, double spends, deposit, public txs, queries with
 *     proofs checked against the app hash, the bloom event;
 *   - app-hash determinism: two nodes (each with its own TVE holding the same key) fed
 *     the same requests agree at every height;
 *   - plaintext scan: the recipient's key and the amount appear nowhere in the node's
 *     files or log;
 *   - recovery: kill -9 of the node or the TVE at several points, both restarted:
 *     heights and app hashes agree and committed txs are still spendable;
 *   - a TVE of the wrong identity is refused with a clear message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>
#include <jansson.h>

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/cursor.h"
#include "common/hex.h"
#include "crypto/crypto.h"
#include "host/abci/abci_client.h"
#include "host/node/node_abci.h"
#include "chain/node_records.h"
#include "chain/node_tx.h"
#include "trusted/state/smt_verify.h"
#include "host/tve/tve_client.h"
#include "host/tqe/tqe_handoff.h"
#include "hostutil/fileio.h"
#include "support/tx_builder.h"
#include "tee/sim/sim_host.h"
#include "tee/tee.h"
#include "tendermint/crypto/proof.pb-c.h"
#include "trusted/tqe/tqe_abi.h"
#include "veil/tve.pb-c.h"

#define VEIL_BIN VEIL_BUILD_DIR "/veil"
#define TQE_IMG VEIL_BUILD_DIR "/enclaves/veil_tqe_enclave_test.signed.so"
#define CHAIN "veil-node-test"
#define GEN_TIME 1700000000ull
#define FEE 7u
#define AMOUNT_A 987654321123ull /* account A's unbonded stake: distinctive bytes */

static char g_dir[64];
static char g_plat[128];
static tee_platform *g_platform;
static tee_enclave *g_tqe;
static uint8_t sk_a[32], pk_a[32], sk_b[32], pk_b[32], sk_r[32], pk_r[32], sk_s[32], pk_s[32];
static uint8_t vk[32];

/* --- processes ------------------------------------------------------------------------ */
typedef struct proc {
    pid_t pid;
    char log[256];
} proc;

static pid_t spawn(char *const argv[], const char *log)
{
    /* The death signal follows the forking thread: only a child of the main thread
     * gets it (tve_start_later forks from a thread that then ends). */
    bool main_thread = (pid_t)syscall(SYS_gettid) == getpid();
    pid_t pid = fork();
    if (pid == 0) {
        if (main_thread) prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failing test leaves no daemon */
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void proc_kill(proc *p, int sig)
{
    if (p->pid <= 0) return;
    kill(p->pid, sig);
    int status;
    waitpid(p->pid, &status, 0);
    p->pid = 0;
}

/* An instance: a TVE and a node, each in its own directory. */
typedef struct inst {
    char name[16];
    char tve_home[160], tve_ep[200], node_home[160], abci[200];
    proc tve, node;
    abci_client *c;
} inst;

static void inst_init(inst *in, const char *name)
{
    snprintf(in->name, sizeof in->name, "%s", name);
    snprintf(in->tve_home, sizeof in->tve_home, "%s/%s-tve", g_dir, name);
    snprintf(in->tve_ep, sizeof in->tve_ep, "ipc://%s/%s-tve.sock", g_dir, name);
    snprintf(in->node_home, sizeof in->node_home, "%s/%s-node", g_dir, name);
    snprintf(in->abci, sizeof in->abci, "unix://%s/%s-abci.sock", g_dir, name);
    snprintf(in->tve.log, sizeof in->tve.log, "%s/%s-tve.log", g_dir, name);
    snprintf(in->node.log, sizeof in->node.log, "%s/%s-node.log", g_dir, name);
}

static void tve_start(inst *in)
{
    char *argv[] = {VEIL_BIN, "tve", "--listen", in->tve_ep, "--home", in->tve_home,
                    "--platform", g_plat, "--log", "errors", "--threads", "2", NULL};
    in->tve.pid = spawn(argv, in->tve.log);
    assert_true(in->tve.pid > 0);
}

static void node_start_args(inst *in, const char *extra1, const char *extra2)
{
    char *argv[] = {VEIL_BIN, "node", "--home", in->node_home, "--abci", in->abci, "--tve",
                    in->tve_ep, "--tve-timeout", "3000", (char *)extra1, (char *)extra2, NULL};
    in->node.pid = spawn(argv, in->node.log);
    assert_true(in->node.pid > 0);
}

static void abci_connect(inst *in)
{
    abci_client_config cfg = {.addr = in->abci, .timeout_ms = 60000};
    for (int i = 0; i < 400; i++) {
        if (abci_client_connect(&cfg, &in->c) == VEIL_OK) return;
        int status;
        if (in->node.pid > 0 && waitpid(in->node.pid, &status, WNOHANG) == in->node.pid) {
            in->node.pid = 0;
            fail_msg("node %s exited during start-up (log %s)", in->name, in->node.log);
        }
        usleep(50000);
    }
    fail_msg("node %s does not accept ABCI connections", in->name);
}

static void node_start(inst *in)
{
    node_start_args(in, NULL, NULL);
    abci_connect(in);
}

static void node_stop(inst *in, int sig)
{
    abci_client_close(in->c);
    in->c = NULL;
    proc_kill(&in->node, sig);
}

/* --- ABCI requests -------------------------------------------------------------------- */
static Tendermint__Abci__Response *call(inst *in, Tendermint__Abci__Request *req)
{
    Tendermint__Abci__Response *r = NULL;
    veil_status st = abci_client_call(in->c, req, &r);
    if (st != VEIL_OK)
        fail_msg("ABCI call on %s: %s (%s)", in->name, veil_status_str(st), veil_error_detail());
    return r;
}

static uint64_t abci_info(inst *in, uint8_t hash[32])
{
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__RequestInfo ri = TENDERMINT__ABCI__REQUEST_INFO__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_INFO;
    req.info = &ri;
    Tendermint__Abci__Response *r = call(in, &req);
    uint64_t h = (uint64_t)r->info->last_block_height;
    memset(hash, 0, 32);
    if (r->info->last_block_app_hash.len == 32) memcpy(hash, r->info->last_block_app_hash.data, 32);
    abci_response_free(r);
    return h;
}

static const char *genesis_json(void)
{
    static char buf[2048];
    char a[65], b[65];
    veil_hex_encode(a, pk_a, 32);
    veil_hex_encode(b, pk_b, 32);
    snprintf(buf, sizeof buf,
             "{\"params\":{\"fee_rule\":\"at_least\",\"fee_base\":\"%u\",\"fee_per_byte\":\"0\","
             "\"unbonding_period\":\"3600\",\"key_epoch_blocks\":\"10000\"},"
             "\"accounts\":[{\"address\":\"%s\",\"bonded\":\"500\",\"unbonded\":\"%llu\","
             "\"unbonded_from\":\"%llu\",\"nonce\":\"0\"},"
             "{\"address\":\"%s\",\"bonded\":\"300\",\"unbonded\":\"0\",\"unbonded_from\":\"0\"}],"
             "\"outputs\":[]}",
             FEE, a, (unsigned long long)AMOUNT_A, (unsigned long long)GEN_TIME, b);
    return buf;
}

static void abci_init_chain_with(inst *in, const char *g, uint8_t hash[32]);

static void abci_init_chain(inst *in, uint8_t hash[32]) { abci_init_chain_with(in, genesis_json(), hash); }

/* InitChain with the app_state text g. */
static void abci_init_chain_with(inst *in, const char *g, uint8_t hash[32])
{
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__RequestInitChain ic = TENDERMINT__ABCI__REQUEST_INIT_CHAIN__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = (int64_t)GEN_TIME;
    ic.time = &ts;
    ic.chain_id = CHAIN;
    ic.initial_height = 1;
    ic.app_state_bytes.data = (uint8_t *)g;
    ic.app_state_bytes.len = strlen(g);
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_INIT_CHAIN;
    req.init_chain = &ic;
    Tendermint__Abci__Response *r = call(in, &req);
    assert_int_equal(r->value_case, TENDERMINT__ABCI__RESPONSE__VALUE_INIT_CHAIN);
    assert_int_equal(r->init_chain->app_hash.len, 32);
    memcpy(hash, r->init_chain->app_hash.data, 32);
    abci_response_free(r);
}

static uint32_t abci_check_tx_type(inst *in, const uint8_t *tx, size_t len,
                                   Tendermint__Abci__CheckTxType type)
{
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__RequestCheckTx ct = TENDERMINT__ABCI__REQUEST_CHECK_TX__INIT;
    ct.tx.data = (uint8_t *)tx;
    ct.tx.len = len;
    ct.type = type;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_CHECK_TX;
    req.check_tx = &ct;
    Tendermint__Abci__Response *r = call(in, &req);
    uint32_t code = r->check_tx->code;
    abci_response_free(r);
    return code;
}

static uint32_t abci_check_tx(inst *in, const uint8_t *tx, size_t len)
{
    return abci_check_tx_type(in, tx, len, TENDERMINT__ABCI__CHECK_TX_TYPE__NEW);
}

typedef struct blk {
    size_t n;
    uint8_t *tx[8];
    size_t len[8];
} blk;

static uint64_t block_time(uint64_t h) { return GEN_TIME + 10 * h; }

/* The validator updates of the last FinalizeBlock. */
static struct {
    size_t n;
    uint8_t pub_key[8][32];
    int64_t power[8];
} g_updates;

/* The proposer FinalizeBlock names (20 bytes), if not NULL. */
static const uint8_t *g_proposer;

/* FinalizeBlock: codes[i] per tx, the app hash and the bloom; returns false if the
 * node answered with an exception. */
static bool abci_finalize(inst *in, uint64_t height, const blk *b, uint32_t *codes,
                          uint8_t hash[32], uint8_t bloom[256])
{
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__RequestFinalizeBlock fb = TENDERMINT__ABCI__REQUEST_FINALIZE_BLOCK__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ProtobufCBinaryData txs[8];
    for (size_t i = 0; i < b->n; i++) {
        txs[i].data = b->tx[i];
        txs[i].len = b->len[i];
    }
    ts.seconds = (int64_t)block_time(height);
    fb.time = &ts;
    fb.height = (int64_t)height;
    fb.n_txs = b->n;
    fb.txs = txs;
    if (g_proposer != NULL) {
        fb.proposer_address.data = (uint8_t *)g_proposer;
        fb.proposer_address.len = 20;
    }
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_FINALIZE_BLOCK;
    req.finalize_block = &fb;
    Tendermint__Abci__Response *r = NULL;
    if (abci_client_call(in->c, &req, &r) != VEIL_OK) return false;
    Tendermint__Abci__ResponseFinalizeBlock *f = r->finalize_block;
    assert_int_equal(f->n_tx_results, b->n);
    assert_true(f->n_validator_updates <= 8);
    g_updates.n = f->n_validator_updates;
    for (size_t i = 0; i < f->n_validator_updates; i++) {
        const Tendermint__Abci__ValidatorUpdate *u = f->validator_updates[i];
        assert_int_equal(u->pub_key->sum_case, TENDERMINT__CRYPTO__PUBLIC_KEY__SUM_ED25519);
        assert_int_equal(u->pub_key->ed25519.len, 32);
        memcpy(g_updates.pub_key[i], u->pub_key->ed25519.data, 32);
        g_updates.power[i] = u->power;
    }
    for (size_t i = 0; i < b->n; i++) {
        codes[i] = f->tx_results[i]->code;
        if (codes[i] != 0) assert_string_equal(f->tx_results[i]->codespace, "veil");
    }
    assert_int_equal(f->app_hash.len, 32);
    memcpy(hash, f->app_hash.data, 32);
    assert_int_equal(f->n_events, 1);
    assert_string_equal(f->events[0]->type, "veil.block");
    assert_int_equal(f->events[0]->n_attributes, 1);
    assert_string_equal(f->events[0]->attributes[0]->key, "bloom");
    assert_true(f->events[0]->attributes[0]->index);
    const char *hex = f->events[0]->attributes[0]->value;
    assert_int_equal(veil_hex_decode_exact(bloom, 256, hex, strlen(hex)), VEIL_OK);
    abci_response_free(r);
    return true;
}

static bool abci_commit(inst *in)
{
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__RequestCommit rc = TENDERMINT__ABCI__REQUEST_COMMIT__INIT;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_COMMIT;
    req.commit = &rc;
    Tendermint__Abci__Response *r = NULL;
    if (abci_client_call(in->c, &req, &r) != VEIL_OK) return false;
    abci_response_free(r);
    return true;
}

/* PrepareProposal: how many txs are kept; the kept ones must be the first `n` of b
 * whose indices are in keep. */
static size_t abci_prepare(inst *in, uint64_t height, const blk *b, const size_t *keep)
{
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__RequestPrepareProposal pp = TENDERMINT__ABCI__REQUEST_PREPARE_PROPOSAL__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ProtobufCBinaryData txs[8];
    for (size_t i = 0; i < b->n; i++) {
        txs[i].data = b->tx[i];
        txs[i].len = b->len[i];
    }
    ts.seconds = (int64_t)block_time(height);
    pp.time = &ts;
    pp.height = (int64_t)height;
    pp.max_tx_bytes = 1 << 20;
    pp.n_txs = b->n;
    pp.txs = txs;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_PREPARE_PROPOSAL;
    req.prepare_proposal = &pp;
    Tendermint__Abci__Response *r = call(in, &req);
    size_t n = r->prepare_proposal->n_txs;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r->prepare_proposal->txs[i].len, b->len[keep[i]]);
        assert_memory_equal(r->prepare_proposal->txs[i].data, b->tx[keep[i]], b->len[keep[i]]);
    }
    abci_response_free(r);
    return n;
}

/* A block end to end; checks every code. */
static void run_block(inst *in, uint64_t height, const blk *b, const uint32_t *want,
                      uint8_t hash[32], uint8_t bloom[256])
{
    uint32_t codes[8];
    uint8_t bl[256];
    assert_true(abci_finalize(in, height, b, codes, hash, bloom ? bloom : bl));
    for (size_t i = 0; i < b->n; i++)
        if (codes[i] != want[i])
            fail_msg("%s block %llu tx %zu: code %u (%s), wanted %u", in->name,
                     (unsigned long long)height, i, codes[i], veil_status_str(codes[i]), want[i]);
    assert_true(abci_commit(in));
}

/* Query with proof, checked against the app hash; returns the value (malloc'd) or
 * NULL when absent. */
static uint8_t *abci_query_proved(inst *in, const char *path, uint8_t ns, const uint8_t *id,
                                  size_t id_len, const uint8_t root[32], size_t *vlen)
{
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__RequestQuery q = TENDERMINT__ABCI__REQUEST_QUERY__INIT;
    q.path = (char *)path;
    q.prove = true;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_QUERY;
    req.query = &q;
    Tendermint__Abci__Response *r = call(in, &req);
    Tendermint__Abci__ResponseQuery *qr = r->query;
    assert_int_equal(qr->code, 0);
    assert_non_null(qr->proof_ops);
    assert_int_equal(qr->proof_ops->n_ops, 1);
    assert_string_equal(qr->proof_ops->ops[0]->type, "veil/smt/v2");
    veil_smt_proof *p = malloc(sizeof *p);
    assert_int_equal(veil_smt_proof_decode(qr->proof_ops->ops[0]->data.data,
                                           qr->proof_ops->ops[0]->data.len, p),
                     VEIL_OK);
    uint8_t *v = NULL;
    *vlen = qr->value.len;
    if (qr->value.len) {
        v = malloc(qr->value.len);
        memcpy(v, qr->value.data, qr->value.len);
    }
    assert_int_equal(veil_smt_verify_record(root, ns, id, id_len, v ? v : NULL, *vlen, p), VEIL_OK);
    free(p);
    abci_response_free(r);
    return v;
}

/* A bootstrapping TDBE's batch query (`/outputs/`): a record and an absence in one
 * answer, each proof verifying under the same root; a malformed list is refused. */
static void query_outputs_check(inst *in, const uint8_t there[32], const uint8_t absent[32],
                                const uint8_t root[32])
{
    char path[9 + 2 * 65];
    memcpy(path, "/outputs/", 9);
    veil_hex_encode(path + 9, there, 32);
    path[9 + 64] = ',';
    veil_hex_encode(path + 9 + 65, absent, 32);
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__RequestQuery q = TENDERMINT__ABCI__REQUEST_QUERY__INIT;
    q.path = path;
    q.prove = true;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_QUERY;
    req.query = &q;
    Tendermint__Abci__Response *r = call(in, &req);
    Tendermint__Abci__ResponseQuery *qr = r->query;
    assert_int_equal(qr->code, 0);
    assert_int_equal(qr->proof_ops->n_ops, 2);
    const uint8_t *v = qr->value.data;
    size_t at = 0;
    for (int i = 0; i < 2; i++) {
        veil_smt_proof *p = malloc(sizeof *p);
        assert_int_equal(veil_smt_proof_decode(qr->proof_ops->ops[i]->data.data,
                                               qr->proof_ops->ops[i]->data.len, p),
                         VEIL_OK);
        assert_true(at + 5 <= qr->value.len);
        uint8_t present = v[at];
        uint32_t len = veil_get_u32(v + at + 1);
        assert_int_equal(present, i == 0 ? 1 : 0);
        assert_int_equal(veil_smt_verify_record(root, VEIL_SMT_NS_OUTPUT, i == 0 ? there : absent, 32,
                                                present ? v + at + 5 : NULL, len, p),
                         VEIL_OK);
        at += 5 + len;
        free(p);
    }
    assert_int_equal(at, qr->value.len);
    abci_response_free(r);
    path[9 + 64] = ';'; /* not a list */
    r = call(in, &req);
    assert_int_equal(r->query->code, VEIL_ERR_ARG);
    abci_response_free(r);
}

/* --- confidential txs ------------------------------------------------------------------ */
/* Seals the builder's payload in the TQE and has inst's TVE encrypt it. */
static void encrypt_tx(inst *in, txb *b, uint64_t at_time, const uint8_t *acc_addr,
                       uint64_t bonded, uint64_t unbonded, uint64_t unbonded_from, uint64_t nonce,
                       uint8_t **out, size_t *out_len)
{
    txb_build_body(b);
    txb_build_payload(b);
    /* The state the TQE's light client would prove (every input unspent here). */
    Veil__Tve__ChainParams params = VEIL__TVE__CHAIN_PARAMS__INIT;
    Veil__Tve__AccountState acc = VEIL__TVE__ACCOUNT_STATE__INIT;
    params.chain_id = CHAIN;
    params.block_time = at_time;
    params.fee_base = FEE;
    params.fee_rule = VEIL__TVE__FEE_RULE__FEE_RULE_AT_LEAST;
    if (acc_addr) {
        acc.address.data = (uint8_t *)acc_addr;
        acc.address.len = 32;
        acc.bonded = bonded;
        acc.unbonded = unbonded;
        acc.unbonded_from = unbonded_from;
        acc.nonce = nonce;
    }
    uint8_t sealed[TQE_ORDER_MAX + TEE_SEAL_OVERHEAD_MAX];
    uint8_t order[TQE_ORDER_MAX];
    size_t sealed_len, order_len = txb_order(b, FEE, &params, acc_addr ? &acc : NULL, NULL, order,
                                             sizeof order);
    tve_client *c;
    assert_int_equal(tve_client_open(in->tve_ep, 20000, &c), VEIL_OK);
    static bool handed_off; /* every TVE of the signer on this platform has the same key */
    if (!handed_off) {
        assert_int_equal(tqe_handoff(g_tqe, c), VEIL_OK);
        handed_off = true;
    }
    assert_int_equal(tee_enclave_call(g_tqe, TQE_E_SEAL_PAYLOAD, order, order_len, sealed,
                                      sizeof sealed, &sealed_len),
                     VEIL_OK);
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__EncryptRequest er = VEIL__TVE__ENCRYPT_REQUEST__INIT;
    er.sealed_order.data = sealed;
    er.sealed_order.len = sealed_len;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_ENCRYPT;
    req.encrypt = &er;
    Veil__Tve__Response *r;
    veil_status st = tve_client_call(c, &req, VEIL__TVE__RESPONSE__RESPONSE_ENCRYPT, 0, &r);
    if (st != VEIL_OK) fail_msg("encrypt: %s (%s)", veil_status_str(st), veil_error_detail());
    size_t n = r->encrypt->tx.len;
    *out = malloc(n + 16);
    assert_int_equal(node_confidential_tx_encode(r->encrypt->tx.data, n, *out, n + 16, out_len),
                     VEIL_OK);
    veil__tve__response__free_unpacked(r, NULL);
    tve_client_close(c);
}

/* txid of the last built tx */
static void withdraw_a(inst *in, uint64_t at, uint8_t txid[32], uint8_t **tx, size_t *len)
{
    txb *b = txb_new(VEIL_TX_KIND_WITHDRAW, CHAIN);
    memcpy(b->account, pk_a, 32);
    b->nonce = 0;
    txb_output(b, pk_r, AMOUNT_A - FEE, GEN_TIME);
    txb_view_key(b, vk);
    txb_signer(b, sk_a);
    encrypt_tx(in, b, at, pk_a, 500, AMOUNT_A, GEN_TIME, 0, tx, len);
    memcpy(txid, b->txid, 32);
    txb_free(b);
}

/* Spends output `index` of `prev` (owned by sk) to `to`. */
static void transfer(inst *in, uint64_t at, const uint8_t prev[32], uint32_t index,
                     const uint8_t *sk, uint64_t value, const uint8_t *to, uint8_t txid[32],
                     uint8_t **tx, size_t *len)
{
    txb *b = txb_new(VEIL_TX_KIND_TRANSFER, CHAIN);
    txb_input(b, prev, index, sk);
    txb_output(b, to, value - FEE, 0);
    encrypt_tx(in, b, at, NULL, 0, 0, 0, 0, tx, len);
    memcpy(txid, b->txid, 32);
    txb_free(b);
}

static void unbond_b(uint64_t nonce, uint64_t amount, uint8_t **tx, size_t *len)
{
    node_public_tx *p = calloc(1, sizeof *p);
    p->kind = NODE_PUBLIC_UNBOND;
    memcpy(p->account, pk_b, 32);
    p->amount = amount;
    p->nonce = nonce;
    assert_int_equal(node_public_tx_sign(p, CHAIN, sk_b), VEIL_OK);
    *tx = malloc(1024);
    assert_int_equal(node_public_tx_encode(p, *tx, 1024, len), VEIL_OK);
    free(p);
}

/* A node join of account (sk, pk) at nonce, naming validator key (vpk, signed with
 * vsk: the holder's proof; vsk NULL: signed by another key). */
static void join_validator(const uint8_t sk[32], const uint8_t pk[32], uint64_t nonce,
                           const uint8_t vpk[32], const uint8_t *vsk, uint8_t **tx, size_t *len)
{
    node_public_tx *p = calloc(1, sizeof *p);
    p->kind = NODE_PUBLIC_NODE_JOIN;
    memcpy(p->account, pk, 32);
    p->nonce = nonce;
    p->enclave_pubkey_len = 65;
    memset(p->enclave_pubkey, 0x04, 65);
    p->quote_len = 16; /* the test chain pins no collateral: recorded, not judged */
    memset(p->quote, 0x51, 16);
    memset(p->mrenclave, 1, 32);
    memset(p->mrsigner, 2, 32);
    p->has_validator = true;
    memcpy(p->validator_pubkey, vpk, 32);
    uint8_t msg[32], other_pk[32], other_sk[64];
    assert_int_equal(node_validator_key_message(CHAIN, pk, msg), VEIL_OK);
    if (vsk != NULL) {
        crypto_sign_detached(p->validator_signature, NULL, msg, 32, vsk);
    } else {
        crypto_sign_keypair(other_pk, other_sk);
        crypto_sign_detached(p->validator_signature, NULL, msg, 32, other_sk);
    }
    assert_int_equal(node_public_tx_sign(p, CHAIN, sk), VEIL_OK);
    *tx = malloc(NODE_CHAIN_TX_MAX);
    assert_int_equal(node_public_tx_encode(p, *tx, NODE_CHAIN_TX_MAX, len), VEIL_OK);
    free(p);
}

/* The TVE's status, asked directly (free with veil__tve__response__free_unpacked). */
static Veil__Tve__Response *tve_status(inst *in)
{
    tve_client *c;
    assert_int_equal(tve_client_open(in->tve_ep, 20000, &c), VEIL_OK);
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__StatusRequest sr = VEIL__TVE__STATUS_REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_STATUS;
    req.status = &sr;
    Veil__Tve__Response *r;
    assert_int_equal(tve_client_call(c, &req, VEIL__TVE__RESPONSE__RESPONSE_STATUS, 0, &r), VEIL_OK);
    tve_client_close(c);
    return r;
}

/* The TVE's committed height and app hash. */
static uint64_t tve_height(inst *in, uint8_t hash[32])
{
    Veil__Tve__Response *r = tve_status(in);
    uint64_t h = r->status->last_height;
    memset(hash, 0, 32);
    if (r->status->last_app_hash.len == 32) memcpy(hash, r->status->last_app_hash.data, 32);
    veil__tve__response__free_unpacked(r, NULL);
    return h;
}

/* FinalizeBlock of b at height (proposer may be NULL) on a fresh connection: true if
 * the node has not answered within 3 s (it waits, as a node without a key must). */
static bool finalize_waits(inst *in, uint64_t height, const blk *b, const uint8_t *proposer)
{
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__RequestFinalizeBlock fb = TENDERMINT__ABCI__REQUEST_FINALIZE_BLOCK__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ProtobufCBinaryData txs[8];
    for (size_t i = 0; i < b->n; i++) txs[i] = (ProtobufCBinaryData){b->len[i], b->tx[i]};
    ts.seconds = (int64_t)block_time(height);
    fb.time = &ts;
    fb.height = (int64_t)height;
    fb.n_txs = b->n;
    fb.txs = txs;
    if (proposer != NULL) fb.proposer_address = (ProtobufCBinaryData){20, (uint8_t *)proposer};
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_FINALIZE_BLOCK;
    req.finalize_block = &fb;
    abci_client *waiter;
    abci_client_config wc = {.addr = in->abci, .timeout_ms = 3000};
    assert_int_equal(abci_client_connect(&wc, &waiter), VEIL_OK);
    Tendermint__Abci__Response *r = NULL;
    veil_status st = abci_client_call(waiter, &req, &r);
    if (r != NULL) abci_response_free(r);
    abci_client_close(waiter);
    return st == VEIL_ERR_TIMEOUT && r == NULL;
}

/* The test genesis with key_epoch_blocks and key_grace_blocks set as given. */
static void genesis_epochs(char *g, size_t cap, const char *epoch_blocks, const char *grace)
{
    const char *base = genesis_json(), *field = "\"key_epoch_blocks\":\"10000\"";
    const char *at = strstr(base, field);
    assert_non_null(at);
    snprintf(g, cap, "%.*s\"key_epoch_blocks\":\"%s\",\"key_grace_blocks\":\"%s\"%s",
             (int)(at - base), base, epoch_blocks, grace, at + strlen(field));
}

/* Both sides at `height` with the same app hash. */
static void assert_in_step(inst *in, uint64_t height, const uint8_t hash[32])
{
    uint8_t nh[32], th[32];
    assert_int_equal(abci_info(in, nh), height);
    assert_memory_equal(nh, hash, 32);
    assert_int_equal(tve_height(in, th), height);
    assert_memory_equal(th, hash, 32);
}

static void blk_free(blk *b)
{
    for (size_t i = 0; i < b->n; i++) free(b->tx[i]);
    b->n = 0;
}

/* --- fixture ------------------------------------------------------------------------- */
static int setup(void **state)
{
    (void)state;
    char root[128];
    snprintf(g_dir, sizeof g_dir, "/tmp/veil-test-nodetve-XXXXXX");
    if (mkdtemp(g_dir) == NULL) return -1;
    snprintf(g_plat, sizeof g_plat, "%s/platform", g_dir);
    snprintf(root, sizeof root, "%s/root", g_dir);
    if (veil_crypto_init() != VEIL_OK) return -1;
    if (sim_platform_provision(g_plat, root, 1, false) != VEIL_OK) return -1;
    if (tee_platform_open(g_plat, &g_platform) != VEIL_OK) return -1;
    if (tee_enclave_load(g_platform, TQE_IMG, NULL, 0, &g_tqe) != VEIL_OK) return -1;
    memset(sk_a, 0x21, 32);
    memset(sk_b, 0x22, 32);
    memset(sk_r, 0x23, 32);
    memset(sk_s, 0x24, 32);
    uint8_t skv[32];
    memset(skv, 0x25, 32);
    if (veil_schnorr_pubkey(pk_a, sk_a) || veil_schnorr_pubkey(pk_b, sk_b) ||
        veil_schnorr_pubkey(pk_r, sk_r) || veil_schnorr_pubkey(pk_s, sk_s) ||
        veil_schnorr_pubkey(vk, skv))
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tee_enclave_destroy(g_tqe);
    tee_platform_close(g_platform);
    if (getenv("VEIL_TEST_KEEP")) return 0;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void inst_stop(inst *in)
{
    node_stop(in, SIGTERM);
    proc_kill(&in->tve, SIGTERM);
}

/* --- a chain, and two nodes agreeing on it ---------------------------------------------- */
static bool file_contains(const char *path, const uint8_t *needle, size_t n)
{
    uint8_t *buf;
    size_t len;
    if (veil_file_read(path, (size_t)1 << 31, &buf, &len) != VEIL_OK) return false;
    bool found = false;
    for (size_t i = 0; !found && i + n <= len; i++) found = memcmp(buf + i, needle, n) == 0;
    free(buf);
    return found;
}

/* Fails if any file under dir (recursively) contains needle. */
static void scan_dir(const char *dir, const uint8_t *needle, size_t n, const char *what)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat s;
        assert_int_equal(lstat(p, &s), 0);
        if (S_ISDIR(s.st_mode))
            scan_dir(p, needle, n, what);
        else if (S_ISREG(s.st_mode) && file_contains(p, needle, n))
            fail_msg("%s found in %s", what, p);
    }
    closedir(d);
}

static void scan_plaintext(inst *in)
{
    uint8_t be[8], le[8];
    char hex[65], dec[32];
    veil_put_u64(be, AMOUNT_A - FEE);
    for (int i = 0; i < 8; i++) le[i] = be[7 - i];
    veil_hex_encode(hex, pk_r, 32);
    snprintf(dec, sizeof dec, "%llu", (unsigned long long)(AMOUNT_A - FEE));
    const struct {
        const void *p;
        size_t n;
        const char *what;
    } needles[] = {
        {pk_r, 32, "the recipient's key"},     {hex, 64, "the recipient's key (hex)"},
        {vk, 32, "the view key"},              {be, 8, "the amount (big-endian)"},
        {le, 8, "the amount (little-endian)"}, {dec, strlen(dec), "the amount (decimal)"},
    };
    for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++) {
        scan_dir(in->node_home, needles[i].p, needles[i].n, needles[i].what);
        if (file_contains(in->node.log, needles[i].p, needles[i].n))
            fail_msg("%s found in the node's log %s", needles[i].what, in->node.log);
    }
}

static void test_chain_and_determinism(void **state)
{
    (void)state;
    inst x, y;
    inst_init(&x, "x");
    inst_init(&y, "y");
    /* The two TVEs must hold the same obfuscation key (in production the TDBE shares
     * it): initialise x's, copy its store for y while x is stopped. */
    tve_start(&x);
    node_start(&x);
    uint8_t gx[32], gy[32], hx[32], hy[32], bloom[256];
    abci_init_chain(&x, gx);
    node_stop(&x, SIGTERM);
    proc_kill(&x.tve, SIGTERM);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp -a %s %s", x.tve_home, y.tve_home);
    assert_int_equal(system(cmd), 0);
    tve_start(&x);
    tve_start(&y);
    node_start(&x);
    node_start(&y);
    /* Repeated after a restart, as CometBFT does, with the genesis re-encoded (indented,
     * keys in another order): the same genesis, so idempotent. */
    json_error_t je;
    json_t *gj = json_loads(genesis_json(), 0, &je);
    assert_non_null(gj);
    char *regen = json_dumps(gj, JSON_INDENT(3) | JSON_SORT_KEYS);
    assert_string_not_equal(regen, genesis_json());
    abci_init_chain_with(&x, regen, gx);
    free(regen);
    json_decref(gj);
    abci_init_chain(&y, gy);
    assert_memory_equal(gx, gy, 32);
    uint8_t h0[32];
    assert_int_equal(abci_info(&x, h0), 0);

    /* block 1: A withdraws its unbonded stake to R (view key vk); B unbonds 100 */
    blk b = {0};
    uint8_t w_id[32], t_id[32], t2_id[32];
    withdraw_a(&x, block_time(0), w_id, &b.tx[0], &b.len[0]);
    unbond_b(0, 100, &b.tx[1], &b.len[1]);
    b.n = 2;
    assert_int_equal(abci_check_tx(&x, b.tx[0], b.len[0]), 0);
    assert_int_equal(abci_check_tx(&x, b.tx[1], b.len[1]), 0);
    uint32_t ok2[] = {0, 0};
    run_block(&x, 1, &b, ok2, hx, bloom);
    assert_true(veil_bloom_contains((const veil_bloom *)bloom, vk));
    run_block(&y, 1, &b, ok2, hy, NULL);
    assert_memory_equal(hx, hy, 32);
    /* replays are refused now */
    assert_int_equal(abci_check_tx(&x, b.tx[0], b.len[0]), VEIL_ERR_TVE_TX_EXISTS);
    assert_int_equal(abci_check_tx(&x, b.tx[1], b.len[1]), VEIL_ERR_TX_WRONG_NONCE);
    blk_free(&b);

    /* queries, with proofs against the app hash */
    char path[128], hex[65];
    size_t vlen;
    veil_hex_encode(hex, pk_a, 32);
    snprintf(path, sizeof path, "/account/%s", hex);
    uint8_t *v = abci_query_proved(&x, path, VEIL_SMT_NS_ACCOUNT, pk_a, 32, hx, &vlen);
    node_account acc;
    assert_non_null(v);
    assert_int_equal(node_account_decode(v, vlen, &acc), VEIL_OK);
    assert_int_equal(acc.unbonded, 0);
    assert_int_equal(acc.nonce, 1);
    free(v);
    veil_hex_encode(hex, pk_b, 32);
    snprintf(path, sizeof path, "/account/%s", hex);
    v = abci_query_proved(&x, path, VEIL_SMT_NS_ACCOUNT, pk_b, 32, hx, &vlen);
    assert_int_equal(node_account_decode(v, vlen, &acc), VEIL_OK);
    assert_int_equal(acc.bonded, 200);
    assert_int_equal(acc.unbonded, 100);
    assert_int_equal(acc.unbonded_from, block_time(1) + 3600);
    free(v);
    veil_hex_encode(hex, w_id, 32);
    snprintf(path, sizeof path, "/output/%s", hex);
    v = abci_query_proved(&x, path, VEIL_SMT_NS_OUTPUT, w_id, 32, hx, &vlen);
    node_output o;
    assert_int_equal(node_output_decode(v, vlen, &o), VEIL_OK);
    assert_int_equal(o.output_count, 1);
    assert_int_equal(o.spent, 0);
    free(v);
    veil_hex_encode(hex, pk_s, 32); /* no such tx: proof of absence */
    snprintf(path, sizeof path, "/output/%s", hex);
    assert_null(abci_query_proved(&x, path, VEIL_SMT_NS_OUTPUT, pk_s, 32, hx, &vlen));
    query_outputs_check(&x, w_id, pk_s, hx);

    /* block 2: R pays S; the same output spent again in the block; a public tx with a
     * bad signature; a malformed tx */
    transfer(&x, block_time(1), w_id, 0, sk_r, AMOUNT_A - FEE, pk_s, t_id, &b.tx[0], &b.len[0]);
    transfer(&x, block_time(1), w_id, 0, sk_r, AMOUNT_A - FEE, pk_b, t2_id, &b.tx[1], &b.len[1]);
    unbond_b(1, 5, &b.tx[2], &b.len[2]);
    b.tx[2][b.len[2] - 3] ^= 1;
    b.tx[3] = malloc(3);
    memcpy(b.tx[3], "\x12\x01\x00", 3);
    b.len[3] = 3;
    b.n = 4;
    /* a proposer drops what would fail the node's own checks */
    size_t keep[] = {0};
    assert_int_equal(abci_prepare(&x, 2, &b, keep), 1);
    uint32_t want2[] = {0, VEIL_ERR_TX_INPUT_SPENT, VEIL_ERR_TX_BAD_SIGNATURE, VEIL_ERR_TX_MALFORMED};
    run_block(&x, 2, &b, want2, hx, NULL);
    run_block(&y, 2, &b, want2, hy, NULL);
    assert_memory_equal(hx, hy, 32);
    /* the spent output is now refused at CheckTx */
    assert_int_equal(abci_check_tx(&x, b.tx[1], b.len[1]), VEIL_ERR_TX_INPUT_SPENT);
    blk_free(&b);

    /* block 3: S deposits into B's account (bonded += value - fee) */
    {
        txb *d = txb_new(VEIL_TX_KIND_DEPOSIT, CHAIN);
        txb_input(d, t_id, 0, sk_s);
        memcpy(d->account, pk_b, 32);
        d->amount = AMOUNT_A - 3 * FEE;
        encrypt_tx(&x, d, block_time(2), pk_b, 200, 100, block_time(1) + 3600, 1, &b.tx[0],
                   &b.len[0]);
        txb_free(d);
        b.n = 1;
        uint32_t want3[] = {0};
        run_block(&x, 3, &b, want3, hx, NULL);
        run_block(&y, 3, &b, want3, hy, NULL);
        assert_memory_equal(hx, hy, 32);
        blk_free(&b);
        veil_hex_encode(hex, pk_b, 32);
        snprintf(path, sizeof path, "/account/%s", hex);
        v = abci_query_proved(&y, path, VEIL_SMT_NS_ACCOUNT, pk_b, 32, hy, &vlen);
        assert_int_equal(node_account_decode(v, vlen, &acc), VEIL_OK);
        assert_int_equal(acc.bonded, 200 + AMOUNT_A - 3 * FEE);
        free(v);
    }
    /* an empty block */
    b.n = 0;
    run_block(&x, 4, &b, NULL, hx, NULL);
    run_block(&y, 4, &b, NULL, hy, NULL);
    assert_memory_equal(hx, hy, 32);
    assert_in_step(&x, 4, hx);
    assert_in_step(&y, 4, hy);

    /* restarts keep the same state: the tree is rebuilt from the store */
    node_stop(&y, SIGTERM);
    node_start(&y);
    assert_in_step(&y, 4, hx);

    /* nothing of the confidential txs' plaintext in the node's files or log */
    inst_stop(&x);
    inst_stop(&y);
    scan_plaintext(&x);
    scan_plaintext(&y);
}

/* --- recovery ---------------------------------------------------------------------- */
static bool log_contains(const char *path, const char *s)
{
    return file_contains(path, (const uint8_t *)s, strlen(s));
}

static void *tve_start_later(void *arg)
{
    sleep(5); /* longer than the node's 3 s request timeout: it must wait and retry */
    tve_start(arg);
    return NULL;
}

/* A node whose TVE does not answer says so within seconds, gives up after --tve-wait
 * with an error naming it, and stops on SIGTERM while it waits. (Bounds are generous:
 * they catch "silent for 30 s" and "ignores the signal", not speed.) */
/* --- one path for a tx's bytes: each process decodes a tx once where it judges it ---- */

/* The value of `name` on a daemon's GET /metrics (its port from the log line). */
static uint64_t metric(const char *log, const char *name)
{
    uint8_t *text = NULL;
    size_t len = 0;
    assert_int_equal(veil_file_read(log, 1u << 20, &text, &len), VEIL_OK);
    const char *at = strstr((const char *)text, "metrics on http://127.0.0.1:");
    assert_non_null(at);
    int port = atoi(at + strlen("metrics on http://127.0.0.1:"));
    free(text);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
    assert_int_equal(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    static char body[65536];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof body - 1 && (r = read(fd, body + n, sizeof body - 1 - n)) > 0) n += (size_t)r;
    close(fd);
    body[n] = '\0';
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *v = strstr(body, key);
    if (v == NULL) fail_msg("%s not in /metrics", name);
    return strtoull(v + strlen(key), NULL, 10);
}

static void wait_for_line(const char *log, const char *s)
{
    for (int i = 0; i < 100 && !log_contains(log, s); i++) usleep(100000);
    assert_true(log_contains(log, s));
}

/* A confidential tx from the TVE's encrypt to a committed block: the node decodes its
 * public fields once per ABCI call that judges it (CheckTx, FinalizeBlock) and hands the
 * TVE the block's bytes; the TVE host decodes them once per request (for its store and
 * dependency checks) and forwards the same bytes to the enclave, which validates them.
 * Counted by each process itself (veil_tx_wire_decodes, on GET /metrics). */
static void test_one_decode_per_judge(void **state)
{
    (void)state;
    inst o;
    inst_init(&o, "o");
    char *targv[] = {VEIL_BIN, "tve", "--listen", o.tve_ep, "--home", o.tve_home, "--platform",
                     g_plat, "--log", "errors", "--metrics", "127.0.0.1:0", NULL};
    o.tve.pid = spawn(targv, o.tve.log);
    assert_true(o.tve.pid > 0);
    node_start_args(&o, "--metrics", "127.0.0.1:0");
    abci_connect(&o);
    uint8_t g[32], h[32], bloom[256], id[32];
    abci_init_chain(&o, g);
    wait_for_line(o.node.log, "metrics on");
    wait_for_line(o.tve.log, "metrics on");

    blk b = {0};
    withdraw_a(&o, block_time(0), id, &b.tx[0], &b.len[0]); /* encrypt: neither decodes */
    b.n = 1;
    uint64_t n0 = metric(o.node.log, "veil_node_tx_decodes_total");
    uint64_t t0 = metric(o.tve.log, "veil_tve_host_tx_decodes_total");
    assert_int_equal(abci_check_tx(&o, b.tx[0], b.len[0]), 0);
    assert_int_equal(metric(o.node.log, "veil_node_tx_decodes_total") - n0, 1);
    assert_int_equal(metric(o.tve.log, "veil_tve_host_tx_decodes_total") - t0, 1);

    uint32_t codes[8];
    assert_true(abci_finalize(&o, 1, &b, codes, h, bloom));
    assert_int_equal(codes[0], 0);
    assert_true(abci_commit(&o));
    assert_int_equal(metric(o.node.log, "veil_node_tx_decodes_total") - n0, 2);
    assert_int_equal(metric(o.tve.log, "veil_tve_host_tx_decodes_total") - t0, 2);
    assert_int_equal(metric(o.node.log, "veil_node_confidential_txs_accepted_total"), 1);
    blk_free(&b);

    /* A RECHECK of a transfer the TVE accepted stops at the node's public checks (no
     * TVE call); once its input is spent, those checks refuse it. */
    uint8_t t1[32], t2[32];
    blk c = {0};
    transfer(&o, block_time(1), id, 0, sk_r, AMOUNT_A - FEE, pk_s, t1, &c.tx[0], &c.len[0]);
    /* the same spend built again: another txid (each body has its own blinding) */
    transfer(&o, block_time(1), id, 0, sk_r, AMOUNT_A - FEE, pk_s, t2, &c.tx[1], &c.len[1]);
    c.n = 2; /* both freed by blk_free */
    uint64_t v0 = metric(o.tve.log, "veil_tve_verify_requests_total");
    assert_int_equal(abci_check_tx(&o, c.tx[0], c.len[0]), 0);
    assert_int_equal(metric(o.tve.log, "veil_tve_verify_requests_total") - v0, 1);
    assert_int_equal(abci_check_tx_type(&o, c.tx[0], c.len[0], TENDERMINT__ABCI__CHECK_TX_TYPE__RECHECK),
                     0);
    assert_int_equal(metric(o.tve.log, "veil_tve_verify_requests_total") - v0, 1);
    assert_int_equal(metric(o.node.log, "veil_node_recheck_public_only_total"), 1);
    blk one = {1, {c.tx[1]}, {c.len[1]}}; /* the other spend of the same output commits */
    assert_true(abci_finalize(&o, 2, &one, codes, h, bloom));
    assert_int_equal(codes[0], 0);
    assert_true(abci_commit(&o));
    assert_int_equal(abci_check_tx_type(&o, c.tx[0], c.len[0], TENDERMINT__ABCI__CHECK_TX_TYPE__RECHECK),
                     VEIL_ERR_TX_INPUT_SPENT);
    blk_free(&c);
    node_stop(&o, SIGTERM);
    proc_kill(&o.tve, SIGTERM);
}

static int wait_exit(pid_t pid, int seconds)
{
    for (int i = 0; i < seconds * 10; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        usleep(100000);
    }
    return -1;
}

static bool wait_log(const char *log, const char *s, int seconds)
{
    for (int i = 0; i < seconds * 10; i++) {
        if (log_contains(log, s)) return true;
        usleep(100000);
    }
    return false;
}

static void test_waiting_for_the_tve(void **state)
{
    (void)state;
    inst w;
    inst_init(&w, "w"); /* no TVE is started */
    node_start_args(&w, "--tve-wait", "2500");
    assert_true(wait_log(w.node.log, "waiting for the TVE", 5));
    assert_int_equal(wait_exit(w.node.pid, 15), 1);
    w.node.pid = 0;
    assert_true(log_contains(w.node.log, "did not answer within --tve-wait 2500 ms"));

    node_start_args(&w, NULL, NULL); /* waits forever */
    assert_true(wait_log(w.node.log, "Ctrl-C stops", 5));
    kill(w.node.pid, SIGTERM);
    assert_int_not_equal(wait_exit(w.node.pid, 10), -1);
    w.node.pid = 0;
}

static void test_recovery(void **state)
{
    (void)state;
    inst z;
    inst_init(&z, "z");
    tve_start(&z);
    node_start(&z);
    uint8_t g[32], h[32], h2[32], bloom[256], id1[32], id2[32], id3[32], id4[32];
    abci_init_chain(&z, g);
    uint32_t ok1[] = {0};
    uint32_t codes[8];
    blk b = {0};

    /* 1. kill -9 the node between FinalizeBlock and Commit: CometBFT re-delivers the
     *    block; the result is the same. */
    withdraw_a(&z, block_time(0), id1, &b.tx[0], &b.len[0]);
    b.n = 1;
    assert_true(abci_finalize(&z, 1, &b, codes, h, bloom));
    assert_int_equal(codes[0], 0);
    node_stop(&z, SIGKILL);
    node_start(&z);
    assert_int_equal(abci_info(&z, h2), 0);
    run_block(&z, 1, &b, ok1, h2, NULL);
    assert_memory_equal(h, h2, 32);
    assert_in_step(&z, 1, h);
    blk_free(&b);

    /* 2. the node dies after its own commit, before the TVE's (fault injection at
     *    exactly that point): the restarted node replays block 2 into the TVE. */
    transfer(&z, block_time(1), id1, 0, sk_r, AMOUNT_A - FEE, pk_s, id2, &b.tx[0], &b.len[0]);
    b.n = 1;
    node_stop(&z, SIGTERM);
    node_start_args(&z, "--test-crash-point", "after-node-commit");
    abci_connect(&z);
    assert_true(abci_finalize(&z, 2, &b, codes, h, bloom));
    assert_false(abci_commit(&z)); /* the node died */
    node_stop(&z, SIGKILL);
    assert_int_equal(tve_height(&z, h2), 1);
    node_start(&z);
    assert_in_step(&z, 2, h);
    assert_true(log_contains(z.node.log, "replayed block 2 into the TVE"));
    blk_free(&b);

    /* 3. kill -9 the TVE between FinalizeBlock and Commit: at Commit the node finds
     *    the TVE without the block and replays it. */
    transfer(&z, block_time(2), id2, 0, sk_s, AMOUNT_A - 2 * FEE, pk_r, id3, &b.tx[0], &b.len[0]);
    b.n = 1;
    assert_true(abci_finalize(&z, 3, &b, codes, h, bloom));
    assert_int_equal(codes[0], 0);
    proc_kill(&z.tve, SIGKILL);
    tve_start(&z);
    assert_true(abci_commit(&z));
    assert_in_step(&z, 3, h);
    blk_free(&b);

    /* 4. kill -9 the TVE while the node is idle: CheckTx refuses confidential txs
     *    at once; the next block is delivered while it is down and the node waits for
     *    it to come back. */
    proc_kill(&z.tve, SIGKILL);
    {
        uint8_t *tx;
        size_t len;
        unbond_b(0, 1, &tx, &len);
        assert_int_equal(abci_check_tx(&z, tx, len), 0); /* public: no TVE needed */
        free(tx);
    }
    b.n = 0;
    pthread_t later;
    assert_int_equal(pthread_create(&later, NULL, tve_start_later, &z), 0);
    run_block(&z, 4, &b, NULL, h, NULL);
    assert_int_equal(pthread_join(later, NULL), 0);
    assert_int_equal(tve_height(&z, h2), 4);
    assert_memory_equal(h, h2, 32);
    assert_true(log_contains(z.node.log, "waiting for the TVE"));

    /* 5. kill -9 both after both committed; restart both: in step, and the last
     *    committed output is spendable (neither side lost it). */
    node_stop(&z, SIGKILL);
    proc_kill(&z.tve, SIGKILL);
    tve_start(&z);
    node_start(&z);
    assert_in_step(&z, 4, h);
    /* (a copy of the node's store at height 4, for step 6) */
    char cmd[512];
    node_stop(&z, SIGTERM);
    snprintf(cmd, sizeof cmd, "cp -a %s %s.bak", z.node_home, z.node_home);
    assert_int_equal(system(cmd), 0);
    node_start(&z);
    blk b5 = {0}, b6 = {0};
    uint8_t h5[32], h6[32];
    transfer(&z, block_time(4), id3, 0, sk_r, AMOUNT_A - 3 * FEE, pk_s, id4, &b5.tx[0], &b5.len[0]);
    b5.n = 1;
    run_block(&z, 5, &b5, ok1, h5, NULL);
    assert_in_step(&z, 5, h5);

    /* 6. the node's store goes back to height 4 (a restored backup) while the TVE is
     *    at 6: NODE_BEHIND; CometBFT replays 5 and 6, the TVE answers from its
     *    records, and both end in step with the same app hashes. */
    unbond_b(0, 1, &b6.tx[0], &b6.len[0]);
    b6.n = 1;
    run_block(&z, 6, &b6, ok1, h6, NULL);
    node_stop(&z, SIGKILL);
    snprintf(cmd, sizeof cmd, "rm -rf %s && mv %s.bak %s", z.node_home, z.node_home, z.node_home);
    assert_int_equal(system(cmd), 0);
    node_start(&z);
    assert_true(log_contains(z.node.log, "the TVE is ahead"));
    assert_int_equal(abci_info(&z, h), 4);
    run_block(&z, 5, &b5, ok1, h, NULL);
    assert_memory_equal(h, h5, 32);
    run_block(&z, 6, &b6, ok1, h, NULL);
    assert_memory_equal(h, h6, 32);
    assert_in_step(&z, 6, h6);
    blk_free(&b5);
    blk_free(&b6);
    inst_stop(&z);
}

/* A TVE whose identity the node's configuration does not accept. */
static void test_wrong_tve_identity(void **state)
{
    (void)state;
    inst w;
    inst_init(&w, "w");
    tve_start(&w);
    char bad[65];
    memset(bad, 'a', 64);
    bad[64] = '\0';
    node_start_args(&w, "--tve-mrsigner", bad);
    int status;
    assert_int_equal(waitpid(w.node.pid, &status, 0), w.node.pid);
    w.node.pid = 0;
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    assert_true(log_contains(w.node.log, "enclave identity is not the one configured"));
    assert_true(log_contains(w.node.log, "MRSIGNER is"));
    proc_kill(&w.tve, SIGTERM);
}

/* A validator whose genesis names the chain's key and whose TVE does not hold it. The
 * designated validator's TVE draws the key before genesis (`veil tve init-key`) and the
 * genesis carries its commitment; the other TVE starts without a key. Both reach the
 * same genesis app hash and the same hash for a block without confidential txs; a
 * block with one is executed by the key holder and refused by the other as a failure
 * of the whole block (an ABCI exception, no app hash), never as a tx's verdict. */
/* Validators by node join (docs/node.md, "Validators"): a join naming a consensus key
 * with its holder's signature gives CometBFT a power update of bonded / 100; the key
 * stays that account's; an unbond follows with the new power, 0 leaving the set. */
static void test_validator_updates(void **state)
{
    (void)state;
    inst x;
    inst_init(&x, "val");
    tve_start(&x);
    node_start(&x);
    uint8_t h[32];
    abci_init_chain(&x, h);
    uint8_t vpk[32], vsk[64];
    crypto_sign_keypair(vpk, vsk);
    blk b = {0};
    uint8_t bloom[256];
    /* Block 1: B (bonded 300) names the key without its holder's signature: refused;
     * no update. */
    join_validator(sk_b, pk_b, 0, vpk, NULL, &b.tx[0], &b.len[0]);
    b.n = 1;
    uint32_t want_bad[1] = {VEIL_ERR_NODE_VALIDATOR_SIGNATURE};
    run_block(&x, 1, &b, want_bad, h, bloom);
    assert_int_equal(g_updates.n, 0);
    free(b.tx[0]);
    /* Block 2: B names it properly: power 300 / 100 = 3. */
    join_validator(sk_b, pk_b, 0, vpk, vsk, &b.tx[0], &b.len[0]);
    uint32_t ok[2] = {0, 0};
    run_block(&x, 2, &b, ok, h, bloom);
    assert_int_equal(g_updates.n, 1);
    assert_memory_equal(g_updates.pub_key[0], vpk, 32);
    assert_int_equal(g_updates.power[0], 3);
    free(b.tx[0]);
    /* Block 3: A (bonded 500) names the same key with the holder's signature for A:
     * the key is B's. */
    join_validator(sk_a, pk_a, 0, vpk, vsk, &b.tx[0], &b.len[0]);
    uint32_t taken[1] = {VEIL_ERR_NODE_VALIDATOR_KEY};
    run_block(&x, 3, &b, taken, h, bloom);
    assert_int_equal(g_updates.n, 0);
    free(b.tx[0]);
    /* Block 4: B unbonds 250, then 50 in the same block: one update, the last power
     * (0: leaves the set). */
    unbond_b(1, 250, &b.tx[0], &b.len[0]);
    unbond_b(2, 50, &b.tx[1], &b.len[1]);
    b.n = 2;
    run_block(&x, 4, &b, ok, h, bloom);
    assert_int_equal(g_updates.n, 1);
    assert_memory_equal(g_updates.pub_key[0], vpk, 32);
    assert_int_equal(g_updates.power[0], 0);
    free(b.tx[0]);
    free(b.tx[1]);
    inst_stop(&x);
}

static void test_keyless_validator(void **state)
{
    (void)state;
    inst d, k;
    inst_init(&d, "d");
    inst_init(&k, "k");
    char cmd[1024], line[256] = "";
    snprintf(cmd, sizeof cmd, "%s tve init-key --home %s --chain-id %s --platform %s", VEIL_BIN,
             d.tve_home, CHAIN, g_plat);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_int_equal(pclose(f), 0);
    assert_true(strncmp(line, "key_commitment ", 15) == 0 && strlen(line) >= 15 + 64);
    line[15 + 64] = '\0';
    const char *commitment = line + 15;
    /* A second draw on the same store is refused. */
    assert_int_not_equal(system(cmd), 0);

    tve_start(&d);
    node_start(&d);
    tve_start(&k);
    node_start(&k);
    char g[2300];
    const char *base = genesis_json();
    snprintf(g, sizeof g, "%.*s,\"key_commitment\":\"%s\"}", (int)strlen(base) - 1, base,
             commitment);
    uint8_t hd[32], hk[32];
    abci_init_chain_with(&d, g, hd);
    abci_init_chain_with(&k, g, hk);
    assert_memory_equal(hd, hk, 32);
    assert_true(log_contains(k.node.log, "does not hold it"));

    blk empty = {0};
    uint32_t codes[8];
    uint8_t bloom[256];
    assert_true(abci_finalize(&d, 1, &empty, codes, hd, bloom) && abci_commit(&d));
    assert_true(abci_finalize(&k, 1, &empty, codes, hk, bloom) && abci_commit(&k));
    assert_memory_equal(hd, hk, 32);
    /* A keyless TVE and its node restart as they are. */
    inst_stop(&k);
    tve_start(&k);
    node_start(&k);
    assert_int_equal(abci_info(&k, hk), 1);
    assert_memory_equal(hd, hk, 32);

    /* A confidential tx, encrypted by the key holder's TVE. */
    blk b = {0};
    uint8_t txid[32];
    withdraw_a(&d, block_time(2), txid, &b.tx[0], &b.len[0]);
    b.n = 1;
    assert_true(abci_finalize(&d, 2, &b, codes, hd, bloom));
    assert_int_equal(codes[0], 0);
    /* Its mempool refuses the tx with its own code (a local answer, not consensus). */
    assert_int_equal(abci_check_tx(&k, b.tx[0], b.len[0]), VEIL_ERR_TVE_NO_KEY);
    /* The block: the keyless node neither records a verdict nor stops; it waits for the
     * chain's key (which its TDBE would fetch: test_tdbe, test_testnet). */
    assert_true(finalize_waits(&k, 2, &b, NULL));
    static const char waiting[] = "does not hold the chain's key yet: waiting";
    assert_true(file_contains(k.node.log, (const uint8_t *)waiting, sizeof waiting - 1));

    blk_free(&b);
    inst_stop(&d);
    /* SIGTERM ends the wait: the node stops cleanly, at height 1. */
    inst_stop(&k);
}

/* PrepareProposal by `proposer` with no mempool txs: the key-epoch tx it adds, if any
 * (malloc'd into *tx), else *tx NULL. */
static void prepare_by(inst *in, uint64_t height, const uint8_t proposer[20], uint8_t **tx,
                       size_t *len)
{
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__RequestPrepareProposal pp = TENDERMINT__ABCI__REQUEST_PREPARE_PROPOSAL__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = (int64_t)block_time(height);
    pp.time = &ts;
    pp.height = (int64_t)height;
    pp.max_tx_bytes = 1 << 20;
    pp.proposer_address.data = (uint8_t *)proposer;
    pp.proposer_address.len = 20;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_PREPARE_PROPOSAL;
    req.prepare_proposal = &pp;
    Tendermint__Abci__Response *r = call(in, &req);
    *tx = NULL;
    *len = 0;
    assert_true(r->prepare_proposal->n_txs <= 1);
    if (r->prepare_proposal->n_txs == 1) {
        *len = r->prepare_proposal->txs[0].len;
        *tx = malloc(*len);
        memcpy(*tx, r->prepare_proposal->txs[0].data, *len);
    }
    abci_response_free(r);
}

static uint64_t tve_status_epochs(inst *in, size_t *n_held, uint64_t *floor)
{
    Veil__Tve__Response *r = tve_status(in);
    uint64_t e = r->status->key_epoch;
    *n_held = r->status->n_held_epochs;
    *floor = r->status->destroyed_below;
    veil__tve__response__free_unpacked(r, NULL);
    return e;
}

/* Key epochs through the node (docs/key-epochs.md): the proposer's key-epoch tx, its
 * rules, the switch after the grace period, old-epoch txs refused after the next. */
static void test_key_epochs(void **state)
{
    (void)state;
    inst k;
    inst_init(&k, "epochs");
    tve_start(&k);
    node_start(&k);
    char g[2300];
    genesis_epochs(g, sizeof g, "4", "2");
    uint8_t h[32], bloom[256];
    abci_init_chain_with(&k, g, h);
    uint8_t p[20], q[20];
    memset(p, 0xa1, 20);
    memset(q, 0xb2, 20);
    blk empty = {0};
    uint32_t codes[8];
    /* Epoch 0 starts at 1: epoch 1 is due at block 5; before, a proposer adds nothing. */
    uint8_t *et;
    size_t el;
    for (uint64_t height = 1; height <= 4; height++) {
        prepare_by(&k, height, p, &et, &el);
        assert_null(et);
        run_block(&k, height, &empty, codes, h, bloom);
    }
    prepare_by(&k, 5, p, &et, &el);
    assert_non_null(et);
    /* Never from the mempool. */
    assert_int_equal(abci_check_tx(&k, et, el), VEIL_ERR_NODE_KEY_EPOCH_TX);
    /* In a block another proposer built: refused. */
    blk b = {.n = 1, .tx = {et}, .len = {el}};
    uint32_t want[1] = {VEIL_ERR_NODE_KEY_EPOCH_TX};
    g_proposer = q;
    run_block(&k, 5, &b, want, h, bloom);
    /* Its own proposer's, the next height: the same key (drawn once), committed. */
    uint8_t *et2;
    size_t el2;
    prepare_by(&k, 6, p, &et2, &el2);
    assert_non_null(et2);
    assert_int_equal(el2, el);
    assert_memory_equal(et2, et, el);
    free(et2);
    g_proposer = p;
    want[0] = 0;
    run_block(&k, 6, &b, want, h, bloom);
    /* Once committed, no proposer adds another, and a second one is refused. */
    prepare_by(&k, 7, p, &et2, &el2);
    assert_null(et2);
    want[0] = VEIL_ERR_NODE_KEY_EPOCH_TX;
    /* An epoch-0 withdraw encrypted now, while epoch 0 is still current. */
    blk w0 = {0};
    uint8_t txid[32];
    withdraw_a(&k, block_time(7), txid, &w0.tx[0], &w0.len[0]);
    w0.n = 1;
    run_block(&k, 7, &b, want, h, bloom);
    free(et);
    size_t held;
    uint64_t floor;
    /* Epoch 1 is current from block 8 (6 + 2); epoch 0 is admitted up to block 9. */
    assert_int_equal(tve_status_epochs(&k, &held, &floor), 1);
    assert_int_equal(held, 2);
    assert_int_equal(floor, 0);
    run_block(&k, 8, &empty, codes, h, bloom);
    run_block(&k, 9, &empty, codes, h, bloom);
    /* Block 10: epoch 0's grace period is over. Its txs are refused with their own code,
     * before any enclave sees them, and every TVE has destroyed the key. */
    assert_int_equal(tve_status_epochs(&k, &held, &floor), 1);
    assert_int_equal(held, 1);
    assert_int_equal(floor, 1);
    assert_int_equal(abci_check_tx(&k, w0.tx[0], w0.len[0]), VEIL_ERR_TX_KEY_EPOCH_EXPIRED);
    want[0] = VEIL_ERR_TX_KEY_EPOCH_EXPIRED;
    run_block(&k, 10, &w0, want, h, bloom);
    blk_free(&w0);
    /* The same withdraw encrypted again, under epoch 1: accepted. */
    withdraw_a(&k, block_time(11), txid, &w0.tx[0], &w0.len[0]);
    w0.n = 1;
    want[0] = 0;
    run_block(&k, 11, &w0, want, h, bloom);
    blk_free(&w0);
    /* The TVE, restarted, loads only the live key (the destroyed one's copy is gone). */
    proc_kill(&k.tve, SIGTERM);
    tve_start(&k);
    assert_int_equal(tve_status_epochs(&k, &held, &floor), 1);
    assert_int_equal(held, 1);
    assert_true(log_contains(k.tve.log, "destroyed the key of epoch 0"));
    g_proposer = NULL;
    inst_stop(&k);
}


/* A validator whose TVE missed a rotation (no TDBE here to fetch the key) does not
 * judge the first block with a tx under the new epoch: it waits, says why, and stops
 * cleanly on SIGTERM, at the height before. */
static void test_missed_rotation_waits(void **state)
{
    (void)state;
    inst d, k;
    inst_init(&d, "drawer");
    inst_init(&k, "missed");
    tve_start(&d);
    node_start(&d);
    tve_start(&k);
    node_start(&k);
    char g[2300];
    genesis_epochs(g, sizeof g, "2", "1");
    uint8_t hd[32], hk[32], bloom[256];
    abci_init_chain_with(&d, g, hd);
    abci_init_chain_with(&k, g, hk);
    assert_memory_equal(hd, hk, 32);
    uint8_t p[20];
    memset(p, 0xd1, 20);
    g_proposer = p;
    blk empty = {0};
    uint32_t codes[8];
    run_block(&d, 1, &empty, codes, hd, bloom);
    run_block(&k, 1, &empty, codes, hk, bloom);
    /* Block 3: epoch 1 due (1 + 2); the drawer's TVE draws it, both nodes commit it. */
    run_block(&d, 2, &empty, codes, hd, bloom);
    run_block(&k, 2, &empty, codes, hk, bloom);
    blk b = {0};
    prepare_by(&d, 3, p, &b.tx[0], &b.len[0]);
    assert_non_null(b.tx[0]);
    b.n = 1;
    uint32_t ok[1] = {0};
    run_block(&d, 3, &b, ok, hd, bloom);
    run_block(&k, 3, &b, ok, hk, bloom);
    assert_memory_equal(hd, hk, 32);
    blk_free(&b);
    /* Block 4 (3 + 1): epoch 1 current. A withdraw encrypted under it by the drawer. */
    uint8_t txid[32];
    withdraw_a(&d, block_time(4), txid, &b.tx[0], &b.len[0]);
    b.n = 1;
    run_block(&d, 4, &b, ok, hd, bloom);
    size_t held;
    uint64_t floor;
    /* The other node's TVE knows epoch 1 is current but holds epoch 0's key only: it
     * neither records a verdict nor stops. */
    assert_int_equal(tve_status_epochs(&k, &held, &floor), 1);
    assert_int_equal(held, 1);
    assert_true(finalize_waits(&k, 4, &b, p));
    assert_true(log_contains(k.node.log, "block 4: this node's TVE does not hold the key of "
                                         "epoch 1, which the chain admits: it stops validating"));
    blk_free(&b);
    g_proposer = NULL;
    inst_stop(&d);
    inst_stop(&k);
    /* Stopped at height 3: nothing of block 4 was recorded. */
    tve_start(&k);
    node_start(&k);
    assert_int_equal(abci_info(&k, hk), 3);
    inst_stop(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_and_determinism),
        cmocka_unit_test(test_one_decode_per_judge),
        cmocka_unit_test(test_waiting_for_the_tve),
        cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_wrong_tve_identity),
        cmocka_unit_test(test_keyless_validator),
        cmocka_unit_test(test_validator_updates),
        cmocka_unit_test(test_key_epochs),
        cmocka_unit_test(test_missed_rotation_waits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
