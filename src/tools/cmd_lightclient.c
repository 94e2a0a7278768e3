/* veil lightclient: CometBFT light-client verification for operators, with the same
 * verifier the enclaves run (docs/light-client.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "chain/cmt_time.h"
#include "common/hex.h"
#include "host/devchain/cmt_json.h"
#include "host/lightclient/lc_rpc.h"
#include "hostutil/fileio.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "trusted/cmt/cmt_hash.h"
#include "trusted/lightclient/lc.h"

#define MAX_WITNESSES LC_MAX_WITNESSES

static void usage(void)
{
    printf("usage: veil lightclient verify --rpc URL --trusted-height H --trusted-hash HEX\n"
           "                               --height N [--witness URL]... [options]\n\n"
           "Verifies the header at height N of the chain behind URL (a CometBFT RPC, or the\n"
           "dev chain's) from a header you trust, as CometBFT's light client does, with the\n"
           "verifier the enclaves run: the trusted header must have the trusted hash and\n"
           "a commit by more than 2/3 of its validators; then skipping verification\n"
           "(bisection: more than the trust level of the trusted validators, and more than\n"
           "2/3 of the new ones, must have signed) or, with --sequential, every header in\n"
           "between. Each witness must return the same header at N: a different header\n"
           "that also verifies is a fork and is refused (docs/light-client.md).\n"
           "  --rpc URL             the primary (e.g. http://127.0.0.1:26657)\n"
           "  --trusted-height H    a height you trust ...\n"
           "  --trusted-hash HEX    ... and its header hash (64 hex digits)\n"
           "  --height N            the height to verify (0: the latest)\n"
           "  --witness URL         another node of the chain to cross-check (up to %u)\n"
           "  --sequential          verify every header from H to N, each from the one\n"
           "                        before (adjacent verification)\n"
           "  --trusting-period D   how long a trusted header may be used (default 336h;\n"
           "                        units s, m, h)\n"
           "  --max-clock-drift D   how far in the future a header may be (default 10s)\n"
           "  --trust-level A/B     of the trusted validators (default 1/3; 1/3..1)\n"
           "  --json                one JSON object on stdout\n"
           "Exit status: 0 verified, 1 refused or failed, 2 usage.\n",
           MAX_WITNESSES);
}

typedef struct sources {
    const char *url[1 + MAX_WITNESSES];
} sources;

static veil_status fetch(void *ctx, unsigned source, int64_t height, lc_light_block *out)
{
    const sources *s = ctx;
    return lc_rpc_light_block(s->url[source], height, out);
}

static int refuse(bool json, const char *what, veil_status st)
{
    if (json) {
        json_t *o = json_pack("{s:b, s:s, s:i, s:s, s:s}", "verified", 0, "error",
                              veil_status_name(st), "code", (int)st, "message",
                              veil_status_str(st), "detail", veil_error_detail());
        char *t = json_dumps(o, JSON_COMPACT);
        if (t != NULL) puts(t);
        free(t);
        json_decref(o);
        return 1;
    }
    return cli_fail(what, st);
}

static int verify(int argc, char **argv)
{
    static const struct option opts[] = {{"rpc", required_argument, NULL, 'r'},
                                         {"trusted-height", required_argument, NULL, 'H'},
                                         {"trusted-hash", required_argument, NULL, 'x'},
                                         {"height", required_argument, NULL, 'n'},
                                         {"witness", required_argument, NULL, 'w'},
                                         {"sequential", no_argument, NULL, 's'},
                                         {"trusting-period", required_argument, NULL, 'p'},
                                         {"max-clock-drift", required_argument, NULL, 'd'},
                                         {"trust-level", required_argument, NULL, 'l'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    sources src = {{0}};
    unsigned n_witnesses = 0;
    uint64_t th = 0, target = UINT64_MAX, v;
    const char *hash_hex = NULL;
    bool sequential = false, json = false;
    lc_params p;
    lc_params_default(&p);
    int c;
    while ((c = getopt_long(argc, argv, "r:H:x:n:w:sp:d:l:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'r': src.url[0] = optarg; break;
        case 'H':
            if (!cli_parse_u64(optarg, INT64_MAX, &th) || th == 0)
                return cli_usage_error("--trusted-height must be a height >= 1");
            break;
        case 'x': hash_hex = optarg; break;
        case 'n':
            if (!cli_parse_u64(optarg, INT64_MAX, &v)) return cli_usage_error("--height must be a height");
            target = v;
            break;
        case 'w':
            if (n_witnesses == MAX_WITNESSES) return cli_usage_error("at most %u --witness", MAX_WITNESSES);
            src.url[++n_witnesses] = optarg;
            break;
        case 's': sequential = true; break;
        case 'p':
            if (!cli_parse_duration(optarg, &p.trusting_period_ns))
                return cli_usage_error("--trusting-period: a duration such as 336h, 90m, 30s");
            break;
        case 'd':
            if (!cli_parse_duration(optarg, &p.max_clock_drift_ns))
                return cli_usage_error("--max-clock-drift: a duration such as 10s");
            break;
        case 'l': {
            unsigned a, b;
            char tail;
            if (sscanf(optarg, "%u/%u%c", &a, &b, &tail) != 2 || b == 0 || a > b || 3ull * a < b)
                return cli_usage_error("--trust-level must be A/B between 1/3 and 1");
            p.trust_num = a;
            p.trust_den = b;
            break;
        }
        case 'j': json = true; break;
        case 'h': usage(); return 0;
        default: return cli_bad_option("lightclient verify", argv);
        }
    }
    uint8_t want[32];
    if (src.url[0] == NULL || th == 0 || hash_hex == NULL || target == UINT64_MAX || optind != argc)
        return cli_usage_error("lightclient verify needs --rpc, --trusted-height, --trusted-hash "
                               "and --height");
    if (veil_hex_decode_exact(want, 32, hash_hex, strlen(hash_hex)) != VEIL_OK)
        return cli_usage_error("--trusted-hash must be 64 hex digits");

    lc_light_block *trusted = calloc(1, sizeof *trusted), *u = calloc(1, sizeof *u);
    lc_light_block *scratch = calloc(LC_SCRATCH_BLOCKS, sizeof *scratch);
    int rc = 1;
    veil_status st;
    unsigned steps = 0;
    int64_t h;
    struct timespec t0, t1;
    cmt_timestamp now = cmt_time_now();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (trusted == NULL || u == NULL || scratch == NULL) {
        rc = refuse(json, "lightclient", VEIL_ERR_NOMEM);
        goto out;
    }
    if (target == 0) {
        if ((st = lc_rpc_latest_height(src.url[0], &h)) != VEIL_OK) {
            rc = refuse(json, src.url[0], st);
            goto out;
        }
        target = (uint64_t)h;
    }
    if (target <= th) {
        rc = cli_usage_error("--height must be above --trusted-height");
        goto out;
    }
    /* The trusted header: its hash, and its own validators' commit. */
    uint8_t got[32];
    st = lc_rpc_light_block(src.url[0], (int64_t)th, trusted);
    if (st == VEIL_OK) st = cmt_header_hash(&trusted->header, got);
    if (st == VEIL_OK && memcmp(got, want, 32) != 0) st = VEIL_ERR_LC_TRUST_HASH;
    if (st == VEIL_OK)
        st = lc_verify_commit_light(trusted->header.chain_id, &trusted->vals,
                                    &trusted->commit.block_id, trusted->header.height,
                                    &trusted->commit);
    if (st != VEIL_OK) {
        rc = refuse(json, "the trusted header", st);
        goto out;
    }
    if (sequential) {
        for (uint64_t k = th + 1; k <= target && st == VEIL_OK; k++) {
            st = lc_rpc_light_block(src.url[0], (int64_t)k, u);
            if (st == VEIL_OK) st = lc_verify(&trusted->header, &trusted->vals, u, &p, &now);
            steps++;
            if (st == VEIL_OK) memcpy(trusted, u, sizeof *u);
            else veil_error_detail_set("at height %llu", (unsigned long long)k);
        }
    } else {
        st = lc_rpc_light_block(src.url[0], (int64_t)target, u);
        if (st == VEIL_OK)
            st = lc_verify_to(trusted, u, &p, &now, fetch, &src, n_witnesses, scratch, &steps);
        if (st == VEIL_OK) memcpy(trusted, u, sizeof *u);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (st != VEIL_OK) {
        rc = refuse(json, "refused", st);
        goto out;
    }
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    char hash[65], app[2 * CMT_MAX_HASH_LEN + 1], when[CMT_TIME_STR_MAX] = "";
    st = cmt_header_hash(&trusted->header, got);
    veil_hex_encode(hash, got, 32);
    veil_hex_encode(app, trusted->header.app_hash.b, trusted->header.app_hash.len);
    if (cmt_time_format(&trusted->header.time, when) != VEIL_OK) when[0] = '\0';
    if (json) {
        json_t *o = json_pack("{s:b, s:s, s:I, s:s, s:s, s:s, s:i, s:i, s:f, s:s}", "verified", 1,
                              "chain_id", trusted->header.chain_id, "height",
                              (json_int_t)trusted->header.height, "hash", hash, "app_hash", app,
                              "time", when, "validators", (int)trusted->vals.n, "steps",
                              (int)steps, "ms", ms, "mode", sequential ? "sequential" : "skipping");
        char *t = json_dumps(o, JSON_COMPACT);
        if (t != NULL) puts(t);
        free(t);
        json_decref(o);
    } else {
        printf("verified %s height %lld: hash %s\n  app hash %s  time %s  validators %zu  "
               "(%u %s steps, %.1f ms)\n",
               trusted->header.chain_id, (long long)trusted->header.height, hash, app, when,
               trusted->vals.n, steps, sequential ? "sequential" : "skipping", ms);
    }
    rc = 0;
out:
    free(scratch);
    free(u);
    free(trusted);
    return rc;
}

int cmd_lightclient(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "verify") == 0) return verify(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage();
        return 0;
    }
    return cli_usage_error("lightclient: the subcommand is 'verify' (veil lightclient verify --help)");
}
