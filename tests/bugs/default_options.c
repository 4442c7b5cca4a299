/*
 * Options set at build time: heapguard reads __heapguard_default_options()
 * before HEAPGUARD_OPTIONS, so this double free ends with exit status 42
 * instead of SIGABRT, unless the environment says otherwise. Built twice:
 * linked against libheapguard, and only exporting the function for a
 * preloaded heapguard.
 */
#include <string.h>

#include "bug.h"
#include "heapguard.h"

const char *__heapguard_default_options(void)
{
  const char *bad = getenv("BAD_DEFAULTS");
  return bad ? bad : "exit_code=42:backtrace_frames=2";
}

int main(void)
{
  free_twice();
  return 0;
}
