/* veil tdbe: the transaction data bootstrapping enclave service (docs/tdbe.md). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "host/tdbe/tdbe_host.h"
#include "hostutil/fileio.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/daemon.h"
#include "trusted/tdbe/tdbe_abi.h"
#include "wallet/wallet.h"
#include "chain/node_records.h"

#include <jansson.h>
#include <sodium.h>

static void usage(void)
{
    printf("usage: veil tdbe --listen HOST:PORT --tve ENDPOINT --home DIR --collateral PATH\n"
           "                 --rpc URL [--trust-height H --trust-hash HEX] [--operator-key FILE]\n"
           "                 [--peer HOST:PORT]... [options]\n\n"
           "Runs the bootstrapping enclave service: peer TDBEs connect over mutually\n"
           "attested TLS 1.3 (terminated in the enclaves, each judging the other) to fetch\n"
           "the chain's obfuscation key from this platform's TVE; it serves only members,\n"
           "peers whose enclave key a node join bound to a staked, unjailed account (proven\n"
           "against an app hash its enclave's light client verified). While this TVE waits\n"
           "for the chain's key, the service fetches it from its peers, checks it against\n"
           "the chain's commitment and hands it to the TVE. While the TVE lags the verified\n"
           "chain, it fetches the blocks' sealed tx data from its peers, checks every tx\n"
           "against the chain and commits them to the TVE: the bootstrap (docs/tdbe.md).\n"
           "  --listen HOST:PORT  TCP address peers connect to (port 0: any)\n"
           "  --tve ENDPOINT      this platform's TVE (ipc://PATH or tcp://HOST:PORT)\n"
           "  --home DIR          state directory (created 0700; tdbe-cert.der)\n"
           "  --collateral PATH   collateral bundle peers' quotes are judged with (e.g. the\n"
           "                      simulated authority's collateral.json); its root must be\n"
           "                      the one this platform was provisioned under\n"
           "  --rpc URL           the node's RPC (CometBFT's or the dev chain's), for\n"
           "                      membership proofs and the node join\n"
           "  --join-rpc URL      where the node join goes (default: --rpc); a node that is\n"
           "                      still catching up needs a synced node's RPC here\n"
           "  --operator-key FILE this node's staking account: a 0600 file holding its\n"
           "                      wallet seed (64 hex digits). The TDBE joins it (a node\n"
           "                      join binding this enclave's key) and names it to peers;\n"
           "                      without it the service only serves\n"
           "  --validator-key FILE  with --operator-key: this node's CometBFT\n"
           "                      priv_validator_key.json; the node join names its\n"
           "                      consensus key, so the node becomes a validator with\n"
           "                      power bonded / %u (docs/node.md, \"Validators\")\n"
           "  --trust-height H    the light client's trust root for a first start: a\n"
           "  --trust-hash HEX    height and its header hash (64 hex digits); later starts\n"
           "                      resume from DIR/lc-state.sealed (docs/light-client.md)\n"
           "  --trusting-period D how long a verified header may be built on (default\n"
           "                      336h; units s, m, h)\n"
           "  --peer HOST:PORT    a peer TDBE to fetch the key from (repeatable, up to %u;\n"
           "                      tried in order)\n"
           "  --platform DIR      TEE platform directory (default $VEIL_PLATFORM_DIR, else\n"
           "                      ~/.veil/platform)\n"
           "  --enclave PATH      signed TDBE enclave image (default: enclaves/%s\n"
           "                      next to the veil executable)\n"
           "  --max-peers N       concurrent served connections (default 16)\n"
           "  --timeout SECONDS   idle timeout per connection (default 10)\n"
           "  --retry SECONDS     between rounds of asking peers (default 2)\n"
           "  --bootstrap-lag N   bootstrap when the TVE is more than N blocks behind the\n"
           "                      verified chain (default %u), or behind at all while it\n"
           "                      waits for a key\n"
           "  --no-bootstrap      never fetch tx data (still serves it)\n" DAEMON_HELP
           "SIGINT or SIGTERM stops the service once open connections end.\n",
           NODE_STAKE_PER_POWER, TDBE_MAX_PEERS, TDBE_ENCLAVE_IMAGE, TDBE_BOOTSTRAP_LAG);
}

/* The operator's staking account from its seed file (private, 64 hex digits). */
static veil_status operator_load(const char *path, tdbe_config *cfg)
{
    uint8_t seed[32];
    wallet_keys k;
    TRY(wallet_seed_file_read(path, seed));
    veil_status st = wallet_keys_from_seed(&k, seed);
    if (st == VEIL_OK) {
        memcpy(cfg->account, k.spend_pk, 32);
        memcpy(cfg->account_sk, k.spend_sk, 32);
        cfg->has_account = cfg->has_account_sk = true;
    }
    veil_wipe(&k, sizeof k);
    veil_wipe(seed, sizeof seed);
    return st;
}

