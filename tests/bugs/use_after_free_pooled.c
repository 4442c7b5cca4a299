/*
 * A write into a block that waited out its quarantine when the thread's
 * cache had no room left for its size: it waits in its arena's pool, and
 * is found when an allocation of that size takes it back.
 */
#include "bug.h"

enum { BLOCKS = 120000, SIZE = 48 };
static char *blocks[BLOCKS];

NOINLINE static void allocate_all(void)
{
  for (int i = 0; i < BLOCKS; i++)
    blocks[i] = opaque(malloc(SIZE));
}

NOINLINE static void free_all(void)
{
  for (int i = 0; i < BLOCKS; i++)
    free(blocks[i]);
}

NOINLINE static void allocate_again(void)
{
  for (int i = 0; i < BLOCKS; i++)
    blocks[i] = opaque(malloc(SIZE));
}

int main(void)
{
  allocate_all();
  free_all();
  blocks[BLOCKS / 4][5] = 1;
  allocate_again();
  return 0;
}
