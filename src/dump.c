/*
 * dump.c - the dump writer.
 */
#define _GNU_SOURCE
#include "dump.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "backtrace.h"
#include "fmt.h"
#include "heapguard_dump.h"
#include "options.h"
#include "os.h"
#include "runtime.h"
#include "segment.h"

static _Atomic unsigned dump_seq;

static bool write_padding(int fd, uint64_t len)
{
  static const char zeros[8];
  size_t pad = (size_t)(-len & 7);
  return pad == 0 || hg_os_write_all(fd, zeros, pad);
}

static bool write_section(int fd, uint32_t type, uint32_t flags, const void *p,
                          size_t len)
{
  struct hg_dump_section sh = { type, flags, len };
  return hg_os_write_all(fd, &sh, sizeof sh) && hg_os_write_all(fd, p, len) &&
         write_padding(fd, len);
}

/* Write up to len bytes of live memory; stops at the first unreadable page. */
static uint64_t write_memory(int fd, const char *p, size_t len)
{
  uint64_t done = 0;
  while (done < len) {
    size_t chunk = len - done < HG_PAGE_SIZE ? len - done : HG_PAGE_SIZE;
    if (!hg_os_write_all(fd, p + done, chunk))
      break;
    done += chunk;
  }
  return done;
}

/*
 * The bytes of a segment we can trust to be mapped: its recorded extent if
 * the metadata verifies, else what a shared segment always has; at most
 * max_dump_bytes of them (a dedicated segment may hold a block of
 * gigabytes), which shortens the dump as an unreadable page does.
 */
static size_t dumped_extent(const struct hg_segment *s)
{
  size_t extent = HG_SEGMENT_SIZE - 2 * HG_PAGE_SIZE;
  if (hg_segment_verify(&hg_key, s) == HG_SEGMENT_OK)
    extent = s->end;
  return extent < hg_options.max_dump_bytes ? extent : hg_options.max_dump_bytes;
}

static bool write_segment(int fd, const struct hg_segment *s, uint32_t flags,
                          size_t len)
{
  off_t at = hg_os_tell(fd);
  struct hg_dump_section sh = { HG_DUMP_SEGMENT, flags,
                                sizeof(struct hg_dump_segment) + len };
  struct hg_dump_segment seg = { (uintptr_t)s, len };
  if (at < 0 || !hg_os_write_all(fd, &sh, sizeof sh) || !hg_os_write_all(fd, &seg, sizeof seg))
    return false;
  uint64_t done = write_memory(fd, (const char *)s, len);
  if (done != len) {
    sh.length = sizeof seg + done;
    seg.length = done;
    if (!hg_os_pwrite_all(fd, &sh, sizeof sh, at) ||
        !hg_os_pwrite_all(fd, &seg, sizeof seg, at + (off_t)sizeof sh))
      return false;
  }
  return write_padding(fd, sizeof seg + done);
}

static void fill_process(struct hg_dump_process *pr)
{
  memset(pr, 0, sizeof *pr);
  pr->pid = (uint32_t)hg_os_getpid();
  pr->tid = (uint32_t)hg_os_gettid();
  pr->unix_time = hg_os_unix_time();
  hg_strlcpy(pr->version, HEAPGUARD_VERSION_STRING, sizeof pr->version);
  const uint8_t *id;
  pr->build_id_size = (uint32_t)hg_library_build_id(&id);
  memcpy(pr->build_id, id, pr->build_id_size);
  pr->secret[0] = hg_secret[0];
  pr->secret[1] = hg_secret[1];
  pr->header_size = HG_HEADER_SIZE;
  pr->granule = HG_GRANULE;
}

static int open_dump_file(char *path, size_t cap)
{
  struct hg_buf b = { path, 0, cap - 1 };
  hg_buf_str(&b, hg_options.dump_dir);
  hg_buf_str(&b, "/heapguard.");
  hg_buf_dec(&b, (uint64_t)hg_os_getpid());
  hg_buf_char(&b, '.');
  hg_buf_dec(&b, atomic_fetch_add(&dump_seq, 1) + 1);
  hg_buf_str(&b, ".hgdump");
  path[b.len] = 0;
  return hg_os_open_write(path, true);
}

