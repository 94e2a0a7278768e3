/* A hash table from fixed-length byte keys (txids, outpoints: at most 36 bytes) to u32,
 * for hosts that index what untrusted requests name. Slots are chosen by a keyed hash
 * (SipHash) under a per-process random key, so no one can aim collisions at it; the
 * load stays at most 1/2. Not thread-safe: callers lock. */
#ifndef VEIL_HOSTUTIL_KEYMAP_H
#define VEIL_HOSTUTIL_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define VEIL_KEYMAP_KEY_MAX 36

typedef struct veil_keymap_slot {
    uint8_t key[VEIL_KEYMAP_KEY_MAX];
    uint32_t value;
    bool used;
} veil_keymap_slot;

typedef struct veil_keymap {
    veil_keymap_slot *slots;
    size_t cap; /* power of two, or 0 */
    size_t n;
    size_t key_len;
} veil_keymap;

/* key_len <= VEIL_KEYMAP_KEY_MAX (longer keys are cut to it). */
void veil_keymap_init(veil_keymap *t, size_t key_len);
void veil_keymap_free(veil_keymap *t);
void veil_keymap_clear(veil_keymap *t);
/* True if key is present; its value in *value unless value is NULL. */
bool veil_keymap_get(const veil_keymap *t, const uint8_t *key, uint32_t *value);
/* Makes room for `more` new keys, so that that many puts of new keys cannot fail.
 * VEIL_ERR_NOMEM / VEIL_ERR_OVERFLOW leave the table as it was. */
VEIL_MUST_CHECK veil_status veil_keymap_reserve(veil_keymap *t, size_t more);
/* Removes key; false if it was not there. Never fails. */
bool veil_keymap_del(veil_keymap *t, const uint8_t *key);
/* Inserts or overwrites. VEIL_ERR_NOMEM leaves the table as it was. */
VEIL_MUST_CHECK veil_status veil_keymap_put(veil_keymap *t, const uint8_t *key, uint32_t value);

#endif
