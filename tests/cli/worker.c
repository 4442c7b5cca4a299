/*
 * worker.c - one process of a test run: some heap work, clean. Given
 * "corrupt", it also writes "EVIL!!" past the end of a 40-byte block (into
 * the block's trailing canary, not its neighbour; a block whose canary
 * differs at each of those bytes) and frees the block,
 * after printing the block's address for the test to compare.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *opaque(void *p)
{
  __asm__ volatile("" : "+r"(p) : : "memory");
  return p;
}

static const char evil[] = "EVIL!!";

__attribute__((noinline)) static void overwrite_past_end(char *victim, size_t size)
{
  char *p = opaque(victim);
  for (size_t i = 0; i < sizeof evil - 1; i++)
    p[size + i] = evil[i];
}

/*
 * A block of size bytes whose trailing canary differs from "EVIL!!" at
 * every byte the overwrite reaches: the keyed canary matches a fixed byte
 * 1 time in 256, and the damage the test expects would then be a byte
 * short. A block refused stays allocated, so the next has another address
 * and another canary.
 */
static char *victim_unlike_evil(size_t size)
{
  for (;;) {
    volatile char *v = opaque(malloc(size));
    int same = 0;
    for (size_t i = 0; i < sizeof evil - 1; i++)
      same |= v[size + i] == evil[i];
    if (!same)
      return (char *)v;
  }
}

int main(int argc, char **argv)
{
  int corrupt = argc > 1 && strcmp(argv[1], "corrupt") == 0;
  char *keep[100];
  for (int i = 0; i < 100; i++) {
    keep[i] = malloc(16 + (size_t)i * 24);
    memset(keep[i], i, 16 + (size_t)i * 24);
  }
  for (int i = 0; i < 100; i += 2)
    free(keep[i]);
  char *victim = corrupt ? victim_unlike_evil(40) : malloc(40);
  memset(victim, 'v', 40);
  if (corrupt) {
    printf("victim %p\n", (void *)victim);
    fflush(stdout);
    overwrite_past_end(victim, 40);
  }
  free(victim);
  for (int i = 1; i < 100; i += 2)
    free(keep[i]);
  return 0;
}
