/*
 * Eight threads allocate, hand blocks to each other through a shared
 * table, and free what others allocated; the heap must stay sound.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heapguard.h"

#define THREADS 8
#define SLOTS 4096
#define ROUNDS 200000

static _Atomic(char *) slots[SLOTS];

static void *worker(void *arg)
{
  uint64_t x = (uintptr_t)arg * 2654435761u + 1;
  for (int i = 0; i < ROUNDS; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    size_t n = (x >> 8) % 600 + 1;
    if ((x & 0xff) == 0)
      n = (x >> 16) % (300 << 10) + 1;
    char *p = malloc(n);
    memset(p, (int)n, n);
    char *old = atomic_exchange_explicit(&slots[x % SLOTS], p, memory_order_acq_rel);
    if (old && (x & 3) == 0)
      old = realloc(old, (x >> 20) % 900 + 1);
    free(old);
  }
  return NULL;
}

int main(void)
{
  pthread_t t[THREADS];
  for (uintptr_t i = 0; i < THREADS; i++)
    pthread_create(&t[i], NULL, worker, (void *)(i + 1));
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  if (heapguard_check_heap(NULL) != HEAPGUARD_OK)
    return 1;
  for (int i = 0; i < SLOTS; i++)
    free(slots[i]);
  puts("threads ok");
  return 0;
}
