/* veil wallet create, restore, addresses, balance, history and sync (docs/wallet.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "common/hex.h"
#include "crypto/crypto.h"
#include "chain/node_tx.h"
#include "hostutil/fileio.h"
#include "tools/cli.h"
#include "tools/cmd_wallet.h"
#include "tools/commands.h"
#include "wallet/bech32m.h"
#include "wallet/bip39.h"
#include "wallet/wallet.h"
#include "wallet/wallet_rpc.h"
#include "wallet/wallet_tqe_client.h"
#include "trusted/tqe/tqe_abi.h"

/* --- create / restore ---------------------------------------------------------------- */
static veil_status read_arg_or_stdin(const char *v, char *out, size_t cap)
{
    if (strcmp(v, "-") != 0) {
        ENSURE(strlen(v) < cap, VEIL_ERR_TOO_LARGE);
        snprintf(out, cap, "%s", v);
        return VEIL_OK;
    }
    ENSURE(fgets(out, (int)cap, stdin) != NULL, VEIL_ERR_IO);
    out[strcspn(out, "\r\n")] = '\0';
    return VEIL_OK;
}

static int finish_new(wopts *o, wallet *w, bool show_seed)
{
    wallet_kdf kdf;
    veil_status st = wallet_kdf_from_env(&kdf);
    if (st == VEIL_OK) st = wcli_passphrase_get(o, true);
    if (st == VEIL_OK) st = wallet_save(o->wallet, w, o->passphrase, &kdf, true);
    if (st != VEIL_OK) {
        if (st == VEIL_ERR_EXISTS) veil_error_detail_set("%s already exists", o->wallet);
        wallet_free(w);
        return wcli_fail(o, st);
    }
    char addr[WALLET_KEY_STR_MAX], view[WALLET_KEY_STR_MAX];
    if (wallet_key_encode(addr, WALLET_HRP_ADDRESS, w->keys.spend_pk) != VEIL_OK ||
        wallet_key_encode(view, WALLET_HRP_VIEW, w->keys.view_pk) != VEIL_OK) {
        wallet_free(w);
        return wcli_fail(o, VEIL_ERR_INTERNAL);
    }
    char words[WALLET_MNEMONIC_MAX] = "", hex[65] = "";
    if (show_seed) {
        wallet_mnemonic_from_entropy(words, w->keys.seed);
        veil_hex_encode(hex, w->keys.seed, 32);
    }
    if (o->json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:b}", "wallet", o->wallet, "address", addr,
                              "view_key", view, "account", wcli_jhex(w->keys.spend_pk, 32),
                              "watch_only", w->keys.watch_only);
        if (show_seed) {
            if (o->hex)
                json_object_set_new(j, "seed_hex", json_string(hex));
            else
                json_object_set_new(j, "seed_words", json_string(words));
        }
        wcli_emit(j);
    } else {
        printf("wallet:   %s%s\naddress:  %s\nview key: %s\n", o->wallet,
               w->keys.watch_only ? " (watch-only)" : "", addr, view);
        if (show_seed) {
            printf("\nWrite down this seed: it is the only way to restore this wallet.\n\n  %s\n",
                   o->hex ? hex : words);
        }
    }
    sodium_memzero(words, sizeof words);
    sodium_memzero(hex, sizeof hex);
    wallet_free(w);
    return 0;
}

int c_create(wopts *o)
{
    wallet w;
    memset(&w, 0, sizeof w);
    if (o->watch_view != NULL || o->watch_spend != NULL) {
        uint8_t vsk[32], spk[32];
        if (o->watch_view == NULL || o->watch_spend == NULL)
            return cli_usage_error("wallet create: --watch-only-from needs --spend-pubkey");
        if (veil_hex_decode_exact(vsk, 32, o->watch_view, strlen(o->watch_view)) != VEIL_OK)
            return cli_usage_error("wallet create: --watch-only-from must be the 64-hex view "
                                   "secret ('veil wallet addresses --export-view-secret')");
        if (wallet_key_decode(o->watch_spend, WALLET_HRP_ADDRESS, spk) != VEIL_OK &&
            veil_hex_decode_exact(spk, 32, o->watch_spend, strlen(o->watch_spend)) != VEIL_OK)
            return cli_usage_error("wallet create: --spend-pubkey must be a veil1... address or "
                                   "64 hex characters");
        veil_status st = wallet_keys_watch_only(&w.keys, vsk, spk);
        sodium_memzero(vsk, sizeof vsk);
        if (st != VEIL_OK) return wcli_fail(o, st);
        return finish_new(o, &w, false);
    }
    uint8_t seed[32];
    randombytes_buf(seed, sizeof seed);
    veil_status st = wallet_keys_from_seed(&w.keys, seed);
    sodium_memzero(seed, sizeof seed);
    if (st != VEIL_OK) return wcli_fail(o, st);
    return finish_new(o, &w, true);
}

