/*
 * test_detect.c - death tests: every detection, run as a real program
 * under LD_PRELOAD, must abort with SIGABRT and the exact report text:
 * the bug class and operation, the check's own words, and a backtrace
 * naming the program's function that made the call.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "harness.h"

struct bug_case {
  const char *program;
  const char *headline;  /* "ERROR: heapguard: <class> in <op>(" */
  const char *detail;    /* words of the failed check */
  const char *summary;   /* "SUMMARY: heapguard: <class> in <function>" */
  int dumps;             /* dumps expected: 0 or 1 */
};

static const struct bug_case cases[] = {
  { "overflow_1byte", "heap-buffer-overflow in free(",
    "1 byte written past the end of a 13-byte block, at offsets 13 to 13",
    "heap-buffer-overflow in write_one_past_end", 1 },
  { "overflow_nul", "heap-buffer-overflow in free(",
    "1 byte written past the end of a 16-byte block", "heap-buffer-overflow in main", 1 },
  { "overflow_large", "heap-buffer-overflow in free(",
    "1 byte written past the end of a 3145728-byte block",
    "heap-buffer-overflow in overflow_big_buffer", 1 },
  { "overflow_realloc", "heap-buffer-overflow in realloc(",
    "1 byte written past the end of a 100-byte block, at offsets 103 to 103",
    "heap-buffer-overflow in grow_after_overflow", 1 },
  { "usable_size_overflow", "heap-buffer-overflow in malloc_usable_size(",
    "past the end of a 10-byte block, at offsets 12 to 12",
    "heap-buffer-overflow in measure_damaged", 1 },
  { "double_free", "double-free in free(", "the block was already freed",
    "double-free in free_twice", 0 },
  { "double_free_merged", "double-free in free(", "the block was already freed",
    "double-free in free_merged_twice", 0 },
  { "double_free_large", "double-free in free(", "the block was already freed",
    "double-free in free_large_twice", 0 },
  { "invalid_free_interior", "invalid-free in free(",
    "pointer into the middle of a block: offset 24", "invalid-free in free_interior", 0 },
  { "invalid_free_stack", "invalid-free in free(", "not in any heapguard segment",
    "invalid-free in free_stack", 0 },
  { "invalid_free_global", "invalid-free in free(", "not in any heapguard segment",
    "invalid-free in free_global", 0 },
  { "header_smash", "metadata-corruption in free(", "check failed: header canary",
    "metadata-corruption in forge_next_header", 1 },
  { "underflow", "metadata-corruption in free(", "check failed: header checksum",
    "metadata-corruption in write_before_start", 1 },
  { "use_after_free_link", "metadata-corruption in malloc(",
    "check failed: free-list link", "metadata-corruption in write_after_free", 1 },
  { "segment_smash", "segment-corruption in free(", "check failed: segment checksum",
    "segment-corruption in smash_segment", 1 },
};

static void run_bug(void **state)
{
  const struct bug_case *c = *state;
  char path[512];
  snprintf(path, sizeof path, "%s/%s", HG_PROGS_DIR, c->program);
  char *argv[] = { path, NULL };
  static struct hg_run r;
  hg_run_program(&r, argv, NULL);
  char want[256];

  if (!WIFSIGNALED(r.status) || WTERMSIG(r.status) != SIGABRT)
    fail_msg("%s: status %#x, expected SIGABRT; output:\n%s", c->program, r.status,
             r.output);
  snprintf(want, sizeof want, "ERROR: heapguard: %s", c->headline);
  if (!strstr(r.output, want))
    fail_msg("%s: no '%s' in:\n%s", c->program, want, r.output);
  if (!strstr(r.output, c->detail))
    fail_msg("%s: no '%s' in:\n%s", c->program, c->detail, r.output);
  snprintf(want, sizeof want, "SUMMARY: heapguard: %s\n", c->summary);
  if (!strstr(r.output, want))
    fail_msg("%s: no '%s' in:\n%s", c->program, want, r.output);
  if (!strstr(r.output, "  backtrace:\n    #0 0x"))
    fail_msg("%s: no backtrace in:\n%s", c->program, r.output);
  char dump[512];
  assert_int_equal(hg_run_dump_count(&r, dump, sizeof dump), c->dumps);
  if (c->dumps) {
    if (!strstr(r.output, "dump written to "))
      fail_msg("%s: dump not announced in:\n%s", c->program, r.output);
    struct stat st;
    assert_int_equal(stat(dump, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_true(st.st_size > 4096);
  }
  hg_run_cleanup(&r);
}

static void exit_code_replaces_abort(void **state)
{
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/double_free", HG_PROGS_DIR);
  char *argv[] = { path, NULL };
  static struct hg_run r;
  hg_run_program(&r, argv, "exit_code=42");
  assert_true(WIFEXITED(r.status));
  assert_int_equal(WEXITSTATUS(r.status), 42);
  assert_non_null(strstr(r.output, "ERROR: heapguard: double-free"));
  assert_non_null(strstr(r.output, "EXITING with status 42"));
  hg_run_cleanup(&r);
}

static void dump_can_be_turned_off(void **state)
{
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/overflow_1byte", HG_PROGS_DIR);
  char *argv[] = { path, NULL };
  static struct hg_run r;
  hg_run_program(&r, argv, "dump=0");
  assert_true(WIFSIGNALED(r.status));
  assert_int_equal(hg_run_dump_count(&r, NULL, 0), 0);
  assert_null(strstr(r.output, "dump written"));
  hg_run_cleanup(&r);
}

static void bad_options_stop_start_up(void **state)
{
  (void)state;
  static const struct {
    const char *options, *message;
  } bad[] = {
    { "nope=1", "heapguard: HEAPGUARD_OPTIONS: unknown option 'nope'" },
    { "arenas=65", "bad value '65' for option 'arenas': expected an integer from 0 to 64" },
    { "dump=maybe", "bad value 'maybe' for option 'dump': expected 0 or 1" },
    { "exit_code", "option 'exit_code' needs a value" },
  };
  char path[512];
  snprintf(path, sizeof path, "%s/api_corners", HG_PROGS_DIR);
  char *argv[] = { path, NULL };
  static struct hg_run r;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    hg_run_program(&r, argv, bad[i].options);
    assert_true(WIFEXITED(r.status));
    assert_int_equal(WEXITSTATUS(r.status), 1);
    if (!strstr(r.output, bad[i].message))
      fail_msg("options '%s': no '%s' in:\n%s", bad[i].options, bad[i].message,
               r.output);
    hg_run_cleanup(&r);
  }
}

int main(void)
{
  struct CMUnitTest tests[sizeof cases / sizeof *cases + 3];
  size_t n = 0;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(run_bug, (void *)&cases[i]);
    tests[n++].name = cases[i].program;
  }
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(exit_code_replaces_abort);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(dump_can_be_turned_off);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(bad_options_stop_start_up);
  return _cmocka_run_group_tests("detect", tests, n, NULL, NULL);
}
