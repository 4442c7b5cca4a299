/* static.c - a statically linked program: it ignores LD_PRELOAD. */
#include <stdio.h>

int main(void)
{
  puts("static program ran");
  return 0;
}
