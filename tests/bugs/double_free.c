/* A block freed twice. */
#include "bug.h"

int main(void)
{
  free_twice();
  return 0;
}
