/*
 * backtrace.h - stack traces: captured with libunwind (loaded by the first
 * report that needs it, not at start-up) or, where it is not loaded, the
 * CFI walk of unwind.h; named and located in reports.
 *
 * Capture records raw return addresses only (cheap, no symbol lookup).
 * Formatting resolves each to its function and offset (the exported
 * symbol, or the symbol tables of the module's file, or of its separate
 * debug file, always checked against the symbol's size; C++ names
 * demangled), its source file and line (with addr2line in a child
 * process, when the module has debug information and symbolize=1), and
 * its module: absolute path, address in the module's own numbering (what
 * addr2line takes, also for a non-PIE program) and build id, so that a
 * report can be symbolised later and elsewhere. Frames inside
 * libheapguard itself are left out. Nothing here allocates from the heap
 * being reported: the loading of libunwind, which allocates, runs on the
 * report path, whose calls take scratch memory.
 */
#ifndef HG_BACKTRACE_H
#define HG_BACKTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmt.h"

void hg_backtrace_init(void);

/* True for return addresses inside libheapguard itself (cheap: a range check). */
bool hg_backtrace_is_own(uintptr_t ip);
size_t hg_backtrace_capture(uintptr_t *ips, size_t max);
/*
 * Make this thread's next capture start at the frame executing pc (a fault
 * handler passes the faulting instruction's address), leaving out the
 * handler's frames and the kernel's signal frame.
 */
void hg_backtrace_start_at(uintptr_t pc);

/* How many of n frames a report shows: at most backtrace_frames. */
size_t hg_backtrace_shown(size_t n);

/*
 * The first backtrace_frames frames of ips, one line each:
 *   #N 0xIP in FUNCTION+0xOFF FILE:LINE (MODULE+0xOFF) (BuildId: HEX)
 * where each part after the address is there only when known.
 */
void hg_backtrace_format(struct hg_buf *out, const uintptr_t *ips, size_t n);

/*
 * The same frames as a JSON array of {ip, function, function_offset,
 * module, module_offset, build_id, file, line} (null where unknown).
 */
void hg_backtrace_json(struct hg_buf *out, const uintptr_t *ips, size_t n);

/*
 * The frame a summary names: the first that is the program's own, past
 * frames in the C library or the dynamic loader (a bug found in a free()
 * that libc made for the program); the first frame when all are libc's.
 */
size_t hg_backtrace_summary_frame(const uintptr_t *ips, size_t n);

/* That frame's function, or (MODULE+0xOFF) when it has no name. */
void hg_backtrace_summary_name(struct hg_buf *out, const uintptr_t *ips, size_t n);

/*
 * Call match with the function (demangled), the module's absolute path and
 * the source file of each of the frames ips[0..n), "" where unknown, until
 * it returns true; then true. Source files are looked up (symbolize=1)
 * only when no frame matched by the names already known.
 */
typedef bool (*hg_frame_match_fn)(const char *function, const char *module, const char *file,
                                  void *arg);
bool hg_backtrace_match(const uintptr_t *ips, size_t n, hg_frame_match_fn match, void *arg);

/* Path of the running program, and the build id of libheapguard.so. */
const char *hg_program_path(void);
size_t hg_library_build_id(const uint8_t **id);

#endif
