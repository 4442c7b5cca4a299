// An object from new released with delete[]. (A type without destructor,
// so that delete[] reads no array cookie and passes the pointer as is.)
#include "bug.h"

extern "C" NOINLINE void delete_scalar_as_array(void)
{
  int *p = static_cast<int *>(opaque(new int(3)));
  delete[] p;
}

int main()
{
  delete_scalar_as_array();
  return 0;
}
