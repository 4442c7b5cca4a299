/*
 * guard.h - guard-page mode: blocks that fault at the first bad access.
 *
 * With guard_mode=all (or a sampled 1 in guard_sample allocations with
 * guard_mode=sample) a block gets a slot of its own in a guard segment,
 * placed so that it ends at a PROT_NONE page (or, with guard_underflow=1,
 * starts right after one). A freed slot is made PROT_NONE and held in a
 * FIFO quarantine before reuse. An overflow, underflow or use after free
 * then faults at the faulting instruction; the SIGSEGV/SIGBUS handler
 * installed by hg_guard_init() turns such a fault into a report.
 *
 * guard.c owns the guard segments (owner HG_OWNER_GUARD in the registry),
 * their out-of-band slot metadata, the quarantine, the count of memory
 * mappings guard mode has created against vm.max_map_count, the sampling
 * countdown and the fault handler. A guarded allocation that cannot be
 * served (budget exhausted, no memory, request too large) returns NULL and
 * the caller falls back to the normal heap.
 */
#ifndef HG_GUARD_H
#define HG_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "fmt.h"
#include "heapguard.h"
#include "segment.h"

/* Set once at start-up when guard_mode is not off; never changes after. */
extern bool hg_guard_enabled;

/* At start-up, after the options: read the mapping budget, install the handler. */
void hg_guard_init(void);

/*
 * A guarded block for request bytes aligned to alignment (a power of two,
 * at least HG_GRANULE), or NULL when this allocation is not guarded (not
 * sampled, out of guard_min_size..guard_max_size, budget or memory
 * exhausted): the caller then uses the normal heap. Guarded memory is
 * always zero.
 */
void *hg_guard_alloc(size_t request, size_t alignment, uint16_t kind, uint32_t stack);

/*
 * The contracts of hg_heap_free / hg_heap_inspect / hg_heap_resize_in_place
 * (arena.h) for pointers into guard segments, which arena.c hands over.
 * The header copy of a guarded block is made up from its slot (it has no
 * header in memory): its requested size, kind and allocation stack. A
 * guarded block is never resized in place.
 */
bool hg_guard_free(void *p, uint16_t kind, size_t size, uint32_t free_stack,
                   struct heapguard_finding *f);
bool hg_guard_inspect(const void *p, struct hg_block *copy, struct heapguard_finding *f);
bool hg_guard_resize_in_place(void *p, size_t request, size_t *old_request,
                              struct heapguard_finding *f);

/*
 * Verify a guard segment and the trailing canary of each live block in it.
 * With hg_guard_lock held (whole-heap walks hold it through hg_heap_lock_all).
 */
bool hg_guard_check_segment(const struct hg_segment *s, struct heapguard_finding *f);

/*
 * Call fn on every block in use in guard segment s (see hg_heap_for_each_used).
 * With hg_guard_lock held.
 */
void hg_guard_for_each_used(const struct hg_segment *s, hg_live_visitor fn, void *arg);

/*
 * When f was made by guard.c, write its description lines but the segment
 * line and return true; guarded blocks have no in-band header for the
 * generic description to read. Kind mismatches of guarded blocks use the
 * generic checks' words and description.
 */
bool hg_guard_describe(struct hg_buf *out, const struct heapguard_finding *f);

/* Whether f was made by guard.c (reports then write no dump: no header is damaged). */
bool hg_guard_finding(const struct heapguard_finding *f);

/*
 * Memory is running out: make every quarantined slot reusable now and
 * unmap every guard segment left with no slot in use.
 */
void hg_guard_drain_quarantine(void);

/*
 * The lock over all guard-mode state, taken by hg_heap_lock_all after the
 * arena and large locks: while whole-heap walks and fork hold it, no guard
 * segment is created or unmapped. The child of a fork re-initialises it.
 */
void hg_guard_lock(void);
void hg_guard_unlock(void);
void hg_guard_fork_child(void);

#endif
