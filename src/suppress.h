/*
 * suppress.h - suppressions: findings the user has chosen not to hear of.
 *
 * suppressions=FILE names a file in the sanitizers' format, one rule a
 * line, "CLASS:PATTERN" ('#' starts a comment). CLASS is a bug class as
 * reports name it (heap-buffer-overflow, double-free, ...) or "leak" (also
 * "memory-leak"); PATTERN is matched as the sanitizers match it: anywhere
 * in the name unless it starts with '^' or ends with '$', '*' standing for
 * any run of characters. A rule suppresses a finding when its pattern
 * matches the function (as reports show it, demangled), the module (its
 * absolute path) or the source file of any frame of the finding's stack:
 * for a leak and for damage the heap check at exit finds, where the block
 * was allocated; for any other finding, the call that found it.
 *
 * The file is read once at start-up, without allocating, into static
 * storage; matching runs on the report path and allocates nothing either.
 */
#ifndef HG_SUPPRESS_H
#define HG_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The class of leaks, beside the bug classes of heapguard.h. */
#define HG_SUPPRESS_LEAK 0u

/* Read suppressions=FILE, if set; a bad file stops start-up, naming the line. */
void hg_suppress_load(void);

/* Whether any rule could suppress a finding of this class. */
bool hg_suppress_any(unsigned bug_class);

/*
 * Whether a rule of this class matches a frame of ips[0..n): counted, with
 * bytes (a leak's), against that rule for the summary.
 */
bool hg_suppress_match(unsigned bug_class, const uintptr_t *ips, size_t n, uint64_t bytes);

/* Whether pattern (len bytes, as a rule holds it) matches s; never for an empty s. */
bool hg_suppress_pattern_matches(const char *pattern, size_t len, const char *s);

/* Findings suppressed so far. */
uint64_t hg_suppress_count(void);

/*
 * At exit, with verbosity >= 1: how many findings each rule suppressed
 * (as the sanitizers' "Suppressions used").
 */
void hg_suppress_exit_note(void);

#endif
