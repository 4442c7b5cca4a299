/* A write after free in a program too short to evict it: check_on_exit finds it. */
#include "bug.h"

NOINLINE static void write_after_free(void)
{
  long *p = opaque(malloc(64));
  free(p);
  p[3] = 42;
}

int main(void)
{
  write_after_free();
  return 0;
}
