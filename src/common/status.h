/* Veil status codes: one enum for the whole project.
 *
 * Every fallible function returns a veil_status and puts results in out-params.
 * Codes are grouped by category (the hundreds digit): usage, input/protocol,
 * crypto/authentication, I/O, internal, TEE, transaction validation, TVE.
 * Each code has one fixed human-readable message (veil_status_str). Messages never
 * contain secret or plaintext data.
 *
 * This header is portable: it is used by the trusted core and by hosts.
 */
#ifndef VEIL_COMMON_STATUS_H
#define VEIL_COMMON_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#define VEIL_MUST_CHECK __attribute__((warn_unused_result))

/* X(name, value, message). Append new codes within their category block. */
#define VEIL_STATUS_LIST(X)                                                              \
    X(VEIL_OK, 0, "ok")                                                                  \
    /* usage (1xx) */                                                                    \
    X(VEIL_ERR_USAGE, 100, "invalid usage")                                              \
    X(VEIL_ERR_ARG, 101, "invalid argument")                                             \
    /* untrusted input / protocol (2xx) */                                               \
    X(VEIL_ERR_TRUNCATED, 200, "input truncated")                                        \
    X(VEIL_ERR_TRAILING, 201, "unexpected trailing bytes after message")                 \
    X(VEIL_ERR_TOO_LARGE, 202, "input exceeds its size limit")                           \
    X(VEIL_ERR_MALFORMED, 203, "malformed input")                                        \
    X(VEIL_ERR_BAD_MAGIC, 204, "unrecognised format (bad magic)")                        \
    X(VEIL_ERR_BAD_VERSION, 205, "unsupported format version")                           \
    X(VEIL_ERR_LIMIT, 206, "a count exceeds its limit")                                  \
    X(VEIL_ERR_BAD_HEX, 207, "invalid hexadecimal string")                               \
    X(VEIL_ERR_DECODE, 208, "message could not be decoded")                              \
    X(VEIL_ERR_OUT_OF_ORDER, 209, "request out of order")                                \
    /* crypto and authentication (3xx) */                                                \
    X(VEIL_ERR_CRYPTO, 300, "cryptographic library failure")                             \
    X(VEIL_ERR_AUTH, 301, "authentication failed")                                       \
    X(VEIL_ERR_BAD_SIGNATURE, 302, "signature verification failed")                      \
    X(VEIL_ERR_BAD_KEY, 303, "invalid key")                                              \
    /* I/O and environment (4xx) */                                                      \
    X(VEIL_ERR_IO, 400, "input/output error")                                            \
    X(VEIL_ERR_NOT_FOUND, 401, "not found")                                              \
    X(VEIL_ERR_EXISTS, 402, "already exists")                                            \
    X(VEIL_ERR_PERMISSION, 403, "file permissions are unsafe or access denied")          \
    X(VEIL_ERR_TIMEOUT, 404, "timed out")                                                \
    X(VEIL_ERR_DB, 405, "database error")                                                \
    X(VEIL_ERR_NET, 406, "network error")                                                \
    /* internal (5xx) */                                                                 \
    X(VEIL_ERR_INTERNAL, 500, "internal error")                                          \
    X(VEIL_ERR_NOMEM, 501, "out of memory")                                              \
    X(VEIL_ERR_BUFFER_TOO_SMALL, 502, "output buffer too small")                         \
    X(VEIL_ERR_OVERFLOW, 503, "arithmetic overflow")                                     \
    X(VEIL_ERR_REMOTE_UNKNOWN, 504, "a peer reported a status code this build does not know") \
    /* TEE layer (6xx) */                                                                \
    X(VEIL_ERR_TEE_IMAGE_FORMAT, 600, "enclave image is not a signed Veil enclave")      \
    X(VEIL_ERR_TEE_MEASUREMENT, 601,                                                     \
      "enclave image measurement does not match its signature structure")                \
    X(VEIL_ERR_TEE_SIGNATURE, 602,                                                       \
      "enclave signature structure is not validly signed by its signer key")             \
    X(VEIL_ERR_TEE_LOAD, 603, "enclave image could not be loaded")                       \
    X(VEIL_ERR_TEE_NO_ECALL, 604, "no such ecall in the enclave's table")                \
    X(VEIL_ERR_TEE_NO_OCALL, 605, "no such ocall in the host's table")                   \
    X(VEIL_ERR_TEE_SVN, 606, "requested security version is above the enclave's own")    \
    X(VEIL_ERR_TEE_POLICY, 607, "unknown key policy or key name")                        \
    X(VEIL_ERR_TEE_UNSEAL, 608, "sealed data failed authentication")                     \
    X(VEIL_ERR_TEE_REPORT_MAC, 609, "report MAC does not verify for this enclave")       \
    X(VEIL_ERR_TEE_QUOTE_FORMAT, 610, "quote is malformed")                              \
    X(VEIL_ERR_TEE_QUOTE_CHAIN, 611,                                                     \
      "quote's attestation key is not certified by the pinned provisioning root")        \
    X(VEIL_ERR_TEE_QUOTE_SIGNATURE, 612, "quote signature does not verify")              \
    X(VEIL_ERR_TEE_PLATFORM, 613,                                                        \
      "platform is not provisioned (run 'veil platform init')")                          \
    X(VEIL_ERR_TEE_ENCLAVE_FAULT, 614, "enclave call failed inside the enclave")         \
    X(VEIL_ERR_TEE_OUT_OF_MEMORY, 615, "enclave memory budget exhausted")                \
    X(VEIL_ERR_TEE_PRODID, 616, "sealed data belongs to another product id")             \
    X(VEIL_ERR_TEE_SIGNER_KEY, 617, "signer key file is invalid")                        \
    X(VEIL_ERR_TEE_UNSUPPORTED, 618, "this TEE backend does not provide the capability")                        \
    X(VEIL_ERR_TEE_COLLATERAL, 619,                                                      \
      "attestation collateral is malformed or not signed under the pinned root")         \
    X(VEIL_ERR_TEE_COLLATERAL_EXPIRED, 620,                                              \
      "attestation collateral or certificate is outside its validity at that time")      \
    X(VEIL_ERR_TEE_QE_IDENTITY, 621, "the quoting enclave is not the one the QE identity names") \
    X(VEIL_ERR_TEE_TCB_UNKNOWN, 622, "no TCB level of the collateral matches the platform") \
    X(VEIL_ERR_TEE_PCK_REVOKED, 623, "the platform's PCK certificate is revoked")         \
    X(VEIL_ERR_TEE_TCB_REFUSED, 624, "the platform's TCB status is not accepted by policy") \
    X(VEIL_ERR_TEE_IAS_REPORT, 625,                                                      \
      "attestation report is malformed or not signed under the pinned report-signing root") \
    X(VEIL_ERR_TEE_IAS_MISMATCH, 626, "attestation report is not for this quote or nonce") \
    X(VEIL_ERR_TEE_IAS_UNAVAILABLE, 627, "the attestation service or proxy did not answer") \
    X(VEIL_ERR_TEE_IAS_REFUSED, 628, "the attestation service or proxy refused the request") \
    X(VEIL_ERR_TEE_COUNTER, 629, "the platform's monotonic counter store failed")        \
    /* transaction validation (7xx) */                                                   \
    X(VEIL_ERR_TX_MALFORMED, 700, "transaction is not a well-formed canonical encoding") \
    X(VEIL_ERR_TX_TOO_LARGE, 701,                                                        \
      "transaction or its ciphertext exceeds its size limit")                            \
    X(VEIL_ERR_TX_BODY_TOO_LARGE, 702, "transaction body exceeds 8192 bytes")            \
    X(VEIL_ERR_TX_TOO_MANY_INPUTS, 703, "transaction has more than 64 inputs")           \
    X(VEIL_ERR_TX_TOO_MANY_OUTPUTS, 704, "transaction has more than 64 outputs")         \
    X(VEIL_ERR_TX_TOO_MANY_VIEW_KEYS, 705, "transaction names more than 64 view keys")   \
    X(VEIL_ERR_TX_WRONG_CHAIN_ID, 706, "transaction is for another chain")               \
    X(VEIL_ERR_TX_UNSUPPORTED_VERSION, 707, "unsupported transaction version")           \
    X(VEIL_ERR_TX_NO_INPUTS, 708, "transaction has no inputs")                           \
    X(VEIL_ERR_TX_NO_OUTPUTS, 709, "transaction has no outputs")                         \
    X(VEIL_ERR_TX_DUPLICATE_INPUT, 710, "transaction spends the same output twice")      \
    X(VEIL_ERR_TX_ZERO_VALUE, 711, "an output value or deposit amount is zero")          \
    X(VEIL_ERR_TX_VALUE_ABOVE_MAX_SUPPLY, 712,                                           \
      "a value or fee exceeds the maximum supply")                                       \
    X(VEIL_ERR_TX_SUM_OVERFLOW, 713,                                                     \
      "a sum of values overflows or exceeds the maximum supply")                         \
    X(VEIL_ERR_TX_WITNESS_COUNT, 714, "number of witnesses does not match the inputs")   \
    X(VEIL_ERR_TX_BAD_SIGNATURE, 715, "a witness signature does not verify")             \
    X(VEIL_ERR_TX_INPUT_NOT_FOUND, 716,                                                  \
      "an input's transaction is not in the sealed store")                               \
    X(VEIL_ERR_TX_OUTPUT_INDEX_OUT_OF_RANGE, 717,                                        \
      "an input's output index is out of range")                                         \
    X(VEIL_ERR_TX_INPUT_SPENT, 718, "an input is already spent")                         \
    X(VEIL_ERR_TX_INPUT_TIMELOCKED, 719, "an input is still time-locked")                \
    X(VEIL_ERR_TX_TXID_MISMATCH, 720, "decrypted body does not hash to the public txid") \
    X(VEIL_ERR_TX_OUTPUT_COUNT_MISMATCH, 721,                                            \
      "decrypted output count differs from the public count")                            \
    X(VEIL_ERR_TX_INPUTS_MISMATCH, 722,                                                  \
      "decrypted inputs differ from the public input references")                        \
    X(VEIL_ERR_TX_KIND_MISMATCH, 723,                                                    \
      "decrypted transaction kind differs from the public kind")                         \
    X(VEIL_ERR_TX_ACCOUNT_MISMATCH, 724,                                                 \
      "staking account differs from the public or supplied account")                     \
    X(VEIL_ERR_TX_UNKNOWN_KEY_EPOCH, 725,                                                \
      "no obfuscation key for the transaction's key epoch")                              \
    X(VEIL_ERR_TX_DECRYPT_FAILED, 726, "transaction decryption failed")                  \
    X(VEIL_ERR_TX_FEE_TOO_LOW, 727,                                                      \
      "fee is below the chain's minimum for the transaction's size")                     \
    X(VEIL_ERR_TX_FEE_NOT_EXACT, 728,                                                    \
      "fee differs from the chain's exact fee for the transaction's size")               \
    X(VEIL_ERR_TX_INPUTS_OUTPUTS_MISMATCH, 729, "inputs do not equal outputs plus fee")  \
    X(VEIL_ERR_TX_ACCOUNT_NOT_FOUND, 730, "staking account does not exist")              \
    X(VEIL_ERR_TX_ACCOUNT_JAILED, 731, "staking account is jailed")                      \
    X(VEIL_ERR_TX_WRONG_NONCE, 732, "withdraw nonce differs from the account's nonce")   \
    X(VEIL_ERR_TX_NOT_YET_UNBONDED, 733, "account's stake is not yet unbonded")          \
    X(VEIL_ERR_TX_OUTPUT_NOT_LOCKED, 734,                                                \
      "withdraw output is not time-locked to the account's unbonded_from")               \
    X(VEIL_ERR_TX_WITHDRAW_AMOUNT_MISMATCH, 735,                                         \
      "withdraw outputs plus fee do not equal the unbonded amount")                      \
    X(VEIL_ERR_TX_DEPOSIT_AMOUNT_MISMATCH, 736,                                          \
      "inputs do not cover deposit amount plus fee exactly")                              \
    X(VEIL_ERR_TX_BLINDING, 737,                                                         \
      "transaction body's blinding value is missing, not 32 bytes or all zero")          \
    X(VEIL_ERR_TX_PADDING, 738,                                                          \
      "transaction payload is not padded to a size bucket with zeros")                   \
    X(VEIL_ERR_TX_KEY_EPOCH_EXPIRED, 739,                                                \
      "transaction's key epoch is past its grace period; have it encrypted again")       \
    /* transaction validation enclave service (8xx) */                                  \
    X(VEIL_ERR_TVE_UNKNOWN_REQUEST, 800, "unknown or undecodable request")               \
    X(VEIL_ERR_TVE_NOT_INITIALIZED, 801, "chain not initialised (send init-chain first)") \
    X(VEIL_ERR_TVE_CHAIN_MISMATCH, 802, "request is for another chain id")               \
    X(VEIL_ERR_TVE_HEIGHT, 803, "block height is out of order")                          \
    X(VEIL_ERR_TVE_APP_HASH_MISMATCH, 804,                                               \
      "app hash differs from the one committed at this height")                          \
    X(VEIL_ERR_TVE_TX_EXISTS, 805, "transaction is already committed")                   \
    X(VEIL_ERR_TVE_STAGING_MISMATCH, 806,                                                \
      "staged transactions differ from the block being committed (verify it again)")     \
    X(VEIL_ERR_TVE_NO_KEY, 807, "the enclave holds no obfuscation key")                  \
    X(VEIL_ERR_TVE_TOO_MANY, 808, "request names more items than allowed")               \
    X(VEIL_ERR_TVE_DUPLICATE_TX, 809, "transaction appears twice in the block")          \
    X(VEIL_ERR_TVE_IDENTITY, 810, "enclave identity is not the one configured")          \
    X(VEIL_ERR_TVE_STORE_DAMAGED, 811,                                                   \
      "a sealed record in the TVE's store is damaged (a local fault, not a verdict)")    \
    X(VEIL_ERR_TVE_HOST_FAULT, 812,                                                      \
      "the TVE host failed a lookup for its enclave (a local fault, not a verdict)")     \
    X(VEIL_ERR_HANDOFF_SIGNER, 813, "hand-off peer enclave has another signer")           \
    X(VEIL_ERR_HANDOFF_PRODID, 814, "hand-off peer enclave is not the expected product")  \
    X(VEIL_ERR_HANDOFF_SVN, 815, "hand-off peer enclave's SVN is below the minimum")      \
    X(VEIL_ERR_HANDOFF_DEBUG, 816, "hand-off peer enclave's debug attribute differs")     \
    X(VEIL_ERR_HANDOFF_BINDING, 817, "hand-off report does not bind the exchanged keys")  \
    X(VEIL_ERR_HANDOFF_CHANNEL, 818, "TQE-TVE channel data does not open")               \
    X(VEIL_ERR_HANDOFF_NONE, 819, "no TQE-TVE channel key yet (hand-off first)")         \
    X(VEIL_ERR_TVE_KEY_COMMITMENT, 820,                                                  \
      "the key does not match the chain's key commitment")                               \
    X(VEIL_ERR_TVE_NOT_AWAITING, 821,                                                    \
      "the TVE awaits no key (it holds the chain's key, or its chain names none)")       \
    X(VEIL_ERR_TVE_KEY_DESTROYED, 822,                                                   \
      "the epoch key was destroyed after its grace period and cannot be loaded again")   \
    /* attested TLS, TQE and wallet (9xx) */                                             \
    X(VEIL_ERR_RATLS_NO_EVIDENCE, 900, "certificate carries no attestation evidence")    \
    X(VEIL_ERR_RATLS_EVIDENCE_FORMAT, 901, "attestation evidence is malformed")          \
    X(VEIL_ERR_RATLS_KEY_BINDING, 902,                                                   \
      "quote's report data does not bind the certificate's key")                         \
    X(VEIL_ERR_RATLS_MRSIGNER, 903, "enclave signer (MRSIGNER) is not an accepted one")  \
    X(VEIL_ERR_RATLS_MRENCLAVE, 904, "enclave measurement (MRENCLAVE) is not accepted")  \
    X(VEIL_ERR_RATLS_SVN, 905, "enclave security version is below the minimum")          \
    X(VEIL_ERR_RATLS_DEBUG, 906, "enclave is a debug enclave and debug is not allowed")  \
    X(VEIL_ERR_RATLS_TCB, 907, "platform TCB is out of date and that is not allowed")    \
    X(VEIL_ERR_RATLS_EXPIRED, 908, "certificate is outside its validity period")         \
    X(VEIL_ERR_RATLS_CERT_SIGNATURE, 909, "certificate signature does not verify")       \
    X(VEIL_ERR_RATLS_HANDSHAKE, 910, "TLS handshake failed")                             \
    X(VEIL_ERR_RATLS_PRODID, 911, "enclave product id is not the accepted one")          \
    X(VEIL_ERR_NODE_JOIN_POLICY, 912,                                                    \
      "enclave identity is not in the chain's accepted enclaves (node join)")            \
    X(VEIL_ERR_RATLS_EVIDENCE_TAG, 913, "attestation evidence is not CBOR tag 60000")      \
    X(VEIL_ERR_RATLS_CLAIMS, 914, "attestation claims are malformed or incomplete")      \
    X(VEIL_ERR_RATLS_HASH_ALG, 915, "pubkey-hash claim is not a SHA-256 hash")           \
    X(VEIL_ERR_RATLS_CRITICAL, 916, "evidence extension is marked critical")             \
    X(VEIL_ERR_RATLS_DUPLICATE_EXT, 917, "evidence extension appears more than once")    \
    X(VEIL_ERR_RATLS_NONCE, 918, "attestation evidence does not carry the expected nonce") \
    X(VEIL_ERR_RATLS_REPORT_DATA, 919,                                                   \
      "quote's report data is not the hash of the evidence's claims")                    \
    X(VEIL_ERR_RATLS_CBOR_NONCANONICAL, 950,                                             \
      "attestation evidence is not deterministic CBOR")                                  \
    X(VEIL_ERR_TQE_CHALLENGE, 920, "query challenge is missing, used or wrong")          \
    X(VEIL_ERR_TQE_RATE_LIMIT, 921, "too many requests; slow down")                      \
    X(VEIL_ERR_TQE_TOO_MANY_TXIDS, 922, "query names more txids than allowed")           \
    X(VEIL_ERR_TQE_UNAVAILABLE, 923, "the TVE or node behind the TQE did not answer")    \
    X(VEIL_ERR_TQE_NOT_SYNCED, 924,                                                      \
      "the TQE's light client has not verified the chain state yet; retry")              \
    X(VEIL_ERR_TQE_STATE_PROOF, 925,                                                     \
      "the node's chain state does not verify against the TQE's light client")           \
    X(VEIL_ERR_NODE_VALIDATOR_KEY, 930,                                                  \
      "the validator key is bound to another account, or the account to another key")   \
    X(VEIL_ERR_NODE_VALIDATOR_SIGNATURE, 931,                                            \
      "the validator key's signature on the node join does not verify")                  \
    X(VEIL_ERR_NODE_KEY_EPOCH_TX, 932,                                                   \
      "key-epoch tx refused (only the due epoch, in a block its own proposer built)")    \
    X(VEIL_ERR_TDBE_KEY_MISMATCH, 960,                                                   \
      "a peer TDBE served a key that does not match the chain's commitment")             \
    X(VEIL_ERR_TDBE_UNAVAILABLE, 961, "no peer TDBE served the key")                     \
    X(VEIL_ERR_TDBE_PROTOCOL, 962, "a TDBE peer broke the protocol")                     \
    X(VEIL_ERR_TDBE_REFUSED, 963, "the peer TDBE refused the request")                   \
    X(VEIL_ERR_TDBE_NOT_MEMBER, 964,                                                     \
      "the peer's enclave key is not bound to an account by a node join")                \
    X(VEIL_ERR_TDBE_NOT_STAKED, 965, "the peer's account has no bonded stake or is jailed") \
    X(VEIL_ERR_TDBE_MEMBERSHIP_PROOF, 966,                                               \
      "a state proof does not verify against the verified app hash")                     \
    X(VEIL_ERR_TDBE_COMMITMENT, 967,                                                     \
      "the awaited key commitment is not the one on chain")                              \
    X(VEIL_ERR_TDBE_TX_MISMATCH, 968,                                                    \
      "a peer served tx data that disagrees with its block record")                      \
    X(VEIL_ERR_TDBE_TX_NOT_ON_CHAIN, 969,                                                \
      "a peer served a tx the verified chain state does not hold there")                 \
    X(VEIL_ERR_TDBE_STREAM, 970,                                                         \
      "a peer's tx-data stream skipped, repeated or overran the heights asked")          \
    /* light client (10xx) */                                                            \
    X(VEIL_ERR_LC_MALFORMED, 1000, "a light block does not decode")                      \
    X(VEIL_ERR_LC_HEADER, 1001, "a header fails basic validation")                       \
    X(VEIL_ERR_LC_CHAIN_ID, 1002, "a header of another chain")                           \
    X(VEIL_ERR_LC_HEIGHT, 1003, "a header height not above the trusted one")             \
    X(VEIL_ERR_LC_TIME, 1004, "a header time not after the trusted one")                 \
    X(VEIL_ERR_LC_FUTURE, 1005, "a header from the future")                              \
    X(VEIL_ERR_LC_EXPIRED, 1006, "the trusted header is outside the trusting period")    \
    X(VEIL_ERR_LC_VALSET_TOO_LARGE, 1007, "a validator set above the size limit")        \
    X(VEIL_ERR_LC_VALSET_INVALID, 1008,                                                  \
      "a validator set is malformed (duplicate, zero power, overflow)")                  \
    X(VEIL_ERR_LC_VALSET_HASH, 1009,                                                     \
      "the validator set does not hash to the header's")                                 \
    X(VEIL_ERR_LC_NEXT_VALSET, 1010,                                                     \
      "the validators differ from the trusted next validators")                          \
    X(VEIL_ERR_LC_COMMIT_BLOCK, 1011, "the commit is for another block")                 \
    X(VEIL_ERR_LC_COMMIT_HEIGHT, 1012, "the commit is for another height")               \
    X(VEIL_ERR_LC_COMMIT_SIZE, 1013,                                                     \
      "the commit's signature count differs from the validator set's size")              \
    X(VEIL_ERR_LC_COMMIT_INVALID, 1014, "the commit fails basic validation")             \
    X(VEIL_ERR_LC_SIGNATURE, 1015, "a commit signature does not verify")                 \
    X(VEIL_ERR_LC_DOUBLE_VOTE, 1016, "a validator signed the commit twice")              \
    X(VEIL_ERR_LC_NOT_ENOUGH_POWER, 1017,                                                \
      "less than two thirds of the new validators signed")                               \
    X(VEIL_ERR_LC_NOT_ENOUGH_TRUST, 1018,                                                \
      "not enough of the trusted validators signed")                                     \
    X(VEIL_ERR_LC_TRUST_HASH, 1019,                                                      \
      "the header at the trusted height does not have the trusted hash")                 \
    X(VEIL_ERR_LC_FORK, 1020,                                                            \
      "two valid headers at one height: the chain forked or a host lies")                \
    X(VEIL_ERR_LC_NO_WITNESS, 1021, "no witness confirmed the verified header")          \
    X(VEIL_ERR_LC_UNAVAILABLE, 1022, "the light block needed was not supplied")          \
    X(VEIL_ERR_LC_ROLLBACK, 1023,                                                        \
      "a sealed light-client state older than the newest this enclave sealed")           \
    X(VEIL_ERR_WALLET_PASSPHRASE, 940, "wrong passphrase or damaged wallet file")        \
    X(VEIL_ERR_WALLET_FUNDS, 941, "insufficient funds")                                  \
    X(VEIL_ERR_WALLET_WATCH_ONLY, 942, "a watch-only wallet cannot sign")                 \
    X(VEIL_ERR_WALLET_ADDRESS, 943, "invalid address")                                   \
    X(VEIL_ERR_WALLET_SEED, 944, "invalid seed words")                                   \
    X(VEIL_ERR_WALLET_FEE, 945, "the fee exceeds the wallet's maximum (--max-fee)")

