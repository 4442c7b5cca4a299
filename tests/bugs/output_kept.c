/*
 * Prints to stdout and to a file (argv[2]) through stdio, never flushing
 * either, around a bug (argv[1]: "double-free", "leak" or "overflow").
 * Whatever heapguard does after the bug, what was printed must arrive.
 */
#include <stdio.h>
#include <string.h>

#include "bug.h"

void output_lib_linked(void);

NOINLINE static void overflow(void)
{
  char *p = opaque(malloc(13));
  clobber(p + 13);
  free(p);
}

NOINLINE static void leak(void)
{
  opaque(malloc(13));
}

NOINLINE static void make_bug(const char *bug)
{
  if (strcmp(bug, "double-free") == 0)
    free_twice();
  else if (strcmp(bug, "overflow") == 0)
    overflow();
  else if (strcmp(bug, "leak") == 0)
    leak();
}

int main(int argc, char **argv)
{
  output_lib_linked();
  FILE *f = fopen(argc > 2 ? argv[2] : "/dev/null", "w");
  printf("program output before the bug\n");
  fprintf(f, "file output before the bug\n");
  make_bug(argc > 1 ? argv[1] : "");
  printf("program output after the bug\n");
  fprintf(f, "file output after the bug\n");
  return 0;
}
