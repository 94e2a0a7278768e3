/* A hash table from fixed-length byte keys to u32 (hostutil/keymap.h). */
#include "hostutil/keymap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/cursor.h"

static uint8_t g_hash_key[crypto_shorthash_KEYBYTES];
static pthread_once_t g_hash_once = PTHREAD_ONCE_INIT;

static void keymap_key_init(void) { randombytes_buf(g_hash_key, sizeof g_hash_key); }

static size_t keymap_slot(const veil_keymap *t, const uint8_t *key)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, key, t->key_len, g_hash_key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (size_t)v & (t->cap - 1);
}

void veil_keymap_init(veil_keymap *t, size_t key_len)
{
    (void)pthread_once(&g_hash_once, keymap_key_init);
    memset(t, 0, sizeof *t);
    t->key_len = key_len <= VEIL_KEYMAP_KEY_MAX ? key_len : VEIL_KEYMAP_KEY_MAX;
}

void veil_keymap_free(veil_keymap *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->n = 0;
}

void veil_keymap_clear(veil_keymap *t)
{
    if (t->slots != NULL) memset(t->slots, 0, t->cap * sizeof *t->slots);
    t->n = 0;
}

bool veil_keymap_get(const veil_keymap *t, const uint8_t *key, uint32_t *value)
{
    if (t->n == 0) return false;
    for (size_t i = keymap_slot(t, key);; i = (i + 1) & (t->cap - 1)) {
        const veil_keymap_slot *sl = &t->slots[i];
        if (!sl->used) return false;
        if (memcmp(sl->key, key, t->key_len) == 0) {
            if (value != NULL) *value = sl->value;
            return true;
        }
    }
}

static void keymap_insert(veil_keymap *t, const uint8_t *key, uint32_t value)
{
    for (size_t i = keymap_slot(t, key);; i = (i + 1) & (t->cap - 1)) {
        veil_keymap_slot *sl = &t->slots[i];
        if (!sl->used) {
            memcpy(sl->key, key, t->key_len);
            sl->value = value;
            sl->used = true;
            t->n++;
            return;
        }
        if (memcmp(sl->key, key, t->key_len) == 0) {
            sl->value = value;
            return;
        }
    }
}

veil_status veil_keymap_reserve(veil_keymap *t, size_t more)
{
    /* Keep the load at most 1/2 so probes stay short. */
    size_t need;
    ENSURE(!veil_add_overflows(t->n, more, &need) && need <= SIZE_MAX / 2, VEIL_ERR_OVERFLOW);
    if (need * 2 <= t->cap) return VEIL_OK;
    size_t cap = t->cap ? t->cap : 64;
    while (cap < need * 2) {
        ENSURE(cap <= SIZE_MAX / 2 / sizeof(veil_keymap_slot), VEIL_ERR_OVERFLOW);
        cap *= 2;
    }
    veil_keymap grown = *t;
    grown.slots = calloc(cap, sizeof *grown.slots);
    ENSURE(grown.slots != NULL, VEIL_ERR_NOMEM);
    grown.cap = cap;
    grown.n = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].used) keymap_insert(&grown, t->slots[i].key, t->slots[i].value);
    free(t->slots);
    *t = grown;
    return VEIL_OK;
}

veil_status veil_keymap_put(veil_keymap *t, const uint8_t *key, uint32_t value)
{
    TRY(veil_keymap_reserve(t, 1));
    keymap_insert(t, key, value);
    return VEIL_OK;
}

bool veil_keymap_del(veil_keymap *t, const uint8_t *key)
{
    if (t->n == 0) return false;
    size_t mask = t->cap - 1, i = keymap_slot(t, key);
    for (;; i = (i + 1) & mask) {
        if (!t->slots[i].used) return false;
        if (memcmp(t->slots[i].key, key, t->key_len) == 0) break;
    }
    /* Backward-shift deletion: later keys of the probe run move into the hole unless
     * their home slot lies cyclically in (hole, their slot]. No tombstones. */
    for (size_t j = i;;) {
        t->slots[i].used = false;
        for (;;) {
            j = (j + 1) & mask;
            if (!t->slots[j].used) {
                t->n--;
                return true;
            }
            size_t home = keymap_slot(t, t->slots[j].key);
            bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays) break;
        }
        t->slots[i] = t->slots[j];
        i = j;
    }
}
