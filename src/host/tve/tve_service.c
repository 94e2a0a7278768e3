/* The TVE service: request decoding, the state machine, responses.
 *
 * One handler per request type (handle_*). Each reads the decoded request, checks the
 * service state, calls the enclave and fills a Response whose sub-messages live in a
 * per-request arena; tve_service_handle turns any handler error into an Error response,
 * so every frame gets exactly one reply. Rules and codes: docs/tve-protocol.md.
 */
#include "host/tve/tve_service.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "hostutil/fileio.h"
#include "hostutil/log.h"
#include "host/tve/tve_internal.h"
#include "hostutil/pb_arena.h"
#include "trusted/tve/tve_channel.h"
#include "trusted/tx/tx.h"

/* --- helpers ----------------------------------------------------------------------- */
Veil__Tve__Error *tve_error_new(veil_arena *a, veil_status st)
{
    Veil__Tve__Error *e = VEIL_ARENA_NEW(a, Veil__Tve__Error);
    if (e == NULL) return NULL;
    veil__tve__error__init(e);
    e->code = (uint32_t)st;
    /* Fixed texts only: nothing from the request or the enclave is echoed. */
    e->name = (char *)veil_status_name(st);
    e->message = (char *)veil_status_str(st);
    return e;
}

bool tve_txid_ok(const ProtobufCBinaryData *b)
{
    return b->len == TVE_TXID_LEN;
}

/* App hashes may be empty, and protobuf-c leaves empty bytes fields NULL. */
bool tve_app_hash_equal(const uint8_t *a, size_t a_len, const ProtobufCBinaryData *b)
{
    return a_len == b->len && (a_len == 0 || memcmp(a, b->data, a_len) == 0);
}

/* The request's ChainParams must be present and for this chain. */
veil_status tve_params_check(const tve_service *s, const Veil__Tve__ChainParams *p)
{
    ENSURE(p != NULL && p->chain_id != NULL, VEIL_ERR_MALFORMED);
    ENSURE(strcmp(p->chain_id, s->meta.chain_id) == 0, VEIL_ERR_TVE_CHAIN_MISMATCH);
    return VEIL_OK;
}

veil_status tve_require_initialized(const tve_service *s)
{
    ENSURE(s->meta.initialized, VEIL_ERR_TVE_NOT_INITIALIZED);
    return VEIL_OK;
}

/* --- enclave calls ----------------------------------------------------------------- */
static veil_status enclave_status(tve_service *s, veil_arena *a,
                                  Veil__Tve__Enclave__StatusResult **out)
{
    uint8_t buf[512];
    size_t len = 0;
    TRY(tee_enclave_call(s->enclave, TVE_E_STATUS, NULL, 0, buf, sizeof buf, &len));
    Veil__Tve__Enclave__StatusResult *r = veil__tve__enclave__status_result__unpack(NULL, len, buf);
    ENSURE(r != NULL, VEIL_ERR_TEE_ENCLAVE_FAULT);
    TRY(veil_arena_keep(a, &r->base));
    *out = r;
    return VEIL_OK;
}

veil_status tve_enclave_key_call(tve_service *s, uint32_t ecall, const ProtobufCMessage *call,
                                    Veil__Tve__Enclave__KeyResult **out)
{
    uint8_t in[TVE_KEY_OUT_MAX + 64], buf[TVE_KEY_OUT_MAX];
    size_t in_len = protobuf_c_message_get_packed_size(call), len = 0;
    ENSURE(in_len <= sizeof in, VEIL_ERR_TOO_LARGE);
    protobuf_c_message_pack(call, in);
    TRY(tee_enclave_call(s->enclave, ecall, in, in_len, buf, sizeof buf, &len));
    *out = veil__tve__enclave__key_result__unpack(NULL, len, buf);
    ENSURE(*out != NULL, VEIL_ERR_TEE_ENCLAVE_FAULT);
    return VEIL_OK;
}

