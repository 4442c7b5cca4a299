/* A write one byte before a block: with guard_underflow=1 it hits the guard page. */
#include "bug.h"

NOINLINE static void write_before_start(void)
{
  char *p = opaque(malloc(24));
  p[-1] = 0x55;
  free(p);
}

int main(void)
{
  write_before_start();
  return 0;
}
