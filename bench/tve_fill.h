/* Fills a TVE store with synthetic committed blocks, so that benchmarks can measure the
 * block path at realistic store sizes without encrypting a million transactions.
 *
 * Each synthetic tx has a random txid, a random sealed blob of the given length (the
 * length of a real sealed tx of the shape being measured), the given outcome encoding,
 * and spends two outputs of uniformly chosen earlier synthetic txs: the store's tables
 * grow as a real chain's do, with spends spread over its whole history (no locality a
 * real chain might offer). Blocks of TVE_FILL_BLOCK txs follow the store's last height.
 *
 * The store is written through tve_store_commit_block, as the daemon writes it; commits
 * skip fsync (the data reaches the disk on the next synced commit or by the kernel). The
 * store must not be open elsewhere (its lock). */
#ifndef VEIL_BENCH_TVE_FILL_H
#define VEIL_BENCH_TVE_FILL_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define TVE_FILL_BLOCK 1000u

typedef struct tve_fill_spec {
    const char *home;       /* the TVE home (HOME/tve.mdb) */
    uint64_t n_txs;         /* txs to add */
    size_t sealed_len;      /* bytes per sealed blob */
    const uint8_t *outcome; /* TxOutcome encoding recorded for every tx */
    size_t outcome_len;
    uint64_t seed;          /* different seeds give different txids */
} tve_fill_spec;

/* Adds spec->n_txs txs; *last_height receives the store's new last height. */
VEIL_MUST_CHECK veil_status tve_fill(const tve_fill_spec *spec, uint64_t *last_height);

#endif
