/*
 * Damage no free ever meets: only the heap check at exit can see it.
 * Usage: live_damage_at_exit [overflow[=SIZE]|underflow|large|all]
 *   overflow   one byte past the end of a block that is never freed, of
 *              SIZE bytes (24 by default)
 *   underflow  the header of a block that is never freed, from before it
 *   large      a freed 2 MiB block, written on the page of its header
 *   all        the three, and one more overflow: every one is reported
 *              with halt_on_error=0
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bug.h"

#define LARGE ((size_t)2 << 20)

static char *kept[8];

NOINLINE static void overflow_kept_block(int i, size_t size)
{
  kept[i] = opaque(malloc(size));
  clobber(kept[i] + size);
}

NOINLINE static void underflow_kept_block(int i)
{
  kept[i] = opaque(malloc(100));
  clobber(kept[i] - 3);
}

NOINLINE static void write_freed_large_block(void)
{
  char *p = opaque(malloc(LARGE));
  memset(p, 1, LARGE);
  free(p);
  clobber(opaque(p) + 8); /* on the page of its header: poisoned, not protected */
}

int main(int argc, char **argv)
{
  const char *what = argc > 1 ? argv[1] : "all";
  bool all = strcmp(what, "all") == 0;
  if (all || strncmp(what, "overflow", 8) == 0)
    overflow_kept_block(0, what[8] == '=' ? strtoul(what + 9, NULL, 10) : 24);
  if (all)
    kept[1] = opaque(malloc(40)); /* a sound block between two damaged ones */
  if (all || strcmp(what, "underflow") == 0)
    underflow_kept_block(2);
  if (all)
    overflow_kept_block(3, 24);
  if (all || strcmp(what, "large") == 0)
    write_freed_large_block();
  return 0;
}
