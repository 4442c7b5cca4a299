/*
 * recycle.c - per-size stacks of quarantined blocks ready for reuse.
 */
#include "recycle.h"

#include "config.h"
#include "os.h"

/* Bytes an arena keeps this way: a bound on what recycling holds back. */
#define RECYCLE_BYTES ((size_t)256 << 10)

#define STACKS_BYTES (HG_RECYCLE_CLASSES * sizeof(struct hg_quarantined[HG_RECYCLE_DEPTH]))

static bool is_recycled_size(uint32_t g)
{
  return g - HG_MIN_BLOCK_GRANULES < HG_RECYCLE_CLASSES;
}

static unsigned class_of(uint32_t g)
{
  return g - HG_MIN_BLOCK_GRANULES;
}

static bool map_stacks(struct hg_recycle *r)
{
  if (!r->stack)
    r->stack = hg_os_map_fenced(STACKS_BYTES);
  return r->stack != NULL;
}

bool hg_recycle_push(struct hg_recycle *r, struct hg_quarantined e)
{
  size_t bytes = (size_t)e.granules << HG_GRANULE_SHIFT;
  if (!is_recycled_size(e.granules) || r->bytes + bytes > RECYCLE_BYTES ||
      r->depth[class_of(e.granules)] == HG_RECYCLE_DEPTH || !map_stacks(r))
    return false;
  unsigned c = class_of(e.granules);
  r->stack[c][r->depth[c]++] = e;
  r->bytes += bytes;
  r->blocks++;
  return true;
}

static void pop_class(struct hg_recycle *r, unsigned c, struct hg_quarantined *e)
{
  *e = r->stack[c][--r->depth[c]];
  r->bytes -= (size_t)e->granules << HG_GRANULE_SHIFT;
  r->blocks--;
}

bool hg_recycle_pop(struct hg_recycle *r, uint32_t g, struct hg_quarantined *e)
{
  if (!is_recycled_size(g) || r->depth[class_of(g)] == 0)
    return false;
  pop_class(r, class_of(g), e);
  return true;
}

bool hg_recycle_pop_any(struct hg_recycle *r, struct hg_quarantined *e)
{
  for (unsigned c = 0; r->blocks && c < HG_RECYCLE_CLASSES; c++) {
    if (r->depth[c]) {
      pop_class(r, c, e);
      return true;
    }
  }
  return false;
}

uint32_t hg_recycle_free_stack(const struct hg_recycle *r, const void *block)
{
  for (unsigned c = 0; r->blocks && c < HG_RECYCLE_CLASSES; c++)
    for (unsigned i = 0; i < r->depth[c]; i++)
      if (r->stack[c][i].item == block)
        return r->stack[c][i].free_stack;
  return 0;
}
