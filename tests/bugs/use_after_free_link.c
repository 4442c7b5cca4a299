/*
 * A write into a freed block overwrites its free-list links; the next
 * allocation that would follow them finds the damage instead.
 */
#include <string.h>

#include "bug.h"

NOINLINE static void write_after_free(void)
{
  char *keep = opaque(malloc(64));
  char *p = opaque(malloc(64));
  char *fence = opaque(malloc(64));
  free(p);
  memset(opaque(p), 0x41, 16);
  void *q = malloc(64);
  free(q);
  free(keep);
  free(fence);
}

int main(void)
{
  write_after_free();
  return 0;
}
