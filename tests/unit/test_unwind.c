/*
 * test_unwind.c - the CFI unwinder (unwind.c) against libunwind's
 * unw_backtrace on the same stacks: recursion, frames with and without
 * frame pointers, alloca, big frames, a shared library, a thread, signal
 * handlers on the thread's stack and on an alternate one, signals that
 * land anywhere; a coroutine's stack and garbage registers, which must end
 * the walk cleanly; and the memo (stackmemo.c), which must answer only
 * while every word the walk read still holds.
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <libunwind.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <ucontext.h>

#include "backtrace.h"
#include "config.h"
#include "stackmemo.h"
#include "unwind.h"
#include "unwind_shapes.h"

#define MAX_FRAMES 64u

/* heapguard's own code, for hg_unwind to leave out: here, what a test says. */
static uintptr_t own_lo, own_hi;

bool hg_backtrace_is_own(uintptr_t ip)
{
  return ip - 1 >= own_lo && ip - 1 < own_hi;
}

/* One stack as both unwinders saw it from the same frame. */
struct capture {
  size_t n;
  uintptr_t ours[MAX_FRAMES];
  int m;
  void *theirs[MAX_FRAMES + 1]; /* theirs[0] is the capturing frame itself */
};

/* Both walks start in the caller of this function. */
static __attribute__((noinline)) void capture_here(struct capture *k)
{
  k->n = hg_unwind(HG_CALLER, k->ours, MAX_FRAMES, NULL);
  k->m = unw_backtrace(k->theirs, MAX_FRAMES + 1);
  __asm__ volatile("" ::: "memory");
}

static void describe(char *out, size_t cap, const char *who, const uintptr_t *ips, size_t n)
{
  size_t len = strlen(out);
  len += (size_t)snprintf(out + len, cap - len, "%s (%zu frames):\n", who, n);
  for (size_t i = 0; i < n && len < cap; i++) {
    Dl_info info;
    const char *name = dladdr((void *)(ips[i] - 1), &info) && info.dli_sname ? info.dli_sname : "?";
    len += (size_t)snprintf(out + len, cap - len, "  #%zu %#lx %s\n", i, (unsigned long)ips[i], name);
  }
}

static size_t their_frames(const struct capture *k, uintptr_t *out)
{
  size_t m = k->m > 0 ? (size_t)k->m - 1 : 0;
  for (size_t i = 0; i < m; i++)
    out[i] = (uintptr_t)k->theirs[i + 1];
  return m;
}

/* Our frames are libunwind's, as far as ours go; same count when whole is set. */
static void expect_frames_of_libunwind(const struct capture *k, bool whole)
{
  uintptr_t theirs[MAX_FRAMES];
  size_t m = their_frames(k, theirs);
  bool same = whole ? k->n == m : k->n <= m;
  for (size_t i = 0; same && i < k->n; i++)
    same = k->ours[i] == theirs[i];
  if (!same) {
    static char text[8192];
    text[0] = 0;
    describe(text, sizeof text, "hg_unwind", k->ours, k->n);
    describe(text, sizeof text, "unw_backtrace", theirs, m);
    fail_msg("the walks differ\n%s", text);
  }
}

/* ----------------------------------------------------------- call chains */

/* A list of shapes to call one inside the other, then the capture. */
struct step {
  shape_fn fn;
  int n;
};

struct chain {
  const struct step *steps;
  size_t count, at;
  struct capture *into;
};

static void chain_next(void *arg)
{
  struct chain *c = arg;
  if (c->at < c->count) {
    const struct step *s = &c->steps[c->at++];
    s->fn(s->n, chain_next, c);
  } else {
    capture_here(c->into);
  }
}

static void run_chain(const struct step *steps, size_t count, struct capture *into)
{
  struct chain c = { steps, count, 0, into };
  chain_next(&c);
}

#define RUN_CHAIN(steps, into) run_chain(steps, sizeof steps / sizeof *steps, into)

static const struct step mixed[] = {
  { shape_saves_nofp, 1 },      { shape_recurse_fp, 3 },  { shape_big_frame_nofp, 0 },
  { shape_alloca_fp, 300 },     { shape_saves_fp, 2 },    { shape_recurse_nofp, 2 },
  { shape_alloca_nofp, 5000 },  { shape_big_frame_fp, 0 }, { shape_recurse_lib, 2 },
  { shape_saves_lib, 3 },       { shape_recurse_nofp, 1 },
};

