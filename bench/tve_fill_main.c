/* veil-tve-fill: grows a TVE store with synthetic committed blocks (bench/tve_fill.h),
 * to measure a daemon on a large store by hand:
 *
 *   veil-tve-fill HOME N [SEALED_LEN]
 *
 * adds N txs of SEALED_LEN bytes each (default 700) after the store's last height. The
 * store must be initialised (`veil tve` has answered init-chain) and not in use. Its
 * blocks are not a chain's: use such a store for benchmarks only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "hostutil/fileio.h"
#include "tve_fill.h"
#include "veil/tve.pb-c.h"

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4 || strcmp(argv[1], "--help") == 0) {
        fprintf(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
                "usage: %s HOME N [SEALED_LEN]\n"
                "Adds N synthetic committed txs to the TVE store in HOME (benchmarks only).\n",
                argv[0]);
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    char *end;
    unsigned long long n = strtoull(argv[2], &end, 10);
    unsigned long sealed_len = 700;
    if (*end != '\0' || n == 0) {
        fprintf(stderr, "%s: N must be a positive number\n", argv[0]);
        return 2;
    }
    if (argc == 4) {
        sealed_len = strtoul(argv[3], &end, 10);
        if (*end != '\0' || sealed_len == 0 || sealed_len > (1u << 20)) {
            fprintf(stderr, "%s: SEALED_LEN must be 1..1048576\n", argv[0]);
            return 2;
        }
    }
    uint8_t txid[32] = {0}, outcome[64];
    Veil__Tve__TxOutcome o = VEIL__TVE__TX_OUTCOME__INIT;
    o.txid = (ProtobufCBinaryData){32, txid};
    o.kind = VEIL__TX__TX_KIND__TX_KIND_TRANSFER;
    o.output_count = 2;
    size_t outcome_len = protobuf_c_message_pack(&o.base, outcome);
    tve_fill_spec spec = {.home = argv[1], .n_txs = n, .sealed_len = sealed_len,
                          .outcome = outcome, .outcome_len = outcome_len, .seed = n};
    uint64_t last;
    veil_status st = tve_fill(&spec, &last);
    if (st != VEIL_OK) {
        fprintf(stderr, "%s: %s: %s\n", argv[0], veil_status_str(st), veil_error_detail());
        return 1;
    }
    printf("added %llu txs; last height %llu\n", n, (unsigned long long)last);
    return 0;
}
