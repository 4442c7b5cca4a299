// A double delete in a member function of a class template in a
// namespace: reports name it as C++ reads, not by its mangled symbol.
#include "bug.h"

namespace geo {

struct Point {
  double x, y;
};

template <typename T> class Cloud {
public:
  Cloud() : items_(new T[4]) {}
  NOINLINE void release() { delete[] static_cast<T *>(opaque(items_)); }

private:
  T *items_;
};

} // namespace geo

int main()
{
  geo::Cloud<geo::Point> cloud;
  cloud.release();
  cloud.release();
  return 0;
}
