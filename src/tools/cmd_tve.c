/* veil tve: the transaction validation enclave service (docs/tve-protocol.md). */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/hex.h"
#include "host/tve/tve_server.h"
#include "host/tve/tve_service.h"
#include "hostutil/fileio.h"
#include "hostutil/log.h"
#include "tools/cli.h"
#include "tools/daemon.h"
#include "trusted/tve/tve_abi.h"
#include "veil/tve.pb-c.h"
#include "tools/commands.h"


static void usage(void)
{
    printf("usage: veil tve --listen ENDPOINT --home DIR [options]\n"
           "       veil tve init-key --home DIR --chain-id ID   (before genesis; --help)\n\n"
           "Runs the transaction validation enclave service: loads the TVE enclave,\n"
           "opens its sealed store (LMDB in DIR/tve.mdb) and answers the node's\n"
           "requests on a 0MQ REP socket (protocol: docs/tve-protocol.md).\n"
           "  --listen ENDPOINT  ipc://PATH or tcp://HOST:PORT\n"
           "  --home DIR         store directory (created 0700 if missing)\n"
           "  --threads N        verify-block worker threads (default: online CPUs)\n"
           "  --platform DIR     TEE platform directory (default $VEIL_PLATFORM_DIR, else\n"
           "                     ~/.veil/platform)\n"
           "  --enclave PATH     signed TVE enclave image (default: enclaves/%s\n"
           "                     next to the veil executable, i.e. the build's output)\n"
           "  --mrsigner HEX     refuse to start unless the enclave has this MRSIGNER\n"
           "  --mrenclave HEX    refuse to start unless the enclave has this MRENCLAVE\n"
           "  --min-svn N        refuse to start if the enclave's SVN is below N\n"
           "  --log LEVEL        per-request log lines on stderr: all (default), errors, none\n"
           DAEMON_HELP
           "SIGINT or SIGTERM stops the service after the request in progress.\n",
           TVE_ENCLAVE_IMAGE);
}

static bool parse_measurement(const char *hex, uint8_t out[TEE_MEASUREMENT_LEN])
{
    return veil_hex_decode_exact(out, TEE_MEASUREMENT_LEN, hex, strlen(hex)) == VEIL_OK;
}

static void tve_metrics(void *ctx)
{
    tve_server_metrics_register(ctx);
}

/* One request through the service, in-process; the decoded response (caller frees). */
static veil_status local_call(tve_service *svc, const Veil__Tve__Request *req,
                              Veil__Tve__Response **out)
{
    size_t n = veil__tve__request__get_packed_size(req), resp_len;
    uint8_t *buf = malloc(n ? n : 1), *resp = NULL;
    ENSURE(buf != NULL, VEIL_ERR_NOMEM);
    veil__tve__request__pack(req, buf);
    tve_request_info info;
    veil_status st = tve_service_handle(svc, buf, n, &resp, &resp_len, &info);
    free(buf);
    TRY(st);
    *out = veil__tve__response__unpack(NULL, resp_len, resp);
    free(resp);
    ENSURE(*out != NULL, VEIL_ERR_DECODE);
    if ((*out)->response_case == VEIL__TVE__RESPONSE__RESPONSE_ERROR) {
        st = (veil_status)(*out)->error->code;
        veil_error_detail_set("%s", (*out)->error->message ? (*out)->error->message : "");
        veil__tve__response__free_unpacked(*out, NULL);
        *out = NULL;
    }
    return st;
}

/* veil tve init-key: the designated validator's TVE draws the chain's epoch-0 key before
 * genesis and prints its commitment, which goes into the genesis as key_commitment; the
 * other validators' TVEs then start without a key (docs/tve-protocol.md, "Keys"). */
