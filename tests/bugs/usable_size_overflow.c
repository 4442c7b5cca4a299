/* malloc_usable_size validates the block too. */
#include <malloc.h>

#include "bug.h"

NOINLINE static size_t measure_damaged(void)
{
  char *p = opaque(malloc(10));
  clobber(p + 12);
  return malloc_usable_size(p);
}

int main(void)
{
  return (int)measure_damaged();
}
