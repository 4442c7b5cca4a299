/*
 * A 1-byte overflow of a block of the size given on the command line:
 * the table in test_detect.c runs it from 0 bytes to several MiB, across
 * the small/large boundary and at odd sizes.
 */
#include "bug.h"

NOINLINE static void overflow_by_one(size_t n)
{
  char *p = opaque(malloc(n));
  for (size_t i = 0; i < n; i++)
    p[i] = (char)i;
  clobber(p + n);
  free(p);
}

int main(int argc, char **argv)
{
  if (argc < 2)
    return 2;
  overflow_by_one(strtoul(argv[1], NULL, 0));
  return 0;
}
