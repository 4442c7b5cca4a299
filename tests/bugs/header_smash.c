/*
 * The next block's header overwritten with plausible values: a copy of a
 * sound header from elsewhere, as a heap exploit would forge it. Freeing
 * the block before it checks its next link and finds the forgery.
 */
#include <string.h>

#include "bug.h"

NOINLINE static void forge_next_header(void)
{
  char *a = opaque(malloc(48));
  char *b = opaque(malloc(48));
  char *c = opaque(malloc(48));
  memcpy(b - 32, c - 32, 32); /* c's header, valid for c's address only */
  free(a);
}

int main(void)
{
  forge_next_header();
  return 0;
}
