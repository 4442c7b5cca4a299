/*
 * test_stress.c - runs the stress and fault programs under LD_PRELOAD of
 * the built library: each must exit 0 within its time limit, print its
 * success line, and print no report (nothing containing "heapguard", but
 * the mapping-budget warning of the cases that require it) and leave no
 * dump.
 *
 * Usage: test_stress [case]   (no argument: every case)
 * The runner itself runs on glibc's malloc.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

struct stress_case {
  const char *name;
  const char *program;
  const char *args[4];
  const char *success;
  int timeout;         /* seconds; the program is killed after this */
  const char *options; /* more HEAPGUARD_OPTIONS, or NULL */
  /* Guard mode must stop guarding and say so once, its only line. */
  int budget_warning;
};

static const struct stress_case cases[] = {
  /* 8 threads x 400000 operations, heapguard_check_heap every 200
   * operations of thread 0 while the others run: 2000 checks of every
   * block, the arenas' pools included (31 s alone on a 2-core machine on
   * 7 December 2026; 4000 checks took 34 s alone a week earlier, 54-56 s
   * alone that day, and more than ctest's 120 s under ctest -j2). */
  { "mt_mixed", "stress_mt_mixed", { "400000", "200" }, "mixed ok", 180 },
  /* The same with the other threads paused at a barrier during each check. */
  { "mt_mixed_paused", "stress_mt_mixed", { "400000", "2000", "paused" }, "mixed ok", 60 },
  { "fork_alloc", "stress_fork_alloc", { "2000", "15" }, "fork ok", 45 },
  { "thread_churn", "stress_thread_churn", { "4000" }, "thread churn ok", 45 },
  { "dlopen_cycle", "stress_dlopen_cycle", { STRESS_DLIB, "2000" }, "dlopen ok", 45 },
  { "oom_rlimit", "stress_oom_rlimit", { NULL }, "oom ok", 45 },
  { "map_limit", "stress_map_limit", { NULL }, "map limit ok", 60 },
  /* malloc/free in a SIGALRM handler every 50 us for 8 s while the
   * interrupted thread allocates: nested calls must not deadlock. */
  { "signal_alloc", "stress_signal_alloc", { "8", "50" }, "signal ok", 45 },
  /* The same programs in guard-page mode. */
  { "mt_mixed_guarded", "stress_mt_mixed", { "100000", "2000", "paused" }, "mixed ok", 90,
    "guard_mode=all" },
  /* Checks while the other threads run: guard segments are unmapped as
   * they empty, never under a heap walk. */
  { "mt_mixed_guarded_concurrent", "stress_mt_mixed", { "50000", "20" }, "mixed ok", 90,
    "guard_mode=all" },
  { "fork_alloc_guarded", "stress_fork_alloc", { "500", "15" }, "fork ok", 60,
    "guard_mode=all" },
  { "thread_churn_guarded", "stress_thread_churn", { "4000" }, "thread churn ok", 60,
    "guard_mode=all" },
  { "dlopen_cycle_guarded", "stress_dlopen_cycle", { STRESS_DLIB, "2000" }, "dlopen ok", 60,
    "guard_mode=all" },
  { "signal_alloc_guarded", "stress_signal_alloc", { "8", "50" }, "signal ok", 45,
    "guard_mode=all" },
  /* Guard segments left empty are unmapped when memory runs out. */
  { "oom_rlimit_guarded", "stress_oom_rlimit", { NULL }, "oom ok", 45, "guard_mode=all" },
  /* Guarded blocks use up guard mode's half of the map count first, and
   * the rest are served unguarded until the kernel's ENOMEM: silently, and
   * with one note at verbosity=1 (besides that level's start-up and exit
   * lines). */
  { "map_limit_guarded", "stress_map_limit", { NULL }, "map limit ok", 60, "guard_mode=all" },
  { "map_limit_guarded_noted", "stress_map_limit", { NULL }, "map limit ok", 60,
    "guard_mode=all:verbosity=1", 1 },
};

/* The note guard mode writes at verbosity=1 when it stops guarding new allocations. */
static const char budget_warning[] = "heapguard: guard mode: mapping budget low (";
static const char budget_warning_end[] = "), new allocations are no longer guarded\n";

/* Remove the warning from out; false when it is not there. */
static int drop_budget_warning(char *out)
{
  char *w = strstr(out, budget_warning);
  char *end = w ? strstr(w, budget_warning_end) : NULL;
  if (!end)
    return 0;
  end += strlen(budget_warning_end);
  memmove(w, end, strlen(end) + 1);
  return 1;
}

/*
 * Remove the lines verbosity=1 writes at start-up and exit, which begin
 * "==PID== heapguard".
 */
