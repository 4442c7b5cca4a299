/*
 * check.h - the invariants of blocks and segments, as named checks.
 *
 * Each check either passes or fills a heapguard_finding through hg_fail
 * (the check's id from checks.inc, block, expected and found values) and
 * returns false; nothing here reports, locks or modifies the heap, and
 * the key is passed in, so the checks run on any segment without start-up.
 * The caller makes sure the memory checked does not change underneath
 * (it holds the lock that covers it). A check never follows a size or
 * link it has not bounded against the segment first.
 */
#ifndef HG_CHECK_H
#define HG_CHECK_H

#include <stdbool.h>

#include "block.h"
#include "heapguard.h"
#include "names.h"
#include "segment.h"

/*
 * The hot calls start a finding with only what they know (a zeroed 120
 * bytes per call is measurable): hg_finding_begin. Every path that may go
 * on to write into it resets the rest to zero first (hg_finding_reset);
 * the others copy a whole finding into it or leave it alone.
 */
static inline void hg_finding_begin(struct heapguard_finding *f, const char *operation,
                                    uintptr_t address)
{
  f->bug_class = HEAPGUARD_OK;
  f->operation = operation;
  f->address = address;
}

static inline void hg_finding_reset(struct heapguard_finding *f)
{
  *f = (struct heapguard_finding){ .operation = f->operation, .address = f->address };
}

/*
 * The findings of one walk over many blocks, in order; the walk stops
 * once cap (at least 1) are kept. A walk fills hg_findings_next() and,
 * when a check failed, keeps it with hg_findings_keep(). Going on past a
 * finding, a walk trusts only what it has checked.
 */
struct hg_findings {
  struct heapguard_finding *kept;
  unsigned cap;
  unsigned count;
  const char *operation; /* each kept finding's */
};

static inline void hg_findings_start(struct hg_findings *out, struct heapguard_finding *kept,
                                     unsigned cap, const char *operation)
{
  *out = (struct hg_findings){ kept, cap, 0, operation };
  kept[0] = (struct heapguard_finding){ .operation = operation };
}

static inline bool hg_findings_full(const struct hg_findings *out)
{
  return out->count >= out->cap;
}

/* The finding the next check fills; only while not full. */
static inline struct heapguard_finding *hg_findings_next(struct hg_findings *out)
{
  return &out->kept[out->count];
}

static inline void hg_findings_keep(struct hg_findings *out)
{
  out->count++;
  if (!hg_findings_full(out))
    *hg_findings_next(out) = (struct heapguard_finding){ .operation = out->operation };
}

/* Fill f with a failed check; returns false for the caller to pass on. */
bool hg_fail(struct heapguard_finding *f, enum hg_check check, const void *block,
             uint64_t expected, uint64_t found);

/*
 * Segment metadata: magic, checksum, bounds, kind. The metadata is
 * read-only from the moment it is sealed, so this runs where a whole
 * segment is examined (heap checks, diagnoses, dumps), not on every call.
 */
bool hg_check_segment(const struct hg_key *key, const struct hg_segment *s,
                      struct heapguard_finding *f);

/* A block header inside segment s: position, canary, checksum, state, size. */
bool hg_check_header(const struct hg_key *key, const struct hg_segment *s,
                     const struct hg_block *b, struct heapguard_finding *f);

/*
 * Everything free() requires of the block at header b, whose header
 * hg_check_header() has passed, before it touches anything: status used,
 * the trailing canary intact, a sound next block that links back (the
 * header an overflow reaches first), and a block before it that ends at
 * it (hg_check_prev_extent). The prev link's free-list neighbours are
 * checked when the block is merged, which is when they are first followed.
 */
bool hg_check_live_block(const struct hg_key *key, const struct hg_segment *s,
                         const struct hg_block *b, struct heapguard_finding *f);

/*
 * Whether the block before b, found through b's prev link, ends exactly at
 * b: its tag holds and its size is b's prev_size (or b is the segment's
 * first block). A header replayed where it once was valid passes its own
 * tags; this says whether it now lies inside the block before it. Reads
 * only inside the segment, one snapshot, no lock: the lock-free free asks
 * it, and sends what it refuses to the locked path.
 */
