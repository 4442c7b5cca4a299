/*
 * stackmemo.h - stacks already captured, remembered per thread.
 *
 * A program allocates from the same call sites over and over, and a walk
 * (unwind.h) that starts from the same caller registers reads the same
 * stack words and reaches the same frames as long as each of those words
 * holds the same value. The memo keeps, per call site and stack pointer,
 * the stack id a walk gave and the words that walk read; a capture from
 * a remembered caller whose words all still hold their values gets the id
 * back for a load and a compare per word, without walking and without
 * looking the stack up in the depot.
 *
 * A caller reached down many paths at one depth (a recursive function
 * building a tree: each path from the root is another stack) finds its
 * words changed at almost every capture. Its other stacks are kept as
 * variants, in a table of their own, found by a hash of the words its
 * entry's walk read, as they are now: a capture the entry cannot answer
 * reads those words once more and looks its variant up instead of
 * walking.
 *
 * Captures on another stack than the thread's own, or through a signal
 * frame, are not remembered. A thread's memo is mapped at its first walk
 * worth remembering and unmapped when it ends; besides that, nothing here
 * allocates, locks or makes a system call.
 */
#ifndef HG_STACKMEMO_H
#define HG_STACKMEMO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime.h"
#include "unwind.h"

/*
 * Two entries a set, so that two callers never push each other out. A
 * call site reached at many stack depths (recursion, an interpreter's
 * nested evaluation) takes an entry per depth: bash's string expansion
 * keeps several hundred live, and a memo of 32 entries answered one of
 * its captures in eight. A thread starts with the first HG_MEMO_FIRST_SETS
 * sets (two pages), and uses all HG_MEMO_SETS once it has remembered
 * HG_MEMO_GROW_AFTER walks: a short process then touches two pages of
 * its memo, not sixty.
 */
#define HG_MEMO_SETS 512u
#define HG_MEMO_FIRST_SETS 16u
#define HG_MEMO_WAYS 2u
#define HG_MEMO_GROW_AFTER 4096u
/*
 * Two variants a set; touched only by a thread whose callers vary. A
 * thread starts with the first HG_MEMO_VARIANT_FIRST_SETS (one page),
 * uses eight times as many once its variants have answered
 * HG_MEMO_VARIANT_GROW_AFTER / 8 captures, and all once they have answered
 * HG_MEMO_VARIANT_GROW_AFTER: a short process whose callers vary without
 * repeating (a compiler's) touched every page of the table, 480 KiB, for
 * nothing, and one that starts with eight pages (grep) faults each of
 * them twice, read and then written, for a handful of answers.
 */
#define HG_MEMO_VARIANT_SETS 1024u
#define HG_MEMO_VARIANT_FIRST_SETS 8u
#define HG_MEMO_VARIANT_GROW_AFTER 2048u

/*
 * One remembered capture. gen is odd while the entry is being written,
 * so that a capture from a signal handler that interrupted the writer (or
 * a writer that interrupted a reader) never takes half of one entry for
 * a whole one.
 */
struct hg_memo {
  unsigned gen;
  bool uses_fp;     /* from.fp decided a step: it must match too */
  uint8_t reads;
  uint8_t passed;   /* captures this entry did not answer since it was written */
  uint8_t credit;   /* while not 0, every walk from this caller is kept as a variant */
  uint32_t id;      /* the stack-depot id; 0 for an empty entry */
  uintptr_t ra, sp, fp;
  uint32_t offset[HG_UNWIND_READS]; /* of each word read, from sp */
  uintptr_t value[HG_UNWIND_READS];
};

struct hg_memo_set {
  struct hg_memo way[HG_MEMO_WAYS];
  unsigned last;    /* the way answered or written last: the other one is replaced */
};

/*
 * The calling thread's memo: HG_MEMO_SETS sets, of which the first
 * 2^(64 - shift) are in use, then HG_MEMO_VARIANT_SETS sets of variants;
 * sets is NULL before the first remembered walk.
 */
