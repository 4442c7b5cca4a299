/*
 * An access to a freed large block: its data pages are inaccessible while
 * its segment waits for reuse, so the access itself faults. The bytes of
 * its first page, which it shares with the header, stay accessible and
 * poisoned: a write there is found when the segment is reused ("head"),
 * or by the heap check at exit ("head_at_exit").
 * Usage: use_after_free_large [write|read|head|head_at_exit]
 */
#include <string.h>

#include "bug.h"

#define LARGE ((size_t)2 << 20)

NOINLINE static void touch_after_free(int write)
{
  char *p = opaque(malloc(LARGE));
  memset(p, 1, LARGE);
  free(p);
  p = opaque(p);
  if (write)
    p[LARGE / 2] = 2;
  else
    *(volatile char *)(p + LARGE - 1);
}

/* Not a whole number of pages: the data starts inside the header's page. */
NOINLINE static void write_head_after_free(void)
{
  char *p = opaque(malloc(LARGE + 100));
  free(p);
  p = opaque(p);
  p[16] = 2;
}

NOINLINE static void allocate_large_again(void)
{
  free(opaque(malloc(LARGE + 100)));
}

int main(int argc, char **argv)
{
  if (argc > 1 && strncmp(argv[1], "head", 4) == 0) {
    write_head_after_free();
    if (strcmp(argv[1], "head") == 0)
      allocate_large_again();
    return 0;
  }
  touch_after_free(argc < 2 || strcmp(argv[1], "read") != 0);
  return 0;
}
