/*
 * tcache.h - the shared heap's thread front: what a thread frees waits in
 * the quarantine, and what has waited it out is kept for that thread's
 * next allocation of the same size, all without a lock.
 *
 * Each thread has a cache (mapped out of band, from a pool; never next to
 * the heap), which holds:
 *   - pending: blocks this thread freed, already poisoned and sealed
 *     quarantined, not yet filed in the quarantine of its arena; they are
 *     filed in batches (HG_TCACHE_PENDING), under that quarantine's lock;
 *   - ready: blocks of its own arena pushed out of that quarantine by
 *     this thread's filings, or taken from its arena's pool, kept per
 *     exact size for reuse; their poison was checked on the way out. A
 *     ready block is still quarantined for the rest of the heap; its
 *     header and poison are checked when it is reused.
 * Blocks out of the quarantine that no cache keeps (no room, or of
 * another arena: freed by a thread other than their allocator's) go to
 * the pool of their arena (pool.h) when a cache would keep their size,
 * and are merged back into their arenas (arena.h) otherwise, arena by
 * arena.
 *
 * Whole-heap walks need the heap to hold still, but the fast paths take no
 * lock: each thread marks the span of a lock-free operation in its cache
 * (hg_tcache_enter/leave), and a walk stops the world first
 * (hg_tcache_stop_world): it sets a flag, makes every thread see it with
 * one membarrier(2) instead of a fence on every operation, and waits for
 * the operations in flight to end; a thread that meets the flag takes the
 * locked path instead, and waits on the arena locks the walk holds.
 */
#ifndef HG_TCACHE_H
#define HG_TCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "heapguard.h"
#include "quarantine.h"
#include "runtime.h"

/*
 * Blocks a thread files into its quarantine together. A freed block of
 * HG_TCACHE_FILE_AT_ONCE_GRANULES or more is filed right away, with those
 * pending before it, so that large blocks do not wait outside the
 * quarantine's budget 32 at a time (bench_large held 12 MB of them
 * beside a budget of 4 MiB): pending blocks weigh less than 31 times
 * 16 KiB.
 */
#define HG_TCACHE_PENDING 32u
#define HG_TCACHE_FILE_AT_ONCE_GRANULES ((16u << 10) >> HG_GRANULE_SHIFT)
/* Sizes kept ready: blocks of HG_MIN_BLOCK_GRANULES to that + classes - 1 granules. */
#define HG_TCACHE_CLASSES 64u
/*
 * Ready blocks per size, and in bytes, a thread keeps at most: well above
 * what one filing pushes out (HG_TCACHE_PENDING), so that a program that
 * frees a burst of blocks and allocates them again takes most of them back
 * without the arena's lock, merges and splits. The bytes bound the memory
 * held. 2048 of one size rather than 256 took a tenth off the binary-trees
 * benchmark (bench/bintree.c), whose trees are freed and built again
 * whole, for the same peak RSS. Pages of the cache that are never used
 * are never touched.
 */
#define HG_TCACHE_DEPTH 2048u
#define HG_TCACHE_READY_BYTES ((size_t)512 << 10)

struct hg_tcache {
  struct hg_tcache *next, *prev; /* every live cache, for walks and reports */
  volatile uint32_t active;      /* inside a lock-free operation */
  uint32_t tid;
  unsigned arena; /* the index of the thread's arena, whose pool refills it */
  unsigned pending_count;
  unsigned ready_count[HG_TCACHE_CLASSES];
  size_t ready_bytes;
  struct hg_quarantined pending[HG_TCACHE_PENDING];
  struct hg_quarantined ready[HG_TCACHE_CLASSES][HG_TCACHE_DEPTH];
};

/*
 * At start-up: on_thread_exit runs when a thread that had a cache ends
 * (it calls hg_tcache_thread_exit with the cache); and whether
 * membarrier(2) works.
 */
void hg_tcache_init(void (*on_thread_exit)(void *cache));

extern HG_TLS struct hg_tcache *hg_tls_cache;
struct hg_tcache *hg_tcache_create(void);

/* The calling thread's cache, set up on first use; NULL when memory runs out. */
static inline struct hg_tcache *hg_tcache_get(void)
{
  struct hg_tcache *c = hg_tls_cache;
  return __builtin_expect(c != NULL, 1) ? c : hg_tcache_create();
}

extern volatile int hg_tcache_world_stopped;
/* Set when membarrier(2) is missing: then each operation pays a fence. */
extern bool hg_tcache_fence_always;

/*
 * Begin a lock-free operation on the heap: false (and nothing begun) when
 * a walk has stopped the world; the caller then waits for the world to go
 * on (hg_tcache_wait_world) and tries again.
 */
