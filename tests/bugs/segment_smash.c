/*
 * Segment metadata overwritten. A plain write faults on the read-only
 * metadata page; a program that first makes the page writable again gets
 * past that, and the next check of the whole heap finds the checksum wrong.
 * Usage: segment_smash [write|unprotect]
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "bug.h"

/* Shared segments are 4 MiB aligned; metadata opens their second page. */
static uint64_t *metadata_of(const void *p)
{
  return (uint64_t *)(((uintptr_t)p & ~(uintptr_t)0x3fffff) + 4096);
}

NOINLINE static void smash_segment(void)
{
  char *p = opaque(malloc(64));
  metadata_of(p)[3] ^= 0x10;
  free(p);
}

NOINLINE static void smash_unprotected_segment(void)
{
  char *p = opaque(malloc(64));
  uint64_t *meta = metadata_of(p);
  mprotect(meta, 4096, PROT_READ | PROT_WRITE);
  meta[3] ^= 0x10;
  free(p);
}

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "unprotect") == 0)
    smash_unprotected_segment();
  else
    smash_segment();
  return 0;
}
