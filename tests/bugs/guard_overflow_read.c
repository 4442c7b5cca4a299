/*
 * A 1-byte read past the end of a 16-byte block: no canary can see a read,
 * so only guard mode (guard_mode=all) catches it, at the read itself.
 */
#include "bug.h"

static volatile char sink;

NOINLINE static void read_one_past_end(void)
{
  char *p = opaque(malloc(16));
  sink = p[16];
  free(p);
}

int main(void)
{
  read_one_past_end();
  return 0;
}
