/*
 * A write into a block after it was freed, found when the block leaves
 * the quarantine: later frees push it out.
 */
#include "bug.h"

NOINLINE static char *allocate_and_free(void)
{
  char *p = opaque(malloc(40));
  free(p);
  return p;
}

NOINLINE static void churn_until_evicted(void)
{
  for (int i = 0; i < 4096; i++)
    free(opaque(malloc(4000)));
}

int main(void)
{
  char *stale = allocate_and_free();
  stale[5] = 1;
  churn_until_evicted();
  return 0;
}
