/* CometBFT RPC client for the wallet (see wallet_rpc.h). */
#include "wallet/wallet_rpc.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "common/hex.h"
#include "chain/cmt_time.h"
#include "chain/node_tx.h"
#include "hostutil/fileio.h"
#include "hostutil/rpc_client.h"

#define RPC_MAX_BODY (64u * 1024u * 1024u)

veil_status wallet_rpc_init(wallet_rpc *r, const char *base_url)
{
    memset(r, 0, sizeof *r);
    size_t n = strlen(base_url);
    while (n > 0 && base_url[n - 1] == '/') n--;
    ENSURE(n > 0 && n < sizeof r->base, VEIL_ERR_ARG);
    if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0) {
        ENSURE(n + 7 < sizeof r->base, VEIL_ERR_ARG);
        snprintf(r->base, sizeof r->base, "http://%.*s", (int)n, base_url);
    } else {
        snprintf(r->base, sizeof r->base, "%.*s", (int)n, base_url);
    }
    r->timeout_s = 60;
    return VEIL_OK;
}

veil_status wallet_rpc_get(const wallet_rpc *r, const char *path_and_query, json_t **result)
{
    return veil_rpc_get(r->base, path_and_query, r->timeout_s * 1000L, RPC_MAX_BODY, result);
}

veil_status wallet_rpc_tip(void *ctx, uint64_t *height, uint64_t *time, char chain_id[static 65])
{
    const wallet_rpc *r = ctx;
    json_t *res;
    TRY(wallet_rpc_get(r, "status", &res));
    json_t *si = json_object_get(res, "sync_info");
    const char *h = json_string_value(json_object_get(si, "latest_block_height"));
    const char *t = json_string_value(json_object_get(si, "latest_block_time"));
    const char *net = json_string_value(json_object_get(json_object_get(res, "node_info"), "network"));
    cmt_timestamp ts;
    veil_status st = VEIL_OK;
    if (h == NULL || t == NULL || net == NULL || strlen(net) > 64 ||
        cmt_time_parse(t, &ts) != VEIL_OK || ts.seconds < 0) {
        veil_error_detail_set("RPC status: unexpected answer");
        st = VEIL_ERR_DECODE;
    } else {
        *height = strtoull(h, NULL, 10);
        *time = (uint64_t)ts.seconds;
        snprintf(chain_id, 65, "%s", net);
    }
    json_decref(res);
    return st;
}

static veil_status rpc_bloom(void *ctx, uint64_t height, veil_bloom *bloom, bool *present)
{
    const wallet_rpc *r = ctx;
    char q[64];
    snprintf(q, sizeof q, "block_results?height=%llu", (unsigned long long)height);
    json_t *res;
    TRY(wallet_rpc_get(r, q, &res));
    *present = false;
    veil_status st = VEIL_OK;
    json_t *events = json_object_get(res, "finalize_block_events"), *ev;
    size_t i, j;
    json_array_foreach(events, i, ev)
    {
        const char *type = json_string_value(json_object_get(ev, "type"));
        if (type == NULL || strcmp(type, "veil.block") != 0) continue;
        json_t *attrs = json_object_get(ev, "attributes"), *a;
        json_array_foreach(attrs, j, a)
        {
            const char *k = json_string_value(json_object_get(a, "key"));
            const char *v = json_string_value(json_object_get(a, "value"));
            if (k == NULL || v == NULL || strcmp(k, "bloom") != 0) continue;
            if (veil_hex_decode_exact(bloom->bits, sizeof bloom->bits, v, strlen(v)) != VEIL_OK) {
                veil_error_detail_set("block %llu: malformed bloom attribute",
                                      (unsigned long long)height);
                st = VEIL_ERR_DECODE;
            } else {
                *present = true;
            }
        }
    }
    json_decref(res);
    return st;
}

