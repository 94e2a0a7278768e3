#include "host/devchain/privval.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "crypto/crypto_host.h"
#include "trusted/cmt/cmt_hash.h"
#include "host/devchain/cmt_json.h"
#include "hostutil/fileio.h"

static veil_status get_typed_b64(const json_t *obj, const char *type, uint8_t *out, size_t n)
{
    const json_t *t = json_object_get(obj, "type");
    if (!json_is_string(t) || strcmp(json_string_value(t), type) != 0) return VEIL_ERR_BAD_KEY;
    uint8_t *buf;
    size_t len;
    veil_status st = cmt_json_get_b64(json_object_get(obj, "value"), n, &buf, &len);
    if (st == VEIL_ERR_TOO_LARGE) st = VEIL_ERR_BAD_KEY;
    if (st != VEIL_OK) return st == VEIL_ERR_NOMEM ? st : VEIL_ERR_BAD_KEY;
    if (len != n) st = VEIL_ERR_BAD_KEY;
    else memcpy(out, buf, n);
    if (buf) veil_wipe(buf, len);
    free(buf);
    return st;
}

veil_status privval_parse(const char *text, size_t len, privval_key *out)
{
    json_error_t err;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(j)) {
        json_decref(j);
        return VEIL_ERR_MALFORMED;
    }
    veil_status st;
    privval_key k;
    uint8_t derived_pk[32], derived_sk[64], addr[CMT_ADDRESS_LEN];
    cmt_bytes file_addr;
    TRY_OUT(get_typed_b64(json_object_get(j, "pub_key"), "tendermint/PubKeyEd25519", k.pub_key,
                          sizeof k.pub_key));
    TRY_OUT(get_typed_b64(json_object_get(j, "priv_key"), "tendermint/PrivKeyEd25519", k.sk,
                          sizeof k.sk));
    /* The 64-byte value is seed || pubkey; both halves must agree with the seed. */
    crypto_sign_seed_keypair(derived_pk, derived_sk, k.sk);
    ENSURE_OUT(sodium_memcmp(derived_pk, k.pub_key, 32) == 0, VEIL_ERR_BAD_KEY);
    ENSURE_OUT(sodium_memcmp(derived_sk, k.sk, 64) == 0, VEIL_ERR_BAD_KEY);
    cmt_address_of(k.pub_key, k.address);
    st = cmt_json_get_hex(json_object_get(j, "address"), &file_addr);
    ENSURE_OUT(st == VEIL_OK, VEIL_ERR_BAD_KEY);
    memcpy(addr, k.address, sizeof addr);
    ENSURE_OUT(file_addr.len == CMT_ADDRESS_LEN && memcmp(file_addr.b, addr, sizeof addr) == 0,
               VEIL_ERR_BAD_KEY);
    *out = k;
out:
    veil_wipe(&k, sizeof k);
    veil_wipe(derived_sk, sizeof derived_sk);
    json_decref(j);
    return st;
}

veil_status privval_load(const char *path, privval_key *out)
{
    TRY(veil_file_check_private(path));
    uint8_t *buf;
    size_t len;
    TRY(veil_file_read(path, PRIVVAL_FILE_MAX, &buf, &len));
    veil_status st = privval_parse((const char *)buf, len, out);
    veil_wipe(buf, len);
    free(buf);
    if (st != VEIL_OK && st != VEIL_ERR_NOMEM)
        veil_error_detail_set("%s is not a valid CometBFT Ed25519 priv_validator_key.json", path);
    return st;
}

veil_status privval_generate(privval_key *out)
{
    uint8_t seed[32];
    TRY(veil_random_bytes(seed, sizeof seed));
    crypto_sign_seed_keypair(out->pub_key, out->sk, seed);
    veil_wipe(seed, sizeof seed);
    cmt_address_of(out->pub_key, out->address);
    return VEIL_OK;
}

veil_status privval_render(const privval_key *k, char **text, size_t *len)
{
    /* Written by hand rather than through jansson so the secret never sits in
     * allocator memory we cannot wipe; layout as CometBFT writes it. */
    char addr[2 * CMT_ADDRESS_LEN + 1];
    char pub[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
    char priv[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];
    veil_hex_encode(addr, k->address, sizeof k->address);
    for (char *c = addr; *c; c++)
        if (*c >= 'a' && *c <= 'f') *c = (char)(*c - 'a' + 'A');
    sodium_bin2base64(pub, sizeof pub, k->pub_key, 32, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(priv, sizeof priv, k->sk, 64, sodium_base64_VARIANT_ORIGINAL);
    size_t cap = 256 + sizeof addr + sizeof pub + sizeof priv;
    char *out = malloc(cap);
    veil_status st = VEIL_ERR_NOMEM;
    if (out != NULL) {
        int n = snprintf(out, cap,
                         "{\n"
                         "  \"address\": \"%s\",\n"
                         "  \"pub_key\": {\n"
                         "    \"type\": \"tendermint/PubKeyEd25519\",\n"
                         "    \"value\": \"%s\"\n"
                         "  },\n"
                         "  \"priv_key\": {\n"
                         "    \"type\": \"tendermint/PrivKeyEd25519\",\n"
                         "    \"value\": \"%s\"\n"
                         "  }\n"
                         "}\n",
                         addr, pub, priv);
        *text = out;
        *len = (size_t)n;
        st = VEIL_OK;
    }
    veil_wipe(priv, sizeof priv);
    return st;
}

void privval_sign(const privval_key *k, const uint8_t *msg, size_t len,
                  uint8_t sig[static CMT_SIGNATURE_LEN])
{
    crypto_sign_detached(sig, NULL, msg, len, k->sk);
}

void privval_wipe(privval_key *k) { veil_wipe(k, sizeof *k); }
