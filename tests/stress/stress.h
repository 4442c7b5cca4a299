/*
 * stress.h - small helpers shared by the stress and fault programs.
 *
 * The programs run under LD_PRELOAD=libheapguard.so from test_stress.c.
 * A program says what went wrong on stderr with the prefix "stress:" and
 * exits nonzero; it never prints the word the runner looks for in reports.
 */
#ifndef HG_STRESS_H
#define HG_STRESS_H

#define _GNU_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "heapguard.h"

static inline __attribute__((format(printf, 1, 2), noreturn)) void
stress_fail(const char *fmt, ...)
{
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0)
    n = 0;
  if ((size_t)n > sizeof buf - 2)
    n = sizeof buf - 2;
  buf[n++] = '\n';
  (void)!write(2, "stress: ", 8);
  (void)!write(2, buf, (size_t)n);
  _exit(2);
}

/* xorshift64*: deterministic per thread, no locks, no allocation. */
static inline uint64_t stress_rand(uint64_t *s)
{
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545f4914f6cdd1dull;
}

static inline double stress_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Blocks carry a tag in their first and last (up to) 64 bytes so that a
 * block handed between threads, moved by realloc or served twice is
 * noticed. Filling whole 2 MiB blocks on every operation would make the
 * test measure memset.
 */
static inline uint8_t stress_tag_byte(uint64_t tag, size_t i)
{
  return (uint8_t)(tag >> ((i & 7) * 8)) ^ (uint8_t)i;
}

static inline void stress_fill(void *p, size_t n, uint64_t tag)
{
  uint8_t *b = p;
  size_t head = n < 64 ? n : 64;
  for (size_t i = 0; i < head; i++)
    b[i] = stress_tag_byte(tag, i);
  for (size_t i = n > 64 ? n - 64 : head; i < n; i++)
    b[i] = stress_tag_byte(tag, i);
}

/* Verify the first min(n, 64) and last 64 bytes written by stress_fill. */
static inline void stress_verify(const void *p, size_t n, uint64_t tag, const char *what)
{
  const uint8_t *b = p;
  size_t head = n < 64 ? n : 64;
  for (size_t i = 0; i < head; i++)
    if (b[i] != stress_tag_byte(tag, i))
      stress_fail("%s: block %p (%zu bytes) byte %zu is %#x, expected %#x", what, p, n,
                  i, b[i], stress_tag_byte(tag, i));
  for (size_t i = n > 64 ? n - 64 : head; i < n; i++)
    if (b[i] != stress_tag_byte(tag, i))
      stress_fail("%s: block %p (%zu bytes) byte %zu is %#x, expected %#x", what, p, n,
                  i, b[i], stress_tag_byte(tag, i));
}

static inline void stress_check_heap(const char *when)
{
  struct heapguard_finding f;
  enum heapguard_bug_class c = heapguard_check_heap(&f);
  if (c != HEAPGUARD_OK)
    stress_fail("%s: heap check found %s (%s) at block %#lx", when,
                heapguard_bug_class_name(c), f.what ? f.what : "?",
                (unsigned long)f.block);
}

#endif
