/*
 * init.h - start-up, on the first allocation or from the constructor,
 * whichever comes first; fork handling; the work done at exit.
 *
 * Start-up runs once. A thread that arrives while another is starting up
 * waits; the starting thread itself, if libc calls back into malloc, is
 * served from scratch memory. Only the entry points (malloc.c, cxx.c) call
 * hg_ensure_init.
 */
#ifndef HG_INIT_H
#define HG_INIT_H

#include <stdbool.h>

#include "runtime.h"

void hg_init_slow(void);

/* True once heapguard is ready; false only while this thread starts it up. */
static inline bool hg_ensure_init(void)
{
  if (__builtin_expect(!hg_ready, 0))
    hg_init_slow();
  return hg_ready;
}

#endif
