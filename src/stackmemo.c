/*
 * stackmemo.c - the per-thread memo of captured stacks: filling it.
 */
#include "stackmemo.h"

#include <string.h>

HG_TLS struct hg_memo hg_tls_memo[HG_MEMO_ENTRIES];

/* Walks from a caller whose stack varies that pass unremembered before the next is kept. */
#define PASS_VARYING 15u

bool hg_stack_memo_wants(struct hg_caller from)
{
  uintptr_t ra = hg_caller_ra(from);
  struct hg_memo *m = hg_memo_for(ra, from.sp);
  if (m->ra != ra || m->sp != from.sp || m->passed == PASS_VARYING) {
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
  struct hg_memo *m = hg_memo_for(ra, from.sp);
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
