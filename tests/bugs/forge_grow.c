/*
 * A block's own header rewritten from what was read of it: its size grown
 * to swallow the block after it, tags predicted with the old tricks
 * (forge.h), and the prev link of the block after that made to agree. A
 * free of the grown block would hand out memory that overlaps a live one.
 * With the argument "plant" the program only leaves the forgery in place,
 * for the heap check at exit to find.
 */
#include "forge.h"

NOINLINE static void grow_over_neighbour(int plant)
{
  char *a = opaque(malloc(58));
  char *b = opaque(malloc(2015)); /* 128 granules, 1 byte of slack */
  char *c = opaque(malloc(2015));
  char *d = opaque(malloc(2015));
  uint8_t leak[FORGE_HEADER];
  memcpy(leak, b - FORGE_HEADER, sizeof leak);
  /* b becomes 256 granules with 1 byte of slack: its canary byte is
   * where c's is, at the same address modulo 8. */
  struct forge_fields grown = { .prev_size = forge_get32(leak, forge_is_v1(leak) ? 12 : 0),
                                .size = 256, .tail = 1, .state = FORGE_USED };
  forge_header(b - FORGE_HEADER, leak, b - FORGE_HEADER, &grown);
  forge_prev_size(d - FORGE_HEADER, 256);
  if (plant)
    return;
  free(b);
  char *e = opaque(malloc(4063)); /* what b and c were, if b comes back whole */
  forge_succeeded(e == b ? "free(b) took c with it, and malloc handed both out again"
                         : "free(b) of a header grown over c");
  (void)a;
  (void)c;
}

int main(int argc, char **argv)
{
  grow_over_neighbour(argc > 1 && !strcmp(argv[1], "plant"));
  return 0;
}
