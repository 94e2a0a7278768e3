/* The dev chain RPC's rendering of ABCI results and chain state snapshots in CometBFT's
 * JSON shapes (rpc_methods.c has the methods). */
#include <stdlib.h>
#include <string.h>

#include "host/devchain/chain_internal.h"
#include "trusted/cmt/cmt_hash.h"
#include "host/devchain/cmt_json.h"
#include "hostutil/fileio.h"

#define OBJ(...) cmt_json_obj(__VA_ARGS__, NULL)

/* ---- rendering of ABCI types ------------------------------------------------------------------ */

json_t *rpc_b64pb(ProtobufCBinaryData b) { return cmt_json_b64(b.data, b.len); }

json_t *rpc_events_json(Tendermint__Abci__Event **ev, size_t n, bool null_if_empty)
{
    if (n == 0 && null_if_empty) return json_null();
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        json_t *attrs = json_array();
        for (size_t k = 0; attrs != NULL && k < ev[i]->n_attributes; k++) {
            const Tendermint__Abci__EventAttribute *a = ev[i]->attributes[k];
            json_t *o = OBJ("key", cmt_json_text(a->key), "value", cmt_json_text(a->value),
                            "index", json_boolean(a->index));
            if (o == NULL || json_array_append_new(attrs, o) != 0) {
                json_decref(attrs);
                attrs = NULL;
            }
        }
        json_t *e = OBJ("type", cmt_json_text(ev[i]->type), "attributes", attrs);
        if (e == NULL || json_array_append_new(arr, e) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

json_t *rpc_exec_result_json(const Tendermint__Abci__ExecTxResult *r)
{
    if (r == NULL) {
        static const Tendermint__Abci__ExecTxResult empty = TENDERMINT__ABCI__EXEC_TX_RESULT__INIT;
        r = &empty;
    }
    return OBJ("code", json_integer(r->code), "data", rpc_b64pb(r->data), "log", cmt_json_text(r->log),
               "info", cmt_json_text(r->info), "gas_wanted", cmt_json_i64(r->gas_wanted),
               "gas_used", cmt_json_i64(r->gas_used), "events",
               rpc_events_json(r->events, r->n_events, false), "codespace",
               cmt_json_text(r->codespace));
}

json_t *rpc_check_tx_json(const Tendermint__Abci__ResponseCheckTx *r)
{
    return OBJ("code", json_integer(r->code), "data", rpc_b64pb(r->data), "log", cmt_json_text(r->log),
               "info", cmt_json_text(r->info), "gas_wanted", cmt_json_i64(r->gas_wanted),
               "gas_used", cmt_json_i64(r->gas_used), "events",
               rpc_events_json(r->events, r->n_events, false), "codespace",
               cmt_json_text(r->codespace));
}

json_t *rpc_validator_updates_json(Tendermint__Abci__ValidatorUpdate **v, size_t n)
{
    if (n == 0) return json_null();
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        json_t *pk = json_null();
        if (v[i]->pub_key != NULL &&
            v[i]->pub_key->sum_case == TENDERMINT__CRYPTO__PUBLIC_KEY__SUM_ED25519) {
            json_decref(pk);
            /* cmtjson's rendering of the crypto.PublicKey oneof. */
            pk = OBJ("Sum", OBJ("type", json_string("tendermint.crypto.PublicKey_Ed25519"),
                                "value", OBJ("ed25519", rpc_b64pb(v[i]->pub_key->ed25519))));
        }
        json_t *o = OBJ("pub_key", pk, "power", cmt_json_i64(v[i]->power));
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

json_t *rpc_params_json(const Tendermint__Types__ConsensusParams *p)
{
    if (p == NULL) return json_null();
    json_t *block = json_null(), *evidence = json_null(), *validator = json_null(),
           *version = json_null(), *abci = json_null();
    if (p->block) {
        json_decref(block);
        block = OBJ("max_bytes", cmt_json_i64(p->block->max_bytes), "max_gas",
                    cmt_json_i64(p->block->max_gas));
    }
    if (p->evidence) {
        int64_t ns = 0;
        if (p->evidence->max_age_duration)
            ns = p->evidence->max_age_duration->seconds * 1000000000 +
                 p->evidence->max_age_duration->nanos;
        json_decref(evidence);
        evidence = OBJ("max_age_num_blocks", cmt_json_i64(p->evidence->max_age_num_blocks),
                       "max_age_duration", cmt_json_i64(ns), "max_bytes",
                       cmt_json_i64(p->evidence->max_bytes));
    }
    if (p->validator) {
        json_t *types = json_array();
        for (size_t i = 0; types != NULL && i < p->validator->n_pub_key_types; i++)
            if (json_array_append_new(types, cmt_json_text(p->validator->pub_key_types[i])) != 0) {
                json_decref(types);
                types = NULL;
            }
        json_decref(validator);
        validator = OBJ("pub_key_types", types);
    }
    if (p->version) {
        json_decref(version);
        version = OBJ("app", cmt_json_u64(p->version->app));
    }
    if (p->abci) {
        json_decref(abci);
        abci = OBJ("vote_extensions_enable_height",
                   cmt_json_i64(p->abci->vote_extensions_enable_height));
    }
    return OBJ("block", block, "evidence", evidence, "validator", validator, "version", version,
               "abci", abci);
}

/* ---- chain state snapshots ---------------------------------------------------------------------- */


void rpc_take_snapshot(devchain *dc, snapshot *s)
{
    pthread_mutex_lock(&dc->mu);
    s->st = dc->st;
    s->last_header = dc->last_header;
    s->first_header = dc->first_header;
    s->last_block_id = dc->last_block_id;
    s->first_block_id = dc->first_block_id;
    s->published = dc->published;
    pthread_mutex_unlock(&dc->mu);
}

int64_t rpc_base_height(const snapshot *s) { return s->st.last_height ? s->st.initial_height : 0; }

/* rpc/core getHeight: a missing height means the latest (latest + 1 for the
 * validators, which CometBFT already knows for the height being decided). */
veil_status rpc_resolve_height_upto(const snapshot *s, const rpc_args *a, size_t i,
                                       int64_t latest, int64_t *out, rpc_error *err)
{
    if (!a->present[i]) {
        *out = latest;
        return VEIL_OK;
    }
    int64_t h = a->i64[i];
    if (h <= 0) return rpc_internal(err, "height must be greater than 0, but got %lld", (long long)h);
    if (h > latest)
        return rpc_internal(err,
                        "height %lld must be less than or equal to the current blockchain height "
                        "%lld",
                        (long long)h, (long long)latest);
    if (h < rpc_base_height(s))
        return rpc_internal(err, "height %lld is not available, lowest height is %lld", (long long)h,
                        (long long)rpc_base_height(s));
    *out = h;
    return VEIL_OK;
}

veil_status rpc_resolve_height(const snapshot *s, const rpc_args *a, size_t i, int64_t *out,
                                  rpc_error *err)
{
    return rpc_resolve_height_upto(s, a, i, s->st.last_height, out, err);
}

veil_status rpc_load_results(devchain *dc, int64_t height,
                                Tendermint__Abci__ResponseFinalizeBlock **out, rpc_error *err)
{
    uint8_t *raw;
    size_t len;
    veil_status st = store_get(dc->store, STORE_RESULTS, height, &raw, &len);
    if (st != VEIL_OK) return rpc_internal(err, "could not find results for height #%lld", (long long)height);
    *out = tendermint__abci__response_finalize_block__unpack(NULL, len, raw);
    free(raw);
    if (*out == NULL) return rpc_internal(err, "stored results at height %lld do not decode", (long long)height);
    return VEIL_OK;
}

