/*
 * flush.c - writing out the program's stdio buffers when heapguard ends it.
 */
#define _GNU_SOURCE
#include "flush.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "segment.h"

static void flush_stream(FILE *f)
{
  /* A FILE that fopen put in the heap may be what the bug damaged. */
  if (!f || hg_segment_lookup((uintptr_t)f) || ftrylockfile(f) != 0)
    return;
  fflush_unlocked(f);
  funlockfile(f);
}

void hg_flush_before_death(void)
{
  /* The process ends next: a closed pipe must not kill it first. */
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, NULL);
  flush_stream(stdout);
  flush_stream(stderr);
}

static int final_status;

/*
 * Registered while exit() runs the destructors, so called after all of
 * them. glibc lets an exit handler call exit() again: the handlers left
 * (none) run, stdio is written out as at any exit, and the process ends
 * with the last status given.
 */
static void exit_with_final_status(void)
{
  exit(final_status);
}

void hg_exit_status_at_end(int status)
{
  final_status = status;
  if (atexit(exit_with_final_status) != 0)
    exit(status);
}
