/*
 * An overflow that writes, over the slack of its block, the trailing
 * canary read from another block's slack: one pattern for every block
 * (the old format) would let it through.
 */
#include "forge.h"

NOINLINE static void overflow_with_leaked_canary(void)
{
  char *a = opaque(malloc(58));
  char *d = opaque(malloc(58));
  char *fence = opaque(malloc(58));
  memcpy(opaque(d + 58), a + 58, 6); /* 6 bytes past d's end: a's canary */
  free(d);
  forge_succeeded("an overflow of 6 bytes past a 58-byte block, with another block's canary");
  (void)fence;
}

int main(void)
{
  overflow_with_leaked_canary();
  return 0;
}
