/* Blocks never freed, from two places: leaks=1 reports both groups at exit. */
#include "bug.h"

NOINLINE static void leak_small(void)
{
  for (int i = 0; i < 10; i++)
    opaque(malloc(100));
}

NOINLINE static void leak_big(void)
{
  opaque(malloc(5000));
}

int main(void)
{
  leak_small();
  leak_big();
  return 0;
}
