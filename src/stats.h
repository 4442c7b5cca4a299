/*
 * stats.h - heap statistics, for print_stats=1, verbosity, malloc_stats(),
 * mallinfo2() and malloc_info().
 *
 * Nothing is counted on the fast path: the figures come from a walk of
 * every segment with the heap held still (heap.h, hg_heap_count), which
 * reads the states the block headers and guard slot tables already keep,
 * and from the bytes of segments mapped, which segment.c counts when it
 * maps and unmaps them (slow paths both), with the most mapped at once.
 */
#ifndef HG_STATS_H
#define HG_STATS_H

#include <stdint.h>

#include "fmt.h"
#include "kind.h"
#include "segment.h"

struct hg_stats {
  struct hg_heap_counts kinds[HG_SEGMENT_KINDS]; /* by enum hg_segment_kind */
  struct hg_heap_counts total;
  uint64_t mapped_now, mapped_peak; /* bytes of segments */
  uint64_t max_maps;                /* vm.max_map_count, 0 unknown */
};

/* Walk the heap (it holds every lock for a moment). */
void hg_stats_collect(struct hg_stats *st);

/* The statistics block print_stats=1 and malloc_stats() print. */
void hg_stats_format(struct hg_buf *out, const struct hg_stats *st);

/* The same as malloc_info()'s XML. */
void hg_stats_xml(struct hg_buf *out, const struct hg_stats *st);

/*
 * At exit: with print_stats=1 or verbosity=2 the statistics block, with
 * verbosity=1 a line of summary.
 */
void hg_stats_exit_note(uint64_t reports, uint64_t suppressed);

#endif
