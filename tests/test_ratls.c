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
#include "test_enclave.h"
#include "crypto/crypto.h"
#include "tee/sim/sim_host.h"
#include "tee/sim/sim_pcs.h"
#include "support/ias_world.h"
#include "tee/tee.h"
#include "trusted/tqe/tqe_abi.h"

#define IMG(name) VEIL_BUILD_DIR "/enclaves/" name ".signed.so"
#define CERT_CAP 16384

static char g_dir[256];
static char g_root_a[400], g_root_b[400]; /* collateral bundles of authorities A and B */
static char g_root_a4[400];               /* A's collateral after a TCB recovery to 4 */
static tee_platform *g_pa, *g_pb;
static tee_enclave *g_main;
static tee_enclave *g_fake, *g_fake_b; /* quotes any report data: the attacker's */
static tee_identity g_fake_id;
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
    snprintf(g_root_a, sizeof g_root_a, "%s/%s", root, SIM_COLLATERAL_FILE);
    if (sim_platform_provision(plat, root, 3, false) != VEIL_OK) return -1;
    snprintf(g_root_a4, sizeof g_root_a4, "%s/recovered.json", g_dir);
    if (sim_pcs_write_collateral(root, 4, (int64_t)time(NULL), 30, g_root_a4) != VEIL_OK) return -1;
    if (tee_platform_open(plat, &g_pa) != VEIL_OK) return -1;
    snprintf(plat, sizeof plat, "%s/pb", g_dir);
    snprintf(root, sizeof root, "%s/rb", g_dir);
    snprintf(g_root_b, sizeof g_root_b, "%s/%s", root, SIM_COLLATERAL_FILE);
    if (sim_platform_provision(plat, root, 3, false) != VEIL_OK) return -1;
    if (tee_platform_open(plat, &g_pb) != VEIL_OK) return -1;
    if (tee_enclave_load(g_pa, IMG("ratls_test_enclave"), NULL, 0, &g_main) != VEIL_OK) return -1;
    tee_enclave_identity(g_main, &g_main_id);
    /* The attacker's quoting enclave, on both platforms. */
    if (tee_enclave_load(g_pa, IMG("test_enclave"), NULL, 0, &g_fake) != VEIL_OK) return -1;
    if (tee_enclave_load(g_pb, IMG("test_enclave"), NULL, 0, &g_fake_b) != VEIL_OK) return -1;
    tee_enclave_identity(g_fake, &g_fake_id);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unload(g_main);
    tee_enclave_destroy(g_fake);
    tee_enclave_destroy(g_fake_b);
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
    dcap_policy_default(&p.tcb);
    p.collateral_path = g_root_a;
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
    const attest_claims *cl = ratls_client_peer_claims(c);
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
    attest_claims rc;
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
    p.collateral_path = g_root_b;
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
    attest_claims c;
    assert_status(ratls_verify_cert(x, &p, time(NULL), &c), VEIL_OK);
    assert_int_equal(c.body.identity.svn, 1);
    assert_int_equal(c.tcb_status, DCAP_TCB_UP_TO_DATE);
    /* The same with the collateral in memory, and pinning only one of the two
     * measurements. */
    attest_collateral *col;
    assert_int_equal(attest_collateral_load(g_root_a, &col), VEIL_OK);
    p.collateral_path = NULL;
    p.collateral = col;
    p.mrenclave = NULL;
    assert_status(verify(x, &p), VEIL_OK);
    p.mrenclave = g_main_id.mrenclave;
    p.mrsigner = NULL;
    assert_status(verify(x, &p), VEIL_OK);
    attest_collateral_free(col);
    /* Nothing pinned is a usage error, not "accept anything". */
    p.mrenclave = NULL;
    assert_status(verify(x, &p), VEIL_ERR_ARG);
    /* Neither is a signer pin without a product id or a minimum SVN (item 9: no silent
     * "any" in a policy), nor a policy without collateral. */
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
    p.collateral_path = NULL;
    assert_status(verify(x, &p), VEIL_ERR_ARG);
    assert_non_null(strstr(veil_error_detail(), "collateral"));
    /* A zeroed TCB policy accepts no status at all, UpToDate included. */
    p = default_policy();
    memset(&p.tcb, 0, sizeof p.tcb);
    assert_status(verify(x, &p), VEIL_ERR_RATLS_TCB);
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
    /* TCB: the platform is at level 3; after the authority's recovery to 4 it is
     * OutOfDate, refused unless the policy accepts OutOfDate. */
    p = default_policy();
    p.collateral_path = g_root_a4;
    assert_status(verify(x, &p), VEIL_ERR_RATLS_TCB);
    assert_non_null(strstr(veil_error_detail(), "OutOfDate"));
    assert_non_null(strstr(veil_error_detail(), "VEIL-SIM-00001"));
    assert_int_equal(dcap_policy_parse("SWHardeningNeeded", &p.tcb), VEIL_OK);
    assert_status(verify(x, &p), VEIL_ERR_RATLS_TCB);
    assert_int_equal(dcap_policy_parse("OutOfDate", &p.tcb), VEIL_OK);
    assert_status(verify(x, &p), VEIL_OK);
    X509_free(x);
}

