/* The classic off-by-one: a string copied without room for its NUL. */
#include <string.h>

#include "bug.h"

NOINLINE static char *copy_name(const char *name)
{
  char *p = opaque(malloc(strlen(name)));
  strcpy(p, name);
  return p;
}

int main(void)
{
  char *p = copy_name("sixteen-chars!!!");
  free(p);
  return 0;
}
