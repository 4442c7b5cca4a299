/* An overflow of a large block (a dedicated segment), caught at free. */
#include "bug.h"

NOINLINE static void overflow_big_buffer(void)
{
  size_t n = 3u << 20;
  char *p = opaque(malloc(n));
  p[n] = 1;
  free(p);
}

int main(void)
{
  overflow_big_buffer();
  return 0;
}
