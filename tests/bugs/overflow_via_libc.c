/*
 * An overflowed buffer handed to getline(), which grows it with realloc:
 * the report's top frame is libc's, and SUMMARY names the program's
 * function that called it.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "bug.h"

NOINLINE static void read_long_line(void)
{
  size_t cap = 16;
  char *line = opaque(malloc(cap));
  clobber(line + cap);
  FILE *f = fmemopen("a line much longer than sixteen bytes\n", 38, "r");
  getline(&line, &cap, f);
  fclose(f);
  free(line);
}

int main(void)
{
  read_long_line();
  return 0;
}
