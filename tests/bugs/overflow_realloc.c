/* An overflow found by realloc, which validates the block like free. */
#include "bug.h"

NOINLINE static void grow_after_overflow(void)
{
  char *p = opaque(malloc(100));
  clobber(p + 103);
  p = realloc(p, 5000);
  free(p);
}

int main(void)
{
  grow_after_overflow();
  return 0;
}
