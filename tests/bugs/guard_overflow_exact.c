/*
 * A 1-byte read or write just past the end of a block of the size given
 * (guard_overflow_exact read=SIZE or write=SIZE). With guard_alignment=1 every
 * block ends at its guard page, so the access faults whatever the size;
 * with malloc's 16-byte alignment it lands in the slack before the guard
 * page unless the size is a multiple of 16.
 */
#include <string.h>

#include "bug.h"

static volatile char sink;

NOINLINE static void read_past_end(size_t n)
{
  char *p = opaque(malloc(n));
  memset(p, 1, n);
  sink = p[n];
  free(p);
}

NOINLINE static void write_past_end(size_t n)
{
  char *p = opaque(malloc(n));
  memset(p, 1, n);
  p[n] = 0;
  free(p);
}

int main(int argc, char **argv)
{
  const char *size = argc > 1 ? strchr(argv[1], '=') : NULL;
  if (!size)
    return 2;
  size_t n = strtoul(size + 1, NULL, 0);
  if (strncmp(argv[1], "read=", 5) == 0)
    read_past_end(n);
  else
    write_past_end(n);
  return 0;
}
