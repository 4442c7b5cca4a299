// An array from new[] released with scalar delete.
#include "bug.h"

extern "C" NOINLINE void delete_array_as_scalar(void)
{
  int *p = static_cast<int *>(opaque(new int[10]));
  delete p;
}

int main()
{
  delete_array_as_scalar();
  return 0;
}
