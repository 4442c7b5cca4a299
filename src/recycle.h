/*
 * recycle.h - small blocks past their quarantine, kept for reuse at their
 * exact size.
 *
 * A block that has waited out its quarantine would normally be merged with
 * its free neighbours and filed in a bin, only to be split off again by the
 * next allocation of the same size. Small blocks skip that round trip: they
 * stay quarantined (status and poison unchanged, still counted as used in
 * their segment) on a per-size stack, and an allocation of exactly their
 * size takes one back after checking its header and poison. Their
 * neighbours are never touched on that path, so no link is rewritten.
 *
 * The stacks are out of band (their own fenced mapping), so a write after
 * free cannot redirect them. They are bounded in depth and in bytes; what
 * does not fit is merged as before. Callers hold the owning arena's lock.
 */
#ifndef HG_RECYCLE_H
#define HG_RECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "quarantine.h"

/* Block sizes, in granules, that are recycled: the smallest exact bins. */
#define HG_RECYCLE_CLASSES 64u
#define HG_RECYCLE_DEPTH 32u

struct hg_recycle {
  struct hg_quarantined (*stack)[HG_RECYCLE_DEPTH]; /* mapped lazily */
  uint8_t depth[HG_RECYCLE_CLASSES];
  size_t bytes;
  size_t blocks;
};

/* Keep a block for reuse; false when its stack is full or over budget. */
bool hg_recycle_push(struct hg_recycle *r, struct hg_quarantined e);

/* A kept block of exactly g granules into *e; false when there is none. */
bool hg_recycle_pop(struct hg_recycle *r, uint32_t g, struct hg_quarantined *e);

/* Any kept block into *e; false when none is left: for giving them all back. */
bool hg_recycle_pop_any(struct hg_recycle *r, struct hg_quarantined *e);

/* Where b was freed, if it is kept here (a slow scan: reports only). */
uint32_t hg_recycle_free_stack(const struct hg_recycle *r, const void *block);

#endif
