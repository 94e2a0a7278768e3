/* libFuzzer target: the wallet file (src/wallet/wallet_file.c).
 *
 * The first input byte picks the mode:
 *   even  the rest is a whole wallet file image, opened with the passphrase "fuzz"
 *         after its KDF parameters are forced to libsodium's minimum (so a mutated
 *         header cannot make one run take seconds; every other header byte is
 *         the fuzzer's) — exercises header checks and the AEAD refusal;
 *   odd   the rest is a plaintext JSON body, sealed under "fuzz" and opened again —
 *         the only way to reach the body parser, which sits behind the AEAD.
 * A successful open must re-seal and re-open to the same index (abort otherwise).
 *
 * Corpus: fuzz/corpus/wallet_file/ (hand-written bodies and a sealed file; the test
 * program tests/test_wallet.c replays it through this function).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wallet/wallet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

static void check_roundtrip(const wallet *w, const wallet_kdf *kdf)
{
    uint8_t *img;
    size_t len;
    if (wallet_file_seal(w, "fuzz", 4, kdf, &img, &len) != VEIL_OK) abort();
    wallet again;
    if (wallet_file_open(img, len, "fuzz", 4, &again, NULL) != VEIL_OK) abort();
    if (again.n_outputs != w->n_outputs || again.n_history != w->n_history ||
        again.synced_height != w->synced_height ||
        memcmp(&again.keys, &w->keys, sizeof w->keys) != 0)
        abort();
    wallet_free(&again);
    free(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536) return 0;
    if (sodium_init() < 0) abort();
    wallet_kdf kdf = {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
    wallet w;
    uint8_t *img = NULL;
    size_t len = 0;
    if ((data[0] & 1) == 0) {
        len = size - 1;
        img = malloc(len + 1);
        if (img == NULL) return 0;
        memcpy(img, data + 1, len);
        if (len >= 28) {
            put_be64(img + 12, kdf.opslimit);
            put_be64(img + 20, kdf.memlimit);
        }
    } else {
        /* Seal the body by hand: wallet_file_seal only seals what it serialises. */
        wallet empty;
        memset(&empty, 0, sizeof empty);
        uint8_t seed[32] = {1};
        if (wallet_keys_from_seed(&empty.keys, seed) != VEIL_OK) abort();
        uint8_t *tmpl;
        size_t tlen;
        if (wallet_file_seal(&empty, "fuzz", 4, &kdf, &tmpl, &tlen) != VEIL_OK) abort();
        wallet_free(&empty);
        len = 68 + (size - 1) + crypto_aead_xchacha20poly1305_ietf_ABYTES;
        img = malloc(len);
        if (img == NULL) abort();
        memcpy(img, tmpl, 68); /* header: magic, version, KDF, salt, nonce */
        free(tmpl);
        uint8_t key[32];
        if (crypto_pwhash(key, 32, "fuzz", 4, img + 28, kdf.opslimit, kdf.memlimit,
                          crypto_pwhash_ALG_ARGON2ID13) != 0)
            abort();
        unsigned long long clen;
        crypto_aead_xchacha20poly1305_ietf_encrypt(img + 68, &clen, data + 1, size - 1, img, 68,
                                                   NULL, img + 44, key);
    }
    wallet_kdf got;
    if (wallet_file_open(img, len, "fuzz", 4, &w, &got) == VEIL_OK) {
        check_roundtrip(&w, &kdf);
        wallet_free(&w);
    }
    free(img);
    return 0;
}
