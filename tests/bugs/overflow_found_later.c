/*
 * An overflow into a block that is never freed: a periodic heap check
 * (check_every) finds it long before exit.
 */
#include "bug.h"

NOINLINE static char *damage_and_keep(void)
{
  char *p = opaque(malloc(30));
  clobber(p + 31);
  return p;
}

NOINLINE static void keep_allocating(void)
{
  for (int i = 0; i < 100; i++)
    free(opaque(malloc(10)));
}

int main(void)
{
  char *kept = damage_and_keep();
  keep_allocating();
  free(kept);
  return 0;
}
