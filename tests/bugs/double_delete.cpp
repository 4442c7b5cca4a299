// An object deleted twice.
#include "bug.h"

extern "C" NOINLINE void delete_twice(void)
{
  double *p = new double(1.5);
  delete p;
  delete static_cast<double *>(opaque(p));
}

int main()
{
  delete_twice();
  return 0;
}
