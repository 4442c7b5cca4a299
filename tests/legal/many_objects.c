/* A million live objects of mixed sizes, then freed in a shuffled order. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "heapguard.h"

#define COUNT 1000000

int main(void)
{
  char **p = malloc(COUNT * sizeof *p);
  for (size_t i = 0; i < COUNT; i++) {
    p[i] = malloc(i % 97 + 1);
    p[i][0] = (char)i;
  }
  uint64_t x = 88172645463325252ull;
  for (size_t i = COUNT - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    size_t j = x % (i + 1);
    char *t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  for (size_t i = 0; i < COUNT; i++)
    free(p[i]);
  free(p);
  if (heapguard_check_heap(NULL) != HEAPGUARD_OK)
    return 1;
  puts("many objects ok");
  return 0;
}
