/*
 * quarantine.c - the FIFO of freed blocks and their poison.
 */
#include "quarantine.h"

#include <string.h>

#include "check.h"
#include "os.h"

#define QUARANTINE_SLOTS ((size_t)1 << 16)

static const uint64_t poison_word = 0x0101010101010101ull * HG_POISON;

static bool map_ring(struct hg_quarantine *q)
{
  if (!q->ring)
    q->ring = hg_os_map_fenced(QUARANTINE_SLOTS * sizeof *q->ring);
  return q->ring != NULL;
}

bool hg_quarantine_push(struct hg_quarantine *q, struct hg_block *b, uint32_t free_stack)
{
  if (q->count == QUARANTINE_SLOTS || !map_ring(q))
    return false;
  memset(hg_block_data(b), HG_POISON, hg_block_capacity(b));
  q->ring[(q->head + q->count) % QUARANTINE_SLOTS] =
    (struct hg_freed){ b, free_stack, b->size };
  q->count++;
  q->bytes += hg_block_bytes(b);
  return true;
}

bool hg_quarantine_over(const struct hg_quarantine *q, size_t budget)
{
  return q->count && (q->bytes > budget || q->count == QUARANTINE_SLOTS);
}

struct hg_freed hg_quarantine_pop(struct hg_quarantine *q)
{
  struct hg_freed e = q->ring[q->head];
  q->head = (q->head + 1) % QUARANTINE_SLOTS;
  q->count--;
  q->bytes -= (size_t)e.granules << HG_GRANULE_SHIFT;
  return e;
}

uint32_t hg_quarantine_free_stack(const struct hg_quarantine *q, const struct hg_block *b)
{
  for (size_t i = 0; i < q->count; i++) {
    const struct hg_freed *e = &q->ring[(q->head + i) % QUARANTINE_SLOTS];
    if (e->block == b)
      return e->free_stack;
  }
  return 0;
}

/* Index of the first byte of p[0..n) that is not poison, or n. */
static size_t first_unpoisoned(const uint8_t *p, size_t n)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    if (w != poison_word)
      break;
  }
  for (; i < n; i++)
    if (p[i] != HG_POISON)
      return i;
  return n;
}

bool hg_check_poison(const struct hg_block *b, struct heapguard_finding *f)
{
  const uint8_t *data = hg_block_data(b);
  size_t n = hg_block_capacity(b);
  size_t first = first_unpoisoned(data, n);
  if (first == n)
    return true;
  size_t last = first;
  for (size_t i = first; i < n; i++)
    if (data[i] != HG_POISON)
      last = i;
  f->offset = (intptr_t)first;
  f->extent = last - first + 1;
  f->requested = hg_block_requested(b);
  return hg_fail(f, HEAPGUARD_USE_AFTER_FREE, "poison of a freed block", b, HG_POISON,
                 data[first]);
}
