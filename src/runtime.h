/*
 * runtime.h - process-wide state that every layer reads: the key and the
 * secret, whether start-up is done, and the per-thread re-entry flag;
 * and the attributes of thread-local, exported and large static data.
 *
 * A leaf: runtime.c only defines this state; init.c sets it up (init.h),
 * and nothing here calls into any other module.
 */
#ifndef HG_RUNTIME_H
#define HG_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "block.h"

#define HG_TLS __attribute__((tls_model("initial-exec"))) __thread
/*
 * Large zero-initialized arrays (buffers that only reports, leak checks,
 * suppressions or guard slots use; tables touched sparsely) go after
 * every other zero-initialized variable: the small variables every
 * process touches then share a few pages, instead of one page each
 * between the arrays, and each page touched is a page fault, two when it
 * is read before it is written.
 */
#define HG_LARGE_BSS __attribute__((section(".lbss")))
/* Exported symbols; everything else is hidden (see exports.map). */
#define HG_EXPORT __attribute__((visibility("default")))

/* The per-process key, derived from the secret; never stored in the heap. */
extern struct hg_key hg_key;
/* The secret the key comes from (dumps carry it, see heapguard_dump.h). */
extern uint64_t hg_secret[2];
/* Set once start-up is complete; never cleared. */
extern bool hg_ready;

/*
 * Set at start-up when max_allocation, malloc_fill_byte or check_every
 * is: then every allocation checks its size, fills its block and counts
 * towards the periodic heap check (malloc.c), which the others do not pay
 * for.
 */
extern bool hg_alloc_extras;

/*
 * Set while this thread is inside start-up, a report, or a stack walk:
 * any allocation it makes meanwhile is served from scratch memory
 * (scratch.h), never from the heap.
 */
extern HG_TLS bool hg_tls_reentered;

#endif
