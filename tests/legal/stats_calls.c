/*
 * mallinfo2(), mallinfo(), malloc_stats() and malloc_info() give
 * heapguard's own figures: the bytes of blocks in use follow what the
 * program allocates and frees, freed blocks are seen in quarantine, and
 * the other two print heapguard's statistics.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Checked in every build type (assert is not, with NDEBUG). */
#define EXPECT(cond)                                                          \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);     \
      exit(1);                                                                \
    }                                                                         \
  } while (0)

#define BLOCKS 64
#define SIZE 1000

/* What malloc_stats() writes to stderr, caught in a pipe. */
static void read_malloc_stats(char *text, size_t cap)
{
  int fds[2];
  EXPECT(pipe(fds) == 0);
  int saved = dup(2);
  dup2(fds[1], 2);
  malloc_stats();
  dup2(saved, 2);
  close(saved);
  close(fds[1]);
  ssize_t n = read(fds[0], text, cap - 1);
  text[n > 0 ? n : 0] = 0;
  close(fds[0]);
}

static void read_malloc_info(char *text, size_t cap)
{
  FILE *f = tmpfile();
  EXPECT(f);
  EXPECT(malloc_info(0, f) == 0);
  rewind(f);
  size_t n = fread(text, 1, cap - 1, f);
  text[n] = 0;
  fclose(f);
  EXPECT(malloc_info(1, stdout) == -1);
}

int main(void)
{
  static void *blocks[BLOCKS];
  struct mallinfo2 before = mallinfo2();
  for (int i = 0; i < BLOCKS; i++)
    blocks[i] = malloc(SIZE);
  struct mallinfo2 during = mallinfo2();
  EXPECT(during.uordblks - before.uordblks == (size_t)BLOCKS * SIZE);
  EXPECT(during.usmblks >= during.arena + during.hblkhd);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* still glibc's, still ours */
  EXPECT((size_t)mallinfo().uordblks == during.uordblks);
#pragma GCC diagnostic pop
  for (int i = 0; i < BLOCKS; i++)
    free(blocks[i]);
  struct mallinfo2 after = mallinfo2();
  EXPECT(after.uordblks == before.uordblks);
  EXPECT(after.fsmblks - during.fsmblks >= (size_t)BLOCKS * SIZE);

  static char text[8192];
  read_malloc_stats(text, sizeof text);
  EXPECT(strstr(text, "statistics:\n  in use:  "));
  EXPECT(strstr(text, "\n  mapped:  "));
  read_malloc_info(text, sizeof text);
  EXPECT(strncmp(text, "<malloc version=", 16) == 0);
  EXPECT(strstr(text, "<total type=\"in-use\" count=\""));
  puts("stats calls ok");
  return 0;
}
