/*
 * The attack of the issue "Heap metadata that one leaked header does not
 * unlock": read one header and one block's slack, forge two headers inside
 * another block's data with the old tricks (forge.h), free the fake block.
 * heapguard must not take the fake header for a block: the pointer is
 * what it is, the middle of c.
 */
#include "forge.h"

NOINLINE static void free_forged_block(void)
{
  char *a = opaque(malloc(58));
  char *b = opaque(malloc(64));
  char *c = opaque(malloc(1024));
  uint8_t leak[FORGE_HEADER], slack[6];
  memcpy(leak, b - FORGE_HEADER, sizeof leak); /* b's header */
  memcpy(slack, a + 58, sizeof slack);         /* a's trailing canary */
  /* A used block of 8 granules at c + 64: 90 bytes requested, whose 6
   * bytes of slack sit where a's did modulo 8; then a used block after it. */
  struct forge_fields fake = { .prev_size = 4, .size = 8, .tail = 6, .state = FORGE_USED };
  forge_header(c + 64, leak, b - FORGE_HEADER, &fake);
  memcpy(c + 96 + 90, slack, sizeof slack);
  struct forge_fields next = { .prev_size = 8, .size = 8, .tail = 1, .state = FORGE_USED };
  forge_header(c + 192, leak, b - FORGE_HEADER, &next);
  free(c + 96);
  forge_succeeded("free(c + 96) of a block forged inside c");
}

int main(void)
{
  free_forged_block();
  return 0;
}
