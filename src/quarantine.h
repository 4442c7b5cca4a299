/*
 * quarantine.h - the quarantine policy: freed memory waits, in first-in
 * first-out order, until newer frees fill its budget (quarantine_bytes, or
 * a share of it) and push it out.
 *
 * One policy for every kind that quarantines: the shared heap's arenas
 * (each holds its share of the budget, tcache.c; the blocks wait
 * poisoned) and guard mode (its slots wait inaccessible). A quarantine is a ring of entries in
 * its own fenced mapping, out of band, so a write after free cannot
 * corrupt it. An entry keeps its size and free stack beside it, so that
 * moving it on does not touch the memory it names. Callers hold the lock
 * that guards the quarantine.
 */
#ifndef HG_QUARANTINE_H
#define HG_QUARANTINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What waits: a block (arena.c) or a guard slot (guard.c). */
struct hg_quarantined {
  void *item;
  uint32_t free_stack; /* stack-depot id of the free */
  uint32_t granules;   /* the bytes it weighs, in granules, as it was freed */
};

struct hg_quarantine {
  struct hg_quarantined *ring; /* mapped on first use */
  size_t head;                 /* oldest entry */
  size_t count;
  size_t bytes;
};

/* The bytes n entries weigh. */
size_t hg_quarantined_bytes(const struct hg_quarantined *e, size_t n);

/* This quarantine's budget when `shares` quarantines split quarantine_bytes. */
size_t hg_quarantine_budget(unsigned shares);

/* File an entry; false when the ring is full or cannot be mapped. */
bool hg_quarantine_push(struct hg_quarantine *q, struct hg_quarantined e);

/* True when the quarantine holds more than budget bytes. */
bool hg_quarantine_over(const struct hg_quarantine *q, size_t budget);

/* Take the oldest entry out. */
struct hg_quarantined hg_quarantine_pop(struct hg_quarantine *q);

/*
 * File n entries at once; returns how many fit (the ring may be full).
 * Then take out the oldest while the quarantine holds more than budget
 * bytes, up to max of them, into out; returns how many. Both move whole
 * runs of the ring, which is what the shared heap's threads do, a batch
 * of their frees at a time.
 */
size_t hg_quarantine_push_many(struct hg_quarantine *q, const struct hg_quarantined *e,
                               size_t n);
size_t hg_quarantine_pop_over(struct hg_quarantine *q, size_t budget,
                              struct hg_quarantined *out, size_t max);

/*
 * Whether item waits here, and where it was freed (0 when stacks are not
 * recorded); a slow scan, for reports only.
 */
bool hg_quarantine_find(const struct hg_quarantine *q, const void *item, uint32_t *free_stack);

#endif
