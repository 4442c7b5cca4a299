/* A block freed twice. */
#include "bug.h"

NOINLINE static void free_twice(void)
{
  char *p = opaque(malloc(40));
  free(p);
  free(opaque(p));
}

int main(void)
{
  free_twice();
  return 0;
}