/* IAS-style attestation: with an attestation proxy on the platform, the certificate
 * carries the service's report on its quote, and a policy that pins the report-signing
 * root accepts it instead of collateral. */
static void test_ias_policy(void **state)
{
    (void)state;
    ias_world w;
    assert_int_equal(ias_world_start(&w, g_dir, g_root_a), 0);
    assert_int_equal(tee_platform_set_attestation_proxy(g_pa, w.proxy_url), VEIL_OK);
    tee_enclave *e = load_on(g_pa, IMG("ratls_test_enclave"));
    time_t now = time(NULL);
    X509 *x = enclave_cert(e, (uint64_t)now);
    ratls_policy p = default_policy();
    p.attestation = RATLS_ATTEST_IAS;
    p.collateral_path = NULL;
    p.ias_root_pem = w.root_pem;
    attest_claims c;
    assert_status(ratls_verify_cert(x, &p, now, &c), VEIL_OK);
    assert_int_equal(c.tcb_status, DCAP_TCB_UP_TO_DATE);
    assert_memory_equal(c.body.identity.mrenclave, g_main_id.mrenclave, 32);
    /* The same certificate still verifies under DCAP: the report is an addition. */
    ratls_policy d = default_policy();
    assert_status(ratls_verify_cert(x, &d, now, NULL), VEIL_OK);
    /* Another root; a report older than the policy allows; no root at all. */
    p.ias_root_pem = w.tls_cert_pem;
    assert_status(ratls_verify_cert(x, &p, now, NULL), VEIL_ERR_TEE_IAS_REPORT);
    p.ias_root_pem = w.root_pem;
    p.ias_max_age = 60;
    assert_status(ratls_verify_cert(x, &p, now + 600, NULL), VEIL_ERR_TEE_COLLATERAL_EXPIRED);
    p.ias_max_age = 0;
    p.ias_root_pem = NULL;
    assert_status(ratls_verify_cert(x, &p, now, NULL), VEIL_ERR_ARG);
    p.ias_root_pem = w.root_pem;
    X509_free(x);
    /* The platform out of date at the service: refused unless the policy accepts it. */
    char recovered[400];
    attest_collateral *rc;
    snprintf(recovered, sizeof recovered, "%s/recovered-ias.json", g_dir);
    char rootdir[300];
    snprintf(rootdir, sizeof rootdir, "%s/ra", g_dir);
    assert_int_equal(sim_pcs_write_collateral(rootdir, 4, (int64_t)now, 30, recovered), VEIL_OK);
    assert_int_equal(attest_collateral_load(recovered, &rc), VEIL_OK);
    w.svc.collateral = rc;
    x = enclave_cert(e, (uint64_t)now);
    assert_status(ratls_verify_cert(x, &p, now, NULL), VEIL_ERR_RATLS_TCB);
    assert_non_null(strstr(veil_error_detail(), "VEIL-SIM-00001"));
    assert_int_equal(dcap_policy_parse("OutOfDate", &p.tcb), VEIL_OK);
    assert_status(ratls_verify_cert(x, &p, now, NULL), VEIL_OK);
    X509_free(x);
    w.svc.collateral = w.collateral;
    attest_collateral_free(rc);
    /* The proxy down: the enclave cannot make an identity (it was asked for a report). */
    http_server_stop(w.proxy_srv);
    w.proxy_srv = NULL;
    uint8_t in[8], der[CERT_CAP];
    size_t len;
    veil_put_u64(in, (uint64_t)now);
    assert_status(tee_enclave_call(e, RT_CREATE_IDENTITY, in, sizeof in, der, sizeof der, &len),
                  VEIL_ERR_TEE_IAS_UNAVAILABLE);
    /* Without a proxy the certificate has no report, which an IAS policy refuses. */
    assert_int_equal(tee_platform_set_attestation_proxy(g_pa, NULL), VEIL_OK);
    x = enclave_cert(e, (uint64_t)now);
    p = default_policy();
    p.attestation = RATLS_ATTEST_IAS;
    p.ias_root_pem = w.root_pem;
    assert_status(ratls_verify_cert(x, &p, now, NULL), VEIL_ERR_RATLS_NO_EVIDENCE);
    X509_free(x);
    unload(e);
    ias_world_stop(&w);
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
    p.collateral_path = g_root_b;
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

/* --- the forgery suite ------------------------------------------------------------------ */
/* What an attacker can make: certificates for keys it holds, evidence bytes of its
 * choosing, and genuine quotes over report data of its choosing from an enclave it
 * controls on a genuine platform (the test enclave's TE_QUOTE: exactly the capability
 * the review found in a same-signer test image). Each forgery below must be refused,
 * each with the code that names what is wrong. */

typedef struct recipe {
    /* the certificate */
    bool no_ext, critical, duplicate_ext, bad_self_sig;
    long not_before, not_after; /* offsets from now, seconds */
    /* the claims */
    bool other_key;             /* pubkey-hash of a key other than the certificate's */
    uint64_t hash_alg;
    size_t hash_len;
    const uint8_t *nonce;
    size_t nonce_len;
    const uint8_t *raw_claims; /* used verbatim instead of the fields above */
    size_t raw_claims_len;
    /* the quote */
    tee_enclave *quoter;       /* default: the fake enclave on platform A */
    bool rd_second_half, rd_other_claims;
    bool quote_truncate, quote_flip_sig;
    /* the evidence around them */
    uint64_t tag;
    bool trailing, nonminimal_tag, indefinite_quote, array3, quote_as_text, oversized;
    const uint8_t *raw_ext; /* the extension value verbatim */
    size_t raw_ext_len;
} recipe;


static size_t cb_head(uint8_t *o, unsigned major, uint64_t v)
{
    uint8_t m = (uint8_t)(major << 5);
    if (v < 24) return o[0] = (uint8_t)(m | v), 1;
    if (v <= 0xff) return o[0] = m | 24, o[1] = (uint8_t)v, 2;
    if (v <= 0xffff) return o[0] = m | 25, veil_put_u16(o + 1, (uint16_t)v), 3;
    return o[0] = m | 26, veil_put_u32(o + 1, (uint32_t)v), 5;
}

static size_t cb_str(uint8_t *o, unsigned major, const void *p, size_t n)
{
    size_t h = cb_head(o, major, n);
    memcpy(o + h, p, n);
    return h + n;
}

static void spki_sha256(EVP_PKEY *k, uint8_t out[32])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    assert_true(n > 0);
    veil_sha256(out, der, (size_t)n);
    OPENSSL_free(der);
}

