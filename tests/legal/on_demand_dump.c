/*
 * Dumps taken on demand: heapguard_dump() of a live block's segment, a
 * refusal for a pointer heapguard does not own, and (run with
 * dump_signal=12) a dump of every segment on SIGUSR2. None of it is a
 * report: the program must go on and exit 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "heapguard.h"

int main(void)
{
  char *blocks[50];
  for (int i = 0; i < 50; i++) {
    blocks[i] = malloc((size_t)(i * 37 + 1));
    memset(blocks[i], 'x', (size_t)(i * 37 + 1));
  }
  char path[512];
  struct stat st;
  if (heapguard_dump(blocks[7], path, sizeof path) != 0 || stat(path, &st) != 0 ||
      (st.st_mode & 0777) != 0600) {
    fprintf(stderr, "heapguard_dump failed: %s\n", strerror(errno));
    return 1;
  }
  int local;
  if (heapguard_dump(&local, path, sizeof path) != -1 || errno != EINVAL) {
    fprintf(stderr, "heapguard_dump of a stack address did not fail with EINVAL\n");
    return 1;
  }
  raise(SIGUSR2);
  for (int i = 0; i < 50; i++)
    free(blocks[i]);
  puts("on-demand dumps ok");
  return 0;
}
