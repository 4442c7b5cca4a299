/*
 * symbolizer.c - addr2line in a child process, its answers parsed.
 */
#include "symbolizer.h"

#include "fmt.h"
#include "os.h"
#include "runtime.h"

/* addr2line reads a program's line table in milliseconds; a huge one may not. */
#define TIMEOUT_MS 3000
#define ADDRESSES_MAX 32u

extern char **environ;

static enum { TOOL_UNKNOWN, TOOL_READY, TOOL_UNAVAILABLE } tool_state;
static char tool[512];

/* addr2line in the program's PATH, as the program would find it. */
static bool find_tool(void)
{
  const char *dirs = "/usr/local/bin:/usr/bin:/bin";
  for (char **e = environ; e && *e; e++)
    if (hg_strncmp(*e, "PATH=", 5) == 0)
      dirs = *e + 5;
  while (*dirs) {
    size_t len = 0;
    while (dirs[len] && dirs[len] != ':')
      len++;
    struct hg_buf b = { tool, 0, sizeof tool - 1 };
    if (len)
      hg_buf_mem(&b, dirs, len);
    else
      hg_buf_char(&b, '.');
    hg_buf_str(&b, "/addr2line");
    tool[b.len] = 0;
    if (b.len < sizeof tool - 1 && hg_os_is_executable(tool))
      return true;
    dirs += len + (dirs[len] == ':');
  }
  return false;
}

/* "FILE:LINE" or "FILE:LINE (discriminator N)"; "??:0" and "FILE:?" place nothing. */
static bool parse_answer(char *line, const char **file, unsigned *number)
{
  static const char discriminator[] = " (discriminator ";
  char *colon = NULL;
  for (char *p = line; *p; p++) {
    if (hg_strncmp(p, discriminator, sizeof discriminator - 1) == 0) {
      *p = 0;
      break;
    }
    if (*p == ':')
      colon = p;
  }
  if (!colon || colon == line || hg_strncmp(line, "??:", 3) == 0)
    return false;
  *colon = 0;
  uint64_t n = 0;
  for (const char *d = colon + 1; *d; d++) {
    if (*d < '0' || *d > '9' || n > UINT32_MAX / 10)
      return false;
    n = n * 10 + (uint64_t)(*d - '0');
  }
  *file = line;
  *number = (unsigned)n;
  return n != 0;
}

bool hg_symbolizer_locate(const char *path, const uint64_t *vaddrs, size_t n,
                          hg_location_fn fn, void *arg)
{
  static char numbers[ADDRESSES_MAX][20];
  static HG_LARGE_BSS char answer[1 << 14];
  static char name[] = "addr2line", option[] = "-e", locale[] = "LC_ALL=C";
  if (tool_state == TOOL_UNKNOWN)
    tool_state = find_tool() ? TOOL_READY : TOOL_UNAVAILABLE;
  if (tool_state != TOOL_READY || n == 0)
    return false;
  n = n < ADDRESSES_MAX ? n : ADDRESSES_MAX;
  char *argv[ADDRESSES_MAX + 4] = { name, option, (char *)path };
  for (size_t i = 0; i < n; i++) {
    struct hg_buf b = { numbers[i], 0, sizeof numbers[i] - 1 };
    hg_buf_hex(&b, vaddrs[i] - 1);
    numbers[i][b.len] = 0;
    argv[3 + i] = numbers[i];
  }
  /* No LD_PRELOAD (addr2line would run under heapguard), no debuginfod. */
  char *env[] = { locale, NULL };
  size_t len = 0;
  int status = hg_os_run(tool, argv, env, answer, sizeof answer - 1, &len, TIMEOUT_MS);
  if (status == -1 || status == 127)
    tool_state = TOOL_UNAVAILABLE;
  if (status != 0)
    return false;
  answer[len] = 0;
  char *line = answer;
  for (size_t i = 0; i < n && *line; i++) {
    char *end = line;
    while (*end && *end != '\n')
      end++;
    bool last = !*end;
    *end = 0;
    const char *file;
    unsigned number;
    if (parse_answer(line, &file, &number))
      fn(i, file, number, arg);
    line = last ? end : end + 1;
  }
  return true;
}
