/* A write just before a block's data smashes its own header. */
#include "bug.h"

NOINLINE static void write_before_start(void)
{
  char *p = opaque(malloc(24));
  clobber(p - 2);
  free(p);
}

int main(void)
{
  write_before_start();
  return 0;
}
