/*
 * arena.h - arenas: the free lists and locks that blocks are served from.
 *
 * Threads are spread round-robin over the arenas; each arena owns its
 * shared segments and has its own lock, so no lock is taken by every call.
 * A block is always returned to the arena that owns its segment.
 * Dedicated segments for large blocks are handled here too, under a lock
 * of their own, with a small bounded cache so that large blocks freed and
 * allocated again do not cost an mmap/munmap pair each time.
 */
#ifndef HG_ARENA_H
#define HG_ARENA_H

#include <stdbool.h>
#include <stddef.h>

#include "block.h"
#include "heapguard.h"
#include "segment.h"

void hg_arenas_init(unsigned count);

/*
 * Allocate a block for request bytes aligned to alignment (a power of two,
 * at least HG_GRANULE). NULL with errno ENOMEM when memory runs out. If the
 * heap turns out to be corrupted, fills *f and returns NULL with
 * f->bug_class set.
 */
void *hg_heap_alloc(size_t request, size_t alignment, uint16_t kind,
                    struct heapguard_finding *f);
/* The same; *zeroed tells whether the memory is known to be zero already. */
void *hg_heap_alloc_zeroable(size_t request, size_t alignment, uint16_t kind,
                             uint32_t stack, bool *zeroed, struct heapguard_finding *f);

/*
 * Validate and release the block at p, allocated with kind (and with size
 * bytes, when size is nonzero); free_stack says where it was freed.
 * Returns false with *f filled when a check on p fails, and then nothing
 * has been modified; or when p was released but an older block leaving
 * the quarantine was found damaged (f names that block).
 */
bool hg_heap_free(void *p, uint16_t kind, size_t size, uint32_t free_stack,
                  struct heapguard_finding *f);

/*
 * Validate the block at p as free would and, on success, return its header
 * and requested size (for realloc and malloc_usable_size).
 */
bool hg_heap_inspect(const void *p, struct hg_block *copy,
                     struct heapguard_finding *f);

/* Try to resize the block at p in place; false when it cannot. */
bool hg_heap_resize_in_place(void *p, size_t request, size_t *old_request,
                             struct heapguard_finding *f);

/*
 * Call fn on every block in use (not freed, not quarantined), guarded ones
 * included, in address order, with the whole heap held still.
 */
void hg_heap_for_each_used(hg_live_visitor fn, void *arg);

/*
 * Memory is running out: release every quarantined block now, guarded
 * ones included. False with *f at a block found damaged on the way out.
 */
bool hg_heap_drain_quarantines(struct heapguard_finding *f);

/* Hold every heap lock (as fork does): nothing in the heap changes meanwhile. */
void hg_heap_lock_all(void);
void hg_heap_unlock_all(void);

/* Walk and verify every segment; false with *f at the first finding. */
bool hg_heap_check_all(struct heapguard_finding *f);

void hg_arenas_fork_prepare(void);
void hg_arenas_fork_parent(void);
void hg_arenas_fork_child(void);

#endif
