/*
 * quarantine.c - the FIFO of freed memory and its byte budget.
 */
#include "quarantine.h"

#include <string.h>

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

size_t hg_quarantined_bytes(const struct hg_quarantined *e, size_t n)
{
  size_t bytes = 0;
  for (size_t i = 0; i < n; i++)
    bytes += (size_t)e[i].granules << HG_GRANULE_SHIFT;
  return bytes;
}

size_t hg_quarantine_push_many(struct hg_quarantine *q, const struct hg_quarantined *e,
                               size_t n)
{
  if (n == 0 || !map_ring(q))
    return 0;
  if (n > QUARANTINE_SLOTS - q->count)
    n = QUARANTINE_SLOTS - q->count;
  size_t at = (q->head + q->count) % QUARANTINE_SLOTS;
  size_t first = n < QUARANTINE_SLOTS - at ? n : QUARANTINE_SLOTS - at;
  memcpy(q->ring + at, e, first * sizeof *e);
  memcpy(q->ring, e + first, (n - first) * sizeof *e);
  q->count += n;
  q->bytes += hg_quarantined_bytes(e, n);
  return n;
}

size_t hg_quarantine_pop_over(struct hg_quarantine *q, size_t budget,
                              struct hg_quarantined *out, size_t max)
{
  size_t n = 0;
  while (n < max && hg_quarantine_over(q, budget)) {
    /* A run up to the end of the ring, as long as the budget is exceeded. */
    size_t run = QUARANTINE_SLOTS - q->head;
    if (run > q->count)
      run = q->count;
    if (run > max - n)
      run = max - n;
    size_t take = 0, bytes = 0;
    while (take < run && (q->bytes - bytes > budget || q->count - take == QUARANTINE_SLOTS)) {
      bytes += (size_t)q->ring[q->head + take].granules << HG_GRANULE_SHIFT;
      take++;
    }
    memcpy(out + n, q->ring + q->head, take * sizeof *out);
    q->head = (q->head + take) % QUARANTINE_SLOTS;
    q->count -= take;
    q->bytes -= bytes;
    n += take;
  }
  return n;
}

bool hg_quarantine_find(const struct hg_quarantine *q, const void *item, uint32_t *free_stack)
{
  for (size_t i = 0; i < q->count; i++) {
    const struct hg_quarantined *e = &q->ring[(q->head + i) % QUARANTINE_SLOTS];
    if (e->item == item) {
      *free_stack = e->free_stack;
      return true;
    }
  }
  return false;
}
