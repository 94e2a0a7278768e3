/* Option groups several commands share (cli.h): the light-client trust root of the
 * enclave daemons, the key-epoch parameters of the local networks. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "chain/node_records.h"
#include "common/hex.h"
#include "tools/cli.h"

int cli_trust_option(int c, const char *arg, bool *has_trust, int64_t *height,
                     uint8_t hash[static 32], lc_params *lc)
{
    uint64_t v;
    switch (c) {
    case 'y':
        if (!cli_parse_u64(arg, INT64_MAX, &v) || v == 0)
            return cli_usage_error("--trust-height must be a height >= 1");
        *height = (int64_t)v;
        return 0;
    case 'x':
        if (veil_hex_decode_exact(hash, 32, arg, strlen(arg)) != VEIL_OK)
            return cli_usage_error("--trust-hash must be 64 hex digits");
        *has_trust = true;
        return 0;
    case 'g':
        lc_params_default(lc);
        if (!cli_parse_duration(arg, &lc->trusting_period_ns))
            return cli_usage_error("--trusting-period: a duration such as 336h");
        return 0;
    default:
        return CLI_TRUST_NOT_MINE;
    }
}

int cli_trust_check(bool has_trust, int64_t height)
{
    if (has_trust != (height != 0))
        return cli_usage_error("--trust-height and --trust-hash go together");
    return 0;
}

int cli_key_epoch_option(int c, const char *arg, uint64_t *epoch_blocks, uint64_t *grace_blocks)
{
    switch (c) {
    case 'E':
        if (!cli_parse_u64(arg, NODE_KEY_EPOCH_BLOCKS_MAX, epoch_blocks) || *epoch_blocks < 2)
            return cli_usage_error("--key-epoch-blocks must be 2..%llu",
                                   (unsigned long long)NODE_KEY_EPOCH_BLOCKS_MAX);
        return 0;
    case 'G':
        if (!cli_parse_u64(arg, NODE_KEY_EPOCH_BLOCKS_MAX, grace_blocks) || *grace_blocks == 0)
            return cli_usage_error("--key-grace-blocks must be at least 1");
        return 0;
    default:
        return CLI_TRUST_NOT_MINE;
    }
}

int cli_key_epoch_check(uint64_t epoch_blocks, uint64_t *grace_blocks)
{
    if (*grace_blocks == 0) *grace_blocks = epoch_blocks / 4 ? epoch_blocks / 4 : 1;
    if (*grace_blocks > epoch_blocks)
        return cli_usage_error("--key-grace-blocks must not exceed --key-epoch-blocks");
    return 0;
}
