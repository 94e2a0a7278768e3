/* veil wallet send, deposit, withdraw and unbond (docs/wallet.md). */
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

/* --- send / deposit / withdraw / unbond -------------------------------------------------- */
typedef enum { TX_SEND, TX_DEPOSIT, TX_WITHDRAW } tx_kind;

static int confidential(wopts *o, tx_kind kind)
{
    uint64_t amount = 0;
    uint8_t to[32], to_view[32];
    bool have_view = false;
    if (kind != TX_WITHDRAW) {
        if (o->amount == NULL) return cli_usage_error("%s: --amount COINS is required", o->cmd);
        veil_status a = wallet_amount_parse(o->amount, &amount);
        if (a != VEIL_OK || amount == 0)
            return cli_usage_error("%s: --amount must be a positive decimal number of coins "
                                   "with at most 8 decimals",
                                   o->cmd);
    }
    if (o->fee != NULL && strcmp(o->fee, "auto") != 0)
        return cli_usage_error("%s: only --fee auto is supported (the chain sets the fee)", o->cmd);
    uint64_t max_fee = WALLET_DEFAULT_MAX_FEE;
    if (o->max_fee != NULL && wallet_amount_parse(o->max_fee, &max_fee) != VEIL_OK)
        return cli_usage_error("%s: --max-fee must be a decimal number of coins with at most 8 "
                               "decimals",
                               o->cmd);
    if (kind == TX_SEND) {
        if (o->to == NULL) return cli_usage_error("%s: --to PAYMENT-ADDRESS is required", o->cmd);
        if (wallet_payment_address_decode(o->to, to, to_view) == VEIL_OK) {
            have_view = true;
            if (o->to_view != NULL)
                return cli_usage_error("%s: --to is a payment address, which carries the view "
                                       "key: drop --to-view",
                                       o->cmd);
        } else if (wallet_key_decode(o->to, WALLET_HRP_ADDRESS, to) == VEIL_OK) {
            /* A bare spend key: without the recipient's view key the output is one the
             * recipient's wallet can never find. */
            if (o->to_view == NULL)
                return cli_usage_error("%s: --to is a spend address (veil1...) without a view key: "
                                       "the recipient could never find this payment. Use their "
                                       "payment address (veilpay1..., from 'veil wallet "
                                       "addresses') or add --to-view VIEWKEY",
                                       o->cmd);
            if (wallet_key_decode(o->to_view, WALLET_HRP_VIEW, to_view) != VEIL_OK) {
                veil_error_detail_set("--to-view: not a veilview1... key");
                return wcli_fail(o, VEIL_ERR_WALLET_ADDRESS);
            }
            have_view = true;
        } else {
            veil_error_detail_set("--to: not a payment address (veilpay1...) or address (veil1...)");
            return wcli_fail(o, VEIL_ERR_WALLET_ADDRESS);
        }
    }
    wallet w;
    wallet_kdf kdf;
    veil_status st = wcli_open(o, &w, &kdf);
    if (st != VEIL_OK) return wcli_fail(o, st);
    wallet_rpc r;
    tqe_conn *t = calloc(1, sizeof *t);
    wallet_built *b = malloc(sizeof *b);
    Veil__Node__Account *acct = NULL;
    uint8_t *tx = malloc(NODE_CHAIN_TX_MAX);
    uint8_t *wire = malloc(VEIL_TX_MAX_WIRE_LEN);
    size_t tx_len = 0, wire_len = 0;
    uint64_t tip = 0, now = 0, height = 0;
    char cid[65];
    wallet_fee fee;
    ENSURE_OUT(t != NULL && b != NULL && tx != NULL && wire != NULL, VEIL_ERR_NOMEM);
    ENSURE_OUT(!w.keys.watch_only, VEIL_ERR_WALLET_WATCH_ONLY);
    TRY_OUT(wcli_rpc_open(o, &r));
    TRY_OUT(wallet_rpc_tip(&r, &tip, &now, cid));
    if (w.chain_id[0] == '\0') snprintf(w.chain_id, sizeof w.chain_id, "%s", cid);
    if (strcmp(w.chain_id, cid) != 0) {
        veil_error_detail_set("wallet is for chain \"%s\", the node serves \"%s\"", w.chain_id, cid);
        st = VEIL_ERR_TX_WRONG_CHAIN_ID;
        goto out;
    }
    TRY_OUT(wallet_rpc_fee(&r, &fee));
    if (kind == TX_SEND) {
        TRY_OUT(wallet_build_transfer(&w, &fee, now, to, have_view ? to_view : NULL, amount, b));
    } else if (kind == TX_DEPOSIT) {
        TRY_OUT(wallet_build_deposit(&w, &fee, now, amount, b));
    } else {
        st = wallet_rpc_account(&r, w.keys.spend_pk, &acct);
        if (st == VEIL_ERR_NOT_FOUND) veil_error_detail_set("this wallet has no staking account");
        TRY_OUT(st);
        if (acct->unbonded == 0) {
            veil_error_detail_set("nothing unbonded to withdraw (run 'veil wallet unbond' first)");
            st = VEIL_ERR_WALLET_FUNDS;
            goto out;
        }
        if (acct->unbonded_from > now) {
            char from[CLI_TIME_STR_MAX], at[CLI_TIME_STR_MAX];
            veil_error_detail_set("the unbonded stake may be withdrawn from %s (chain time %s)",
                                  cli_time_format(from, acct->unbonded_from),
                                  cli_time_format(at, now));
            st = VEIL_ERR_TX_NOT_YET_UNBONDED;
            goto out;
        }
        TRY_OUT(wallet_build_withdraw(&w, &fee, acct->unbonded, acct->unbonded_from, acct->nonce, b));
    }
    /* The fee schedule came from the RPC, which nothing authenticates: a lying node could
     * make the wallet pay any fee. Nothing above the user's ceiling leaves the wallet. */
    if (b->fee > max_fee) {
        char f[32], m[32];
        wallet_amount_format(f, sizeof f, b->fee);
        wallet_amount_format(m, sizeof m, max_fee);
        veil_error_detail_set("the fee would be %s, above --max-fee %s (the node's fee "
                              "schedule: base %llu, %llu per byte); nothing was sent",
                              f, m, (unsigned long long)fee.fee_base,
                              (unsigned long long)fee.fee_per_byte);
        st = VEIL_ERR_WALLET_FEE;
        goto out;
    }
    /* Only now, with a signed tx in hand, talk to the TQE: its attestation is verified
     * in the handshake before the payload leaves this process. */
    /* A key rotation between the encrypt and the block (its previous key's grace period
     * ended: 739) refuses the tx without committing anything; it is encrypted again
     * under the new key (same body, same txid) and sent once more. */
    for (unsigned attempt = 0;; attempt++) {
        uint32_t refused = 0;
        TRY_OUT(wcli_tqe_open(o, t));
        st = t->iface.encrypt(t->iface.ctx, b->payload, b->payload_len, b->fee, wire,
                              VEIL_TX_MAX_WIRE_LEN, &wire_len);
        wallet_tqe_close(t->client);
        t->client = NULL;
        TRY_OUT(st);
        TRY_OUT(node_confidential_tx_encode(wire, wire_len, tx, NODE_CHAIN_TX_MAX, &tx_len));
        st = wallet_rpc_broadcast(&r, tx, tx_len, &height, &refused);
        if (st == VEIL_OK || refused != VEIL_ERR_TX_KEY_EPOCH_EXPIRED || attempt == 2) break;
    }
    TRY_OUT(st);
    /* Committed: spends, change and history now, not at the next sync. */
    TRY_OUT(wallet_record_committed(&w, b, height));
    TRY_OUT(wcli_save(o, &w, &kdf));
    if (o->json) {
        wcli_emit(json_pack("{s:o, s:I, s:o, s:o, s:o, s:I}", "txid", wcli_jhex(b->txid, 32), "height",
                       (json_int_t)height, "amount", wcli_jamount(b->amount), "fee", wcli_jamount(b->fee),
                       "change", wcli_jamount(b->change), "inputs", (json_int_t)b->body.n_inputs));
    } else {
        char a[32], f[32], id[65];
        wallet_amount_format(a, sizeof a, b->amount);
        wallet_amount_format(f, sizeof f, b->fee);
        veil_hex_encode(id, b->txid, 32);
        const char *what = kind == TX_SEND ? "sent" : kind == TX_DEPOSIT ? "bonded" : "withdrew";
        printf("%s %s (fee %s) in block %llu\ntxid %s\n", what, a, f, (unsigned long long)height, id);
        if (kind == TX_WITHDRAW) {
            char until[CLI_TIME_STR_MAX];
            printf("the output is time-locked until %s\n",
                   cli_time_format(until, b->body.outputs[0].valid_from));
        }
    }
out:
    if (t != NULL) wallet_tqe_close(t->client);
    free(t);
    if (b != NULL) sodium_memzero(b, sizeof *b);
    free(b);
    free(tx);
    free(wire);
    if (acct) veil__node__account__free_unpacked(acct, NULL);
    wallet_free(&w);
    return st == VEIL_OK ? 0 : wcli_fail(o, st);
}

