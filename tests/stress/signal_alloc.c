/*
 * signal_alloc.c - malloc and free inside a SIGALRM handler (setitimer)
 * while the interrupted thread itself allocates.
 *
 * Calling malloc from a signal handler is not async-signal-safe in most
 * allocators. heapguard serves a handler that interrupts its own locked
 * section from scratch memory and defers its frees; this program checks
 * that: a watchdog thread (which never takes the signal) watches both
 * counters and, when nothing has moved for 3 s, prints where the main
 * thread is stuck and exits with status 3.
 *
 * Usage: signal_alloc [seconds] [interval-us]
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/time.h>

#include "stress.h"

static _Atomic long main_ops, handler_ops;
static _Atomic int in_handler;
static _Atomic int main_in_call; /* 1 inside malloc, 2 inside free */

static void on_alarm(int sig)
{
  (void)sig;
  int saved = errno;
  atomic_store(&in_handler, 1);
  static uint64_t s = 42;
  size_t n = 1 + stress_rand(&s) % 2000;
  char *p = malloc(n);
  if (p) {
    p[0] = 1;
    p[n - 1] = 2;
    free(p);
  }
  atomic_fetch_add(&handler_ops, 1);
  atomic_store(&in_handler, 0);
  errno = saved;
}

static void *watchdog(void *arg)
{
  double seconds = *(double *)arg;
  double t0 = stress_now(), last_change = t0;
  long last_main = -1, last_handler = -1;
  for (;;) {
    usleep(100000);
    long m = atomic_load(&main_ops), h = atomic_load(&handler_ops);
    double now = stress_now();
    if (m != last_main || h != last_handler) {
      last_main = m;
      last_handler = h;
      last_change = now;
    }
    if (now - last_change > 3) {
      fprintf(stderr,
              "stress: signal_alloc: DEADLOCK after %.1f s: main thread stuck %s "
              "(in handler: %d), after %ld main and %ld handler operations\n",
              now - t0,
              atomic_load(&main_in_call) == 1   ? "inside malloc"
              : atomic_load(&main_in_call) == 2 ? "inside free"
                                                : "outside the allocator",
              atomic_load(&in_handler), m, h);
      _exit(3);
    }
    if (now - t0 > seconds + 5) {
      fprintf(stderr, "stress: signal_alloc: main thread did not finish\n");
      _exit(4);
    }
  }
  return NULL;
}

int main(int argc, char **argv)
{
  double seconds = argc > 1 ? atof(argv[1]) : 10;
  long interval = argc > 2 ? atol(argv[2]) : 50;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  pthread_t w;
  if (pthread_create(&w, NULL, watchdog, &seconds))
    stress_fail("pthread_create");
  struct sigaction sa = { 0 };
  sa.sa_handler = on_alarm;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  struct itimerval it = { { 0, interval }, { 0, interval } };
  setitimer(ITIMER_REAL, &it, NULL);

  static void *slot[256];
  uint64_t s = 7;
  double t0 = stress_now();
  while (stress_now() - t0 < seconds) {
    uint64_t r = stress_rand(&s);
    unsigned k = (unsigned)(r % 256);
    atomic_store(&main_in_call, 2);
    free(slot[k]);
    atomic_store(&main_in_call, 1);
    slot[k] = malloc(1 + (r >> 16) % 3000);
    atomic_store(&main_in_call, 0);
    atomic_fetch_add(&main_ops, 1);
  }
  struct itimerval off = { { 0, 0 }, { 0, 0 } };
  setitimer(ITIMER_REAL, &off, NULL);
  for (int i = 0; i < 256; i++)
    free(slot[i]);
  stress_check_heap("final heapguard_check_heap");
  printf("signal ok: %ld operations, %ld in the handler\n", atomic_load(&main_ops),
         atomic_load(&handler_ops));
  return 0;
}
