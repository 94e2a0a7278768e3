/* What the parts of `veil wallet` share (cmd_wallet.c: options, passphrase, shared
 * steps and dispatch; cmd_wallet_keys.c: create, restore, addresses, balance, history,
 * sync; cmd_wallet_pay.c: send, deposit, withdraw, unbond). */
#ifndef VEIL_TOOLS_CMD_WALLET_H
#define VEIL_TOOLS_CMD_WALLET_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "host/ratls/ratls_verify.h"
#include "tee/tee.h"
#include "wallet/wallet.h"
#include "wallet/wallet_rpc.h"
#include "wallet/wallet_tqe_client.h"

#define PASS_MAX 1024

/* Defaults of the TQE attestation policy: the product id and SVN of the TQE this wallet
 * was built with; the TCB statuses accepted are UpToDate unless --tqe-accept-tcb. */
#define STR_(x) #x
#define STR(x) STR_(x)
#define TQE_PRODID_STR STR(TQE_PRODID)
#define TQE_SVN_STR STR(TQE_SVN)
/* The most a confidential tx may pay unless --max-fee says otherwise: far above any fee
 * a sane schedule asks for a 16 KiB payload, far below what a lying node would want. */
#define WALLET_DEFAULT_MAX_FEE (WALLET_COIN / 100)
#define WALLET_DEFAULT_MAX_FEE_STR "0.01"

typedef struct wopts {
    const char *cmd; /* "wallet send" */
    const char *wallet;
    const char *pass_file;
    char rpc[512];
    char tqe[256];
    char tqe_collateral[1024];
    char tqe_mrsigner[80];
    char tqe_mrenclave[80];
    long tqe_prodid;  /* -1: not given (TQE_PRODID) */
    long tqe_min_svn; /* -1: not given (TQE_SVN) */
    char tqe_accept_tcb[256]; /* Intel's status names, comma-separated; "" UpToDate only */
    char tqe_attestation[8];  /* "dcap" (default) or "ias" */
    char tqe_ias_root[1024];  /* with "ias": the pinned report-signing root (PEM file) */
    bool tqe_allow_debug;
    bool json;
    bool progress;
    long decoys;
    /* command-specific */
    bool words, hex, offline, export_view;
    const char *watch_view, *watch_spend, *seed_words, *seed_hex, *to, *to_view, *amount, *fee;
    const char *max_fee;
    char passphrase[PASS_MAX];
} wopts;

typedef struct tqe_conn {
    uint8_t mrsigner[TEE_MEASUREMENT_LEN], mrenclave[TEE_MEASUREMENT_LEN];
    ratls_policy policy;
    wallet_tqe_client *client;
    wallet_tqe iface;
} tqe_conn;

int wcli_fail(const wopts *o, veil_status st);
void wcli_emit(json_t *j);
json_t *wcli_jamount(uint64_t v);
json_t *wcli_jhex(const uint8_t *p, size_t n);
veil_status wcli_passphrase_get(wopts *o, bool confirm);
veil_status wcli_open(wopts *o, wallet *w, wallet_kdf *kdf);
veil_status wcli_save(wopts *o, const wallet *w, const wallet_kdf *kdf);
veil_status wcli_rpc_open(const wopts *o, wallet_rpc *r);
veil_status wcli_tqe_open(const wopts *o, tqe_conn *t);

/* The subcommands. */
int c_create(wopts *o);
int c_restore(wopts *o);
int c_addresses(wopts *o);
int c_balance(wopts *o);
int c_history(wopts *o);
int c_sync(wopts *o);
int c_send(wopts *o);
int c_deposit(wopts *o);
int c_withdraw(wopts *o);
int c_unbond(wopts *o);

#endif