/* Twice: the second walk runs on the rules the first one cached. */
static void expect_chain_like_libunwind(const struct step *steps, size_t count)
{
  for (int round = 0; round < 2; round++) {
    struct capture k;
    run_chain(steps, count, &k);
    expect_frames_of_libunwind(&k, true);
    assert_true(k.n >= count);
  }
}

static void deep_recursion(void **state)
{
  (void)state;
  static const struct step fp[] = { { shape_recurse_fp, 300 } };
  static const struct step nofp[] = { { shape_recurse_nofp, 300 } };
  struct capture k;
  RUN_CHAIN(fp, &k);
  expect_frames_of_libunwind(&k, true);
  assert_int_equal(k.n, MAX_FRAMES);
  RUN_CHAIN(nofp, &k);
  expect_frames_of_libunwind(&k, true);
  assert_int_equal(k.n, MAX_FRAMES);
}

/* A capture through call site n of the sites shape fn, checked. */
static void run_site(shape_fn fn, int n, struct capture *k)
{
  struct step steps[] = { { fn, n } };
  RUN_CHAIN(steps, k);
  expect_frames_of_libunwind(k, true);
}

/*
 * The return address in fn that a capture went through: the first frame
 * just above fn's start (its helpers are placed before it, and the
 * callers in another file).
 */
static uintptr_t return_address_in(shape_fn fn, const struct capture *k)
{
  for (size_t i = 0; i < k->n; i++)
    if (k->ours[i] > (uintptr_t)fn && k->ours[i] - (uintptr_t)fn < 4096)
      return k->ours[i];
  fail_msg("no frame in the sites shape");
  return 0;
}

/*
 * The rules of the four call sites of one function, computed in the
 * order of their addresses in one copy (each run of its program goes on
 * from where the last one stopped) and in the reverse order in another
 * (each run must start again). The copies run after a first one, which
 * finds that order and computes the rules of the helpers they call, so
 * that their own program is the only one run.
 */
static void expect_sites_like_libunwind(shape_fn first, shape_fn ascending, shape_fn descending)
{
  struct capture k;
  uintptr_t ra[4];
  int order[4];
  for (int n = 0; n < 4; n++) {
    run_site(first, n, &k);
    ra[n] = return_address_in(first, &k);
    order[n] = n;
    for (int i = n; i > 0 && ra[order[i - 1]] >= ra[order[i]]; i--) {
      assert_true(ra[order[i - 1]] != ra[order[i]]);
      int t = order[i];
      order[i] = order[i - 1];
      order[i - 1] = t;
    }
  }
  for (int i = 0; i < 4; i++)
    run_site(ascending, order[i], &k);
  for (int i = 3; i >= 0; i--)
    run_site(descending, order[i], &k);
}

static void call_sites_of_one_function_in_any_order(void **state)
{
  (void)state;
  expect_sites_like_libunwind(shape_sites_a_nofp, shape_sites_b_nofp, shape_sites_c_nofp);
  expect_sites_like_libunwind(shape_sites_a_fp, shape_sites_b_fp, shape_sites_c_fp);
  expect_sites_like_libunwind(shape_sites_a_lib, shape_sites_b_lib, shape_sites_c_lib);
}

static void frames_with_and_without_frame_pointers(void **state)
{
  (void)state;
  expect_chain_like_libunwind(mixed, sizeof mixed / sizeof *mixed);
}

static void alloca_frames(void **state)
{
  (void)state;
  static const struct step steps[] = {
    { shape_alloca_nofp, 10 }, { shape_alloca_nofp, 4000 }, { shape_alloca_fp, 70000 },
    { shape_alloca_nofp, 1 },
  };
  expect_chain_like_libunwind(steps, sizeof steps / sizeof *steps);
}

static void calls_across_a_shared_library(void **state)
{
  (void)state;
  static const struct step steps[] = {
    { shape_recurse_lib, 4 }, { shape_saves_nofp, 0 }, { shape_saves_lib, 1 },
    { shape_big_frame_lib, 0 }, { shape_alloca_lib, 100 },
  };
  expect_chain_like_libunwind(steps, sizeof steps / sizeof *steps);
}

static void *mixed_in_thread(void *arg)
{
  run_chain(mixed, sizeof mixed / sizeof *mixed, arg);
  return NULL;
}

