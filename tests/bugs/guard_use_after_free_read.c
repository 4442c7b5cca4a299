/* A read of a freed block: in guard mode its slot is PROT_NONE, so it faults. */
#include "bug.h"

static volatile char sink;

NOINLINE static void read_after_free(void)
{
  char *p = opaque(malloc(24));
  p[4] = 'x';
  free(p);
  sink = p[4];
}

int main(void)
{
  read_after_free();
  return 0;
}
