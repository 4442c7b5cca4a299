/*
 * describe.h - the words of reports for blocks, segments and damaged
 * bytes, shared by the kinds (heap.h: describe) and the report funnel.
 *
 * Everything here reads memory the finding names (a header, a segment's
 * metadata) as it is now, damaged or not, and writes into a caller's
 * buffer: no allocation, no locks.
 */
#ifndef HG_DESCRIBE_H
#define HG_DESCRIBE_H

#include <stdint.h>

#include "block.h"
#include "fmt.h"
#include "heapguard.h"
#include "segment.h"

/*
 * "<label> <addr> (data ...): <size> bytes, <state>, <requested> bytes
 * requested with <call>", or what a damaged header reads. The state is
 * its header's (names.h), or state when not NULL: the kind may know more,
 * such as where a freed block waits.
 */
void hg_describe_header(struct hg_buf *out, const struct hg_key *key, const char *label,
                        uintptr_t addr, const char *state);

/*
 * The block f names (its state in those words, when not NULL) and, for a
 * smashed header, the block before it as the likely writer (with its
 * damaged trailing canary, if it is).
 */
void hg_describe_block_and_neighbour(struct hg_buf *out, const struct hg_key *key,
                                     const struct heapguard_finding *f, const char *state);

/*
 * "segment <addr> (#seq, <kind or arena>, N bytes mapped, <count> <one or
 * many>)": what the kind counts, such as " block in use" / " blocks in
 * use"; one NULL leaves the count out.
 */
void hg_describe_segment(struct hg_buf *out, const struct hg_segment *s, const char *one,
                         const char *many, uint64_t count);

/*
 * Damaged bytes in a block: "N bytes written <how> a R-byte block, at
 * offsets A to B of its data<where>", then the first damaged byte, at
 * data + offset, named as the guard that caught it, expected and found.
 */
void hg_describe_damaged_bytes(struct hg_buf *out, const struct heapguard_finding *f,
                               uintptr_t data, const char *how, const char *where,
                               const char *guard);

#endif
