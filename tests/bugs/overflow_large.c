/* An overflow of a large block (a dedicated segment), caught at free. */
#include "bug.h"

NOINLINE static void overflow_big_buffer(void)
{
  size_t n = 3u << 20;
  char *p = opaque(malloc(n));
  clobber(p + n);
  free(p);
}

int main(void)
{
  overflow_big_buffer();
  return 0;
}
