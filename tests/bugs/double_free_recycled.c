/*
 * A second free of a block that has waited out its quarantine and is
 * kept for reuse at its size by the thread's cache: the report names
 * where it waits and where it was first freed.
 */
#include "bug.h"

NOINLINE static void free_again(char *p)
{
  free(opaque(p));
}

int main(void)
{
  char *stale = allocate_and_free();
  churn_until_evicted();
  free_again(stale);
  return 0;
}