struct hg_memo_ref {
  struct hg_memo_set *sets;
  unsigned shift;
};
extern HG_TLS struct hg_memo_ref hg_tls_memo;

static inline struct hg_memo_set *hg_memo_set_for(struct hg_memo_ref memo, uintptr_t ra,
                                                  uintptr_t sp)
{
  return &memo.sets[(ra ^ sp) * 0x9e3779b97f4a7c15ull >> memo.shift];
}

typedef uintptr_t __attribute__((may_alias)) hg_stack_word;

/* The words were read from this thread's own stack at this same sp: they are readable. */
__attribute__((no_sanitize_address)) static inline bool hg_memo_words_hold(const struct hg_memo *m,
                                                                           uintptr_t sp)
{
  for (unsigned i = 0; i < m->reads; i++)
    if (*(const hg_stack_word *)(sp + m->offset[i]) != m->value[i])
      return false;
  return true;
}

/* The id one entry remembers for this caller if its walk would repeat; else 0. */
static inline uint32_t hg_memo_answer(const struct hg_memo *m, uintptr_t ra,
                                      struct hg_caller from)
{
  unsigned gen = m->gen;
  atomic_signal_fence(memory_order_seq_cst);
  if (m->ra != ra || m->sp != from.sp || (m->uses_fp && m->fp != from.fp) ||
      !hg_memo_words_hold(m, from.sp))
    return 0;
  uint32_t id = m->id;
  atomic_signal_fence(memory_order_seq_cst);
  return gen % 2 == 0 && m->gen == gen ? id : 0;
}

/* The id a way of set remembers for this caller if its walk would repeat (that way is last); else 0. */
static inline uint32_t hg_memo_set_answer(struct hg_memo_set *set, uintptr_t ra,
                                          struct hg_caller from)
{
  for (unsigned w = 0; w < HG_MEMO_WAYS; w++) {
    uint32_t id = hg_memo_answer(&set->way[w], ra, from);
    if (id) {
      set->last = w;
      return id;
    }
  }
  return 0;
}

/* The stack id remembered for this caller if its walk would repeat; else 0. */
static inline uint32_t hg_stack_memo_find(struct hg_caller from)
{
  struct hg_memo_ref memo = hg_tls_memo;
  if (__builtin_expect(memo.sets == NULL, 0))
    return 0;
  uintptr_t ra = hg_caller_ra(from);
  return hg_memo_set_answer(hg_memo_set_for(memo, ra, from.sp), ra, from);
}

/* What to remember of a walk the memo could not answer. */
struct hg_memo_plan {
  bool entry;   /* as the caller's entry */
  bool variant; /* as one of its variants, under key */
  uint64_t key;
};

/*
 * A capture the inline lookup could not answer: the id one of the
 * caller's variants remembers if its walk would repeat; else 0, and
 * plan says what to remember of the walk. A caller whose words no longer
 * hold calls from a stack that varies, or that changed for good: its
 * entry is replaced only now and then (every sixteenth capture its entry
 * did not answer is walked and kept as its entry), so that a variant's
 * hash (the words at its entry's offsets) mostly stays valid, and the
 * stack it settles on is found inline again. Every walk from it is kept
 * as a variant while its variants answer often enough to pay for that
 * (one capture in five: a walk and a depot lookup cost about five times
 * what finding and keeping a variant costs), otherwise only now and then.
 */
uint32_t hg_stack_memo_recall(struct hg_caller from, struct hg_memo_plan *plan);

/*
 * Remember, as plan says, that the walk from this caller, which read
 * what trace says, gave id; the thread's memo is mapped here, the first
 * time.
 */
void hg_stack_memo_note(struct hg_caller from, uint32_t id, const struct hg_unwind_trace *trace,
                        const struct hg_memo_plan *plan);

/* At start-up: a thread's memo is unmapped when the thread ends. */
void hg_stack_memo_init(void);

/* After fork: ids name the parent's thread, so nothing is kept. */
void hg_stack_memo_forget(void);

#endif
