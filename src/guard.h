/*
 * guard.h - guard-page mode: blocks that fault at the first bad access.
 *
 * With guard_mode=all (or a sampled 1 in guard_sample allocations with
 * guard_mode=sample) a block gets a slot of its own in a guard segment,
 * placed so that it ends at a PROT_NONE page (or, with guard_underflow=1,
 * starts right after one). A freed slot is made PROT_NONE and held in the
 * quarantine before reuse. An overflow, underflow or use after free then
 * faults at the faulting instruction, and fault.c's handler asks guard.c
 * (hg_guard_ops.fault) what was hit.
 *
 * guard.c owns the guard segments (kind HG_SEGMENT_GUARD), their
 * out-of-band slot tables, the quarantine of slots, the count of memory
 * mappings guard mode has created against vm.max_map_count, and the
 * sampling countdown. Everything but start-up goes through hg_guard_ops
 * (heap.h); an allocation it does not guard (not sampled, out of
 * guard_min_size..guard_max_size, budget or memory exhausted) returns NULL
 * with neither errno nor the finding set, and the heap serves it instead.
 */
#ifndef HG_GUARD_H
#define HG_GUARD_H

#include <stdint.h>

#include "segment.h"

/*
 * The slot table, out of band in a guard segment's first pages: right
 * after the read-only metadata page, struct hg_guard_meta and its slots.
 * Shared with the dump inspector, which decodes it from a dump.
 */
enum hg_slot_state {
  HG_SLOT_UNUSED = 0,
  HG_SLOT_USED = 1,
  HG_SLOT_QUARANTINED = 2,
  HG_SLOT_FREE = 3,
};

struct hg_guard_slot {
  struct hg_guard_slot *next; /* its segment's free list */
  uint64_t requested;         /* of the block in it, or of the last one */
  uint64_t alignment;
  uint32_t data_off;          /* block data, from the slot's first data page */
  _Atomic uint16_t state;     /* enum hg_slot_state */
  uint16_t kind;              /* enum hg_alloc_kind */
  uint32_t alloc_stack;       /* stack-depot ids, 0 when unknown */
  uint32_t free_stack;
};

struct hg_guard_meta {
  uint32_t slot_pages;  /* data pages per slot; a guard page follows them */
  uint32_t slot_count;
  uint32_t live;
  uint32_t class_index; /* a size class; past the last: a dedicated segment */
  uint32_t free_count;  /* slots on free_slots; all of them: the segment is empty */
  struct hg_guard_slot *free_slots;
  struct hg_segment *prev, *next; /* in its class's list of open segments */
  struct hg_guard_slot slots[];
};

static_assert(sizeof(struct hg_guard_slot) == 40, "guard slot layout");
static_assert(sizeof(struct hg_guard_meta) == 48, "guard table layout");

/*
 * Slot i's data pages start first_block + i * (slot_pages + 1) pages after
 * the metadata; a guard page follows each slot.
 */

/* At start-up, after the options: read the mapping budget. */
void hg_guard_init(void);

#endif
