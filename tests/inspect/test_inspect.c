/*
 * test_inspect.c - cmocka tests of heapguard-inspect, run as a child
 * process on synthetic dumps from gen_dump.c.
 *
 *   test_inspect INSPECTOR [basic|malformed|real REAL_DUMPS]
 *
 * "basic": a clean dump, each kind of injected damage, --json (checked
 * with python3 -m json.tool when python3 is there), --html (and the page
 * as headless Chromium renders it, when Chromium is there), usage errors.
 * "malformed": empty and truncated files, bit flips in the headers and at
 * random, absurd lengths and counts, a huge file. For those the only
 * demand is an orderly exit: status 0, 1 or 2, never a signal; every child
 * runs under alarm(), so a hang shows up as SIGALRM.
 * "real": dumps the library writes of each kind of segment (real_dumps.c)
 * read clean, with each kind's own words.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gen_dump.h"
#include "guard.h"
#include "heapguard_dump.h"
#include "segment.h"

/* Generous: the slowest child here walks a 2 KiB segment. */
#define CHILD_SECONDS 30

static const char *inspector;
static const char *real_dumps; /* the real-dumps program */
static char dir[256];

/* ---- helpers ---- */

static void path_in_dir(char *buf, size_t n, const char *name)
{
  snprintf(buf, n, "%s/%s", dir, name);
}

static void write_bytes(const char *path, const void *p, size_t n)
{
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  if (n)
    assert_int_equal(fwrite(p, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *path)
{
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  size_t r;
  while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap) {
      cap *= 2;
      buf = realloc(buf, cap + 1);
      assert_non_null(buf);
    }
  }
  fclose(f);
  buf[n] = 0;
  return buf;
}

struct run {
  int status; /* exit status, or -1 when killed */
  int sig;
};

/* argv[0] is the program; out/err NULL means /dev/null. */
static struct run run_argv(char *const argv[], const char *out, const char *err)
{
  struct run r = {-1, 0};
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    /* The alarm survives execve: a hanging inspector dies of SIGALRM. */
    alarm(CHILD_SECONDS);
    int o = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
      _exit(126);
    execv(argv[0], argv);
    _exit(127);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (WIFEXITED(st))
    r.status = WEXITSTATUS(st);
  else if (WIFSIGNALED(st))
    r.sig = WTERMSIG(st);
  return r;
}

static struct run inspect_file(const char *flag, const char *file,
                               const char *out, const char *err)
{
  char *argv[4] = {(char *)inspector, NULL, NULL, NULL};
  int i = 1;
  if (flag)
    argv[i++] = (char *)flag;
  argv[i] = (char *)file;
  return run_argv(argv, out, err);
}

/* Any orderly verdict; a signal (crash, abort, SIGALRM) fails the test. */
static int orderly(const void *buf, size_t n, const char *what, size_t arg)
{
  char file[300];
  path_in_dir(file, sizeof file, "mutant.hgd");
  write_bytes(file, buf, n);
  struct run r = inspect_file(NULL, file, NULL, NULL);
  if (r.sig || r.status < 0 || r.status > 2) {
    char keep[300];
    path_in_dir(keep, sizeof keep, "failing.hgd");
    rename(file, keep);
    print_error("%s %zu: signal %d status %d (input kept in %s)\n", what, arg,
                r.sig, r.status, keep);
    fail();
  }
  return r.status;
}

static uint8_t *make(enum gen_damage d, size_t *len)
{
  struct gen_options o = {.damage = d, .neighbours = 2};
  uint8_t *buf = gen_dump(&o, len);
  assert_non_null(buf);
  return buf;
}

/* Offsets of the file header and every section header of a valid dump. */
static size_t header_spans(const uint8_t *buf, size_t len, size_t at[],
                           size_t max)
{
  struct hg_dump_file_header fh;
  memcpy(&fh, buf, sizeof fh);
  size_t n = 0, off = sizeof fh;
  at[n++] = 0;
  for (uint32_t i = 0; i < fh.section_count && n < max && off + 16 <= len; i++) {
    struct hg_dump_section sh;
    memcpy(&sh, buf + off, sizeof sh);
    at[n++] = off;
    off += sizeof sh + sh.length + (8 - sh.length % 8) % 8;
  }
  return n;
}

/*
 * Where the damaged segment's bytes start in a dump from make(): after the
 * process, report and text sections, its section header and struct
 * hg_dump_segment.
 */
static size_t image_offset(const uint8_t *buf, size_t len)
{
  size_t spans[16] = { 0 };
  assert_true(header_spans(buf, len, spans, 16) >= 5);
  return spans[4] + 32;
}

static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, sizeof v); }
static void put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, sizeof v); }

/* Runs the inspector on a generated dump; returns its stdout. */
static char *inspect_dump(const struct gen_options *o, const char *flag,
                          int want_status)
{
  size_t len;
  uint8_t *buf = gen_dump(o, &len);
  assert_non_null(buf);
  char file[300], out[300];
  path_in_dir(file, sizeof file, "dump.hgd");
  path_in_dir(out, sizeof out, "out.txt");
  write_bytes(file, buf, len);
  free(buf);
  struct run r = inspect_file(flag, file, out, NULL);
  assert_int_equal(r.sig, 0);
  assert_int_equal(r.status, want_status);
  return slurp(out);
}

/* Runs the inspector with --html on a generated dump; returns the page. */
static char *html_page(const struct gen_options *o, int want_status)
{
  size_t len;
  uint8_t *buf = gen_dump(o, &len);
  assert_non_null(buf);
  char file[300], html[300];
  path_in_dir(file, sizeof file, "dump.hgd");
  path_in_dir(html, sizeof html, "page.html");
  write_bytes(file, buf, len);
  free(buf);
  char *argv[] = {(char *)inspector, "--html", html, file, NULL};
  struct run r = run_argv(argv, NULL, NULL);
  assert_int_equal(r.sig, 0);
  assert_int_equal(r.status, want_status);
  return slurp(html);
}

/*
 * The page's DOM after its scripts ran, from headless Chromium: what the
 * reader sees, where an undefined field shows. A script error fails the
 * test. NULL when no Chromium is installed.
 */
static char *rendered(const struct gen_options *o, int want_status)
{
  free(html_page(o, want_status));
  char html[300], url[320], dom[300], log[300], profile[300];
  path_in_dir(html, sizeof html, "page.html");
  path_in_dir(dom, sizeof dom, "dom.html");
  path_in_dir(log, sizeof log, "chromium.log");
  path_in_dir(profile, sizeof profile, "chromium-profile");
  snprintf(url, sizeof url, "file://%s", html);
  char profile_flag[320];
  snprintf(profile_flag, sizeof profile_flag, "--user-data-dir=%s", profile);
  static const char *const browsers[] = {"chromium", "chromium-browser",
                                         "google-chrome"};
  for (size_t i = 0; i < sizeof browsers / sizeof *browsers; i++) {
    char *argv[] = {"/usr/bin/env", (char *)browsers[i], "--headless",
                    "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--no-first-run", profile_flag, "--enable-logging=stderr",
                    "--v=0", "--dump-dom", url, NULL};
    struct run r = run_argv(argv, dom, log);
    if (r.status == 127)
      continue; /* env: no such program */
    assert_int_equal(r.sig, 0);
    assert_int_equal(r.status, 0);
    char *rm[] = {"/bin/rm", "-rf", profile, NULL};
    run_argv(rm, NULL, NULL);
    char *console = slurp(log);
    if (strstr(console, "Uncaught")) {
      print_error("the page's script failed:\n%s\n", console);
      fail();
    }
    free(console);
    return slurp(dom);
  }
  return NULL;
}

