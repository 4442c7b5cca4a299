/*
 * dlib.c - the library dlopen_cycle loads and unloads: it allocates in its
 * constructor and frees in its destructor, and hands out blocks that
 * outlive it.
 */
#include <stdlib.h>
#include <string.h>

static char *held[16];
static size_t held_n[16];

__attribute__((constructor)) static void dlib_init(void)
{
  for (int i = 0; i < 16; i++) {
    held_n[i] = (size_t)(i * 977 + 1) + (i == 15 ? (1u << 20) : 0);
    held[i] = malloc(held_n[i]);
    if (!held[i])
      abort();
    memset(held[i], 0x40 + i, held_n[i]);
  }
}

__attribute__((destructor)) static void dlib_fini(void)
{
  for (int i = 0; i < 16; i++) {
    for (size_t k = 0; k < held_n[i]; k += 97)
      if (held[i][k] != (char)(0x40 + i))
        abort();
    free(held[i]);
    held[i] = NULL;
  }
}

/* A block that the caller frees, after dlclose. */
char *dlib_make(size_t n)
{
  char *p = malloc(n + 1);
  if (p) {
    memset(p, 'd', n);
    p[n] = 0;
  }
  return p;
}

/* A block the library reallocs on behalf of the caller. */
char *dlib_grow(char *p, size_t n)
{
  return realloc(p, n);
}
