/*
 * leaks.h - what is still allocated, and unreachable, at exit.
 *
 * At exit every used block is listed, then marked if a pointer to it (or
 * into it) is found in the writable data of a loaded module, on the
 * exiting thread's stack, or in a block already marked: a conservative
 * mark phase, as LeakSanitizer does. What stays unmarked is reported,
 * grouped by allocation stack with counts and bytes, largest first.
 */
#ifndef HG_LEAKS_H
#define HG_LEAKS_H

#include <stdint.h>

/*
 * Report the leaks where reports go (opening log_path's file only when
 * there are leaks); returns the number of blocks leaked.
 */
uint64_t hg_leaks_report(void);

#endif
