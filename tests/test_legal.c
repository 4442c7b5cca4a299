/*
 * test_legal.c - tricky but legal programs: under heapguard each must exit
 * 0 with its own success line and no report at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "harness.h"

struct legal_case {
  const char *program;
  const char *success;
  const char *options; /* HEAPGUARD_OPTIONS for the run, or NULL */
};

#define GUARD_ALL "guard_mode=all"
#define GUARD_SAMPLE "guard_mode=sample:guard_sample=10"
#define GUARD_EXACT "guard_mode=all:guard_alignment=1"

static const struct legal_case cases[] = {
  { "api_corners", "api corners ok" },
  { "threads", "threads ok" },
  { "fork_threads", "fork ok" },
  { "many_objects", "many objects ok" },
  { "cxx_operators", "cxx operators ok" },
  { "stats_calls", "stats calls ok" },
  { "stats_calls", "stats calls ok", "guard_mode=all" },
  /* Guard mode; many_objects under guard_mode=all outgrows vm.max_map_count. */
  { "api_corners", "api corners ok", GUARD_ALL },
  { "threads", "threads ok", GUARD_ALL },
  { "fork_threads", "fork ok", GUARD_ALL },
  { "many_objects", "many objects ok", GUARD_ALL },
  { "cxx_operators", "cxx operators ok", GUARD_ALL },
  { "api_corners", "api corners ok", GUARD_SAMPLE },
  { "threads", "threads ok", GUARD_SAMPLE },
  { "fork_threads", "fork ok", GUARD_SAMPLE },
  { "many_objects", "many objects ok", GUARD_SAMPLE },
  { "cxx_operators", "cxx operators ok", GUARD_SAMPLE },
  /* Blocks end at their guard page; the alignments asked for are kept. */
  { "api_corners", "api corners ok", GUARD_EXACT },
  { "cxx_operators", "cxx operators ok", GUARD_EXACT },
  /* The other layouts and checks: random placement, no quarantine, checks. */
  { "api_corners", "api corners ok", "random_placement=1:check_every=1000" },
  { "api_corners", "api corners ok", "quarantine_bytes=0" },
  { "threads", "threads ok", "random_placement=1:quarantine_bytes=0" },
  { "cxx_operators", "cxx operators ok", "random_placement=1:check_on_exit=1" },
  /* Programs that free what they allocate have no leaks, threads included. */
  { "cxx_operators", "cxx operators ok", "leaks=1" },
  { "fork_threads", "fork ok", "leaks=1" },
};

static void run_legal(void **state)
{
  const struct legal_case *c = *state;
  char path[512];
  snprintf(path, sizeof path, "%s/%s", HG_PROGS_DIR, c->program);
  char *argv[] = { path, NULL };
  static struct hg_run r;
  hg_run_program(&r, argv, c->options);
  if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
    fail_msg("%s %s: status %#x; output:\n%s", c->program, c->options ? c->options : "",
             r.status, r.output);
  if (strstr(r.output, "heapguard"))
    fail_msg("%s %s: unexpected report:\n%s", c->program, c->options ? c->options : "",
             r.output);
  assert_non_null(strstr(r.output, c->success));
  assert_int_equal(hg_run_dump_count(&r, NULL, 0), 0);
  hg_run_cleanup(&r);
}

int main(void)
{
  struct CMUnitTest tests[sizeof cases / sizeof *cases];
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    tests[i] = (struct CMUnitTest)cmocka_unit_test_prestate(run_legal, (void *)&cases[i]);
    tests[i].name = cases[i].program;
  }
  return _cmocka_run_group_tests("legal", tests, sizeof cases / sizeof *cases, NULL,
                                 NULL);
}
