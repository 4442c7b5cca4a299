/* free() of a pointer into the middle of a block. */
#include "bug.h"

NOINLINE static void free_interior(void)
{
  char *p = opaque(malloc(100));
  free(opaque(p + 24));
}

int main(void)
{
  free_interior();
  return 0;
}
