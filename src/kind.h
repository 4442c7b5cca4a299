/*
 * kind.h - the operations every kind of segment implements.
 *
 * A kind's module (arena.c, large.c, guard.c, zero.c) fills one struct
 * hg_kind_ops; heap.c dispatches to it by the kind recorded in a segment's
 * read-only metadata. The kinds know nothing of each other nor of heap.c.
 */
#ifndef HG_KIND_H
#define HG_KIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmt.h"
#include "heapguard.h"
#include "segment.h"

/* A block in use, as the whole-heap walks report it: its data, size, stack. */
typedef void (*hg_live_visitor)(uintptr_t data, size_t requested, uint32_t stack,
                                void *arg);

/* What inspect tells of a sound block in use. */
struct hg_findings;

struct hg_block_info {
  size_t requested;
  uint16_t kind;
  uint32_t stack;
};

/* What a kind's segments hold, as statistics count it (heap.h, hg_heap_count). */
struct hg_heap_counts {
  uint64_t segments, mapped;                      /* segments and bytes mapped */
  uint64_t used_blocks, used_bytes;               /* in use: blocks, bytes requested */
  uint64_t quarantined_blocks, quarantined_bytes; /* freed, held back: bytes they had */
  uint64_t free_blocks, free_bytes;               /* free for reuse: their capacity */
  uint64_t slots;                                 /* guard slots, in use or not */
  uint64_t mappings;                              /* memory mappings (VMAs), estimated */
};

/*
 * The operations of a kind. "p" is a pointer the program passed, inside a
 * segment s of that kind; every operation checks before it modifies, and
 * a failed check fills *f (hg_fail) and modifies nothing.
 */
struct hg_kind_ops {
  /*
   * A block for request bytes aligned to alignment (0, malloc's own, only
   * for the guard and zero kinds: heap.c gives the others HG_GRANULE), or
   * NULL: with f set
   * when the heap was found damaged, with errno ENOMEM when memory runs
   * out, or (guard only) with neither when the request is not guarded.
   * *zeroed tells whether the memory is known to be zero.
   */
  void *(*alloc)(size_t request, size_t alignment, uint16_t kind, uint32_t stack,
                 bool *zeroed, struct heapguard_finding *f);
  /*
   * Validate and release the block at p, allocated with kind (and size
   * bytes, when size is nonzero). False with *f when a check on p fails;
   * also when p was released but an older block found on the way (one
   * leaving the quarantine) is damaged: f then names that block.
   */
  bool (*free)(struct hg_segment *s, void *p, uint16_t kind, size_t size,
               uint32_t free_stack, struct heapguard_finding *f);
  /* Validate the block at p as free would, and describe it in *info. */
  bool (*inspect)(struct hg_segment *s, const void *p, struct hg_block_info *info,
                  struct heapguard_finding *f);
  /*
   * Resize the malloc'd block at p in place: true when done. False either
   * because it cannot be (f untouched) or because a check failed (f set);
   * *old_request is the block's requested size when the checks passed.
   */
  bool (*resize)(struct hg_segment *s, void *p, size_t request, size_t *old_request,
                 struct heapguard_finding *f);
  /* Verify every block of s into out (check.h), each finding's stacks noted. */
  void (*check)(const struct hg_segment *s, struct hg_findings *out);
  /* Call fn on every block of s in use (not freed, not quarantined). */
  void (*visit)(const struct hg_segment *s, hg_live_visitor fn, void *arg);
  /* Add what s holds to *c (its segment count and bytes included). */
  void (*count)(const struct hg_segment *s, struct hg_heap_counts *c);
  /* The lines of a report about the block f names, and its segment. */
  void (*describe)(struct hg_buf *out, const struct heapguard_finding *f);
  /*
   * A fault on address addr inside s (f->operation names the access:
   * "READ" or "WRITE"): true, with *f filled, when it is a bad access to
   * the program's memory; false when it is none of ours.
   * Async-signal-safe, lock-free.
   */
  bool (*fault)(const struct hg_segment *s, uintptr_t addr, struct heapguard_finding *f);
  /* Memory is running out: give back what is held for later (quarantines, caches). */
  bool (*drain)(struct heapguard_finding *f);
  /* Hold (and release) every lock of the kind: nothing in it changes meanwhile. */
  void (*lock_all)(void);
  void (*unlock_all)(void);
  /* In the child of a fork: the locks are the parent's, made anew. */
  void (*fork_child)(void);
};

extern const struct hg_kind_ops hg_shared_ops, hg_large_ops, hg_guard_ops, hg_zero_ops;

#endif
