/*
 * suppress.c - the suppressions file: read at start-up, matched on the
 * report path.
 */
#include "suppress.h"

#include "backtrace.h"
#include "heapguard.h"
#include "log.h"
#include "names.h"
#include "options.h"
#include "os.h"
#include "runtime.h"

#define FILE_MAX ((size_t)1 << 16)
#define RULES_MAX 512u
#define PATTERN_MAX 255u

struct rule {
  unsigned bug_class;
  const char *pattern; /* into file_text, NUL-terminated */
  size_t length;
  uint64_t hits, bytes;
};

static HG_LARGE_BSS char file_text[FILE_MAX];
static HG_LARGE_BSS struct rule rules[RULES_MAX];
static unsigned rule_count;
static uint64_t suppressed;

/* A class as a rule names it: a bug class's report name, or leak. */
static bool class_named(const char *name, size_t len, unsigned *out)
{
  static const char *const leak_names[] = { "leak", "memory-leak" };
  for (unsigned i = 0; i < 2; i++)
    if (hg_strlen(leak_names[i]) == len && hg_strncmp(name, leak_names[i], len) == 0) {
      *out = HG_SUPPRESS_LEAK;
      return true;
    }
  for (unsigned c = HEAPGUARD_OK + 1;; c++) {
    const char *known = hg_bug_class_name(c);
    if (hg_strncmp(known, "unknown", 8) == 0)
      return false;
    if (hg_strlen(known) == len && hg_strncmp(name, known, len) == 0) {
      *out = c;
      return true;
    }
  }
}

/* Every name the classes of a rule may have, for the message about a bad one. */
static void list_classes(struct hg_buf *out)
{
  hg_buf_str(out, "leak");
  for (unsigned c = HEAPGUARD_OK + 1;; c++) {
    const char *known = hg_bug_class_name(c);
    if (hg_strncmp(known, "unknown", 8) == 0)
      return;
    hg_buf_str(out, ", ");
    hg_buf_str(out, known);
  }
}

static _Noreturn void fail(unsigned line, const char *why, const char *what, size_t len)
{
  char text[1024];
  struct hg_buf b = HG_BUF(text);
  hg_buf_str(&b, "heapguard: suppressions ");
  hg_buf_str(&b, hg_options.suppressions);
  if (line) {
    hg_buf_char(&b, ':');
    hg_buf_dec(&b, line);
  }
  hg_buf_str(&b, ": ");
  hg_buf_str(&b, why);
  if (what) {
    hg_buf_str(&b, " '");
    hg_buf_mem(&b, what, len);
    hg_buf_str(&b, "'");
  }
  if (what && hg_strncmp(why, "unknown class", 14) == 0) {
    hg_buf_str(&b, " (one of: ");
    list_classes(&b);
    hg_buf_char(&b, ')');
  }
  hg_buf_char(&b, '\n');
  hg_os_write_all(2, b.p, b.len);
  hg_os_exit(1);
}

static bool is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r';
}

/* One line, [p, p + len), NUL-terminated in place: a rule, a comment or nothing. */
static void parse_line(char *p, size_t len, unsigned line)
{
  while (len && is_blank(*p))
    p++, len--;
  while (len && is_blank(p[len - 1]))
    len--;
  p[len] = 0;
  if (!len || *p == '#')
    return;
  size_t colon = 0;
  while (colon < len && p[colon] != ':')
    colon++;
  if (colon == len)
    fail(line, "expected CLASS:PATTERN, found", p, len);
  unsigned bug_class;
  if (!class_named(p, colon, &bug_class))
    fail(line, "unknown class", p, colon);
  const char *pattern = p + colon + 1;
  size_t plen = len - colon - 1;
  if (plen == 0)
    fail(line, "empty pattern for class", p, colon);
  if (plen > PATTERN_MAX)
    fail(line, "pattern longer than 255 characters:", pattern, 40);
  if (rule_count == RULES_MAX)
    fail(line, "more than 512 rules", NULL, 0);
  rules[rule_count++] = (struct rule){ bug_class, pattern, plen, 0, 0 };
}

void hg_suppress_load(void)
{
  if (!hg_options.suppressions[0])
    return;
  int fd = hg_os_open_read(hg_options.suppressions);
  if (fd < 0)
    fail(0, "cannot open the file", NULL, 0);
  size_t len = 0;
  ssize_t n;
  while (len < FILE_MAX && (n = hg_os_read(fd, file_text + len, FILE_MAX - len)) > 0)
    len += (size_t)n;
  hg_os_close(fd);
  if (len == FILE_MAX)
    fail(0, "larger than 65535 bytes", NULL, 0);
  unsigned line = 1;
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && file_text[i] != '\n')
      continue;
    parse_line(file_text + start, i - start, line++);
    start = i + 1;
  }
  char note[128];
  struct hg_buf b = HG_BUF(note);
  hg_buf_str(&b, "heapguard: ");
  hg_buf_dec(&b, rule_count);
  hg_buf_str(&b, rule_count == 1 ? " suppression rule from " : " suppression rules from ");
  hg_log_note(2, b.p, b.len);
  hg_log_note(2, hg_options.suppressions, hg_strlen(hg_options.suppressions));
  hg_log_note(2, "\n", 1);
}

