/* A 1-byte overflow of a 13-byte block: the trailing canary catches it at free. */
#include "bug.h"

NOINLINE static void write_one_past_end(void)
{
  char *p = opaque(malloc(13));
  for (int i = 0; i < 13; i++)
    p[i] = 'A';
  clobber(p + 13);
  free(p);
}

int main(void)
{
  write_one_past_end();
  return 0;
}
