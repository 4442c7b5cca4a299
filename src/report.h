/*
 * report.h - the one error path.
 *
 * Every detection ends in hg_report(): it names the bug class, the
 * address, the block and its segment, the failed check with expected and
 * found values, and the backtrace of the call; writes a dump where heap
 * metadata is damaged; then aborts (or exits with exit_code). It never
 * allocates from the heap, holds no heap lock, and survives re-entry.
 */
#ifndef HG_REPORT_H
#define HG_REPORT_H

#include "fmt.h"
#include "heapguard.h"

_Noreturn void hg_report(const struct heapguard_finding *f);

/* The description lines of a finding, without backtrace (for tests too). */
void hg_report_describe(struct hg_buf *out, const struct heapguard_finding *f);

#endif