/*
 * What the page's script drew (everything before the scripts) shows no
 * field the JSON lacks. Cuts dom there.
 */
static void expect_nothing_undefined(char *dom)
{
  char *scripts = strstr(dom, "<script");
  if (scripts)
    *scripts = 0;
  if (strstr(dom, "undefined") || strstr(dom, "NaN")) {
    print_error("an undefined field shows in:\n%s\n", dom);
    fail();
  }
}

/* Skips the rest of a test when there is no browser to render the page. */
#define RENDERED_OR_SKIP(page, o, status)                                     \
  char *page = rendered(o, status);                                          \
  if (!page) {                                                                \
    print_message("no chromium: the page is not rendered\n");                \
    skip();                                                                   \
  }

/* The map line of block i: "  <i>  +0x<offset>  ...". */
static const char *map_line(const char *text, int i, char *line, size_t n)
{
  char key[64];
  snprintf(key, sizeof key, "  %d  +0x%06zx  ", i, gen_block_offset[i]);
  const char *p = strstr(text, key);
  if (!p)
    return NULL;
  while (p > text && p[-1] != '\n')
    p--;
  const char *e = strchr(p, '\n');
  size_t k = e ? (size_t)(e - p) : strlen(p);
  if (k >= n)
    k = n - 1;
  memcpy(line, p, k);
  line[k] = 0;
  return line;
}

static void expect_block(const char *text, int i, const char *status)
{
  char line[512];
  if (!map_line(text, i, line, sizeof line)) {
    print_error("block #%d missing from the map:\n%s\n", i, text);
    fail();
  }
  if (!strstr(line, status)) {
    print_error("block #%d: want \"%s\" in \"%s\"\n", i, status, line);
    fail();
  }
}

static void expect_text(const char *text, const char *want)
{
  if (!strstr(text, want)) {
    print_error("want \"%s\" in:\n%s\n", want, text);
    fail();
  }
}

/* In a rendered page: the map rectangle titled title is drawn in fill. */
static void expect_rect(const char *dom, const char *title, const char *fill)
{
  char want[300];
  snprintf(want, sizeof want, "<title>%s</title>", title);
  const char *t = strstr(dom, want);
  if (!t) {
    print_error("no map rectangle titled \"%s\" in:\n%s\n", title, dom);
    fail();
  }
  const char *r = t;
  while (r > dom && strncmp(r, "<rect ", 6) != 0)
    r--;
  char attr[64];
  snprintf(attr, sizeof attr, "fill=\"%s\"", fill);
  char *tag = strndup(r, (size_t)(t - r));
  if (!strstr(tag, attr)) {
    print_error("rectangle \"%s\": want %s in %s\n", title, attr, tag);
    fail();
  }
  free(tag);
}

/* ---- basic ---- */

static void test_clean(void **state)
{
  (void)state;
  struct gen_options o = {.damage = GEN_CLEAN, .neighbours = 2};
  char *text = inspect_dump(&o, NULL, 0);
  expect_text(text, "pid 4242  tid 4243");
  expect_text(text, "2023-11-14T22:13:20Z");
  expect_text(text, "heapguard version 0.1.0");
  expect_text(text, "build id deadbeef01020304");
  expect_text(text, "class    double-free (2)");
  expect_text(text, "check    block already free (41)");
  expect_text(text, "metadata at 0x7f3a12401000: verifies");
  for (int i = 0; i < GEN_BLOCKS; i++) {
    char line[512];
    assert_non_null(map_line(text, i, line, sizeof line));
    size_t n = strlen(line);
    assert_true(n > 4 && strcmp(line + n - 4, "  OK") == 0);
  }
  expect_text(text, "8 block(s), 0 damaged");
  expect_text(text, "in a neighbour segment, outside dump");
  expect_text(text, "  | ==4242== heapguard: heap-buffer-overflow");
  expect_text(text, "verdict: no damage found");
  assert_null(strstr(text, "damaged bytes"));
  free(text);
}

struct damage_case {
  enum gen_damage damage;
  int block;            /* -1: no block is damaged */
  const char *status;   /* in the block's map line */
  const char *also[4];  /* elsewhere in the output */
};

static const struct damage_case damage_cases[] = {
    {GEN_SMASH_HEADER, 3, "bad canary",
     {"41 41 41 41 41 41 41 41  41 41 41 41", "next header's prev_size confirms",
      "reconstructed: the original header was size 5 prev_size 4"}},
    {GEN_OVERFLOW, 0, "trailing canary damaged at +0 bytes",
     {"6 bad byte(s) from +0 to +5", "42 42 42 42 42 42", "^^ ^^ ^^"}},
    {GEN_OVERFLOW, 1, "bad canary", {"block #1 block header", NULL, NULL}},
    {GEN_TAIL, 5, "trailing canary damaged at +2 bytes",
     {"2 bad byte(s) from +2 to +3", "new[]", "expected",
      "check    trailing canary (40)"}},
    {GEN_BAD_PREV, 4, "prev_size mismatch (found 7, expected 5)",
     {"block #4 prev_size", "07 00 00 00", NULL}},
    {GEN_PREV_UNSEALED, 4, "bad canary",
     {"reconstructed: the original header was size 6 prev_size 5 state free",
      NULL, NULL}},
    {GEN_BAD_LINK, 4, "bad free-list link",
     {"41 41 41 41 41 41 41 41", "block #4 free-list link 0", NULL}},
    {GEN_LINK_TO_USED, 2, "bad free-list link",
     {"a block that is not free", NULL, NULL}},
    {GEN_ZERO_SIZE, 3, "bad size", {"resynchronised 80 bytes on", NULL, NULL}},
    {GEN_TWO_HEADERS, 3, "bad canary",
     {"43 43 43 43 43 43 43 43", "by scanning", NULL}},
    {GEN_TWO_HEADERS, 4, "bad canary",
     {"44 44 44 44 44 44 44 44", "a block whose header is damaged", NULL}},
    {GEN_LOST, 7, "bad canary",
     {"could not resynchronise", "walk stopped: lost", "45 45 45 45"}},
    {GEN_PAST_END, 7, "runs past segment end", {"walk stopped", NULL, NULL}},
    {GEN_META, -1, NULL,
     {"metadata at 0x7f3a12401000: BAD\n    failed check: checksum", NULL, NULL}},
    {GEN_NEIGHBOUR, -1, NULL,
     {"metadata at 0x7f3a12001000: BAD\n    failed check: checksum", NULL, NULL}},
    {GEN_ZERO_BLOCKS, 0, "bad canary", {"could not resynchronise", NULL, NULL}},
    {GEN_POISON, 6, "poison damaged at +40 bytes",
     {"poison: 7 bad byte(s) from +40 to +1000 of the data; first expected df "
      "found 57: written after free",
      "57 52 49 54 45 21 df df  |........WRITE!..|", "[block #6 poison]",
      "check    poison of a freed block (43)"}},
    {GEN_BAD_KIND, -1, NULL,
     {"metadata at 0x7f3a12401000: BAD\n    failed check: kind\n"
      "    seq 3  kind unknown (7)  map_size",
      "check    segment kind (4)", "8 block(s), 0 damaged"}},
    {GEN_SEALED_HOSTILE_META, -1, NULL,
     {"metadata at 0x7f3a12401000: BAD\n    failed check: bounds",
      "first_block implausible", "8 block(s), 0 damaged"}},
};

