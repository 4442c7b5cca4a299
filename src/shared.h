/*
 * shared.h - the shared kind (shared.c): hg_shared_ops, and its allocation
 * and free called directly by heap.c, being the common case.
 */
#ifndef HG_SHARED_H
#define HG_SHARED_H

#include "kind.h"

void *hg_shared_alloc(size_t request, size_t alignment, uint16_t kind, uint32_t stack,
                      bool *zeroed, struct heapguard_finding *f);
bool hg_shared_free(struct hg_segment *s, void *p, uint16_t kind, size_t size,
                    uint32_t free_stack, struct heapguard_finding *f);

#endif
