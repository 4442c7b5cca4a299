/*
 * A write into a block that has waited out its quarantine and is kept for
 * reuse at its size, found when an allocation of that size takes it back.
 */
#include "bug.h"

NOINLINE static void allocate_same_size(void)
{
  free(opaque(malloc(40)));
}

int main(void)
{
  char *stale = allocate_and_free();
  churn_until_evicted();
  stale[5] = 1;
  allocate_same_size();
  return 0;
}
