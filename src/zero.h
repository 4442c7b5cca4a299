/*
 * zero.h - blocks of zero bytes: pointers into PROT_NONE memory.
 *
 * malloc(0), calloc(0, n), realloc(NULL, 0), operator new(0) and the
 * aligned calls of 0 bytes at an alignment of at most HG_GRANULE get a
 * slot of their own in a zero segment (kind HG_SEGMENT_ZERO), in every
 * mode: a distinct pointer that can be freed and reallocated, whose usable
 * size is 0, and at which no byte can be read or written. Any access
 * through it faults at the faulting instruction, and fault.c's handler
 * asks zero.c (hg_zero_ops.fault) which block it was. This is what
 * hardened_malloc does for its zero-size class.
 *
 * zero.c owns the zero segments, their out-of-band slot tables and the
 * quarantine of freed zero-size slots; everything goes through
 * hg_zero_ops (kind.h).
 */
#ifndef HG_ZERO_H
#define HG_ZERO_H

#include <stdint.h>

#include "segment.h"

/*
 * A zero segment is one registered mapping of HG_SEGMENT_SIZE bytes:
 *
 *   [guard page][hg_segment, read-only][hg_zero_meta | slot table][slot area][guard page]
 *
 * The slot area (first_block to end) is PROT_NONE from the start and never
 * changes protection; slot i is the HG_GRANULE bytes at first_block + i *
 * HG_GRANULE, and its first byte is the pointer the program gets. Entry i
 * of the table, right after the read-only metadata page, describes slot i.
 * The table is shared with the dump inspector.
 */
enum hg_zero_state {
  HG_ZERO_UNUSED = 0,      /* never handed out */
  HG_ZERO_USED = 1,
  HG_ZERO_QUARANTINED = 2, /* freed, held in the quarantine */
  HG_ZERO_FREE = 3,        /* freed, on its segment's free list */
};

struct hg_zero_slot {
  uint32_t alloc_stack;   /* stack-depot ids, 0 when unknown */
  uint32_t free_stack;
  _Atomic uint16_t state; /* enum hg_zero_state */
  uint16_t kind;          /* enum hg_alloc_kind */
  uint32_t next;          /* on the free list: the next slot's index + 1; 0 ends it */
};

struct hg_zero_meta {
  uint32_t fresh;     /* slots from this index on were never handed out */
  uint32_t live;      /* slots in use */
  uint32_t held;      /* slots in the quarantine */
  uint32_t free_head; /* index + 1 of the first slot of the free list, 0 when empty */
  struct hg_segment *prev, *next; /* in the list of segments with a slot to give */
  struct hg_zero_slot slots[];
};

static_assert(sizeof(struct hg_zero_slot) == 16, "zero slot layout");
static_assert(sizeof(struct hg_zero_meta) == 32, "zero table layout");

/*
 * Every zero segment has the same geometry, so that nothing in the
 * writable table decides where a slot is: the pages between the two
 * guard pages and the metadata page are split between the table and the
 * slot area.
 */
#define HG_ZERO_AREA_PAGES ((HG_SEGMENT_SIZE / HG_PAGE_SIZE - 3) / 2)
#define HG_ZERO_SLOTS ((uint32_t)(HG_ZERO_AREA_PAGES * (HG_PAGE_SIZE / HG_GRANULE)))
#define HG_ZERO_TABLE_PAGES                                                   \
  ((sizeof(struct hg_zero_meta) + HG_ZERO_SLOTS * sizeof(struct hg_zero_slot) + \
    HG_PAGE_SIZE - 1) / HG_PAGE_SIZE)
/* Offsets from the metadata, as in struct hg_segment. */
#define HG_ZERO_FIRST_SLOT (HG_SEGMENT_META_SIZE + HG_ZERO_TABLE_PAGES * HG_PAGE_SIZE)
#define HG_ZERO_END (HG_ZERO_FIRST_SLOT + HG_ZERO_AREA_PAGES * HG_PAGE_SIZE)

static_assert(HG_ZERO_END + HG_PAGE_SIZE <= HG_SEGMENT_SIZE - HG_PAGE_SIZE,
              "a zero segment's table and slots fit one segment");

#endif
