/*
 * Whether libunwind is mapped before a report and after one: reports load
 * it when they first need a backtrace (run with halt_on_error=0, the
 * report returns). Prints "before: ..." and "after: ...".
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bug.h"

static bool libunwind_mapped(void)
{
  FILE *maps = fopen("/proc/self/maps", "r");
  char line[512];
  bool found = false;
  while (maps && fgets(line, sizeof line, maps))
    found = found || strstr(line, "/libunwind.so") != NULL;
  if (maps)
    fclose(maps);
  return found;
}

static const char *state(void)
{
  return libunwind_mapped() ? "mapped" : "not mapped";
}

int main(void)
{
  printf("before: %s\n", state());
  free_twice();
  printf("after: %s\n", state());
  return 0;
}
