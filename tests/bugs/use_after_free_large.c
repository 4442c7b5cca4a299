/*
 * An access to a freed large block: its data pages are inaccessible while
 * its segment waits for reuse, so the access itself faults.
 * Usage: use_after_free_large [write|read]
 */
#include <string.h>

#include "bug.h"

#define LARGE ((size_t)2 << 20)

NOINLINE static void touch_after_free(int write)
{
  char *p = opaque(malloc(LARGE));
  memset(p, 1, LARGE);
  free(p);
  p = opaque(p);
  if (write)
    p[LARGE / 2] = 2;
  else
    *(volatile char *)(p + LARGE - 1);
}

int main(int argc, char **argv)
{
  touch_after_free(argc < 2 || strcmp(argv[1], "read") != 0);
  return 0;
}
