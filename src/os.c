/*
 * os.c - system calls, made directly so that nothing here can reach back
 * into malloc, and so that errno is preserved where callers need it.
 */
#define _GNU_SOURCE
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

#define HG_OS_PAGE ((size_t)HG_PAGE_SIZE)

static _Noreturn void os_fatal(const char *what)
{
  static const char prefix[] = "heapguard: fatal: ";
  hg_os_write_all(2, prefix, sizeof prefix - 1);
  size_t n = 0;
  while (what[n])
    n++;
  hg_os_write_all(2, what, n);
  hg_os_write_all(2, "\n", 1);
  hg_os_abort();
}

static void *map_raw(size_t size)
{
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p != MAP_FAILED)
    return p;
  if (errno != ENOMEM)
    os_fatal("mmap failed");
  return NULL;
}

void *hg_os_map(size_t size)
{
  return map_raw(size);
}

void *hg_os_map_aligned(size_t size, size_t align)
{
  if (size + align < size) {
    errno = ENOMEM;
    return NULL;
  }
  char *raw = map_raw(size + align);
  if (!raw)
    return NULL;
  char *p = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
  size_t before = (size_t)(p - raw);
  size_t after = align - before;
  if (before)
    hg_os_unmap(raw, before);
  if (after)
    hg_os_unmap(p + size, after);
  return p;
}

void *hg_os_map_fenced(size_t size)
{
  char *base = map_raw(size + 2 * HG_OS_PAGE);
  if (!base)
    return NULL;
  if (!hg_os_protect_none(base, HG_OS_PAGE) ||
      !hg_os_protect_none(base + HG_OS_PAGE + size, HG_OS_PAGE)) {
    hg_os_unmap(base, size + 2 * HG_OS_PAGE);
    errno = ENOMEM;
    return NULL;
  }
  return base + HG_OS_PAGE;
}

void hg_os_unmap_fenced(void *p, size_t size)
{
  hg_os_unmap((char *)p - HG_OS_PAGE, size + 2 * HG_OS_PAGE);
}

void hg_os_unmap(void *p, size_t size)
{
  if (munmap(p, size) != 0)
    os_fatal("munmap failed");
}

bool hg_os_protect_none(void *p, size_t size)
{
  return mprotect(p, size, PROT_NONE) == 0;
}

bool hg_os_protect_rw(void *p, size_t size)
{
  return mprotect(p, size, PROT_READ | PROT_WRITE) == 0;
}

void hg_os_discard(void *p, size_t size)
{
  madvise(p, size, MADV_DONTNEED);
}

uint64_t hg_os_max_map_count(void)
{
  char text[32];
  int fd = hg_os_open_read("/proc/sys/vm/max_map_count");
  if (fd < 0)
    return 0;
  ssize_t n = hg_os_read(fd, text, sizeof text);
  hg_os_close(fd);
  uint64_t v = 0;
  for (ssize_t i = 0; i < n && text[i] >= '0' && text[i] <= '9'; i++)
    v = v * 10 + (uint64_t)(text[i] - '0');
  return v;
}

static int hex_digit(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/*
 * /proc/self/maps, one character at a time: each line opens with
 * "start-end " in hex (fields 0 and 1); field 2 is the rest of the line.
 */
struct maps_scan {
  uintptr_t range[2];
  int field;
};

/* True at the end of a line whose range holds addr; the range is kept. */
static bool maps_feed(struct maps_scan *m, char c, uintptr_t addr)
{
  if (c == '\n') {
    bool hit = m->field == 2 && addr >= m->range[0] && addr < m->range[1];
    if (!hit)
      *m = (struct maps_scan){ { 0, 0 }, 0 };
    return hit;
  }
  int d = hex_digit(c);
  if (m->field < 2 && d >= 0)
    m->range[m->field] = m->range[m->field] << 4 | (uintptr_t)d;
  else if (m->field < 2)
    m->field++;
  return false;
}

bool hg_os_mapping_of(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
  int fd = hg_os_open_read("/proc/self/maps");
  if (fd < 0)
    return false;
  char buf[4096];
  struct maps_scan m = { { 0, 0 }, 0 };
  bool found = false;
  ssize_t n;
  while (!found && (n = hg_os_read(fd, buf, sizeof buf)) > 0)
    for (ssize_t i = 0; i < n && !found; i++)
      found = maps_feed(&m, buf[i], addr);
  hg_os_close(fd);
  *lo = m.range[0];
  *hi = m.range[1];
  return found;
}

uint64_t hg_os_stack_limit(void)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_STACK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
    return 0;
  return rl.rlim_cur;
}

bool hg_os_signal_stack(uintptr_t *lo, uintptr_t *hi)
{
  stack_t ss;
  if (sigaltstack(NULL, &ss) != 0 || !(ss.ss_flags & SS_ONSTACK))
    return false;
  *lo = (uintptr_t)ss.ss_sp;
  *hi = *lo + ss.ss_size;
  return true;
}

bool hg_os_sigaction(int sig, const struct sigaction *sa, struct sigaction *old)
{
  return sigaction(sig, sa, old) == 0;
}

bool hg_os_random(void *buf, size_t len)
{
  char *p = buf;
  while (len) {
    long n = syscall(SYS_getrandom, p, len, GRND_NONBLOCK);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    len -= (size_t)n;
  }
  return true;
}

bool hg_os_write_all(int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    len -= (size_t)n;
  }
  return true;
}

int hg_os_open_write(const char *path, bool exclusive)
{
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_APPEND);
  return open(path, flags, 0600);
}

int hg_os_dup_above(int fd, int min)
{
  return fcntl(fd, F_DUPFD_CLOEXEC, min);
}

int hg_os_open_read(const char *path)
{
  return open(path, O_RDONLY | O_CLOEXEC);
}

ssize_t hg_os_read(int fd, void *buf, size_t len)
{
  ssize_t n;
  do
    n = read(fd, buf, len);
  while (n < 0 && errno == EINTR);
  return n;
}

void hg_os_close(int fd)
{
  close(fd);
}

pid_t hg_os_getpid(void)
{
  return (pid_t)syscall(SYS_getpid);
}

pid_t hg_os_gettid(void)
{
  return (pid_t)syscall(SYS_gettid);
}

uint64_t hg_os_unix_time(void)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
    return 0;
  return (uint64_t)ts.tv_sec;
}

/* abort() may flush stdio, which takes locks and can allocate. */
_Noreturn void hg_os_abort(void)
{
  struct sigaction sa = {0};
  sa.sa_handler = SIG_DFL;
  sigaction(SIGABRT, &sa, NULL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGABRT);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  raise(SIGABRT);
  _exit(134);
}

_Noreturn void hg_os_exit(int code)
{
  _exit(code);
}
