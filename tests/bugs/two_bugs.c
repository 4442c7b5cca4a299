/* Two distinct bugs, both reported when halt_on_error=0 lets the run go on. */
#include "bug.h"

NOINLINE static void first_bug_double_free(void)
{
  char *p = opaque(malloc(32));
  free(p);
  free(opaque(p));
}

NOINLINE static void second_bug_overflow(void)
{
  char *p = opaque(malloc(20));
  clobber(p + 20);
  free(p);
}

int main(void)
{
  first_bug_double_free();
  second_bug_overflow();
  second_bug_overflow();
  return 0;
}
