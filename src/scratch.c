/*
 * scratch.c - a bump allocator over a static region.
 */
#include "scratch.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "runtime.h"

#define SCRATCH_SIZE ((size_t)1 << 20)

static HG_LARGE_BSS _Alignas(HG_PAGE_SIZE) char scratch[SCRATCH_SIZE];
static _Atomic size_t scratch_used;

/* Each block is preceded by its size, for realloc and malloc_usable_size. */
void *hg_scratch_alloc(size_t size, size_t alignment)
{
  if (size > SCRATCH_SIZE || alignment > SCRATCH_SIZE / 4) {
    errno = ENOMEM;
    return NULL;
  }
  size_t total = HG_GRANULE + ((size + HG_GRANULE - 1) & ~(HG_GRANULE - 1)) + alignment;
  size_t off = atomic_fetch_add_explicit(&scratch_used, total, memory_order_relaxed);
  if (off + total > SCRATCH_SIZE) {
    errno = ENOMEM;
    return NULL;
  }
  uintptr_t data = (uintptr_t)scratch + off + HG_GRANULE;
  data = (data + alignment - 1) & ~(uintptr_t)(alignment - 1);
  ((size_t *)data)[-1] = size;
  return (void *)data;
}

bool hg_scratch_owns(const void *p)
{
  return (const char *)p >= scratch && (const char *)p < scratch + SCRATCH_SIZE;
}

size_t hg_scratch_size(const void *p)
{
  return ((const size_t *)p)[-1];
}
