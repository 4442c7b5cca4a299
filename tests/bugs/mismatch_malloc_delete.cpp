// Memory from malloc() released with delete.
#include "bug.h"

extern "C" NOINLINE void delete_malloced(void)
{
  long *p = static_cast<long *>(opaque(malloc(sizeof(long))));
  delete p;
}

int main()
{
  delete_malloced();
  return 0;
}
