/* The encrypted wallet file (docs/wallet.md, "Wallet file").
 *
 *   offset size
 *   0      8    magic "VEILWALT"
 *   8      2    version, big-endian (1)
 *   10     1    KDF algorithm (1 = Argon2id v1.3, crypto_pwhash_ALG_ARGON2ID13)
 *   11     1    reserved, 0
 *   12     8    opslimit, big-endian
 *   20     8    memlimit (bytes), big-endian
 *   28     16   salt
 *   44     24   XChaCha20-Poly1305 nonce
 *   68     ..   ciphertext of the JSON body, then its 16-byte tag
 * AEAD: crypto_aead_xchacha20poly1305_ietf, key = Argon2id(passphrase, salt), AAD = the
 * 68 header bytes. A fresh salt and nonce on every save.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "hostutil/fileio.h"
#include "wallet/wallet.h"

#define HDR_LEN 68
#define MAGIC "VEILWALT"
#define VERSION 1
#define KDF_ARGON2ID13 1

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}
static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}

void wallet_kdf_default(wallet_kdf *k)
{
    k->opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
    k->memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
}

veil_status wallet_kdf_from_env(wallet_kdf *k)
{
    wallet_kdf_default(k);
    const char *e = getenv("VEIL_WALLET_KDF");
    if (e == NULL || *e == '\0' || strcmp(e, "moderate") == 0) return VEIL_OK;
    if (strcmp(e, "interactive") == 0) {
        k->opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
        k->memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
        return VEIL_OK;
    }
    if (strcmp(e, "min") == 0) { /* tests and fuzzing only: no protection */
        k->opslimit = crypto_pwhash_OPSLIMIT_MIN;
        k->memlimit = crypto_pwhash_MEMLIMIT_MIN;
        return VEIL_OK;
    }
    veil_error_detail_set("VEIL_WALLET_KDF must be moderate, interactive or min");
    return VEIL_ERR_ARG;
}

static bool kdf_in_range(const wallet_kdf *k)
{
    /* Bounds come from the (untrusted) file: keep a hostile header from asking for
     * more work or memory than libsodium's SENSITIVE level. */
    return k->opslimit >= crypto_pwhash_OPSLIMIT_MIN &&
           k->opslimit <= crypto_pwhash_OPSLIMIT_SENSITIVE &&
           k->memlimit >= crypto_pwhash_MEMLIMIT_MIN &&
           k->memlimit <= crypto_pwhash_MEMLIMIT_SENSITIVE;
}

