// delete[] twice on an array of a polymorphic class: the second delete[]
// reads the element count from freed memory before operator delete[] is
// called. That count must not send destructors through freed vtables: the
// run ends in a report of the second release (or, in guard mode, of the
// read of the freed count).
#include <unistd.h>

#include "bug.h"

struct Shape {
  virtual ~Shape() {}
  int sides = 3;
};

extern "C" NOINLINE void delete_array_twice(void)
{
  Shape *shapes = static_cast<Shape *>(opaque(new Shape[4]));
  delete[] shapes;
  delete[] static_cast<Shape *>(opaque(shapes));
}

int main()
{
  alarm(20);
  delete_array_twice();
  return 0;
}
