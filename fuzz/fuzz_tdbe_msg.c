/* The TDBE peer protocol's decoders (src/trusted/tdbe/tdbe_msg.h) on hostile bytes: the
 * frame header, a Request as a server reads it, a Response as a fetching TDBE reads it.
 * Each must refuse or accept without crashing, and whatever they accept must re-encode
 * to a message they accept again with the same meaning. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trusted/tdbe/tdbe_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len;
    if (size >= 4 && tdbe_frame_len(data, &len) == VEIL_OK && (len < 1 || len > TDBE_MSG_MAX))
        abort();
    uint8_t buf[4 + TDBE_MSG_MAX], key[TDBE_KEY_LEN], key2[TDBE_KEY_LEN];
    size_t n;
    uint64_t epoch, epoch2;
    if (tdbe_request_parse(NULL, data, size, &epoch) == VEIL_OK) {
        if (tdbe_request_frame(epoch, buf, sizeof buf, &n) != VEIL_OK ||
            tdbe_request_parse(NULL, buf + 4, n - 4, &epoch2) != VEIL_OK || epoch2 != epoch)
            abort();
    }
    /* The epoch a fetching TDBE asked: the first 8 bytes' worth, or 0. */
    uint64_t want = 0;
    for (size_t i = 0; i < size && i < 8; i++) want = want << 8 | data[i];
    uint32_t code = 0;
    for (uint64_t e = 0; e < 2; e++) {
        uint64_t asked = e == 0 ? 0 : want;
        veil_status st = tdbe_response_parse(NULL, data, size, asked, key, &code);
        if (st == VEIL_OK) {
            if (tdbe_key_frame(asked, key, buf, sizeof buf, &n) != VEIL_OK ||
                tdbe_response_parse(NULL, buf + 4, n - 4, asked, key2, &code) != VEIL_OK ||
                memcmp(key, key2, sizeof key) != 0)
                abort();
        } else if (st != VEIL_ERR_TDBE_REFUSED && st != VEIL_ERR_TDBE_PROTOCOL) {
            abort();
        }
    }
    return 0;
}
