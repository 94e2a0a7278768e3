/* cmt_mem_alloc inside an enclave: the TEE heap. */
#include "tee/tee.h"
#include "trusted/cmt/cmt_proto.h"

void *cmt_mem_alloc(size_t n) { return tee_alloc(n); }
void cmt_mem_free(void *p) { tee_free(p); }