/* A certificate for `key` built from the recipe. */
static X509 *forge_cert(EVP_PKEY *key, const recipe *r)
{
    uint8_t claims[512], ext[RATLS_EVIDENCE_MAX + 64], rd[64], quote[TEE_QUOTE_MAX_LEN + 16];
    size_t cl = 0, el = 0, ql = 0;
    if (r->raw_claims) {
        memcpy(claims, r->raw_claims, r->raw_claims_len);
        cl = r->raw_claims_len;
    } else {
        uint8_t hash[64] = {0};
        EVP_PKEY *hk = r->other_key ? EVP_EC_gen("P-256") : key;
        spki_sha256(hk, hash);
        if (r->other_key) EVP_PKEY_free(hk);
        cl += cb_head(claims + cl, 5, r->nonce ? 2 : 1);
        if (r->nonce) {
            cl += cb_str(claims + cl, 3, "nonce", 5);
            cl += cb_str(claims + cl, 2, r->nonce, r->nonce_len);
        }
        cl += cb_str(claims + cl, 3, "pubkey-hash", 11);
        cl += cb_head(claims + cl, 4, 2);
        cl += cb_head(claims + cl, 0, r->hash_alg ? r->hash_alg : 1);
        cl += cb_str(claims + cl, 2, hash, r->hash_len ? r->hash_len : 32);
    }
    memset(rd, 0, sizeof rd);
    if (r->rd_other_claims) {
        uint8_t other[8] = {0xa0};
        veil_sha256(rd, other, 1);
    } else {
        veil_sha256(rd, claims, cl);
    }
    if (r->rd_second_half) rd[40] = 1;
    tee_enclave *q = r->quoter ? r->quoter : g_fake;
    assert_int_equal(tee_enclave_call(q, TE_QUOTE, rd, sizeof rd, quote, TEE_QUOTE_MAX_LEN, &ql),
                     VEIL_OK);
    if (r->quote_truncate) ql -= 10;
    if (r->quote_flip_sig) quote[100] ^= 1; /* inside the signed report body */
    if (r->oversized) ql = TEE_QUOTE_MAX_LEN + 1;
    if (r->raw_ext) {
        memcpy(ext, r->raw_ext, r->raw_ext_len);
        el = r->raw_ext_len;
    } else {
        if (r->nonminimal_tag) {
            ext[el++] = 0xda; /* tag in a 4-byte head */
            veil_put_u32(ext + el, RATLS_CBOR_TAG_EVIDENCE);
            el += 4;
        } else {
            el += cb_head(ext + el, 6, r->tag ? r->tag : RATLS_CBOR_TAG_EVIDENCE);
        }
        el += cb_head(ext + el, 4, r->array3 ? 3 : 2);
        if (r->indefinite_quote) {
            ext[el++] = 0x5f; /* indefinite byte string: one chunk, then break */
            el += cb_str(ext + el, 2, quote, ql);
            ext[el++] = 0xff;
        } else {
            el += cb_str(ext + el, r->quote_as_text ? 3 : 2, quote, ql);
        }
        el += cb_str(ext + el, 2, claims, cl);
        if (r->array3) el += cb_head(ext + el, 0, 0);
        if (r->trailing) ext[el++] = 0x00;
    }

    X509 *x = X509_new();
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"forged", -1, -1,
                               0);
    X509_set_issuer_name(x, nm);
    X509_gmtime_adj(X509_getm_notBefore(x), r->not_before ? r->not_before : -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), r->not_after ? r->not_after : 3600);
    assert_int_equal(X509_set_pubkey(x, key), 1);
    for (int i = 0; !r->no_ext && i < (r->duplicate_ext ? 2 : 1); i++) {
        ASN1_OBJECT *oid = OBJ_txt2obj(RATLS_EVIDENCE_OID, 1);
        ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(v, ext, (int)el);
        X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, oid, r->critical ? 1 : 0, v);
        assert_int_equal(X509_add_ext(x, e, -1), 1);
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(v);
        ASN1_OBJECT_free(oid);
    }
    if (r->bad_self_sig) {
        EVP_PKEY *other = EVP_EC_gen("P-256");
        assert_true(X509_sign(x, other, EVP_sha256()) > 0);
        EVP_PKEY_free(other);
    } else {
        assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    }
    return x;
}

