/* Tests of attested TLS: a test enclave serves TLS 1.3 (echo) through a host loop that
 * only moves bytes; the Veil client and the real `openssl s_client` connect to it;
 * the verifier refuses each forgery with its own code. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "common/cursor.h"
#include "host/ratls/ratls_client.h"
#include "host/ratls/ratls_verify.h"
#include "hostutil/fileio.h"
#include "ratls_test_enclave.h"
#include "tee/sim/sim_host.h"
#include "tee/tee.h"
#include "trusted/tqe/tqe_abi.h"

#define IMG(name) VEIL_BUILD_DIR "/enclaves/" name ".signed.so"
#define CERT_CAP 16384

static char g_dir[256];
static char g_root_a[400], g_root_b[400];
static tee_platform *g_pa, *g_pb;
static tee_enclave *g_main;
static tee_identity g_main_id;

static tee_enclave *load_on(tee_platform *p, const char *path)
{
    tee_enclave *e = NULL;
    veil_status st = tee_enclave_load(p, path, NULL, 0, &e);
    if (st != VEIL_OK) fail_msg("loading %s: %s (%s)", path, veil_status_str(st), veil_error_detail());
    return e;
}

/* Frees what the enclave holds, then unloads it. */
static void unload(tee_enclave *e)
{
    size_t n;
    if (e != NULL && tee_enclave_call(e, RT_RESET, NULL, 0, NULL, 0, &n) != VEIL_OK)
        fprintf(stderr, "reset failed\n");
    tee_enclave_destroy(e);
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    snprintf(g_dir, sizeof g_dir, "/tmp/veil-test-ratls-XXXXXX");
    if (mkdtemp(g_dir) == NULL) return -1;
    char plat[300], root[300];
    snprintf(plat, sizeof plat, "%s/pa", g_dir);
    snprintf(root, sizeof root, "%s/ra", g_dir);
    snprintf(g_root_a, sizeof g_root_a, "%s/%s", root, SIM_ROOT_CA_CERT_FILE);
    if (sim_platform_provision(plat, root, 3, false) != VEIL_OK) return -1;
    if (tee_platform_open(plat, &g_pa) != VEIL_OK) return -1;
    snprintf(plat, sizeof plat, "%s/pb", g_dir);
    snprintf(root, sizeof root, "%s/rb", g_dir);
    snprintf(g_root_b, sizeof g_root_b, "%s/%s", root, SIM_ROOT_CA_CERT_FILE);
    if (sim_platform_provision(plat, root, 3, false) != VEIL_OK) return -1;
    if (tee_platform_open(plat, &g_pb) != VEIL_OK) return -1;
    if (tee_enclave_load(g_pa, IMG("ratls_test_enclave"), NULL, 0, &g_main) != VEIL_OK) return -1;
    tee_enclave_identity(g_main, &g_main_id);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unload(g_main);
    tee_platform_close(g_pa);
    tee_platform_close(g_pb);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static ratls_policy default_policy(void)
{
    ratls_policy p = {0};
    p.mrsigner = g_main_id.mrsigner;
    p.mrenclave = g_main_id.mrenclave;
    p.has_prodid = 1;
    p.prodid = g_main_id.prodid;
    p.has_min_svn = 1;
    p.min_svn = 1;
    p.min_platform_tcb = 3;
    p.root_pem_path = g_root_a;
    return p;
}

/* Creates a fresh identity in e at `now`; returns its certificate. */
static X509 *enclave_cert(tee_enclave *e, uint64_t now)
{
    uint8_t in[8], der[CERT_CAP];
    size_t len = 0;
    veil_put_u64(in, now);
    veil_status st = tee_enclave_call(e, RT_CREATE_IDENTITY, in, sizeof in, der, sizeof der, &len);
    if (st != VEIL_OK) fail_msg("create identity: %s", veil_status_name(st));
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    assert_non_null(x);
    assert_ptr_equal(p, der + len);
    return x;
}

static veil_status verify(X509 *x, const ratls_policy *p)
{
    return ratls_verify_cert(x, p, time(NULL), NULL);
}

#define assert_status(expr, want)                                                        \
    do {                                                                                 \
        veil_status got_ = (expr);                                                       \
        if (got_ != (want))                                                              \
            fail_msg("%s: got %s, want %s (%s)", #expr, veil_status_name(got_),          \
                     veil_status_name(want), veil_error_detail());                       \
    } while (0)

/* --- an enclave TLS server: the host loop only moves bytes ------------------------ */
typedef struct server {
    tee_enclave *e;
    int lfd;
    int port;
    atomic_int stop;
    pthread_t thread;
} server;

static bool send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static void serve_conn(server *s, int fd)
{
    uint8_t slotb[4], in[4 + 16384], *out = malloc(65536);
    size_t n;
    if (out == NULL || tee_enclave_call(s->e, RT_NEW_SESSION, NULL, 0, slotb, 4, &n) != VEIL_OK) {
        free(out);
        close(fd);
        return;
    }
    memcpy(in, slotb, 4);
    for (bool done = false; !done && !atomic_load(&s->stop);) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, 100);
        if (pr == 0) continue;
        ssize_t r = recv(fd, in + 4, sizeof in - 4, 0);
        if (r <= 0) break;
        size_t in_len = 4 + (size_t)r;
        for (;;) {
            size_t out_len = 0;
            if (tee_enclave_call(s->e, RT_FEED, in, in_len, out, 65536, &out_len) != VEIL_OK ||
                out_len < 1) {
                done = true;
                break;
            }
            if (!send_all(fd, out + 1, out_len - 1)) done = true;
            if (out[0] & RT_FLAG_CLOSED) done = true;
            if (!(out[0] & RT_FLAG_MORE) || done) break;
            in_len = 4; /* drain: no new input */
        }
    }
    if (tee_enclave_call(s->e, RT_FREE_SESSION, slotb, 4, NULL, 0, &n) != VEIL_OK)
        fprintf(stderr, "server: freeing the session failed\n");
    free(out);
    close(fd);
}

