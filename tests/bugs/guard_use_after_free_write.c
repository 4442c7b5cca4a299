/* A write into a freed block's data (beyond its free-list links): guard mode faults. */
#include "bug.h"

NOINLINE static void write_after_free(void)
{
  char *p = opaque(malloc(40));
  free(p);
  p[30] = 'x';
}

int main(void)
{
  write_after_free();
  return 0;
}