static void in_a_thread(void **state)
{
  (void)state;
  for (int i = 0; i < 3; i++) {
    struct capture k;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, mixed_in_thread, &k), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    expect_frames_of_libunwind(&k, true);
    assert_true(k.n >= sizeof mixed / sizeof *mixed);
  }
}

/* --------------------------------------------------------------- signals */

static struct capture in_handler;

static void capture_in_handler(int sig)
{
  (void)sig;
  capture_here(&in_handler);
  __asm__ volatile("" ::: "memory");
}

/* The last step of a chain: the signal arrives inside raise(). */
static void raise_usr1(int n, shape_next next, void *arg)
{
  (void)n;
  (void)next;
  (void)arg;
  raise(SIGUSR1);
}

/* The handler's walk goes through the signal frame into the code raise() interrupted. */
static void expect_walk_through_signal(int flags)
{
  struct sigaction sa = { .sa_handler = capture_in_handler, .sa_flags = flags };
  struct sigaction old;
  assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
  static const struct step steps[] = {
    { shape_saves_fp, 1 }, { shape_recurse_nofp, 2 }, { shape_alloca_fp, 64 }, { raise_usr1, 0 },
  };
  for (int round = 0; round < 2; round++) {
    memset(&in_handler, 0, sizeof in_handler);
    struct capture not_reached;
    RUN_CHAIN(steps, &not_reached);
    expect_frames_of_libunwind(&in_handler, true);
    assert_true(in_handler.n >= 3 + sizeof steps / sizeof *steps);
  }
  assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
}

static void through_a_signal_handler(void **state)
{
  (void)state;
  expect_walk_through_signal(0);
}

static void through_a_handler_on_an_alternate_stack(void **state)
{
  (void)state;
  stack_t ss = { .ss_sp = malloc(256 << 10), .ss_size = 256 << 10 }, old;
  assert_non_null(ss.ss_sp);
  assert_int_equal(sigaltstack(&ss, &old), 0);
  expect_walk_through_signal(SA_ONSTACK);
  assert_int_equal(sigaltstack(&old, NULL), 0);
  free(ss.ss_sp);
}

/* Signals that land anywhere: in prologues, epilogues, libc, the loop. */
#define SAMPLES 64

static struct capture samples[SAMPLES];
static volatile sig_atomic_t taken;

static void sample(int sig)
{
  (void)sig;
  if (taken < SAMPLES)
    capture_here(&samples[taken++]);
  __asm__ volatile("" ::: "memory");
}

static void nothing(void *arg)
{
  (void)arg;
}

static void busy(void *arg)
{
  static const struct step inner[] = {
    { shape_saves_nofp, 1 }, { shape_alloca_fp, 32 }, { shape_recurse_lib, 1 }, { shape_big_frame_fp, 0 },
  };
  for (size_t i = 0; i < sizeof inner / sizeof *inner; i++)
    inner[i].fn(inner[i].n, nothing, arg);
}

static void at_asynchronous_signals(void **state)
{
  (void)state;
  struct sigaction sa = { .sa_handler = sample }, old;
  assert_int_equal(sigaction(SIGPROF, &sa, &old), 0);
  struct itimerval every = { { 0, 200 }, { 0, 200 } }, off = { { 0, 0 }, { 0, 0 } };
  taken = 0;
  assert_int_equal(setitimer(ITIMER_PROF, &every, NULL), 0);
  for (long i = 0; i < 50000000 && taken < SAMPLES; i++)
    shape_recurse_nofp(2, busy, NULL);
  assert_int_equal(setitimer(ITIMER_PROF, &off, NULL), 0);
  assert_int_equal(sigaction(SIGPROF, &old, NULL), 0);
  assert_int_equal(taken, SAMPLES);
  int whole = 0;
  for (int i = 0; i < SAMPLES; i++) {
    /*
     * The handler, the trampoline, the interrupted frame at least; a walk
     * may end early where the interrupted code has no rule the unwinder
     * follows (a PLT stub's CFA is a DWARF expression).
     */
    expect_frames_of_libunwind(&samples[i], false);
    assert_true(samples[i].n >= 3);
    uintptr_t theirs[MAX_FRAMES];
    whole += samples[i].n == their_frames(&samples[i], theirs);
  }
  print_message("%d of %d interrupted stacks walked as far as libunwind walks them\n", whole,
                SAMPLES);
  assert_true(whole >= SAMPLES / 2);
}