static void *server_main(void *arg)
{
    server *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = {.fd = s->lfd, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0) continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd >= 0) serve_conn(s, fd);
    }
    return NULL;
}

static void server_start(server *s, tee_enclave *e)
{
    memset(s, 0, sizeof *s);
    s->e = e;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(listen(s->lfd, 8), 0);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_stop(server *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    close(s->lfd);
}

/* The engine refuses bytes that are not a TLS 1.3 ClientHello and dies cleanly. */
static void test_session_garbage(void **state)
{
    (void)state;
    X509_free(enclave_cert(g_main, (uint64_t)time(NULL)));
    uint8_t slot[4], in[64], out[4096];
    size_t n;
    assert_int_equal(tee_enclave_call(g_main, RT_NEW_SESSION, NULL, 0, slot, 4, &n), VEIL_OK);
    memcpy(in, slot, 4);
    const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    memcpy(in + 4, http, strlen(http));
    assert_int_equal(tee_enclave_call(g_main, RT_FEED, in, 4 + strlen(http), out, sizeof out, &n),
                     VEIL_OK);
    assert_true(n >= 1);
    assert_true(out[0] & RT_FLAG_CLOSED);
    assert_false(out[0] & RT_FLAG_HANDSHAKE_DONE);
    /* Once dead and drained, further input is out of order. */
    while (out[0] & RT_FLAG_MORE)
        assert_int_equal(tee_enclave_call(g_main, RT_FEED, in, 4, out, sizeof out, &n), VEIL_OK);
    assert_int_equal(tee_enclave_call(g_main, RT_FEED, in, 4 + 3, out, sizeof out, &n),
                     VEIL_ERR_OUT_OF_ORDER);
    assert_int_equal(tee_enclave_call(g_main, RT_FREE_SESSION, slot, 4, NULL, 0, &n), VEIL_OK);
}

/* --- end to end ------------------------------------------------------------------- */
static void test_client_echo(void **state)
{
    (void)state;
    X509_free(enclave_cert(g_main, (uint64_t)time(NULL)));
    server s;
    server_start(&s, g_main);
    char hp[64];
    snprintf(hp, sizeof hp, "127.0.0.1:%d", s.port);
    ratls_policy p = default_policy();
    ratls_client *c = NULL;
    assert_status(ratls_client_connect(hp, &p, 5000, &c), VEIL_OK);
    const tee_quote_claims *cl = ratls_client_peer_claims(c);
    assert_memory_equal(cl->body.identity.mrenclave, g_main_id.mrenclave, TEE_MEASUREMENT_LEN);
    /* The echo server returns our frame as is. */
    uint8_t *msg;
    size_t len;
    assert_status(ratls_client_send_msg(c, (const uint8_t *)"hello enclave", 13), VEIL_OK);
    assert_status(ratls_client_recv_msg(c, 0, &msg, &len), VEIL_OK);
    assert_int_equal(len, 13);
    assert_memory_equal(msg, "hello enclave", 13);
    free(msg);
    /* Large enough to span many records and drains. */
    size_t big_len = 300000;
    uint8_t *big = malloc(big_len);
    assert_non_null(big);
    for (size_t i = 0; i < big_len; i++) big[i] = (uint8_t)(i * 7);
    assert_status(ratls_client_send_msg(c, big, big_len), VEIL_OK);
    assert_status(ratls_client_recv_msg(c, 0, &msg, &len), VEIL_OK);
    assert_int_equal(len, big_len);
    assert_memory_equal(msg, big, big_len);
    free(msg);
    /* Renewal frees the old identity; the open session keeps its key and goes on. */
    X509 *renewed = enclave_cert(g_main, (uint64_t)time(NULL));
    assert_status(ratls_client_send_msg(c, (const uint8_t *)"after renewal", 13), VEIL_OK);
    assert_status(ratls_client_recv_msg(c, 0, &msg, &len), VEIL_OK);
    assert_int_equal(len, 13);
    free(msg);
    /* The length prefix is checked against the caller's limit before allocating (the
     * stream is then out of step: the caller closes). */
    assert_status(ratls_client_send_msg(c, big, 1000), VEIL_OK);
    assert_status(ratls_client_recv_msg(c, 999, &msg, &len), VEIL_ERR_TOO_LARGE);
    assert_null(msg);
    free(big);
    ratls_client_close(c);
    /* New connections present the renewed certificate. */
    assert_status(ratls_client_connect(hp, &p, 5000, &c), VEIL_OK);
    tee_quote_claims rc;
    assert_status(ratls_verify_cert(renewed, &p, time(NULL), &rc), VEIL_OK);
    assert_memory_equal(ratls_client_peer_claims(c)->body.report_data, rc.body.report_data,
                        TEE_REPORT_DATA_LEN);
    ratls_client_close(c);
    X509_free(renewed);

    /* The client refuses a server whose enclave the policy does not accept. */
    uint8_t other[TEE_MEASUREMENT_LEN];
    memset(other, 0x42, sizeof other);
    p.mrenclave = other;
    c = NULL;
    assert_status(ratls_client_connect(hp, &p, 5000, &c), VEIL_ERR_RATLS_MRENCLAVE);
    assert_null(c);
    assert_non_null(strstr(veil_error_detail(), "expected 4242"));
    p = default_policy();
    p.root_pem_path = g_root_b;
    assert_status(ratls_client_connect(hp, &p, 5000, &c), VEIL_ERR_TEE_QUOTE_CHAIN);
    server_stop(&s);
}

static bool file_contains(const char *path, const char *needle)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (veil_file_read(path, 1u << 20, &buf, &len) != VEIL_OK) return false;
    char *z = realloc(buf, len + 1);
    if (z == NULL) {
        free(buf);
        return false;
    }
    z[len] = '\0';
    bool found = strstr(z, needle) != NULL;
    free(z);
    return found;
}

