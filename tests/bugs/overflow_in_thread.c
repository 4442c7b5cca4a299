/* An overflow made and found in a second thread; the report names that thread's function. */
#include <pthread.h>

#include "bug.h"

NOINLINE static void *worker_overflows(void *arg)
{
  (void)arg;
  char *p = opaque(malloc(77));
  p[77] = 0;
  free(p);
  return NULL;
}

int main(void)
{
  pthread_t t;
  pthread_create(&t, NULL, worker_overflows, NULL);
  pthread_join(t, NULL);
  return 0;
}
