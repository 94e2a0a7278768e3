/* jansson with wiping frees: every block jansson frees is zeroed first. Wallet files,
 * seeds and configurations pass through jansson as plaintext JSON; its own copies of
 * the strings (json_string, json_loadb, json_dumps buffers) must not outlive their use
 * in freed heap memory. Host only. */
#ifndef VEIL_HOSTUTIL_JSON_WIPE_H
#define VEIL_HOSTUTIL_JSON_WIPE_H

#include <stddef.h>

/* Installs the wiping allocator for the whole process (json_set_alloc_funcs). Call once
 * at start, before any JSON value exists. */
void veil_json_wipe_install(void);

/* The allocator itself (exposed for tests): malloc'd blocks, wiped whole on free. */
void *veil_json_malloc(size_t n);
void veil_json_free(void *p);

#endif
