/*
 * A write into a block that has waited out its quarantine and is kept for
 * reuse by its thread's cache; the thread ends without taking it back, and
 * its cache, given back, finds the write.
 */
#include <pthread.h>

#include "bug.h"

/* Frees of another size push the block out of the quarantine. */
NOINLINE static void churn_until_evicted(void)
{
  for (int i = 0; i < 4096; i++)
    free(opaque(malloc(4000)));
}

NOINLINE static void *worker_writes_after_free(void *arg)
{
  (void)arg;
  char *p = opaque(malloc(40));
  free(p);
  churn_until_evicted();
  p[5] = 1;
  return NULL;
}

int main(void)
{
  pthread_t t;
  pthread_create(&t, NULL, worker_writes_after_free, NULL);
  pthread_join(t, NULL);
  return 0;
}
