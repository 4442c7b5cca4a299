/*
 * options.c - the parser for HEAPGUARD_OPTIONS.
 *
 * Runs before the heap exists, so it reads the environment in place
 * (environ, or /proc/self/environ when libc has not set environ yet) and
 * never copies it through malloc.
 */
#include "options.h"

#include <stddef.h>

#include "os.h"
#include "runtime.h"

struct hg_options hg_options;

enum option_type { OPT_BOOL, OPT_UINT, OPT_STRING, OPT_CHOICE };

struct option_spec {
  const char *name;
  enum option_type type;
  size_t offset;
  uint64_t def_uint;
  const char *def_string; /* strings: the default; choices: "a|b|c" */
  uint64_t min, max;
  const char *help;
};

static const struct option_spec option_table[] = {
#define HG_OPTION_BOOL(n, d, h)                                               \
  { #n, OPT_BOOL, offsetof(struct hg_options, n), d, NULL, 0, 1, h },
#define HG_OPTION_UINT(n, d, lo, hi, h)                                       \
  { #n, OPT_UINT, offsetof(struct hg_options, n), d, NULL, lo, hi, h },
#define HG_OPTION_STRING(n, d, h)                                             \
  { #n, OPT_STRING, offsetof(struct hg_options, n), 0, d, 0, 0, h },
#define HG_OPTION_CHOICE(n, d, w, h)                                          \
  { #n, OPT_CHOICE, offsetof(struct hg_options, n), d, w, 0, 0, h },
#include "options.inc"
#undef HG_OPTION_BOOL
#undef HG_OPTION_UINT
#undef HG_OPTION_STRING
#undef HG_OPTION_CHOICE
};

#define OPTION_COUNT (sizeof option_table / sizeof *option_table)

static void *field_of(struct hg_options *o, const struct option_spec *spec)
{
  return (char *)o + spec->offset;
}

void hg_options_set_defaults(struct hg_options *o)
{
  for (size_t i = 0; i < OPTION_COUNT; i++) {
    const struct option_spec *spec = &option_table[i];
    void *f = field_of(o, spec);
    if (spec->type == OPT_BOOL)
      *(bool *)f = spec->def_uint != 0;
    else if (spec->type == OPT_UINT)
      *(uint64_t *)f = spec->def_uint;
    else if (spec->type == OPT_CHOICE)
      *(unsigned *)f = (unsigned)spec->def_uint;
    else
      hg_strlcpy(f, spec->def_string, HG_OPTION_STRING_MAX);
  }
}

static const struct option_spec *find_option(const char *key, size_t len)
{
  for (size_t i = 0; i < OPTION_COUNT; i++) {
    const char *name = option_table[i].name;
    if (hg_strlen(name) == len && hg_strncmp(name, key, len) == 0)
      return &option_table[i];
  }
  return NULL;
}

static bool word_is(const char *v, size_t len, const char *word)
{
  return hg_strlen(word) == len && hg_strncmp(v, word, len) == 0;
}

static bool parse_bool(const char *v, size_t len, bool *out)
{
  if (word_is(v, len, "1") || word_is(v, len, "true") || word_is(v, len, "yes"))
    *out = true;
  else if (word_is(v, len, "0") || word_is(v, len, "false") ||
           word_is(v, len, "no"))
    *out = false;
  else
    return false;
  return true;
}

static int hex_digit(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* 0x and up to 16 hexadecimal digits (a fill byte reads best as 0xbe). */
static bool parse_hex(const char *v, size_t len, uint64_t *out)
{
  if (len < 3 || len > 18)
    return false;
  uint64_t x = 0;
  for (size_t i = 2; i < len; i++) {
    int d = hex_digit(v[i]);
    if (d < 0)
      return false;
    x = x << 4 | (uint64_t)d;
  }
  *out = x;
  return true;
}

static bool parse_uint(const char *v, size_t len, uint64_t *out)
{
  if (len >= 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))
    return parse_hex(v, len, out);
  if (len == 0 || len > 19)
    return false;
  uint64_t x = 0;
  for (size_t i = 0; i < len; i++) {
    if (v[i] < '0' || v[i] > '9')
      return false;
    x = x * 10 + (uint64_t)(v[i] - '0');
  }
  *out = x;
  return true;
}

/* The index of v among the '|'-separated words, or -1. */
static int choice_index(const char *words, const char *v, size_t len)
{
  int index = 0;
  const char *w = words;
  for (;;) {
    size_t n = 0;
    while (w[n] && w[n] != '|')
      n++;
    if (n == len && hg_strncmp(w, v, len) == 0)
      return index;
    if (!w[n])
      return -1;
    w += n + 1;
    index++;
  }
}

/* Append the word at index of a choice list. */
static void append_choice(struct hg_buf *out, const char *words, unsigned index)
{
  const char *w = words;
  for (unsigned i = 0; i < index; i++)
    while (*w && *w++ != '|')
      ;
  size_t n = 0;
  while (w[n] && w[n] != '|')
    n++;
  hg_buf_mem(out, w, n);
}

static void describe_bad_value(struct hg_buf *err, const struct option_spec *spec,
                               const char *v, size_t len)
{
  hg_buf_str(err, "bad value '");
  hg_buf_mem(err, v, len);
  hg_buf_str(err, "' for option '");
  hg_buf_str(err, spec->name);
  hg_buf_str(err, "': expected ");
  if (spec->type == OPT_BOOL) {
    hg_buf_str(err, "0 or 1");
  } else if (spec->type == OPT_UINT) {
    hg_buf_str(err, "an integer from ");
    hg_buf_dec(err, spec->min);
    hg_buf_str(err, " to ");
    hg_buf_dec(err, spec->max);
  } else if (spec->type == OPT_CHOICE) {
    hg_buf_str(err, "one of ");
    hg_buf_str(err, spec->def_string);
  } else {
    hg_buf_str(err, "at most ");
    hg_buf_dec(err, HG_OPTION_STRING_MAX - 1);
    hg_buf_str(err, " characters");
  }
}

static bool set_option(struct hg_options *o, const struct option_spec *spec,
                       const char *v, size_t len)
{
  void *f = field_of(o, spec);
  if (spec->type == OPT_BOOL)
    return parse_bool(v, len, f);
  if (spec->type == OPT_UINT) {
    uint64_t x;
    if (!parse_uint(v, len, &x) || x < spec->min || x > spec->max)
      return false;
    *(uint64_t *)f = x;
    return true;
  }
  if (spec->type == OPT_CHOICE) {
    int i = choice_index(spec->def_string, v, len);
    if (i < 0)
      return false;
    *(unsigned *)f = (unsigned)i;
    return true;
  }
  if (len >= HG_OPTION_STRING_MAX)
    return false;
  char *s = f;
  for (size_t i = 0; i < len; i++)
    s[i] = v[i];
  s[len] = 0;
  return true;
}

static bool parse_pair(struct hg_options *o, const char *pair, size_t len,
                       struct hg_buf *err)
{
  size_t eq = 0;
  while (eq < len && pair[eq] != '=')
    eq++;
  const struct option_spec *spec = find_option(pair, eq);
  if (!spec) {
    hg_buf_str(err, "unknown option '");
    hg_buf_mem(err, pair, eq);
    hg_buf_str(err, "'");
    return false;
  }
  if (eq == len) {
    hg_buf_str(err, "option '");
    hg_buf_str(err, spec->name);
    hg_buf_str(err, "' needs a value (");
    hg_buf_str(err, spec->name);
    hg_buf_str(err, "=...)");
    return false;
  }
  const char *v = pair + eq + 1;
  size_t vlen = len - eq - 1;
  if (!set_option(o, spec, v, vlen)) {
    describe_bad_value(err, spec, v, vlen);
    return false;
  }
  return true;
}

bool hg_options_parse(struct hg_options *o, const char *text,
                      struct hg_buf *err)
{
  const char *p = text;
  while (*p) {
    size_t len = 0;
    while (p[len] && p[len] != ':')
      len++;
    if (len && !parse_pair(o, p, len, err))
      return false;
    p += len;
    if (*p == ':')
      p++;
  }
  return true;
}

static const void *value_of(const struct hg_options *o, const struct option_spec *spec)
{
  return (const char *)o + spec->offset;
}

/* Whether o holds the option's default. */
static bool is_default(const struct hg_options *o, const struct option_spec *spec)
{
  const void *v = value_of(o, spec);
  switch (spec->type) {
  case OPT_BOOL:
    return *(const bool *)v == (spec->def_uint != 0);
  case OPT_UINT:
    return *(const uint64_t *)v == spec->def_uint;
  case OPT_CHOICE:
    return *(const unsigned *)v == spec->def_uint;
  case OPT_STRING:
    break;
  }
  return hg_strncmp(v, spec->def_string, HG_OPTION_STRING_MAX) == 0;
}

/* The option's value in o, as it would be written in HEAPGUARD_OPTIONS. */
static void append_value(struct hg_buf *out, const struct hg_options *o,
                         const struct option_spec *spec)
{
  const void *v = value_of(o, spec);
  switch (spec->type) {
  case OPT_BOOL:
    hg_buf_dec(out, *(const bool *)v);
    return;
  case OPT_UINT:
    hg_buf_dec(out, *(const uint64_t *)v);
    return;
  case OPT_CHOICE:
    append_choice(out, spec->def_string, *(const unsigned *)v);
    return;
  case OPT_STRING:
    break;
  }
  hg_buf_str(out, v);
}

/* The option's default, as the listing shows it; a choice's words with it. */
static void append_default(struct hg_buf *out, const struct option_spec *spec,
                           bool with_choices)
{
  if (spec->type == OPT_STRING) {
    hg_buf_char(out, '"');
    hg_buf_str(out, spec->def_string);
    hg_buf_char(out, '"');
  } else if (spec->type == OPT_CHOICE) {
    append_choice(out, spec->def_string, (unsigned)spec->def_uint);
    if (with_choices) {
      hg_buf_str(out, " (");
      hg_buf_str(out, spec->def_string);
      hg_buf_char(out, ')');
    }
  } else {
    hg_buf_dec(out, spec->def_uint);
  }
}

void hg_options_describe(struct hg_buf *out, const struct hg_options *values)
{
  for (size_t i = 0; i < OPTION_COUNT; i++) {
    const struct option_spec *spec = &option_table[i];
    hg_buf_str(out, "  ");
    hg_buf_str(out, spec->name);
    hg_buf_str(out, "=");
    if (values && !is_default(values, spec)) {
      if (spec->type == OPT_STRING)
        hg_buf_char(out, '"');
      append_value(out, values, spec);
      if (spec->type == OPT_STRING)
        hg_buf_char(out, '"');
      hg_buf_str(out, " (default ");
      append_default(out, spec, false);
      hg_buf_char(out, ')');
    } else {
      append_default(out, spec, true);
    }
    hg_buf_str(out, "  ");
    hg_buf_str(out, spec->help);
    hg_buf_char(out, '\n');
  }
}

void hg_options_changed(struct hg_buf *out, const struct hg_options *values)
{
  bool first = true;
  for (size_t i = 0; i < OPTION_COUNT; i++) {
    const struct option_spec *spec = &option_table[i];
    if (is_default(values, spec))
      continue;
    if (!first)
      hg_buf_char(out, ':');
    first = false;
    hg_buf_str(out, spec->name);
    hg_buf_char(out, '=');
    append_value(out, values, spec);
  }
}

static const char env_name[] = "HEAPGUARD_OPTIONS=";

static const char *find_in_environ(char **env)
{
  for (; *env; env++)
    if (hg_strncmp(*env, env_name, sizeof env_name - 1) == 0)
      return *env + sizeof env_name - 1;
  return NULL;
}

/* Early in process start libc may not have set environ yet. */
static const char *find_in_proc_environ(void)
{
  static HG_LARGE_BSS char buf[1 << 16];
  int fd = hg_os_open_read("/proc/self/environ");
  if (fd < 0)
    return NULL;
  size_t len = 0;
  ssize_t n;
  while (len < sizeof buf - 1 &&
         (n = hg_os_read(fd, buf + len, sizeof buf - 1 - len)) > 0)
    len += (size_t)n;
  hg_os_close(fd);
  buf[len] = 0;
  for (size_t i = 0; i < len; i += hg_strlen(buf + i) + 1)
    if (hg_strncmp(buf + i, env_name, sizeof env_name - 1) == 0)
      return buf + i + sizeof env_name - 1;
  return NULL;
}

extern char **environ;

/*
 * The program's compile-time defaults, as __asan_default_options gives
 * AddressSanitizer's: found when the program (or a library it loads)
 * exports the function, which linking against libheapguard does, and
 * -Wl,--export-dynamic-symbol=__heapguard_default_options does for a
 * program that only has heapguard preloaded.
 */
extern const char *__heapguard_default_options(void) __attribute__((weak));

static _Noreturn void options_fail(struct hg_buf *msg)
{
  hg_buf_str(msg, "\n");
  hg_os_write_all(2, msg->p, msg->len);
  hg_os_exit(1);
}

/* Parse text over hg_options; a bad option stops the program, naming where it was set. */
static void parse_or_fail(const char *text, const char *where)
{
  char storage[512];
  struct hg_buf msg = HG_BUF(storage);
  hg_buf_str(&msg, "heapguard: ");
  hg_buf_str(&msg, where);
  hg_buf_str(&msg, ": ");
  if (!hg_options_parse(&hg_options, text, &msg))
    options_fail(&msg);
}

void hg_options_load(void)
{
  hg_options_set_defaults(&hg_options);
  const char *defaults = __heapguard_default_options ? __heapguard_default_options() : NULL;
  if (defaults)
    parse_or_fail(defaults, "__heapguard_default_options");
  const char *text = environ ? find_in_environ(environ) : find_in_proc_environ();
  if (text)
    parse_or_fail(text, "HEAPGUARD_OPTIONS");
  if (hg_options.help) {
    char list[16384];
    struct hg_buf out = HG_BUF(list);
    hg_buf_str(&out, "heapguard options (HEAPGUARD_OPTIONS=key=value:key=value), "
                     "with the values in effect:\n");
    hg_options_describe(&out, &hg_options);
    hg_os_write_all(2, out.p, out.len);
    hg_os_exit(0);
  }
}
