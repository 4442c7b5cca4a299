/*
 * fuzz_inspect.c - libFuzzer target for the dump inspector.
 *
 * Drives hgi_inspect(), the function the command line tool calls, on the
 * raw input: container parsing, the block walk or a guard segment's slot
 * table, and all three outputs. The output goes to /dev/null; what is
 * being looked for is a crash, a hang or a sanitizer report, and a return
 * value other than 0, 1 or 2.
 */
#include "inspect.h"

#include <stdlib.h>

static FILE *sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!sink) {
    sink = fopen("/dev/null", "w");
    if (!sink)
      abort();
  }
  /* The input length modulo 3 picks the output, so all three are covered. */
  struct hgi_options o = {
      .json = size % 3 == 1,
      .html = size % 3 == 2 ? sink : NULL,
      .name = "fuzz",
  };
  int status = hgi_inspect(data, size, &o, sink, sink);
  if (status < 0 || status > 2)
    abort();
  return 0;
}
