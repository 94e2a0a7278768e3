/* Fuzz target: an app-hash proof as a client receives it (abci_query's proof op data),
 * decoded and verified against a fixed tree.
 *
 * Input: u8 mode || proof encoding. The target builds a small tree once; mode picks the
 * claim (a present key with its value, the same key claimed absent, an absent key) and
 * veil_smt_verify must answer without crashing, reading only the decoded proof, and
 * never accept a claim the tree contradicts. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/node/smt.h"
#include "trusted/state/smt_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { N = 8 };
static uint8_t g_keys[N][32], g_vh[N][32], g_root[32], g_absent[32];
static bool g_ready;

static void setup(void)
{
    node_smt *t;
    if (node_smt_new(&t) != VEIL_OK) abort();
    for (int i = 0; i < N; i++) {
        uint8_t id = (uint8_t)i;
        veil_smt_key(g_keys[i], VEIL_SMT_NS_OUTPUT, &id, 1);
        veil_smt_value_hash(g_vh[i], &id, 1);
        if (node_smt_set(t, g_keys[i], g_vh[i]) != VEIL_OK) abort();
    }
    node_smt_root(t, g_root);
    uint8_t id = 0xee;
    veil_smt_key(g_absent, VEIL_SMT_NS_OUTPUT, &id, 1);
    node_smt_free(t);
    g_ready = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_ready) setup();
    if (size < 1) return 0;
    uint8_t mode = data[0];
    veil_smt_proof *p = malloc(sizeof *p);
    if (p == NULL) return 0;
    if (veil_smt_proof_decode(data + 1, size - 1, p) == VEIL_OK) {
        int k = (mode >> 2) % N;
        switch (mode & 3) {
        case 0: { /* a present key with its value: may verify */
            volatile veil_status r = veil_smt_verify(g_root, g_keys[k], g_vh[k], p);
            (void)r;
            break;
        }
        case 1: /* a present key claimed absent: must never verify */
            if (veil_smt_verify(g_root, g_keys[k], NULL, p) == VEIL_OK) abort();
            break;
        case 2: /* a present key with another value: must never verify */
            if (veil_smt_verify(g_root, g_keys[k], g_vh[(k + 1) % N], p) == VEIL_OK) abort();
            break;
        default: /* an absent key claimed present: must never verify */
            if (veil_smt_verify(g_root, g_absent, g_vh[k], p) == VEIL_OK) abort();
            break;
        }
    }
    free(p);
    return 0;
}
