/* `veil devchain init`: the home directory, laid out as CometBFT's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "chain/cmt_time.h"
#include "host/devchain/devchain.h"
#include "host/devchain/genesis.h"
#include "host/devchain/privval.h"
#include "hostutil/fileio.h"

static bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

#define conflict(fmt, path) (veil_error_detail_set(fmt, path), VEIL_ERR_EXISTS)

static bool chain_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > CMT_MAX_CHAIN_ID_LEN) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] < 0x21 || id[i] == 0x7f) return false;
    return true;
}

/* Existing genesis must agree with what init was asked for. */
static veil_status check_genesis(const char *path, const char *chain_id, const privval_key *key,
                                 const uint8_t *app_state, size_t app_state_len)
{
    genesis_doc g;
    veil_status st = genesis_load(path, &g);
    if (st != VEIL_OK) return st;
    if (strcmp(g.chain_id, chain_id) != 0)
        st = conflict("%s exists with another chain id", path);
    else if (memcmp(g.validator.pub_key, key->pub_key, CMT_PUBKEY_LEN) != 0)
        st = conflict("%s names another validator than priv_validator_key.json", path);
    else if (app_state != NULL) {
        json_error_t err, err2;
        json_t *want = json_loadb((const char *)app_state, app_state_len, JSON_DECODE_ANY, &err);
        json_t *have = g.app_state ? json_loadb((const char *)g.app_state, g.app_state_len,
                                                JSON_DECODE_ANY, &err2)
                                   : NULL;
        if (want == NULL) {
            veil_error_detail_set("app state is not JSON: %s (line %d)", err.text, err.line);
            st = VEIL_ERR_MALFORMED;
        } else if (have == NULL || !json_equal(want, have)) {
            st = conflict("%s exists with another app_state", path);
        }
        json_decref(want);
        json_decref(have);
    }
    genesis_free(&g);
    return st;
}

veil_status devchain_init_home(const char *home, const char *chain_id, const uint8_t *app_state,
                               size_t app_state_len, bool *created)
{
    *created = false;
    TRY(veil_crypto_init());
    if (!chain_id_ok(chain_id)) {
        veil_error_detail_set("chain id must be 1..%d printable bytes", CMT_MAX_CHAIN_ID_LEN);
        return VEIL_ERR_ARG;
    }
    char config[4096], data[4096], key_path[4096], gen_path[4096];
    TRY(veil_path_join(config, sizeof config, home, "config"));
    TRY(veil_path_join(data, sizeof data, home, "data"));
    TRY(veil_path_join(key_path, sizeof key_path, config, "priv_validator_key.json"));
    TRY(veil_path_join(gen_path, sizeof gen_path, config, "genesis.json"));
    TRY(veil_mkdir_p(config, 0700));
    TRY(veil_mkdir_p(data, 0700));

    bool have_key = file_exists(key_path), have_gen = file_exists(gen_path);
    if (have_gen && !have_key)
        return conflict("%s exists but priv_validator_key.json does not: the dev chain cannot "
                        "sign for that genesis",
                        gen_path);
    privval_key key;
    veil_status st;
    if (have_key) {
        st = privval_load(key_path, &key);
        if (st != VEIL_OK) return st;
    } else {
        char *text;
        size_t len;
        TRY(privval_generate(&key));
        st = privval_render(&key, &text, &len);
        if (st == VEIL_OK) {
            st = veil_file_create_new(key_path, text, len, 0600);
            veil_wipe(text, len);
            free(text);
        }
        if (st != VEIL_OK) {
            privval_wipe(&key);
            return st;
        }
        *created = true;
    }
    if (have_gen) {
        st = check_genesis(gen_path, chain_id, &key, app_state, app_state_len);
    } else {
        char *text;
        size_t len;
        cmt_timestamp now = cmt_time_now();
        st = genesis_render(chain_id, &now, key.pub_key, GENESIS_DEFAULT_POWER, app_state,
                            app_state_len, &text, &len);
        if (st == VEIL_OK) {
            st = veil_file_create_new(gen_path, text, len, 0644);
            free(text);
            if (st == VEIL_OK) *created = true;
        }
    }
    privval_wipe(&key);
    /* CometBFT's signing state, which `cometbft start` requires beside the key: a fresh
     * one (nothing signed yet). The dev chain keeps its own; an existing file is kept. */
    char state_path[4096];
    if (st == VEIL_OK) st = veil_path_join(state_path, sizeof state_path, data,
                                           "priv_validator_state.json");
    if (st == VEIL_OK && !file_exists(state_path)) {
        static const char fresh[] = "{\n  \"height\": \"0\",\n  \"round\": 0,\n  \"step\": 0\n}";
        st = veil_file_create_new(state_path, fresh, sizeof fresh - 1, 0600);
    }
    return st;
}