static veil_status derive_key(uint8_t key[32], const char *pass, size_t pass_len,
                              const uint8_t salt[16], const wallet_kdf *k)
{
    if (crypto_pwhash(key, 32, pass, pass_len, salt, k->opslimit, (size_t)k->memlimit,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        veil_error_detail_set("Argon2id: out of memory");
        return VEIL_ERR_NOMEM;
    }
    return VEIL_OK;
}

/* --- body (JSON) ---------------------------------------------------------------- */
static json_t *hexstr(const uint8_t *p, size_t n)
{
    char buf[129];
    veil_hex_encode(buf, p, n);
    return json_string(buf);
}

static json_t *body_to_json(const wallet *w)
{
    json_t *o = json_object();
    json_object_set_new(o, "version", json_integer(1));
    if (w->keys.watch_only) {
        json_object_set_new(o, "kind", json_string("watch-only"));
        json_object_set_new(o, "view_sk", hexstr(w->keys.view_sk, 32));
        json_object_set_new(o, "spend_pk", hexstr(w->keys.spend_pk, 32));
    } else {
        json_object_set_new(o, "kind", json_string("full"));
        json_object_set_new(o, "seed", hexstr(w->keys.seed, 32));
    }
    json_object_set_new(o, "chain_id", json_string(w->chain_id));
    json_object_set_new(o, "synced_height", json_integer((json_int_t)w->synced_height));
    json_t *outs = json_array();
    for (size_t i = 0; i < w->n_outputs; i++) {
        const wallet_output *x = &w->outputs[i];
        json_t *e = json_object();
        json_object_set_new(e, "txid", hexstr(x->txid, 32));
        json_object_set_new(e, "index", json_integer(x->index));
        json_object_set_new(e, "value", json_integer((json_int_t)x->value));
        json_object_set_new(e, "address", hexstr(x->address, 32));
        json_object_set_new(e, "valid_from", json_integer((json_int_t)x->valid_from));
        json_object_set_new(e, "height", json_integer((json_int_t)x->height));
        json_object_set_new(e, "spent", json_boolean(x->spent));
        if (x->spent) json_object_set_new(e, "spent_by", hexstr(x->spent_by, 32));
        json_array_append_new(outs, e);
    }
    json_object_set_new(o, "outputs", outs);
    json_t *hist = json_array();
    for (size_t i = 0; i < w->n_history; i++) {
        const wallet_history *h = &w->history[i];
        json_array_append_new(hist, json_pack("{s:o, s:I, s:i, s:I, s:I}", "txid",
                                              hexstr(h->txid, 32), "height", (json_int_t)h->height,
                                              "kind", (int)h->kind, "received",
                                              (json_int_t)h->received, "spent", (json_int_t)h->spent));
    }
    json_object_set_new(o, "history", hist);
    return o;
}

static veil_status get_hex(json_t *o, const char *k, uint8_t *out, size_t n)
{
    const char *s = json_string_value(json_object_get(o, k));
    ENSURE(s != NULL, VEIL_ERR_MALFORMED);
    ENSURE(veil_hex_decode_exact(out, n, s, strlen(s)) == VEIL_OK, VEIL_ERR_MALFORMED);
    return VEIL_OK;
}

static veil_status get_u64(json_t *o, const char *k, uint64_t max, uint64_t *out)
{
    json_t *v = json_object_get(o, k);
    ENSURE(json_is_integer(v) && json_integer_value(v) >= 0 &&
               (uint64_t)json_integer_value(v) <= max,
           VEIL_ERR_MALFORMED);
    *out = (uint64_t)json_integer_value(v);
    return VEIL_OK;
}

static veil_status body_from_json(json_t *o, wallet *w)
{
    uint64_t v;
    ENSURE(json_is_object(o), VEIL_ERR_MALFORMED);
    TRY(get_u64(o, "version", 1, &v));
    ENSURE(v == 1, VEIL_ERR_BAD_VERSION);
    const char *kind = json_string_value(json_object_get(o, "kind"));
    ENSURE(kind != NULL, VEIL_ERR_MALFORMED);
    uint8_t a[32], b[32];
    veil_status st;
    if (strcmp(kind, "full") == 0) {
        TRY(get_hex(o, "seed", a, 32));
        st = wallet_keys_from_seed(&w->keys, a);
    } else if (strcmp(kind, "watch-only") == 0) {
        TRY(get_hex(o, "view_sk", a, 32));
        TRY(get_hex(o, "spend_pk", b, 32));
        st = wallet_keys_watch_only(&w->keys, a, b);
    } else {
        return VEIL_ERR_MALFORMED;
    }
    veil_wipe(a, sizeof a);
    TRY(st);
    const char *cid = json_string_value(json_object_get(o, "chain_id"));
    ENSURE(cid != NULL && strlen(cid) <= VEIL_TX_MAX_CHAIN_ID_LEN, VEIL_ERR_MALFORMED);
    snprintf(w->chain_id, sizeof w->chain_id, "%s", cid);
    TRY(get_u64(o, "synced_height", INT64_MAX, &w->synced_height));

    json_t *outs = json_object_get(o, "outputs"), *e;
    json_t *hist = json_object_get(o, "history");
    ENSURE(json_is_array(outs) && json_is_array(hist), VEIL_ERR_MALFORMED);
    size_t no = json_array_size(outs), nh = json_array_size(hist), i;
    if (no > 0) {
        w->outputs = calloc(no, sizeof *w->outputs);
        ENSURE(w->outputs != NULL, VEIL_ERR_NOMEM);
        w->cap_outputs = no;
    }
    json_array_foreach(outs, i, e)
    {
        wallet_output *x = &w->outputs[i];
        ENSURE(json_is_object(e), VEIL_ERR_MALFORMED);
        TRY(get_hex(e, "txid", x->txid, 32));
        TRY(get_u64(e, "index", VEIL_TX_MAX_OUTPUTS - 1, &v));
        x->index = (uint32_t)v;
        TRY(get_u64(e, "value", VEIL_TX_MAX_SUPPLY, &x->value));
        TRY(get_hex(e, "address", x->address, 32));
        TRY(get_u64(e, "valid_from", INT64_MAX, &x->valid_from));
        TRY(get_u64(e, "height", INT64_MAX, &x->height));
        json_t *sp = json_object_get(e, "spent");
        ENSURE(json_is_boolean(sp), VEIL_ERR_MALFORMED);
        x->spent = json_is_true(sp);
        if (x->spent) TRY(get_hex(e, "spent_by", x->spent_by, 32));
        w->n_outputs++;
    }
    if (nh > 0) {
        w->history = calloc(nh, sizeof *w->history);
        ENSURE(w->history != NULL, VEIL_ERR_NOMEM);
        w->cap_history = nh;
    }
    json_array_foreach(hist, i, e)
    {
        wallet_history *h = &w->history[i];
        ENSURE(json_is_object(e), VEIL_ERR_MALFORMED);
        TRY(get_hex(e, "txid", h->txid, 32));
        TRY(get_u64(e, "height", INT64_MAX, &h->height));
        TRY(get_u64(e, "kind", VEIL_TX_KIND_WITHDRAW, &v));
        ENSURE(v >= VEIL_TX_KIND_TRANSFER, VEIL_ERR_MALFORMED);
        h->kind = (veil_tx_kind)v;
        TRY(get_u64(e, "received", VEIL_TX_MAX_SUPPLY, &h->received));
        TRY(get_u64(e, "spent", VEIL_TX_MAX_SUPPLY, &h->spent));
        w->n_history++;
    }
    return VEIL_OK;
}

/* --- seal / open ---------------------------------------------------------------- */
veil_status wallet_file_seal(const wallet *w, const char *passphrase, size_t pass_len,
                             const wallet_kdf *kdf, uint8_t **out, size_t *out_len)
{
    ENSURE(kdf_in_range(kdf), VEIL_ERR_ARG);
    json_t *doc = body_to_json(w);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    ENSURE(text != NULL, VEIL_ERR_NOMEM);
    size_t tlen = strlen(text);
    veil_status st = VEIL_OK;
    uint8_t key[32];
    uint8_t *buf = NULL;
    ENSURE_OUT(tlen <= WALLET_FILE_MAX - HDR_LEN - crypto_aead_xchacha20poly1305_ietf_ABYTES,
               VEIL_ERR_TOO_LARGE);
    size_t total = HDR_LEN + tlen + crypto_aead_xchacha20poly1305_ietf_ABYTES;
    buf = malloc(total);
    ENSURE_OUT(buf != NULL, VEIL_ERR_NOMEM);
    memcpy(buf, MAGIC, 8);
    buf[8] = 0;
    buf[9] = VERSION;
    buf[10] = KDF_ARGON2ID13;
    buf[11] = 0;
    put_be64(buf + 12, kdf->opslimit);
    put_be64(buf + 20, kdf->memlimit);
    randombytes_buf(buf + 28, 16);
    randombytes_buf(buf + 44, 24);
    TRY_OUT(derive_key(key, passphrase, pass_len, buf + 28, kdf));
    unsigned long long clen;
    crypto_aead_xchacha20poly1305_ietf_encrypt(buf + HDR_LEN, &clen, (const uint8_t *)text, tlen,
                                               buf, HDR_LEN, NULL, buf + 44, key);
    *out = buf;
    *out_len = total;
    buf = NULL;
out:
    veil_wipe(key, sizeof key);
    sodium_memzero(text, tlen);
    free(text);
    free(buf);
    return st;
}

veil_status wallet_file_open(const uint8_t *data, size_t len, const char *passphrase,
                             size_t pass_len, wallet *w, wallet_kdf *kdf_out)
{
    memset(w, 0, sizeof *w);
    ENSURE(len >= 8 && memcmp(data, MAGIC, 8) == 0, VEIL_ERR_BAD_MAGIC);
    ENSURE(len >= HDR_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES, VEIL_ERR_MALFORMED);
    ENSURE(len <= WALLET_FILE_MAX, VEIL_ERR_TOO_LARGE);
    ENSURE(data[8] == 0 && data[9] == VERSION, VEIL_ERR_BAD_VERSION);
    ENSURE(data[10] == KDF_ARGON2ID13 && data[11] == 0, VEIL_ERR_MALFORMED);
    wallet_kdf kdf = {get_be64(data + 12), get_be64(data + 20)};
    ENSURE(kdf_in_range(&kdf), VEIL_ERR_MALFORMED);
    uint8_t key[32];
    TRY(derive_key(key, passphrase, pass_len, data + 28, &kdf));
    size_t clen = len - HDR_LEN;
    size_t plen = clen - crypto_aead_xchacha20poly1305_ietf_ABYTES;
    char *plain = malloc(plen + 1);
    veil_status st = VEIL_OK;
    json_t *doc = NULL;
    ENSURE_OUT(plain != NULL, VEIL_ERR_NOMEM);
    unsigned long long got;
    /* A wrong passphrase and a modified file look the same here: one bare error. */
    ENSURE_OUT(crypto_aead_xchacha20poly1305_ietf_decrypt((uint8_t *)plain, &got, NULL,
                                                          data + HDR_LEN, clen, data, HDR_LEN,
                                                          data + 44, key) == 0,
               VEIL_ERR_WALLET_PASSPHRASE);
    plain[plen] = '\0';
    json_error_t je;
    doc = json_loadb(plain, plen, JSON_REJECT_DUPLICATES, &je);
    ENSURE_OUT(doc != NULL, VEIL_ERR_MALFORMED);
    TRY_OUT(body_from_json(doc, w));
    if (kdf_out != NULL) *kdf_out = kdf;
out:
    json_decref(doc);
    veil_wipe(key, sizeof key);
    if (plain != NULL) sodium_memzero(plain, plen + 1);
    free(plain);
    if (st != VEIL_OK) wallet_free(w);
    return st;
}

veil_status wallet_save(const char *path, const wallet *w, const char *passphrase,
                        const wallet_kdf *kdf, bool create)
{
    uint8_t *buf;
    size_t len;
    TRY(wallet_file_seal(w, passphrase, strlen(passphrase), kdf, &buf, &len));
    veil_status st = create ? veil_file_create_new(path, buf, len, 0600)
                            : veil_file_write_atomic(path, buf, len, 0600);
    free(buf);
    return st;
}

veil_status wallet_load(const char *path, const char *passphrase, wallet *w, wallet_kdf *kdf)
{
    uint8_t *buf;
    size_t len;
    memset(w, 0, sizeof *w);
    TRY(veil_file_read(path, WALLET_FILE_MAX, &buf, &len));
    veil_status st = wallet_file_open(buf, len, passphrase, strlen(passphrase), w, kdf);
    free(buf);
    if (st != VEIL_OK && veil_error_detail()[0] == '\0') veil_error_detail_set("%s", path);
    return st;
}

veil_status wallet_seed_file_write(const char *path, const uint8_t seed[static 32])
{
    char hex[66];
    veil_hex_encode(hex, seed, 32);
    hex[64] = '\n';
    hex[65] = '\0';
    veil_status st = veil_file_write_atomic(path, hex, 65, 0600);
    veil_wipe(hex, sizeof hex);
    return st;
}

veil_status wallet_seed_file_read(const char *path, uint8_t seed[static 32])
{
    char *text = NULL;
    size_t len = 0;
    TRY(veil_file_check_private(path));
    TRY(veil_file_read_text(path, 256, &text, &len));
    size_t n = len;
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ')) n--;
    veil_status st = veil_hex_decode_exact(seed, 32, text, n);
    veil_wipe(text, len);
    free(text);
    if (st != VEIL_OK) {
        veil_error_detail_set("a seed file holds one wallet seed: 64 hex digits");
        return VEIL_ERR_BAD_KEY;
    }
    return VEIL_OK;
}
