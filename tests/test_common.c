/* src/common: cursors, big-endian helpers, hex, status strings. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/cursor.h"
#include "common/hex.h"
#include "common/status.h"
#include "common/varint.h"

static void test_reader_reads(void **state)
{
    (void)state;
    const uint8_t buf[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
                           0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11};
    veil_reader r = veil_reader_init(buf, sizeof buf);
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    uint8_t two[2];
    const uint8_t *view;

    assert_int_equal(veil_read_u8(&r, &u8), VEIL_OK);
    assert_int_equal(u8, 0x01);
    assert_int_equal(veil_read_u16(&r, &u16), VEIL_OK);
    assert_int_equal(u16, 0x0203);
    assert_int_equal(veil_read_u32(&r, &u32), VEIL_OK);
    assert_int_equal(u32, 0x04050607);
    assert_int_equal(veil_read_u64(&r, &u64), VEIL_OK);
    assert_true(u64 == 0x08090a0b0c0d0e0fULL);
    assert_int_equal(veil_reader_left(&r), 2);
    assert_int_equal(veil_reader_finish(&r), VEIL_ERR_TRAILING);

    /* Every failing read leaves the cursor and the output untouched. */
    u32 = 0xdeadbeef;
    assert_int_equal(veil_read_u32(&r, &u32), VEIL_ERR_TRUNCATED);
    assert_int_equal(u32, 0xdeadbeef);
    assert_int_equal(veil_read_u64(&r, &u64), VEIL_ERR_TRUNCATED);
    assert_int_equal(veil_read_bytes(&r, two, 3), VEIL_ERR_TRUNCATED);
    assert_int_equal(veil_read_view(&r, SIZE_MAX, &view), VEIL_ERR_TRUNCATED);
    assert_int_equal(r.pos, 15);

    assert_int_equal(veil_read_view(&r, 1, &view), VEIL_OK);
    assert_ptr_equal(view, buf + 15);
    assert_int_equal(veil_read_bytes(&r, two, 1), VEIL_OK);
    assert_int_equal(two[0], 0x11);
    assert_int_equal(veil_reader_finish(&r), VEIL_OK);
    assert_int_equal(veil_read_u8(&r, &u8), VEIL_ERR_TRUNCATED);
    assert_int_equal(veil_read_u16(&r, &u16), VEIL_ERR_TRUNCATED);
    assert_int_equal(r.pos, sizeof buf);

    /* empty input */
    veil_reader e = veil_reader_init(NULL, 0);
    assert_int_equal(veil_reader_finish(&e), VEIL_OK);
    assert_int_equal(veil_read_bytes(&e, two, 0), VEIL_OK);
    assert_int_equal(veil_read_u8(&e, &u8), VEIL_ERR_TRUNCATED);
}