int c_send(wopts *o) { return confidential(o, TX_SEND); }
int c_deposit(wopts *o) { return confidential(o, TX_DEPOSIT); }
int c_withdraw(wopts *o) { return confidential(o, TX_WITHDRAW); }

int c_unbond(wopts *o)
{
    uint64_t amount;
    if (o->amount == NULL || wallet_amount_parse(o->amount, &amount) != VEIL_OK || amount == 0)
        return cli_usage_error("wallet unbond: --amount must be a positive number of coins");
    wallet w;
    wallet_kdf kdf;
    veil_status st = wcli_open(o, &w, &kdf);
    if (st != VEIL_OK) return wcli_fail(o, st);
    wallet_rpc r;
    Veil__Node__Account *acct = NULL;
    node_public_tx *pub = calloc(1, sizeof *pub);
    uint8_t *tx = malloc(NODE_CHAIN_TX_MAX);
    size_t tx_len;
    uint64_t tip, now, height = 0;
    char cid[65];
    ENSURE_OUT(pub != NULL && tx != NULL, VEIL_ERR_NOMEM);
    ENSURE_OUT(!w.keys.watch_only, VEIL_ERR_WALLET_WATCH_ONLY);
    TRY_OUT(wcli_rpc_open(o, &r));
    TRY_OUT(wallet_rpc_tip(&r, &tip, &now, cid));
    st = wallet_rpc_account(&r, w.keys.spend_pk, &acct);
    if (st == VEIL_ERR_NOT_FOUND) veil_error_detail_set("this wallet has no staking account");
    TRY_OUT(st);
    if (acct->bonded < amount) {
        char have[32];
        wallet_amount_format(have, sizeof have, acct->bonded);
        veil_error_detail_set("only %s is bonded", have);
        st = VEIL_ERR_WALLET_FUNDS;
        goto out;
    }
    pub->kind = NODE_PUBLIC_UNBOND;
    memcpy(pub->account, w.keys.spend_pk, 32);
    pub->nonce = acct->nonce;
    pub->amount = amount;
    TRY_OUT(node_public_tx_sign(pub, cid, w.keys.spend_sk));
    TRY_OUT(node_public_tx_encode(pub, tx, NODE_CHAIN_TX_MAX, &tx_len));
    TRY_OUT(wallet_rpc_broadcast(&r, tx, tx_len, &height, NULL));
    if (o->json) {
        wcli_emit(json_pack("{s:o, s:I}", "unbonded", wcli_jamount(amount), "height", (json_int_t)height));
    } else {
        char a[32];
        wallet_amount_format(a, sizeof a, amount);
        printf("unbonding %s (public tx) in block %llu; withdraw it after the unbonding period "
               "with 'veil wallet withdraw'\n",
               a, (unsigned long long)height);
    }
out:
    free(pub);
    free(tx);
    if (acct) veil__node__account__free_unpacked(acct, NULL);
    wallet_free(&w);
    return st == VEIL_OK ? 0 : wcli_fail(o, st);
}

