/*
 * The optional API of heapguard.h, in a program not linked against
 * libheapguard: HEAPGUARD_CHECK and HEAPGUARD_CHECK_HEAP find heapguard
 * when it is preloaded, and do nothing (HEAPGUARD_OK) when it is not.
 * (optional_api_cxx.cpp is the same program in C++.)
 */
#include <stdio.h>
#include <string.h>

#include "bug.h"
#include "heapguard.h"

static const char *class_name(enum heapguard_bug_class c)
{
  return c == HEAPGUARD_OK ? "ok" : c == HEAPGUARD_HEAP_BUFFER_OVERFLOW ? "overflow" : "other";
}

int main(void)
{
  char *p = (char *)opaque(malloc(24));
  clobber(p + 24);
  struct heapguard_finding f;
  memset(&f, 0, sizeof f);
  f.bug_class = HEAPGUARD_DOUBLE_FREE; /* to see it cleared */
  enum heapguard_bug_class one = HEAPGUARD_CHECK(p, &f);
  enum heapguard_bug_class heap = HEAPGUARD_CHECK_HEAP(NULL);
  printf("active=%d check=%s (%s) heap=%s\n", HEAPGUARD_ACTIVE(), class_name(one),
         f.what ? f.what : "none", class_name(heap));
  clobber(p + 24); /* flipped back: the block is sound again */
  free(p);
  return 0;
}
