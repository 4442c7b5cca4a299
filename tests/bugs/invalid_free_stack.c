/* free() of a stack address. */
#include "bug.h"

NOINLINE static void free_stack(void)
{
  char buf[64];
  free(opaque(buf));
}

int main(void)
{
  free_stack();
  return 0;
}
