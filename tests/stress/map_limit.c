/*
 * map_limit.c - running out of memory mappings (vm.max_map_count) without
 * touching the sysctl: every large block (1 MiB or more) gets a dedicated
 * segment of its own, a mapping with two guard pages, i.e. three or more
 * mappings; tens of thousands of them exhaust the per-process map count
 * long before memory (they are MAP_NORESERVE and only their metadata and
 * canary pages are touched). malloc must then return NULL with ENOMEM,
 * never crash; after freeing, the heap works again and is sound.
 *
 * Usage: map_limit [max-blocks]
 */
#include <errno.h>

#include "stress.h"

static size_t map_count(void)
{
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f)
    return 0;
  size_t lines = 0;
  int c;
  while ((c = fgetc(f)) != EOF)
    lines += c == '\n';
  fclose(f);
  return lines;
}

int main(int argc, char **argv)
{
  long max = argc > 1 ? atol(argv[1]) : 200000;
  void **blocks = malloc((size_t)max * sizeof *blocks);
  if (!blocks)
    stress_fail("malloc of the table");
  printf("map limit: start with %zu mappings\n", map_count());
  fflush(stdout);
  double t0 = stress_now();
  long n = 0;
  int err = 0;
  for (; n < max; n++) {
    errno = 0;
    /* Sizes vary so that neighbouring segments are not all alike. */
    blocks[n] = malloc(((size_t)1 << 20) + (size_t)(n % 7) * 4096);
    if (!blocks[n]) {
      err = errno;
      break;
    }
    ((char *)blocks[n])[0] = 1;
  }
  if (n == max)
    stress_fail("%ld large blocks and still no ENOMEM", max);
  if (err != ENOMEM)
    stress_fail("malloc failed after %ld large blocks with errno %d, expected ENOMEM", n,
                err);
  /* Small requests that need a fresh segment, and the other calls. */
  errno = 0;
  void *c = calloc(1, (size_t)3 << 20);
  if (c || errno != ENOMEM)
    stress_fail("calloc(3 MiB) at the map limit: %p errno %d", c, errno);
  void *out = NULL;
  int e = posix_memalign(&out, (size_t)1 << 20, (size_t)1 << 20);
  if (e != ENOMEM)
    stress_fail("posix_memalign(1 MiB, 1 MiB) at the map limit returned %d", e);
  /* Keep allocating small blocks until they too fail or plenty succeeded. */
  void *small[20000];
  long ns = 0;
  for (; ns < 20000; ns++) {
    errno = 0;
    small[ns] = malloc(200);
    if (!small[ns]) {
      if (errno != ENOMEM)
        stress_fail("malloc(200) at the map limit: errno %d", errno);
      break;
    }
  }
  for (long i = 0; i < ns; i++)
    free(small[i]);
  for (long i = 0; i < n; i++)
    free(blocks[i]);
  stress_check_heap("heapguard_check_heap after freeing");
  /* The heap works again: a second round gets about as far. */
  long n2 = 0;
  for (; n2 < n / 2; n2++) {
    blocks[n2] = malloc(((size_t)1 << 20) + 4096);
    if (!blocks[n2])
      stress_fail("after freeing, malloc failed again at %ld (first round: %ld): errno %d",
                  n2, n, errno);
  }
  for (long i = 0; i < n2; i++)
    free(blocks[i]);
  free(blocks);
  stress_check_heap("final heapguard_check_heap");
  printf("map limit ok: %ld large blocks before ENOMEM, %ld small after, %.1f s\n", n, ns, stress_now() - t0);
  return 0;
}
