/*
 * bug.h - helpers for the bug programs: keep the compiler from removing
 * or reordering the buggy accesses it can prove are undefined.
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

#endif