/* ------------------------------------------------- stacks it cannot walk */

static ucontext_t main_ctx, coroutine_ctx;
static struct capture on_coroutine;

static void coroutine(void)
{
  capture_here(&on_coroutine);
}

/* A stack that is neither the thread's own nor a signal stack: not read at all. */
static void on_a_coroutine_stack(void **state)
{
  (void)state;
  size_t size = 256 << 10;
  void *stack = malloc(size);
  assert_non_null(stack);
  assert_int_equal(getcontext(&coroutine_ctx), 0);
  coroutine_ctx.uc_stack = (stack_t){ .ss_sp = stack, .ss_size = size };
  coroutine_ctx.uc_link = &main_ctx;
  makecontext(&coroutine_ctx, coroutine, 0);
  assert_int_equal(swapcontext(&main_ctx, &coroutine_ctx), 0);
  free(stack);
  assert_int_equal(on_coroutine.n, 1);
  assert_int_equal(on_coroutine.ours[0], (uintptr_t)on_coroutine.theirs[1]);
}

/* A caller at words[1] with rbp fp, whose return address (words[0]) is ra. */
static struct hg_caller caller_in(volatile uintptr_t *words, uintptr_t ra, uintptr_t fp)
{
  words[0] = ra;
  return (struct hg_caller){ (uintptr_t)&words[1], fp };
}

/* Registers that lead nowhere end the walk at once; nothing outside the stack is read. */
static void garbage_registers_end_the_walk(void **state)
{
  (void)state;
  uintptr_t ips[MAX_FRAMES];
  uintptr_t fp_site = shape_call_site_fp(); /* there CFA = rbp + 16 */
  volatile uintptr_t words[16] = { 0 };
  static volatile uintptr_t not_a_stack[16];

  assert_int_equal(hg_unwind(caller_in(words, fp_site, 16), ips, MAX_FRAMES, NULL), 1);
  assert_int_equal(hg_unwind(caller_in(words, fp_site, UINTPTR_MAX - 4096), ips, MAX_FRAMES, NULL), 1);
  assert_int_equal(hg_unwind(caller_in(words, (uintptr_t)not_a_stack, 0), ips, MAX_FRAMES, NULL), 1);
  struct hg_caller off_stack = caller_in(not_a_stack, fp_site, (uintptr_t)&not_a_stack[4]);
  assert_int_equal(hg_unwind(off_stack, ips, MAX_FRAMES, NULL), 1);
  assert_int_equal(ips[0], fp_site);

  /* A saved rbp that points back at its own slot: the CFA would not move up. */
  words[4] = (uintptr_t)&words[4];
  words[5] = fp_site;
  struct hg_caller loop = caller_in(words, fp_site, (uintptr_t)&words[4]);
  assert_int_equal(hg_unwind(loop, ips, MAX_FRAMES, NULL), 2);
  assert_int_equal(hg_unwind(loop, ips, 0, NULL), 0);
}

static struct capture first, second;

static __attribute__((noinline)) void capture_via(struct capture *k)
{
  capture_here(k);
  __asm__ volatile("" ::: "memory");
}

/* The second time, capture_via's frame counts as heapguard's own. */
static __attribute__((noinline)) void capture_both(void)
{
  capture_via(&first);
  own_lo = first.ours[0] - 1;
  own_hi = first.ours[0];
  capture_via(&second);
  own_lo = own_hi = 0;
}

static void own_leading_frames_are_left_out(void **state)
{
  (void)state;
  capture_both();
  assert_true(first.n >= 3);
  assert_int_equal(second.n, first.n - 1);
  assert_memory_equal(second.ours + 1, first.ours + 2, (second.n - 1) * sizeof *second.ours);
}

/* ------------------------------------------------------------------ memo */

/*
 * Three frames of the fp shape's call site laid out by hand in words[]
 * (the caller's return address in words[0], its stack pointer at
 * words[1]): each saved rbp points at the next frame's, each return
 * address is the call site again, and a zero return address ends the
 * stack.
 */
struct fake_stack {
  volatile uintptr_t words[32];
  struct hg_caller from;
};

