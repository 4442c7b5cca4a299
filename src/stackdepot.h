/*
 * stackdepot.h - deduplicated storage of allocation and free stacks.
 *
 * A stack (the calling thread's id and up to HG_STACK_FRAMES return
 * addresses) is stored once and named by a 32-bit id that fits in a block
 * header. Records live in one reserved mapping and are never freed or
 * changed after they are published, so ids can be read without a lock;
 * insertion takes a short lock. Nothing here calls malloc.
 */
#ifndef HG_STACKDEPOT_H
#define HG_STACKDEPOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stackmemo.h"
#include "unwind.h"

#define HG_STACK_FRAMES 8u

/*
 * A capture the memo could not answer: walk, look up or store, remember;
 * with the thread flagged (hg_tls_reentered), so that an allocation
 * inside the unwinder could not recurse into the heap.
 */
uint32_t hg_stack_capture_walked(struct hg_caller from);

/*
 * Capture the stack of the program's call into heapguard (heapguard's
 * frames left out) and store it; from is that call's HG_CALLER (unwind.h).
 * Inline: most captures are the memo's answer, a few loads and compares.
 */
static inline uint32_t hg_stack_capture(struct hg_caller from)
{
  uint32_t id = hg_stack_memo_find(from);
  return __builtin_expect(id != 0, 1) ? id : hg_stack_capture_walked(from);
}

/*
 * At start-up: captures keep the first frames of each stack (1 to
 * HG_STACK_FRAMES, the default), the same number all through the process,
 * since the memo's answers are walks of that many.
 */
void hg_stack_set_frames(size_t frames);

/*
 * The id of the calling thread's stack of these n frames (at most
 * HG_STACK_FRAMES are kept), stored if it is new; 0 when the depot is full.
 */
uint32_t hg_stack_store(const uintptr_t *ip, size_t n);

/*
 * The stack named by id: its *n frames into ip, and its thread; false
 * (and *n 0) for 0 or an id never issued.
 */
bool hg_stack_get(uint32_t id, uintptr_t ip[HG_STACK_FRAMES], size_t *n, uint32_t *tid);

void hg_stack_fork_prepare(void);
void hg_stack_fork_parent(void);
void hg_stack_fork_child(void);

#endif
