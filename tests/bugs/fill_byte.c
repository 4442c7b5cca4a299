/*
 * malloc_fill_byte fills new blocks (and what realloc adds), as Electric
 * Fence's EF_FILL and DUMA's DUMA_FILL do; calloc's blocks stay zero.
 */
#include <stdio.h>

#include "bug.h"

/* The first and last byte of each, in hex. */
int main(void)
{
  unsigned char *m = opaque(malloc(40));
  unsigned char *big = opaque(malloc(2 << 20));
  unsigned char *c = opaque(calloc(5, 8));
  unsigned char *r = opaque(realloc(opaque(malloc(16)), 4000));
  printf("malloc %02x %02x large %02x %02x calloc %02x %02x realloc %02x %02x\n", m[0],
         m[39], big[0], big[(2 << 20) - 1], c[0], c[39], r[16], r[3999]);
  return 0;
}
