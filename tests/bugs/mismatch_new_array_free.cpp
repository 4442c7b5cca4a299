// An array from new[] released with free().
#include "bug.h"

extern "C" NOINLINE void free_new_array(void)
{
  char *p = new char[24];
  free(opaque(p));
}

int main()
{
  free_new_array();
  return 0;
}
