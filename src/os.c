/*
 * os.c - system calls, made directly so that nothing here can reach back
 * into malloc, and so that errno is preserved where callers need it.
 */
#define _GNU_SOURCE
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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

static void *map_raw_prot(size_t size, int prot)
{
  void *p = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p != MAP_FAILED)
    return p;
  if (errno != ENOMEM)
    os_fatal("mmap failed");
  return NULL;
}

static void *map_raw(size_t size)
{
  return map_raw_prot(size, PROT_READ | PROT_WRITE);
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

/*
 * Reserved inaccessible and opened between the guards: one mprotect, not
 * one a guard page. The reservation may have merged with a neighbouring
 * inaccessible mapping (a guard page), and unmapping it is then a split
 * the kernel refuses at vm.max_map_count: when the opening failed for
 * that reason, the reservation stays, inaccessible, costing address space
 * only.
 */
void *hg_os_map_fenced(size_t size)
{
  char *base = map_raw_prot(size + 2 * HG_OS_PAGE, PROT_NONE);
  if (!base)
    return NULL;
  if (!hg_os_protect_rw(base + HG_OS_PAGE, size)) {
    if (munmap(base, size + 2 * HG_OS_PAGE) != 0 && errno != ENOMEM)
      os_fatal("munmap failed");
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

bool hg_os_protect_read(void *p, size_t size)
{
  return mprotect(p, size, PROT_READ) == 0;
}

void hg_os_discard(void *p, size_t size)
{
  madvise(p, size, MADV_DONTNEED);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

void hg_os_populate(void *p, size_t size)
{
  madvise(p, size, MADV_POPULATE_WRITE);
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

/* linux/membarrier.h's commands, spelled out for older headers. */
#define MEMBARRIER_PRIVATE_EXPEDITED (1 << 3)
#define MEMBARRIER_REGISTER_PRIVATE_EXPEDITED (1 << 4)

bool hg_os_membarrier_register(void)
{
  return syscall(SYS_membarrier, MEMBARRIER_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

bool hg_os_membarrier(void)
{
  return syscall(SYS_membarrier, MEMBARRIER_PRIVATE_EXPEDITED, 0, 0) == 0;
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

const void *hg_os_map_file(const char *path, size_t *size)
{
  int fd = hg_os_open_read(path);
  if (fd < 0)
    return NULL;
  struct stat st;
  void *p = MAP_FAILED;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    *size = (size_t)st.st_size;
    p = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
  }
  hg_os_close(fd);
  return p == MAP_FAILED ? NULL : p;
}

bool hg_os_is_executable(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

struct child {
  const char *path;
  char *const *argv, *const *env;
  int null_fd, out_fd;
  sigset_t mask; /* the parent's, restored before exec */
};

/*
 * Runs on its own stack in the parent's memory until execve: only system
 * calls. The program's handlers are reset first, so that a signal arriving
 * before execve cannot run the program's code in the child.
 */
static int child_main(void *arg)
{
  const struct child *c = arg;
  for (int sig = 1; sig < NSIG; sig++) {
    struct sigaction sa;
    if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN) {
      sa.sa_handler = SIG_DFL;
      sa.sa_flags = 0;
      sigaction(sig, &sa, NULL);
    }
  }
  if (dup2(c->null_fd, 0) < 0 || dup2(c->out_fd, 1) < 0 || dup2(c->null_fd, 2) < 0)
    _exit(127);
  sigprocmask(SIG_SETMASK, &c->mask, NULL);
  execve(c->path, c->argv, c->env);
  _exit(127);
}

static uint64_t monotonic_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Read the child's output until it closes it; false on timeout. */
static bool read_until_closed(int fd, char *out, size_t cap, size_t *len, int timeout_ms)
{
  uint64_t deadline = monotonic_ms() + (uint64_t)timeout_ms;
  char drop[256];
  *len = 0;
  for (;;) {
    uint64_t now = monotonic_ms();
    if (now >= deadline)
      return false;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int ready = poll(&p, 1, (int)(deadline - now));
    if (ready < 0 && errno != EINTR)
      return true;
    if (ready <= 0)
      continue;
    bool room = *len < cap;
    ssize_t n = hg_os_read(fd, room ? out + *len : drop, room ? cap - *len : sizeof drop);
    if (n <= 0)
      return true;
    if (room)
      *len += (size_t)n;
  }
}

/* A copy of fd above the standard descriptors (the child's dup2 targets). */
static int above_two(int fd)
{
  if (fd < 0 || fd > 2)
    return fd;
  int moved = hg_os_dup_above(fd, 3);
  hg_os_close(fd);
  return moved;
}

int hg_os_run(const char *path, char *const argv[], char *const env[], char *out,
              size_t cap, size_t *len, int timeout_ms)
{
  enum { STACK = 64 << 10 };
  int saved_errno = errno;
  int pipe_fds[2] = { -1, -1 };
  struct child c = { .path = path, .argv = argv, .env = env, .out_fd = -1,
                     .null_fd = above_two(open("/dev/null", O_RDWR | O_CLOEXEC)) };
  char *stack = NULL;
  pid_t pid = -1;
  if (c.null_fd >= 0 && pipe2(pipe_fds, O_CLOEXEC) == 0) {
    pipe_fds[0] = above_two(pipe_fds[0]);
    c.out_fd = pipe_fds[1] = above_two(pipe_fds[1]);
    stack = map_raw(STACK);
  }
  if (stack && pipe_fds[0] >= 0 && c.out_fd >= 0) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &c.mask);
    pid = clone(child_main, stack + STACK, CLONE_VM | CLONE_VFORK, &c);
    pthread_sigmask(SIG_SETMASK, &c.mask, NULL);
  }
  if (stack)
    hg_os_unmap(stack, STACK);
  if (c.null_fd >= 0)
    hg_os_close(c.null_fd);
  if (pipe_fds[1] >= 0)
    hg_os_close(pipe_fds[1]);
  int status = -1;
  if (pid > 0) {
    bool finished = read_until_closed(pipe_fds[0], out, cap, len, timeout_ms);
    if (!finished)
      kill(pid, SIGKILL);
    int st = 0;
    pid_t waited;
    while ((waited = waitpid(pid, &st, __WALL)) < 0 && errno == EINTR)
      ;
    /* Reaped by the program's own wait(__WALL): its output is all there is. */
    if (finished && (waited != pid || WIFEXITED(st)))
      status = waited == pid ? WEXITSTATUS(st) : 0;
  }
  if (pipe_fds[0] >= 0)
    hg_os_close(pipe_fds[0]);
  errno = saved_errno;
  return status;
}

pid_t hg_os_getpid(void)
{
  return (pid_t)syscall(SYS_getpid);
}

pid_t hg_os_gettid(void)
{
  return (pid_t)syscall(SYS_gettid);
}

uint64_t hg_os_clock_ns(void)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
    return 0;
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

unsigned hg_os_cpu_count(void)
{
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0)
    return 1;
  int n = CPU_COUNT(&set);
  return n > 0 ? (unsigned)n : 1;
}

void hg_os_yield(void)
{
  sched_yield();
}

off_t hg_os_tell(int fd)
{
  return lseek(fd, 0, SEEK_CUR);
}

bool hg_os_pwrite_all(int fd, const void *buf, size_t len, off_t at)
{
  return pwrite(fd, buf, len, at) == (ssize_t)len;
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
