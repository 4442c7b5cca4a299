/*
 * realloc to a size that keeps the block's granules (100 bytes to 98 or
 * to 110 bytes), then a write one byte past the new end, found by free;
 * or a write past the old end before such a realloc, found by realloc.
 * Such a resize moves only the trailing canary and the requested size.
 * Argument: shrink, grow or before.
 */
#include <string.h>

#include "bug.h"

NOINLINE static void overflow_after_resize(size_t to)
{
  char *p = opaque(malloc(100));
  memset(p, 'a', 100);
  char *q = opaque(realloc(p, to));
  if (q != p || q[97] != 'a')
    abort(); /* same granules: resized in place, the data kept */
  clobber(q + to);
  free(q);
}

NOINLINE static void overflow_before_resize(void)
{
  char *p = opaque(malloc(100));
  clobber(p + 103);
  p = realloc(p, 105);
  free(p);
}

int main(int argc, char **argv)
{
  if (argc < 2)
    return 2;
  if (!strcmp(argv[1], "before"))
    overflow_before_resize();
  else
    overflow_after_resize(strcmp(argv[1], "shrink") ? 110 : 98);
  return 0;
}