static int tve_init_key(int argc, char **argv)
{
    static const struct option opts[] = {{"home", required_argument, NULL, 'H'},
                                         {"chain-id", required_argument, NULL, 'c'},
                                         {"platform", required_argument, NULL, 'p'},
                                         {"enclave", required_argument, NULL, 'e'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    tve_service_config cfg = {0};
    const char *chain_id = NULL;
    char enclave[PATH_MAX] = "";
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "H:c:p:e:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'H': cfg.home = optarg; break;
        case 'c': chain_id = optarg; break;
        case 'p': cfg.platform_dir = optarg; break;
        case 'e': snprintf(enclave, sizeof enclave, "%s", optarg); break;
        case 'j': json = true; break;
        case 'h':
            printf("usage: veil tve init-key --home DIR --chain-id ID [--platform DIR]\n"
                   "                         [--enclave PATH] [--json]\n\n"
                   "Draws the chain's epoch-0 obfuscation key in this TVE before genesis (the\n"
                   "chain's designated validator does this once), seals it into the TVE's\n"
                   "store, and prints its commitment: put it in the genesis app_state as\n"
                   "key_commitment. Every other validator's TVE then starts without a key and\n"
                   "refuses confidential txs until it is given this one (docs/tve-protocol.md).\n"
                   "Refused for a store that is already initialised. The TVE daemon must not\n"
                   "be running on DIR.\n");
            return 0;
        default: return cli_bad_option("tve init-key", argv);
        }
    }
    if (cfg.home == NULL || chain_id == NULL || optind != argc)
        return cli_usage_error("tve init-key needs --home DIR and --chain-id ID");
    veil_status st;
    if (enclave[0] == '\0' &&
        (st = veil_enclave_image_path(TVE_ENCLAVE_IMAGE, enclave, sizeof enclave)) != VEIL_OK)
        return cli_fail("enclave image", st);
    cfg.enclave_path = enclave;
    cfg.threads = 1;
    tve_service *svc = NULL;
    if ((st = tve_service_open(&cfg, &svc)) != VEIL_OK) return cli_fail("tve", st);
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__StatusRequest sr = VEIL__TVE__STATUS_REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_STATUS;
    req.status = &sr;
    Veil__Tve__Response *r = NULL;
    int rc = 1;
    if ((st = local_call(svc, &req, &r)) != VEIL_OK) {
        rc = cli_fail("tve status", st);
        goto out;
    }
    if (r->status->initialized) {
        fprintf(stderr, "veil: tve init-key: %s is already initialised for chain '%s'; nothing "
                        "changed\n",
                cfg.home, r->status->chain_id);
        goto out;
    }
    veil__tve__response__free_unpacked(r, NULL);
    r = NULL;
    Veil__Tve__InitChainRequest ic = VEIL__TVE__INIT_CHAIN_REQUEST__INIT;
    ic.chain_id = (char *)chain_id;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_INIT_CHAIN;
    req.init_chain = &ic;
    if ((st = local_call(svc, &req, &r)) != VEIL_OK) {
        rc = cli_fail("tve init-key", st);
        goto out;
    }
    char hex[65];
    if (r->init_chain->key_commitment.len != 32) {
        rc = cli_fail("tve init-key", VEIL_ERR_TEE_ENCLAVE_FAULT);
        goto out;
    }
    veil_hex_encode(hex, r->init_chain->key_commitment.data, 32);
    if (json) {
        json_t *j = json_pack("{s:s, s:i, s:s}", "chain_id", chain_id, "key_epoch", 0,
                              "key_commitment", hex);
        json_dumpf(j, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(j);
    } else
        printf("key_commitment %s\n", hex);
    rc = 0;
out:
    if (r != NULL) veil__tve__response__free_unpacked(r, NULL);
    tve_service_close(svc);
    return rc;
}

int cmd_tve(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "init-key") == 0) return tve_init_key(argc - 1, argv + 1);
    static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
                                         {"home", required_argument, NULL, 'H'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"platform", required_argument, NULL, 'p'},
                                         {"enclave", required_argument, NULL, 'e'},
                                         {"mrsigner", required_argument, NULL, 's'},
                                         {"mrenclave", required_argument, NULL, 'm'},
                                         {"min-svn", required_argument, NULL, 'v'},
                                         {"log", required_argument, NULL, 'L'},
                                         DAEMON_LONG_OPTIONS,
        {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *listen = NULL;
    char enclave[PATH_MAX] = "";
    uint8_t mrsigner[TEE_MEASUREMENT_LEN], mrenclave[TEE_MEASUREMENT_LEN];
    tve_service_config cfg = {0};
    tve_log_level log = TVE_LOG_ALL;
    uint64_t v;
    int c;

    static daemon_ctx dm;
    int rc = 0;
    daemon_init(&dm, "tve");
    while ((c = getopt_long(argc, argv, "l:H:t:p:e:s:m:v:L:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            listen = optarg;
            break;
        case 'H':
            cfg.home = optarg;
            break;
        case 't':
            if (!cli_parse_u64(optarg, TVE_MAX_THREADS, &v) || v == 0)
                return cli_usage_error("--threads must be 1..%u", TVE_MAX_THREADS);
            cfg.threads = (unsigned)v;
            break;
        case 'p':
            cfg.platform_dir = optarg;
            break;
        case 'e':
            snprintf(enclave, sizeof enclave, "%s", optarg);
            break;
        case 's':
            if (!parse_measurement(optarg, mrsigner))
                return cli_usage_error("--mrsigner needs 64 hex digits");
            cfg.mrsigner = mrsigner;
            break;
        case 'm':
            if (!parse_measurement(optarg, mrenclave))
                return cli_usage_error("--mrenclave needs 64 hex digits");
            cfg.mrenclave = mrenclave;
            break;
        case 'v':
            if (!cli_parse_u64(optarg, UINT16_MAX, &v))
                return cli_usage_error("--min-svn must be 0..65535");
            cfg.check_min_svn = true;
            cfg.min_svn = (uint16_t)v;
            break;
        case 'L':
            if (strcmp(optarg, "all") == 0)
                log = TVE_LOG_ALL;
            else if (strcmp(optarg, "errors") == 0)
                log = TVE_LOG_ERRORS;
            else if (strcmp(optarg, "none") == 0)
                log = TVE_LOG_NONE;
            else
                return cli_usage_error("--log must be all, errors or none");
            break;
        case 'h':
            usage();
            return 0;
        default:
            if ((rc = daemon_other_option(&dm, c, optarg, "tve", argv)) != 0) return rc;
            break;
        }
    }
    if (listen == NULL || cfg.home == NULL || optind != argc)
        return cli_usage_error("tve needs --listen ENDPOINT and --home DIR");
    veil_status st;
    if (enclave[0] == '\0' && (st = veil_enclave_image_path(TVE_ENCLAVE_IMAGE, enclave, sizeof enclave)) != VEIL_OK)
        return cli_fail("enclave image", st);
    cfg.enclave_path = enclave;

    tve_service *svc = NULL;
    tve_server *srv = NULL;
    st = tve_service_open(&cfg, &svc);
    if (st == VEIL_ERR_TVE_IDENTITY) {
        fprintf(stderr, "veil: tve: refusing to start: %s: %s\n", enclave, veil_error_detail());
        return 1;
    }
    if (st != VEIL_OK) return cli_fail("tve", st);
    st = tve_server_bind(svc, listen, &srv);
    if (st != VEIL_OK) {
        tve_service_close(svc);
        return cli_fail("tve", st);
    }

    /* No SA_RESTART: a signal interrupts the poll, and the loop sees the flag. */
    daemon_signals(&dm);

    tee_identity id;
    char mre[65], mrs[65];
    tve_service_identity(svc, &id);
    veil_hex_encode(mre, id.mrenclave, sizeof id.mrenclave);
    veil_hex_encode(mrs, id.mrsigner, sizeof id.mrsigner);
    /* The one start-up line; tests and scripts wait for it (the socket is bound). */
    printf("tve: listening on %s mrenclave %s mrsigner %s last_height %llu threads %u\n", listen,
           mre, mrs, (unsigned long long)tve_service_last_height(svc), tve_service_threads(svc));
    fflush(stdout);
    if ((st = daemon_ready(&dm, tve_metrics, svc)) != VEIL_OK) {
        tve_server_close(srv);
        tve_service_close(svc);
        return cli_fail(dm.pid_file, st);
    }

    st = tve_server_run(srv, log, &dm.stop);
    tve_server_close(srv);
    tve_service_close(svc);
    daemon_stopped(&dm);
    if (st != VEIL_OK) return cli_fail("tve", st);
    return 0;
}