static inline bool hg_tcache_enter(struct hg_tcache *c)
{
  c->active = 1;
  if (__builtin_expect(hg_tcache_fence_always, 0))
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
  else
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
  if (__builtin_expect(!__atomic_load_n(&hg_tcache_world_stopped, __ATOMIC_RELAXED), 1))
    return true;
  c->active = 0;
  return false;
}

static inline void hg_tcache_leave(struct hg_tcache *c)
{
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  __atomic_store_n(&c->active, 0, __ATOMIC_RELEASE);
}

/* The class of a block of g granules, or HG_TCACHE_CLASSES when none keeps it. */
static inline unsigned hg_tcache_class(uint32_t g)
{
  uint32_t c = g - HG_MIN_BLOCK_GRANULES;
  return c < HG_TCACHE_CLASSES ? c : HG_TCACHE_CLASSES;
}

/*
 * An empty size takes a batch of that size from the pool of the thread's
 * arena (pool.h); false when it has none either.
 */
bool hg_tcache_refill(struct hg_tcache *c, unsigned cls);

/* Ask for the lines of a block's first 64 bytes: its header and the poison after it. */
static inline void hg_tcache_prefetch_block(const void *block)
{
  __builtin_prefetch(block);
  __builtin_prefetch((const char *)block + 63);
}

/*
 * A ready block may have waited long enough for its lines to leave the
 * caches, and taking it reads its header and poison at once. The block
 * the next take of the same class hands out is asked for now, so that
 * its misses overlap the work until then.
 */
static inline void hg_tcache_prefetch_next(const struct hg_tcache *c, unsigned cls)
{
  if (c->ready_count[cls])
    hg_tcache_prefetch_block(c->ready[cls][c->ready_count[cls] - 1].item);
}

/* Take a ready block of class c into *e; false when there is none. */
static inline bool hg_tcache_take(struct hg_tcache *c, unsigned cls, struct hg_quarantined *e)
{
  if (c->ready_count[cls] == 0 && !hg_tcache_refill(c, cls))
    return false;
  *e = c->ready[cls][--c->ready_count[cls]];
  c->ready_bytes -= (size_t)e->granules << HG_GRANULE_SHIFT;
  hg_tcache_prefetch_next(c, cls);
  return true;
}

/*
 * File a block this thread freed (poisoned, sealed quarantined). When the
 * pending blocks fill up they join the quarantine of the thread's arena,
 * and the oldest blocks it holds beyond its share of quarantine_bytes (the
 * arenas given to threads split it) come out: checked, then kept
 * ready or merged. False with the first finding in *f when one of those
 * is damaged (the others are still released).
 */
bool hg_tcache_file(struct hg_tcache *c, struct hg_quarantined e, struct heapguard_finding *f);

/*
 * The pool of the arena with this index is merged back until it holds at
 * most keep bytes, each block checked first: the arena is to carve fresh
 * memory, or memory ran out. False with the first finding in *f when one
 * is damaged (it stays out of use; the others are merged).
 */
bool hg_tcache_consolidate(unsigned arena, size_t keep, struct heapguard_finding *f);

/*
 * Memory is running out: this thread's pending and ready blocks, the
 * quarantines of every arena and every pool are checked and merged back into
 * the arenas (other threads' caches stay as they are).
 */
bool hg_tcache_drain(struct heapguard_finding *f);

/* A thread ends: its cache's blocks are filed or merged, the cache reused. */
bool hg_tcache_thread_exit(void *cache, struct heapguard_finding *f);

/*
 * Wait for every lock-free operation in flight to end, and hold new ones
 * (hg_tcache_enter fails) until resume_world; wait_world blocks until then.
 * The quarantines' locks are held in between, so they hold still too.
 */
void hg_tcache_stop_world(void);
void hg_tcache_resume_world(void);
void hg_tcache_wait_world(void);

/* Where a block sealed quarantined waits, as reports name it. */
enum hg_waits_in {
  HG_WAITS_UNKNOWN,       /* held by none, or by one whose lock was taken */
  HG_WAITS_IN_QUARANTINE, /* a thread's pending blocks, or its arena's quarantine */
  HG_WAITS_IN_CACHE,      /* out of the quarantine, kept ready by a thread */
  HG_WAITS_IN_POOL,       /* out of the quarantine, in its arena's pool */
};

struct hg_waiting {
  uint32_t free_stack; /* stack-depot id of its free; 0 when unknown */
  enum hg_waits_in in;
};

/* Where a quarantined block was freed, and where it waits. */
struct hg_waiting hg_tcache_find(const void *block);

/* In the child of a fork made with the world stopped. */
void hg_tcache_fork_child(void);

#endif
