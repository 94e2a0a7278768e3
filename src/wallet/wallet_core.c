/* Amounts, keys, balances, the query signature, index bookkeeping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "wallet/wallet.h"

veil_status wallet_amount_parse(const char *s, uint64_t *out)
{
    ENSURE(s != NULL && *s != '\0', VEIL_ERR_ARG);
    uint64_t whole = 0, frac = 0;
    size_t i = 0, nd = 0, nf = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++, nd++) {
        ENSURE(whole <= (UINT64_MAX - 9) / 10, VEIL_ERR_OVERFLOW);
        whole = whole * 10 + (uint64_t)(s[i] - '0');
    }
    if (s[i] == '.') {
        i++;
        for (; s[i] >= '0' && s[i] <= '9'; i++, nf++) {
            ENSURE(nf < 8, VEIL_ERR_ARG); /* finer than one base unit */
            frac = frac * 10 + (uint64_t)(s[i] - '0');
        }
        ENSURE(nf > 0, VEIL_ERR_ARG);
    }
    ENSURE(s[i] == '\0' && nd > 0, VEIL_ERR_ARG);
    for (size_t k = nf; k < 8; k++) frac *= 10;
    ENSURE(whole <= VEIL_TX_MAX_SUPPLY / WALLET_COIN, VEIL_ERR_OVERFLOW);
    uint64_t v = whole * WALLET_COIN + frac;
    ENSURE(v <= VEIL_TX_MAX_SUPPLY, VEIL_ERR_OVERFLOW);
    *out = v;
    return VEIL_OK;
}

void wallet_amount_format(char *out, size_t cap, uint64_t v)
{
    snprintf(out, cap, "%llu.%08llu", (unsigned long long)(v / WALLET_COIN),
             (unsigned long long)(v % WALLET_COIN));
}

static veil_status derive(uint8_t sk[32], uint8_t pk[32], const uint8_t seed[32], const char *info)
{
    TRY(veil_hkdf_sha256(sk, 32, NULL, 0, seed, 32, info, strlen(info)));
    /* An HKDF output that is not a valid scalar has probability ~2^-128; refuse it
     * rather than silently tweak it. */
    return veil_schnorr_pubkey(pk, sk);
}

veil_status wallet_keys_from_seed(wallet_keys *k, const uint8_t seed[static 32])
{
    memset(k, 0, sizeof *k);
    memcpy(k->seed, seed, 32);
    veil_status st = derive(k->spend_sk, k->spend_pk, seed, WALLET_SPEND_INFO);
    if (st == VEIL_OK) st = derive(k->view_sk, k->view_pk, seed, WALLET_VIEW_INFO);
    if (st != VEIL_OK) veil_wipe(k, sizeof *k);
    return st;
}

veil_status wallet_keys_watch_only(wallet_keys *k, const uint8_t view_sk[static 32],
                                   const uint8_t spend_pk[static 32])
{
    memset(k, 0, sizeof *k);
    k->watch_only = true;
    memcpy(k->view_sk, view_sk, 32);
    memcpy(k->spend_pk, spend_pk, 32);
    veil_status st = veil_schnorr_pubkey(k->view_pk, k->view_sk);
    if (st != VEIL_OK) veil_wipe(k, sizeof *k);
    return st;
}

void wallet_free(wallet *w)
{
    if (w == NULL) return;
    free(w->outputs);
    free(w->history);
    veil_wipe(w, sizeof *w);
}

void wallet_balance_get(const wallet *w, uint64_t now, wallet_balance *b)
{
    memset(b, 0, sizeof *b);
    for (size_t i = 0; i < w->n_outputs; i++) {
        const wallet_output *o = &w->outputs[i];
        if (o->spent) continue;
        if (o->valid_from > now)
            b->time_locked += o->value;
        else
            b->spendable += o->value;
    }
}

void wallet_tx_data_free(wallet_tx_data *d, size_t n)
{
    if (d == NULL) return;
    for (size_t i = 0; i < n; i++) {
        if (d[i].payload != NULL) sodium_memzero(d[i].payload, d[i].payload_len);
        free(d[i].payload);
    }
    free(d);
}

void wallet_query_digest(const uint8_t challenge[static 32], const uint8_t view_pk[static 32],
                         const uint8_t (*txids)[32], size_t n, uint8_t out[static 32])
{
    /* veil_sha256_tagged takes one buffer: build the message. */
    size_t len = 64 + 32 * n;
    uint8_t buf[64 + 32 * WALLET_QUERY_MAX_TXIDS];
    if (n > WALLET_QUERY_MAX_TXIDS) n = WALLET_QUERY_MAX_TXIDS, len = sizeof buf;
    memcpy(buf, challenge, 32);
    memcpy(buf + 32, view_pk, 32);
    for (size_t i = 0; i < n; i++) memcpy(buf + 64 + 32 * i, txids[i], 32);
    veil_sha256_tagged(out, WALLET_QUERY_TAG, buf, len);
}

veil_status wallet_query_sign(const wallet_keys *keys, const uint8_t challenge[static 32],
                              const uint8_t (*txids)[32], size_t n, uint8_t sig[static 64])
{
    ENSURE(n <= WALLET_QUERY_MAX_TXIDS, VEIL_ERR_TQE_TOO_MANY_TXIDS);
    uint8_t digest[32], aux[32];
    wallet_query_digest(challenge, keys->view_pk, txids, n, digest);
    randombytes_buf(aux, sizeof aux);
    return veil_schnorr_sign(sig, digest, sizeof digest, keys->view_sk, aux);
}