static void test_damage(void **state)
{
  (void)state;
  for (size_t c = 0; c < sizeof damage_cases / sizeof *damage_cases; c++) {
    const struct damage_case *dc = &damage_cases[c];
    struct gen_options o = {.damage = dc->damage, .neighbours = 2};
    char *text = inspect_dump(&o, NULL, 1);
    if (dc->block >= 0) {
      expect_block(text, dc->block, dc->status);
      expect_text(text, "damaged bytes");
    }
    for (int k = 0; k < 4; k++)
      if (dc->also[k])
        expect_text(text, dc->also[k]);
    expect_text(text, "verdict: DAMAGE FOUND");
    /* Blocks the damage does not reach stay OK. */
    if (dc->damage == GEN_TAIL || dc->damage == GEN_BAD_PREV ||
        dc->damage == GEN_POISON)
      for (int i = 0; i < GEN_BLOCKS; i++)
        if (i != dc->block)
          expect_block(text, i, "  OK");
    free(text);
  }
}

/* python3 -m json.tool FILE; 127 when python3 is not there. */
static int json_tool(const char *file)
{
  char *argv[] = {"/usr/bin/env", "python3", "-m", "json.tool", (char *)file,
                  NULL};
  struct run r = run_argv(argv, NULL, NULL);
  assert_int_equal(r.sig, 0);
  return r.status;
}

static void check_json(const struct gen_options *o, int status,
                       const char *const want[])
{
  char *json = inspect_dump(o, "--json", status);
  char out[300];
  path_in_dir(out, sizeof out, "out.txt");
  int rc = json_tool(out);
  if (rc == 127)
    print_message("python3 not found: JSON checked with strstr only\n");
  else
    assert_int_equal(rc, 0);
  for (int i = 0; want[i]; i++)
    expect_text(json, want[i]);
  /* One object, one line: the schema is flat text for grep too. */
  assert_int_equal(json[0], '{');
  free(json);
}

static void test_json(void **state)
{
  (void)state;
  struct gen_options clean = {.damage = GEN_CLEAN, .neighbours = 2};
  check_json(&clean, 0,
             (const char *const[]){"\"tool\":\"heapguard-inspect\"",
                                   "\"pid\":4242", "\"version\":\"0.1.0\"",
                                   "\"bug_class_name\":\"double-free\"",
                                   "\"check\":41,\"check_name\":\"block already free\"",
                                   "\"block_index\":3", "\"damage_found\":false",
                                   "\"status\":\"ok\",\"verifies\":true",
                                   "\"blocks\":8", NULL});
  struct gen_options tail = {.damage = GEN_TAIL, .neighbours = 2};
  check_json(&tail, 1,
             (const char *const[]){"\"offset\":4528,\"address\":\"0x7f3a124021b0\"",
                                   "\"problems\":[\"tail_damaged\"]",
                                   "\"tail\":{\"first\":2,\"last\":3,\"bad_bytes\":2",
                                   "\"what\":\"trailing canary\"",
                                   "\"damage_found\":true", NULL});
  struct gen_options two = {.damage = GEN_TWO_HEADERS, .neighbours = 1};
  check_json(&two, 1,
             (const char *const[]){"\"state\":\"damaged\"",
                                   "\"method\":\"scan\"",
                                   "\"method\":\"prev_size\"",
                                   "\"damaged_blocks\":2", NULL});
}

/*
 * The report section's check id, by name from the library's table: 0 is
 * an on-demand dump, an id no version issued is unknown. Text, JSON, and
 * the page as rendered.
 */
static void test_report_check(void **state)
{
  (void)state;
  struct gen_options o = {.damage = GEN_META};
  char *text = inspect_dump(&o, NULL, 1);
  expect_text(text, "class    segment-corruption (7)\n  check    segment checksum (2)\n");
  free(text);

  size_t len, spans[16];
  uint8_t *buf = make(GEN_CLEAN, &len);
  assert_int_equal(header_spans(buf, len, spans, 16), 7);
  char file[300], out[300];
  path_in_dir(file, sizeof file, "dump.hgd");
  path_in_dir(out, sizeof out, "out.txt");
  static const struct {
    uint32_t id;
    const char *text, *json;
  } ids[] = {
      {0, "check    none (0)", "\"check\":0,\"check_name\":\"none\""},
      {999, "check    unknown (999)", "\"check\":999,\"check_name\":\"unknown\""},
  };
  for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
    put_u32(buf + spans[2] + 16 + 4, ids[i].id); /* the report's check */
    write_bytes(file, buf, len);
    assert_int_equal(inspect_file(NULL, file, out, NULL).status, 0);
    text = slurp(out);
    expect_text(text, ids[i].text);
    free(text);
    assert_int_equal(inspect_file("--json", file, out, NULL).status, 0);
    text = slurp(out);
    expect_text(text, ids[i].json);
    free(text);
  }
  free(buf);

  struct gen_options tail = {.damage = GEN_TAIL};
  RENDERED_OR_SKIP(page, &tail, 1);
  expect_text(page, "<td>check</td><td class=\"mono\">trailing canary (40)</td>");
  free(page);
}

/*
 * A quarantined block is named as the library names it, keeps its
 * allocation's fields, and has its poison verified: damaged poison is a
 * write after free, shown with the expected and found bytes. Text, JSON,
 * and the page as rendered.
 */
static void test_quarantine(void **state)
{
  (void)state;
  struct gen_options clean = {.damage = GEN_CLEAN};
  char *text = inspect_dump(&clean, NULL, 0);
  expect_block(text, 6, "  1136  freed, in quarantine       1000  malloc");
  expect_block(text, 6, "  OK");
  free(text);
  char *json = inspect_dump(&clean, "--json", 0);
  expect_text(json, "\"offset\":4768,\"address\":\"0x7f3a124022a0\",\"size\":1136,"
                    "\"state\":\"freed, in quarantine\",\"requested\":1000,"
                    "\"kind\":\"malloc\",\"stack\":17,\"status\":\"OK\",\"problems\":[]");
  free(json);

  struct gen_options poison = {.damage = GEN_POISON};
  text = inspect_dump(&poison, NULL, 1);
  expect_block(text, 6, "freed, in quarantine");
  expect_text(text, "    expected                                         "
                    "df df df df df df df df \n"
                    "                                                     "
                    "^^ ^^ ^^ ^^ ^^ ^^");
  expect_text(text, "verdict: DAMAGE FOUND: 1 problem(s), 1 damaged block(s)");
  free(text);
  json = inspect_dump(&poison, "--json", 1);
  expect_text(json, "\"state\":\"freed, in quarantine\"");
  expect_text(json, "\"problems\":[\"poison_damaged\"]");
  expect_text(json, "\"poison\":{\"first\":40,\"last\":1000,\"bad_bytes\":7,"
                    "\"expected\":\"df\",\"found\":\"57\"}");
  /* +40 and +1000 are far apart: a mark at each end of the damage. */
  expect_text(json, "{\"offset\":4840,\"length\":64,\"block\":6,\"what\":\"poison\","
                    "\"expected\":\"dfdfdfdf");
  expect_text(json, "{\"offset\":5737,\"length\":64,\"block\":6,\"what\":\"poison\","
                    "\"expected\":\"dfdfdfdf");
  free(json);

  RENDERED_OR_SKIP(page, &clean, 0);
  expect_rect(page, "#6 +0x12a0 1136 bytes freed, in quarantine: OK", "#9b59b6");
  free(page);
  page = rendered(&poison, 1);
  expect_rect(page, "#6 +0x12a0 1136 bytes freed, in quarantine: poison damaged at +40 bytes",
              "#f39c12");
  expect_text(page, "<td>poison</td><td class=\"mono\">7 bad byte(s), +40 .. +1000 of the "
                    "data, first expected df found 57: written after free</td>");
  free(page);
}