int c_restore(wopts *o)
{
    if ((o->seed_words == NULL) == (o->seed_hex == NULL))
        return cli_usage_error("wallet restore: give exactly one of --seed-words, --seed-hex");
    char buf[1024];
    uint8_t seed[32];
    veil_status st = read_arg_or_stdin(o->seed_words ? o->seed_words : o->seed_hex, buf, sizeof buf);
    if (st == VEIL_OK) {
        if (o->seed_words != NULL) {
            st = wallet_mnemonic_to_entropy(buf, seed);
        } else if (veil_hex_decode_exact(seed, 32, buf, strlen(buf)) != VEIL_OK) {
            veil_error_detail_set("--seed-hex must be 64 hex characters");
            st = VEIL_ERR_WALLET_SEED;
        }
    }
    sodium_memzero(buf, sizeof buf);
    if (st != VEIL_OK) return wcli_fail(o, st);
    wallet w;
    memset(&w, 0, sizeof w);
    st = wallet_keys_from_seed(&w.keys, seed);
    sodium_memzero(seed, sizeof seed);
    if (st != VEIL_OK) return wcli_fail(o, st);
    return finish_new(o, &w, false);
}

/* --- addresses / balance / history ----------------------------------------------------- */
int c_addresses(wopts *o)
{
    wallet w;
    veil_status st = wcli_open(o, &w, NULL);
    if (st != VEIL_OK) return wcli_fail(o, st);
    char addr[WALLET_KEY_STR_MAX], view[WALLET_KEY_STR_MAX], pay[WALLET_PAY_STR_MAX], vsk[65] = "";
    if (wallet_key_encode(addr, WALLET_HRP_ADDRESS, w.keys.spend_pk) != VEIL_OK ||
        wallet_key_encode(view, WALLET_HRP_VIEW, w.keys.view_pk) != VEIL_OK ||
        wallet_payment_address_encode(pay, w.keys.spend_pk, w.keys.view_pk) != VEIL_OK) {
        wallet_free(&w);
        return wcli_fail(o, VEIL_ERR_INTERNAL);
    }
    if (o->export_view) veil_hex_encode(vsk, w.keys.view_sk, 32);
    if (o->json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:b}", "payment_address", pay, "address", addr,
                              "view_key", view, "account", wcli_jhex(w.keys.spend_pk, 32),
                              "watch_only", w.keys.watch_only);
        if (o->export_view) json_object_set_new(j, "view_secret", json_string(vsk));
        wcli_emit(j);
    } else {
        char acct[65];
        veil_hex_encode(acct, w.keys.spend_pk, 32);
        printf("payment address (give this to be paid):\n  %s\n"
               "address:  %s\nview key: %s\naccount:  %s\n",
               pay, addr, view, acct);
        if (o->export_view)
            printf("view secret (lets its holder see all your transactions): %s\n", vsk);
    }
    sodium_memzero(vsk, sizeof vsk);
    wallet_free(&w);
    return 0;
}

