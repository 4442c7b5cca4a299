/*
 * stackmemo.h - call sites already unwound, remembered per thread.
 *
 * Unwinding costs about a hundred nanoseconds, and a program allocates
 * from the same call sites over and over. An entry point knows, for free,
 * where it was called from: the return address into the program and the
 * caller's stack pointer. When both match a remembered capture and every
 * return address that capture found is still in its slot on the stack,
 * the unwinder would walk the same frames to the same addresses, so the
 * remembered stack id is the answer.
 *
 * Slots are located by searching the thread's own stack mapping for each
 * return address in turn, so nothing outside that mapping is ever read;
 * captures made on another stack (a signal stack, a coroutine) are simply
 * not remembered. Nothing here allocates.
 */
#ifndef HG_STACKMEMO_H
#define HG_STACKMEMO_H

#include <stddef.h>
#include <stdint.h>

/* Where an exported entry point was called from. */
struct hg_caller {
  uintptr_t ra; /* return address into the caller */
  uintptr_t sp; /* the caller's stack pointer: just above that address */
};

/* Evaluated in the exported function itself, never in a helper. */
#define HG_CALLER                                                             \
  ((struct hg_caller){ (uintptr_t)__builtin_return_address(0),                \
                       (uintptr_t)__builtin_dwarf_cfa() })

/* The stack id remembered for this call site if it still holds; else 0. */
uint32_t hg_stack_memo_find(struct hg_caller from);

/* Remember that a capture from this call site gave id, with frames ip[0..n). */
void hg_stack_memo_note(struct hg_caller from, uint32_t id, const uintptr_t *ip, size_t n);

/* After fork: ids name the parent's thread, so nothing is kept. */
void hg_stack_memo_forget(void);

#endif