/* --- status ------------------------------------------------------------------------ */
veil_status tve_handle_status(tve_service *s, veil_arena *a, Veil__Tve__Response *resp)
{
    Veil__Tve__Enclave__StatusResult *es;
    TRY(enclave_status(s, a, &es));
    Veil__Tve__StatusResponse *r = VEIL_ARENA_NEW(a, Veil__Tve__StatusResponse);
    ENSURE(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__status_response__init(r);
    r->mrenclave.data = s->identity.mrenclave;
    r->mrenclave.len = TEE_MEASUREMENT_LEN;
    r->mrsigner.data = s->identity.mrsigner;
    r->mrsigner.len = TEE_MEASUREMENT_LEN;
    r->prodid = s->identity.prodid;
    r->svn = s->identity.svn;
    r->debug = (s->identity.attributes & TEE_ATTR_DEBUG) != 0;
    r->initialized = s->meta.initialized;
    r->chain_id = s->meta.chain_id;
    r->key_epoch = es->has_key ? es->key_epoch : s->meta.key_epoch;
    r->key_commitment = es->key_commitment;
    r->last_height = s->meta.last_height;
    r->last_app_hash.data = s->meta.last_app_hash;
    r->last_app_hash.len = s->meta.last_app_hash_len;
    if (s->win_awaiting) {
        r->awaited_key_commitment.data = s->win_awaited_commitment;
        r->awaited_key_commitment.len = 32;
        r->awaited_key_epoch = s->win_awaited_epoch;
    } else if (s->meta.awaiting && !es->has_key) {
        r->awaited_key_commitment.data = s->meta.awaited_commitment;
        r->awaited_key_commitment.len = 32;
    }
    r->n_held_epochs = es->n_held_epochs;
    r->held_epochs = es->held_epochs;
    r->destroyed_below = es->destroyed_below;
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_STATUS;
    resp->status = r;
    return VEIL_OK;
}

/* --- init-chain -------------------------------------------------------------------- */
veil_status tve_handle_init_chain(tve_service *s, const Veil__Tve__InitChainRequest *req,
                                     veil_arena *a, Veil__Tve__Response *resp)
{
    size_t id_len = req->chain_id != NULL ? strlen(req->chain_id) : 0;
    ENSURE(id_len >= 1 && id_len <= TVE_CHAIN_ID_MAX, VEIL_ERR_MALFORMED);
    ENSURE(req->key_commitment.len == 0 || req->key_commitment.len == 32, VEIL_ERR_MALFORMED);
    bool chain_has_key = req->key_commitment.len == 32;
    Veil__Tve__InitChainResponse *r = VEIL_ARENA_NEW(a, Veil__Tve__InitChainResponse);
    ENSURE(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__init_chain_response__init(r);

    if (s->meta.initialized) {
        /* Idempotent: the node may resend init-chain after a crash of either side. */
        ENSURE(strcmp(req->chain_id, s->meta.chain_id) == 0, VEIL_ERR_TVE_CHAIN_MISMATCH);
        Veil__Tve__Enclave__StatusResult *es;
        TRY(enclave_status(s, a, &es));
        if (es->has_key) {
            r->key_epoch = es->key_epoch;
            r->key_commitment = es->key_commitment;
        } else {
            /* Keyless is only for a chain whose genesis names a key: one without a key
             * of its own would have none at all. */
            ENSURE(chain_has_key, VEIL_ERR_TVE_NO_KEY);
            r->key_epoch = 0;
        }
    } else {
        /* A chain whose genesis names a key had it drawn elsewhere (its designated
         * validator's TVE): this one never draws its own, and waits to be given the
         * chain's. Otherwise this TVE draws the chain's key. */
        const uint8_t *sealed = NULL;
        size_t sealed_len = 0;
        if (!chain_has_key) {
            Veil__Tve__Enclave__GenerateKeyCall call = VEIL__TVE__ENCLAVE__GENERATE_KEY_CALL__INIT;
            Veil__Tve__Enclave__KeyResult *kr;
            call.epoch = 0;
            TRY(tve_enclave_key_call(s, TVE_E_GENERATE_KEY, &call.base, &kr));
            TRY(veil_arena_keep(a, &kr->base));
            ENSURE(kr->epoch == 0 && kr->sealed_key.len > 0, VEIL_ERR_TEE_ENCLAVE_FAULT);
            sealed = kr->sealed_key.data;
            sealed_len = kr->sealed_key.len;
            r->key_commitment = kr->key_commitment;
        }
        /* The key exists only in enclave memory until this commit: a crash before it
         * leaves the store uninitialised and the node simply sends init-chain again. */
        TRY(tve_store_init_chain(s->store, req->chain_id, 0, sealed, sealed_len,
                                 chain_has_key ? req->key_commitment.data : NULL));
        s->meta.initialized = true;
        memcpy(s->meta.chain_id, req->chain_id, id_len + 1);
        s->meta.key_epoch = 0;
        s->meta.last_height = 0;
        s->meta.last_app_hash_len = 0;
        s->meta.awaiting = chain_has_key;
        if (chain_has_key) memcpy(s->meta.awaited_commitment, req->key_commitment.data, 32);
        r->key_epoch = 0;
    }
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_INIT_CHAIN;
    resp->init_chain = r;
    return VEIL_OK;
}

/* --- check-chain ------------------------------------------------------------------- */
veil_status tve_handle_check_chain(tve_service *s, const Veil__Tve__CheckChainRequest *req,
                                      veil_arena *a, Veil__Tve__Response *resp)
{
    const tve_store_meta *m = &s->meta;
    if (m->initialized)
        ENSURE(req->chain_id != NULL && strcmp(req->chain_id, m->chain_id) == 0,
               VEIL_ERR_TVE_CHAIN_MISMATCH);
    ENSURE(req->app_hash.len <= TVE_APP_HASH_MAX, VEIL_ERR_TOO_LARGE);
    Veil__Tve__CheckChainResponse *r = VEIL_ARENA_NEW(a, Veil__Tve__CheckChainResponse);
    ENSURE(r != NULL, VEIL_ERR_NOMEM);
    veil__tve__check_chain_response__init(r);

    if (req->height == m->last_height) {
        /* Height 0 has no app hash on our side to compare with. */
        if (req->height > 0)
            ENSURE(tve_app_hash_equal(m->last_app_hash, m->last_app_hash_len, &req->app_hash),
                   VEIL_ERR_TVE_APP_HASH_MISMATCH);
        r->verdict = VEIL__TVE__CHECK_CHAIN_RESPONSE__VERDICT__IN_SYNC;
    } else if (req->height > m->last_height) {
        r->verdict = VEIL__TVE__CHECK_CHAIN_RESPONSE__VERDICT__TVE_BEHIND;
    } else {
        /* The node is behind: its last block must be the one we committed at that
         * height, else the two sides have diverged. */
        if (req->height > 0) {
            tve_store_block b;
            TRY(tve_store_block_get(s->store, req->height, &b));
            bool same = tve_app_hash_equal(b.app_hash, b.app_hash_len, &req->app_hash);
            tve_store_block_free(&b);
            ENSURE(same, VEIL_ERR_TVE_APP_HASH_MISMATCH);
        }
        r->verdict = VEIL__TVE__CHECK_CHAIN_RESPONSE__VERDICT__NODE_BEHIND;
    }
    r->last_height = m->last_height;
    r->last_app_hash.data = s->meta.last_app_hash;
    r->last_app_hash.len = m->last_app_hash_len;
    resp->response_case = VEIL__TVE__RESPONSE__RESPONSE_CHECK_CHAIN;
    resp->check_chain = r;
    return VEIL_OK;
}

/* --- dispatch ---------------------------------------------------------------------- */
static const char *request_name(Veil__Tve__Request__RequestCase c)
{
    switch (c) {
    case VEIL__TVE__REQUEST__REQUEST_STATUS:
        return "status";
    case VEIL__TVE__REQUEST__REQUEST_INIT_CHAIN:
        return "init-chain";
    case VEIL__TVE__REQUEST__REQUEST_CHECK_CHAIN:
        return "check-chain";
    case VEIL__TVE__REQUEST__REQUEST_VERIFY_TX:
        return "verify-tx";
    case VEIL__TVE__REQUEST__REQUEST_VERIFY_BLOCK:
        return "verify-block";
    case VEIL__TVE__REQUEST__REQUEST_END_BLOCK:
        return "end-block";
    case VEIL__TVE__REQUEST__REQUEST_COMMIT_BLOCK:
        return "commit-block";
    case VEIL__TVE__REQUEST__REQUEST_GET_SEALED_TXS:
        return "get-sealed-txs";
    case VEIL__TVE__REQUEST__REQUEST_ENCRYPT:
        return "encrypt";
    case VEIL__TVE__REQUEST__REQUEST_HANDOFF:
        return "handoff";
    case VEIL__TVE__REQUEST__REQUEST_EXPORT_KEY:
        return "export-key";
    case VEIL__TVE__REQUEST__REQUEST_IMPORT_KEY:
        return "import-key";
    case VEIL__TVE__REQUEST__REQUEST_DRAW_KEY:
        return "draw-key";
    case VEIL__TVE__REQUEST__REQUEST_EXPORT_BLOCKS:
        return "export-blocks";
    case VEIL__TVE__REQUEST__REQUEST_IMPORT_BLOCKS:
        return "import-blocks";
    default:
        return "invalid";
    }
}

static veil_status service_dispatch(tve_service *s, const Veil__Tve__Request *req, veil_arena *a,
                                    Veil__Tve__Response *resp, size_t *n_items)
{
    switch (req->request_case) {
    case VEIL__TVE__REQUEST__REQUEST_STATUS:
        return tve_handle_status(s, a, resp);
    case VEIL__TVE__REQUEST__REQUEST_INIT_CHAIN:
        return tve_handle_init_chain(s, req->init_chain, a, resp);
    case VEIL__TVE__REQUEST__REQUEST_CHECK_CHAIN:
        return tve_handle_check_chain(s, req->check_chain, a, resp);
    case VEIL__TVE__REQUEST__REQUEST_VERIFY_TX:
        return tve_handle_verify_tx(s, req->verify_tx, a, resp);
    case VEIL__TVE__REQUEST__REQUEST_VERIFY_BLOCK:
        return tve_handle_verify_block(s, req->verify_block, a, resp, n_items);
    case VEIL__TVE__REQUEST__REQUEST_END_BLOCK:
        return tve_handle_end_block(s, req->end_block, a, resp);
    case VEIL__TVE__REQUEST__REQUEST_COMMIT_BLOCK:
        return tve_handle_commit_block(s, req->commit_block, a, resp, n_items);
    case VEIL__TVE__REQUEST__REQUEST_GET_SEALED_TXS:
        return tve_handle_get_sealed_txs(s, req->get_sealed_txs, a, resp, n_items);
    case VEIL__TVE__REQUEST__REQUEST_ENCRYPT:
        return tve_handle_encrypt(s, req->encrypt, a, resp);
    case VEIL__TVE__REQUEST__REQUEST_HANDOFF:
        return tve_handle_handoff(s, req->handoff, a, resp);
    case VEIL__TVE__REQUEST__REQUEST_EXPORT_KEY:
        return tve_handle_export_key(s, req->export_key, a, resp);
    case VEIL__TVE__REQUEST__REQUEST_IMPORT_KEY:
        return tve_handle_import_key(s, req->import_key, a, resp);
    case VEIL__TVE__REQUEST__REQUEST_DRAW_KEY:
        return tve_handle_draw_key(s, req->draw_key, a, resp);
    case VEIL__TVE__REQUEST__REQUEST_EXPORT_BLOCKS:
        return tve_handle_export_blocks(s, req->export_blocks, a, resp);
    case VEIL__TVE__REQUEST__REQUEST_IMPORT_BLOCKS:
        return tve_handle_import_blocks(s, req->import_blocks, a, resp);
    default:
        return VEIL_ERR_TVE_UNKNOWN_REQUEST;
    }
}

static veil_status response_pack(const Veil__Tve__Response *resp, uint8_t **out, size_t *out_len)
{
    size_t len = protobuf_c_message_get_packed_size(&resp->base);
    uint8_t *buf = malloc(len ? len : 1);
    ENSURE(buf != NULL, VEIL_ERR_NOMEM);
    *out_len = protobuf_c_message_pack(&resp->base, buf);
    *out = buf;
    return VEIL_OK;
}

size_t tve_response_static_error(veil_status st, uint8_t *out, size_t cap)
{
    Veil__Tve__Error e = VEIL__TVE__ERROR__INIT;
    Veil__Tve__Response resp = VEIL__TVE__RESPONSE__INIT;
    e.code = (uint32_t)st;
    e.name = (char *)veil_status_name(st);
    e.message = (char *)veil_status_str(st);
    resp.response_case = VEIL__TVE__RESPONSE__RESPONSE_ERROR;
    resp.error = &e;
    size_t len = protobuf_c_message_get_packed_size(&resp.base);
    if (len > cap) return 0;
    return protobuf_c_message_pack(&resp.base, out);
}

veil_status tve_service_handle(tve_service *s, const uint8_t *req, size_t req_len, uint8_t **resp,
                               size_t *resp_len, tve_request_info *info)
{
    Veil__Tve__Request *r = NULL;
    Veil__Tve__Response out = VEIL__TVE__RESPONSE__INIT;
    veil_arena a = {NULL};
    veil_status st;

    info->name = "invalid";
    info->n_items = 0;
    /* Limits first: nothing is decoded from a frame over its limit. Only a verify-block
     * or an import-blocks may be large, and it says so in its first byte. */
    if (req_len > TVE_BLOCK_FRAME_MAX ||
        (req_len > TVE_FRAME_MAX && req[0] != TVE_BLOCK_TAG && req[0] != TVE_IMPORT_TAG)) {
        st = VEIL_ERR_TOO_LARGE;
        goto reply;
    }
    r = veil__tve__request__unpack(NULL, req_len, req);
    if (r == NULL) {
        st = VEIL_ERR_TVE_UNKNOWN_REQUEST;
        goto reply;
    }
    info->name = request_name(r->request_case);
    /* A later field can override the oneof: a big frame must really be a block. */
    if (req_len > TVE_FRAME_MAX && r->request_case != VEIL__TVE__REQUEST__REQUEST_VERIFY_BLOCK &&
        r->request_case != VEIL__TVE__REQUEST__REQUEST_IMPORT_BLOCKS) {
        st = VEIL_ERR_TOO_LARGE;
        goto reply;
    }
    st = service_dispatch(s, r, &a, &out, &info->n_items);
reply:
    info->status = st;
    if (st != VEIL_OK) {
        veil__tve__response__init(&out);
        out.response_case = VEIL__TVE__RESPONSE__RESPONSE_ERROR;
        out.error = tve_error_new(&a, st);
    }
    veil_status pst = out.response_case == VEIL__TVE__RESPONSE__RESPONSE_ERROR && out.error == NULL
                          ? VEIL_ERR_NOMEM
                          : response_pack(&out, resp, resp_len);
    veil_arena_free(&a);
    if (r != NULL) veil__tve__request__free_unpacked(r, NULL);
    return pst;
}

/* --- lifecycle --------------------------------------------------------------------- */
static veil_status identity_check(const tve_service_config *cfg, const tee_identity *id)
{
    char want[65], got[65];
    if (cfg->mrsigner != NULL && memcmp(cfg->mrsigner, id->mrsigner, TEE_MEASUREMENT_LEN) != 0) {
        veil_hex_encode(want, cfg->mrsigner, TEE_MEASUREMENT_LEN);
        veil_hex_encode(got, id->mrsigner, TEE_MEASUREMENT_LEN);
        veil_error_detail_set("enclave mrsigner %s, expected %s", got, want);
        return VEIL_ERR_TVE_IDENTITY;
    }
    if (cfg->mrenclave != NULL && memcmp(cfg->mrenclave, id->mrenclave, TEE_MEASUREMENT_LEN) != 0) {
        veil_hex_encode(want, cfg->mrenclave, TEE_MEASUREMENT_LEN);
        veil_hex_encode(got, id->mrenclave, TEE_MEASUREMENT_LEN);
        veil_error_detail_set("enclave mrenclave %s, expected %s", got, want);
        return VEIL_ERR_TVE_IDENTITY;
    }
    if (cfg->check_min_svn && id->svn < cfg->min_svn) {
        veil_error_detail_set("enclave svn %u, expected at least %u", id->svn, cfg->min_svn);
        return VEIL_ERR_TVE_IDENTITY;
    }
    return VEIL_OK;
}

static veil_status service_load_key(void *ctx, uint64_t epoch, const uint8_t *sealed,
                                    size_t sealed_len)
{
    tve_service *s = ctx;
    Veil__Tve__Enclave__LoadKeyCall call = VEIL__TVE__ENCLAVE__LOAD_KEY_CALL__INIT;
    Veil__Tve__Enclave__KeyResult *kr;
    call.epoch = epoch;
    call.sealed_key.data = (uint8_t *)sealed;
    call.sealed_key.len = sealed_len;
    veil_status st = tve_enclave_key_call(s, TVE_E_LOAD_KEY, &call.base, &kr);
    if (st == VEIL_ERR_TVE_KEY_DESTROYED) {
        /* Destroyed before a crash left its copy behind: the copy goes now. */
        if (s->n_stale_keys < TVE_STALE_KEYS_MAX) s->stale_keys[s->n_stale_keys++] = epoch;
        veil_log(VEIL_LOG_INFO, "the stored key of epoch %llu was destroyed (past its grace "
                                "period): deleting its copy",
                 (unsigned long long)epoch);
        return VEIL_OK;
    }
    if (st != VEIL_OK) {
        veil_error_detail_set("stored key of epoch %llu does not open in this enclave (another "
                              "signer, product or platform?)",
                              (unsigned long long)epoch);
        return st;
    }
    st = kr->epoch == epoch ? VEIL_OK : VEIL_ERR_TEE_ENCLAVE_FAULT;
    if (st == VEIL_OK && kr->sealed_key.len > 0) {
        /* Sealed anew (a copy in the form before key floors): stored in its place once
         * the keys are loaded. */
        tve_resealed *r = s->n_resealed < TVE_STALE_KEYS_MAX ? &s->resealed[s->n_resealed] : NULL;
        if (r != NULL && kr->sealed_key.len <= sizeof r->sealed) {
            r->epoch = epoch;
            r->len = kr->sealed_key.len;
            memcpy(r->sealed, kr->sealed_key.data, r->len);
            s->n_resealed++;
        }
    }
    veil__tve__enclave__key_result__free_unpacked(kr, NULL);
    return st;
}

veil_status tve_service_open(const tve_service_config *cfg, tve_service **out)
{
    veil_status st;
    ENSURE(cfg != NULL && cfg->home != NULL && cfg->enclave_path != NULL, VEIL_ERR_ARG);
    tve_service *s = calloc(1, sizeof *s);
    ENSURE(s != NULL, VEIL_ERR_NOMEM);
    tve_staging_init(&s->staging);
    pthread_rwlock_init(&s->staging_lock, NULL);

    unsigned threads = cfg->threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    if (threads > TVE_MAX_THREADS) threads = TVE_MAX_THREADS;
    s->threads = threads;

    TRY_OUT(veil_crypto_init());
    TRY_OUT(tve_store_open(cfg->home, cfg->no_sync, &s->store));
    TRY_OUT(tve_store_meta_get(s->store, &s->meta));
    TRY_OUT(tee_platform_open(cfg->platform_dir, &s->platform));
    tee_ocall_table ocalls = tve_ocall_table(s);
    TRY_OUT(
        tee_enclave_load(s->platform, cfg->enclave_path, &ocalls, TVE_ENCLAVE_MEMORY, &s->enclave));
    tee_enclave_identity(s->enclave, &s->identity);
    TRY_OUT(identity_check(cfg, &s->identity));
    TRY_OUT(tve_store_keys_each(s->store, service_load_key, s));
    for (size_t i = 0; i < s->n_stale_keys; i++) TRY_OUT(tve_store_key_del(s->store, s->stale_keys[i]));
    for (size_t i = 0; i < s->n_resealed; i++) {
        TRY_OUT(tve_store_key_add(s->store, s->resealed[i].epoch, s->resealed[i].sealed,
                                  s->resealed[i].len));
        veil_log(VEIL_LOG_INFO, "sealed the stored key of epoch %llu again with its key floor",
                 (unsigned long long)s->resealed[i].epoch);
    }
    TRY_OUT(tve_pool_create(threads, &s->pool));
    *out = s;
    return VEIL_OK;
out:
    tve_service_close(s);
    return st;
}

void tve_service_close(tve_service *s)
{
    if (s == NULL) return;
    tve_pool_destroy(s->pool);
    tee_enclave_destroy(s->enclave);
    tee_platform_close(s->platform);
    tve_store_close(s->store);
    tve_staging_free(&s->staging);
    pthread_rwlock_destroy(&s->staging_lock);
    free(s);
}

void tve_service_identity(const tve_service *s, tee_identity *out) { *out = s->identity; }
uint64_t tve_service_last_height(const tve_service *s) { return s->meta.last_height; }
uint64_t tve_service_key_epoch(const tve_service *s) { return s->meta.key_epoch; }
uint64_t tve_service_key_awaited(const tve_service *s)
{
    return s->win_awaiting || s->meta.awaiting;
}
uint64_t tve_service_keys_destroyed(const tve_service *s) { return s->keys_destroyed; }
unsigned tve_service_threads(const tve_service *s) { return s->threads; }

uint64_t tve_service_store_bytes(tve_service *s) { return tve_store_bytes(s->store); }

tee_enclave *tve_service_enclave(tve_service *s) { return s->enclave; }
