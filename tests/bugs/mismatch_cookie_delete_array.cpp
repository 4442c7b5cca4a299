// One object from new, released with delete[]: delete[] reads the 8 bytes
// before the object as an array's element count, runs that many
// destructors, and hands operator delete[] the address of the count. The
// count read must be small (in guard mode 0) so that the run ends, at
// once, in the mismatch report: with a count from random bytes, the empty
// destructor of Quiet loops for ages and the writes of Noisy's fault.
#include <string.h>
#include <unistd.h>

#include "bug.h"

struct Quiet {
  int id;
  ~Quiet() {}
};

struct Noisy {
  int id;
  ~Noisy() { id = -1; }
};

extern "C" NOINLINE void delete_object_as_array(bool noisy)
{
  if (noisy) {
    Noisy *one = static_cast<Noisy *>(opaque(new Noisy()));
    delete[] one;
  } else {
    Quiet *one = static_cast<Quiet *>(opaque(new Quiet()));
    delete[] one;
  }
}

int main(int argc, char **argv)
{
  alarm(20); /* a hang fails the test instead of stalling it */
  delete_object_as_array(argc > 1 && strcmp(argv[1], "noisy") == 0);
  return 0;
}
