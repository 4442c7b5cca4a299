/*
 * A write after free into a guarded block that waits accessible in the
 * recycling ring (guard_recycle=1): found when its slot is reused, after
 * more than 256 later frees of its size class, or (with an argument) by
 * the heap check at exit, while it still waits.
 */
#include "bug.h"

NOINLINE static void write_after_free(void)
{
  char *p = opaque(malloc(40));
  free(p);
  p[30] = 'x';
}

NOINLINE static void churn(void)
{
  static char *blocks[300];
  for (int i = 0; i < 300; i++)
    blocks[i] = opaque(malloc(40));
  for (int i = 0; i < 300; i++)
    free(blocks[i]);
  free(opaque(malloc(40)));
}

int main(int argc, char **argv)
{
  (void)argv;
  write_after_free();
  if (argc < 2)
    churn();
  return 0;
}