static void drop_verbosity_lines(char *out)
{
  char *line = out;
  while (*line) {
    char *end = strchr(line, '\n');
    end = end ? end + 1 : line + strlen(line);
    const char *p = line + 2;
    while (*p >= '0' && *p <= '9')
      p++;
    if (strncmp(line, "==", 2) == 0 && strncmp(p, "== heapguard", 12) == 0)
      memmove(line, end, strlen(end) + 1);
    else
      line = end;
  }
}

struct run {
  int status;
  int timed_out;
  char output[1 << 16];
  size_t len;
  char dump_dir[64];
};

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_program(struct run *r, const struct stress_case *c)
{
  memset(r, 0, sizeof *r);
  snprintf(r->dump_dir, sizeof r->dump_dir, "/tmp/hgstress.XXXXXX");
  if (!mkdtemp(r->dump_dir))
    abort();
  char path[512], opts[128];
  snprintf(path, sizeof path, "%s/%s", STRESS_PROGS_DIR, c->program);
  snprintf(opts, sizeof opts, "dump_dir=%s%s%s", r->dump_dir, c->options ? ":" : "",
           c->options ? c->options : "");
  char *argv[6] = { path };
  for (int i = 0; i < 4 && c->args[i]; i++)
    argv[i + 1] = (char *)c->args[i];
  int fds[2];
  if (pipe(fds) != 0)
    abort();
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0); /* so that a timeout kills the program's children too */
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    setenv("LD_PRELOAD", HG_LIB_PATH, 1);
    setenv("HEAPGUARD_OPTIONS", opts, 1);
    execv(path, argv);
    _exit(127);
  }
  setpgid(pid, pid);
  close(fds[1]);
  double deadline = now() + c->timeout;
  for (;;) {
    double left = deadline - now();
    if (left <= 0) {
      r->timed_out = 1;
      kill(-pid, SIGKILL);
      break;
    }
    struct pollfd p = { fds[0], POLLIN, 0 };
    int n = poll(&p, 1, (int)(left * 1000) + 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      continue;
    ssize_t got;
    if (r->len < sizeof r->output - 1)
      got = read(fds[0], r->output + r->len, sizeof r->output - 1 - r->len);
    else {
      char sink[4096];
      got = read(fds[0], sink, sizeof sink);
    }
    if (got <= 0)
      break;
    if (r->len < sizeof r->output - 1)
      r->len += (size_t)got;
  }
  r->output[r->len] = 0;
  close(fds[0]);
  waitpid(pid, &r->status, 0);
}

static int dump_count(const struct run *r)
{
  DIR *d = opendir(r->dump_dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    n += strstr(e->d_name, ".hgdump") != NULL;
  if (d)
    closedir(d);
  return n;
}

static void cleanup(struct run *r)
{
  DIR *d = opendir(r->dump_dir);
  struct dirent *e;
  char path[512];
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "%s/%s", r->dump_dir, e->d_name);
    unlink(path);
  }
  if (d)
    closedir(d);
  rmdir(r->dump_dir);
}

static void run_case(void **state)
{
  const struct stress_case *c = *state;
  static struct run r;
  double t0 = now();
  run_program(&r, c);
  double took = now() - t0;
  int dumps = dump_count(&r);
  cleanup(&r);
  if (r.timed_out)
    fail_msg("%s: killed after %d s (hang or deadlock); output:\n%s", c->name, c->timeout,
             r.output);
  if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
    fail_msg("%s: status %#x%s; output:\n%s", c->name, r.status,
             WIFSIGNALED(r.status) ? " (killed by a signal)" : "", r.output);
  if (c->budget_warning && !drop_budget_warning(r.output))
    fail_msg("%s: no mapping budget warning; output:\n%s", c->name, r.output);
  if (c->budget_warning)
    drop_verbosity_lines(r.output);
  if (strstr(r.output, "heapguard"))
    fail_msg("%s: unexpected report:\n%s", c->name, r.output);
  if (!strstr(r.output, c->success))
    fail_msg("%s: no '%s' line; output:\n%s", c->name, c->success, r.output);
  assert_int_equal(dumps, 0);
  /* The program's own summary line, for the test log. */
  char *line = strstr(r.output, c->success);
  char *end = strchr(line, '\n');
  printf("  %s: %.*s (%.1f s)\n", c->name, end ? (int)(end - line) : (int)strlen(line), line,
         took);
}

int main(int argc, char **argv)
{
  size_t n = sizeof cases / sizeof *cases;
  struct CMUnitTest tests[sizeof cases / sizeof *cases];
  size_t count = 0;
  for (size_t i = 0; i < n; i++) {
    if (argc > 1 && strcmp(argv[1], cases[i].name) != 0)
      continue;
    tests[count] = (struct CMUnitTest)cmocka_unit_test_prestate(run_case, (void *)&cases[i]);
    tests[count].name = cases[i].name;
    count++;
  }
  if (count == 0) {
    fprintf(stderr, "test_stress: no case named %s\n", argc > 1 ? argv[1] : "");
    return 2;
  }
  return _cmocka_run_group_tests("stress", tests, count, NULL, NULL);
}