/* A real, independent client: openssl s_client completes TLS 1.3 with the enclave. */
static void test_openssl_s_client(void **state)
{
    (void)state;
    X509_free(enclave_cert(g_main, (uint64_t)time(NULL)));
    server s;
    server_start(&s, g_main);
    char out[400], txt[400], cmd[1400];
    snprintf(out, sizeof out, "%s/s_client.out", g_dir);
    snprintf(txt, sizeof txt, "%s/cert.txt", g_dir);
    snprintf(cmd, sizeof cmd,
             "%s s_client -connect 127.0.0.1:%d -tls1_3 -showcerts </dev/null >%s 2>&1",
             OPENSSL_EXE, s.port, out);
    int rc = system(cmd);
    /* TLS 1.2 is refused. */
    char cmd12[600];
    snprintf(cmd12, sizeof cmd12,
             "%s s_client -connect 127.0.0.1:%d -tls1_2 </dev/null >/dev/null 2>&1", OPENSSL_EXE,
             s.port);
    int rc12 = system(cmd12);
    assert_false(WIFEXITED(rc12) && WEXITSTATUS(rc12) == 0);
    server_stop(&s);
    if (!(WIFEXITED(rc) && WEXITSTATUS(rc) == 0)) {
        snprintf(cmd, sizeof cmd, "cat %s", out);
        if (system(cmd) != 0) fprintf(stderr, "(no s_client output)\n");
        fail_msg("s_client exit status %d", rc);
    }
    assert_true(file_contains(out, "TLSv1.3"));
    assert_true(file_contains(out, "BEGIN CERTIFICATE"));
    snprintf(cmd, sizeof cmd, "%s x509 -in %s -noout -text >%s 2>&1", OPENSSL_EXE, out, txt);
    assert_int_equal(system(cmd), 0);
    assert_true(file_contains(txt, RATLS_EVIDENCE_OID));
    assert_true(file_contains(txt, "Veil attested TLS"));
}