int c_balance(wopts *o)
{
    wallet w;
    veil_status st = wcli_open(o, &w, NULL);
    if (st != VEIL_OK) return wcli_fail(o, st);
    uint64_t now = (uint64_t)time(NULL), tip = 0;
    Veil__Node__Account *acct = NULL;
    bool have_acct = false;
    if (!o->offline) {
        wallet_rpc r;
        char cid[65];
        st = wcli_rpc_open(o, &r);
        if (st == VEIL_OK) st = wallet_rpc_tip(&r, &tip, &now, cid); /* locks use block time */
        if (st == VEIL_OK) {
            st = wallet_rpc_account(&r, w.keys.spend_pk, &acct);
            if (st == VEIL_ERR_NOT_FOUND) st = VEIL_OK; /* never staked */
            have_acct = true;
        }
        if (st != VEIL_OK) {
            wallet_free(&w);
            return wcli_fail(o, st);
        }
    }
    wallet_balance b;
    wallet_balance_get(&w, now, &b);
    uint64_t bonded = acct ? acct->bonded : 0, unbonded = acct ? acct->unbonded : 0;
    uint64_t unbonded_from = acct ? acct->unbonded_from : 0;
    if (o->json) {
        json_t *j = json_pack("{s:o, s:o, s:I, s:I}", "spendable", wcli_jamount(b.spendable),
                              "time_locked", wcli_jamount(b.time_locked), "synced_height",
                              (json_int_t)w.synced_height, "chain_height", (json_int_t)tip);
        if (have_acct)
            json_object_set_new(j, "staked",
                                json_pack("{s:o, s:o, s:I}", "bonded", wcli_jamount(bonded), "unbonded",
                                          wcli_jamount(unbonded), "unbonded_from",
                                          (json_int_t)unbonded_from));
        wcli_emit(j);
    } else {
        char s1[32], s2[32];
        wallet_amount_format(s1, sizeof s1, b.spendable);
        wallet_amount_format(s2, sizeof s2, b.time_locked);
        printf("spendable:   %s\ntime-locked: %s\n", s1, s2);
        if (have_acct) {
            wallet_amount_format(s1, sizeof s1, bonded);
            wallet_amount_format(s2, sizeof s2, unbonded);
            char until[CLI_TIME_STR_MAX];
            printf("staked:      %s bonded, %s unbonded", s1, s2);
            if (unbonded > 0 && unbonded_from > now)
                printf(" (withdrawable from %s)", cli_time_format(until, unbonded_from));
            printf("\n");
        }
        printf("synced to block %llu", (unsigned long long)w.synced_height);
        if (tip > w.synced_height) printf(" of %llu (run 'veil wallet sync')", (unsigned long long)tip);
        printf("\n");
    }
    if (acct) veil__node__account__free_unpacked(acct, NULL);
    wallet_free(&w);
    return 0;
}

static const char *kind_name(veil_tx_kind k)
{
    switch (k) {
    case VEIL_TX_KIND_TRANSFER: return "transfer";
    case VEIL_TX_KIND_DEPOSIT: return "deposit";
    case VEIL_TX_KIND_WITHDRAW: return "withdraw";
    default: return "?";
    }
}

int c_history(wopts *o)
{
    wallet w;
    veil_status st = wcli_open(o, &w, NULL);
    if (st != VEIL_OK) return wcli_fail(o, st);
    json_t *arr = json_array();
    if (!o->json) printf("%-8s %-9s %-20s %-20s %s\n", "height", "kind", "received", "spent", "txid");
    for (size_t i = 0; i < w.n_history; i++) {
        const wallet_history *h = &w.history[i];
        if (o->json) {
            json_array_append_new(arr, json_pack("{s:I, s:s, s:o, s:o, s:o}", "height",
                                                 (json_int_t)h->height, "kind", kind_name(h->kind),
                                                 "received", wcli_jamount(h->received), "spent",
                                                 wcli_jamount(h->spent), "txid", wcli_jhex(h->txid, 32)));
        } else {
            char r[32], s[32], id[65];
            wallet_amount_format(r, sizeof r, h->received);
            wallet_amount_format(s, sizeof s, h->spent);
            veil_hex_encode(id, h->txid, 32);
            printf("%-8llu %-9s %-20s %-20s %s\n", (unsigned long long)h->height,
                   kind_name(h->kind), r, s, id);
        }
    }
    if (o->json)
        wcli_emit(json_pack("{s:o, s:I}", "history", arr, "synced_height", (json_int_t)w.synced_height));
    else
        json_decref(arr);
    wallet_free(&w);
    return 0;
}

