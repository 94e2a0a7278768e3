/* Constant-time comparison and wiping on libsodium. Compiled into enclave images. */
#include <sodium.h>

#include "crypto/crypto.h"

bool veil_ct_equal(const void *a, const void *b, size_t n)
{
    /* sodium_memcmp's running time depends only on n, never on where the buffers
     * differ, so MACs and tags can be compared without a timing oracle. */
    return sodium_memcmp(a, b, n) == 0;
}

void veil_wipe(void *p, size_t n)
{
    if (p == NULL || n == 0) return;
    sodium_memzero(p, n);
}