static void lay_out(struct fake_stack *s, uintptr_t site)
{
  memset((void *)s->words, 0, sizeof s->words);
  for (unsigned f = 4; f <= 16; f += 6) {
    s->words[f] = f + 6 <= 16 ? (uintptr_t)&s->words[f + 6] : 0;
    s->words[f + 1] = f + 6 <= 16 ? site : 0;
  }
  s->from = caller_in(s->words, site, (uintptr_t)&s->words[4]);
}

/* Lay out the fake stack and walk it, tracing what the walk read: three frames. */
static void walk_fake(struct fake_stack *s, struct hg_unwind_trace *trace)
{
  uintptr_t ips[MAX_FRAMES];
  lay_out(s, shape_call_site_fp());
  assert_int_equal(hg_unwind(s->from, ips, MAX_FRAMES, trace), 3);
}

/* Remember a walk as its caller's entry, as the first walk from a caller is. */
static void note_entry(struct hg_caller from, uint32_t id, const struct hg_unwind_trace *trace)
{
  const struct hg_memo_plan plan = { .entry = true };
  hg_stack_memo_note(from, id, trace, &plan);
}

static void memo_answers_while_the_read_words_hold(void **state)
{
  (void)state;
  struct fake_stack s;
  struct hg_unwind_trace trace;
  walk_fake(&s, &trace);
  assert_true(trace.repeatable);
  assert_true(trace.uses_fp);
  for (unsigned i = 0; i < trace.reads; i++)
    assert_int_equal(*(uintptr_t *)(s.from.sp + trace.offset[i]), trace.value[i]);

  hg_stack_memo_forget();
  assert_int_equal(hg_stack_memo_find(s.from), 0);
  note_entry(s.from, 42, &trace);
  assert_int_equal(hg_stack_memo_find(s.from), 42);

  /* Any word the walk read, changed, and the walk might differ. */
  for (unsigned i = 0; i < trace.reads; i++) {
    volatile uintptr_t *w = (volatile uintptr_t *)(s.from.sp + trace.offset[i]);
    uintptr_t saved = *w;
    *w = saved + 8;
    assert_int_equal(hg_stack_memo_find(s.from), 0);
    *w = saved;
    assert_int_equal(hg_stack_memo_find(s.from), 42);
  }
  /* Nor can the caller's return address change. */
  s.words[0] = shape_call_site_nofp();
  assert_int_equal(hg_stack_memo_find(s.from), 0);
  s.words[0] = shape_call_site_fp();
  assert_int_equal(hg_stack_memo_find(s.from), 42);
  /* A word it did not read changes nothing. */
  s.words[2] = 12345;
  assert_int_equal(hg_stack_memo_find(s.from), 42);
  /* The caller's rbp decided the first step. */
  struct hg_caller other_fp = s.from;
  other_fp.fp += 16;
  assert_int_equal(hg_stack_memo_find(other_fp), 0);
  struct hg_caller other_sp = s.from;
  other_sp.sp += 8;
  assert_int_equal(hg_stack_memo_find(other_sp), 0);
}

/* Two callers at one stack pointer, as malloc and free called in a loop: both stay. */
static void memo_keeps_two_callers_apart(void **state)
{
  (void)state;
  struct fake_stack s;
  lay_out(&s, shape_call_site_fp());
  struct hg_caller from = s.from;
  uintptr_t ips[MAX_FRAMES];
  struct hg_unwind_trace trace;
  hg_stack_memo_forget();
  for (uint32_t id = 1; id <= 64; id++) {
    s.words[0] = shape_call_site_fp() + id % 2; /* another return address, same frames */
    assert_int_equal(hg_unwind(from, ips, MAX_FRAMES, &trace), 3);
    if (id <= 2)
      note_entry(from, id, &trace);
    else
      assert_int_equal(hg_stack_memo_find(from), 2 - id % 2);
  }
}

/*
 * The fake stack with the return addresses of its first two frames set
 * by the low bits of path: another path to the same call site, walked
 * the same way to three frames.
 */
static void take_path(struct fake_stack *s, unsigned path, struct hg_unwind_trace *trace)
{
  uintptr_t ips[MAX_FRAMES];
  s->words[5] = shape_call_site_fp() + (path & 1);
  s->words[11] = shape_call_site_fp() + (path >> 1 & 1);
  assert_int_equal(hg_unwind(s->from, ips, MAX_FRAMES, trace), 3);
  assert_int_equal(ips[1], s->words[5]);
  assert_int_equal(ips[2], s->words[11]);
}

