/* A second free of a block that the first free merged into its neighbour. */
#include "bug.h"

NOINLINE static void free_merged_twice(void)
{
  char *a = opaque(malloc(64));
  char *b = opaque(malloc(64));
  char *keep = opaque(malloc(64));
  free(a);
  free(b); /* merges into a */
  free(opaque(b));
  free(keep);
}

int main(void)
{
  free_merged_twice();
  return 0;
}
