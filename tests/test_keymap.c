/* hostutil/keymap.h against a plain reference: random puts, gets and deletes over a
 * small key universe (so probe runs collide and wrap), reserve, and growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hostutil/keymap.h"

#define UNIVERSE 3000u

static uint64_t g_rng = 12345;
static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
    return g_rng;
}

static void key_of(uint8_t k[32], uint32_t i)
{
    memset(k, 0, 32);
    memcpy(k, &i, sizeof i);
    k[31] = (uint8_t)(i * 7);
}

static void test_against_reference(void **state)
{
    (void)state;
    static bool present[UNIVERSE];
    static uint32_t value[UNIVERSE];
    size_t count = 0;
    veil_keymap t;
    veil_keymap_init(&t, 32);
    for (int op = 0; op < 200000; op++) {
        uint32_t i = (uint32_t)(rnd() % UNIVERSE), v;
        uint8_t k[32];
        key_of(k, i);
        switch (rnd() % 3) {
        case 0:
            assert_int_equal(veil_keymap_put(&t, k, (uint32_t)op), VEIL_OK);
            if (!present[i]) count++;
            present[i] = true;
            value[i] = (uint32_t)op;
            break;
        case 1:
            assert_int_equal(veil_keymap_del(&t, k), present[i]);
            if (present[i]) count--;
            present[i] = false;
            break;
        default:
            assert_int_equal(veil_keymap_get(&t, k, &v), present[i]);
            if (present[i]) assert_int_equal(v, value[i]);
        }
        assert_int_equal(t.n, count);
    }
    for (uint32_t i = 0; i < UNIVERSE; i++) { /* every key, after all the shifting */
        uint8_t k[32];
        uint32_t v;
        key_of(k, i);
        assert_int_equal(veil_keymap_get(&t, k, &v), present[i]);
        if (present[i]) assert_int_equal(v, value[i]);
    }
    /* reserve: room for that many new keys without another allocation */
    assert_int_equal(veil_keymap_reserve(&t, 5000), VEIL_OK);
    size_t cap = t.cap;
    for (uint32_t i = 0; i < 5000; i++) {
        uint8_t k[32];
        key_of(k, UNIVERSE + i);
        assert_int_equal(veil_keymap_put(&t, k, i), VEIL_OK);
    }
    assert_int_equal(t.cap, cap);
    veil_keymap_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_against_reference)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
