/*
 * arena.h - the boundary-tag heap of shared segments (arena.c), as the
 * shared kind (shared.c) uses it. Every function but hg_arena_of_thread,
 * hg_arena_of, hg_arena_lock, the index and counts, and the start-up,
 * whole-heap and fork calls runs with the arena's lock held.
 */
#ifndef HG_ARENA_H
#define HG_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "heapguard.h"
#include "segment.h"

struct hg_arena;

void hg_arenas_init(unsigned count);

/* Granules for a block holding request bytes and at least one canary byte. */
static inline uint32_t hg_granules_for(size_t request)
{
  size_t g = (HG_HEADER_SIZE + request + 1 + HG_GRANULE - 1) >> HG_GRANULE_SHIFT;
  return g < HG_MIN_BLOCK_GRANULES ? HG_MIN_BLOCK_GRANULES : (uint32_t)g;
}

/* The arena this thread allocates from (threads are spread round-robin). */
struct hg_arena *hg_arena_of_thread(void);
/* Its index, below hg_arena_count(). */
unsigned hg_arena_index(const struct hg_arena *a);
/* The arenas there are (the `arenas` option, set at start-up): 0 before. */
unsigned hg_arena_count(void);
/* The arenas given to threads so far: at least 1, at most hg_arena_count(). */
unsigned hg_arenas_in_use(void);
/* The arena of a verified shared segment; NULL with f when it names none. */
struct hg_arena *hg_arena_of(const struct hg_segment *s, struct heapguard_finding *f);
void hg_arena_lock(struct hg_arena *a);
void hg_arena_unlock(struct hg_arena *a);

/*
 * A block for request bytes aligned to alignment, cut from the free lists,
 * else, if fresh, from memory not used yet (the top, or a new segment),
 * and marked used; *zeroed tells whether its data is known to read as
 * zero. NULL with errno left to the caller when memory runs out or
 * nothing fits, or with f set when the lists are damaged.
 */
struct hg_block *hg_arena_alloc(struct hg_arena *a, size_t request, size_t alignment,
                                uint16_t kind, uint32_t stack, bool fresh, bool *zeroed,
                                struct heapguard_finding *f);

/*
 * The checks free() runs on the block at p in segment s: a sound header,
 * in use, its trailing canary and next link intact, allocated with kind
 * (and size bytes). Otherwise f says what p is.
 */
bool hg_arena_check_live(const struct hg_segment *s, const void *p, uint16_t kind, size_t size,
                         struct heapguard_finding *f);

/*
 * Merge the block b, whose own header and contents are checked, into the
 * free lists with its free neighbours; everything the merge reads or
 * rewrites is checked first. An empty segment is kept or unmapped.
 */
bool hg_arena_merge(struct hg_arena *a, struct hg_segment *s, struct hg_block *b,
                    uint32_t free_stack, struct heapguard_finding *f);

/* Grow b into its free successor, or shrink it, keeping the data in place. */
bool hg_arena_resize(struct hg_arena *a, struct hg_segment *s, struct hg_block *b,
                     size_t request, struct heapguard_finding *f);

/*
 * Every free list of every arena, entry by entry; false with *f at the
 * first damaged one. With every arena lock held.
 */
bool hg_arena_check_free_lists(struct heapguard_finding *f);

void hg_arena_lock_all(void);
void hg_arena_unlock_all(void);
void hg_arena_fork_child(void);

#endif
