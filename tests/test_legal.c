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
};

static const struct legal_case cases[] = {
  { "api_corners", "api corners ok" },
  { "threads", "threads ok" },
  { "fork_threads", "fork ok" },
  { "many_objects", "many objects ok" },
};

static void run_legal(void **state)
{
  const struct legal_case *c = *state;
  char path[512];
  snprintf(path, sizeof path, "%s/%s", HG_PROGS_DIR, c->program);
  char *argv[] = { path, NULL };
  static struct hg_run r;
  hg_run_program(&r, argv, NULL);
  if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
    fail_msg("%s: status %#x; output:\n%s", c->program, r.status, r.output);
  if (strstr(r.output, "heapguard"))
    fail_msg("%s: unexpected report:\n%s", c->program, r.output);
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
