/*
 * quarantine.c - the FIFO of freed memory and its byte budget.
 */
#include "quarantine.h"

#include "config.h"
#include "options.h"
#include "os.h"

#define QUARANTINE_SLOTS ((size_t)1 << 16)

size_t hg_quarantine_budget(unsigned shares)
{
  return hg_options.quarantine_bytes / (shares ? shares : 1);
}

static bool map_ring(struct hg_quarantine *q)
{
  if (!q->ring)
    q->ring = hg_os_map_fenced(QUARANTINE_SLOTS * sizeof *q->ring);
  return q->ring != NULL;
}

bool hg_quarantine_push(struct hg_quarantine *q, struct hg_quarantined e)
{
  if (q->count == QUARANTINE_SLOTS || !map_ring(q))
    return false;
  q->ring[(q->head + q->count) % QUARANTINE_SLOTS] = e;
  q->count++;
  q->bytes += (size_t)e.granules << HG_GRANULE_SHIFT;
  return true;
}

bool hg_quarantine_over(const struct hg_quarantine *q, size_t budget)
{
  return q->count && (q->bytes > budget || q->count == QUARANTINE_SLOTS);
}

struct hg_quarantined hg_quarantine_pop(struct hg_quarantine *q)
{
  struct hg_quarantined e = q->ring[q->head];
  q->head = (q->head + 1) % QUARANTINE_SLOTS;
  q->count--;
  q->bytes -= (size_t)e.granules << HG_GRANULE_SHIFT;
  return e;
}

uint32_t hg_quarantine_free_stack(const struct hg_quarantine *q, const void *item)
{
  for (size_t i = 0; i < q->count; i++) {
    const struct hg_quarantined *e = &q->ring[(q->head + i) % QUARANTINE_SLOTS];
    if (e->item == item)
      return e->free_stack;
  }
  return 0;
}
