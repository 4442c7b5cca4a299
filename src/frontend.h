/*
 * frontend.h - the entry points' shared path into the heap.
 *
 * Every exported allocation function (malloc family, C++ operators, guard
 * mode's callers) goes through these two, which handle start-up, re-entry
 * and reporting, so each entry point is only its own corner cases.
 */
#ifndef HG_FRONTEND_H
#define HG_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unwind.h"

/*
 * Allocate size bytes aligned to alignment (a power of two, at least
 * HG_GRANULE; or 0, malloc's own alignment, which guard_alignment changes
 * for guarded blocks), zeroed if zero is set (else filled with
 * malloc_fill_byte, when set); from is HG_CALLER of the exported function.
 * NULL with errno ENOMEM when memory runs out, or when size is above
 * max_allocation (a report first, unless allocator_may_return_null); a
 * corrupted heap is reported and does not return.
 */
void *hg_front_alloc(struct hg_caller from, const char *operation, size_t size, size_t alignment,
                     uint16_t kind, bool zero);

/*
 * Validate and release p, allocated with kind; size, when nonzero, must be
 * the size it was allocated with (C++ sized delete). Any finding is
 * reported. errno is preserved.
 */
void hg_front_release(struct hg_caller from, const char *operation, void *p, uint16_t kind, size_t size);

#endif
