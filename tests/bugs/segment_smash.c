/* Segment metadata overwritten: the next free checks the segment first. */
#include <stdint.h>

#include "bug.h"

NOINLINE static void smash_segment(void)
{
  char *p = opaque(malloc(64));
  /* Shared segments are 4 MiB aligned; metadata opens their second page. */
  uint64_t *meta = (uint64_t *)(((uintptr_t)p & ~(uintptr_t)0x3fffff) + 4096);
  meta[3] ^= 0x10;
  free(p);
}

int main(void)
{
  smash_segment();
  return 0;
}