static veil_status rpc_txids(void *ctx, uint64_t height, const char *chain_id,
                             uint8_t (**txids)[32], size_t *n)
{
    const wallet_rpc *r = ctx;
    char q[64];
    snprintf(q, sizeof q, "block?height=%llu", (unsigned long long)height);
    json_t *res;
    TRY(wallet_rpc_get(r, q, &res));
    json_t *txs = json_object_get(json_object_get(json_object_get(res, "block"), "data"), "txs");
    size_t cnt = json_array_size(txs), i;
    veil_status st = VEIL_OK;
    uint8_t(*ids)[32] = calloc(cnt + 1, 32);
    node_chain_tx *ct = malloc(sizeof *ct);
    uint8_t *raw = malloc(NODE_CHAIN_TX_MAX);
    size_t k = 0;
    json_t *t;
    ENSURE_OUT(ids != NULL && ct != NULL && raw != NULL, VEIL_ERR_NOMEM);
    json_array_foreach(txs, i, t)
    {
        const char *b64 = json_string_value(t);
        size_t len;
        if (b64 == NULL ||
            sodium_base642bin(raw, NODE_CHAIN_TX_MAX, b64, strlen(b64), NULL, &len, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0)
            continue; /* not a tx the node would have accepted */
        if (node_chain_tx_decode(raw, len, chain_id, ct) != VEIL_OK) continue;
        if (ct->type != NODE_TX_CONFIDENTIAL) continue;
        memcpy(ids[k++], ct->wire.txid, 32);
    }
    *txids = ids;
    *n = k;
    ids = NULL;
out:
    free(ids);
    free(ct);
    free(raw);
    json_decref(res);
    return st;
}

void wallet_rpc_chain(wallet_rpc *r, wallet_chain *out)
{
    out->ctx = r;
    out->tip = wallet_rpc_tip;
    out->bloom = rpc_bloom;
    out->txids = rpc_txids;
}

static veil_status abci_query(const wallet_rpc *r, const char *path, uint8_t **value, size_t *len)
{
    return veil_rpc_abci_query(r->base, path, r->timeout_s * 1000L, value, len);
}

veil_status wallet_rpc_account(const wallet_rpc *r, const uint8_t addr[static 32],
                               Veil__Node__Account **out)
{
    char path[128], hex[65];
    veil_hex_encode(hex, addr, 32);
    snprintf(path, sizeof path, "/account/%s", hex);
    uint8_t *v = NULL;
    size_t n = 0;
    TRY(abci_query(r, path, &v, &n));
    *out = veil__node__account__unpack(NULL, n, v);
    free(v);
    ENSURE(*out != NULL, VEIL_ERR_DECODE);
    return VEIL_OK;
}

veil_status wallet_rpc_fee(const wallet_rpc *r, wallet_fee *fee)
{
    uint8_t *v = NULL;
    size_t n = 0;
    TRY(abci_query(r, "/params", &v, &n));
    Veil__Node__Params *p = veil__node__params__unpack(NULL, n, v);
    free(v);
    ENSURE(p != NULL, VEIL_ERR_DECODE);
    fee->fee_base = p->fee_base;
    fee->fee_per_byte = p->fee_per_byte;
    fee->exact = p->fee_rule == VEIL_TX_FEE_EXACT;
    veil__node__params__free_unpacked(p, NULL);
    return VEIL_OK;
}

veil_status wallet_rpc_broadcast(const wallet_rpc *r, const uint8_t *tx, size_t len,
                                 uint64_t *height, uint32_t *refused)
{
    if (refused != NULL) *refused = 0;
    ENSURE(len <= NODE_CHAIN_TX_MAX, VEIL_ERR_TOO_LARGE);
    size_t cap = 2 * len + 64;
    char *q = malloc(cap);
    ENSURE(q != NULL, VEIL_ERR_NOMEM);
    int off = snprintf(q, cap, "broadcast_tx_commit?tx=0x"); /* CometBFT's URI form */
    veil_hex_encode(q + off, tx, len);
    json_t *res;
    veil_status st = wallet_rpc_get(r, q, &res);
    free(q);
    TRY(st);
    json_t *check = json_object_get(res, "check_tx");
    json_t *txr = json_object_get(res, "tx_result");
    if (txr == NULL) txr = json_object_get(res, "deliver_tx");
    json_int_t ccode = json_integer_value(json_object_get(check, "code"));
    json_int_t dcode = json_integer_value(json_object_get(txr, "code"));
    if (ccode != 0 || dcode != 0) {
        const char *log = json_string_value(json_object_get(ccode != 0 ? check : txr, "log"));
        veil_error_detail_set("the node refused the tx (code %lld): %s",
                              (long long)(ccode != 0 ? ccode : dcode), log ? log : "");
        if (refused != NULL) *refused = (uint32_t)(ccode != 0 ? ccode : dcode);
        st = VEIL_ERR_NET;
    } else if (height != NULL) {
        const char *h = json_string_value(json_object_get(res, "height"));
        *height = h ? strtoull(h, NULL, 10) : 0;
    }
    json_decref(res);
    return st;
}