/* --- verifier ---------------------------------------------------------------------- */
static void test_verify_ok_and_policy(void **state)
{
    (void)state;
    X509 *x = enclave_cert(g_main, (uint64_t)time(NULL));
    ratls_policy p = default_policy();
    tee_quote_claims c;
    assert_status(ratls_verify_cert(x, &p, time(NULL), &c), VEIL_OK);
    assert_int_equal(c.body.identity.svn, 1);
    assert_int_equal(c.platform_tcb, 3);
    /* The same with the root in memory, and pinning only one of the two measurements. */
    uint8_t *pem;
    size_t pem_len;
    assert_int_equal(veil_file_read(g_root_a, 1u << 16, &pem, &pem_len), VEIL_OK);
    p.root_pem_path = NULL;
    p.root_pem = pem;
    p.root_pem_len = pem_len;
    p.mrenclave = NULL;
    assert_status(verify(x, &p), VEIL_OK);
    p.mrenclave = g_main_id.mrenclave;
    p.mrsigner = NULL;
    assert_status(verify(x, &p), VEIL_OK);
    free(pem);
    /* Nothing pinned is a usage error, not "accept anything". */
    p.mrenclave = NULL;
    assert_status(verify(x, &p), VEIL_ERR_ARG);
    /* Neither is a signer pin without a product id or a minimum SVN (item 9: no silent
     * "any" in a policy), nor a TCB floor of 0 unless out-of-date platforms are allowed. */
    p = default_policy();
    p.mrenclave = NULL;
    p.has_prodid = 0;
    assert_status(verify(x, &p), VEIL_ERR_ARG);
    assert_non_null(strstr(veil_error_detail(), "product id"));
    p = default_policy();
    p.mrenclave = NULL;
    p.has_min_svn = 0;
    assert_status(verify(x, &p), VEIL_ERR_ARG);
    p = default_policy();
    p.min_platform_tcb = 0;
    assert_status(verify(x, &p), VEIL_ERR_ARG);
    assert_non_null(strstr(veil_error_detail(), "TCB"));
    p.allow_out_of_date_tcb = true;
    assert_status(verify(x, &p), VEIL_OK);
    /* MRENCLAVE alone pins one image: enough on its own. */
    p = default_policy();
    p.mrsigner = NULL;
    p.has_prodid = 0;
    p.has_min_svn = 0;
    assert_status(verify(x, &p), VEIL_OK);

    uint8_t wrong[TEE_MEASUREMENT_LEN];
    memset(wrong, 0x11, sizeof wrong);
    p = default_policy();
    p.mrsigner = wrong;
    assert_status(verify(x, &p), VEIL_ERR_RATLS_MRSIGNER);
    assert_non_null(strstr(veil_error_detail(), "MRSIGNER: expected 1111"));
    p = default_policy();
    p.mrenclave = wrong;
    assert_status(verify(x, &p), VEIL_ERR_RATLS_MRENCLAVE);
    p = default_policy();
    p.min_svn = 2;
    assert_status(verify(x, &p), VEIL_ERR_RATLS_SVN);
    assert_non_null(strstr(veil_error_detail(), "expected >= 2, got 1"));
    /* TCB: the platform is at level 3. */
    p = default_policy();
    p.min_platform_tcb = 5;
    assert_status(verify(x, &p), VEIL_ERR_RATLS_TCB);
    p.allow_out_of_date_tcb = true;
    assert_status(verify(x, &p), VEIL_OK);
    X509_free(x);
}

