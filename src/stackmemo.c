/*
 * stackmemo.c - the per-thread memo of captured stacks: filling it.
 */
#include "stackmemo.h"

#include <string.h>

HG_TLS struct hg_memo_set hg_tls_memo[HG_MEMO_SETS];

/* Walks from a caller whose stack varies that pass unremembered before the next is kept. */
#define PASS_VARYING 15u

/* The entry of the set that remembers this caller, if one does. */
static struct hg_memo *entry_of(struct hg_memo_set *set, uintptr_t ra, uintptr_t sp)
{
  for (unsigned w = 0; w < HG_MEMO_WAYS; w++)
    if (set->way[w].ra == ra && set->way[w].sp == sp)
      return &set->way[w];
  return NULL;
}

bool hg_stack_memo_wants(struct hg_caller from)
{
  uintptr_t ra = hg_caller_ra(from);
  struct hg_memo *m = entry_of(hg_memo_set_for(ra, from.sp), ra, from.sp);
  if (!m || m->passed == PASS_VARYING) {
    if (m)
      m->passed = 0;
    return true;
  }
  m->passed++;
  return false;
}

void hg_stack_memo_note(struct hg_caller from, uint32_t id, const struct hg_unwind_trace *trace)
{
  if (!trace->repeatable)
    return;
  uintptr_t ra = hg_caller_ra(from);
  struct hg_memo_set *set = hg_memo_set_for(ra, from.sp);
  struct hg_memo *m = entry_of(set, ra, from.sp);
  if (!m) {
    m = &set->way[set->last ^ 1];
    m->passed = 0;
  }
  set->last = (unsigned)(m - set->way);
  m->gen++;
  atomic_signal_fence(memory_order_seq_cst);
  m->ra = ra;
  m->sp = from.sp;
  m->fp = from.fp;
  m->uses_fp = trace->uses_fp;
  m->id = id;
  m->reads = trace->reads;
  for (unsigned i = 0; i < trace->reads; i++) {
    m->offset[i] = trace->offset[i];
    m->value[i] = trace->value[i];
  }
  atomic_signal_fence(memory_order_seq_cst);
  m->gen++;
}

void hg_stack_memo_forget(void)
{
  memset(hg_tls_memo, 0, sizeof hg_tls_memo);
}