/*
 * A dedicated segment holds one block, placed so that it ends at the
 * trailing guard page; freed, it is cached whole, so its data holds no
 * free-list links to check. Text, JSON, and the page as rendered.
 */
static void test_dedicated(void **state)
{
  (void)state;
  struct gen_options large = {.damage = GEN_LARGE};
  char *text = inspect_dump(&large, NULL, 0);
  expect_text(text, "    seq 5  kind dedicated  map_size 24576  first_block +0x18c0  "
                    "end +0x4000\n");
  expect_text(text, "  dedicated segment: one block, from +0x18c0 to the trailing "
                    "guard page at +0x4000\n");
  expect_text(text, "      0  +0x0018c0  0x7f3a12c028c0     10048  used"
                    "                      10000  malloc                41  OK\n");
  expect_text(text, "  1 block(s), 0 damaged");
  free(text);
  char *json = inspect_dump(&large, "--json", 0);
  expect_text(json, "\"kind\":\"dedicated\",\"kind_id\":2,\"arena\":0,\"seq\":5");
  expect_text(json, "{\"index\":0,\"offset\":6336,\"address\":\"0x7f3a12c028c0\","
                    "\"size\":10048,\"state\":\"used\",\"requested\":10000");
  free(json);

  struct gen_options cached = {.damage = GEN_LARGE_FREE};
  text = inspect_dump(&cached, NULL, 0);
  expect_text(text, "  its block is free: the segment is cached for reuse whole, "
                    "without free-list links;\n  its data pages are inaccessible meanwhile "
                    "(not dumped) and the bytes before them poisoned\n");
  expect_text(text, "10048  free                          -  -                      0  OK\n");
  expect_text(text, "  the last block goes on past the end of the dump\n");
  expect_text(text, "  1 block(s), 0 damaged");
  assert_null(strstr(text, "free-list link 0"));
  assert_null(strstr(text, "bad free-list link"));
  free(text);
  struct gen_options written = {.damage = GEN_LARGE_FREE_WRITTEN};
  text = inspect_dump(&written, NULL, 1);
  expect_text(text, "  1 block(s), 1 damaged");
  expect_text(text, "poison");
  free(text);
  json = inspect_dump(&cached, "--json", 0);
  expect_text(json, "\"state\":\"free\",\"requested\":null");
  assert_null(strstr(json, "\"links\""));
  free(json);

  struct gen_options tail = {.damage = GEN_LARGE_TAIL};
  text = inspect_dump(&tail, NULL, 1);
  expect_text(text, "  trailing canary damaged at +0 bytes\n");
  char want[160];
  snprintf(want, sizeof want,
           "trailing canary: 1 bad byte(s) from +0 to +0 past the requested size; first "
           "expected %02x found 00",
           gen_large_tail_byte());
  expect_text(text, want);
  expect_text(text, "[block #0 trailing canary]");
  free(text);

  RENDERED_OR_SKIP(page, &large, 0);
  expect_text(page, "<td>segment metadata</td><td class=\"mono\">0x7f3a12c01000: "
                    "verifies, seq 5, dedicated, 16384 bytes dumped</td>");
  expect_rect(page, "unused, before the first block", "#ddd");
  expect_rect(page, "#0 +0x18c0 10048 bytes used: OK", "#4a7fd0");
  expect_nothing_undefined(page);
  free(page);
  page = rendered(&cached, 0);
  expect_rect(page, "#0 +0x18c0 10048 bytes free: OK", "#8fd18f");
  free(page);
}

/*
 * A guard segment has no block headers: its slot table is decoded and
 * checked instead, and the slots' pages, never in a dump, are not walked.
 * Text, JSON, and the page as rendered.
 */
static void test_guard_segment(void **state)
{
  (void)state;
  struct gen_options guard = {.damage = GEN_GUARD, .neighbours = 2};
  char *text = inspect_dump(&guard, NULL, 0);
  expect_text(text, "  address  0x7f3a13004f90  (in slot #0 of the dumped table)\n");
  expect_text(text, "    seq 7  kind guard slots  map_size 81920  first_block +0x3000  "
                    "end +0x12000\n");
  expect_text(text, "  guard segment: no block headers to walk; its slots are described "
                    "by the slot table below\n");
  expect_text(text, "guard slot table (at +0x1000)\n"
                    "  slot_pages 1  slot_count 8  live 2  free_count 5  class_index 0\n"
                    "  free_slots 0x7f3a13002080  prev 0x0  next 0x7f3a13401000\n"
                    "  slots from +0x3000, each 1 data page(s) and a guard page\n"
                    "  free list: 5 slot(s) from free_slots: OK\n");
  expect_text(text, "      0  +0x001030  0x7f3a13004f90  used                        100"
                    "     16  malloc                21         0  OK\n"
                    "      1  +0x001058  0x7f3a13006060  freed, in quarantine       4000"
                    "     16  operator new          22        23  OK\n"
                    "      2  +0x001080  0x7f3a13008ff0  free                         10"
                    "     16  operator new[]        24        25  OK\n"
                    "      3  +0x0010a8  0x7f3a1300aff0  used                          0"
                    "     16  malloc                26         0  OK\n"
                    "  4 never-used slot(s) not listed: their fields are clear\n"
                    "  slots: used 2; freed, in quarantine 1; free 1; never used 4; "
                    "0 damaged\n");
  assert_null(strstr(text, "block map"));
  expect_text(text, "verdict: no damage found");
  free(text);
  char *json = inspect_dump(&guard, "--json", 0);
  expect_text(json, "\"slot_index\":0}");
  expect_text(json, "\"walk\":null,\"guard\":{\"table_offset\":4096,\"problems\":[],"
                    "\"slot_pages\":1,\"slot_count\":8,\"live\":2,\"class_index\":0,"
                    "\"free_count\":5,\"free_slots\":\"0x7f3a13002080\"");
  expect_text(json, "\"free_list\":{\"length\":5,\"status\":\"OK\",\"ok\":true,"
                    "\"from\":null,\"target\":null}");
  expect_text(json, "{\"index\":1,\"offset\":4184,\"state\":\"freed, in quarantine\","
                    "\"state_id\":2,\"requested\":4000,\"alignment\":16,\"data_off\":96,"
                    "\"data\":\"0x7f3a13006060\",\"kind\":\"operator new\","
                    "\"alloc_stack\":22,\"free_stack\":23,\"next\":\"0x0\","
                    "\"on_free_list\":false,\"status\":\"OK\",\"problems\":[]}");
  expect_text(json, "\"state\":\"never used\",\"state_id\":0");
  expect_text(json, "\"blocks\":[]");
  free(json);

  RENDERED_OR_SKIP(page, &guard, 0);
  expect_text(page, "<td>slot table</td><td class=\"mono\">8 slots of 1 page(s), live 2, "
                    "free_count 5, free list of 5: OK</td>");
  expect_rect(page, "slot #1 freed, in quarantine, 4000 bytes requested: OK", "#9b59b6");
  expect_rect(page, "slot #4 never used, 0 bytes requested: OK", "#e6e6e6");
  expect_nothing_undefined(page);
  free(page);
}