/* Item 1 of the attack review: the wallet pinned only the TQE's MRSIGNER, the verifier
 * never looked at the product id, and the test enclaves were signed with the same key
 * as the TQE (one of them quotes any report data its host asks for). A fake TQE made
 * from such a quote read a wallet's plaintext. Now (a) test images have their own
 * signer, and (b) a signer pin always comes with a product id and a minimum SVN. */
static void test_item1_same_signer_quote_refused(void **state)
{
    (void)state;
    tee_enclave *tqe = load_on(g_pa, VEIL_BUILD_DIR "/enclaves/" TQE_ENCLAVE_IMAGE);
    tee_identity tqe_id;
    tee_enclave_identity(tqe, &tqe_id);
    tee_enclave_destroy(tqe);
    /* (a) No test image shares the production signer. */
    assert_memory_not_equal(g_main_id.mrsigner, tqe_id.mrsigner, TEE_MEASUREMENT_LEN);
    /* The wallet's policy for the TQE refuses the test enclave's genuine evidence. */
    X509 *x = enclave_cert(g_main, (uint64_t)time(NULL));
    ratls_policy p = default_policy();
    p.mrenclave = NULL;
    p.mrsigner = tqe_id.mrsigner;
    p.prodid = TQE_PRODID;
    p.min_svn = TQE_SVN;
    assert_status(verify(x, &p), VEIL_ERR_RATLS_MRSIGNER);
    /* (b) Even under the same signer, another product is refused: the policy pins the
     * test enclave's own signer with the TQE's product id, as the devnet's wallets pin
     * the TQE's. Before the product id was checked, this evidence was accepted. */
    p.mrsigner = g_main_id.mrsigner;
    assert_int_not_equal(g_main_id.prodid, TQE_PRODID);
    assert_status(verify(x, &p), VEIL_ERR_RATLS_PRODID);
    assert_non_null(strstr(veil_error_detail(), "product id"));
    p.prodid = g_main_id.prodid;
    assert_status(verify(x, &p), VEIL_OK);
    X509_free(x);
}

static void test_verify_identities(void **state)
{
    (void)state;
    ratls_policy p = default_policy();
    /* Another signer. */
    tee_enclave *e = load_on(g_pa, IMG("ratls_test_enclave_othersigner"));
    X509 *x = enclave_cert(e, (uint64_t)time(NULL));
    assert_status(verify(x, &p), VEIL_ERR_RATLS_MRSIGNER);
    X509_free(x);
    unload(e);
    /* SVN 2 passes a minimum of 2; SVN 1 does not (checked above). */
    e = load_on(g_pa, IMG("ratls_test_enclave_svn2"));
    x = enclave_cert(e, (uint64_t)time(NULL));
    p.min_svn = 2;
    assert_status(verify(x, &p), VEIL_OK);
    X509_free(x);
    unload(e);
    /* A debug enclave: refused unless explicitly allowed. */
    e = load_on(g_pa, IMG("ratls_test_enclave_debug"));
    x = enclave_cert(e, (uint64_t)time(NULL));
    p = default_policy();
    assert_status(verify(x, &p), VEIL_ERR_RATLS_DEBUG);
    p.allow_debug = true;
    assert_status(verify(x, &p), VEIL_OK);
    X509_free(x);
    unload(e);
    /* Evidence chained to another provisioning root. */
    e = load_on(g_pb, IMG("ratls_test_enclave"));
    x = enclave_cert(e, (uint64_t)time(NULL));
    p = default_policy();
    assert_status(verify(x, &p), VEIL_ERR_TEE_QUOTE_CHAIN);
    p.root_pem_path = g_root_b;
    assert_status(verify(x, &p), VEIL_OK);
    X509_free(x);
    unload(e);
}

