/* A plugin with a double free, for reports naming a module dlopen()ed by a relative path. */
#include <stdlib.h>

#include "../bug.h"

NOINLINE void plugin_frees_twice(void)
{
  char *p = opaque(malloc(24));
  free(p);
  free(opaque(p));
}
