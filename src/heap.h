/*
 * heap.h - the heap: one interface over the four kinds of segment.
 *
 * Every segment is of one kind (segment.h) and every kind is served by its
 * own module through the same operations (kind.h):
 *
 *   shared  arena.c  blocks of many sizes in 4 MiB segments, per arena:
 *                    free lists, split and merge, quarantine, recycling
 *   large   large.c  one block per dedicated segment, and a small cache
 *   guard   guard.c  blocks alone between PROT_NONE pages (guard_mode)
 *   zero    zero.c   blocks of 0 bytes: pointers into PROT_NONE slots
 *
 * heap.c picks the kind that serves a request, dispatches every operation
 * on an existing pointer by the kind of the segment the registry names
 * (never by reading memory at the pointer), and runs the walks over the
 * whole heap. Each kind takes its own locks; whole-heap walks and fork
 * take all of them through lock_all, in the order of the kinds.
 */
#ifndef HG_HEAP_H
#define HG_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmt.h"
#include "heapguard.h"
#include "kind.h"
#include "segment.h"


/*
 * At start-up, after the options. on_thread_exit runs when a thread that
 * used the heap ends, and should call hg_heap_thread_exit with its cache.
 */
void hg_heap_init(unsigned arenas, void (*on_thread_exit)(void *cache));

/* A thread ends: what its cache holds goes back; false with *f on damage. */
bool hg_heap_thread_exit(void *cache, struct heapguard_finding *f);

/* The operations of segment s's kind, NULL when the kind is unknown. */
const struct hg_kind_ops *hg_heap_ops(const struct hg_segment *s);

/*
 * Allocate request bytes aligned to alignment (a power of two, at least
 * HG_GRANULE; or 0: malloc's own, HG_GRANULE, but guard_alignment for a
 * guarded block), from the kind that serves such a request. NULL with errno
 * ENOMEM when memory runs out; with f->bug_class set when the heap is
 * damaged. *zeroed tells whether the memory is known to be zero.
 */
void *hg_heap_alloc(size_t request, size_t alignment, uint16_t kind, uint32_t stack,
                    bool *zeroed, struct heapguard_finding *f);

/* The operations of hg_kind_ops on any pointer; false with *f as they say. */
bool hg_heap_free(void *p, uint16_t kind, size_t size, uint32_t free_stack,
                  struct heapguard_finding *f);
bool hg_heap_inspect(const void *p, struct hg_block_info *info,
                     struct heapguard_finding *f);
bool hg_heap_resize_in_place(void *p, size_t request, size_t *old_request,
                             struct heapguard_finding *f);

/*
 * Walk and verify every segment and free list into out (check.h): every
 * damaged block up to its cap, as far as sound metadata leads.
 */
void hg_heap_check_each(struct hg_findings *out);

/* The same, stopping at the first finding: false with it in *f. */
bool hg_heap_check_all(struct heapguard_finding *f);

/* Call fn on every block in use, in address order, with the heap held still. */
void hg_heap_for_each_used(hg_live_visitor fn, void *arg);

/*
 * What every segment holds, kind by kind (indexed by enum
 * hg_segment_kind), counted with the heap held still.
 */
void hg_heap_count(struct hg_heap_counts by_kind[HG_SEGMENT_KINDS]);

/*
 * Memory is running out: every kind gives back what it holds for later.
 * False with *f at a block found damaged on the way out.
 */
bool hg_heap_drain(struct heapguard_finding *f);

/* The lines of a report about the block and segment f names. */
void hg_heap_describe(struct hg_buf *out, const struct heapguard_finding *f);

/* Whether a fault on addr is a bad access to heapguard memory; see fault. */
bool hg_heap_fault(uintptr_t addr, struct heapguard_finding *f);

/* Hold every heap lock (as fork does): nothing in the heap changes meanwhile. */
void hg_heap_lock_all(void);
void hg_heap_unlock_all(void);

void hg_heap_fork_prepare(void);
void hg_heap_fork_parent(void);
void hg_heap_fork_child(void);

#endif
