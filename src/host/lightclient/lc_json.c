/* Light blocks from CometBFT's JSON (lc_json.h). */
#include "host/lightclient/lc_json.h"

#include <stdlib.h>
#include <string.h>

#include "host/devchain/cmt_json.h"

veil_status lc_json_signed_header(const json_t *j, lc_light_block *out)
{
    ENSURE(json_is_object(j), VEIL_ERR_LC_MALFORMED);
    ENSURE(cmt_json_parse_header(json_object_get(j, "header"), &out->header) == VEIL_OK,
           VEIL_ERR_LC_MALFORMED);
    const json_t *c = json_object_get(j, "commit");
    lc_commit *cm = &out->commit;
    memset(cm, 0, sizeof *cm);
    ENSURE(cmt_json_parse_commit_head(c, &cm->height, &cm->round, &cm->block_id) == VEIL_OK,
           VEIL_ERR_LC_MALFORMED);
    const json_t *sigs = json_object_get(c, "signatures");
    ENSURE(json_is_array(sigs), VEIL_ERR_LC_MALFORMED);
    ENSURE(json_array_size(sigs) <= LC_MAX_VALIDATORS, VEIL_ERR_LC_VALSET_TOO_LARGE);
    for (size_t i = 0; i < json_array_size(sigs); i++)
        ENSURE(cmt_json_parse_commit_sig(json_array_get(sigs, i), &cm->sigs[i]) == VEIL_OK,
               VEIL_ERR_LC_MALFORMED);
    cm->n_sigs = json_array_size(sigs);
    return VEIL_OK;
}

veil_status lc_json_validators(const json_t *arr, lc_validator_set *out)
{
    ENSURE(json_is_array(arr), VEIL_ERR_LC_MALFORMED);
    ENSURE(json_array_size(arr) <= LC_MAX_VALIDATORS, VEIL_ERR_LC_VALSET_TOO_LARGE);
    out->n = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *v = json_array_get(arr, i), *pk = json_object_get(v, "pub_key");
        const char *type = json_string_value(json_object_get(pk, "type"));
        ENSURE(type != NULL, VEIL_ERR_LC_MALFORMED);
        ENSURE(strcmp(type, "tendermint/PubKeyEd25519") == 0, VEIL_ERR_LC_MALFORMED);
        cmt_bytes addr;
        uint8_t *key = NULL;
        size_t key_len = 0;
        ENSURE(cmt_json_get_hex(json_object_get(v, "address"), &addr) == VEIL_OK &&
                   addr.len == CMT_ADDRESS_LEN,
               VEIL_ERR_LC_MALFORMED);
        veil_status st = cmt_json_get_b64(json_object_get(pk, "value"), CMT_PUBKEY_LEN, &key,
                                          &key_len);
        if (st == VEIL_OK && key_len == CMT_PUBKEY_LEN) memcpy(out->v[i].pub_key, key, key_len);
        free(key);
        ENSURE(st == VEIL_OK && key_len == CMT_PUBKEY_LEN, VEIL_ERR_LC_MALFORMED);
        ENSURE(cmt_json_get_i64(json_object_get(v, "voting_power"), &out->v[i].voting_power) ==
                   VEIL_OK,
               VEIL_ERR_LC_MALFORMED);
        memcpy(out->address[i], addr.b, CMT_ADDRESS_LEN);
        out->n++;
    }
    return VEIL_OK;
}
