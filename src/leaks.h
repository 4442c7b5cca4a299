/*
 * leaks.h - what is still allocated at exit.
 *
 * Walks every segment once at exit, groups the blocks still in use by
 * allocation stack, and reports the groups with their counts and bytes,
 * largest first. There is no reachability analysis: a block still
 * referenced from a global at exit counts too.
 */
#ifndef HG_LEAKS_H
#define HG_LEAKS_H

#include <stdint.h>

/* Report the leaks; returns the number of blocks still allocated. */
uint64_t hg_leaks_report(int fd);

#endif
