/* Proven chain state from the node's RPC (see tqe_chain.h). */
#include "host/tqe/tqe_chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "hostutil/fileio.h"
#include "hostutil/log.h"
#include "hostutil/rpc_client.h"
#include "trusted/state/smt_verify.h"
#include "trusted/tqe/tqe_state.h"

static veil_status key_path(const tqe_state_key *k, char *path, size_t cap)
{
    char hex[65];
    if (k->ns == VEIL_SMT_NS_PARAM && k->id_len == sizeof TQE_STATE_PARAMS_ID - 1 &&
        memcmp(k->id, TQE_STATE_PARAMS_ID, k->id_len) == 0) {
        snprintf(path, cap, "/params");
        return VEIL_OK;
    }
    ENSURE(k->id_len == 32, VEIL_ERR_MALFORMED);
    veil_hex_encode(hex, k->id, 32);
    if (k->ns == VEIL_SMT_NS_ACCOUNT)
        snprintf(path, cap, "/account/%s", hex);
    else if (k->ns == VEIL_SMT_NS_OUTPUT)
        snprintf(path, cap, "/output/%s", hex);
    else
        return VEIL_ERR_MALFORMED;
    return VEIL_OK;
}

/* One round: every key at whatever height the node answers; VEIL_ERR_OUT_OF_ORDER if the
 * answers are of different heights. */
static veil_status round_once(const char *rpc_url, long timeout_ms, const tqe_state_key *keys,
                              size_t n, uint8_t *out, size_t cap, size_t *out_len,
                              int64_t *height)
{
    veil_status st = tqe_state_answer_begin(1, out, cap, out_len); /* height set below */
    int64_t first = -1;
    for (size_t i = 0; st == VEIL_OK && i < n; i++) {
        char path[96];
        uint8_t *value = NULL, *proof = NULL;
        size_t vlen = 0, plen = 0;
        int64_t h = 0;
        st = key_path(&keys[i], path, sizeof path);
        if (st == VEIL_OK)
            st = veil_rpc_abci_proof(rpc_url, path, timeout_ms, &h, &value, &vlen, &proof, &plen);
        if (st == VEIL_OK && first >= 0 && h != first) st = VEIL_ERR_OUT_OF_ORDER;
        if (st == VEIL_OK) {
            first = h;
            st = tqe_state_answer_add(value, vlen, proof, plen, out, cap, out_len);
        }
        free(value);
        free(proof);
    }
    if (st == VEIL_OK) *height = first;
    return st;
}

veil_status tqe_chain_fetch(const char *rpc_url, long timeout_ms, const uint8_t *req,
                            size_t req_len, uint8_t *out, size_t cap, size_t *out_len,
                            int64_t *header_height)
{
    tqe_state_key keys[TQE_STATE_MAX_KEYS];
    size_t n = 0;
    TRY(tqe_state_request_decode(req, req_len, keys, &n));
    ENSURE(rpc_url != NULL, VEIL_ERR_TQE_UNAVAILABLE);
    veil_status st = VEIL_ERR_OUT_OF_ORDER;
    int64_t h = 0;
    for (int attempt = 0; attempt < 3 && st == VEIL_ERR_OUT_OF_ORDER; attempt++)
        st = round_once(rpc_url, timeout_ms, keys, n, out, cap, out_len, &h);
    if (st == VEIL_OK) {
        size_t ignored = 0;
        *header_height = h + 1;
        st = tqe_state_answer_begin(h + 1, out, cap, &ignored);
    }
    if (st != VEIL_OK) {
        veil_log(VEIL_LOG_WARN, "chain state for an order: %s (%s)%s%s", veil_status_str(st),
                 veil_status_name(st), veil_error_detail()[0] ? ": " : "", veil_error_detail());
        if (st != VEIL_ERR_MALFORMED && st != VEIL_ERR_BUFFER_TOO_SMALL) st = VEIL_ERR_TQE_UNAVAILABLE;
    }
    return st;
}
