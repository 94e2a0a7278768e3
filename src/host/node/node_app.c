/* The node's application logic (node_app.h; protocol and rules: docs/node.md): the app, genesis, commit and queries. */
#include "host/node/node_app_internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <time.h>

#include <sodium.h>

#include "common/cursor.h"
#include "common/hex.h"
#include "host/node/node_genesis.h"
#include "host/node/node_state.h"
#include "chain/node_tx.h"
#include "host/tve/tve_client.h"
#include "hostutil/fileio.h"
#include "hostutil/log.h"
#include "hostutil/metrics.h"
#include "hostutil/keymap.h"
#include "tee/tee.h"
#include "veil/node.pb-c.h"
#include "veil/tve.pb-c.h"



/* --- the app ---------------------------------------------------------------------- */

void node_log(node_app *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    veil_vlog_to(a->log, VEIL_LOG_INFO, fmt, ap);
    va_end(ap);
}

void node_hex8(char out[17], const uint8_t *p) { veil_hex_encode(out, p, 8); }

void node_result_set(node_tx_result *r, veil_status code, const char *detail)
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

void node_block_clear(node_app *a)
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
    node_block_clear(a);
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

/* --- genesis ---------------------------------------------------------------------- */
/* Identifies a genesis by what it says, not how it is spelled: CometBFT repeats
 * InitChain after a crash before block 1 with the genesis re-encoded, so app_state is
 * hashed in a canonical JSON form (compact, keys sorted) when it parses. */
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
    json_error_t je;
    json_t *j = len > 0 ? json_loadb((const char *)app_state, len, JSON_REJECT_DUPLICATES, &je)
                        : NULL;
    char *canon = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    if (canon != NULL) {
        b[0] = 1; /* canonical form */
        veil_sha256_update(&c, b, 1);
        veil_sha256_update(&c, canon, strlen(canon));
    } else {
        b[0] = 0; /* raw bytes (empty, or not JSON: refused later anyway) */
        veil_sha256_update(&c, b, 1);
        veil_sha256_update(&c, app_state, len);
    }
    free(canon);
    json_decref(j);
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
        /* The genesis commitment, if any, is the epoch-0 record it wrote. */
        node_key_epoch e0;
        bool found = false, keyless = false;
        st = node_state_epoch_get(a->st, false, 0, &e0, &found);
        const uint8_t *gc = st == VEIL_OK && found && e0.commitment_len == 32 ? e0.commitment : NULL;
        if (st == VEIL_OK) st = node_tve_init_chain(a, chain_id, gc, commitment, &keyless);
        if (st == VEIL_OK && !keyless && m->tve_key_commitment_len == 32 &&
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
    bool keyless = false;
    st = node_tve_init_chain(a, chain_id, g.has_key_commitment ? g.key_commitment : NULL,
                             commitment, &keyless);
    if (st != VEIL_OK) {
        snprintf(err, err_cap, "TVE init-chain: %s (%s)", veil_status_str(st), veil_error_detail());
        goto out;
    }
    if (keyless) {
        char h[17];
        node_hex8(h, g.key_commitment);
        node_log(a, "genesis names the chain's key (commitment %s...) and this node's TVE does "
                    "not hold it: it starts without a key and refuses confidential txs until it "
                    "is given that key (its TDBE fetches it from peers); a block with one waits for it",
                 h);
    } else if (g.has_key_commitment && memcmp(g.key_commitment, commitment, 32) != 0) {
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
    nm.tve_key_commitment_len = keyless ? 0 : 32;
    if (!keyless) memcpy(nm.tve_key_commitment, commitment, 32);
    TRY_OUT(node_state_commit(a->st, &nm, NULL, 0));
    memcpy(app_hash, nm.last_app_hash, 32);
    char h[17];
    node_hex8(h, app_hash);
    node_log(a, "genesis: chain %s, %zu accounts, app hash %s...", chain_id, g.n_accounts, h);
out:
    if (st != VEIL_OK) {
        node_state_rollback(a->st);
        if (err_cap && err[0] == '\0')
            snprintf(err, err_cap, "%s (%s)", veil_status_str(st), veil_error_detail());
    }
    node_genesis_free(&g);
    return st;
}

/* --- metrics (GET /metrics with --metrics) ------------------------------------------ */
veil_metric node_m_blocks = {.name = "veil_node_blocks_total", .help = "Blocks committed.",
                             .type = VEIL_METRIC_COUNTER};
veil_metric node_m_height = {.name = "veil_node_height", .help = "Last committed height.",
                             .type = VEIL_METRIC_GAUGE};
veil_metric node_m_txs = {.name = "veil_node_block_txs_total", .help = "Txs in committed blocks.",
                          .type = VEIL_METRIC_COUNTER};
veil_metric node_m_conf = {.name = "veil_node_confidential_txs_accepted_total",
                           .help = "Confidential txs the TVE accepted in committed blocks.",
                           .type = VEIL_METRIC_COUNTER};
veil_metric node_m_checktx = {.name = "veil_node_checktx_total", .help = "CheckTx calls answered.",
                              .type = VEIL_METRIC_COUNTER};
veil_metric node_m_checktx_refused = {.name = "veil_node_checktx_refused_total",
                                      .help = "CheckTx calls that refused the tx.",
                                      .type = VEIL_METRIC_COUNTER};
veil_metric node_m_recheck_public = {.name = "veil_node_recheck_public_only_total",
                                     .help = "Rechecks of transfers answered by the public "
                                             "checks alone (no TVE call).",
                                     .type = VEIL_METRIC_COUNTER};
veil_metric node_m_tve_us = {.name = "veil_node_tve_verify_microseconds_total",
                             .help = "Time waiting for the TVE's verify-tx and verify-block.",
                             .type = VEIL_METRIC_COUNTER};
veil_metric node_m_tve_n = {.name = "veil_node_tve_verify_requests_total",
                            .help = "verify-tx and verify-block requests sent to the TVE.",
                            .type = VEIL_METRIC_COUNTER};
veil_metric node_m_check_batches = {.name = "veil_node_checktx_batches_total",
                                    .help = "CHECK batches sent to the TVE for CheckTx requests "
                                            "that arrived together.",
                                    .type = VEIL_METRIC_COUNTER};
static uint64_t sample_decodes(void *ctx)
{
    (void)ctx;
    return veil_tx_wire_decodes();
}
static veil_metric node_m_decodes = {.name = "veil_node_tx_decodes_total",
                                     .help = "Wire txs whose public fields the node decoded (once "
                                             "per tx and ABCI phase that judges it).",
                                     .type = VEIL_METRIC_COUNTER, .sample = sample_decodes};

void node_app_metrics_register(void)
{
    veil_metric *all[] = {&node_m_blocks,  &node_m_height,          &node_m_txs,
                          &node_m_conf,    &node_m_checktx,         &node_m_checktx_refused,
                          &node_m_tve_us,  &node_m_tve_n,           &node_m_decodes,
                          &node_m_recheck_public, &node_m_check_batches};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) veil_metric_register(all[i]);
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
    veil_metric_add(&node_m_blocks, 1);
    veil_metric_set(&node_m_height, a->block_height);
    veil_metric_add(&node_m_txs, a->n_txs);
    veil_metric_add(&node_m_conf, a->n_accepted);
    char h[17];
    node_hex8(h, a->block_hash);
    node_log(a, "block %llu: %zu txs, %zu confidential accepted, app hash %s...",
         (unsigned long long)a->block_height, a->n_txs, a->n_accepted, h);
    /* The node's commit is durable; now the TVE's. If the TVE lost the block (it
     * restarted) or lags, replay from the record just written. */
    veil_status st = node_tve_commit_block(a, a->block_height, a->block_hash,
                                      (const uint8_t(*)[32])a->accepted, a->n_accepted, true,
                                      true);
    if (st != VEIL_OK) {
        node_log(a, "TVE commit of block %llu: %s; re-synchronising",
             (unsigned long long)a->block_height, veil_status_name(st));
        st = node_tve_sync(a, a->block_height);
    }
    node_block_clear(a);
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
