/* The Veil wallet: keys, the encrypted wallet file, the local index, sync and tx
 * building. Host library (veil_wallet); the CLI is src/tools/cmd_wallet.c and the
 * formats are in docs/wallet.md.
 *
 * Keys: a 32-byte master seed; spend key = HKDF-SHA-256(ikm = seed, salt = none,
 * info = "veil/wallet/spend/v1"), view key = HKDF(seed, "veil/wallet/view/v1"), both
 * used as BIP-340 secret keys. The staking account is the spend key (its x-only
 * public key is the wallet's address and its account address). A watch-only wallet
 * holds only the view secret key and the spend public key: it can sync and show
 * balances but not sign (VEIL_ERR_WALLET_WATCH_ONLY).
 *
 * Chain and TQE access go through small interfaces (wallet_chain, wallet_tqe) so the
 * sync and build logic is tested against fakes; the real ones are wallet_rpc.h and
 * wallet_tqe_ratls.h.
 */
#ifndef VEIL_WALLET_WALLET_H
#define VEIL_WALLET_WALLET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "trusted/tx/bloom.h"
#include "trusted/tx/tx.h"

#define WALLET_SPEND_INFO "veil/wallet/spend/v1"
#define WALLET_VIEW_INFO "veil/wallet/view/v1"
#define WALLET_QUERY_TAG "veil/tqe-query/v1"
#define WALLET_QUERY_MAX_TXIDS 64
#define WALLET_COIN UINT64_C(100000000) /* base units per coin (8 decimals) */
#define WALLET_FILE_MAX (16u * 1024u * 1024u)

/* --- amounts ------------------------------------------------------------------ */
/* Parses "12", "1.5", "0.00000001" (at most 8 decimals, no sign, no exponent, no
 * spaces) into base units, exactly. VEIL_ERR_ARG on syntax or > 8 decimals,
 * VEIL_ERR_OVERFLOW above VEIL_TX_MAX_SUPPLY. */
VEIL_MUST_CHECK veil_status wallet_amount_parse(const char *s, uint64_t *out);
/* "1.50000000" form (always 8 decimals). cap >= 32 suffices. */
void wallet_amount_format(char *out, size_t cap, uint64_t v);

/* --- keys --------------------------------------------------------------------- */
typedef struct wallet_keys {
    bool watch_only;
    uint8_t seed[32];     /* zero when watch-only */
    uint8_t spend_sk[32]; /* zero when watch-only */
    uint8_t spend_pk[32]; /* the address and staking account */
    uint8_t view_sk[32];
    uint8_t view_pk[32];
} wallet_keys;

VEIL_MUST_CHECK veil_status wallet_keys_from_seed(wallet_keys *k, const uint8_t seed[static 32]);
/* Watch-only: VEIL_ERR_BAD_KEY if view_sk is not a valid key. */
VEIL_MUST_CHECK veil_status wallet_keys_watch_only(wallet_keys *k, const uint8_t view_sk[static 32],
                                                   const uint8_t spend_pk[static 32]);

/* --- the wallet and its local index ------------------------------------------ */
typedef struct wallet_output {
    uint8_t txid[32];
    uint32_t index;
    uint64_t value;
    uint8_t address[32];
    uint64_t valid_from; /* unix seconds; 0 = not locked */
    uint64_t height;     /* block that created it */
    bool spent;
    uint8_t spent_by[32]; /* txid of the spending tx, when spent */
} wallet_output;

typedef struct wallet_history {
    uint8_t txid[32];
    uint64_t height;
    veil_tx_kind kind;
    uint64_t received; /* sum of this tx's outputs paying the wallet */
    uint64_t spent;    /* sum of the wallet's outputs this tx consumed */
} wallet_history;

typedef struct wallet {
    wallet_keys keys;
    char chain_id[VEIL_TX_MAX_CHAIN_ID_LEN + 1]; /* "" until the first sync */
    uint64_t synced_height;                      /* blocks 1..synced_height are indexed */
    wallet_output *outputs;
    size_t n_outputs, cap_outputs;
    wallet_history *history;
    size_t n_history, cap_history;
} wallet;

/* Wipes keys and frees the index. */
void wallet_free(wallet *w);

typedef struct wallet_balance {
    uint64_t spendable;   /* unspent, not time-locked at `now` */
    uint64_t time_locked; /* unspent, valid_from > now */
} wallet_balance;
void wallet_balance_get(const wallet *w, uint64_t now, wallet_balance *b);

