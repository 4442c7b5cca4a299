/*
 * test_options.c - the HEAPGUARD_OPTIONS parser: defaults, every type,
 * and the exact message for each kind of bad input; the patterns of
 * suppression rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "options.h"
#include "suppress.h"

static char err_storage[256];

static bool parse(struct hg_options *o, const char *text, struct hg_buf *err)
{
  hg_options_set_defaults(o);
  *err = HG_BUF(err_storage);
  memset(err_storage, 0, sizeof err_storage);
  return hg_options_parse(o, text, err);
}

static void defaults_apply(void **state)
{
  (void)state;
  struct hg_options o;
  struct hg_buf err;
  assert_true(parse(&o, "", &err));
  assert_true(o.dump);
  assert_string_equal(o.dump_dir, ".");
  assert_int_equal(o.arenas, 0);
  assert_int_equal(o.backtrace_frames, 24);
}

static void values_of_every_type_parse(void **state)
{
  (void)state;
  struct hg_options o;
  struct hg_buf err;
  assert_true(parse(&o, "dump=no:arenas=3:dump_dir=/tmp/x y:exit_code=9::", &err));
  assert_false(o.dump);
  assert_int_equal(o.arenas, 3);
  assert_string_equal(o.dump_dir, "/tmp/x y");
  assert_int_equal(o.exit_code, 9);
  assert_true(parse(&o, "exit_code=0x2A:quarantine_bytes=0x100000", &err));
  assert_int_equal(o.exit_code, 42);
  assert_int_equal(o.quarantine_bytes, 1 << 20);
}

static void expect_error(const char *text, const char *message)
{
  struct hg_options o;
  struct hg_buf err;
  assert_false(parse(&o, text, &err));
  err_storage[err.len < sizeof err_storage ? err.len : sizeof err_storage - 1] = 0;
  assert_string_equal(err_storage, message);
}

static void bad_input_is_named(void **state)
{
  (void)state;
  expect_error("dump=1:nope=2", "unknown option 'nope'");
  expect_error("arenas=65", "bad value '65' for option 'arenas': expected an integer from 0 to 64");
  expect_error("arenas=-1", "bad value '-1' for option 'arenas': expected an integer from 0 to 64");
  expect_error("arenas=", "bad value '' for option 'arenas': expected an integer from 0 to 64");
  expect_error("arenas=99999999999999999999",
               "bad value '99999999999999999999' for option 'arenas': expected an integer from 0 to 64");
  expect_error("dump=2", "bad value '2' for option 'dump': expected 0 or 1");
  expect_error("arenas=0x", "bad value '0x' for option 'arenas': expected an integer from 0 to 64");
  expect_error("arenas=0xg", "bad value '0xg' for option 'arenas': expected an integer from 0 to 64");
  expect_error("arenas=0x41", "bad value '0x41' for option 'arenas': expected an integer from 0 to 64");
  expect_error("dump", "option 'dump' needs a value (dump=...)");
}

static void describe_lists_every_option(void **state)
{
  (void)state;
  char out[16384];
  struct hg_buf b = { out, 0, sizeof out - 1 };
  hg_options_describe(&b, NULL);
  out[b.len] = 0;
  const char *names[] = { "help=", "arenas=", "backtrace_frames=", "dump=", "dump_dir=",
                          "log_path=", "exit_code=" };
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    assert_non_null(strstr(out, names[i]));
}

static bool pattern_matches(const char *pattern, const char *s)
{
  return hg_suppress_pattern_matches(pattern, strlen(pattern), s);
}

/* As the sanitizers match: anywhere unless anchored, '*' for any run. */
static void suppression_patterns_match_as_the_sanitizers_do(void **state)
{
  (void)state;
  assert_true(pattern_matches("libpython3*", "/usr/lib/libpython3.11.so.1.0"));
  assert_true(pattern_matches("python", "/usr/bin/python3.11"));
  assert_true(pattern_matches("^/usr/bin/", "/usr/bin/perl"));
  assert_false(pattern_matches("^bin/", "/usr/bin/perl"));
  assert_true(pattern_matches("bin/perl$", "/usr/bin/perl"));
  assert_false(pattern_matches("bin/perl$", "/usr/bin/perl5.36"));
  assert_true(pattern_matches("^leak_small$", "leak_small"));
  assert_false(pattern_matches("^leak_small$", "leak_smaller"));
  assert_true(pattern_matches("geo::*::release", "geo::Cloud<geo::Point>::release()"));
  assert_true(pattern_matches("a*b*c", "xxaxxbxxbxxcxx"));
  assert_false(pattern_matches("a*b*c", "xxaxxcxxbxx"));
  assert_true(pattern_matches("*", "anything"));
  assert_false(pattern_matches("*", ""));
  assert_false(pattern_matches("thirdparty_*", "main"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(defaults_apply),
    cmocka_unit_test(values_of_every_type_parse),
    cmocka_unit_test(bad_input_is_named),
    cmocka_unit_test(describe_lists_every_option),
    cmocka_unit_test(suppression_patterns_match_as_the_sanitizers_do),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