/*
 * A fresh memo with path 0 of the fake stack as the caller's entry (id
 * 100) and the paths given (each walked once) as its variants (100 + path).
 */
static void remember_paths(struct fake_stack *s, const unsigned *paths, unsigned n)
{
  struct hg_unwind_trace trace;
  struct hg_memo_plan plan;
  walk_fake(s, &trace);
  hg_stack_memo_forget();
  assert_int_equal(hg_stack_memo_recall(s->from, &plan), 0);
  assert_true(plan.entry);
  assert_false(plan.variant);
  hg_stack_memo_note(s->from, 100, &trace, &plan);
  for (unsigned i = 0; i < n; i++) {
    take_path(s, paths[i], &trace);
    assert_int_equal(hg_stack_memo_find(s->from), 0);
    assert_int_equal(hg_stack_memo_recall(s->from, &plan), 0);
    assert_true(plan.variant);
    assert_false(plan.entry);
    hg_stack_memo_note(s->from, 100 + paths[i], &trace, &plan);
  }
}

/*
 * A caller reached down several paths, as a recursive function is: the
 * first path walked is its entry, every other one is recalled as a
 * variant once walked, and a path never walked, or a variant with any
 * word it read changed (one its entry did not read included), is not.
 * Fewer than sixteen captures each time, so that none is walked to renew
 * the entry.
 */
static void memo_recalls_each_path_of_a_varying_caller(void **state)
{
  (void)state;
  struct fake_stack s;
  struct hg_unwind_trace trace;
  struct hg_memo_plan plan;
  static const unsigned paths[] = { 1, 2 };
  remember_paths(&s, paths, 2);
  for (unsigned round = 0; round < 2; round++) {
    take_path(&s, 0, &trace);
    assert_int_equal(hg_stack_memo_find(s.from), 100);
    for (unsigned path = 1; path < 3; path++) {
      take_path(&s, path, &trace);
      assert_int_equal(hg_stack_memo_find(s.from), 0);
      assert_int_equal(hg_stack_memo_recall(s.from, &plan), 100 + path);
    }
    take_path(&s, 3, &trace);
    assert_int_equal(hg_stack_memo_recall(s.from, &plan), 0);
  }

  remember_paths(&s, paths + 1, 1);
  take_path(&s, 2, &trace);
  for (unsigned i = 0; i < trace.reads; i++) {
    volatile uintptr_t *w = (volatile uintptr_t *)(s.from.sp + trace.offset[i]);
    uintptr_t saved = *w;
    *w = saved + 8;
    assert_int_equal(hg_stack_memo_recall(s.from, &plan), 0);
    *w = saved;
    assert_int_equal(hg_stack_memo_recall(s.from, &plan), 102);
  }

  /* A fourth frame: the variant reads words its entry did not read, and checks them too. */
  remember_paths(&s, NULL, 0);
  s.words[16] = (uintptr_t)&s.words[22];
  s.words[17] = shape_call_site_fp();
  uintptr_t ips[MAX_FRAMES];
  assert_int_equal(hg_unwind(s.from, ips, MAX_FRAMES, &trace), 4);
  assert_int_equal(hg_stack_memo_recall(s.from, &plan), 0);
  hg_stack_memo_note(s.from, 104, &trace, &plan);
  assert_int_equal(hg_stack_memo_recall(s.from, &plan), 104);
  s.words[23] = shape_call_site_fp();
  assert_int_equal(hg_stack_memo_recall(s.from, &plan), 0);
  s.words[23] = 0;
  assert_int_equal(hg_stack_memo_recall(s.from, &plan), 104);
}

/*
 * A caller whose stack changed for good: of the captures its entry does
 * not answer, the first is walked and kept as a variant, which answers
 * the next fourteen; the sixteenth is walked and kept as its entry, and
 * the entry answers from then on.
 */
static void memo_makes_a_lasting_variant_the_entry(void **state)
{
  (void)state;
  struct fake_stack s;
  struct hg_unwind_trace trace;
  struct hg_memo_plan plan;
  static const unsigned paths[] = { 1 };
  remember_paths(&s, paths, 1);
  take_path(&s, 1, &trace);
  for (unsigned i = 0; i < 14; i++)
    assert_int_equal(hg_stack_memo_recall(s.from, &plan), 101);
  assert_int_equal(hg_stack_memo_recall(s.from, &plan), 0);
  assert_true(plan.entry);
  assert_false(plan.variant);
  hg_stack_memo_note(s.from, 101, &trace, &plan);
  assert_int_equal(hg_stack_memo_find(s.from), 101);
  take_path(&s, 0, &trace);
  assert_int_equal(hg_stack_memo_find(s.from), 0);
}

