/*
 * fault.c - the handler of faults on heapguard's memory.
 */
#define _GNU_SOURCE
#include "fault.h"

#include <signal.h>
#include <ucontext.h>

#include "backtrace.h"
#include "heap.h"
#include "os.h"
#include "report.h"

static struct sigaction previous_segv, previous_bus;

static const char *access_name(const void *uctx)
{
#if defined(__x86_64__)
  const ucontext_t *uc = uctx;
  return uc->uc_mcontext.gregs[REG_ERR] & 2 ? "WRITE" : "READ";
#else
  (void)uctx;
  return "READ or WRITE";
#endif
}

static uintptr_t fault_pc(const void *uctx)
{
#if defined(__x86_64__)
  return (uintptr_t)((const ucontext_t *)uctx)->uc_mcontext.gregs[REG_RIP];
#else
  (void)uctx;
  return 0;
#endif
}

/*
 * Not ours: hand it to the handler that was there before, or restore the
 * previous disposition and return, so that the access faults again and
 * the default action (or the old handler) takes it as usual.
 */
static void pass_on(int sig, siginfo_t *info, void *uctx)
{
  struct sigaction *old = sig == SIGBUS ? &previous_bus : &previous_segv;
  if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
    old->sa_sigaction(sig, info, uctx);
    return;
  }
  if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler != SIG_DFL &&
      old->sa_handler != SIG_IGN) {
    old->sa_handler(sig);
    return;
  }
  hg_os_sigaction(sig, old, NULL);
}

static void on_fault(int sig, siginfo_t *info, void *uctx)
{
  /* The kind that names the access may tell a read from a write. */
  struct heapguard_finding f = { .address = (uintptr_t)info->si_addr,
                                 .operation = access_name(uctx) };
  if (info->si_code <= 0 || !hg_heap_fault((uintptr_t)info->si_addr, &f)) {
    pass_on(sig, info, uctx);
    return;
  }
  hg_backtrace_start_at(fault_pc(uctx));
  hg_report(&f);
  /*
   * halt_on_error=0: the report returned. Open the faulting page so the
   * access completes and the program goes on; that page stays unguarded
   * (a guard slot's data pages are closed again when it is next freed).
   */
  uintptr_t page = f.address & ~(uintptr_t)(HG_PAGE_SIZE - 1);
  if (!hg_os_protect_rw((void *)page, HG_PAGE_SIZE))
    hg_os_abort();
}

void hg_fault_init(void)
{
  struct sigaction sa = { 0 };
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  hg_os_sigaction(SIGSEGV, &sa, &previous_segv);
  hg_os_sigaction(SIGBUS, &sa, &previous_bus);
}
