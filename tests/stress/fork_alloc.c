/*
 * fork_alloc.c - fork while other threads allocate, a few thousand times.
 * Each child allocates and frees (small, medium and a large block), checks
 * its heap and exits normally; a child stuck on a lock that was held at the
 * fork is killed by its own alarm and fails the test.
 *
 * Usage: fork_alloc [max-forks] [max-seconds] [nocheck]
 * (nocheck: the children do not run heapguard_check_heap)
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/wait.h>

#include "stress.h"

#define ALLOCATORS 3
#define SLOTS 512

static atomic_bool stop;
static bool child_checks = true;
static _Atomic long background_ops;

static void *allocator(void *arg)
{
  uint64_t s = 0x1234567ull * (uint64_t)((intptr_t)arg + 1);
  struct {
    void *p;
    size_t n;
    uint64_t tag;
  } slot[SLOTS] = { { 0 } };
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    uint64_t r = stress_rand(&s);
    unsigned k = (unsigned)(r % SLOTS);
    /* Mostly small blocks, now and then a large one (a dedicated segment);
     * large blocks are never realloc'd, so that the parent's resident set,
     * which every fork copies the page tables of, stays small. */
    bool large = (r & 0xf000) == 0;
    size_t n = large ? (1u << 20) + (r >> 20) % 8192 : 1 + (r >> 20) % 4000;
    if (slot[k].p) {
      stress_verify(slot[k].p, slot[k].n, slot[k].tag, "parent free");
      if ((r & 0x100) || large || slot[k].n >= (1u << 20)) {
        free(slot[k].p);
        slot[k].p = NULL;
        continue;
      }
      slot[k].p = realloc(slot[k].p, n);
    } else {
      slot[k].p = malloc(n);
    }
    slot[k].n = n;
    if (!slot[k].p)
      stress_fail("parent allocation of %zu failed: errno %d", slot[k].n, errno);
    slot[k].tag = r;
    stress_fill(slot[k].p, slot[k].n, r);
    atomic_fetch_add_explicit(&background_ops, 1, memory_order_relaxed);
  }
  for (int i = 0; i < SLOTS; i++)
    free(slot[i].p);
  return NULL;
}

static void child(int round)
{
  alarm(10); /* a deadlocked child dies of SIGALRM */
  uint64_t s = 0xabcdefull + (uint64_t)round;
  void *p[64];
  size_t n[64];
  for (int i = 0; i < 64; i++) {
    n[i] = 1 + stress_rand(&s) % (i == 63 ? (2u << 20) : 3000);
    p[i] = malloc(n[i]);
    if (!p[i])
      _exit(3);
    stress_fill(p[i], n[i], (uint64_t)i);
  }
  for (int i = 0; i < 64; i += 2) {
    stress_verify(p[i], n[i], (uint64_t)i, "child");
    free(p[i]);
  }
  char *q = calloc(100, 100);
  if (!q || q[9999])
    _exit(4);
  free(q);
  if (child_checks)
    stress_check_heap("child heapguard_check_heap");
  for (int i = 1; i < 64; i += 2)
    free(p[i]);
  exit(0); /* atexit handlers and stdio run under the child's heap */
}

int main(int argc, char **argv)
{
  long max_forks = argc > 1 ? atol(argv[1]) : 3000;
  double max_seconds = argc > 2 ? atof(argv[2]) : 15;
  child_checks = !(argc > 3 && strcmp(argv[3], "nocheck") == 0);
  pthread_t t[ALLOCATORS];
  for (long i = 0; i < ALLOCATORS; i++)
    if (pthread_create(&t[i], NULL, allocator, (void *)(intptr_t)i))
      stress_fail("pthread_create");
  double t0 = stress_now();
  long forks = 0;
  while (forks < max_forks && stress_now() - t0 < max_seconds) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
      stress_fail("fork: errno %d", errno);
    if (pid == 0)
      child((int)forks);
    int status;
    if (waitpid(pid, &status, 0) != pid)
      stress_fail("waitpid: errno %d", errno);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      stress_fail("child %ld (fork %ld) ended with status %#x%s", (long)pid, forks, status,
                  WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM
                    ? " (SIGALRM: deadlocked after fork)" : "");
    forks++;
  }
  atomic_store(&stop, true);
  for (int i = 0; i < ALLOCATORS; i++)
    pthread_join(t[i], NULL);
  stress_check_heap("parent heapguard_check_heap");
  /*
   * Enough rounds to have forked while the allocators were everywhere in
   * their paths. Each child's exit also checks the whole heap it inherited
   * (check_on_exit), about a hundred megabytes here, so on a loaded
   * machine a round can take 100 ms.
   */
  if (forks < 50)
    stress_fail("only %ld forks in %.0f s", forks, max_seconds);
  printf("fork ok: %ld forks, %ld background operations, %.1f s\n", forks,
         atomic_load(&background_ops), stress_now() - t0);
  return 0;
}
