/* OS randomness for hosts. Enclaves draw randomness from the TEE instead. */
#include <errno.h>
#include <sys/random.h>

#include "crypto/crypto_host.h"

veil_status veil_random_bytes(void *buf, size_t n)
{
    ENSURE(buf != NULL || n == 0, VEIL_ERR_ARG);
    uint8_t *p = buf;
    while (n > 0) {
        /* Without GRND_NONBLOCK this waits for the pool to be seeded once at boot and
         * never blocks after; reads above 32 MiB or interrupted by signals may be short. */
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            return VEIL_ERR_IO;
        }
        if (got == 0) return VEIL_ERR_IO; /* cannot happen; do not spin if it does */
        p += got;
        n -= (size_t)got;
    }
    return VEIL_OK;
}
