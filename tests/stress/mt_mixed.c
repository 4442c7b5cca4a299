/*
 * mt_mixed.c - 8 threads, a few million mixed operations: malloc, calloc,
 * realloc, free, posix_memalign of 1 B .. 2 MiB, with blocks handed between
 * threads through a shared exchange so that frees and reallocs cross
 * threads (and arenas). Thread 0 runs heapguard_check_heap() at intervals
 * while the others keep going; every check must return HEAPGUARD_OK.
 *
 * With "paused", the other threads wait at a barrier during each check
 * instead, which tells a damaged heap from a check that races with the
 * allocator.
 *
 * Usage: mt_mixed [ops-per-thread] [check-every] [paused]
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "stress.h"

#define THREADS 8
#define LOCAL_SLOTS 256
#define EXCHANGE_SLOTS 64

struct rec {
  void *p;
  size_t n;
  uint64_t tag;
};

struct exchange {
  pthread_mutex_t lock;
  struct rec r;
};

static struct exchange exchange[EXCHANGE_SLOTS];
static long ops_per_thread = 400000;
static long check_every = 25000;
static _Atomic long checks_done;
static _Atomic long cross_frees;
/* paused: the checks run while the other threads wait at a barrier. */
static bool paused;
static pthread_barrier_t barrier;

/* Mostly small, some medium, a few large (dedicated segments) sizes. */
static size_t pick_size(uint64_t *s)
{
  uint64_t r = stress_rand(s);
  unsigned bucket = (unsigned)(r % 1000);
  r >>= 10;
  if (bucket < 880)
    return 1 + r % (r & 1 ? 64 : 1024);
  if (bucket < 990)
    return 1 + r % (256 << 10);
  return 1 + r % (2u << 20);
}

static void release(struct rec *x, const char *what)
{
  stress_verify(x->p, x->n, x->tag, what);
  free(x->p);
  x->p = NULL;
}

static void allocate(struct rec *x, uint64_t *s)
{
  size_t n = pick_size(s);
  uint64_t r = stress_rand(s);
  void *p = NULL;
  switch (r % 8) {
  case 0:
  case 1: {
    p = calloc(1, n);
    if (!p)
      break;
    /* Only the ends: zeroing 2 MiB blocks is checked by the fault tests. */
    const uint8_t *b = p;
    for (size_t i = 0; i < n && i < 64; i++)
      if (b[i] || b[n - 1 - i])
        stress_fail("calloc(%zu) block %p not zeroed", n, p);
    break;
  }
  case 2: {
    size_t align = (size_t)8 << ((r >> 8) % 14); /* 8 B .. 64 KiB */
    int e = posix_memalign(&p, align, n);
    if (e)
      stress_fail("posix_memalign(%zu, %zu) failed: %d", align, n, e);
    if ((uintptr_t)p % align)
      stress_fail("posix_memalign(%zu, %zu) gave %p", align, n, p);
    break;
  }
  default:
    p = malloc(n);
  }
  if (!p)
    stress_fail("allocation of %zu bytes failed: errno %d", n, errno);
  x->p = p;
  x->n = n;
  x->tag = stress_rand(s);
  stress_fill(p, n, x->tag);
}

static void resize(struct rec *x, uint64_t *s, const char *what)
{
  stress_verify(x->p, x->n, x->tag, what);
  size_t n = pick_size(s);
  size_t keep = n < x->n ? n : x->n;
  void *q = realloc(x->p, n);
  if (!q)
    stress_fail("realloc(%p, %zu) failed: errno %d", x->p, n, errno);
  /* What survived the move: the first bytes of the old block. */
  const uint8_t *b = q;
  for (size_t i = 0; i < keep && i < 64; i++)
    if (b[i] != stress_tag_byte(x->tag, i))
      stress_fail("realloc(%zu -> %zu) lost byte %zu", x->n, n, i);
  x->p = q;
  x->n = n;
  x->tag = stress_rand(s);
  stress_fill(q, n, x->tag);
}

static void *worker(void *arg)
{
  long id = (long)(intptr_t)arg;
  uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
  struct rec local[LOCAL_SLOTS] = { { 0 } };
  for (long i = 0; i < ops_per_thread; i++) {
    if (check_every > 0 && i % check_every == check_every - 1) {
      if (paused)
        pthread_barrier_wait(&barrier);
      if (id == 0) {
        stress_check_heap(paused ? "heapguard_check_heap with the threads paused"
                                 : "concurrent heapguard_check_heap");
        atomic_fetch_add(&checks_done, 1);
      }
      if (paused)
        pthread_barrier_wait(&barrier);
    }
    uint64_t r = stress_rand(&s);
    unsigned op = (unsigned)(r % 100);
    if (op < 15) {
      /* Swap a local block with the exchange: whatever comes out was
       * usually allocated by another thread; free or realloc it here. */
      struct rec *mine = &local[(r >> 8) % LOCAL_SLOTS];
      struct exchange *e = &exchange[(r >> 20) % EXCHANGE_SLOTS];
      if (!mine->p)
        allocate(mine, &s);
      pthread_mutex_lock(&e->lock);
      struct rec theirs = e->r;
      e->r = *mine;
      pthread_mutex_unlock(&e->lock);
      *mine = theirs;
      if (mine->p) {
        atomic_fetch_add_explicit(&cross_frees, 1, memory_order_relaxed);
        if (op < 5)
          resize(mine, &s, "realloc of a foreign block");
        else
          release(mine, "free of a foreign block");
      }
      continue;
    }
    struct rec *x = &local[(r >> 8) % LOCAL_SLOTS];
    if (!x->p)
      allocate(x, &s);
    else if (op < 45)
      resize(x, &s, "realloc");
    else
      release(x, "free");
  }
  for (int i = 0; i < LOCAL_SLOTS; i++)
    if (local[i].p)
      release(&local[i], "final free");
  return NULL;
}

int main(int argc, char **argv)
{
  if (argc > 1)
    ops_per_thread = atol(argv[1]);
  if (argc > 2)
    check_every = atol(argv[2]);
  paused = argc > 3 && strcmp(argv[3], "paused") == 0;
  pthread_barrier_init(&barrier, NULL, THREADS);
  for (int i = 0; i < EXCHANGE_SLOTS; i++)
    pthread_mutex_init(&exchange[i].lock, NULL);
  double t0 = stress_now();
  pthread_t t[THREADS];
  for (long i = 0; i < THREADS; i++)
    if (pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i))
      stress_fail("pthread_create");
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  for (int i = 0; i < EXCHANGE_SLOTS; i++)
    if (exchange[i].r.p)
      release(&exchange[i].r, "final free of the exchange");
  stress_check_heap("final heapguard_check_heap");
  printf("mixed ok: %ld ops on %d threads, %ld cross-thread, %ld %s checks, %.1f s\n",
         ops_per_thread * THREADS, THREADS, atomic_load(&cross_frees),
         atomic_load(&checks_done), paused ? "paused" : "concurrent", stress_now() - t0);
  return 0;
}
