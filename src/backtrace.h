/*
 * backtrace.h - stack traces with libunwind.
 *
 * Capture records raw return addresses only (cheap, no symbol lookup);
 * formatting resolves them to function+offset (libunwind reads the ELF
 * symbol tables, so static functions of the program are named too) and
 * module+offset (so a stripped binary's report can be symbolised later).
 * Frames inside libheapguard itself are left out.
 */
#ifndef HG_BACKTRACE_H
#define HG_BACKTRACE_H

#include <stddef.h>
#include <stdint.h>

#include "fmt.h"

void hg_backtrace_init(void);
size_t hg_backtrace_capture(uintptr_t *ips, size_t max);
void hg_backtrace_format(struct hg_buf *out, const uintptr_t *ips, size_t n);

/* Function name of the first frame, for the report's summary line. */
void hg_backtrace_first_function(struct hg_buf *out, const uintptr_t *ips, size_t n);

/* Path of the running program, and the build id of libheapguard.so. */
const char *hg_program_path(void);
size_t hg_library_build_id(const uint8_t **id);

#endif
