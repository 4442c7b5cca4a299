/*
 * A write into a freed block that has become part of the free space at
 * the end of its segment (the arena's top, which is in no free list):
 * with the quarantine off, the block merges into it at once and the write
 * lands on the top's links; the next allocation carved from the top
 * finds the damage instead of following them.
 */
#include <string.h>

#include "bug.h"

NOINLINE static void write_after_free_into_top(void)
{
  /* Larger than any block freed before main: carved from the top. */
  char *p = opaque(malloc(200000));
  free(p);
  memset(opaque(p), 0x41, 16);
  void *q = malloc(200000);
  free(q);
}

int main(void)
{
  write_after_free_into_top();
  return 0;
}
