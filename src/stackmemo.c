/*
 * stackmemo.c - the per-thread memo of captured stacks: filling it, and
 * mapping and unmapping each thread's.
 */
#include "stackmemo.h"

#include <pthread.h>

#include "os.h"

#define MEMO_BYTES (HG_MEMO_SETS * sizeof(struct hg_memo_set))

HG_TLS struct hg_memo_ref hg_tls_memo;
/* Set when the thread's memo was given back: captures after that walk every time. */
static HG_TLS bool tls_memo_ended;
static HG_TLS unsigned tls_memo_notes;
static pthread_key_t memo_key;
static bool memo_key_made;

/* Walks from a caller whose stack varies that pass unremembered before the next is kept. */
#define PASS_VARYING 15u

/* log2 of a power of two. */
static unsigned log2_of(unsigned n)
{
  return (unsigned)__builtin_ctz(n);
}

static void give_back(void *memo)
{
  tls_memo_ended = true;
  hg_tls_memo.sets = NULL;
  hg_os_unmap(memo, MEMO_BYTES);
}

void hg_stack_memo_init(void)
{
  memo_key_made = pthread_key_create(&memo_key, give_back) == 0;
}

/*
 * The thread's memo, mapped now if it has none. A signal handler that
 * interrupts the mapping and maps one itself has finished before the
 * check after it: the second mapping is given back.
 */
static struct hg_memo_ref memo_of_thread(void)
{
  if (hg_tls_memo.sets || tls_memo_ended || !memo_key_made)
    return hg_tls_memo;
  struct hg_memo_set *sets = hg_os_map(MEMO_BYTES);
  if (!sets || hg_tls_memo.sets) {
    if (sets)
      hg_os_unmap(sets, MEMO_BYTES);
    return hg_tls_memo;
  }
  hg_tls_memo = (struct hg_memo_ref){ sets, 64u - log2_of(HG_MEMO_FIRST_SETS) };
  pthread_setspecific(memo_key, sets);
  return hg_tls_memo;
}

/*
 * A thread that keeps walking uses the whole memo. The entries kept so far
 * mostly sit where lookups no longer go, and are written over in time.
 */
static void count_note(void)
{
  if (++tls_memo_notes == HG_MEMO_GROW_AFTER)
    hg_tls_memo.shift = 64u - log2_of(HG_MEMO_SETS);
}

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
  if (!hg_tls_memo.sets)
    return !tls_memo_ended;
  uintptr_t ra = hg_caller_ra(from);
  struct hg_memo *m = entry_of(hg_memo_set_for(hg_tls_memo, ra, from.sp), ra, from.sp);
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
  struct hg_memo_ref memo = memo_of_thread();
  if (!memo.sets)
    return;
  count_note();
  uintptr_t ra = hg_caller_ra(from);
  struct hg_memo_set *set = hg_memo_set_for(memo, ra, from.sp);
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

/*
 * Dropping the pages reads them back as zeros: in a forked child, writing
 * zeros would first copy every page the parent touched.
 */
void hg_stack_memo_forget(void)
{
  if (hg_tls_memo.sets)
    hg_os_discard(hg_tls_memo.sets, MEMO_BYTES);
}