/* The damaged-table dumps: a slot's fields, the free list, the geometry. */
static void test_guard_damage(void **state)
{
  (void)state;
  struct gen_options slot = {.damage = GEN_GUARD_SLOT};
  char *text = inspect_dump(&slot, NULL, 1);
  expect_text(text, "  operator new          22        23  bad alignment; block outside "
                    "its slot\n");
  expect_text(text, "[slot #1 requested] [slot #1 alignment] [slot #1 data_off]");
  expect_text(text, "41 41 41 41 41 41 41 41  41 41 41 41 41 41 41 41  |AAAAAAAAAAAAAAAA|");
  expect_text(text, "verdict: DAMAGE FOUND: 2 problem(s), 1 damaged slot(s)");
  free(text);
  char *json = inspect_dump(&slot, "--json", 1);
  expect_text(json, "\"status\":\"bad alignment; block outside its slot\","
                    "\"problems\":[\"bad_alignment\",\"outside_slot\"]}");
  expect_text(json, "\"slot\":1,\"what\":\"requested\"");
  expect_text(json, "\"damaged_slots\":1");
  free(json);

  struct gen_options list = {.damage = GEN_GUARD_FREE_LIST};
  text = inspect_dump(&list, NULL, 1);
  expect_text(text, "  problem: free list broken\n"
                    "  free list: 3 slot(s) from free_slots; then slot #5's next -> "
                    "0x7f3a13002058: a slot in use or in quarantine\n");
  expect_text(text, "[slot #5 next]");
  free(text);
  json = inspect_dump(&list, "--json", 1);
  expect_text(json, "\"problems\":[\"free_list\"]");
  expect_text(json, "\"free_list\":{\"length\":3,\"status\":\"a slot in use or in "
                    "quarantine\",\"ok\":false,\"from\":5,\"target\":\"0x7f3a13002058\"}");
  free(json);

  struct gen_options count = {.damage = GEN_GUARD_COUNT};
  text = inspect_dump(&count, NULL, 1);
  expect_text(text, "  check    guard slot table (5)\n");
  expect_text(text, "  the dump holds slots #0 to #100 of 65536\n"
                    "  problem: slot count and pages do not fit the segment\n");
  expect_text(text, "      0  +0x001030  ?               used");
  expect_text(text, "[slot table slot_pages and slot_count]");
  free(text);
  json = inspect_dump(&count, "--json", 1);
  expect_text(json, "\"problems\":[\"geometry\"]");
  expect_text(json, "\"geometry_sane\":false,\"slots_decoded\":101");
  free(json);

  RENDERED_OR_SKIP(page, &slot, 1);
  expect_rect(page, "slot #1 freed, in quarantine, 4702111234474983000 bytes requested: "
                    "bad alignment; block outside its slot", "#d00");
  expect_text(page, "<b>slot #1, its table entry at +0x1058</b>");
  expect_nothing_undefined(page);
  free(page);
  page = rendered(&list, 1);
  expect_text(page, "<td>free list</td><td class=\"mono\">3 slot(s): a slot in use or in "
                    "quarantine, at the link of slot #5 to 0x7f3a13002058</td>");
  expect_nothing_undefined(page);
  free(page);
}

/*
 * A guard segment dump cut short before its slot table: no table to
 * decode, and a problem. The damaged segment is the last section (no
 * neighbours), so the file is cut with it.
 */
static void test_guard_table_not_dumped(void **state)
{
  (void)state;
  struct gen_options o = {.damage = GEN_GUARD};
  size_t len, spans[16];
  uint8_t *buf = gen_dump(&o, &len);
  assert_non_null(buf);
  assert_int_equal(header_spans(buf, len, spans, 16), 5);
  size_t keep = HG_SEGMENT_META_SIZE + 16;
  put_u64(buf + spans[4] + 8, 16 + keep);  /* the section's length */
  put_u64(buf + spans[4] + 16 + 8, keep);  /* the segment's */
  len = spans[4] + 32 + keep;
  char file[300], out[300];
  path_in_dir(file, sizeof file, "dump.hgd");
  path_in_dir(out, sizeof out, "out.txt");
  write_bytes(file, buf, len);
  free(buf);
  assert_int_equal(inspect_file(NULL, file, out, NULL).status, 1);
  char *text = slurp(out);
  expect_text(text, "guard slot table (at +0x1000)\n"
                    "  problem: the dump ends before the slot table\n");
  free(text);
  assert_int_equal(inspect_file("--json", file, out, NULL).status, 1);
  text = slurp(out);
  expect_text(text, "\"walk\":null,\"guard\":{\"table_offset\":4096,"
                    "\"problems\":[\"not_dumped\"]}");
  free(text);
}

/* Field offsets of the table in a dump of GEN_GUARD with two neighbours. */
static size_t guard_table(const uint8_t *buf, size_t len)
{
  return image_offset(buf, len) + HG_SEGMENT_META_SIZE;
}

static size_t guard_slot(const uint8_t *buf, size_t len, int i)
{
  return guard_table(buf, len) + sizeof(struct hg_guard_meta) +
         (size_t)i * sizeof(struct hg_guard_slot);
}

/* Every check of a slot and of the table, each named where it failed. */
static void test_guard_checks(void **state)
{
  (void)state;
  size_t len;
  uint8_t *buf = make(GEN_GUARD, &len);
  put_u32(buf + guard_slot(buf, len, 6) + offsetof(struct hg_guard_slot, alloc_stack), 5);
  put_u32(buf + guard_slot(buf, len, 0) + offsetof(struct hg_guard_slot, free_stack), 9);
  buf[guard_slot(buf, len, 2) + offsetof(struct hg_guard_slot, kind)] = 9;
  buf[guard_slot(buf, len, 3) + offsetof(struct hg_guard_slot, state)] = 7;
  put_u32(buf + guard_table(buf, len) + offsetof(struct hg_guard_meta, live), 3);
  put_u64(buf + guard_table(buf, len) + offsetof(struct hg_guard_meta, prev), 0x1234);
  char file[300], out[300];
  path_in_dir(file, sizeof file, "dump.hgd");
  path_in_dir(out, sizeof out, "out.txt");
  write_bytes(file, buf, len);
  free(buf);
  assert_int_equal(inspect_file(NULL, file, out, NULL).status, 1);
  char *text = slurp(out);
  expect_text(text, "  problem: live is not the number of used slots\n"
                    "  problem: an open-segment link names no segment\n");
  expect_text(text, "malloc                21         9  in use, yet a free stack\n");
  expect_text(text, "an unknown call        24        25  bad kind\n");
  expect_text(text, "      3  +0x0010a8  0x7f3a1300aff0  unknown");
  expect_text(text, "  bad state\n");
  expect_text(text, "      6  +0x001120  -               never used                    0"
                    "      0  -                      5         0  never used, yet not clear\n");
  expect_text(text, "[slot table live]");
  expect_text(text, "[slot table prev]");
  expect_text(text, "[slot #6 fields of a never-used slot]");
  /* live 3 against 1 used slot left (slot 3's state is no state). */
  expect_text(text, "verdict: DAMAGE FOUND: 6 problem(s), 4 damaged slot(s)");
  free(text);
}

