/* The light client's parser of host bytes (src/trusted/lightclient/lc_wire.h): a
 * LightBlock protobuf. Whatever it accepts must re-encode and decode to the same
 * encoding; whatever it accepts the verifier must judge without crashing (against a
 * trusted header built from the block itself). Corpus: fuzz/corpus/lightblock/ (the
 * conformance vectors' blocks, written by VEIL_LC_WRITE_CORPUS=<dir> test_lightclient). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trusted/lightclient/lc_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lc_light_block a, b;
    veil_status st = lc_light_block_decode(data, size, &a);
    if (st != VEIL_OK) {
        if (st != VEIL_ERR_LC_MALFORMED && st != VEIL_ERR_LC_VALSET_TOO_LARGE) abort();
        return 0;
    }
    cmt_buf e1 = {0}, e2 = {0};
    if (lc_light_block_encode(&a, &e1) != VEIL_OK) abort();
    if (lc_light_block_decode(e1.p, e1.len, &b) != VEIL_OK) abort();
    if (lc_light_block_encode(&b, &e2) != VEIL_OK) abort();
    if (e1.len != e2.len || memcmp(e1.p, e2.p, e1.len) != 0) abort();
    cmt_buf_free(&e1);
    cmt_buf_free(&e2);
    /* Judged against a trusted header one height below with the block's own set. */
    cmt_header trusted = a.header;
    trusted.height = a.header.height > 1 ? a.header.height - 1 : 1;
    trusted.time.seconds = a.header.time.seconds - 1;
    lc_params p;
    lc_params_default(&p);
    cmt_timestamp now = {a.header.time.seconds + 1, 0};
    st = lc_verify(&trusted, &a.vals, &a, &p, &now);
    if (st != VEIL_OK && (st < 1000 || st > 1022) && st != VEIL_ERR_NOMEM && st != VEIL_ERR_ARG &&
        st != VEIL_ERR_OVERFLOW)
        abort();
    return 0;
}
