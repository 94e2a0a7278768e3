/* A per-request arena: responses are trees of protobuf-c structs; allocating them from
 * one list freed after packing keeps every handler free of cleanup code. Unpacked
 * messages can be registered too, so a response may point into them. Not thread-safe. */
#ifndef VEIL_HOSTUTIL_PB_ARENA_H
#define VEIL_HOSTUTIL_PB_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "common/status.h"

typedef struct veil_arena {
    struct veil_arena_node *head;
} veil_arena;

/* n zeroed bytes, max-aligned, freed with the arena; NULL when out of memory. */
void *veil_arena_alloc(veil_arena *a, size_t n);
#define VEIL_ARENA_NEW(a, type) ((type *)veil_arena_alloc((a), sizeof(type)))
/* Takes ownership of an unpacked message (freed with the arena; at once on failure). */
VEIL_MUST_CHECK veil_status veil_arena_keep(veil_arena *a, ProtobufCMessage *msg);
void veil_arena_free(veil_arena *a);

#endif