/* '*' stands for any run of characters; the whole of s must match p. */
static bool glob(const char *p, size_t pn, const char *s, size_t sn)
{
  size_t pi = 0, si = 0, star = pn, mark = 0;
  while (si < sn) {
    if (pi < pn && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (pi < pn && p[pi] == s[si]) {
      pi++;
      si++;
    } else if (star < pn) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < pn && p[pi] == '*')
    pi++;
  return pi == pn;
}

bool hg_suppress_pattern_matches(const char *pattern, size_t len, const char *s)
{
  if (!s[0] || len > PATTERN_MAX)
    return false;
  char p[PATTERN_MAX + 2];
  size_t pn = 0;
  bool from_start = len && pattern[0] == '^';
  bool to_end = len > (size_t)from_start && pattern[len - 1] == '$';
  if (!from_start)
    p[pn++] = '*';
  for (size_t i = from_start; i < len - to_end; i++)
    p[pn++] = pattern[i];
  if (!to_end)
    p[pn++] = '*';
  return glob(p, pn, s, hg_strlen(s));
}

bool hg_suppress_any(unsigned bug_class)
{
  for (unsigned i = 0; i < rule_count; i++)
    if (rules[i].bug_class == bug_class)
      return true;
  return false;
}

struct search {
  unsigned bug_class;
  const struct rule *found;
};

static bool frame_matches(const char *function, const char *module, const char *file,
                          void *arg)
{
  struct search *q = arg;
  for (unsigned i = 0; i < rule_count; i++) {
    const struct rule *r = &rules[i];
    if (r->bug_class == q->bug_class &&
        (hg_suppress_pattern_matches(r->pattern, r->length, function) ||
         hg_suppress_pattern_matches(r->pattern, r->length, module) ||
         hg_suppress_pattern_matches(r->pattern, r->length, file))) {
      q->found = r;
      return true;
    }
  }
  return false;
}

bool hg_suppress_match(unsigned bug_class, const uintptr_t *ips, size_t n, uint64_t bytes)
{
  struct search q = { bug_class, NULL };
  if (!hg_suppress_any(bug_class) || !hg_backtrace_match(ips, n, frame_matches, &q))
    return false;
  struct rule *r = &rules[q.found - rules];
  r->hits++;
  r->bytes += bytes;
  suppressed++;
  return true;
}

uint64_t hg_suppress_count(void)
{
  return suppressed;
}

/* A number right-aligned in width columns, as the sanitizers print their table. */
static void dec_column(struct hg_buf *b, uint64_t v, unsigned width)
{
  char digits[24];
  struct hg_buf d = HG_BUF(digits);
  hg_buf_dec(&d, v);
  for (size_t i = d.len; i < width; i++)
    hg_buf_char(b, ' ');
  hg_buf_mem(b, digits, d.len);
}

void hg_suppress_exit_note(void)
{
  if (!suppressed || hg_options.verbosity < 1)
    return;
  static HG_LARGE_BSS char text[RULES_MAX * (PATTERN_MAX + 64)];
  struct hg_buf b = HG_BUF(text);
  hg_log_line_start(&b);
  hg_buf_str(&b, ": ");
  hg_buf_dec(&b, suppressed);
  hg_buf_str(&b, suppressed == 1 ? " finding suppressed\n" : " findings suppressed\n");
  hg_buf_str(&b, "  count      bytes rule\n");
  for (unsigned i = 0; i < rule_count; i++) {
    if (!rules[i].hits)
      continue;
    hg_buf_str(&b, "  ");
    dec_column(&b, rules[i].hits, 5);
    hg_buf_char(&b, ' ');
    dec_column(&b, rules[i].bytes, 10);
    hg_buf_char(&b, ' ');
    hg_buf_str(&b, rules[i].bug_class == HG_SUPPRESS_LEAK ? "leak"
                                                         : hg_bug_class_name(rules[i].bug_class));
    hg_buf_char(&b, ':');
    hg_buf_mem(&b, rules[i].pattern, rules[i].length);
    hg_buf_char(&b, '\n');
  }
  hg_log_note(1, b.p, b.len);
}
