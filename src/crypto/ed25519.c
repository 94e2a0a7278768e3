/* Ed25519 verification (crypto.h) through libsodium. */
#include <sodium.h>

#include "crypto/crypto.h"

bool veil_ed25519_verify(const uint8_t sig[static VEIL_ED25519_SIG_LEN], const void *msg,
                         size_t len, const uint8_t pk[static VEIL_ED25519_PK_LEN])
{
    return crypto_sign_verify_detached(sig, msg, len, pk) == 0;
}