/* CometBFT's priv_validator_key.json: {"pub_key": {"type": "tendermint/PubKeyEd25519",
 * "value": b64(32)}, "priv_key": {"type": "tendermint/PrivKeyEd25519", "value": b64(64)}}.
 * The private key's last 32 bytes must be the public key. */
static veil_status validator_load(const char *path, tdbe_config *cfg)
{
    TRY(veil_file_check_private(path));
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    const char *pt = json_string_value(json_object_get(json_object_get(j, "pub_key"), "type"));
    const char *pv = json_string_value(json_object_get(json_object_get(j, "pub_key"), "value"));
    const char *sv = json_string_value(json_object_get(json_object_get(j, "priv_key"), "value"));
    size_t pl = 0, sl = 0;
    veil_status st = VEIL_ERR_BAD_KEY;
    if (pt != NULL && strcmp(pt, "tendermint/PubKeyEd25519") == 0 && pv != NULL && sv != NULL &&
        sodium_base642bin(cfg->validator_pk, 32, pv, strlen(pv), NULL, &pl, NULL,
                          sodium_base64_VARIANT_ORIGINAL) == 0 &&
        sodium_base642bin(cfg->validator_sk, 64, sv, strlen(sv), NULL, &sl, NULL,
                          sodium_base64_VARIANT_ORIGINAL) == 0 &&
        pl == 32 && sl == 64 && memcmp(cfg->validator_sk + 32, cfg->validator_pk, 32) == 0) {
        cfg->has_validator = true;
        st = VEIL_OK;
    } else {
        veil_error_detail_set("not a CometBFT Ed25519 priv_validator_key.json%s%s",
                              j == NULL ? ": " : "", j == NULL ? e.text : "");
        veil_wipe(cfg->validator_sk, sizeof cfg->validator_sk);
    }
    json_decref(j);
    return st;
}

static void tdbe_metrics(void *ctx)
{
    (void)ctx;
    tdbe_metrics_register();
}

