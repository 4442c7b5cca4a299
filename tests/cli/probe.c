/*
 * probe.c - what a program run by the heapguard command sees: its
 * LD_PRELOAD and HEAPGUARD_OPTIONS, and whether heapguard is really its
 * allocator (heapguard_active(), looked up at run time so that the probe
 * also runs without the library). Exits with the status given as argv[1].
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
  const char *preload = getenv("LD_PRELOAD");
  const char *options = getenv("HEAPGUARD_OPTIONS");
  int (*active)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "heapguard_active");
  free(malloc(10));
  printf("LD_PRELOAD=%s\n", preload ? preload : "(unset)");
  printf("HEAPGUARD_OPTIONS=%s\n", options ? options : "(unset)");
  printf("active=%d\n", active ? active() : 0);
  fflush(stdout);
  return argc > 1 ? atoi(argv[1]) : 0;
}
