/*
 * Misuses of a zero-size block, chosen by the argument: every read or
 * write through it faults at once, in every mode (zero.h), and its frees
 * are checked like any block's.
 */
#include <string.h>

#include "bug.h"

static volatile char sink;

NOINLINE static void read_zero_size(void)
{
  char *p = opaque(malloc(0));
  sink = *p;
}

NOINLINE static void write_zero_size(void)
{
  char *p = opaque(malloc(0));
  *p = 5;
}

NOINLINE static void read_zero_calloc(void)
{
  char *p = opaque(calloc(0, 8));
  sink = p[3];
}

NOINLINE static void write_zero_realloc(void)
{
  char *p = opaque(realloc(NULL, 0));
  memset(p, 0, 4);
}

NOINLINE static void read_after_free(void)
{
  char *p = opaque(malloc(0));
  free(p);
  sink = *p;
}

NOINLINE static void free_zero_size_twice(void)
{
  char *p = opaque(malloc(0));
  free(p);
  free(p);
}

NOINLINE static void free_past_start(void)
{
  char *p = opaque(malloc(0));
  free(p + 1);
}

/* 64 KiB past the first zero-size block: a slot no call has handed out. */
NOINLINE static void read_unused_slot(void)
{
  char *p = opaque(malloc(0));
  sink = p[65536];
}

NOINLINE static void free_unused_slot(void)
{
  char *p = opaque(malloc(0));
  free(p + 65536);
}

/*
 * A wild write into the slot table, which opens the page after the
 * segment's metadata (segments are 4 MiB aligned, metadata a page in):
 * its free-list head, the fourth word, now names no slot.
 */
NOINLINE static void smash_slot_table(void)
{
  char *p = opaque(malloc(0));
  free(p);
  uint32_t *table = (uint32_t *)(((uintptr_t)p & ~(uintptr_t)0x3fffff) + 2 * 4096);
  table[3] = 0x7fffffff;
  sink = *(volatile char *)opaque(malloc(0));
}

int main(int argc, char **argv)
{
  static const struct {
    const char *name;
    void (*bug)(void);
  } bugs[] = {
    { "read", read_zero_size },         { "write", write_zero_size },
    { "calloc", read_zero_calloc },     { "realloc", write_zero_realloc },
    { "after-free", read_after_free },  { "double-free", free_zero_size_twice },
    { "interior", free_past_start },    { "unused", read_unused_slot },
    { "free-unused", free_unused_slot }, { "table", smash_slot_table },
  };
  for (size_t i = 0; argc > 1 && i < sizeof bugs / sizeof *bugs; i++)
    if (strcmp(argv[1], bugs[i].name) == 0)
      bugs[i].bug();
  return 2;
}