static void test_verify_validity(void **state)
{
    (void)state;
    ratls_policy p = default_policy();
    uint64_t now = (uint64_t)time(NULL);
    X509 *x = enclave_cert(g_main, now - 3 * 86400);
    assert_status(verify(x, &p), VEIL_ERR_RATLS_EXPIRED);
    assert_non_null(strstr(veil_error_detail(), "has expired"));
    X509_free(x);
    x = enclave_cert(g_main, now + 2 * 86400);
    assert_status(verify(x, &p), VEIL_ERR_RATLS_EXPIRED);
    assert_non_null(strstr(veil_error_detail(), "not yet valid"));
    X509_free(x);
    /* The window: now - 1 h .. now + 25 h. */
    x = enclave_cert(g_main, now);
    assert_status(ratls_verify_cert(x, &p, (time_t)(now - 3500), NULL), VEIL_OK);
    assert_status(ratls_verify_cert(x, &p, (time_t)(now + 25 * 3600 - 100), NULL), VEIL_OK);
    assert_status(ratls_verify_cert(x, &p, (time_t)(now + 25 * 3600 + 100), NULL),
                  VEIL_ERR_RATLS_EXPIRED);
    X509_free(x);
    /* Renewal schedule. */
    uint8_t in[8], r;
    size_t n;
    veil_put_u64(in, now + 3600);
    assert_int_equal(tee_enclave_call(g_main, RT_NEEDS_RENEWAL, in, 8, &r, 1, &n), VEIL_OK);
    assert_int_equal(r, 0);
    veil_put_u64(in, now + 86400);
    assert_int_equal(tee_enclave_call(g_main, RT_NEEDS_RENEWAL, in, 8, &r, 1, &n), VEIL_OK);
    assert_int_equal(r, 1);
    veil_put_u64(in, now - 7200);
    assert_int_equal(tee_enclave_call(g_main, RT_NEEDS_RENEWAL, in, 8, &r, 1, &n), VEIL_OK);
    assert_int_equal(r, 1);
    /* Times the enclave refuses to certify. */
    veil_put_u64(in, 10);
    uint8_t der[CERT_CAP];
    assert_int_equal(tee_enclave_call(g_main, RT_CREATE_IDENTITY, in, 8, der, sizeof der, &n),
                     VEIL_ERR_ARG);
}

/* A self-signed certificate for `key` with the given evidence extension value
 * (NULL: none), valid around now. */
static X509 *forge(EVP_PKEY *key, const uint8_t *ext_val, size_t ext_len)
{
    X509 *x = X509_new();
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"forged", -1, -1,
                               0);
    X509_set_issuer_name(x, nm);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    assert_int_equal(X509_set_pubkey(x, key), 1);
    if (ext_val != NULL) {
        ASN1_OBJECT *oid = OBJ_txt2obj(RATLS_EVIDENCE_OID, 1);
        ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(v, ext_val, (int)ext_len);
        X509_EXTENSION *ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, v);
        assert_int_equal(X509_add_ext(x, ext, -1), 1);
        X509_EXTENSION_free(ext);
        ASN1_OCTET_STRING_free(v);
        ASN1_OBJECT_free(oid);
    }
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    return x;
}

static void ext_value(X509 *x, uint8_t *out, size_t cap, size_t *len)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(RATLS_EVIDENCE_OID, 1);
    int i = X509_get_ext_by_OBJ(x, oid, -1);
    ASN1_OBJECT_free(oid);
    assert_true(i >= 0);
    ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(X509_get_ext(x, i));
    *len = (size_t)ASN1_STRING_length(d);
    assert_true(*len <= cap);
    memcpy(out, ASN1_STRING_get0_data(d), *len);
}

