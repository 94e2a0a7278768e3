/* TVE host <-> enclave interface: ecall and ocall indices, limits, sealing labels.
 * Messages are in proto/veil/tve_enclave.proto. Shared by both sides. */
#ifndef VEIL_TRUSTED_TVE_ABI_H
#define VEIL_TRUSTED_TVE_ABI_H

enum tve_ecall {
    TVE_E_STATUS = 0,       /* in: empty; out: StatusResult */
    TVE_E_GENERATE_KEY = 1, /* in: GenerateKeyCall; out: KeyResult */
    TVE_E_LOAD_KEY = 2,     /* in: LoadKeyCall; out: KeyResult */
    TVE_E_VERIFY = 3,       /* in: VerifyCall; out: VerifyResult */
    TVE_E_END_BLOCK = 4,    /* in: EndBlockCall; out: EndBlockResult */
    TVE_E_ENCRYPT = 5,      /* in: EncryptCall; out: EncryptResult */
    /* in: the TQE's report (targeted at the TVE) || its X25519 key; out: box || the
     * TVE's report targeted at the TQE (tve_channel.h) */
    TVE_E_HANDOFF = 6,
    /* in: GetSealedTxsResponse of stored blobs; out: the same, each sealed again under
     * the TQE<->TVE channel key, bound to its txid */
    TVE_E_EXPORT = 7,
    /* in: ExportKeyCall; out: the epoch key sealed under the TDBE<->TVE channel key */
    TVE_E_KEY_EXPORT = 8,
    /* in: ImportKeyCall; out: KeyResult (the key sealed to the signer, its commitment) */
    TVE_E_KEY_IMPORT = 9,
    /* in: GenerateKeyCall (the chain's next epoch); out: KeyResult (sealed_key empty
     * when drawn before) */
    TVE_E_DRAW_KEY = 10,
    /* in: veil.tve.KeyWindow; out: KeyWindowResult (docs/key-epochs.md) */
    TVE_E_KEY_WINDOW = 11,
    /* Bootstrap, serving side (tve_enclave_tdbe.c). in: from_height u64 BE || entries
     * {height u64 BE, index u32 BE, txid (32), len u32 BE, stored sealed tx}; out: the
     * payloads as a tx stream (tve_txstream.h) sealed under the TDBE<->TVE channel key,
     * label TVE_CHANNEL_TX_EXPORT_LABEL, binding from_height u64 BE. */
    TVE_E_TX_EXPORT = 12,
    /* Bootstrap, fetching side. in: first_height u64 BE || a tx stream sealed by this
     * platform's TDBE (label TVE_CHANNEL_TX_IMPORT_LABEL, binding first_height); out:
     * entries {height u64 BE, index u32 BE, txid (32), n_spends u32 BE, n_spends x
     * outpoint (txid || index u32 BE), len u32 BE, the payload sealed to the signer}. */
    TVE_E_TX_IMPORT = 13,
    /* Test images only (VEIL_TVE_TEST_BREACH): in: epoch (u64 BE); out: its raw key */
    TVE_E_TEST_BREACH = 14,
    /* Test images only: in: epoch || key; out: the key sealed in the form before key
     * floors (the key alone) */
    TVE_E_TEST_SEAL_LEGACY = 15,
};

enum tve_ocall {
    TVE_O_GET_SEALED = 0, /* in: txid (32); out: sealed tx or empty */
    /* 1 was O_IS_SPENT: encrypt's spent flags are proven in the sealed order now. */
};

/* The TVE enclave's identity as signed by the build (see src/trusted/CMakeLists.txt). */
#define TVE_ENCLAVE_IMAGE "veil_tve_enclave.signed.so"
#define TVE_PRODID 1
#define TVE_SVN 1

/* Output capacities the host provides. */
#define TVE_SEALED_TX_MAX (16u * 1024u + 80u) /* TxPayload limit + seal overhead */
#define TVE_VERIFY_OUT_MAX (TVE_SEALED_TX_MAX + 512u)
#define TVE_ENCRYPT_OUT_MAX (16u * 1024u + 512u)
#define TVE_KEY_OUT_MAX 512u
#define TVE_BLOOM_LEN 256u

/* Associated data labels (each followed by its binding, see tve_enclave.proto). */
#define TVE_AAD_EPOCH_KEY "veil/epoch-key/v1"
#define TVE_AAD_SEALED_TX "veil/sealed-tx/v1"
/* Output capacity for E_EXPORT (256 txids at most). */
#define TVE_EXPORT_OUT_MAX (256u * (TVE_SEALED_TX_MAX + 64u))
#define TVE_KEY_COMMITMENT_TAG "veil/key-commitment/v1"
/* Bootstrap: the most stream bytes one E_TX_EXPORT or E_TX_IMPORT takes. */
#define TVE_TXDATA_MAX (8u << 20)

#endif
