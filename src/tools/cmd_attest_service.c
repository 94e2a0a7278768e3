/* veil attest-service and veil attest-proxy: the IAS-style attestation service and the
 * per-node proxy in front of it (docs/attestation.md, "The attestation service and its
 * proxy"). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "crypto/crypto.h"
#include "host/attest/ias_service.h"
#include "hostutil/fileio.h"
#include "hostutil/log.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/daemon.h"

static char *read_text(const char *path, veil_status *st)
{
    char *t = NULL;
    *st = veil_file_read_text(path, 256 * 1024, &t, NULL);
    return t;
}

static EVP_PKEY *read_key(const char *path, veil_status *st)
{
    char *pem = read_text(path, st);
    if (pem == NULL) return NULL;
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    veil_wipe(pem, strlen(pem));
    free(pem);
    if (k == NULL) {
        veil_error_detail_set("%s: not a PEM private key", path);
        *st = VEIL_ERR_MALFORMED;
    }
    return k;
}

static void wait_for_stop(daemon_ctx *dm)
{
    while (!dm->stop) pause();
}

int cmd_attest_service(int argc, char **argv)
{
    static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
                                         {"home", required_argument, NULL, 'H'},
                                         {"collateral", required_argument, NULL, 'c'},
                                         {"keys", required_argument, NULL, 'k'},
                                         {"names", required_argument, NULL, 'n'},
                                         {"max-connections", required_argument, NULL, 'm'},
                                         DAEMON_LONG_OPTIONS,
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *listen = NULL, *home = NULL, *coll_path = NULL, *keys_path = NULL, *names = NULL;
    uint64_t max_conn = 32;
    static daemon_ctx dm;
    int c, rc;
    daemon_init(&dm, "attest-service");
    while ((c = getopt_long(argc, argv, "l:H:c:k:n:m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': listen = optarg; break;
        case 'H': home = optarg; break;
        case 'c': coll_path = optarg; break;
        case 'k': keys_path = optarg; break;
        case 'n': names = optarg; break;
        case 'm':
            if (!cli_parse_u64(optarg, 1024, &max_conn) || max_conn == 0)
                return cli_usage_error("--max-connections must be 1..1024");
            break;
        case 'h':
            printf("usage: veil attest-service --listen HOST:PORT --home DIR --collateral PATH\n"
                   "                           --keys FILE [options]\n\n"
                   "Runs an attestation service with the API of Intel's IAS v4 over HTTPS:\n"
                   "POST /attestation/v4/report judges a quote (SGX ECDSA quote v3) with the\n"
                   "DCAP verifier against the collateral, now, and answers a report signed with\n"
                   "RSA-2048 (X-IASReport-Signature, X-IASReport-Signing-Certificate);\n"
                   "GET /attestation/v4/sigrl/GID answers an empty list. Every call needs an\n"
                   "Ocp-Apim-Subscription-Key from the keys file (docs/attestation.md).\n"
                   "  --listen HOST:PORT  address (an IPv4 or [IPv6] literal, or localhost;\n"
                   "                      port 0: any)\n"
                   "  --home DIR          keys and certificates, created on the first start\n"
                   "                      (0700): tls.crt (proxies pin it), report-root.crt\n"
                   "                      (verifiers pin it), their keys (0600)\n"
                   "  --collateral PATH   the collateral quotes are judged against (a bundle\n"
                   "                      file or a QVL directory)\n"
                   "  --keys FILE         accepted subscription keys, one per line (0600)\n"
                   "  --names LIST        extra DNS names or IPs of the TLS certificate (first\n"
                   "                      start only; localhost, 127.0.0.1 and ::1 are always in)\n"
                   "  --max-connections N concurrent connections (default 32)\n" DAEMON_HELP
                   "SIGINT or SIGTERM stops the service.\n");
            return 0;
        default:
            if ((rc = daemon_other_option(&dm, c, optarg, "attest-service", argv)) != 0) return rc;
            break;
        }
    }
    if (listen == NULL || home == NULL || coll_path == NULL || keys_path == NULL || optind != argc)
        return cli_usage_error(
            "attest-service needs --listen HOST:PORT, --home DIR, --collateral PATH and --keys FILE");
    veil_status st = ias_service_init_home(home, names);
    if (st != VEIL_OK) return cli_fail(home, st);
    char p[4][PATH_MAX];
    static const char *const f[4] = {IAS_TLS_CERT_FILE, IAS_TLS_KEY_FILE, IAS_SIGNING_CERT_FILE,
                                     IAS_ROOT_CERT_FILE};
    for (int i = 0; i < 4; i++)
        if (veil_path_join(p[i], sizeof p[i], home, f[i]) != VEIL_OK)
            return cli_usage_error("--home is too long");
    char sign_key_path[PATH_MAX];
    if (veil_path_join(sign_key_path, sizeof sign_key_path, home, IAS_SIGNING_KEY_FILE) != VEIL_OK)
        return cli_usage_error("--home is too long");
    attest_collateral *coll = NULL;
    char **keys = NULL, *tls_cert = NULL, *tls_key = NULL, *sign_cert = NULL, *root = NULL,
         *chain = NULL;
    size_t n_keys = 0;
    EVP_PKEY *sign_key = NULL;
    http_server *srv = NULL;
    rc = 1;
    if ((st = attest_collateral_load(coll_path, &coll)) != VEIL_OK) {
        rc = cli_fail(coll_path, st);
        goto out;
    }
    if ((st = ias_keys_load(keys_path, &keys, &n_keys)) != VEIL_OK) {
        rc = cli_fail(keys_path, st);
        goto out;
    }
    if ((st = veil_file_check_private(p[1])) != VEIL_OK ||
        (st = veil_file_check_private(sign_key_path)) != VEIL_OK ||
        (tls_cert = read_text(p[0], &st)) == NULL || (tls_key = read_text(p[1], &st)) == NULL ||
        (sign_cert = read_text(p[2], &st)) == NULL || (root = read_text(p[3], &st)) == NULL ||
        (sign_key = read_key(sign_key_path, &st)) == NULL) {
        rc = cli_fail(home, st);
        goto out;
    }
    chain = malloc(strlen(sign_cert) + strlen(root) + 1);
    if (chain == NULL) goto out;
    strcpy(chain, sign_cert);
    strcat(chain, root);
    ias_service svc = {.collateral = coll,
                       .report_key = sign_key,
                       .signing_chain_pem = chain,
                       .keys = (const char *const *)keys,
                       .n_keys = n_keys};
    http_server_config hc = {.addr = listen,
                             .max_body = IAS_REQUEST_MAX,
                             .max_connections = (unsigned)max_conn,
                             .tls_cert_pem = tls_cert,
                             .tls_key_pem = tls_key,
                             .handler = ias_service_handle,
                             .ctx = &svc};
    daemon_signals(&dm);
    if ((st = http_server_start(&hc, &srv)) != VEIL_OK) {
        rc = cli_fail(listen, st);
        goto out;
    }
    printf("attest-service: listening on https://%s port %u; report-signing root %s; TLS "
           "certificate %s\n",
           listen, (unsigned)http_server_port(srv), p[3], p[0]);
    fflush(stdout);
    if ((st = daemon_ready(&dm, NULL, NULL)) != VEIL_OK) {
        rc = cli_fail(dm.pid_file, st);
        goto out;
    }
    wait_for_stop(&dm);
    rc = 0;
    daemon_stopped(&dm);
out:
    http_server_stop(srv);
    attest_collateral_free(coll);
    if (keys != NULL) ias_keys_free(keys, n_keys);
    if (tls_key != NULL) veil_wipe(tls_key, strlen(tls_key));
    free(tls_key);
    free(tls_cert);
    free(sign_cert);
    free(root);
    free(chain);
    EVP_PKEY_free(sign_key);
    return rc;
}

int cmd_attest_proxy(int argc, char **argv)
{
    static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
                                         {"service", required_argument, NULL, 's'},
                                         {"service-ca", required_argument, NULL, 'C'},
                                         {"key-file", required_argument, NULL, 'k'},
                                         {"rate", required_argument, NULL, 'r'},
                                         {"burst", required_argument, NULL, 'b'},
                                         {"allow", required_argument, NULL, 'a'},
                                         {"timeout", required_argument, NULL, 't'},
                                         DAEMON_LONG_OPTIONS,
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *listen = "127.0.0.1:8441", *key_file = NULL;
    ias_proxy_config pc = {0};
    uint64_t v;
    static daemon_ctx dm;
    int c, rc;
    daemon_init(&dm, "attest-proxy");
    while ((c = getopt_long(argc, argv, "l:s:C:k:r:b:a:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': listen = optarg; break;
        case 's': pc.service_url = optarg; break;
        case 'C': pc.service_ca = optarg; break;
        case 'k': key_file = optarg; break;
        case 'a': pc.allow = optarg; break;
        case 'r':
            if (!cli_parse_u64(optarg, 100000, &v) || v == 0)
                return cli_usage_error("--rate must be 1..100000 requests per second");
            pc.rate_per_s = (double)v;
            break;
        case 'b':
            if (!cli_parse_u64(optarg, 100000, &v) || v == 0)
                return cli_usage_error("--burst must be 1..100000");
            pc.burst = (unsigned)v;
            break;
        case 't':
            if (!cli_parse_u64(optarg, 600, &v) || v == 0)
                return cli_usage_error("--timeout must be 1..600 seconds");
            pc.timeout_ms = (unsigned)v * 1000u;
            break;
        case 'h':
            printf("usage: veil attest-proxy --service https://HOST:PORT --service-ca FILE\n"
                   "                         --key-file FILE [options]\n\n"
                   "The node's attestation proxy: the only process that holds the subscription\n"
                   "key and reaches the attestation service. Local enclave hosts POST\n"
                   "/attestation/v4/report (and GET /attestation/v4/sigrl/GID) to it over plain\n"
                   "HTTP; it adds the key and forwards the call over HTTPS, pinning the\n"
                   "service's certificate, and relays the signed answer (docs/attestation.md).\n"
                   "  --listen HOST:PORT  where enclave hosts reach it (default 127.0.0.1:8441)\n"
                   "  --service URL       the attestation service, https://HOST:PORT\n"
                   "  --service-ca FILE   PEM the service's TLS certificate must chain to (its\n"
                   "                      tls.crt)\n"
                   "  --key-file FILE     the subscription key, first line (0600)\n"
                   "  --allow ADDRS       client IP addresses served, comma-separated (default:\n"
                   "                      loopback only); others get 403\n"
                   "  --rate N            forwarded calls per second (default 10), with\n"
                   "  --burst N           at most N at once (default 20); beyond: 429\n"
                   "  --timeout SECONDS   per forwarded call (default 10); a service that does\n"
                   "                      not answer gives 502\n" DAEMON_HELP
                   "SIGINT or SIGTERM stops the proxy.\n");
            return 0;
        default:
            if ((rc = daemon_other_option(&dm, c, optarg, "attest-proxy", argv)) != 0) return rc;
            break;
        }
    }
    if (pc.service_url == NULL || pc.service_ca == NULL || key_file == NULL || optind != argc)
        return cli_usage_error(
            "attest-proxy needs --service https://HOST:PORT, --service-ca FILE and --key-file FILE");
    char **keys = NULL;
    size_t n_keys = 0;
    veil_status st = ias_keys_load(key_file, &keys, &n_keys);
    if (st != VEIL_OK) return cli_fail(key_file, st);
    if (access(pc.service_ca, R_OK) != 0) {
        ias_keys_free(keys, n_keys);
        fprintf(stderr, "veil: attest-proxy: %s: cannot read\n", pc.service_ca);
        return 1;
    }
    pc.key = keys[0];
    ias_proxy *proxy = NULL;
    http_server *srv = NULL;
    rc = 1;
    if ((st = ias_proxy_new(&pc, &proxy)) != VEIL_OK) {
        rc = st == VEIL_ERR_USAGE ? cli_usage_error("%s", veil_error_detail()) : cli_fail("proxy", st);
        goto out;
    }
    http_server_config hc = {.addr = listen,
                             .max_body = IAS_REQUEST_MAX,
                             .max_connections = 32,
                             .handler = ias_proxy_handle,
                             .ctx = proxy};
    daemon_signals(&dm);
    if ((st = http_server_start(&hc, &srv)) != VEIL_OK) {
        rc = cli_fail(listen, st);
        goto out;
    }
    printf("attest-proxy: listening on http://%s port %u for %s; forwarding to %s\n", listen,
           (unsigned)http_server_port(srv), pc.allow != NULL ? pc.allow : "loopback clients",
           pc.service_url);
    fflush(stdout);
    if ((st = daemon_ready(&dm, NULL, NULL)) != VEIL_OK) {
        rc = cli_fail(dm.pid_file, st);
        goto out;
    }
    wait_for_stop(&dm);
    rc = 0;
    daemon_stopped(&dm);
out:
    http_server_stop(srv);
    ias_proxy_free(proxy);
    ias_keys_free(keys, n_keys);
    return rc;
}
