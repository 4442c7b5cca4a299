/*
 * report.h - the one error path.
 *
 * Every detection ends in hg_report(): it names the bug class, the
 * address, the block and its segment, the failed check with expected and
 * found values, the backtrace of the call and where the block was
 * allocated and freed; writes a dump where heap metadata is damaged; then
 * aborts (or exits with exit_code, or, with halt_on_error=0, returns). A
 * finding a suppression rule matches (suppress.h) is counted and returns
 * at once, as with halt_on_error=0. It never allocates from the heap,
 * holds no heap lock, and survives re-entry.
 */
#ifndef HG_REPORT_H
#define HG_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "fmt.h"
#include "heapguard.h"

/* Returns only with halt_on_error=0, after the report is written, or when suppressed. */
void hg_report(const struct heapguard_finding *f);

/*
 * The same for a finding made where no program frame runs: when a thread
 * ends (its cache is given back), or by the heap check at exit. The
 * block's allocation stack then says where it came from, and its first
 * program frame is the one SUMMARY names and suppressions match.
 */
void hg_report_at_thread_end(const struct heapguard_finding *f);
void hg_report_at_exit(const struct heapguard_finding *f);

/* Reports written so far; and their deduplicated summary (at exit). */
uint64_t hg_report_count(void);

/*
 * True when a report (with halt_on_error=0, or suppressed) left the block whose data is
 * [start, end), allocated at stack, out of use: a release of a pointer into
 * it was refused. The leak check does not count such blocks.
 */
bool hg_report_kept(uintptr_t start, uintptr_t end, uint32_t stack);

/*
 * Whether f, a finding of the heap check at exit, is about a block whose
 * release a report refused (halt_on_error=0): it stays as it was found,
 * damaged and out of use, and that report said it all.
 */
bool hg_report_refused_before(const struct heapguard_finding *f);

/* A JSON member key: [frames {ip, function, module, offsets, build_id, file, line}]. */
void hg_report_json_frames(struct hg_buf *out, const char *key, const uintptr_t *ips,
                           size_t n);
void hg_report_exit_summary(void);

/* The description lines of a finding, without backtrace (for tests too). */
void hg_report_describe(struct hg_buf *out, const struct heapguard_finding *f);

#endif
