/*
 * dump.h - forensic dumps of a damaged segment (format: heapguard_dump.h).
 *
 * Written from the report path with open/write/close only: no allocation,
 * no stdio, async-signal-safe. The segment's bytes are written straight
 * from memory; a page the kernel cannot read ends that section early
 * (write(2) fails with EFAULT instead of faulting) and its length is
 * patched, so a wrecked segment still gives a well-formed dump.
 */
#ifndef HG_DUMP_H
#define HG_DUMP_H

#include <stdbool.h>
#include <stddef.h>

#include "heapguard.h"

/*
 * Write a dump for finding f with the report text; on success store the
 * file's path in path (cap bytes) and return true.
 */
bool hg_dump_write(const struct heapguard_finding *f, const char *text,
                   size_t text_len, char *path, size_t cap);

#endif
