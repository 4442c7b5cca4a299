/*
 * log.c - where heapguard's words go: the log_path file, or the standard
 * stream, with a copy of it for programs that close theirs.
 */
#include "log.h"

#include "fmt.h"
#include "options.h"
#include "os.h"

/*
 * The standard stream reports go to (log_path empty, "stderr" or "stdout"),
 * and a copy of it taken at start-up for when the program has closed it.
 */
static int report_stream = 2;
static int saved_stream = -1;

static bool log_names(const char *stream)
{
  return hg_strncmp(hg_options.log_path, stream, HG_OPTION_STRING_MAX) == 0;
}

void hg_log_init(void)
{
  if (log_names("stdout"))
    report_stream = 1;
  saved_stream = hg_os_dup_above(report_stream, 200);
}

void hg_log_write(int fd, const char *text, size_t len)
{
  if (!hg_os_write_all(fd, text, len) && fd == report_stream && saved_stream >= 0)
    hg_os_write_all(saved_stream, text, len);
}

/* A file opened for reports never takes the number of a standard stream. */
static int above_standard_streams(int fd)
{
  if (fd < 0 || fd > 2)
    return fd;
  int moved = hg_os_dup_above(fd, 3);
  hg_os_close(fd);
  return moved;
}

int hg_log_open(void)
{
  if (!hg_options.log_path[0] || log_names("stderr") || log_names("stdout"))
    return report_stream;
  char path[HG_OPTION_STRING_MAX + 24];
  struct hg_buf b = { path, 0, sizeof path - 1 };
  hg_buf_str(&b, hg_options.log_path);
  hg_buf_char(&b, '.');
  hg_buf_dec(&b, (uint64_t)hg_os_getpid());
  path[b.len] = 0;
  int fd = above_standard_streams(hg_os_open_write(path, false));
  if (fd >= 0)
    return fd;
  static const char msg[] = "heapguard: cannot open the log_path file; reporting to stderr\n";
  hg_os_write_all(2, msg, sizeof msg - 1);
  return 2;
}

void hg_log_close(int fd)
{
  if (fd > 2)
    hg_os_close(fd);
}

void hg_log_note(unsigned level, const char *text, size_t len)
{
  if (hg_options.verbosity < level)
    return;
  int fd = hg_log_open();
  hg_log_write(fd, text, len);
  hg_log_close(fd);
}

void hg_log_line_start(struct hg_buf *b)
{
  hg_buf_str(b, "==");
  hg_buf_dec(b, (uint64_t)hg_os_getpid());
  hg_buf_str(b, "== heapguard");
}
