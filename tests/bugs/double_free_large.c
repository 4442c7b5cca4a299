/* A large block (dedicated segment) freed twice. */
#include "bug.h"

NOINLINE static void free_large_twice(void)
{
  char *p = opaque(malloc(2u << 20));
  free(p);
  free(opaque(p));
}

int main(void)
{
  free_large_twice();
  return 0;
}
