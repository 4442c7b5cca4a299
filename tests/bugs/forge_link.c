/*
 * A free-list link forged from a leaked one: with the quarantine off,
 * freed blocks are at once free blocks whose first bytes hold mangled
 * links. From one leaked link whose target is known, the old XOR mask
 * gives every other link (forge.h): the head of a list is pointed at a
 * free header forged inside a live block, which links back, so that a
 * later malloc would hand out the live block's memory.
 */
#include "forge.h"

NOINLINE static void follow_forged_link(void)
{
  char *keep = opaque(malloc(64));
  char *x = opaque(malloc(64));
  char *fence1 = opaque(malloc(64));
  char *y = opaque(malloc(64));
  char *fence2 = opaque(malloc(64));
  char *c = opaque(malloc(1024));
  char *fence3 = opaque(malloc(64));
  free(x);
  free(y); /* y heads the list: y's next link names x, x's prev link names y */
  uintptr_t leaked;
  memcpy(&leaked, x + 8, sizeof leaked);
  uint8_t leak[FORGE_HEADER];
  memcpy(leak, x - FORGE_HEADER, sizeof leak);
  /* A free block of x's size inside c, linking back to y and on to nothing. */
  char *fake = c + 64;
  struct forge_fields fl = { .prev_size = 4, .size = 7, .state = FORGE_FREE };
  forge_header(fake, leak, x - FORGE_HEADER, &fl);
  uintptr_t links[2] = { forge_link(fake + 32, NULL, leaked, x + 8, y - FORGE_HEADER),
                         forge_link(fake + 40, y - FORGE_HEADER, leaked, x + 8,
                                    y - FORGE_HEADER) };
  memcpy(fake + 32, links, sizeof links);
  uintptr_t to_fake = forge_link(y, fake, leaked, x + 8, y - FORGE_HEADER);
  memcpy(opaque(y), &to_fake, sizeof to_fake);
  char *p = opaque(malloc(64));
  char *q = opaque(malloc(64));
  forge_succeeded(q == fake + 32 ? "malloc returned memory inside a live block"
                                 : "a forged link was followed");
  (void)keep, (void)fence1, (void)fence2, (void)fence3, (void)p;
}

int main(void)
{
  follow_forged_link();
  return 0;
}
