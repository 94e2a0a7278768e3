/* TQE host <-> enclave interface: ecall indices. */
#ifndef VEIL_TRUSTED_TQE_ABI_H
#define VEIL_TRUSTED_TQE_ABI_H

enum tqe_ecall {
    /* in: TxPayload bytes (at most VEIL_TX_MAX_PAYLOAD_LEN); out: the payload sealed to
     * the signer with AAD "veil/tqe-encrypt/v1" (TVE_AAD_TQE_ENCRYPT), for an
     * EncryptRequest to the TVE. */
    TQE_E_SEAL_PAYLOAD = 0,
};

/* The TQE shares the TVE's product id: signer-sealed data is bound to the product id,
 * and the two enclaves exchange sealed payloads and sealed txs. */
#define TQE_PRODID 1
#define TQE_SVN 1

#endif
