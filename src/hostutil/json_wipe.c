#include "hostutil/json_wipe.h"

#include <malloc.h>
#include <stdlib.h>

#include <jansson.h>
#include <sodium.h>

/* Plain malloc blocks (no header), so a buffer jansson returns (json_dumps) may still be
 * released with free() by code that does not know about this allocator; what jansson
 * itself frees is wiped in full (malloc_usable_size covers the whole block). */
void *veil_json_malloc(size_t n) { return malloc(n); }

void veil_json_free(void *p)
{
    if (p == NULL) return;
    sodium_memzero(p, malloc_usable_size(p));
    free(p);
}

void veil_json_wipe_install(void) { json_set_alloc_funcs(veil_json_malloc, veil_json_free); }