/* The policy that accepts the fake enclave (so every refusal below is the forgery's). */
static ratls_policy fake_policy(void)
{
    ratls_policy p = {0};
    p.mrsigner = g_fake_id.mrsigner;
    p.mrenclave = g_fake_id.mrenclave;
    p.has_prodid = 1;
    p.prodid = g_fake_id.prodid;
    p.has_min_svn = 1;
    p.min_svn = g_fake_id.svn;
    dcap_policy_default(&p.tcb);
    p.collateral_path = g_root_a;
    return p;
}

enum policy_tweak { PT_NONE, PT_SIGNER, PT_PRODID, PT_SVN, PT_TCB, PT_MRENCLAVE, PT_ROOT_B };

typedef struct forgery {
    const char *name;
    recipe r;
    enum policy_tweak tweak;
    veil_status want;
} forgery;

static void test_forgery_suite(void **state)
{
    (void)state;
    static const uint8_t nonce_a[32] = {1, 2, 3}, nonce_b[32] = {9, 9, 9};
    /* Claims variants, hand-made. */
    uint8_t h32[32] = {0};
    static const uint8_t not_a_map[] = {0x82, 0x01, 0x02};
    static const uint8_t no_hash[] = {0xa1, 0x65, 'n', 'o', 'n', 'c', 'e', 0x41, 0x01};
    static const uint8_t unknown_key[] = {0xa1, 0x63, 'f', 'o', 'o', 0x01};
    uint8_t dup_key[100], bad_order[100], empty_nonce[100];
    size_t dl = 0, bl = 0, en = 0;
    dl += cb_head(dup_key, 5, 2);
    for (int i = 0; i < 2; i++) {
        dl += cb_str(dup_key + dl, 3, "pubkey-hash", 11);
        dl += cb_head(dup_key + dl, 4, 2);
        dl += cb_head(dup_key + dl, 0, 1);
        dl += cb_str(dup_key + dl, 2, h32, 32);
    }
    bl += cb_head(bad_order, 5, 2);
    bl += cb_str(bad_order + bl, 3, "pubkey-hash", 11);
    bl += cb_head(bad_order + bl, 4, 2);
    bl += cb_head(bad_order + bl, 0, 1);
    bl += cb_str(bad_order + bl, 2, h32, 32);
    bl += cb_str(bad_order + bl, 3, "nonce", 5);
    bl += cb_str(bad_order + bl, 2, nonce_a, 8);
    en += cb_head(empty_nonce, 5, 2);
    en += cb_str(empty_nonce + en, 3, "nonce", 5);
    en += cb_head(empty_nonce + en, 2, 0);
    en += cb_str(empty_nonce + en, 3, "pubkey-hash", 11);
    en += cb_head(empty_nonce + en, 4, 2);
    en += cb_head(empty_nonce + en, 0, 1);
    en += cb_str(empty_nonce + en, 2, h32, 32);
    static const uint8_t not_cbor[] = {0xff};
    static const uint8_t reserved_info[] = {0xd9, 0xea, 0x60, 0x9c};

    tee_enclave *debug = load_on(g_pa, IMG("test_enclave_debug"));
    tee_enclave *svn2 = load_on(g_pa, IMG("test_enclave_svn2"));

    const forgery cases[] = {
        {"genuine evidence (control)", {0}, PT_NONE, VEIL_OK},
        {"wrong signer", {0}, PT_SIGNER, VEIL_ERR_RATLS_MRSIGNER},
        {"wrong product id", {0}, PT_PRODID, VEIL_ERR_RATLS_PRODID},
        {"SVN below the minimum", {0}, PT_SVN, VEIL_ERR_RATLS_SVN},
        {"another image (MRENCLAVE)", {0}, PT_MRENCLAVE, VEIL_ERR_RATLS_MRENCLAVE},
        {"debug enclave", {.quoter = debug}, PT_NONE, VEIL_ERR_RATLS_DEBUG},
        {"platform TCB out of date", {0}, PT_TCB, VEIL_ERR_RATLS_TCB},
        {"another platform root", {.quoter = NULL}, PT_ROOT_B, VEIL_ERR_TEE_QUOTE_CHAIN},
        {"key not bound (another key's hash)", {.other_key = true}, PT_NONE,
         VEIL_ERR_RATLS_KEY_BINDING},
        {"report data over other claims", {.rd_other_claims = true}, PT_NONE,
         VEIL_ERR_RATLS_REPORT_DATA},
        {"report data second half not zero", {.rd_second_half = true}, PT_NONE,
         VEIL_ERR_RATLS_REPORT_DATA},
        {"expired certificate", {.not_before = -7200, .not_after = -3600}, PT_NONE,
         VEIL_ERR_RATLS_EXPIRED},
        {"certificate not yet valid", {.not_before = 3600, .not_after = 7200}, PT_NONE,
         VEIL_ERR_RATLS_EXPIRED},
        {"self-signature by another key", {.bad_self_sig = true}, PT_NONE,
         VEIL_ERR_RATLS_CERT_SIGNATURE},
        {"no evidence extension", {.no_ext = true}, PT_NONE, VEIL_ERR_RATLS_NO_EVIDENCE},
        {"duplicate extension", {.duplicate_ext = true}, PT_NONE, VEIL_ERR_RATLS_DUPLICATE_EXT},
        {"critical extension", {.critical = true}, PT_NONE, VEIL_ERR_RATLS_CRITICAL},
        {"wrong CBOR tag", {.tag = 60001}, PT_NONE, VEIL_ERR_RATLS_EVIDENCE_TAG},
        {"the old private tag", {.tag = 0x5645494C}, PT_NONE, VEIL_ERR_RATLS_EVIDENCE_TAG},
        {"trailing CBOR", {.trailing = true}, PT_NONE, VEIL_ERR_TRAILING},
        {"non-minimal tag head", {.nonminimal_tag = true}, PT_NONE,
         VEIL_ERR_RATLS_CBOR_NONCANONICAL},
        {"indefinite-length quote", {.indefinite_quote = true}, PT_NONE,
         VEIL_ERR_RATLS_CBOR_NONCANONICAL},
        {"reserved CBOR head", {.raw_ext = reserved_info, .raw_ext_len = sizeof reserved_info},
         PT_NONE, VEIL_ERR_RATLS_CBOR_NONCANONICAL},
        {"array of three", {.array3 = true}, PT_NONE, VEIL_ERR_RATLS_EVIDENCE_FORMAT},
        {"quote as a text string", {.quote_as_text = true}, PT_NONE,
         VEIL_ERR_RATLS_EVIDENCE_FORMAT},
        {"not CBOR at all", {.raw_ext = not_cbor, .raw_ext_len = 1}, PT_NONE,
         VEIL_ERR_RATLS_CBOR_NONCANONICAL},
        {"oversized quote", {.oversized = true}, PT_NONE, VEIL_ERR_RATLS_EVIDENCE_FORMAT},
        {"truncated quote", {.quote_truncate = true}, PT_NONE, VEIL_ERR_TEE_QUOTE_FORMAT},
        {"signed report body altered", {.quote_flip_sig = true}, PT_NONE,
         VEIL_ERR_TEE_QUOTE_SIGNATURE},
        {"claims not a map", {.raw_claims = not_a_map, .raw_claims_len = sizeof not_a_map},
         PT_NONE, VEIL_ERR_RATLS_CLAIMS},
        {"claims without pubkey-hash", {.raw_claims = no_hash, .raw_claims_len = sizeof no_hash},
         PT_NONE, VEIL_ERR_RATLS_CLAIMS},
        {"unknown claims key", {.raw_claims = unknown_key, .raw_claims_len = sizeof unknown_key},
         PT_NONE, VEIL_ERR_RATLS_CLAIMS},
        {"duplicate claims key", {.raw_claims = dup_key, .raw_claims_len = dl}, PT_NONE,
         VEIL_ERR_RATLS_CLAIMS},
        {"claims keys out of order", {.raw_claims = bad_order, .raw_claims_len = bl}, PT_NONE,
         VEIL_ERR_RATLS_CBOR_NONCANONICAL},
        {"empty nonce", {.raw_claims = empty_nonce, .raw_claims_len = en}, PT_NONE,
         VEIL_ERR_RATLS_CLAIMS},
        {"hash algorithm not SHA-256", {.hash_alg = 7}, PT_NONE, VEIL_ERR_RATLS_HASH_ALG},
        {"hash of the wrong length", {.hash_len = 20}, PT_NONE, VEIL_ERR_RATLS_HASH_ALG},
    };
    size_t n_refused = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const forgery *f = &cases[i];
        EVP_PKEY *k = EVP_EC_gen("P-256");
        assert_non_null(k);
        recipe r = f->r;
        if (f->tweak == PT_ROOT_B) r.quoter = g_fake_b;
        X509 *x = forge_cert(k, &r);
        ratls_policy p = fake_policy();
        uint8_t wrong[32];
        memset(wrong, 0x42, sizeof wrong);
        switch (f->tweak) {
        case PT_SIGNER: p.mrsigner = wrong, p.mrenclave = NULL; break;
        case PT_PRODID: p.prodid = (uint16_t)(g_fake_id.prodid + 1); break;
        case PT_SVN: p.min_svn = (uint16_t)(g_fake_id.svn + 1); break;
        case PT_TCB: p.collateral_path = g_root_a4; break;
        case PT_MRENCLAVE: p.mrenclave = wrong; break;
        default: break;
        }
        veil_status got = verify(x, &p);
        if (got != f->want)
            fail_msg("forgery \"%s\": got %s, want %s (%s)", f->name, veil_status_name(got),
                     veil_status_name(f->want), veil_error_detail());
        if (f->want != VEIL_OK) n_refused++;
        X509_free(x);
        EVP_PKEY_free(k);
    }
    assert_true(n_refused >= 30);

    /* Nonces (evidence after the handshake, ratls_verify_evidence). */
    EVP_PKEY *k = EVP_EC_gen("P-256");
    recipe r = {.nonce = nonce_a, .nonce_len = sizeof nonce_a};
    X509 *x = forge_cert(k, &r);
    const uint8_t *ev;
    size_t ev_len;
    {
        ASN1_OBJECT *oid = OBJ_txt2obj(RATLS_EVIDENCE_OID, 1);
        ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(X509_get_ext(x, X509_get_ext_by_OBJ(x, oid, -1)));
        ASN1_OBJECT_free(oid);
        ev = ASN1_STRING_get0_data(d);
        ev_len = (size_t)ASN1_STRING_length(d);
    }
    ratls_policy p = fake_policy();
    assert_status(ratls_verify_evidence(ev, ev_len, NULL, 0, x, &p, nonce_a, sizeof nonce_a, NULL), VEIL_OK);
    /* Replayed: evidence made for another client's nonce. */
    assert_status(ratls_verify_evidence(ev, ev_len, NULL, 0, x, &p, nonce_b, sizeof nonce_b, NULL),
                  VEIL_ERR_RATLS_NONCE);
    X509_free(x);
    /* Evidence without any nonce where one is expected. */
    recipe r0 = {0};
    x = forge_cert(k, &r0);
    {
        ASN1_OBJECT *oid = OBJ_txt2obj(RATLS_EVIDENCE_OID, 1);
        ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(X509_get_ext(x, X509_get_ext_by_OBJ(x, oid, -1)));
        ASN1_OBJECT_free(oid);
        ev = ASN1_STRING_get0_data(d);
        ev_len = (size_t)ASN1_STRING_length(d);
    }
    assert_status(ratls_verify_evidence(ev, ev_len, NULL, 0, x, &p, nonce_a, sizeof nonce_a, NULL),
                  VEIL_ERR_RATLS_NONCE);
    X509_free(x);
    EVP_PKEY_free(k);
    (void)svn2;
    unload(debug);
    unload(svn2);
}