static void test_json_hostile_text(void **state)
{
  (void)state;
  struct gen_options o = {.damage = GEN_CLEAN, .hostile_text = true};
  char *json = inspect_dump(&o, "--json", 0);
  char out[300];
  path_in_dir(out, sizeof out, "out.txt");
  int rc = json_tool(out);
  if (rc != 127)
    assert_int_equal(rc, 0);
  assert_null(strstr(json, "</script"));
  assert_null(strstr(json, "\x1b"));
  expect_text(json, "\\u003c/script\\u003e");
  expect_text(json, "quote \\\" backslash \\\\ tab \\t");
  expect_text(json, "\\ufffd");
  expect_text(json, "\xc3\xa9\xe2\x82\xac"); /* valid UTF-8 passes through */
  expect_text(json, "\"neighbours\":[]");
  free(json);

  /* The terminal never sees a raw escape either. */
  char *text = inspect_dump(&o, NULL, 0);
  assert_null(strstr(text, "\x1b"));
  expect_text(text, "\\x1b[31mred");
  free(text);
}

static void test_html(void **state)
{
  (void)state;
  size_t len;
  struct gen_options o = {.damage = GEN_TWO_HEADERS, .neighbours = 2,
                          .hostile_text = true};
  uint8_t *buf = gen_dump(&o, &len);
  char file[300], html[300];
  path_in_dir(file, sizeof file, "dump.hgd");
  path_in_dir(html, sizeof html, "page.html");
  write_bytes(file, buf, len);
  free(buf);
  char *argv[] = {(char *)inspector, "--html", html, file, NULL};
  struct run r = run_argv(argv, NULL, NULL);
  assert_int_equal(r.sig, 0);
  assert_int_equal(r.status, 1);
  char *page = slurp(html);
  expect_text(page, "<!DOCTYPE html>");
  expect_text(page, "<svg id=\"map\"");
  expect_text(page, "<script type=\"application/json\" id=\"hg-data\">");
  expect_text(page, "\"damage_found\":true");
  /* Self-contained: nothing fetched; the report cannot close the script. */
  assert_null(strstr(page, "src="));
  assert_null(strstr(page, "href="));
  assert_null(strstr(page, "@import"));
  assert_null(strstr(page, "</script><script>alert"));
  free(page);

  /* A dump that does not parse leaves no page behind. */
  write_bytes(file, "HGDUMP\r\n", 8);
  r = run_argv(argv, NULL, NULL);
  assert_int_equal(r.status, 2);
  assert_int_equal(access(html, F_OK), -1);

  /* As rendered: segments described from their kind, no field undefined. */
  RENDERED_OR_SKIP(dom, &o, 1);
  expect_text(dom, "<td>segment metadata</td><td class=\"mono\">0x7f3a12401000: "
                   "verifies, seq 3, shared (arena 0), 6080 bytes dumped</td>");
  expect_text(dom, "0x7f3a12001000: verifies, seq 2, shared (arena 0), map_size 4194304");
  expect_text(dom, "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
  expect_nothing_undefined(dom);
  free(dom);
}

static void test_usage(void **state)
{
  (void)state;
  char *none[] = {(char *)inspector, NULL};
  assert_int_equal(run_argv(none, NULL, NULL).status, 2);
  char *bad[] = {(char *)inspector, "--bogus", "x", NULL};
  assert_int_equal(run_argv(bad, NULL, NULL).status, 2);
  char missing[300], err[300];
  path_in_dir(missing, sizeof missing, "does-not-exist.hgd");
  path_in_dir(err, sizeof err, "err.txt");
  assert_int_equal(inspect_file(NULL, missing, NULL, err).status, 2);
  char *msg = slurp(err);
  expect_text(msg, "No such file");
  free(msg);
  assert_int_equal(inspect_file(NULL, dir, NULL, NULL).status, 2);
}

/* ---- malformed ---- */

static void test_empty(void **state)
{
  (void)state;
  char file[300], err[300];
  path_in_dir(file, sizeof file, "empty.hgd");
  path_in_dir(err, sizeof err, "err.txt");
  write_bytes(file, "", 0);
  struct run r = inspect_file(NULL, file, NULL, err);
  assert_int_equal(r.status, 2);
  char *msg = slurp(err);
  expect_text(msg, "empty file");
  free(msg);
}

static void test_every_prefix(void **state)
{
  (void)state;
  size_t len;
  uint8_t *buf = make(GEN_TAIL, &len);
  /* Every proper prefix cuts a section short: always a parse error. */
  for (size_t n = 0; n < len; n++)
    assert_int_equal(orderly(buf, n, "prefix", n), 2);
  assert_int_equal(orderly(buf, len, "whole", len), 1);
  free(buf);
}

static void test_header_bit_flips(void **state)
{
  (void)state;
  size_t len, spans[16];
  uint8_t *buf = make(GEN_OVERFLOW, &len);
  size_t n = header_spans(buf, len, spans, 16);
  assert_int_equal(n, 7);
  size_t flips = 0;
  for (size_t s = 0; s < n; s++) {
    /* The file header is 24 bytes, a section header 16; for segment
     * sections include struct hg_dump_segment, 16 more. */
    size_t width = s == 0 ? 24 : 32;
    for (size_t bit = 0; bit < width * 8; bit++) {
      size_t byte = spans[s] + bit / 8;
      if (byte >= len)
        break;
      buf[byte] ^= (uint8_t)(1u << (bit % 8));
      orderly(buf, len, "header bit flip at", byte * 8 + bit % 8);
      buf[byte] ^= (uint8_t)(1u << (bit % 8));
      flips++;
    }
  }
  print_message("%zu header bit flips\n", flips);
}

static uint64_t lcg(uint64_t *s)
{
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return *s >> 33;
}

/*
 * The rest of the metadata page after struct hg_segment: zero, read-only
 * in the process, and read by no one, so a flip there changes nothing.
 */
static bool in_metadata_padding(size_t byte, size_t image)
{
  return byte >= image + sizeof(struct hg_segment) &&
         byte < image + HG_SEGMENT_META_SIZE;
}

static void test_random_bit_flips(void **state)
{
  (void)state;
  size_t len;
  uint8_t *clean = make(GEN_CLEAN, &len);
  uint8_t *buf = malloc(len);
  size_t image = image_offset(clean, len);
  uint64_t seed = 0x5eed;
  int seen[3] = {0};
  for (int t = 0; t < 3000; t++) {
    memcpy(buf, clean, len);
    int flips = 1 + (int)(lcg(&seed) % 8);
    for (int k = 0; k < flips; k++) {
      size_t bit;
      do
        bit = lcg(&seed) % (len * 8);
      while (in_metadata_padding(bit / 8, image));
      buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    seen[orderly(buf, len, "random flips, trial", (size_t)t)]++;
  }
  print_message("random flips: %d clean, %d damage, %d malformed\n", seen[0],
                seen[1], seen[2]);
  /*
   * Most flips land in the segment image's metadata and blocks: they must
   * mostly be noticed.
   */
  assert_true(seen[1] > seen[0]);
  free(buf);
  free(clean);
}

static void test_random_image_bytes(void **state)
{
  (void)state;
  size_t len;
  uint8_t *buf = make(GEN_CLEAN, &len);
  size_t image = image_offset(buf, len);
  uint8_t *saved = malloc(len);
  memcpy(saved, buf, len);
  uint64_t seed = 42;
  for (int t = 0; t < 300; t++) {
    memcpy(buf, saved, len);
    /* Keep the metadata so the walk trusts end: the worst case for it. */
    size_t from = image + HG_SEGMENT_META_SIZE + (size_t)(lcg(&seed) % 1500);
    size_t n = 1 + (size_t)(lcg(&seed) % 600);
    for (size_t i = from; i < from + n && i < image + GEN_SEGMENT_END; i++)
      buf[i] = t % 3 == 0 ? 0 : (uint8_t)lcg(&seed);
    orderly(buf, len, "random image bytes, trial", (size_t)t);
  }
  free(saved);
  free(buf);
}

/*
 * The other kinds of segment, hostile: random bits anywhere, and random
 * bytes over a guard segment's slot table or a dedicated segment's block
 * header. The only demand is an orderly exit.
 */
static void test_random_other_kinds(void **state)
{
  (void)state;
  static const struct {
    enum gen_damage dump;
    size_t from, span; /* in the image: where the random bytes go */
  } kinds[] = {
      {GEN_GUARD, HG_SEGMENT_META_SIZE, 512},
      {GEN_LARGE, GEN_LARGE_FIRST - 64, 128},
      {GEN_LARGE_FREE, GEN_LARGE_FIRST - 64, 128},
  };
  uint64_t seed = 0x9a2d;
  for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
    size_t len;
    uint8_t *clean = make(kinds[k].dump, &len);
    uint8_t *buf = malloc(len);
    size_t image = image_offset(clean, len);
    for (int t = 0; t < 600; t++) {
      memcpy(buf, clean, len);
      if (t % 2) {
        for (int f = 1 + (int)(lcg(&seed) % 8); f > 0; f--) {
          size_t bit = lcg(&seed) % (len * 8);
          buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
      } else {
        size_t at = image + kinds[k].from + lcg(&seed) % kinds[k].span;
        for (size_t n = 1 + lcg(&seed) % 16; n > 0 && at < len; n--)
          buf[at++] = (uint8_t)lcg(&seed);
      }
      orderly(buf, len, gen_damage_name(kinds[k].dump), (size_t)t);
    }
    free(buf);
    free(clean);
  }
}

static void test_absurd_lengths(void **state)
{
  (void)state;
  size_t len, spans[16];
  uint8_t *buf = make(GEN_CLEAN, &len);
  size_t n = header_spans(buf, len, spans, 16);
  uint8_t *m = malloc(len);
  static const uint64_t lengths[] = {1ull << 63, UINT64_MAX, 1ull << 32,
                                     0xfffffffffffffff8ull, 0};
  for (size_t s = 1; s < n; s++)
    for (size_t k = 0; k < sizeof lengths / sizeof *lengths; k++) {
      memcpy(m, buf, len);
      put_u64(m + spans[s] + 8, lengths[k]);
      int st = orderly(m, len, "section length, section", s);
      if (lengths[k])
        assert_int_equal(st, 2);
      /* The segment's own length field, for segment sections. */
      if (s >= 4) {
        memcpy(m, buf, len);
        put_u64(m + spans[s] + 16 + 8, lengths[k]);
        assert_int_equal(orderly(m, len, "segment length, section", s), 2);
        memcpy(m, buf, len);
        put_u64(m + spans[s] + 16, UINT64_MAX - 8); /* address wraps */
        assert_int_equal(orderly(m, len, "segment address, section", s), 2);
      }
    }
  static const uint32_t counts[] = {0, 3, 1000, 0x7fffffff, 0xffffffff};
  for (size_t k = 0; k < sizeof counts / sizeof *counts; k++) {
    memcpy(m, buf, len);
    put_u32(m + 16, counts[k]);
    /* Too few sections miss the damaged segment; too many run off the end. */
    assert_int_equal(orderly(m, len, "section count", counts[k]), 2);
  }
  static const uint32_t header_sizes[] = {0, 8, 23, 25, 0xfffffff8};
  for (size_t k = 0; k < sizeof header_sizes / sizeof *header_sizes; k++) {
    memcpy(m, buf, len);
    put_u32(m + 12, header_sizes[k]);
    assert_int_equal(orderly(m, len, "header size", header_sizes[k]), 2);
  }
  free(m);
  free(buf);
}

static void test_version_and_magic(void **state)
{
  (void)state;
  size_t len;
  uint8_t *buf = make(GEN_CLEAN, &len);
  char file[300], err[300];
  path_in_dir(file, sizeof file, "v.hgd");
  path_in_dir(err, sizeof err, "err.txt");
  put_u32(buf + 8, HG_DUMP_VERSION + 1);
  write_bytes(file, buf, len);
  assert_int_equal(inspect_file(NULL, file, NULL, err).status, 2);
  char *msg = slurp(err);
  expect_text(msg, "unsupported dump format version 3 (this reader knows 2)");
  free(msg);
  put_u32(buf + 8, HG_DUMP_VERSION);
  buf[0] = 'X';
  write_bytes(file, buf, len);
  assert_int_equal(inspect_file(NULL, file, NULL, err).status, 2);
  msg = slurp(err);
  expect_text(msg, "bad magic");
  free(msg);
  free(buf);
}

/* The message for a version-1 file, whose container is version 2's. */
static char *refusal_of_version_1(uint8_t *buf, size_t len)
{
  char file[300], err[300];
  path_in_dir(file, sizeof file, "v.hgd");
  path_in_dir(err, sizeof err, "err.txt");
  put_u32(buf + 8, 1);
  write_bytes(file, buf, len);
  assert_int_equal(inspect_file(NULL, file, NULL, err).status, 2);
  return slurp(err);
}

/*
 * Version 1 (heapguard 0.1 before the segment re-cut) is refused by name,
 * with the heapguard version its process section records, made printable.
 */
static void test_version_1(void **state)
{
  (void)state;
  size_t len, spans[16];
  uint8_t *buf = make(GEN_CLEAN, &len);
  char *msg = refusal_of_version_1(buf, len);
  expect_text(msg, "dump format version 1, written by heapguard 0.1.0: this "
                   "heapguard-inspect reads format version 2 only");
  expect_text(msg, "read the dump with the heapguard-inspect of the heapguard "
                   "that wrote it");
  free(msg);

  /* The process section is section 0; its version field is at 16. */
  assert_int_equal(header_spans(buf, len, spans, 16), 7);
  memcpy(buf + spans[1] + 16 + 16, "\x1b[2J0.1\n", 9);
  msg = refusal_of_version_1(buf, len);
  expect_text(msg, "written by heapguard ?[2J0.1?:");
  assert_null(strchr(msg, '\x1b'));
  free(msg);

  put_u32(buf + spans[1], 99); /* no process section */
  msg = refusal_of_version_1(buf, len);
  expect_text(msg, "written by heapguard 0.1 (no process section names it)");
  free(msg);
  free(buf);
}

/* An unknown section type is skipped, as the format requires. */
static void test_unknown_section(void **state)
{
  (void)state;
  size_t len;
  uint8_t *buf = make(GEN_CLEAN, &len);
  uint8_t *m = malloc(len + 16 + 8);
  memcpy(m, buf, len);
  struct hg_dump_section sh = {.type = 99, .flags = 0, .length = 5};
  memcpy(m + len, &sh, sizeof sh);
  memcpy(m + len + 16, "hello\0\0\0", 8);
  uint32_t count;
  memcpy(&count, m + 16, 4);
  put_u32(m + 16, count + 1);
  assert_int_equal(orderly(m, len + 24, "unknown section", 0), 0);
  free(m);
  free(buf);
}

static void test_huge_file(void **state)
{
  (void)state;
  char file[300], err[300];
  path_in_dir(file, sizeof file, "huge.hgd");
  path_in_dir(err, sizeof err, "err.txt");
  int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  /* Sparse: costs no disk, and must be refused before it is read. */
  assert_int_equal(ftruncate(fd, (off_t)3 << 30), 0);
  close(fd);
  assert_int_equal(inspect_file(NULL, file, NULL, err).status, 2);
  char *msg = slurp(err);
  expect_text(msg, "limit");
  free(msg);
  unlink(file);
}

/*
 * The densest segments: a full-size shared segment of 48-byte blocks walks
 * cleanly, and a forged one with more blocks than any segment can hold
 * stops at the cap instead of eating memory.
 */
static void test_dense_segments(void **state)
{
  (void)state;
  char file[300], out[300];
  path_in_dir(file, sizeof file, "dense.hgd");
  path_in_dir(out, sizeof out, "out.txt");
  size_t len;
  uint8_t *buf = gen_dump_dense(HG_SEGMENT_SIZE - 2 * HG_PAGE_SIZE, &len);
  assert_non_null(buf);
  write_bytes(file, buf, len);
  free(buf);
  struct run r = inspect_file(NULL, file, out, NULL);
  assert_int_equal(r.sig, 0);
  assert_int_equal(r.status, 0);
  char *text = slurp(out);
  /* 48-byte blocks from the metadata page on, the last one 64 bytes. */
  expect_text(text, "87125 block(s), 0 damaged");
  free(text);

  buf = gen_dump_dense((size_t)56 << 20, &len);
  assert_non_null(buf);
  write_bytes(file, buf, len);
  free(buf);
  r = inspect_file("--json", file, NULL, NULL);
  assert_int_equal(r.sig, 0);
  assert_int_equal(r.status, 1);
  unlink(file);
}

/* ---- real ---- */

/* The library dumps a segment of this kind; returns the dump's path. */
static char *real_dump(const char *kind, const char *options)
{
  char env[600], out[300];
  snprintf(env, sizeof env, "dump_dir=%s%s", dir, options);
  path_in_dir(out, sizeof out, "out.txt");
  assert_int_equal(setenv("HEAPGUARD_OPTIONS", env, 1), 0);
  char *argv[] = {(char *)real_dumps, (char *)kind, NULL};
  struct run r = run_argv(argv, out, NULL);
  unsetenv("HEAPGUARD_OPTIONS");
  assert_int_equal(r.sig, 0);
  assert_int_equal(r.status, 0);
  char *path = slurp(out);
  path[strcspn(path, "\n")] = 0;
  return path;
}

/*
 * What the library writes today reads clean, each kind in its own words:
 * a quarantined block, a dedicated segment in use and cached (no links),
 * a guard segment's slot table.
 */
static void test_real_dumps(void **state)
{
  (void)state;
  static const struct {
    const char *kind, *options, *want[3];
  } cases[] = {
      {"shared", "", {"kind shared", "freed, in quarantine        200  malloc", NULL}},
      {"large", "",
       {"kind dedicated", "dedicated segment: one block, from +0x",
        "  used                    3145728  malloc"}},
      {"large-free", "",
       {"its block is free: the segment is cached for reuse whole", "  free   ", NULL}},
      {"guard", ":guard_mode=all",
       {"guard slot table (at +0x1000)", "freed, in quarantine        200     16  malloc",
        " from free_slots: OK\n"}},
  };
  char out[300];
  path_in_dir(out, sizeof out, "out.txt");
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    char *dump = real_dump(cases[c].kind, cases[c].options);
    struct run r = inspect_file(NULL, dump, out, NULL);
    char *text = slurp(out);
    if (r.sig || r.status != 0) {
      print_error("%s: status %d signal %d:\n%s\n", cases[c].kind, r.status, r.sig, text);
      fail();
    }
    expect_text(text, "verdict: no damage found");
    for (int k = 0; k < 3; k++)
      if (cases[c].want[k])
        expect_text(text, cases[c].want[k]);
    free(text);
    assert_int_equal(inspect_file("--json", dump, out, NULL).status, 0);
    int rc = json_tool(out);
    if (rc != 127)
      assert_int_equal(rc, 0);
    unlink(dump);
    free(dump);
  }
}

/* ---- driver ---- */

static void remove_dir(void)
{
  static const char *const names[] = {"dump.hgd", "out.txt", "err.txt",
                                      "mutant.hgd", "empty.hgd", "v.hgd",
                                      "page.html", "huge.hgd", "dense.hgd",
                                      "dom.html", "chromium.log"};
  char p[300];
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    path_in_dir(p, sizeof p, names[i]);
    unlink(p);
  }
  rmdir(dir); /* fails, and keeps the evidence, if failing.hgd is there */
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: test_inspect INSPECTOR [basic|malformed|real REAL_DUMPS]\n");
    return 2;
  }
  inspector = argv[1];
  const char *group = argc > 2 ? argv[2] : "all";
  bool known = strcmp(group, "all") == 0 || strcmp(group, "basic") == 0 ||
               strcmp(group, "malformed") == 0 || strcmp(group, "real") == 0;
  if (!known || (strcmp(group, "real") == 0 && argc < 4)) {
    fprintf(stderr, "usage: test_inspect INSPECTOR [basic|malformed|real REAL_DUMPS]\n");
    return 2;
  }
  real_dumps = argc > 3 ? argv[3] : NULL;
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/hg-inspect-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 2;
  }

  const struct CMUnitTest basic[] = {
      cmocka_unit_test(test_clean),
      cmocka_unit_test(test_damage),
      cmocka_unit_test(test_json),
      cmocka_unit_test(test_report_check),
      cmocka_unit_test(test_quarantine),
      cmocka_unit_test(test_dedicated),
      cmocka_unit_test(test_guard_segment),
      cmocka_unit_test(test_guard_damage),
      cmocka_unit_test(test_guard_checks),
      cmocka_unit_test(test_guard_table_not_dumped),
      cmocka_unit_test(test_json_hostile_text),
      cmocka_unit_test(test_html),
      cmocka_unit_test(test_usage),
  };
  const struct CMUnitTest malformed[] = {
      cmocka_unit_test(test_empty),
      cmocka_unit_test(test_version_and_magic),
      cmocka_unit_test(test_version_1),
      cmocka_unit_test(test_unknown_section),
      cmocka_unit_test(test_every_prefix),
      cmocka_unit_test(test_header_bit_flips),
      cmocka_unit_test(test_random_bit_flips),
      cmocka_unit_test(test_random_image_bytes),
      cmocka_unit_test(test_random_other_kinds),
      cmocka_unit_test(test_absurd_lengths),
      cmocka_unit_test(test_huge_file),
      cmocka_unit_test(test_dense_segments),
  };
  const struct CMUnitTest real[] = {
      cmocka_unit_test(test_real_dumps),
  };
  int failed = 0;
  bool all = strcmp(group, "all") == 0;
  if (all || strcmp(group, "basic") == 0)
    failed += cmocka_run_group_tests_name("inspect basic", basic, NULL, NULL);
  if (all || strcmp(group, "malformed") == 0)
    failed += cmocka_run_group_tests_name("inspect malformed", malformed, NULL,
                                          NULL);
  if (real_dumps)
    failed += cmocka_run_group_tests_name("inspect real", real, NULL, NULL);
  remove_dir();
  return failed ? 1 : 0;
}
