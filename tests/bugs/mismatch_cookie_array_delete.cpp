// An array of objects with destructors from new[], released with delete:
// new[] keeps the element count in the block's first 8 bytes and returns
// the address after it, so operator delete gets a pointer 8 bytes into
// the block. Reported as the mismatch, not as an interior pointer.
#include "bug.h"

struct Tracked {
  int id;
  ~Tracked() { id = -1; }
};

extern "C" NOINLINE void delete_array_as_object(void)
{
  Tracked *items = static_cast<Tracked *>(opaque(new Tracked[10]));
  delete items;
}

int main()
{
  delete_array_as_object();
  return 0;
}
