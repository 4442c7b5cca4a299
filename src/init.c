/*
 * init.c - start-up (options, the secret, every module in turn), fork
 * handling, and at exit the heap check, the leak report, the notes of
 * suppressions and statistics, and the summary.
 */
#define _GNU_SOURCE
#include "init.h"

#include <pthread.h>
#include <stdatomic.h>

#include "backtrace.h"
#include "check.h"
#include "config.h"
#include "dump.h"
#include "fault.h"
#include "flush.h"
#include "heap.h"
#include "leaks.h"
#include "log.h"
#include "options.h"
#include "os.h"
#include "report.h"
#include "runtime.h"
#include "segment.h"
#include "stackdepot.h"
#include "stats.h"
#include "suppress.h"

/*
 * Exit status of a run that leaked (leaks=1) or that reported and went on
 * (halt_on_error=0), unless exit_code is set.
 */
#define HG_FAILED_EXIT_CODE 23

enum { INIT_NOT_STARTED, INIT_RUNNING, INIT_DONE };
static _Atomic int init_state;

/* Without kernel randomness, fall back to what varies between processes. */
static void make_secret(void)
{
  if (hg_os_random(hg_secret, sizeof hg_secret))
    return;
  uint64_t now = hg_os_clock_ns();
  hg_secret[0] = now * 0x9e3779b97f4a7c15ull ^ (uintptr_t)&now;
  hg_secret[1] = (now << 17) ^ (uint64_t)hg_os_getpid() ^ (uintptr_t)&hg_secret;
}

static unsigned default_arena_count(void)
{
  unsigned n = 2 * hg_os_cpu_count();
  return n > HG_MAX_ARENAS ? HG_MAX_ARENAS : n;
}

static void fork_prepare(void)
{
  hg_stack_fork_prepare();
  hg_heap_fork_prepare();
}

static void fork_parent(void)
{
  hg_heap_fork_parent();
  hg_stack_fork_parent();
}

static void fork_child(void)
{
  hg_heap_fork_child();
  hg_stack_fork_child();
}

/* A thread that used the heap ends; what it held back is checked on the way. */
static void on_thread_exit(void *cache)
{
  struct heapguard_finding f = { .operation = "the end of a thread" };
  if (!hg_heap_thread_exit(cache, &f))
    hg_report_at_thread_end(&f);
}

/*
 * verbosity=1: the version and the options that differ from the defaults;
 * verbosity=2: every option's value.
 */
static void note_start_up(void)
{
  if (hg_options.verbosity < 1)
    return;
  static HG_LARGE_BSS char text[16384];
  struct hg_buf b = HG_BUF(text);
  hg_log_line_start(&b);
  hg_buf_str(&b, " " HEAPGUARD_VERSION_STRING " in ");
  hg_buf_str(&b, hg_program_path());
  hg_buf_str(&b, ", options in effect: ");
  size_t before = b.len;
  hg_options_changed(&b, &hg_options);
  if (b.len == before)
    hg_buf_str(&b, "the defaults");
  hg_buf_char(&b, '\n');
  if (hg_options.verbosity >= 2)
    hg_options_describe(&b, &hg_options);
  hg_log_note(1, b.p, b.len);
}

static void start_up(void)
{
  hg_options_load();
  make_secret();
  hg_key_derive(&hg_key, hg_secret);
  hg_heap_init(hg_options.arenas ? (unsigned)hg_options.arenas : default_arena_count(),
               on_thread_exit);
  hg_backtrace_init();
  hg_stack_memo_init();
  hg_stack_set_frames((size_t)hg_options.stack_frames);
  hg_log_init();
  hg_alloc_extras = hg_options.max_allocation || hg_options.malloc_fill_byte <= 0xff ||
                    hg_options.check_every;
  note_start_up();
  hg_suppress_load();
  hg_fault_init();
  hg_dump_signal_init();
}

void hg_init_slow(void)
{
  if (hg_tls_reentered)
    return;
  int expected = INIT_NOT_STARTED;
  if (!atomic_compare_exchange_strong(&init_state, &expected, INIT_RUNNING)) {
    while (atomic_load(&init_state) != INIT_DONE)
      hg_os_yield();
    return;
  }
  hg_tls_reentered = true;
  start_up();
  __atomic_store_n(&hg_ready, true, __ATOMIC_RELEASE);
  atomic_store(&init_state, INIT_DONE);
  hg_tls_reentered = false;
  /* Registered once the heap works: glibc may allocate to record it. */
  pthread_atfork(fork_prepare, fork_parent, fork_child);
}

__attribute__((constructor(101))) static void heapguard_constructor(void)
{
  hg_ensure_init();
}

/*
 * Every damaged block the walk can reach, with halt_on_error=0; the first
 * ends the process otherwise. Reported once the heap is let go, so the
 * report's own reads (its dump, its description) see it as it was.
 */
static void check_heap_at_exit(void)
{
  static HG_LARGE_BSS struct heapguard_finding found[HG_EXIT_FINDINGS];
  struct hg_findings out;
  hg_findings_start(&out, found, hg_options.halt_on_error ? 1 : HG_EXIT_FINDINGS,
                    "the heap check at exit");
  hg_heap_check_each(&out);
  for (unsigned i = 0; i < out.count; i++)
    if (!hg_report_refused_before(&found[i]))
      hg_report_at_exit(&found[i]);
  if (hg_findings_full(&out) && out.cap > 1) {
    static const char msg[] = "heapguard: the heap check at exit stopped after "
                              "reporting 64 damaged blocks\n";
    static_assert(HG_EXIT_FINDINGS == 64, "the note gives the number");
    hg_log_note(0, msg, sizeof msg - 1);
  }
}

/*
 * At exit, after the program's own destructors (a preloaded library is
 * finalised right after the program, before the libraries it loaded): the
 * optional whole-heap check, the leak report, and the summary of the
 * reports a halt_on_error=0 run made. Destructors of other libraries and
 * libc's writing out of stdio still follow; a failing status is set only
 * after them (flush.h).
 */
__attribute__((destructor(101))) static void heapguard_destructor(void)
{
  if (!hg_ready)
    return;
  if (hg_options.check_on_exit)
    check_heap_at_exit();
  uint64_t leaked = 0;
  if (hg_options.leaks) {
    hg_tls_reentered = true;
    leaked = hg_leaks_report();
    hg_tls_reentered = false;
  }
  hg_suppress_exit_note();
  hg_stats_exit_note(hg_report_count(), hg_suppress_count());
  hg_report_exit_summary();
  /* A run that went on after reports (halt_on_error=0) must still fail. */
  if (leaked || hg_report_count())
    hg_exit_status_at_end(hg_options.exit_code ? (int)hg_options.exit_code
                                               : HG_FAILED_EXIT_CODE);
}
