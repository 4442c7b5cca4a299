/*
 * A write into a block that has waited out its quarantine and is kept for
 * reuse by its thread's cache; the thread ends without taking it back, and
 * its cache, given back, finds the write.
 */
#include <pthread.h>

#include "bug.h"

NOINLINE static void *worker_writes_after_free(void *arg)
{
  (void)arg;
  char *stale = allocate_and_free();
  churn_until_evicted();
  stale[5] = 1;
  return NULL;
}

int main(void)
{
  pthread_t t;
  pthread_create(&t, NULL, worker_writes_after_free, NULL);
  pthread_join(t, NULL);
  return 0;
}
