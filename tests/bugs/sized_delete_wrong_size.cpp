// A derived object deleted through a base pointer without a virtual
// destructor: sized delete is given sizeof(Base), not the allocated size.
#include "bug.h"

struct Base {
  int id;
};

struct Derived : Base {
  char payload[60];
};

extern "C" NOINLINE void delete_through_base(void)
{
  Base *b = static_cast<Base *>(opaque(new Derived()));
  delete b;
}

int main()
{
  delete_through_base();
  return 0;
}
