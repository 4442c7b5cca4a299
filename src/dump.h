/*
 * dump.h - forensic dumps of a damaged segment (format: heapguard_dump.h).
 *
 * Written from the report path with system calls only (os.h): no
 * allocation, no stdio, async-signal-safe. The segment's bytes are written straight
 * from memory; a page the kernel cannot read ends that section early
 * (write(2) fails with EFAULT instead of faulting) and its length is
 * patched, so a wrecked segment still gives a well-formed dump.
 */
#ifndef HG_DUMP_H
#define HG_DUMP_H

#include <stdbool.h>
#include <stddef.h>

#include "heapguard.h"
#include "segment.h"

/*
 * Write a dump for finding f with the report text; on success store the
 * file's path in path (cap bytes) and return true.
 */
bool hg_dump_write(const struct heapguard_finding *f, const char *text,
                   size_t text_len, char *path, size_t cap);

/*
 * An on-demand dump of segment s, its text saying why (reason, e.g.
 * "heapguard_dump(0x...)") and from which thread and call.
 */
bool hg_dump_on_demand(const struct hg_segment *s, const char *reason, uintptr_t address,
                       char *path, size_t cap);

/* Install the dump_signal handler, if that option is set. */
void hg_dump_signal_init(void);

#endif
