/*
 * pool.h - the arenas' pools: blocks out of the quarantine that no
 * thread's cache had room for, kept at their exact size for any thread of
 * their arena, instead of being merged at once.
 *
 * A merge and the split that later cuts the same size again cost about
 * 1,900 instructions a block, and a program whose freed blocks outgrow
 * its thread's cache (a tree built and freed whole, an interpreter's
 * objects) paid them on most of its allocations. A pooled block stays
 * sealed quarantined and poisoned, as in a thread's cache: a thread of its
 * arena that finds its cache empty takes a batch of that size
 * (tcache.h), whose headers and poison are checked as each is handed out.
 * A pool holds at most HG_POOL_MAX_BYTES; the blocks it has no room for
 * are merged. It is merged back, every block checked first, when memory
 * runs out; and when its arena would otherwise carve memory it has not
 * used yet while the pool holds more than HG_POOL_KEPT_BYTES, its largest
 * sizes are merged back until it holds half that: as glibc consolidates
 * its fastbins, free memory is not held by the wrong sizes while the heap
 * grows. Merging the whole pool there instead made bench_churn and
 * bench_tree slower than with no pool at all (each block put in, taken
 * out and merged), and a pool without bound held hundreds of thousands
 * of bench_churn's blocks (peak RSS 188 to 197 MB, mostly their records).
 *
 * The pool's records live in a mapping of their own, out of band like the
 * quarantine's ring. Each pool has its own lock, taken after any other
 * lock and never held while taking one.
 */
#ifndef HG_POOL_H
#define HG_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quarantine.h"

#define HG_POOL_MAX_BYTES ((size_t)8 << 20)
#define HG_POOL_KEPT_BYTES ((size_t)256 << 10)

/*
 * Pool the first of n blocks of arena's segments, each of a size a
 * thread's cache keeps; returns how many it took (a full pool takes no
 * more: HG_POOL_MAX_BYTES).
 */
unsigned hg_pool_put(unsigned arena, const struct hg_quarantined *e, unsigned n);

/* Take up to max blocks of class cls (tcache.h) out of arena's pool into out. */
unsigned hg_pool_take(unsigned arena, unsigned cls, struct hg_quarantined *out, unsigned max);

/* Take up to max blocks, the largest sizes first, to merge them. */
unsigned hg_pool_take_any(unsigned arena, struct hg_quarantined *out, unsigned max);

/* The bytes of the blocks arena's pool holds (read without the lock: a hint). */
size_t hg_pool_bytes(unsigned arena);

/*
 * Whether a pool holds block, and where it was freed (0 when stacks are
 * not recorded): read when world_stopped (hg_pool_lock_all held by the
 * caller), else from the pools whose lock is free (a report never waits
 * on a lock).
 */
bool hg_pool_find(const void *block, bool world_stopped, uint32_t *free_stack);

/* Whole-heap walks and fork: after every other lock. */
void hg_pool_lock_all(void);
void hg_pool_unlock_all(void);
void hg_pool_fork_child(void);

#endif