static inline HG_TAG_TARGET bool hg_prev_ends_at(const struct hg_key *key,
                                                 const struct hg_segment *s,
                                                 const struct hg_block *b)
{
  uint32_t prev_size = (uint32_t)__atomic_load_n((const uint64_t *)b, __ATOMIC_RELAXED);
  size_t before = (size_t)((const char *)b - (const char *)hg_segment_first(s));
  if (prev_size == 0)
    return before == 0;
  if (((size_t)prev_size << HG_GRANULE_SHIFT) > before)
    return false;
  const struct hg_block *p = (const struct hg_block *)((const char *)b -
                                                       ((size_t)prev_size << HG_GRANULE_SHIFT));
  struct hg_block h;
  hg_block_snapshot(p, &h);
  return h.size == prev_size && h.tag == (uint32_t)hg_mac_inline(key, &h, (uintptr_t)p).lo;
}

/*
 * hg_prev_ends_at as a check: when it fails, the segment is walked from
 * its first block to say what the pointer to b's data really is (the
 * middle of the block before, or damage on the way).
 */
bool hg_check_prev_extent(const struct hg_key *key, const struct hg_segment *s,
                          const struct hg_block *b, struct heapguard_finding *f);

/* The trailing canary of a used block is intact (else heap-buffer-overflow). */
bool hg_check_trailing_canary(const struct hg_key *key, const struct hg_block *b,
                              struct heapguard_finding *f);

/*
 * The block was allocated by a call of the same family as the one freeing
 * it (HG_KIND_ANY: any will do), and (size nonzero: a C++ sized delete)
 * with that many bytes. For blocks described by their fields, not a header.
 * alloc_dealloc_mismatch=0 and new_delete_type_mismatch=0 turn these two
 * checks off: the lock-free release refuses the block, and the locked
 * path, which runs this, releases it.
 */
bool hg_check_kind(const void *block, uint16_t allocated_kind, size_t requested,
                   uint16_t kind, size_t size, struct heapguard_finding *f);

/*
 * A block held in a quarantine or a thread's cache, before it leaves: the
 * half of its header its holders write (tag, state, kind, tail, stack) is
 * sound, it is quarantined, and it has the size it was filed with. Its
 * prev link is the arena's, checked when the block is merged.
 */
bool hg_check_quarantined(const struct hg_key *key, const struct hg_segment *s,
                          const struct hg_block *b, uint32_t granules,
                          struct heapguard_finding *f);

/*
 * The poison of a quarantined block is intact (else heap-use-after-free,
 * as the check `moment`: one of the HG_CHECK_POISON family, which says
 * when it was found).
 */
bool hg_check_poison(const struct hg_block *b, enum hg_check moment, struct heapguard_finding *f);

/* The same for the first n bytes of its data (n a nonzero multiple of 16). */
bool hg_check_poison_head(const struct hg_block *b, size_t n, enum hg_check moment,
                          struct heapguard_finding *f);

/* A block taken from a free list: sound header, status free, in bounds. */
bool hg_check_free_block(const struct hg_key *key, const struct hg_segment *s,
                         const struct hg_block *b, struct heapguard_finding *f);

/*
 * The block after b, if any, must link back to it: its header is sound and
 * its prev_size names b's size. Used before a neighbour's header is rewritten.
 */
bool hg_check_next_link(const struct hg_key *key, const struct hg_segment *s,
                        const struct hg_block *b, struct heapguard_finding *f);

/*
 * The block before b is sound and its size is b->prev_size (or b is the
 * first block). Used before a merge follows the link.
 */
bool hg_check_prev_link(const struct hg_key *key, const struct hg_segment *s,
                        const struct hg_block *b, struct heapguard_finding *f);

/*
 * A release with kind (HG_KIND_ANY: none, as in an inspection) of a
 * pointer offset bytes from the data of a used block allocated with
 * allocated_kind: false with the mismatch in f when the C++ array cookie
 * explains the offset (8 into a block from new[] released otherwise, or
 * 8 before a block from elsewhere released with delete[]); true when it
 * does not, f untouched.
 */
bool hg_check_array_cookie(const void *block, uint16_t allocated_kind, intptr_t offset,
                           uint16_t kind, struct heapguard_finding *f);

/*
 * The pointer p, released with kind (HG_KIND_ANY when it is only
 * inspected), does not start a sound used block: walk the segment from
 * its first block to say what p is (an interior pointer, a pointer into a
 * smashed header, a release the array cookie explains, ...) and fill f.
 * Always fills f with a bug class.
 */
void hg_diagnose_pointer(const struct hg_key *key, const struct hg_segment *s, uintptr_t p,
                         uint16_t kind, struct heapguard_finding *f);

/*
 * Verify every block of s in address order into out. A damaged canary,
 * poison or link is kept and the walk goes on by the sizes of headers
 * that verify; past a damaged header, from the next header that verifies.
 */
void hg_check_segment_blocks(const struct hg_key *key, const struct hg_segment *s,
                             struct hg_findings *out);

#endif