bool hg_dump_write(const struct heapguard_finding *f, const char *text,
                   size_t text_len, char *path, size_t cap)
{
  const struct hg_segment *s = (const struct hg_segment *)f->segment;
  if (!s)
    return false;
  int fd = open_dump_file(path, cap);
  if (fd < 0)
    return false;
  const struct hg_segment *below = hg_segment_neighbour(s, -1);
  const struct hg_segment *above = hg_segment_neighbour(s, +1);
  struct hg_dump_file_header fh = { HG_DUMP_MAGIC, HG_DUMP_VERSION, sizeof fh,
                                    4u + (below != NULL) + (above != NULL), 0 };
  struct hg_dump_process pr;
  fill_process(&pr);
  struct hg_dump_report rep = { (uint32_t)f->bug_class, f->check, f->address, f->block,
                                f->segment, f->expected, f->found };
  bool ok = hg_os_write_all(fd, &fh, sizeof fh) &&
            write_section(fd, HG_DUMP_PROCESS, 0, &pr, sizeof pr) &&
            write_section(fd, HG_DUMP_REPORT, 0, &rep, sizeof rep) &&
            write_section(fd, HG_DUMP_REPORT_TEXT, 0, text, text_len) &&
            write_segment(fd, s, HG_DUMP_SEGMENT_DAMAGED, dumped_extent(s));
  if (ok && below)
    ok = write_segment(fd, below, HG_DUMP_SEGMENT_META_ONLY, sizeof *below);
  if (ok && above)
    ok = write_segment(fd, above, HG_DUMP_SEGMENT_META_ONLY, sizeof *above);
  hg_os_close(fd);
  return ok;
}

bool hg_dump_on_demand(const struct hg_segment *s, const char *reason, uintptr_t address,
                       char *path, size_t cap)
{
  static char text[256];
  struct hg_buf b = HG_BUF(text);
  hg_buf_str(&b, "heapguard: on-demand dump of segment ");
  hg_buf_hex(&b, (uintptr_t)s);
  hg_buf_str(&b, " requested by ");
  hg_buf_str(&b, reason);
  hg_buf_str(&b, " in thread ");
  hg_buf_dec(&b, (uint64_t)hg_os_gettid());
  hg_buf_char(&b, '\n');
  struct heapguard_finding f = { .operation = reason, .address = address,
                                 .segment = (uintptr_t)s };
  return hg_dump_write(&f, b.p, b.len, path, cap);
}

struct signal_dump {
  unsigned written;
};

static void dump_one_segment(struct hg_segment *s, void *arg)
{
  struct signal_dump *d = arg;
  char path[HG_OPTION_STRING_MAX + 64];
  if (d->written < 256 && hg_dump_on_demand(s, "dump_signal", 0, path, sizeof path))
    d->written++;
}

/*
 * Runs in a signal handler: no locks (the interrupted thread may hold
 * them), so a segment being changed at that moment is dumped as it is.
 */
static void on_dump_signal(int sig)
{
  (void)sig;
  int saved = errno;
  struct signal_dump d = { 0 };
  hg_segment_for_each(dump_one_segment, &d);
  char line[128];
  struct hg_buf b = HG_BUF(line);
  hg_buf_str(&b, "heapguard: dump_signal: ");
  hg_buf_dec(&b, d.written);
  hg_buf_str(&b, " segment dumps written to ");
  hg_os_write_all(2, b.p, b.len);
  hg_os_write_all(2, hg_options.dump_dir, hg_strlen(hg_options.dump_dir));
  hg_os_write_all(2, "\n", 1);
  errno = saved;
}

void hg_dump_signal_init(void)
{
  if (!hg_options.dump_signal)
    return;
  struct sigaction sa = { 0 };
  sa.sa_handler = on_dump_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  hg_os_sigaction((int)hg_options.dump_signal, &sa, NULL);
}