/* --- the wallet file ---------------------------------------------------------- */
typedef struct wallet_kdf {
    uint64_t opslimit;
    uint64_t memlimit;
} wallet_kdf;
/* crypto_pwhash's MODERATE (the default), INTERACTIVE, and the minimum (tests and
 * fuzzing only; selected with VEIL_WALLET_KDF=interactive|min). */
void wallet_kdf_default(wallet_kdf *k);
VEIL_MUST_CHECK veil_status wallet_kdf_from_env(wallet_kdf *k);

/* Serialises and encrypts w (docs/wallet.md) into a malloc'd buffer. */
VEIL_MUST_CHECK veil_status wallet_file_seal(const wallet *w, const char *passphrase, size_t pass_len,
                                             const wallet_kdf *kdf, uint8_t **out, size_t *out_len);
/* Decrypts and parses a wallet file image. VEIL_ERR_BAD_MAGIC, VEIL_ERR_BAD_VERSION,
 * VEIL_ERR_MALFORMED (header or body shape, KDF parameters out of range),
 * VEIL_ERR_WALLET_PASSPHRASE (wrong passphrase or any change to the bytes). On
 * success *kdf (may be NULL) receives the file's KDF parameters. */
VEIL_MUST_CHECK veil_status wallet_file_open(const uint8_t *data, size_t len, const char *passphrase,
                                             size_t pass_len, wallet *w, wallet_kdf *kdf);
/* seal + veil_file_write_atomic (0600) / create_new. */
VEIL_MUST_CHECK veil_status wallet_save(const char *path, const wallet *w, const char *passphrase,
                                        const wallet_kdf *kdf, bool create);
VEIL_MUST_CHECK veil_status wallet_load(const char *path, const char *passphrase, wallet *w,
                                        wallet_kdf *kdf);

/* A bare seed file (devnet and testnet accounts, a TDBE's operator key): 64 hex digits
 * and a newline, mode 0600, written atomically. Reading refuses a file others may read
 * (veil_file_check_private) and anything but 64 hex digits (VEIL_ERR_BAD_KEY), and
 * wipes what it read. */
VEIL_MUST_CHECK veil_status wallet_seed_file_write(const char *path, const uint8_t seed[static 32]);
VEIL_MUST_CHECK veil_status wallet_seed_file_read(const char *path, uint8_t seed[static 32]);

/* --- chain and TQE interfaces --------------------------------------------------- */
typedef struct wallet_chain {
    void *ctx;
    /* Latest committed height, its block time (unix s) and the chain id. */
    veil_status (*tip)(void *ctx, uint64_t *height, uint64_t *time, char chain_id[static 65]);
    /* The block's view-key bloom filter; *present false if the block has none. */
    veil_status (*bloom)(void *ctx, uint64_t height, veil_bloom *bloom, bool *present);
    /* txids of the block's confidential txs (malloc'd array, caller frees). */
    veil_status (*txids)(void *ctx, uint64_t height, const char *chain_id, uint8_t (**txids)[32],
                         size_t *n);
} wallet_chain;

typedef struct wallet_tx_data {
    uint8_t txid[32];
    uint8_t *payload; /* TxPayload bytes, malloc'd */
    size_t payload_len;
} wallet_tx_data;
void wallet_tx_data_free(wallet_tx_data *d, size_t n);

typedef struct wallet_tqe {
    void *ctx;
    /* One QueryRequest (n <= 64): the txs among `txids` that name keys->view_pk. The
     * real client fetches a challenge and signs with wallet_query_sign. *out is
     * malloc'd (free with wallet_tx_data_free). */
    veil_status (*query)(void *ctx, const wallet_keys *keys, const uint8_t (*txids)[32], size_t n,
                         wallet_tx_data **out, size_t *n_out);
    /* EncryptRequest: the ConfidentialTx bytes for a payload. */
    veil_status (*encrypt)(void *ctx, const uint8_t *payload, size_t len, uint64_t fee, uint8_t *wire,
                           size_t cap, size_t *wire_len);
} wallet_tqe;

/* The query signature: BIP-340 by view_sk over SHA-256 tagged "veil/tqe-query/v1"
 * (challenge || view_pk || txid_1 || ... || txid_n). */
VEIL_MUST_CHECK veil_status wallet_query_sign(const wallet_keys *keys, const uint8_t challenge[static 32],
                                              const uint8_t (*txids)[32], size_t n,
                                              uint8_t sig[static 64]);
/* The 32-byte digest that signature covers (n <= 64; more are not hashed). */
void wallet_query_digest(const uint8_t challenge[static 32], const uint8_t view_pk[static 32],
                         const uint8_t (*txids)[32], size_t n, uint8_t out[static 32]);

