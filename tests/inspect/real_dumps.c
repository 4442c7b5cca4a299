/*
 * real_dumps.c - dumps written by the library itself, of each kind of
 * segment, for the inspector's tests. The synthetic dumps of gen_dump.c
 * follow the layout as the tests' author read it; these follow it as the
 * library writes it today, so that the two cannot drift apart unseen.
 *
 *   real-dumps shared|large|large-free|guard
 *
 * Run with HEAPGUARD_OPTIONS=dump_dir=DIR (and guard_mode=all for guard);
 * prints the dump's path. Linked against libheapguard, so that its malloc
 * is heapguard's.
 *
 *   shared      a shared segment: blocks in use, one freed into the quarantine
 *   large       a dedicated segment, its block in use
 *   large-free  the same, its block freed: the segment waits in the cache
 *   guard       a guard segment: slots in use and in quarantine
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heapguard.h"

#define LARGE ((size_t)3 << 20)

static int dump(const void *p)
{
  char path[4096];
  if (heapguard_dump(p, path, sizeof path) != 0) {
    perror("heapguard_dump");
    return 1;
  }
  puts(path);
  return 0;
}

int main(int argc, char **argv)
{
  const char *kind = argc == 2 ? argv[1] : "";
  if (!heapguard_active()) {
    fprintf(stderr, "real-dumps: heapguard is not the allocator\n");
    return 2;
  }
  if (strcmp(kind, "shared") == 0) {
    char *a = malloc(100), *b = malloc(200), *c = malloc(50);
    memset(b, 'b', 200);
    free(b);
    int rc = dump(a);
    free(a);
    free(c);
    return rc;
  }
  if (strcmp(kind, "large") == 0 || strcmp(kind, "large-free") == 0) {
    char *p = malloc(LARGE);
    memset(p, 'x', LARGE);
    if (strcmp(kind, "large-free") == 0)
      free(p);
    return dump(p);
  }
  if (strcmp(kind, "guard") == 0) {
    char *p[6];
    for (int i = 0; i < 6; i++)
      p[i] = malloc(100 * (size_t)(i + 1));
    free(p[1]);
    free(p[3]);
    return dump(p[0]);
  }
  fprintf(stderr, "usage: real-dumps shared|large|large-free|guard\n");
  return 2;
}
