/*
 * scratch.h - the allocator of last resort.
 *
 * Serves a thread that reenters malloc while heapguard is starting up or
 * writing a report (libc and libunwind may allocate on those paths): a
 * bump allocator over a static zeroed region. Its blocks are never reused;
 * free() recognises and ignores them.
 */
#ifndef HG_SCRATCH_H
#define HG_SCRATCH_H

#include <stdbool.h>
#include <stddef.h>

void *hg_scratch_alloc(size_t size, size_t alignment);
bool hg_scratch_owns(const void *p);
size_t hg_scratch_size(const void *p);

#endif
