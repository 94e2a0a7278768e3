/* Chain parameters and accounts from the node's RPC (see tqe_chain.h). */
#include "host/tqe/tqe_chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "common/hex.h"
#include "chain/cmt_time.h"
#include "hostutil/fileio.h"
#include "hostutil/rpc_client.h"
#include "veil/node.pb-c.h"

#define RPC_MAX_RESPONSE (1u << 20)

/* GET rpc_url/path; the JSON "result" object (new reference). A node that cannot be
 * reached makes the TQE unavailable, which is what the wallet is told. */
static veil_status rpc_get(const char *rpc_url, const char *path, json_t **result)
{
    veil_status st = veil_rpc_get(rpc_url, path, 10000L, RPC_MAX_RESPONSE, result);
    return st == VEIL_ERR_NET ? VEIL_ERR_TQE_UNAVAILABLE : st;
}

/* abci_query value (malloc'd); VEIL_ERR_NOT_FOUND on a non-zero code. */
static veil_status abci_query(const char *rpc_url, const char *path, uint8_t **value, size_t *len)
{
    veil_status st = veil_rpc_abci_query(rpc_url, path, 10000L, value, len);
    return st == VEIL_ERR_NET ? VEIL_ERR_TQE_UNAVAILABLE : st;
}

veil_status tqe_chain_params(const char *rpc_url, const char *chain_id, Veil__Tve__ChainParams *p,
                             char **chain_id_out)
{
    veil__tve__chain_params__init(p);
    *chain_id_out = NULL;
    if (rpc_url == NULL) {
        *chain_id_out = strdup(chain_id != NULL ? chain_id : "");
        ENSURE(*chain_id_out != NULL, VEIL_ERR_INTERNAL);
        p->chain_id = *chain_id_out;
        p->block_time = (uint64_t)time(NULL);
        p->fee_rule = VEIL__TVE__FEE_RULE__FEE_RULE_AT_LEAST;
        return VEIL_OK;
    }
    json_t *r = NULL;
    TRY(rpc_get(rpc_url, "status", &r));
    const char *net =
        json_string_value(json_object_get(json_object_get(r, "node_info"), "network"));
    const char *t = json_string_value(
        json_object_get(json_object_get(r, "sync_info"), "latest_block_time"));
    cmt_timestamp ts;
    veil_status st = (net != NULL && t != NULL) ? cmt_time_parse(t, &ts) : VEIL_ERR_DECODE;
    if (st == VEIL_OK) {
        *chain_id_out = strdup(net);
        if (*chain_id_out == NULL) st = VEIL_ERR_INTERNAL;
    }
    json_decref(r);
    TRY(st);
    p->chain_id = *chain_id_out;
    p->block_time = ts.seconds > 0 ? (uint64_t)ts.seconds : 0;

    uint8_t *v = NULL;
    size_t n = 0;
    st = abci_query(rpc_url, "/params", &v, &n);
    if (st == VEIL_OK) {
        Veil__Node__Params *np = veil__node__params__unpack(NULL, n, v);
        if (np == NULL) {
            st = VEIL_ERR_DECODE;
        } else {
            p->fee_base = np->fee_base;
            p->fee_per_byte = np->fee_per_byte;
            p->fee_rule = (Veil__Tve__FeeRule)np->fee_rule;
            veil__node__params__free_unpacked(np, NULL);
        }
    }
    free(v);
    if (st != VEIL_OK) {
        free(*chain_id_out);
        *chain_id_out = NULL;
    }
    return st;
}

veil_status tqe_chain_account(const char *rpc_url, const uint8_t addr[32],
                              Veil__Tve__AccountState *a, bool *found)
{
    *found = false;
    if (rpc_url == NULL) return VEIL_OK;
    char path[128], hex[65];
    veil_hex_encode(hex, addr, 32);
    snprintf(path, sizeof path, "/account/%s", hex);
    uint8_t *v = NULL;
    size_t n = 0;
    veil_status st = abci_query(rpc_url, path, &v, &n);
    if (st == VEIL_ERR_NOT_FOUND) return VEIL_OK;
    TRY(st);
    Veil__Node__Account *acc = veil__node__account__unpack(NULL, n, v);
    free(v);
    ENSURE(acc != NULL, VEIL_ERR_DECODE);
    a->bonded = acc->bonded;
    a->unbonded = acc->unbonded;
    a->unbonded_from = acc->unbonded_from;
    a->nonce = acc->nonce;
    a->jailed_until = acc->jailed_until;
    veil__node__account__free_unpacked(acc, NULL);
    *found = true;
    return VEIL_OK;
}