typedef enum veil_status {
#define VEIL_STATUS_ENUM_(name, value, msg) name = value,
    VEIL_STATUS_LIST(VEIL_STATUS_ENUM_)
#undef VEIL_STATUS_ENUM_
} veil_status;

/* The fixed message for a code; "unknown status" for values outside the list. */
const char *veil_status_str(veil_status s);
/* The code's symbolic name, e.g. "VEIL_ERR_TRUNCATED". */
const char *veil_status_name(veil_status s);

/* True for a per-transaction verdict that every validator reaches from the same
 * inputs: malformed input, a transaction validation rule, already committed,
 * duplicate in the block. Anything else (storage, memory, enclave faults) is a local
 * failure and must never be recorded as a transaction's result, or validators would
 * disagree. */
static inline bool veil_status_is_tx_verdict(veil_status s)
{
    return s == VEIL_ERR_ARG || (s >= 200 && s < 300) || (s >= 700 && s < 800) ||
           s == VEIL_ERR_TVE_TX_EXISTS || s == VEIL_ERR_TVE_DUPLICATE_TX;
}

/* The error status an error code received from another process stands for: the code
 * itself if this build knows it, VEIL_ERR_REMOTE_UNKNOWN for an unknown code and for 0
 * (an error that claims success). The one place a number from the wire becomes a
 * veil_status, so an unknown or forged number never passes for, say, a verdict. */
veil_status veil_status_from_wire(uint32_t code);

/* Guard macros: keep the happy path straight. */
#define TRY(expr)                                                                        \
    do {                                                                                 \
        veil_status try_s_ = (expr);                                                     \
        if (try_s_ != VEIL_OK) return try_s_;                                            \
    } while (0)

#define ENSURE(cond, err)                                                                \
    do {                                                                                 \
        if (!(cond)) return (err);                                                       \
    } while (0)

/* For functions with a cleanup path: set `st` and jump to `out`. */
#define TRY_OUT(expr)                                                                    \
    do {                                                                                 \
        st = (expr);                                                                     \
        if (st != VEIL_OK) goto out;                                                     \
    } while (0)

#define ENSURE_OUT(cond, err)                                                            \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            st = (err);                                                                  \
            goto out;                                                                    \
        }                                                                                \
    } while (0)

#endif
