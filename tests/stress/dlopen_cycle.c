/*
 * dlopen_cycle.c - dlopen and dlclose a library that allocates in its
 * constructor and frees in its destructor, many times; blocks it hands out
 * are freed after it is unloaded. The loader's own allocations (link maps,
 * scopes, TLS) go through heapguard too.
 *
 * Usage: dlopen_cycle LIBRARY [rounds]
 */
#include <dlfcn.h>

#include "stress.h"

int main(int argc, char **argv)
{
  if (argc < 2)
    stress_fail("usage: dlopen_cycle LIBRARY [rounds]");
  long rounds = argc > 2 ? atol(argv[2]) : 2000;
  double t0 = stress_now();
  char *kept[8] = { 0 };
  for (long r = 0; r < rounds; r++) {
    void *h = dlopen(argv[1], (r & 1) ? RTLD_NOW : RTLD_LAZY | RTLD_LOCAL);
    if (!h)
      stress_fail("dlopen: %s", dlerror());
    char *(*make)(size_t) = (char *(*)(size_t))dlsym(h, "dlib_make");
    char *(*grow)(char *, size_t) = (char *(*)(char *, size_t))dlsym(h, "dlib_grow");
    if (!make || !grow)
      stress_fail("dlsym: %s", dlerror());
    size_t n = 10 + (size_t)(r % 300);
    char *p = make(n);
    if (!p || strlen(p) != n)
      stress_fail("dlib_make(%zu) failed", n);
    p = grow(p, n * 3);
    free(kept[r % 8]);
    kept[r % 8] = p;
    if (dlclose(h))
      stress_fail("dlclose: %s", dlerror());
    if (r % 256 == 255)
      stress_check_heap("heapguard_check_heap between cycles");
  }
  for (int i = 0; i < 8; i++) {
    if (kept[i] && kept[i][0] != 'd')
      stress_fail("block from the unloaded library damaged");
    free(kept[i]);
  }
  stress_check_heap("final heapguard_check_heap");
  printf("dlopen ok: %ld load/unload cycles, %.1f s\n", rounds, stress_now() - t0);
  return 0;
}