enum { VARIANT_PAGES = HG_MEMO_VARIANT_SETS * sizeof(struct hg_memo_set) / HG_PAGE_SIZE };

/* What a fresh memo's variant table shows; checked by the main thread (cmocka asserts there only). */
struct variant_pages {
  bool walked, aligned, in_core_read;
  unsigned resident;
};

/*
 * In a thread of its own (a fresh memo, no variant answered yet): 64
 * variants under keys whose top bits all differ, and how many pages of
 * the variant table that made resident.
 */
static void *note_variants_in_a_fresh_memo(void *arg)
{
  struct variant_pages *out = arg;
  struct fake_stack s;
  struct hg_unwind_trace trace;
  uintptr_t ips[MAX_FRAMES];
  lay_out(&s, shape_call_site_fp());
  out->walked = hg_unwind(s.from, ips, MAX_FRAMES, &trace) == 3 && trace.repeatable;
  for (uint64_t i = 0; i < 64 && out->walked; i++) {
    const struct hg_memo_plan plan = { .variant = true, .key = i << 58 | i };
    hg_stack_memo_note(s.from, 200 + (uint32_t)i, &trace, &plan);
  }
  const struct hg_memo_set *variants = hg_tls_memo.sets + HG_MEMO_SETS;
  unsigned char in_core[VARIANT_PAGES];
  out->aligned = (uintptr_t)variants % HG_PAGE_SIZE == 0;
  out->in_core_read = mincore((void *)variants, VARIANT_PAGES * HG_PAGE_SIZE, in_core) == 0;
  for (unsigned i = 0; out->in_core_read && i < VARIANT_PAGES; i++)
    out->resident += in_core[i] & 1;
  return NULL;
}

/*
 * A thread whose variants have not answered yet keeps them in one page,
 * wherever their keys fall: a short process faults that page in, not
 * the eight of a table sized for the variants a recursive program uses.
 */
static void memo_variants_start_in_one_page(void **state)
{
  (void)state;
  struct variant_pages pages = { 0 };
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, note_variants_in_a_fresh_memo, &pages), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_true(pages.walked);
  assert_true(pages.aligned);
  assert_true(pages.in_core_read);
  assert_int_equal(pages.resident, 1);
}

static void memo_keeps_no_walk_it_cannot_repeat(void **state)
{
  (void)state;
  static volatile uintptr_t not_a_stack[16];
  struct hg_caller off_stack = caller_in(not_a_stack, shape_call_site_nofp(), 0);
  uintptr_t ips[MAX_FRAMES];
  struct hg_unwind_trace trace;
  assert_int_equal(hg_unwind(off_stack, ips, MAX_FRAMES, &trace), 1);
  assert_false(trace.repeatable);
  hg_stack_memo_forget();
  note_entry(off_stack, 7, &trace);
  assert_int_equal(hg_stack_memo_find(off_stack), 0);
}

/*
 * The trace holds what decided the walk: each return address it read
 * (the last one, 0, ended it), each saved rbp a later step used (not the
 * last one), and that the caller's rbp was used.
 */
static void trace_holds_what_decided_the_walk(void **state)
{
  (void)state;
  struct fake_stack s;
  struct hg_unwind_trace trace;
  walk_fake(&s, &trace);
  assert_true(trace.repeatable);
  assert_true(trace.uses_fp);
  static const unsigned read[] = { 5, 4, 11, 10, 17 };
  assert_int_equal(trace.reads, sizeof read / sizeof *read);
  for (unsigned i = 0; i < trace.reads; i++) {
    assert_int_equal(s.from.sp + trace.offset[i], (uintptr_t)&s.words[read[i]]);
    assert_int_equal(trace.value[i], s.words[read[i]]);
  }
}

/*
 * A thread's memo is mapped at its first note, uses its first sets until
 * HG_MEMO_GROW_AFTER notes, then all of them, answering again once noted
 * again; and it is unmapped when the thread ends.
 */
