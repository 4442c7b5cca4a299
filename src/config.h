/*
 * config.h - compile-time geometry of the heap.
 *
 * Every size that the other modules derive their layout from lives here,
 * with static assertions tying them together, so that a change to one
 * cannot silently break another.
 */
#ifndef HG_CONFIG_H
#define HG_CONFIG_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define HG_PAGE_SIZE 4096u

/* Blocks are measured in granules; user data is aligned to one granule. */
#define HG_GRANULE_SHIFT 4u
#define HG_GRANULE ((size_t)1 << HG_GRANULE_SHIFT)

/* The in-band block header, see block.h. */
#define HG_HEADER_SIZE 32u
#define HG_HEADER_GRANULES (HG_HEADER_SIZE / HG_GRANULE)

/* A free block must hold its two mangled free-list links after the header. */
#define HG_MIN_BLOCK_GRANULES (HG_HEADER_GRANULES + 1u)

/*
 * Shared segments are 4 MiB mappings aligned to 4 MiB, which is also the
 * granularity of the segment registry: one registry slot never names two
 * segments. Dedicated (large) segments are aligned the same way.
 */
#define HG_SEGMENT_SHIFT 22u
#define HG_SEGMENT_SIZE ((size_t)1 << HG_SEGMENT_SHIFT)

/* Requests whose block would exceed this get a segment of their own. */
#define HG_LARGE_THRESHOLD ((size_t)1 << 20)

/* Block sizes are stored in 32 bits of granules. */
#define HG_MAX_BLOCK_GRANULES UINT32_MAX
#define HG_MAX_REQUEST                                                        \
  ((size_t)HG_MAX_BLOCK_GRANULES * HG_GRANULE - HG_HEADER_SIZE - 2 * HG_PAGE_SIZE)

#define HG_MAX_ARENAS 64u

/* Damaged blocks the heap check at exit reports before it stops (halt_on_error=0). */
#define HG_EXIT_FINDINGS 64u

/* Frames kept for reports and for allocation stacks. */
#define HG_MAX_FRAMES 32u

static_assert(HG_HEADER_SIZE % HG_GRANULE == 0, "header must keep data aligned");
static_assert(HG_SEGMENT_SIZE % HG_PAGE_SIZE == 0, "segments are whole pages");
static_assert(HG_LARGE_THRESHOLD < HG_SEGMENT_SIZE / 2,
              "a shared segment must hold at least two of the largest blocks");

#endif
