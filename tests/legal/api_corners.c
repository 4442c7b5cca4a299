/*
 * Every malloc-family entry point and its corner cases, used legally:
 * none of this may be reported. Exits non-zero on a wrong result.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heapguard.h"

static int failures;

#define EXPECT(cond)                                                          \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);     \
      failures++;                                                             \
    }                                                                         \
  } while (0)

/* Every alignment asked for is kept, also under guard_alignment=1. */
static void check_alignment(void)
{
  for (size_t align = 8; align <= ((size_t)1 << 20); align <<= 1) {
    void *p = NULL;
    EXPECT(posix_memalign(&p, align, 100) == 0);
    EXPECT(((uintptr_t)p & (align - 1)) == 0);
    memset(p, 1, 100);
    free(p);
    char *q = aligned_alloc(align, 3 * align);
    EXPECT(((uintptr_t)q & (align - 1)) == 0);
    memset(q, 2, 3 * align);
    free(q);
    q = memalign(align, 7);
    EXPECT(((uintptr_t)q & (align - 1)) == 0);
    free(q);
  }
  void *p;
  /* Not a constant: clang rejects an alignment it can see is invalid. */
  volatile size_t not_power_of_two = 24;
  EXPECT(posix_memalign(&p, not_power_of_two, 10) == EINVAL);
  EXPECT(aligned_alloc(not_power_of_two, 10) == NULL && errno == EINVAL);
  char *v = valloc(10);
  EXPECT(((uintptr_t)v & 4095) == 0);
  free(v);
  v = pvalloc(1);
  EXPECT(((uintptr_t)v & 4095) == 0 && malloc_usable_size(v) >= 4096);
  memset(v, 3, 4096);
  free(v);
}

/* Sizes computed at run time, so the compiler cannot reject the calls. */
static volatile size_t huge = SIZE_MAX;

static void check_sizes(void)
{
  char *z = malloc(0);
  EXPECT(z != NULL);
  free(z);
  errno = 0;
  EXPECT(calloc(huge / 2, 4) == NULL && errno == ENOMEM);
  errno = 0;
  EXPECT(malloc(huge - 100) == NULL && errno == ENOMEM);
  EXPECT(reallocarray(NULL, huge / 2, 3) == NULL && errno == ENOMEM);
  for (size_t n = 1; n < 5000; n += 7) {
    unsigned char *p = malloc(n);
    size_t usable = malloc_usable_size(p);
    EXPECT(usable >= n);
    memset(p, 0xee, usable); /* writes up to the usable size are legal */
    EXPECT(heapguard_check(p, NULL) == HEAPGUARD_OK);
    free(p);
  }
  unsigned char *c = calloc(1000, 3);
  for (int i = 0; i < 3000; i++)
    EXPECT(c[i] == 0);
  free(c);
  c = calloc(1, 5u << 20);
  EXPECT(c[0] == 0 && c[(5u << 20) - 1] == 0);
  free(c);
}

static bool all_zero(const unsigned char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i])
      return false;
  return true;
}

/*
 * calloc's blocks read as zero wherever their memory comes from: never
 * used, freed by the program, or written by a block that grew in place
 * into it and shrank back (without a quarantine, each is reused at once).
 */
static void check_calloc_zero(void)
{
  enum { ROUNDS = 48 };
  static unsigned char *held[ROUNDS];
  for (size_t round = 0; round < ROUNDS; round++) {
    size_t n = 24 + round * 1531;
    unsigned char *c = calloc(1, n);
    EXPECT(all_zero(c, n));
    memset(c, 0xc3, n);
    held[round] = c;
    unsigned char *p = malloc(16);
    p = realloc(p, n);
    memset(p, 0x5a, n);
    p = realloc(p, 16);
    unsigned char *d = calloc(n, 1);
    EXPECT(all_zero(d, n));
    memset(d, 0xa5, n);
    free(d);
    free(p);
    d = calloc(1, n);
    EXPECT(all_zero(d, n));
    free(d);
  }
  for (size_t round = 0; round < ROUNDS; round += 2)
    free(held[round]);
  for (size_t round = 0; round < ROUNDS; round++) {
    size_t n = 24 + round * 1531;
    unsigned char *c = calloc(n, 1);
    EXPECT(all_zero(c, n));
    free(c);
  }
  for (size_t round = 1; round < ROUNDS; round += 2)
    free(held[round]);
}

/*
 * Blocks of 0 bytes: distinct, freeable, reallocable, of usable size 0,
 * also when more of them are live, and more freed, than a zero segment
 * and the quarantine hold.
 */
static void check_zero_size(void)
{
  enum { MANY = 300000 };
  static char *z[MANY];
  for (int i = 0; i < MANY; i++) {
    z[i] = malloc(0);
    EXPECT(z[i] != NULL && malloc_usable_size(z[i]) == 0);
    EXPECT(i == 0 || z[i] != z[i - 1]);
  }
  EXPECT(heapguard_check(z[MANY / 2], NULL) == HEAPGUARD_OK);
  EXPECT(heapguard_check_heap(NULL) == HEAPGUARD_OK);
  for (int i = 0; i < MANY; i++)
    free(z[i]);
  for (int i = 0; i < MANY; i++) {
    char *p = i % 2 ? calloc(0, 8) : realloc(NULL, 0);
    EXPECT(p != NULL);
    free(p);
  }
  char *p = malloc(0);
  p = realloc(p, 10);
  memcpy(p, "012345678", 10);
  p = realloc(p, 0);
  EXPECT(p == NULL);
  void *q = NULL;
  EXPECT(posix_memalign(&q, 8, 0) == 0 && ((uintptr_t)q & 7) == 0);
  free(q);
  q = aligned_alloc(64, 0);
  EXPECT(q != NULL && ((uintptr_t)q & 63) == 0);
  free(q);
}

static void check_realloc(void)
{
  char *p = realloc(NULL, 10);
  memcpy(p, "012345678", 10);
  for (size_t n = 11; n < (4u << 20); n = n * 3 / 2) {
    p = realloc(p, n);
    EXPECT(memcmp(p, "012345678", 10) == 0);
    p[n - 1] = 'x';
  }
  for (size_t n = 4u << 20; n > 10; n /= 3) {
    p = realloc(p, n);
    EXPECT(memcmp(p, "012345678", 10) == 0);
    p[n - 1] = 'y';
  }
  EXPECT(realloc(p, 0) == NULL);
  int *a = reallocarray(NULL, 100, sizeof(int));
  for (int i = 0; i < 100; i++)
    a[i] = i;
  a = reallocarray(a, 200, sizeof(int));
  EXPECT(a[99] == 99);
  free(a);
}

static void check_errno_preserved(void)
{
  void *p = malloc(10);
  errno = 1234;
  free(p);
  EXPECT(errno == 1234);
}

int main(void)
{
  check_alignment();
  check_sizes();
  check_calloc_zero();
  check_zero_size();
  check_realloc();
  check_errno_preserved();
  EXPECT(heapguard_active());
  EXPECT(heapguard_check_heap(NULL) == HEAPGUARD_OK);
  if (failures)
    return 1;
  puts("api corners ok");
  return 0;
}
