/* tve_channel.h — the TQE<->TVE hand-off: what the two enclaves share, and how.
 *
 * The TQE (network-facing, product id TQE_PRODID) and the TVE (holder of the epoch keys
 * and the sealed store, TVE_PRODID) have different product ids, so neither can derive
 * the other's sealing keys. They share exactly one secret, the channel key K, which the
 * TVE derives from its own sealing identity (stable across restarts) and hands to a TQE
 * it has checked by local attestation:
 *
 *   TQE -> TVE  report(target TVE, data = H("veil/tqe-handoff/v1", pub)) || pub
 *   TVE -> TQE  box || report(target TQE, data = H("veil/tve-handoff/v1", box || pub))
 *   box = epk (32) || nonce (12) || AES-256-GCM-SIV(k_box, nonce, "", K) (48), with
 *         k_box = HKDF-SHA-256(salt "veil/handoff-box/v1", X25519(esk, pub), epk || pub)
 *
 * Each side checks the other's report (MAC: same platform) and identity: same MRSIGNER
 * as itself, the expected product id, SVN at least the minimum, the same debug
 * attribute. K then seals the TQE's encrypt orders to the TVE and the TVE's export of
 * stored txs to the TQE (tve_channel_seal / _open, AAD = label || binding). Portable:
 * both enclave images link it; randomness comes from tee_random. docs/tqe.md.
 */
#ifndef VEIL_TRUSTED_TVE_CHANNEL_H
#define VEIL_TRUSTED_TVE_CHANNEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "tee/tee.h"

#define TVE_CHANNEL_KEY_LEN 32
#define TVE_HANDOFF_PUB_LEN 32
#define TVE_HANDOFF_BOX_LEN (32 + 12 + 32 + 16)
#define TVE_CHANNEL_OVERHEAD (12 + 16) /* nonce || ciphertext || tag */
#define TVE_HANDOFF_TQE_TAG "veil/tqe-handoff/v1"
#define TVE_HANDOFF_TVE_TAG "veil/tve-handoff/v1"
#define TVE_CHANNEL_ORDER_LABEL "veil/tqe-order/v1"
#define TVE_CHANNEL_EXPORT_LABEL "veil/tve-export/v1"
/* TDBE<->TVE: an epoch key leaving the TVE for a peer, and one arriving from a peer. */
#define TVE_CHANNEL_KEY_EXPORT_LABEL "veil/tve-key-export/v1"
#define TVE_CHANNEL_KEY_IMPORT_LABEL "veil/tdbe-key-import/v1"
#define TVE_CHANNEL_TX_EXPORT_LABEL "veil/tve-tx-export/v1"
#define TVE_CHANNEL_TX_IMPORT_LABEL "veil/tdbe-tx-import/v1"
#define TVE_EPOCH_KEY_LEN 32

/* The channel key's derivation label per product (tve_channel_key in the TVE): the TQE
 * and the TDBE each share a key of their own with the TVE. */
#define TVE_CHANNEL_KEY_TQE "veil/tqe-channel/v1"
#define TVE_CHANNEL_KEY_TDBE "veil/tdbe-channel/v1"

/* The chain's commitment to an epoch key: SHA-256-tagged("veil/key-commitment/v1",
 * epoch u64 BE || key). */
void tve_key_commitment(uint64_t epoch, const uint8_t key[static TVE_EPOCH_KEY_LEN],
                        uint8_t out[static 32]);

/* The side of the hand-off that asks for the channel key (TQE, TDBE). */
typedef struct tve_handoff_client {
    atomic_flag lock; /* guards the fields below */
    bool have_key;
    uint8_t key[TVE_CHANNEL_KEY_LEN];
    uint8_t sk[32], pub[TVE_HANDOFF_PUB_LEN];
} tve_handoff_client;
#define TVE_HANDOFF_CLIENT_INIT {ATOMIC_FLAG_INIT, false, {0}, {0}, {0}}

/* in = the TVE's target info (MRENCLAVE 32 || attributes u64 BE); out = a report
 * targeted at it binding a fresh X25519 key || that key (TEE_REPORT_WIRE_LEN + 32). */
VEIL_MUST_CHECK veil_status tve_handoff_client_begin(tve_handoff_client *c, const uint8_t *in,
                                                     size_t in_len, uint8_t *out, size_t out_cap,
                                                     size_t *out_len);
/* in = box || the TVE's report targeted at this enclave. Refused unless the report is
 * MACed for us on this platform by an enclave of our signer with the TVE's product id
 * and SVN, binding the box and our key; then the channel key is kept. */
VEIL_MUST_CHECK veil_status tve_handoff_client_end(tve_handoff_client *c, const uint8_t *in,
                                                   size_t in_len);
/* A copy of the channel key; VEIL_ERR_HANDOFF_NONE before the hand-off. */
VEIL_MUST_CHECK veil_status tve_handoff_client_key(tve_handoff_client *c,
                                                   uint8_t k[static TVE_CHANNEL_KEY_LEN]);

/* The peer is an enclave of this enclave's signer, of product `prodid`, SVN >= min_svn,
 * with the same debug attribute. VEIL_ERR_HANDOFF_SIGNER / _PRODID / _SVN / _DEBUG. */
VEIL_MUST_CHECK veil_status tve_channel_check_peer(const tee_identity *peer, uint16_t prodid,
                                                   uint16_t min_svn);

/* report_data = SHA-256-tagged(tag, a || b) || 32 zero bytes. */
void tve_channel_bind(const char *tag, const uint8_t *a, size_t a_len, const uint8_t *b,
                      size_t b_len, uint8_t rd[static TEE_REPORT_DATA_LEN]);

VEIL_MUST_CHECK veil_status tve_channel_box(const uint8_t key[static TVE_CHANNEL_KEY_LEN],
                                            const uint8_t peer_pub[static TVE_HANDOFF_PUB_LEN],
                                            uint8_t box[static TVE_HANDOFF_BOX_LEN]);
VEIL_MUST_CHECK veil_status tve_channel_unbox(const uint8_t box[static TVE_HANDOFF_BOX_LEN],
                                              const uint8_t sk[static 32],
                                              const uint8_t pub[static TVE_HANDOFF_PUB_LEN],
                                              uint8_t key[static TVE_CHANNEL_KEY_LEN]);

/* out = nonce || AES-256-GCM-SIV(K, nonce, label || bind, pt); out_cap >= pt_len + 28. */
VEIL_MUST_CHECK veil_status tve_channel_seal(const uint8_t key[static TVE_CHANNEL_KEY_LEN],
                                             const char *label, const uint8_t *bind,
                                             size_t bind_len, const uint8_t *pt, size_t pt_len,
                                             uint8_t *out, size_t out_cap, size_t *out_len);
/* VEIL_ERR_HANDOFF_CHANNEL when it does not open (wrong key, label, binding, bytes). */
VEIL_MUST_CHECK veil_status tve_channel_open(const uint8_t key[static TVE_CHANNEL_KEY_LEN],
                                             const char *label, const uint8_t *bind,
                                             size_t bind_len, const uint8_t *in, size_t in_len,
                                             uint8_t *out, size_t out_cap, size_t *out_len);

#endif
