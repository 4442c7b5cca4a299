/* free() of a global. */
#include "bug.h"

static char table[256];

NOINLINE static void free_global(void)
{
  free(opaque(table));
}

int main(void)
{
  free_global();
  return 0;
}
