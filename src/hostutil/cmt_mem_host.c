/* cmt_mem_alloc for host processes: the C heap. */
#include <stdlib.h>

#include "trusted/cmt/cmt_proto.h"

void *cmt_mem_alloc(size_t n) { return malloc(n); }
void cmt_mem_free(void *p) { free(p); }
