/*
 * thread_churn.c - thousands of short-lived threads, each allocating:
 * blocks freed by the thread itself, blocks left for the main thread to
 * free after the thread is gone, and frees of blocks the previous wave of
 * threads left behind. Detached and joined threads both.
 *
 * Usage: thread_churn [threads]
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "stress.h"

#define WAVE 16
#define LEFT 8

struct job {
  int id;
  void *left[LEFT];     /* allocated here, freed by main after the join */
  size_t left_n[LEFT];
  void *inherited[LEFT]; /* from the previous wave, freed here */
  size_t inherited_n[LEFT];
};

static _Atomic long detached_done;

static void *run(void *arg)
{
  struct job *j = arg;
  uint64_t s = 0x51ed27ull * (uint64_t)(j->id + 1);
  for (int i = 0; i < LEFT; i++)
    if (j->inherited[i]) {
      stress_verify(j->inherited[i], j->inherited_n[i], (uint64_t)i, "inherited");
      free(j->inherited[i]);
    }
  void *mine[32];
  size_t n[32];
  for (int i = 0; i < 32; i++) {
    n[i] = 1 + stress_rand(&s) % (i == 31 ? (1u << 20) + 100 : 2000);
    mine[i] = (i & 1) ? calloc(1, n[i]) : malloc(n[i]);
    if (!mine[i])
      stress_fail("thread %d: allocation failed: errno %d", j->id, errno);
    stress_fill(mine[i], n[i], (uint64_t)i);
  }
  for (int i = 0; i < 32; i++) {
    stress_verify(mine[i], n[i], (uint64_t)i, "own");
    mine[i] = realloc(mine[i], n[i] / 2 + 1);
    free(mine[i]);
  }
  for (int i = 0; i < LEFT; i++) {
    j->left_n[i] = 1 + stress_rand(&s) % 500;
    j->left[i] = malloc(j->left_n[i]);
    if (!j->left[i])
      stress_fail("thread %d: allocation failed", j->id);
    stress_fill(j->left[i], j->left_n[i], (uint64_t)i);
  }
  return NULL;
}

static void *detached(void *arg)
{
  (void)arg;
  char *p = malloc(100);
  char *q = strdup("detached");
  if (!p || !q)
    stress_fail("detached thread: allocation failed");
  free(p);
  free(q);
  atomic_fetch_add(&detached_done, 1);
  return NULL;
}

int main(int argc, char **argv)
{
  long total = argc > 1 ? atol(argv[1]) : 4000;
  static struct job jobs[2][WAVE];
  double t0 = stress_now();
  long started = 0, detached_started = 0;
  pthread_attr_t det;
  pthread_attr_init(&det);
  pthread_attr_setdetachstate(&det, PTHREAD_CREATE_DETACHED);
  for (int wave = 0; started < total; wave++) {
    struct job *cur = jobs[wave & 1], *prev = jobs[(wave + 1) & 1];
    pthread_t t[WAVE];
    for (int i = 0; i < WAVE; i++) {
      memset(&cur[i], 0, sizeof cur[i]);
      cur[i].id = (int)started + i;
      /* Hand half of what the previous wave left to this wave's threads. */
      for (int k = 0; k < LEFT / 2; k++) {
        cur[i].inherited[k] = prev[i].left[k];
        cur[i].inherited_n[k] = prev[i].left_n[k];
        prev[i].left[k] = NULL;
      }
      if (pthread_create(&t[i], NULL, run, &cur[i]))
        stress_fail("pthread_create after %ld threads: errno %d", started, errno);
    }
    pthread_t d;
    if (pthread_create(&d, &det, detached, NULL) == 0)
      detached_started++;
    for (int i = 0; i < WAVE; i++)
      pthread_join(t[i], NULL);
    started += WAVE;
    /* The other half of the previous wave's blocks: freed by main. */
    for (int i = 0; i < WAVE; i++)
      for (int k = LEFT / 2; k < LEFT; k++)
        if (prev[i].left[k]) {
          stress_verify(prev[i].left[k], prev[i].left_n[k], (uint64_t)k, "left behind");
          free(prev[i].left[k]);
          prev[i].left[k] = NULL;
        }
    if (wave % 64 == 63)
      stress_check_heap("heapguard_check_heap between waves");
  }
  for (int w = 0; w < 2; w++)
    for (int i = 0; i < WAVE; i++)
      for (int k = 0; k < LEFT; k++)
        free(jobs[w][i].left[k]);
  while (atomic_load(&detached_done) < detached_started)
    usleep(1000);
  stress_check_heap("final heapguard_check_heap");
  printf("thread churn ok: %ld joined and %ld detached threads, %.1f s\n", started,
         detached_started, stress_now() - t0);
  return 0;
}
