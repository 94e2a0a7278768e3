/* A node join's report data (node_join.h). */
#include "trusted/state/node_join.h"

#include <string.h>

#include "common/cursor.h"
#include "crypto/crypto.h"

veil_status node_join_report_data(const char *chain_id, const uint8_t account[static 32],
                                  const uint8_t *enclave_key, size_t key_len,
                                  uint8_t out[static 64])
{
    size_t id_len = strlen(chain_id);
    ENSURE(id_len <= 255 && key_len <= NODE_ENCLAVE_PUBKEY_MAX, VEIL_ERR_ARG);
    uint8_t buf[1 + 255 + 32 + 2 + NODE_ENCLAVE_PUBKEY_MAX];
    size_t n = 0;
    buf[n++] = (uint8_t)id_len;
    memcpy(buf + n, chain_id, id_len), n += id_len;
    memcpy(buf + n, account, 32), n += 32;
    veil_put_u16(buf + n, (uint16_t)key_len), n += 2;
    memcpy(buf + n, enclave_key, key_len), n += key_len;
    memset(out, 0, 64);
    veil_sha256_tagged(out, NODE_JOIN_REPORT_TAG, buf, n);
    return VEIL_OK;
}
