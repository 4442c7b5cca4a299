/*
 * harness.c - fork, exec under LD_PRELOAD, capture, wait.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void hg_run_program(struct hg_run *r, char *const argv[], const char *options)
{
  memset(r, 0, sizeof *r);
  snprintf(r->dump_dir, sizeof r->dump_dir, "/tmp/hgtest.XXXXXX");
  if (!mkdtemp(r->dump_dir))
    abort();
  char opts[1024];
  if (options && strstr(options, "dump_dir="))
    snprintf(opts, sizeof opts, "%s", options);
  else
    snprintf(opts, sizeof opts, "dump_dir=%s%s%s", r->dump_dir, options ? ":" : "",
             options ? options : "");
  int fds[2];
  if (pipe(fds) != 0)
    abort();
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    setenv("LD_PRELOAD", HG_LIB_PATH, 1);
    setenv("HEAPGUARD_OPTIONS", opts, 1);
    execv(argv[0], argv);
    _exit(127);
  }
  close(fds[1]);
  ssize_t n;
  while ((n = read(fds[0], r->output + r->len, sizeof r->output - 1 - r->len)) > 0)
    r->len += (size_t)n;
  r->output[r->len] = 0;
  close(fds[0]);
  waitpid(pid, &r->status, 0);
}

int hg_run_dump_count(const struct hg_run *r, char *first, size_t cap)
{
  DIR *d = opendir(r->dump_dir);
  int count = 0;
  if (!d)
    return 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len > 7 && strcmp(e->d_name + len - 7, ".hgdump") == 0) {
      if (count++ == 0 && first)
        snprintf(first, cap, "%s/%s", r->dump_dir, e->d_name);
    }
  }
  closedir(d);
  return count;
}

void hg_run_cleanup(struct hg_run *r)
{
  DIR *d = opendir(r->dump_dir);
  if (!d)
    return;
  struct dirent *e;
  char path[512];
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "%s/%s", r->dump_dir, e->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(r->dump_dir);
}