static void test_verify_forgeries(void **state)
{
    (void)state;
    ratls_policy p = default_policy();
    X509 *genuine = enclave_cert(g_main, (uint64_t)time(NULL));
    EVP_PKEY *k = EVP_EC_gen("P-256");
    assert_non_null(k);
    uint8_t val[CERT_CAP];
    size_t len;
    ext_value(genuine, val, sizeof val, &len);
    /* The documented layout: tag(0x5645494C) over a byte string with a 2-byte length. */
    assert_true(len > 8);
    assert_memory_equal(val, "\xda\x56\x45\x49\x4c\x59", 6);
    assert_int_equal(((size_t)val[6] << 8 | val[7]), len - 8);
    assert_memory_equal(val + 8, "VQUO", 4);

    /* Evidence from another key: the genuine quote spliced into a certificate for k. */
    X509 *x = forge(k, val, len);
    assert_status(verify(x, &p), VEIL_ERR_RATLS_KEY_BINDING);
    assert_non_null(strstr(veil_error_detail(), "report data"));
    X509_free(x);

    /* A tampered quote byte (inside the signed report data). */
    const uint8_t *q;
    size_t qlen;
    assert_int_equal(ratls_evidence_parse(val, len, &q, &qlen), VEIL_OK);
    size_t qoff = (size_t)(q - val);
    val[qoff + 100] ^= 1;
    x = forge(k, val, len);
    assert_status(verify(x, &p), VEIL_ERR_TEE_QUOTE_SIGNATURE);
    X509_free(x);
    val[qoff + 100] ^= 1;
    /* A tampered quote header. */
    val[qoff] ^= 1;
    x = forge(k, val, len);
    assert_status(verify(x, &p), VEIL_ERR_TEE_QUOTE_FORMAT);
    X509_free(x);
    val[qoff] ^= 1;

    /* No evidence at all; malformed evidence (wrong tag, trailing byte, not CBOR). */
    x = forge(k, NULL, 0);
    assert_status(verify(x, &p), VEIL_ERR_RATLS_NO_EVIDENCE);
    X509_free(x);
    uint8_t bad[CERT_CAP + 1];
    memcpy(bad, val, len);
    bad[len] = 0;
    x = forge(k, bad, len + 1);
    assert_status(verify(x, &p), VEIL_ERR_RATLS_EVIDENCE_FORMAT);
    X509_free(x);
    bad[1] ^= 0xff; /* tag number */
    x = forge(k, bad, len);
    assert_status(verify(x, &p), VEIL_ERR_RATLS_EVIDENCE_FORMAT);
    X509_free(x);
    x = forge(k, (const uint8_t *)"\xff", 1);
    assert_status(verify(x, &p), VEIL_ERR_RATLS_EVIDENCE_FORMAT);
    X509_free(x);

    /* The certificate's own signature: last byte of the signature, then a TBS byte. */
    unsigned char *der = NULL;
    int dl = i2d_X509(genuine, &der);
    assert_true(dl > 0);
    assert_status(ratls_verify_cert_der(der, (size_t)dl, &p, time(NULL), NULL), VEIL_OK);
    der[dl - 1] ^= 1;
    assert_status(ratls_verify_cert_der(der, (size_t)dl, &p, time(NULL), NULL),
                  VEIL_ERR_RATLS_CERT_SIGNATURE);
    der[dl - 1] ^= 1;
    unsigned char *cn = NULL;
    for (int i = 0; i + 13 <= dl; i++)
        if (memcmp(der + i, "Veil attested", 13) == 0) cn = der + i;
    assert_non_null(cn);
    cn[0] = 'X';
    assert_status(ratls_verify_cert_der(der, (size_t)dl, &p, time(NULL), NULL),
                  VEIL_ERR_RATLS_CERT_SIGNATURE);
    cn[0] = 'V';
    assert_status(ratls_verify_cert_der(der, (size_t)dl - 1, &p, time(NULL), NULL),
                  VEIL_ERR_MALFORMED);
    OPENSSL_free(der);

    EVP_PKEY_free(k);
    X509_free(genuine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_ok_and_policy),
        cmocka_unit_test(test_verify_identities),
        cmocka_unit_test(test_item1_same_signer_quote_refused),
        cmocka_unit_test(test_verify_validity),
        cmocka_unit_test(test_verify_forgeries),
        cmocka_unit_test(test_session_garbage),
        cmocka_unit_test(test_client_echo),
        cmocka_unit_test(test_openssl_s_client),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
