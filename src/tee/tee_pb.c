/* protobuf-c allocations from the TEE heap (tee_pb.h). */
#include "tee/tee_pb.h"

#include <stdbool.h>

#include "tee/tee.h"

void *tee_pb_alloc(void *allocator_data, size_t n)
{
    void *p = tee_alloc(n);
    if (p == NULL && allocator_data != NULL) *(bool *)allocator_data = true;
    return p;
}

void tee_pb_free(void *allocator_data, void *p)
{
    (void)allocator_data;
    tee_free(p);
}
