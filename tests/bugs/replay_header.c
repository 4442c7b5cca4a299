/*
 * A header replayed where it once was valid: the program reads block x's
 * header, the header of the block after it (whose prev link names x) and
 * x's canary byte while x is in use; after x and its neighbours were freed
 * and merged, and a bigger block u reuses their memory, it writes them
 * back inside u and frees x. Every tag holds (same address, same fields): only where the
 * header lies tells that x is now the middle of u. Run with a tiny
 * quarantine, so that freed blocks are merged at once.
 */
#include "forge.h"

#define BLOCK 2015 /* 128 granules, 1 byte of slack: too big for thread caches */

NOINLINE static void free_replayed_header(void)
{
  char *w = opaque(malloc(2 * 2048 - 33));
  char *x = opaque(malloc(BLOCK));
  char *y = opaque(malloc(BLOCK));
  char *fence = opaque(malloc(BLOCK));
  uint8_t header[FORGE_HEADER], next[FORGE_HEADER], canary;
  memcpy(header, x - FORGE_HEADER, sizeof header);
  memcpy(next, y - FORGE_HEADER, sizeof next);
  canary = (uint8_t)x[BLOCK];
  char *small[64];
  for (int i = 0; i < 64; i++)
    small[i] = opaque(malloc(16));
  free(w);
  free(x);
  free(y);
  /* Enough frees to push w, x and y out of the quarantine, into the arena. */
  for (int i = 0; i < 64; i++)
    free(small[i]);
  char *u = opaque(malloc(4 * 2048 - 33)); /* w, x and y merged: a bin's lower bound */
  if (u != w) {
    printf("layout: u %p, w %p\n", (void *)u, (void *)w);
    exit(3);
  }
  memcpy(x - FORGE_HEADER, header, sizeof header);
  memcpy(y - FORGE_HEADER, next, sizeof next);
  x[BLOCK] = (char)canary;
  free(x);
  forge_succeeded("free of a header replayed inside a live block");
  (void)fence;
}

int main(void)
{
  free_replayed_header();
  return 0;
}
