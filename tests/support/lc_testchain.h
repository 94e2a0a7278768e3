/* A CometBFT chain for tests and benchmarks: light blocks of a fixed validator set
 * (Ed25519 keys drawn here), every validator signing, each header naming the app hash
 * the caller gives. Heights from 1, times one second apart. */
#ifndef VEIL_TESTS_LC_TESTCHAIN_H
#define VEIL_TESTS_LC_TESTCHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "trusted/lightclient/lc.h"

#define LC_TESTCHAIN_MAX_BLOCKS 512u

typedef struct lc_testchain {
    char chain_id[CMT_MAX_CHAIN_ID_LEN + 1];
    uint8_t sk[LC_MAX_VALIDATORS][64];
    lc_validator_set vals;
    int64_t start_time; /* block h's time: start_time + h seconds */
    int64_t height;     /* the last block made */
    lc_light_block *blocks[LC_TESTCHAIN_MAX_BLOCKS + 1];
} lc_testchain;

/* n validators of power 10. */
void lc_testchain_init(lc_testchain *c, const char *chain_id, size_t n, int64_t start_time);
/* Makes block height + 1 with this app hash (32 bytes); returns it. */
const lc_light_block *lc_testchain_append(lc_testchain *c, const uint8_t app_hash[32]);
/* Block `height`, or NULL. */
const lc_light_block *lc_testchain_get(const lc_testchain *c, int64_t height);
/* Signs lb's commit again (after a change to its header) with the chain's keys. */
void lc_testchain_sign(const lc_testchain *c, lc_light_block *lb);
void lc_testchain_free(lc_testchain *c);

#endif
