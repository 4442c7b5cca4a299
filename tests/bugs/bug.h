/*
 * bug.h - helpers for the bug programs: keep the compiler from removing
 * or reordering the buggy accesses it can prove are undefined, and make a
 * freed block wait out the quarantine.
 */
#ifndef HG_TEST_BUG_H
#define HG_TEST_BUG_H

#include <stdint.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

/* Launder a pointer so the optimiser cannot see where it came from. */
static inline void *opaque(void *p)
{
  __asm__ volatile("" : "+r"(p) : : "memory");
  return p;
}

/*
 * Overwrite the byte at p with a value it does not hold. A fixed value
 * would match heapguard's keyed canary byte 1 time in 255, and the test
 * would then miss the overflow it is about.
 */
static inline void clobber(char *p)
{
  *(volatile char *)p = (char)~*(volatile char *)p;
}

/* A 40-byte block, allocated and freed: the dangling pointer. */
static NOINLINE __attribute__((unused)) char *allocate_and_free(void)
{
  char *p = (char *)opaque(malloc(40));
  uintptr_t dangling = (uintptr_t)p; /* kept as a number: the compiler sees no use after free */
  free(p);
  return (char *)dangling;
}

/* A 40-byte block freed twice, the second free the bug. */
static NOINLINE __attribute__((unused)) void free_twice(void)
{
  char *p = (char *)opaque(malloc(40));
  uintptr_t dangling = (uintptr_t)p; /* kept as a number: the compiler sees no use after free */
  free(p);
  free(opaque((void *)dangling));
}

/*
 * Frees of blocks of another size, 16 MiB of them, push the blocks freed
 * before them out of the default 4 MiB quarantine.
 */
static NOINLINE __attribute__((unused)) void churn_until_evicted(void)
{
  for (int i = 0; i < 4096; i++)
    free(opaque(malloc(4000)));
}

#endif
