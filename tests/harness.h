/*
 * harness.h - running a program under heapguard from a cmocka test.
 *
 * The test process itself runs on glibc's malloc; each program runs in a
 * child with LD_PRELOAD of the freshly built library, its stdout and
 * stderr captured together.
 */
#ifndef HG_TEST_HARNESS_H
#define HG_TEST_HARNESS_H

#include <stddef.h>

struct hg_run {
  int status;        /* as from waitpid */
  char output[1 << 16];
  size_t len;
  char dump_dir[256]; /* a fresh directory the run's dumps go to */
};

/*
 * Run program (argv[0] is the path) under heapguard with the given
 * HEAPGUARD_OPTIONS (NULL for none; dump_dir is added unless it is set).
 */
void hg_run_program(struct hg_run *r, char *const argv[], const char *options);

/* Number of *.hgdump files the run left in its dump directory. */
int hg_run_dump_count(const struct hg_run *r, char *first, size_t cap);

/* Remove the run's dump directory and what is in it. */
void hg_run_cleanup(struct hg_run *r);

#endif
