/*
 * A write into a block after it was freed, found when the block leaves
 * the quarantine: later frees push it out.
 */
#include "bug.h"

int main(void)
{
  char *stale = allocate_and_free();
  stale[5] = 1;
  churn_until_evicted();
  return 0;
}
