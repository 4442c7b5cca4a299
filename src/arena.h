/*
 * arena.h - the shared heap (arena.c): its start-up and the checks of its
 * free lists. Everything else it does goes through hg_shared_ops (heap.h).
 */
#ifndef HG_ARENA_H
#define HG_ARENA_H

#include <stdbool.h>

#include "heapguard.h"

void hg_arenas_init(unsigned count);

/*
 * Every free list of every arena, entry by entry; false with *f at the
 * first damaged one. With every arena lock held (hg_heap_lock_all).
 */
bool hg_arena_check_free_lists(struct heapguard_finding *f);

#endif
