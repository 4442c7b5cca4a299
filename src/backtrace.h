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
/* The first backtrace_frames frames of ips, one line each. */
void hg_backtrace_format(struct hg_buf *out, const uintptr_t *ips, size_t n);
/* How many of n frames a report shows: at most backtrace_frames. */
size_t hg_backtrace_shown(size_t n);

/* One frame resolved: function, module, offsets and the module's build id. */
struct hg_frame {
  uintptr_t ip;
  bool has_function;
  char function[160];
  uintptr_t function_offset;
  const char *module;      /* NULL when no module contains ip */
  uintptr_t module_offset;
  uint8_t build_id[20];
  size_t build_id_size;
};

void hg_backtrace_resolve(uintptr_t ip, struct hg_frame *fr);

/* Function name of the first frame, for the report's summary line. */
void hg_backtrace_first_function(struct hg_buf *out, const uintptr_t *ips, size_t n);

/* Path of the running program, and the build id of libheapguard.so. */
const char *hg_program_path(void);
size_t hg_library_build_id(const uint8_t **id);

#endif
