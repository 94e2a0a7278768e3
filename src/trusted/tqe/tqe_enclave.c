/* The transaction query enclave (TQE), encryption side.
 *
 * A wallet's plaintext tx enters here and leaves only sealed to the signer, for the
 * TVE to validate and encrypt under the current key (EncryptRequest). The attested
 * TLS endpoint and blind queries build on this enclave. */
#include <string.h>

#include "tee/tee.h"
#include "trusted/tqe/tqe_abi.h"
#include "trusted/tve/tve_abi.h"
#include "trusted/tx/tx.h"

static veil_status e_seal_payload(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                                  size_t *out_len)
{
    static const char label[] = TVE_AAD_TQE_ENCRYPT;
    ENSURE(in_len > 0, VEIL_ERR_TRUNCATED);
    ENSURE(in_len <= VEIL_TX_MAX_PAYLOAD_LEN, VEIL_ERR_TX_TOO_LARGE);
    return tee_seal(TEE_POLICY_MRSIGNER, label, sizeof label - 1, in, in_len, out, out_cap,
                    out_len);
}

TEE_ENCLAVE_DEFINE(NULL, e_seal_payload);
