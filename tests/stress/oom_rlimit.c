/*
 * oom_rlimit.c - running out of memory under RLIMIT_AS.
 *
 * The address-space limit is set to what the process uses now plus a
 * margin, before the allocations: then malloc, calloc, realloc,
 * posix_memalign, aligned_alloc and memalign must fail with NULL (or
 * ENOMEM) and errno ENOMEM, never crash or report; a failed realloc must
 * leave its block intact; and once the memory is freed the same
 * allocations succeed again and heapguard_check_heap() is OK.
 */
#include <errno.h>
#include <malloc.h>
#include <sys/resource.h>

#include "stress.h"

#define MARGIN ((size_t)96 << 20)
#define MAX_BLOCKS 100000

static void *blocks[MAX_BLOCKS];

static size_t address_space_in_use(void)
{
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long pages = 0;
  if (!f || fscanf(f, "%lu", &pages) != 1)
    stress_fail("cannot read /proc/self/statm");
  fclose(f);
  return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

static void expect_enomem(void *p, const char *call)
{
  if (p)
    stress_fail("%s succeeded past RLIMIT_AS", call);
  if (errno != ENOMEM)
    stress_fail("%s: errno %d, expected ENOMEM", call, errno);
}

/* NULL with ENOMEM, or memory that works (then freed). */
static void maybe_enomem(void *p, size_t n, const char *call)
{
  if (!p) {
    if (errno != ENOMEM)
      stress_fail("%s: errno %d, expected ENOMEM", call, errno);
    return;
  }
  memset(p, 1, n);
  free(p);
}

/* Fill memory with blocks of size n until malloc fails; returns the count. */
static long fill(size_t n, long from)
{
  long i = from;
  for (; i < MAX_BLOCKS; i++) {
    errno = 0;
    blocks[i] = malloc(n);
    if (!blocks[i])
      break;
    memset(blocks[i], 0x5a, n < 256 ? n : 256);
  }
  if (i == MAX_BLOCKS)
    stress_fail("malloc(%zu) never failed under RLIMIT_AS", n);
  if (errno != ENOMEM)
    stress_fail("malloc(%zu) failed with errno %d, expected ENOMEM", n, errno);
  return i;
}

static void free_all(long count)
{
  for (long i = 0; i < count; i++) {
    free(blocks[i]);
    blocks[i] = NULL;
  }
}

int main(void)
{
  /* Anything stdio allocates is allocated now, before the limit. */
  printf("oom: start\n");
  fflush(stdout);
  char *keep = malloc(1000);
  char *keep_large = malloc((size_t)1 << 20);
  memset(keep, 'k', 1000);
  memset(keep_large, 'K', (size_t)1 << 20);

  struct rlimit old;
  getrlimit(RLIMIT_AS, &old);
  size_t limit = address_space_in_use() + MARGIN;
  struct rlimit lim = { limit, old.rlim_max };
  if (setrlimit(RLIMIT_AS, &lim) != 0)
    stress_fail("setrlimit: errno %d", errno);

  /* One request far beyond the limit, of each kind. */
  size_t huge = (size_t)1 << 30;
  errno = 0;
  expect_enomem(malloc(huge), "malloc(1 GiB)");
  errno = 0;
  expect_enomem(calloc(1, huge), "calloc(1, 1 GiB)");
  errno = 0;
  expect_enomem(calloc((size_t)1 << 16, (size_t)1 << 16), "calloc(64 Ki, 64 Ki)");
  errno = 0;
  expect_enomem(aligned_alloc(4096, huge), "aligned_alloc(4096, 1 GiB)");
  errno = 0;
  expect_enomem(memalign(1 << 20, huge), "memalign(1 MiB, 1 GiB)");
  void *out = (void *)0x1;
  errno = 0;
  int e = posix_memalign(&out, 64, huge);
  if (e != ENOMEM || out != (void *)0x1)
    stress_fail("posix_memalign(64, 1 GiB) returned %d, out %p", e, out);
  errno = 0;
  expect_enomem(realloc(keep, huge), "realloc(small, 1 GiB)");
  errno = 0;
  expect_enomem(realloc(keep_large, huge), "realloc(large, 1 GiB)");
  for (int i = 0; i < 1000; i++)
    if (keep[i] != 'k')
      stress_fail("failed realloc damaged its block");
  for (size_t i = 0; i < ((size_t)1 << 20); i += 4096)
    if (keep_large[i] != 'K')
      stress_fail("failed realloc damaged its large block");

  /* Exhaust the limit with medium blocks (shared segments), then small ones
   * until even the last segment's remainder is gone. */
  long medium = fill(60000, 0);
  long total = fill(24, medium);
  /* When full, the allocator may still give back what it keeps (empty
   * segments, quarantine, the large cache): each call must either fail
   * with ENOMEM or return usable memory. */
  errno = 0;
  maybe_enomem(calloc(1, 24), 24, "calloc(1, 24) when full");
  errno = 0;
  maybe_enomem(malloc((size_t)2 << 20), (size_t)2 << 20, "malloc(2 MiB) when full");
  errno = 0;
  void *r = realloc(keep, 100000);
  if (r)
    keep = r;
  else if (errno != ENOMEM)
    stress_fail("realloc(small, 100000) when full: errno %d", errno);
  for (int i = 0; i < 1000; i++)
    if (keep[i] != 'k')
      stress_fail("realloc when full damaged its block");
  out = (void *)0x1;
  e = posix_memalign(&out, 4096, 100);
  if (e == 0)
    free(out);
  else if (e != ENOMEM || out != (void *)0x1)
    stress_fail("posix_memalign(4096, 100) when full returned %d, out %p", e, out);
  stress_check_heap("heapguard_check_heap when full");

  /* Free everything: the same allocations succeed again. */
  free_all(total);
  stress_check_heap("heapguard_check_heap after freeing");
  long again = fill(60000, 0);
  /* Freed blocks may sit in the quarantine (bounded) rather than be reused
   * at once: most, not all, fit again. */
  if (again < medium * 9 / 10)
    stress_fail("after freeing, only %ld of %ld blocks fit again", again, medium);
  free_all(again);
  char *big = realloc(keep_large, (size_t)8 << 20);
  if (!big || big[0] != 'K' || big[(1 << 20) - 1] != 'K')
    stress_fail("realloc to 8 MiB failed after freeing: errno %d", errno);
  free(big);
  e = posix_memalign(&out, 1 << 16, 1 << 20);
  if (e)
    stress_fail("posix_memalign after freeing: %d", e);
  free(out);
  char *z = calloc(1000, 1000);
  if (!z || z[999999])
    stress_fail("calloc after freeing");
  free(z);
  free(keep);

  /* And with the limit lifted, large requests work as before. */
  setrlimit(RLIMIT_AS, &old);
  char *p = malloc((size_t)512 << 20);
  if (!p)
    stress_fail("malloc(512 MiB) after lifting the limit: errno %d", errno);
  p[0] = 1;
  p[((size_t)512 << 20) - 1] = 2;
  free(p);
  stress_check_heap("final heapguard_check_heap");
  printf("oom ok: %ld medium + %ld small blocks before ENOMEM, %ld again after freeing\n",
         medium, total - medium, again);
  return 0;
}
