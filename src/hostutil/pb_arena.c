/* A per-request arena for protobuf-c response trees (hostutil/pb_arena.h). */
#include "hostutil/pb_arena.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

struct veil_arena_node {
    struct veil_arena_node *next;
    ProtobufCMessage *msg; /* freed with protobuf_c_message_free_unpacked, or NULL */
    alignas(max_align_t) unsigned char data[];
};

void *veil_arena_alloc(veil_arena *a, size_t n)
{
    if (n > SIZE_MAX - sizeof(struct veil_arena_node)) return NULL;
    struct veil_arena_node *node = calloc(1, sizeof *node + n);
    if (node == NULL) return NULL;
    node->next = a->head;
    a->head = node;
    return node->data;
}

veil_status veil_arena_keep(veil_arena *a, ProtobufCMessage *msg)
{
    struct veil_arena_node *node = calloc(1, sizeof *node);
    if (node == NULL) {
        protobuf_c_message_free_unpacked(msg, NULL);
        return VEIL_ERR_NOMEM;
    }
    node->msg = msg;
    node->next = a->head;
    a->head = node;
    return VEIL_OK;
}

void veil_arena_free(veil_arena *a)
{
    while (a->head != NULL) {
        struct veil_arena_node *n = a->head;
        a->head = n->next;
        if (n->msg != NULL) protobuf_c_message_free_unpacked(n->msg, NULL);
        free(n);
    }
}
