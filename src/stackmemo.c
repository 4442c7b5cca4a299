/*
 * stackmemo.c - the per-thread memo of captured stacks: filling it,
 * looking up and keeping the variants of callers whose stacks vary, and
 * mapping and unmapping each thread's.
 */
#include "stackmemo.h"

#include <pthread.h>
#include <string.h>

#include "os.h"

#define MEMO_BYTES ((HG_MEMO_SETS + HG_MEMO_VARIANT_SETS) * sizeof(struct hg_memo_set))

HG_TLS struct hg_memo_ref hg_tls_memo;
/* Set when the thread's memo was given back: captures after that walk every time. */
static HG_TLS bool tls_memo_ended;
static HG_TLS unsigned tls_memo_notes;
static HG_TLS unsigned tls_variant_answers;
static pthread_key_t memo_key;
static bool memo_key_made;

/* Captures a caller's entry does not answer before the next walk from it replaces it. */
#define PASS_VARYING 15u

/*
 * A caller's credit: a new entry starts with CREDIT_FIRST; each walk from
 * it takes one, each answer from one of its variants gives CREDIT_ANSWER,
 * so that it stays above 0 while more than one capture in five is
 * answered.
 */
#define CREDIT_FIRST 16u
#define CREDIT_ANSWER 4u
#define CREDIT_MAX 64u

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

/*
 * Where the caller's variants are: a hash of the words its entry's walk
 * read, as they are now. The entry's offsets are copied first and used
 * only if the entry was not rewritten meanwhile (by a signal handler):
 * they were read at this same sp, so the words they name are readable.
 */
static bool variant_key(const struct hg_memo *m, uintptr_t ra, uintptr_t sp, uint64_t *key)
{
  uint32_t offset[HG_UNWIND_READS];
  unsigned gen = m->gen;
  atomic_signal_fence(memory_order_seq_cst);
  unsigned reads = m->reads;
  memcpy(offset, m->offset, sizeof offset);
  atomic_signal_fence(memory_order_seq_cst);
  if (gen % 2 || m->gen != gen || m->ra != ra || m->sp != sp || reads > HG_UNWIND_READS)
    return false;
  uint64_t h = (ra ^ sp) * 0x9e3779b97f4a7c15ull;
  for (unsigned i = 0; i < reads; i++)
    h = (h + *(const hg_stack_word *)(sp + offset[i])) * 0xff51afd7ed558ccdull;
  *key = h;
  return true;
}

static void earn_credit(struct hg_memo *m)
{
  m->credit = (uint8_t)(m->credit < CREDIT_MAX - CREDIT_ANSWER ? m->credit + CREDIT_ANSWER
                                                                : CREDIT_MAX);
}

static void spend_credit(struct hg_memo *m)
{
  if (m->credit)
    m->credit--;
}

/* The variant sets in use: the first few, more as variants pay (stackmemo.h). */
static struct hg_memo_set *variant_set(struct hg_memo_ref memo, uint64_t key)
{
  unsigned sets = tls_variant_answers >= HG_MEMO_VARIANT_GROW_AFTER       ? HG_MEMO_VARIANT_SETS
                  : tls_variant_answers >= HG_MEMO_VARIANT_GROW_AFTER / 8 ? HG_MEMO_VARIANT_FIRST_SETS * 8
                                                                          : HG_MEMO_VARIANT_FIRST_SETS;
  return &memo.sets[HG_MEMO_SETS + (key >> (64u - log2_of(sets)))];
}

static void count_variant_answer(void)
{
  if (tls_variant_answers < HG_MEMO_VARIANT_GROW_AFTER)
    tls_variant_answers++;
}

uint32_t hg_stack_memo_recall(struct hg_caller from, struct hg_memo_plan *plan)
{
  *plan = (struct hg_memo_plan){ .entry = !tls_memo_ended };
  struct hg_memo_ref memo = hg_tls_memo;
  if (!memo.sets)
    return 0;
  uintptr_t ra = hg_caller_ra(from);
  struct hg_memo *m = entry_of(hg_memo_set_for(memo, ra, from.sp), ra, from.sp);
  if (!m)
    return 0;
  if (m->credit || m->passed == PASS_VARYING)
    plan->variant = variant_key(m, ra, from.sp, &plan->key);
  if (plan->variant) {
    uint32_t id = hg_memo_set_answer(variant_set(memo, plan->key), ra, from);
    if (!id) {
      spend_credit(m);
    } else {
      earn_credit(m);
      count_variant_answer();
      if (m->passed++ < PASS_VARYING)
        return id;
      /* Its stack may have changed for good: walk once more, to make that the entry. */
      m->passed = 0;
      *plan = (struct hg_memo_plan){ .entry = true };
      return 0;
    }
  }
  plan->entry = m->passed == PASS_VARYING;
  m->passed = plan->entry ? 0 : m->passed + 1;
  return 0;
}

/* Write a walk's result into one entry, odd gen while it is half written. */
static void write_entry(struct hg_memo *m, uintptr_t ra, struct hg_caller from, uint32_t id,
                        const struct hg_unwind_trace *trace)
{
  m->gen++;
  atomic_signal_fence(memory_order_seq_cst);
  m->ra = ra;
  m->sp = from.sp;
  m->fp = from.fp;
  m->uses_fp = trace->uses_fp;
  m->id = id;
  m->reads = trace->reads;
  /* Whole arrays: fixed-size copies, cheaper than a loop over the reads. */
  memcpy(m->offset, trace->offset, sizeof m->offset);
  memcpy(m->value, trace->value, sizeof m->value);
  atomic_signal_fence(memory_order_seq_cst);
  m->gen++;
}

void hg_stack_memo_note(struct hg_caller from, uint32_t id, const struct hg_unwind_trace *trace,
                        const struct hg_memo_plan *plan)
{
  if (!trace->repeatable)
    return;
  struct hg_memo_ref memo = memo_of_thread();
  if (!memo.sets)
    return;
  count_note();
  uintptr_t ra = hg_caller_ra(from);
  if (plan->entry) {
    struct hg_memo_set *set = hg_memo_set_for(memo, ra, from.sp);
    struct hg_memo *m = entry_of(set, ra, from.sp);
    if (!m) {
      m = &set->way[set->last ^ 1];
      m->passed = 0;
      m->credit = CREDIT_FIRST;
    }
    set->last = (unsigned)(m - set->way);
    write_entry(m, ra, from, id, trace);
  }
  if (plan->variant) {
    struct hg_memo_set *set = variant_set(memo, plan->key);
    set->last ^= 1;
    write_entry(&set->way[set->last], ra, from, id, trace);
  }
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