/* --- sync ------------------------------------------------------------------------------ */
typedef struct sync_ctx {
    wopts *o;
    const wallet_kdf *kdf;
    bool show;
} sync_ctx;

static void on_progress(void *ctx, uint64_t h, uint64_t tip, uint64_t found)
{
    sync_ctx *s = ctx;
    if (!s->show) return;
    if (h != tip && h % 16 != 0) return;
    fprintf(stderr, "\rsync: block %llu/%llu (%3llu%%), %llu tx%s found ", (unsigned long long)h,
            (unsigned long long)tip, (unsigned long long)(tip ? 100 * h / tip : 100),
            (unsigned long long)found, found == 1 ? "" : "s");
    fflush(stderr);
}

static veil_status on_checkpoint(void *ctx, const wallet *w)
{
    sync_ctx *s = ctx;
    return wcli_save(s->o, w, s->kdf);
}

int c_sync(wopts *o)
{
    if (o->decoys < 0) o->decoys = 8;
    if (o->decoys > WALLET_QUERY_MAX_TXIDS - 1)
        return cli_usage_error("wallet sync: --decoys must be at most 63");
    wallet w;
    wallet_kdf kdf;
    veil_status st = wcli_open(o, &w, &kdf);
    if (st != VEIL_OK) return wcli_fail(o, st);
    wallet_rpc r;
    wallet_chain chain;
    tqe_conn *t = calloc(1, sizeof *t);
    if (t == NULL) st = VEIL_ERR_NOMEM;
    if (st == VEIL_OK) st = wcli_rpc_open(o, &r);
    if (st == VEIL_OK) st = wcli_tqe_open(o, t);
    if (st != VEIL_OK) {
        free(t);
        wallet_free(&w);
        return wcli_fail(o, st);
    }
    wallet_rpc_chain(&r, &chain);
    sync_ctx sc = {o, &kdf, o->progress || (!o->json && isatty(STDERR_FILENO))};
    wallet_sync_opts opts = {.decoys = (size_t)o->decoys, .progress = on_progress,
                             .progress_ctx = &sc, .checkpoint = on_checkpoint,
                             .checkpoint_ctx = &sc};
    wallet_sync_stats stats;
    uint64_t start = w.synced_height;
    st = wallet_sync(&w, &chain, &t->iface, &opts, &stats);
    if (sc.show) fputc('\n', stderr);
    /* Keep what was indexed even when the sync stopped early. */
    veil_status st2 = w.synced_height != start ? wcli_save(o, &w, &kdf) : VEIL_OK;
    wallet_tqe_close(t->client);
    free(t);
    if (st == VEIL_OK) st = st2;
    if (st != VEIL_OK) {
        char d[512];
        snprintf(d, sizeof d, "%s", veil_error_detail());
        veil_error_detail_set("%s%sstopped after block %llu", d, d[0] ? "; " : "",
                              (unsigned long long)w.synced_height);
        wallet_free(&w);
        return wcli_fail(o, st);
    }
    wallet_balance b;
    wallet_balance_get(&w, (uint64_t)time(NULL), &b);
    if (o->json) {
        wcli_emit(json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}", "from", (json_int_t)stats.from, "to",
                       (json_int_t)stats.to, "bloom_hits", (json_int_t)stats.bloom_hits,
                       "queried_txids", (json_int_t)stats.queried_txids, "txs_found",
                       (json_int_t)stats.txs_found, "spendable", wcli_jamount(b.spendable)));
    } else if (stats.from > stats.to) {
        printf("already synced to block %llu\n", (unsigned long long)w.synced_height);
    } else {
        printf("synced blocks %llu..%llu: %llu bloom hit%s, %llu txid%s queried, %llu tx%s found\n",
               (unsigned long long)stats.from, (unsigned long long)stats.to,
               (unsigned long long)stats.bloom_hits, stats.bloom_hits == 1 ? "" : "s",
               (unsigned long long)stats.queried_txids, stats.queried_txids == 1 ? "" : "s",
               (unsigned long long)stats.txs_found, stats.txs_found == 1 ? "" : "s");
    }
    wallet_free(&w);
    return 0;
}

