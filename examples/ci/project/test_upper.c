#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

int main(void)
{
  char *s = upper_copy("heap guard");
  int ok = s && strcmp(s, "HEAP GUARD") == 0;
  printf("upper_copy: %s\n", ok ? "ok" : "WRONG");
  free(s);
  return ok ? 0 : 1;
}
