/*
 * A negative size passed to malloc and calloc: as size_t it is huge. With
 * max_allocation set, heapguard reports it; without, the call fails with
 * ENOMEM as glibc's does, and the program goes on.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bug.h"

NOINLINE static void *allocate_negative(int how_many)
{
  size_t size = (size_t)(how_many - 10); /* -5: a length computed wrongly */
  return malloc(size);
}

NOINLINE static void *allocate_overflowing(size_t count)
{
  return calloc(count, 8);
}

int main(int argc, char **argv)
{
  bool use_calloc = argc > 1 && strcmp(argv[1], "calloc") == 0;
  errno = 0;
  void *p = use_calloc ? allocate_overflowing((size_t)1 << 62) : allocate_negative(5);
  printf("%s: %s, errno %s\n", use_calloc ? "calloc" : "malloc", p ? "a block" : "NULL",
         errno == ENOMEM ? "ENOMEM" : "other");
  return 0;
}
