#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

int main(void)
{
  char *s = join_words("heap", "guard");
  int ok = s && strcmp(s, "heap guard") == 0;
  printf("join_words: %s\n", ok ? "ok" : "WRONG");
  free(s);
  return ok ? 0 : 1;
}
