/*
 * unwind.h - allocation and free stacks, walked with the program's own
 * call-frame information.
 *
 * This module owns the walk from an entry point's caller up the stack: it
 * finds each return address's module with glibc's lock-free
 * _dl_find_object(), its FDE in the module's .eh_frame_hdr table, and runs
 * the CIE and FDE programs up to the address, which for x86-64 code yields
 * where the CFA is (rsp or rbp plus an offset), that the return address
 * lies at CFA-8, and where the caller's rbp was saved. That rule is kept
 * in a process-wide, lock-free cache, one 64-bit word per address, so a
 * step over a known address is one load from the cache and one or two
 * from the stack: no lock, no system call, no allocation.
 *
 * It also owns the bounds of the stack the thread runs on: every word it
 * reads lies between the entry point's caller's stack pointer and the top
 * of that stack. Anything it does not understand (no FDE, a DWARF
 * expression, a CFA that does not move up, a read out of those bounds, a
 * stack it cannot place) ends the walk with the frames found so far.
 * Report backtraces (backtrace.c) use libunwind, loaded by the first
 * report, and this walk where libunwind is not loaded (a report from the
 * fault handler) or cannot be.
 */
#ifndef HG_UNWIND_H
#define HG_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Where an exported entry point was called from: the caller's registers.
 * Two words, so that it travels in registers. The return address is not
 * among them: it lies just below sp, in the slot the call pushed it to,
 * which holds it for as long as the entry point runs (a tail call from
 * the entry point reuses that slot for the same address).
 */
struct hg_caller {
  uintptr_t sp; /* the caller's stack pointer */
  uintptr_t fp; /* the caller's rbp */
};

/*
 * Evaluated in the exported function itself, never in a helper: asking
 * for the frame address gives that function a frame pointer, so its
 * frame holds the caller's rbp, below the return address.
 */
#define HG_CALLER hg_caller_of_frame(__builtin_frame_address(0))

static inline struct hg_caller hg_caller_of_frame(void *frame)
{
  const uintptr_t *f = frame;
  return (struct hg_caller){ .sp = (uintptr_t)(f + 2), .fp = f[0] };
}

/* The return address into the caller. */
static inline uintptr_t hg_caller_ra(struct hg_caller from)
{
  return ((const uintptr_t *)from.sp)[-1];
}

/* At most two reads per step: the return address and the saved rbp. */
#define HG_UNWIND_READS 16u

/*
 * What a walk read from the stack. The walk from the same caller
 * registers takes the same steps to the same frames as long as every word
 * it read still holds its value (and rbp, if it used rbp's value), so
 * that is all a repeat needs to check (stackmemo.h). Only the reads that
 * decide the walk are kept: a saved rbp that no later step used is not.
 */
struct hg_unwind_trace {
  bool repeatable;  /* false: another stack than the thread's own, a signal frame, too many reads */
  bool uses_fp;     /* the caller's rbp decided a step */
  uint8_t reads;
  uint32_t offset[HG_UNWIND_READS]; /* from the caller's stack pointer */
  uintptr_t value[HG_UNWIND_READS];
};

/*
 * The return addresses of the stack from's caller runs on, innermost
 * first, at most max, heapguard's own leading frames left out; what the
 * walk read goes to trace unless it is NULL. Safe in signal handlers,
 * before constructors and in a forked child.
 */
size_t hg_unwind(struct hg_caller from, uintptr_t *ips, size_t max,
                 struct hg_unwind_trace *trace);

#endif