static void *note_until_grown(void *arg)
{
  struct fake_stack s;
  struct hg_unwind_trace trace;
  walk_fake(&s, &trace);
  assert_null(hg_tls_memo.sets);
  note_entry(s.from, 9, &trace);
  assert_non_null(hg_tls_memo.sets);
  assert_int_equal(hg_tls_memo.shift, 64u - __builtin_ctz(HG_MEMO_FIRST_SETS));
  for (unsigned i = 1; i < HG_MEMO_GROW_AFTER - 1; i++)
    note_entry(s.from, 9, &trace);
  assert_int_equal(hg_stack_memo_find(s.from), 9);
  assert_int_equal(hg_tls_memo.shift, 64u - __builtin_ctz(HG_MEMO_FIRST_SETS));
  note_entry(s.from, 10, &trace);
  assert_int_equal(hg_tls_memo.shift, 64u - __builtin_ctz(HG_MEMO_SETS));
  note_entry(s.from, 11, &trace);
  assert_int_equal(hg_stack_memo_find(s.from), 11);
  *(void **)arg = hg_tls_memo.sets;
  return NULL;
}

static void memo_grows_and_ends_with_its_thread(void **state)
{
  (void)state;
  void *sets = NULL;
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, note_until_grown, &sets), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_non_null(sets);
  unsigned char in_core;
  assert_int_equal(mincore(sets, HG_PAGE_SIZE, &in_core), -1);
  assert_int_equal(errno, ENOMEM);
}

/*
 * After fork the memo is forgotten by dropping its pages, not by writing
 * zeros over them, which would copy every page the parent had touched.
 */
static void memo_is_forgotten_by_dropping_its_pages(void **state)
{
  (void)state;
  struct fake_stack s;
  struct hg_unwind_trace trace;
  walk_fake(&s, &trace);
  note_entry(s.from, 5, &trace);
  assert_int_equal(hg_stack_memo_find(s.from), 5);
  struct hg_memo_plan plan;
  take_path(&s, 1, &trace);
  assert_int_equal(hg_stack_memo_recall(s.from, &plan), 0);
  hg_stack_memo_note(s.from, 6, &trace, &plan);
  assert_int_equal(hg_stack_memo_recall(s.from, &plan), 6);
  hg_stack_memo_forget();
  enum {
    PAGES = ((HG_MEMO_SETS + HG_MEMO_VARIANT_SETS) * sizeof(struct hg_memo_set) + HG_PAGE_SIZE - 1) /
            HG_PAGE_SIZE
  };
  unsigned char in_core[PAGES];
  assert_int_equal(mincore(hg_tls_memo.sets, PAGES * HG_PAGE_SIZE, in_core), 0);
  for (unsigned i = 0; i < PAGES; i++)
    assert_int_equal(in_core[i] & 1, 0);
  assert_int_equal(hg_stack_memo_find(s.from), 0);
  assert_int_equal(hg_stack_memo_recall(s.from, &plan), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(deep_recursion),
    cmocka_unit_test(frames_with_and_without_frame_pointers),
    cmocka_unit_test(call_sites_of_one_function_in_any_order),
    cmocka_unit_test(alloca_frames),
    cmocka_unit_test(calls_across_a_shared_library),
    cmocka_unit_test(in_a_thread),
    cmocka_unit_test(through_a_signal_handler),
    cmocka_unit_test(through_a_handler_on_an_alternate_stack),
    cmocka_unit_test(at_asynchronous_signals),
    cmocka_unit_test(on_a_coroutine_stack),
    cmocka_unit_test(garbage_registers_end_the_walk),
    cmocka_unit_test(own_leading_frames_are_left_out),
    cmocka_unit_test(memo_answers_while_the_read_words_hold),
    cmocka_unit_test(memo_keeps_two_callers_apart),
    cmocka_unit_test(memo_recalls_each_path_of_a_varying_caller),
    cmocka_unit_test(memo_makes_a_lasting_variant_the_entry),
    cmocka_unit_test(memo_variants_start_in_one_page),
    cmocka_unit_test(memo_keeps_no_walk_it_cannot_repeat),
    cmocka_unit_test(trace_holds_what_decided_the_walk),
    cmocka_unit_test(memo_grows_and_ends_with_its_thread),
    cmocka_unit_test(memo_is_forgotten_by_dropping_its_pages),
  };
  hg_stack_memo_init();
  return cmocka_run_group_tests(tests, NULL, NULL);
}