static void test_writer(void **state)
{
    (void)state;
    uint8_t buf[16];
    memset(buf, 0xee, sizeof buf);
    veil_writer w = veil_writer_init(buf, 14);

    assert_int_equal(veil_write_u8(&w, 0xa1), VEIL_OK);
    assert_int_equal(veil_write_u16(&w, 0xb2c3), VEIL_OK);
    assert_int_equal(veil_write_u32(&w, 0xd4e5f607), VEIL_OK);
    assert_int_equal(veil_write_u64(&w, 0x0102030405060708ULL), VEIL_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(w.len, 7);
    assert_int_equal(veil_write_bytes(&w, "abcdefgh", 8), VEIL_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(veil_write_bytes(&w, "abcdefg", 7), VEIL_OK);
    assert_int_equal(w.len, 14);
    assert_int_equal(veil_write_u8(&w, 0), VEIL_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(veil_write_bytes(&w, NULL, 0), VEIL_OK);
    /* nothing beyond the capacity was touched */
    assert_int_equal(buf[14], 0xee);
    assert_int_equal(buf[15], 0xee);

    const uint8_t want[] = {0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07,
                            'a',  'b',  'c',  'd',  'e',  'f',  'g'};
    assert_memory_equal(buf, want, sizeof want);
}

static void test_big_endian_roundtrip(void **state)
{
    (void)state;
    uint8_t b[8];
    veil_put_u16(b, 0xfedc);
    assert_int_equal(b[0], 0xfe);
    assert_int_equal(b[1], 0xdc);
    assert_int_equal(veil_get_u16(b), 0xfedc);
    veil_put_u32(b, 0x80000001u);
    assert_int_equal(b[0], 0x80);
    assert_int_equal(b[3], 0x01);
    assert_true(veil_get_u32(b) == 0x80000001u);
    veil_put_u64(b, 0x8877665544332211ULL);
    assert_int_equal(b[0], 0x88);
    assert_int_equal(b[7], 0x11);
    assert_true(veil_get_u64(b) == 0x8877665544332211ULL);

    /* writer and reader agree */
    uint8_t buf[15];
    veil_writer w = veil_writer_init(buf, sizeof buf);
    assert_int_equal(veil_write_u64(&w, UINT64_MAX - 1), VEIL_OK);
    assert_int_equal(veil_write_u32(&w, UINT32_MAX), VEIL_OK);
    assert_int_equal(veil_write_u16(&w, 0x0100), VEIL_OK);
    assert_int_equal(veil_write_u8(&w, 0x7f), VEIL_OK);
    veil_reader r = veil_reader_init(buf, w.len);
    uint64_t u64;
    uint32_t u32;
    uint16_t u16;
    uint8_t u8;
    assert_int_equal(veil_read_u64(&r, &u64), VEIL_OK);
    assert_int_equal(veil_read_u32(&r, &u32), VEIL_OK);
    assert_int_equal(veil_read_u16(&r, &u16), VEIL_OK);
    assert_int_equal(veil_read_u8(&r, &u8), VEIL_OK);
    assert_int_equal(veil_reader_finish(&r), VEIL_OK);
    assert_true(u64 == UINT64_MAX - 1);
    assert_true(u32 == UINT32_MAX);
    assert_int_equal(u16, 0x0100);
    assert_int_equal(u8, 0x7f);

    size_t sum;
    assert_false(veil_add_overflows(1, 2, &sum));
    assert_int_equal(sum, 3);
    assert_true(veil_add_overflows(SIZE_MAX, 1, &sum));
}

/* Item 14 of the attack review: hex of secrets (seeds, keys) went through a branchy
 * decoder and a table lookup indexed by the secret. The branch-free codec must agree
 * with the obvious one on every byte and on every pair of characters. */
static void test_item14_hex_branch_free_matches_reference(void **state)
{
    (void)state;
    for (unsigned b = 0; b < 256; b++) {
        uint8_t in = (uint8_t)b, back;
        char text[3], want[3];
        veil_hex_encode(text, &in, 1);
        snprintf(want, sizeof want, "%02x", b);
        assert_string_equal(text, want);
        assert_int_equal(veil_hex_decode_exact(&back, 1, text, 2), VEIL_OK);
        assert_int_equal(back, in);
    }
    for (unsigned hi = 0; hi < 256; hi++) {
        for (unsigned lo = 0; lo < 256; lo++) {
            char pair[2] = {(char)hi, (char)lo};
            bool valid = strchr("0123456789abcdefABCDEF", (int)hi) && hi != 0 &&
                         strchr("0123456789abcdefABCDEF", (int)lo) && lo != 0;
            uint8_t out = 0;
            veil_status st = veil_hex_decode_exact(&out, 1, pair, 2);
            if (!valid) {
                if (st != VEIL_ERR_BAD_HEX) fail_msg("0x%02x 0x%02x accepted", hi, lo);
                continue;
            }
            assert_int_equal(st, VEIL_OK);
            unsigned want = (unsigned)strtoul((char[]){(char)hi, (char)lo, 0}, NULL, 16);
            assert_int_equal(out, want);
        }
    }
}

/* Item 8: one mapping for status codes that cross a process. */
static void test_item8_status_from_wire(void **state)
{
    (void)state;
    assert_int_equal(veil_status_from_wire(715), VEIL_ERR_TX_BAD_SIGNATURE);
    assert_int_equal(veil_status_from_wire(811), VEIL_ERR_TVE_STORE_DAMAGED);
    /* Unknown numbers, and "error: success", never pass for a code of ours. */
    assert_int_equal(veil_status_from_wire(0), VEIL_ERR_REMOTE_UNKNOWN);
    assert_int_equal(veil_status_from_wire(799), VEIL_ERR_REMOTE_UNKNOWN);
    assert_int_equal(veil_status_from_wire(UINT32_MAX), VEIL_ERR_REMOTE_UNKNOWN);
    assert_false(veil_status_is_tx_verdict(veil_status_from_wire(799)));
    assert_false(veil_status_is_tx_verdict(VEIL_ERR_TVE_STORE_DAMAGED));
    assert_false(veil_status_is_tx_verdict(VEIL_ERR_TVE_HOST_FAULT));
}

static void test_hex(void **state)
{
    (void)state;
    const uint8_t bytes[] = {0x00, 0x01, 0xab, 0xcd, 0xef, 0xff};
    char text[2 * sizeof bytes + 1];
    veil_hex_encode(text, bytes, sizeof bytes);
    assert_string_equal(text, "0001abcdefff");
    veil_hex_encode(text, bytes, 0);
    assert_string_equal(text, "");

    uint8_t out[8];
    size_t n = 99;
    assert_int_equal(veil_hex_decode(out, sizeof out, "0001ABcdEFff", 12, &n), VEIL_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(out, bytes, 6);
    assert_int_equal(veil_hex_decode(out, sizeof out, "", 0, &n), VEIL_OK);
    assert_int_equal(n, 0);

    assert_int_equal(veil_hex_decode(out, sizeof out, "abc", 3, &n), VEIL_ERR_BAD_HEX);
    assert_int_equal(veil_hex_decode(out, sizeof out, "0g", 2, &n), VEIL_ERR_BAD_HEX);
    assert_int_equal(veil_hex_decode(out, sizeof out, "g0", 2, &n), VEIL_ERR_BAD_HEX);
    assert_int_equal(veil_hex_decode(out, sizeof out, "0 ", 2, &n), VEIL_ERR_BAD_HEX);
    assert_int_equal(veil_hex_decode(out, 2, "000000", 6, &n), VEIL_ERR_BUFFER_TOO_SMALL);

    assert_int_equal(veil_hex_decode_exact(out, 2, "beef", 4), VEIL_OK);
    assert_int_equal(out[0], 0xbe);
    assert_int_equal(out[1], 0xef);
    assert_int_equal(veil_hex_decode_exact(out, 2, "bee", 3), VEIL_ERR_BAD_HEX);
    assert_int_equal(veil_hex_decode_exact(out, 2, "beefbe", 6), VEIL_ERR_BAD_HEX);
    assert_int_equal(veil_hex_decode_exact(out, 2, "be", 2), VEIL_ERR_BAD_HEX);
}

static void test_status_strings(void **state)
{
    (void)state;
    assert_string_equal(veil_status_str(VEIL_OK), "ok");
    assert_string_equal(veil_status_name(VEIL_OK), "VEIL_OK");
    assert_string_equal(veil_status_str(VEIL_ERR_TRUNCATED), "input truncated");
    assert_string_equal(veil_status_name(VEIL_ERR_TRUNCATED), "VEIL_ERR_TRUNCATED");
    assert_string_equal(veil_status_str(VEIL_ERR_AUTH), "authentication failed");
    assert_string_equal(veil_status_name(VEIL_ERR_BAD_SIGNATURE), "VEIL_ERR_BAD_SIGNATURE");
    assert_string_equal(veil_status_name(VEIL_ERR_TEE_SIGNER_KEY), "VEIL_ERR_TEE_SIGNER_KEY");
    assert_int_equal(VEIL_ERR_BUFFER_TOO_SMALL, 502);

    veil_status unknown = (veil_status)12345;
    assert_string_equal(veil_status_str(unknown), "unknown status");
    assert_string_equal(veil_status_name(unknown), "VEIL_ERR_UNKNOWN");
    assert_string_equal(veil_status_str((veil_status)-1), "unknown status");
}

static veil_status guarded(int step, int *reached)
{
    ENSURE(step != 1, VEIL_ERR_ARG);
    *reached = 1;
    TRY(step == 2 ? VEIL_ERR_IO : VEIL_OK);
    *reached = 2;
    return VEIL_OK;
}

static void test_guard_macros(void **state)
{
    (void)state;
    int reached = 0;
    assert_int_equal(guarded(1, &reached), VEIL_ERR_ARG);
    assert_int_equal(reached, 0);
    assert_int_equal(guarded(2, &reached), VEIL_ERR_IO);
    assert_int_equal(reached, 1);
    assert_int_equal(guarded(0, &reached), VEIL_OK);
    assert_int_equal(reached, 2);
}

/* The one varint codec: round trips at every length, truncation, overflow, and the
 * minimal-encoding rule that canonical decoders ask for. */
static void test_varint(void **state)
{
    (void)state;
    const uint64_t vals[] = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, (uint64_t)1 << 62,
                             UINT64_MAX};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        uint8_t buf[VEIL_VARINT_MAX_LEN];
        size_t n = veil_varint_put(buf, vals[i]);
        assert_int_equal(n, veil_varint_len(vals[i]));
        uint64_t v;
        size_t used;
        assert_int_equal(veil_varint_get(buf, n, true, &v, &used), VEIL_OK);
        assert_true(v == vals[i] && used == n);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(veil_varint_get(buf, k, false, &v, &used), VEIL_ERR_TRUNCATED);
    }
    uint64_t v;
    size_t used;
    const uint8_t nonmin[] = {0x81, 0x00}; /* 1, with a redundant zero group */
    assert_int_equal(veil_varint_get(nonmin, 2, false, &v, &used), VEIL_OK);
    assert_true(v == 1 && used == 2);
    assert_int_equal(veil_varint_get(nonmin, 2, true, &v, &used), VEIL_ERR_MALFORMED);
    const uint8_t over[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    assert_int_equal(veil_varint_get(over, sizeof over, false, &v, &used), VEIL_ERR_MALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint),
        cmocka_unit_test(test_reader_reads),
        cmocka_unit_test(test_writer),
        cmocka_unit_test(test_big_endian_roundtrip),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_item8_status_from_wire),
        cmocka_unit_test(test_item14_hex_branch_free_matches_reference),
        cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_guard_macros),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
