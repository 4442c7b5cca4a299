// An object from new released with free().
#include "bug.h"

extern "C" NOINLINE void free_new_object(void)
{
  int *p = new int(7);
  free(opaque(p));
}

int main()
{
  free_new_object();
  return 0;
}
