/*
 * runtime.h - process-wide state: the key, start-up and per-thread flags.
 *
 * Start-up is lazy (the first allocation may come from the loader or libc
 * before any constructor runs) and happens once; a thread that reenters
 * the allocator while it is starting up or reporting is served from the
 * scratch allocator instead of the heap.
 */
#ifndef HG_RUNTIME_H
#define HG_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "block.h"

#define HG_TLS __attribute__((tls_model("initial-exec"))) __thread
/* Exported symbols; everything else is hidden (see exports.map). */
#define HG_EXPORT __attribute__((visibility("default")))

extern struct hg_key hg_key;
extern uint64_t hg_secret[2];
extern bool hg_ready;

/* Set while this thread is inside start-up or a report. */
extern HG_TLS bool hg_tls_reentered;

void hg_init_slow(void);

static inline bool hg_ensure_init(void)
{
  if (__builtin_expect(!hg_ready, 0))
    hg_init_slow();
  return hg_ready;
}

#endif