/* The enclave's own certificates carry exactly the documented evidence layout. */
static void test_evidence_layout(void **state)
{
    (void)state;
    X509 *genuine = enclave_cert(g_main, (uint64_t)time(NULL));
    ASN1_OBJECT *oid = OBJ_txt2obj(RATLS_EVIDENCE_OID, 1);
    int i = X509_get_ext_by_OBJ(genuine, oid, -1);
    ASN1_OBJECT_free(oid);
    assert_true(i >= 0);
    assert_false(X509_EXTENSION_get_critical(X509_get_ext(genuine, i)));
    ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(X509_get_ext(genuine, i));
    const uint8_t *v = ASN1_STRING_get0_data(d);
    /* tag 60000 (0xd9 0xea 0x60), array(2), then a byte string with a 2-byte length. */
    assert_memory_equal(v, "\xd9\xea\x60\x82\x59", 5);
    ratls_evidence ev;
    assert_int_equal(ratls_evidence_decode(v, (size_t)ASN1_STRING_length(d), &ev), VEIL_OK);
    assert_null(ev.nonce);
    /* claims = {"pubkey-hash": [1, h]}: a1 6b "pubkey-hash" 82 01 58 20 h. */
    assert_int_equal(ev.claims_len, 1 + 12 + 1 + 1 + 2 + 32);
    assert_memory_equal(ev.claims, "\xa1\x6bpubkey-hash\x82\x01\x58\x20", 17);
    X509_free(genuine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_ok_and_policy),
        cmocka_unit_test(test_ias_policy),
        cmocka_unit_test(test_verify_identities),
        cmocka_unit_test(test_item1_same_signer_quote_refused),
        cmocka_unit_test(test_verify_validity),
        cmocka_unit_test(test_forgery_suite),
        cmocka_unit_test(test_evidence_layout),
        cmocka_unit_test(test_session_garbage),
        cmocka_unit_test(test_client_echo),
        cmocka_unit_test(test_openssl_s_client),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
