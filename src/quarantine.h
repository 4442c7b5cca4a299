/*
 * quarantine.h - freed blocks held back, poisoned, before reuse.
 *
 * A freed block's data is filled with HG_POISON and the block waits in a
 * per-arena FIFO until the arena's share of quarantine_bytes is exceeded;
 * only then does it go back to the free lists. Any byte that changed
 * meanwhile is a write after free, reported with the offset, the bytes
 * found and where the block was freed. The FIFO is out of band (its own
 * mapping), so a write after free cannot corrupt it. Callers hold the
 * owning arena's lock.
 */
#ifndef HG_QUARANTINE_H
#define HG_QUARANTINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "heapguard.h"

#define HG_POISON 0xdf

/*
 * A freed block as the quarantine and the recycling stacks hold it: its
 * size is kept beside it so that moving it on does not touch its memory.
 */
struct hg_freed {
  struct hg_block *block;
  uint32_t free_stack; /* stack-depot id of the free */
  uint32_t granules;   /* block size, from its header when it was freed */
};

struct hg_quarantine {
  struct hg_freed *ring; /* QUARANTINE_SLOTS entries, mapped lazily */
  size_t head;           /* oldest entry */
  size_t count;
  size_t bytes;
};

/* Poison a block's data and file it; false when the ring cannot be mapped. */
bool hg_quarantine_push(struct hg_quarantine *q, struct hg_block *b, uint32_t free_stack);

/* True when the quarantine holds more than budget bytes or is full. */
bool hg_quarantine_over(const struct hg_quarantine *q, size_t budget);

/* Take the oldest block out. */
struct hg_freed hg_quarantine_pop(struct hg_quarantine *q);

/* Where b was freed, if it is in the quarantine (a slow scan: reports only). */
uint32_t hg_quarantine_free_stack(const struct hg_quarantine *q, const struct hg_block *b);

/*
 * The poison of a quarantined block is intact; otherwise fill f with a
 * heap-use-after-free finding (offset, extent, expected and found byte).
 */
bool hg_check_poison(const struct hg_block *b, struct heapguard_finding *f);

#endif
