/*
 * worker.c - one process of a test run: some heap work, clean. Given
 * "corrupt", it also writes "EVIL!!" past the end of a 40-byte block (into
 * the block's trailing canary, not its neighbour) and frees the block,
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

__attribute__((noinline)) static void overwrite_past_end(char *victim, size_t size)
{
  const char evil[] = "EVIL!!";
  char *p = opaque(victim);
  for (size_t i = 0; i < sizeof evil - 1; i++)
    p[size + i] = evil[i];
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
  char *victim = malloc(40);
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