/* --- sync --------------------------------------------------------------------- */
typedef struct wallet_sync_opts {
    size_t decoys;  /* random txids mixed into each query (0..63) */
    void (*progress)(void *ctx, uint64_t height, uint64_t tip, uint64_t found);
    void *progress_ctx;
    /* Called after each block whose results changed the index (may be NULL): lets the
     * caller save, so an interrupted sync keeps its progress. */
    veil_status (*checkpoint)(void *ctx, const wallet *w);
    void *checkpoint_ctx;
} wallet_sync_opts;

typedef struct wallet_sync_stats {
    uint64_t from, to;        /* heights scanned (from > to: nothing new) */
    uint64_t bloom_hits;      /* blocks whose filter may name the view key */
    uint64_t queried_txids;   /* real txids sent to the TQE */
    uint64_t txs_found;       /* txs the TQE returned that name the view key */
} wallet_sync_stats;

/* Scans blocks synced_height+1 .. tip. Any failure (RPC, TQE, a payload that does not
 * hash to its txid) stops the sync and is returned; synced_height then names the last
 * block fully processed. The chain id is learned on the first sync and must not
 * change afterwards (VEIL_ERR_TX_WRONG_CHAIN_ID). */
VEIL_MUST_CHECK veil_status wallet_sync(wallet *w, const wallet_chain *chain, const wallet_tqe *tqe,
                                        const wallet_sync_opts *opts, wallet_sync_stats *stats);

/* Applies one tx the TQE returned (exposed for tests): records outputs paying the
 * wallet, marks its outputs spent, adds a history entry if the tx concerns it.
 * VEIL_ERR_TX_TXID_MISMATCH if the body does not hash to txid. */
VEIL_MUST_CHECK veil_status wallet_apply_tx(wallet *w, const uint8_t txid[static 32], uint64_t height,
                                            const uint8_t *payload, size_t payload_len);

/* --- building ----------------------------------------------------------------- */
/* The chain's fee parameters (node /params). exact: the chain's rule is "fee equals
 * the minimum" rather than "at least". */
typedef struct wallet_fee {
    uint64_t fee_base, fee_per_byte;
    bool exact;
} wallet_fee;

typedef struct wallet_built {
    veil_tx_body body;
    uint8_t txid[32];
    uint8_t payload[VEIL_TX_MAX_PAYLOAD_LEN];
    size_t payload_len;
    uint64_t fee;
    size_t n_inputs_used;
    uint64_t amount; /* transfer: paid; deposit: bonded; withdraw: output value */
    uint64_t change;
} wallet_built;

/* Records a tx this wallet built once the chain committed it at `height` (what
 * broadcast_tx_commit answers): its inputs are spent, its change is the wallet's and its
 * history entry is there at once, so the balance, the history and the next send see it
 * without waiting for a sync (which then finds the tx already applied). */
VEIL_MUST_CHECK veil_status wallet_record_committed(wallet *w, const wallet_built *b,
                                                    uint64_t height);

/* Transfer `amount` to `to` (view key to_view may be NULL: then only the wallet's own
 * view key is named and the recipient cannot find the tx through a TQE; the CLI never
 * sends one). Inputs are
 * the largest spendable outputs at `now`, added until they cover amount + fee; change
 * (if any) goes back to the wallet. VEIL_ERR_WALLET_WATCH_ONLY, VEIL_ERR_WALLET_FUNDS. */
VEIL_MUST_CHECK veil_status wallet_build_transfer(const wallet *w, const wallet_fee *fee, uint64_t now,
                                                  const uint8_t to[static 32], const uint8_t *to_view,
                                                  uint64_t amount, wallet_built *out);
/* Deposit whole outputs into the wallet's staking account: the largest spendable
 * outputs until they cover at least `amount` + fee; bonds their sum minus the fee
 * (deposits have no change output). */
VEIL_MUST_CHECK veil_status wallet_build_deposit(const wallet *w, const wallet_fee *fee, uint64_t now,
                                                 uint64_t amount, wallet_built *out);
/* Withdraw the account's whole unbonded stake (as the node reports it) into one
 * output to the wallet, locked until unbonded_from. */
VEIL_MUST_CHECK veil_status wallet_build_withdraw(const wallet *w, const wallet_fee *fee,
                                                  uint64_t unbonded, uint64_t unbonded_from,
                                                  uint64_t nonce, wallet_built *out);

#endif
