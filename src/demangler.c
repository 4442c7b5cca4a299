/*
 * demangler.c - libiberty's callback demangler, run on a stack of its own.
 */
#define _GNU_SOURCE
#include "demangler.h"

#include <demangle.h>
#include <ucontext.h>

#include "fmt.h"
#include "os.h"

#define STACK_SIZE ((size_t)1 << 20)
/* The demangler's arrays take about 60 bytes of stack per character. */
#define LONGEST_NAME 4096u

static char *stack; /* between PROT_NONE pages, mapped on first use */
static ucontext_t caller, demangler;

static struct {
  const char *name;
  struct hg_buf out;
  bool ok;
} job;

static void append(const char *s, size_t n, void *out)
{
  hg_buf_mem(out, s, n);
}

static void run_job(void)
{
  job.ok = cplus_demangle_v3_callback(job.name, DMGL_PARAMS | DMGL_ANSI, append, &job.out);
}

bool hg_demangle(const char *name, char *out, size_t cap)
{
  if (name[0] != '_' || name[1] != 'Z' || hg_strlen(name) > LONGEST_NAME || cap == 0)
    return false;
  if (!stack && !(stack = hg_os_map_fenced(STACK_SIZE)))
    return false;
  job.name = name;
  job.out = (struct hg_buf){ out, 0, cap - 1 };
  job.ok = false;
  if (getcontext(&demangler) != 0)
    return false;
  demangler.uc_stack.ss_sp = stack;
  demangler.uc_stack.ss_size = STACK_SIZE;
  demangler.uc_link = &caller;
  makecontext(&demangler, run_job, 0);
  if (swapcontext(&caller, &demangler) != 0)
    return false;
  out[job.out.len] = 0;
  return job.ok;
}