int cmd_tdbe(int argc, char **argv)
{
    static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
                                         {"tve", required_argument, NULL, 'T'},
                                         {"home", required_argument, NULL, 'H'},
                                         {"collateral", required_argument, NULL, 'C'},
                                         {"peer", required_argument, NULL, 'P'},
                                         {"platform", required_argument, NULL, 'p'},
                                         {"enclave", required_argument, NULL, 'e'},
                                         {"max-peers", required_argument, NULL, 'm'},
                                         {"timeout", required_argument, NULL, 't'},
                                         {"retry", required_argument, NULL, 'r'},
                                         {"rpc", required_argument, NULL, 'R'},
                                         {"operator-key", required_argument, NULL, 'k'},
                                         {"join-rpc", required_argument, NULL, 'J'},
                                         {"validator-key", required_argument, NULL, 'V'},
                                         {"bootstrap-lag", required_argument, NULL, 'B'},
                                         {"no-bootstrap", no_argument, NULL, 'N'},
                                         CLI_TRUST_LONG_OPTIONS,
                                         DAEMON_LONG_OPTIONS,
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char enclave[PATH_MAX] = "";
    const char *operator_key = NULL, *validator_key = NULL;
    tdbe_config cfg = {.bootstrap = true};
    uint64_t v;
    int c, rc;
    static daemon_ctx dm;
    daemon_init(&dm, "tdbe");
    while ((c = getopt_long(argc, argv, "l:T:H:C:P:p:e:m:t:r:R:k:J:V:B:Ny:x:g:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            cfg.listen = optarg;
            break;
        case 'T':
            cfg.tve_endpoint = optarg;
            break;
        case 'H':
            cfg.home = optarg;
            break;
        case 'C':
            cfg.collateral = optarg;
            break;
        case 'P':
            if (cfg.n_peers == TDBE_MAX_PEERS) return cli_usage_error("too many --peer");
            if (strchr(optarg, ':') == NULL) return cli_usage_error("--peer must be HOST:PORT");
            cfg.peers[cfg.n_peers++] = optarg;
            break;
        case 'p':
            cfg.platform_dir = optarg;
            break;
        case 'e':
            snprintf(enclave, sizeof enclave, "%s", optarg);
            break;
        case 'm':
            if (!cli_parse_u64(optarg, 1024, &v) || v == 0)
                return cli_usage_error("--max-peers must be 1..1024");
            cfg.max_peers = (unsigned)v;
            break;
        case 't':
            if (!cli_parse_u64(optarg, 3600, &v) || v == 0)
                return cli_usage_error("--timeout must be 1..3600 seconds");
            cfg.timeout_ms = (unsigned)v * 1000u;
            break;
        case 'r':
            if (!cli_parse_u64(optarg, 3600, &v) || v == 0)
                return cli_usage_error("--retry must be 1..3600 seconds");
            cfg.retry_ms = (unsigned)v * 1000u;
            break;
        case 'R':
            cfg.rpc = optarg;
            break;
        case 'k':
            operator_key = optarg;
            break;
        case 'J':
            cfg.join_rpc = optarg;
            break;
        case 'V':
            validator_key = optarg;
            break;
        case 'B':
            if (!cli_parse_u64(optarg, 1000000, &v) || v == 0)
                return cli_usage_error("--bootstrap-lag must be 1..1000000 blocks");
            cfg.bootstrap_lag = (unsigned)v;
            break;
        case 'N':
            cfg.bootstrap = false;
            break;
        case 'h':
            usage();
            return 0;
        default:
            if ((rc = cli_trust_option(c, optarg, &cfg.has_trust, &cfg.trust_height,
                                       cfg.trust_hash, &cfg.lc)) == CLI_TRUST_NOT_MINE)
                rc = daemon_other_option(&dm, c, optarg, "tdbe", argv);
            if (rc != 0) return rc;
            break;
        }
    }
    if (cfg.listen == NULL || cfg.tve_endpoint == NULL || cfg.home == NULL ||
        cfg.collateral == NULL || cfg.rpc == NULL || optind != argc)
        return cli_usage_error("tdbe needs --listen HOST:PORT, --tve ENDPOINT, --home DIR, "
                               "--collateral PATH and --rpc URL");
    veil_status st;
    if (operator_key != NULL && (st = operator_load(operator_key, &cfg)) != VEIL_OK)
        return cli_fail(operator_key, st);
    if ((rc = cli_trust_check(cfg.has_trust, cfg.trust_height)) != 0) return rc;
    if (validator_key != NULL && operator_key == NULL)
        return cli_usage_error("--validator-key needs --operator-key (the account that stakes)");
    if (validator_key != NULL && (st = validator_load(validator_key, &cfg)) != VEIL_OK)
        return cli_fail(validator_key, st);
    if (enclave[0] == '\0' &&
        (st = veil_enclave_image_path(TDBE_ENCLAVE_IMAGE, enclave, sizeof enclave)) != VEIL_OK)
        return cli_fail("enclave image", st);
    cfg.enclave_path = enclave;

    tdbe *t = NULL;
    if ((st = tdbe_open(&cfg, &t)) != VEIL_OK) return cli_fail("tdbe", st);
    daemon_signals(&dm);
    tee_identity id;
    char mre[65], mrs[65];
    tdbe_identity(t, &id);
    veil_hex_encode(mre, id.mrenclave, sizeof id.mrenclave);
    veil_hex_encode(mrs, id.mrsigner, sizeof id.mrsigner);
    /* The one start-up line; tests and scripts wait for it (the socket is bound). */
    printf("tdbe: listening on %s mrenclave %s mrsigner %s\n", tdbe_address(t), mre, mrs);
    fflush(stdout);
    if ((st = daemon_ready(&dm, tdbe_metrics, NULL)) != VEIL_OK) {
        tdbe_close(t);
        return cli_fail(dm.pid_file, st);
    }
    veil_wipe(cfg.account_sk, sizeof cfg.account_sk); /* the service keeps its own copy */
    veil_wipe(cfg.validator_sk, sizeof cfg.validator_sk);
    st = tdbe_run(t, &dm.stop);
    tdbe_close(t);
    daemon_stopped(&dm);
    if (st != VEIL_OK) return cli_fail("tdbe", st);
    return 0;
}
