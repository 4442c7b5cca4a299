/*
 * A double free in a process that can no longer open files (a seccomp
 * filter makes open and openat fail, as a sandbox does): the report
 * cannot load libunwind, and its backtrace comes from heapguard's own
 * CFI walk instead.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bug.h"

static int forbid_opening_files(void)
{
  /* System call numbers are x86-64's: calls of any other ABI are let through. */
  struct sock_filter rules[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 1, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_open, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program = { sizeof rules / sizeof *rules, rules };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return -1;
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program);
}

int main(void)
{
  if (forbid_opening_files() != 0) {
    perror("seccomp");
    return 2;
  }
  /* The filter holds: the report to come cannot open libunwind either. */
  if (fopen("/proc/self/maps", "r") != NULL || errno != EACCES) {
    fprintf(stderr, "files can still be opened\n");
    return 2;
  }
  fprintf(stderr, "files cannot be opened\n");
  free_twice();
  return 0;
}
