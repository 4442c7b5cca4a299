/*
 * Leaks from one call site reached through two callers whose frames are
 * the same size, so that the site and its stack pointer are the same on
 * both paths and only the third frame tells them apart: leaks=1 must
 * report two groups, one per caller. Alternating the paths many times
 * exercises the per-thread memo of unwound call sites (stackmemo.c).
 */
#include "bug.h"

#define ROUNDS 1000

NOINLINE static void *allocate(void)
{
  return opaque(malloc(16));
}

NOINLINE static void *middle(void)
{
  return opaque(allocate());
}

NOINLINE static void *via_first(void)
{
  return opaque(middle());
}

NOINLINE static void *via_second(void)
{
  return opaque(middle());
}

int main(void)
{
  for (int i = 0; i < ROUNDS; i++) {
    via_first();
    via_second();
  }
  return 0;
}
