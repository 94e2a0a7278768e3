/* Light blocks from a CometBFT RPC (lc_rpc.h). */
#include "host/lightclient/lc_rpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/devchain/cmt_json.h"
#include "host/lightclient/lc_json.h"
#include "hostutil/rpc_client.h"

#define RPC_TIMEOUT_MS 10000L
#define RPC_MAX_BODY (8u << 20)

veil_status lc_rpc_latest_height(const char *url, int64_t *height)
{
    json_t *r;
    TRY(veil_rpc_get(url, "status", RPC_TIMEOUT_MS, RPC_MAX_BODY, &r));
    veil_status st = cmt_json_get_i64(
        json_object_get(json_object_get(r, "sync_info"), "latest_block_height"), height);
    json_decref(r);
    return st == VEIL_OK ? VEIL_OK : VEIL_ERR_LC_MALFORMED;
}

veil_status lc_rpc_light_block(const char *url, int64_t height, lc_light_block *out)
{
    char q[96];
    json_t *r;
    snprintf(q, sizeof q, "commit?height=%lld", (long long)height);
    TRY(veil_rpc_get(url, q, RPC_TIMEOUT_MS, RPC_MAX_BODY, &r));
    veil_status st = lc_json_signed_header(json_object_get(r, "signed_header"), out);
    json_decref(r);
    TRY(st);
    /* Every page of the set, in order (100 per page, CometBFT's maximum). */
    out->vals.n = 0;
    for (int64_t page = 1;; page++) {
        snprintf(q, sizeof q, "validators?height=%lld&page=%lld&per_page=100", (long long)height,
                 (long long)page);
        TRY(veil_rpc_get(url, q, RPC_TIMEOUT_MS, RPC_MAX_BODY, &r));
        int64_t total = 0;
        lc_validator_set *part = malloc(sizeof *part);
        st = part != NULL ? VEIL_OK : VEIL_ERR_NOMEM;
        if (st == VEIL_OK && cmt_json_get_i64(json_object_get(r, "total"), &total) != VEIL_OK)
            st = VEIL_ERR_LC_MALFORMED;
        if (st == VEIL_OK) st = lc_json_validators(json_object_get(r, "validators"), part);
        if (st == VEIL_OK && (total > (int64_t)LC_MAX_VALIDATORS ||
                              out->vals.n + part->n > LC_MAX_VALIDATORS))
            st = VEIL_ERR_LC_VALSET_TOO_LARGE;
        if (st == VEIL_OK && part->n == 0 && (int64_t)out->vals.n < total) st = VEIL_ERR_LC_MALFORMED;
        if (st == VEIL_OK) {
            memcpy(&out->vals.v[out->vals.n], part->v, part->n * sizeof part->v[0]);
            memcpy(&out->vals.address[out->vals.n], part->address, part->n * CMT_ADDRESS_LEN);
            out->vals.n += part->n;
        }
        free(part);
        json_decref(r);
        TRY(st);
        if ((int64_t)out->vals.n >= total) return VEIL_OK;
    }
}
