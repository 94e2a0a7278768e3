/* protobuf-c allocations inside an enclave, from the TEE heap (tee_alloc). One
 * allocator for every enclave image. */
#ifndef VEIL_TEE_TEE_PB_H
#define VEIL_TEE_TEE_PB_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* allocator_data: NULL, or a bool * set to true when an allocation fails. protobuf-c
 * reports that as a failed unpack, which must not be taken for malformed input (a
 * verdict): callers that decode untrusted bytes pass a flag and check it. */
void *tee_pb_alloc(void *allocator_data, size_t n);
void tee_pb_free(void *allocator_data, void *p);

#define TEE_PB_ALLOCATOR(oom_flag) {tee_pb_alloc, tee_pb_free, (oom_flag)}

#endif
