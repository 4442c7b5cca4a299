/*
 * symbolizer.h - the source file and line of code addresses, by addr2line.
 *
 * heapguard does not read DWARF itself: addr2line (binutils) runs in a
 * child process, as AddressSanitizer runs llvm-symbolizer. A DWARF reader
 * inside the process would allocate in proportion to the debug
 * information (in a report, from the 1 MiB scratch region) and take locks
 * of its own; a child has its own heap and stack, cannot deadlock on the
 * reporting process or be misled by its damaged heap, and is killed after
 * a timeout. What it answers is only added to reports that are complete
 * without it: when it is missing, cannot start, fails or is slow, frames
 * have no file:line, and after a timeout or a failure to start no later
 * report waits for it again.
 */
#ifndef HG_SYMBOLIZER_H
#define HG_SYMBOLIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Called for each address placed: its index, source file and line. */
typedef void (*hg_location_fn)(size_t i, const char *file, unsigned line, void *arg);

/*
 * Place vaddrs[0..n) (return addresses, in the numbering of the ELF file at
 * path, which holds the debug information; the call is the byte before
 * each). False when addr2line gave no answer. Not reentrant: the caller
 * serialises calls.
 */
bool hg_symbolizer_locate(const char *path, const uint64_t *vaddrs, size_t n,
                          hg_location_fn fn, void *arg);

#endif
