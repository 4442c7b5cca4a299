// A zero-size array from new[]: writing its "first" element faults, and
// releasing it with free() is a mismatch, as for any block.
#include <cstdlib>
#include <cstring>

#include "bug.h"

NOINLINE static void write_empty_array()
{
  char *p = static_cast<char *>(opaque(new char[0]));
  p[0] = 'x';
}

NOINLINE static void free_empty_array()
{
  char *p = static_cast<char *>(opaque(new char[0]));
  free(p);
}

int main(int argc, char **argv)
{
  if (argc > 1 && std::strcmp(argv[1], "write") == 0)
    write_empty_array();
  if (argc > 1 && std::strcmp(argv[1], "free") == 0)
    free_empty_array();
  return 2;
}
