/*
 * check.c - the named checks behind every detection.
 */
#include "check.h"

#include "config.h"
#include "options.h"

bool hg_fail(struct heapguard_finding *f, enum hg_check check, const void *block,
             uint64_t expected, uint64_t found)
{
  const struct hg_check_info *info = hg_check_info(check);
  f->bug_class = info->bug_class;
  f->what = info->name;
  f->check = check;
  f->block = (uintptr_t)block;
  f->expected = expected;
  f->found = found;
  return false;
}

bool hg_check_segment(const struct hg_key *key, const struct hg_segment *s,
                      struct heapguard_finding *f)
{
  f->segment = (uintptr_t)s;
  switch (hg_segment_verify(key, s)) {
  case HG_SEGMENT_OK:
    return true;
  case HG_SEGMENT_BAD_MAGIC:
    return hg_fail(f, HG_CHECK_SEGMENT_MAGIC, NULL, HG_SEGMENT_MAGIC, s->magic);
  case HG_SEGMENT_BAD_CHECKSUM:
    return hg_fail(f, HG_CHECK_SEGMENT_CHECKSUM, NULL,
                   hg_segment_expected_checksum(key, s, (uintptr_t)s), s->checksum);
  case HG_SEGMENT_BAD_BOUNDS:
    return hg_fail(f, HG_CHECK_SEGMENT_BOUNDS, NULL, HG_SEGMENT_META_SIZE, s->first_block);
  case HG_SEGMENT_BAD_KIND:
    break;
  }
  return hg_fail(f, HG_CHECK_SEGMENT_KIND, NULL, HG_SEGMENT_SHARED, s->kind);
}

static bool block_is_inside(const struct hg_segment *s, const struct hg_block *b)
{
  uintptr_t lo = (uintptr_t)hg_segment_first(s);
  uintptr_t hi = (uintptr_t)hg_segment_end(s);
  return (uintptr_t)b >= lo && (uintptr_t)b + HG_HEADER_SIZE <= hi &&
         ((uintptr_t)b - lo) % HG_GRANULE == 0;
}

/* Header h, read from b, gives a size that stays inside the segment. */
static bool block_fits_segment(const struct hg_segment *s, const struct hg_block *h,
                               const struct hg_block *b)
{
  return (size_t)(hg_segment_end(s) - (const char *)b) >= hg_block_bytes(h);
}

/*
 * The header is read as one snapshot: the arena may be rewriting its prev
 * link, and its holder its other half, while a check runs without their
 * locks; each writes its part with one store.
 */
HG_TAG_TARGET static bool check_header_for_pattern(const struct hg_key *key, const struct hg_segment *s,
                                     const struct hg_block *b, uint64_t *pattern,
                                     struct heapguard_finding *f)
{
  if (!block_is_inside(s, b))
    return hg_fail(f, HG_CHECK_BLOCK_POSITION, NULL, (uintptr_t)hg_segment_first(s),
                   (uintptr_t)b);
  struct hg_block h;
  hg_block_snapshot(b, &h);
  switch (hg_block_verify_at(key, &h, (uintptr_t)b, pattern)) {
  case HG_HEADER_OK:
    break;
  case HG_HEADER_BAD_CANARY:
    return hg_fail(f, HG_CHECK_HEADER_CANARY, b,
                   hg_block_expected_prev_tag(key, h.prev_size, (uintptr_t)b), h.prev_tag);
  case HG_HEADER_BAD_TAG:
    return hg_fail(f, HG_CHECK_HEADER_TAG, b, hg_block_expected_tag(key, &h, (uintptr_t)b),
                   h.tag);
  case HG_HEADER_BAD_STATE:
    return hg_fail(f, HG_CHECK_BLOCK_STATE, b, HG_STATE_USED, h.state);
  case HG_HEADER_BAD_SIZE:
    return hg_fail(f, HG_CHECK_BLOCK_SIZE, b, HG_MIN_BLOCK_GRANULES, h.size);
  }
  if (!block_fits_segment(s, &h, b))
    return hg_fail(f, HG_CHECK_BLOCK_PAST_END, b,
                   (uint64_t)(hg_segment_end(s) - (const char *)b), hg_block_bytes(&h));
  return true;
}

bool hg_check_header(const struct hg_key *key, const struct hg_segment *s,
                     const struct hg_block *b, struct heapguard_finding *f)
{
  return check_header_for_pattern(key, s, b, NULL, f);
}

static bool check_state_used(const struct hg_block *b, struct heapguard_finding *f)
{
  if (b->state == HG_STATE_USED)
    return true;
  return hg_fail(f, HG_CHECK_ALREADY_FREE, b, HG_STATE_USED, b->state);
}

/* The trailing canary of b, whose header gave pattern, is intact. */
static bool check_tail_pattern(const struct hg_block *b, uint64_t pattern,
                               struct heapguard_finding *f)
{
  struct hg_damage d;
  if (hg_tail_intact(b, hg_block_requested(b), pattern) || hg_tail_check(b, pattern, &d))
    return true;
  f->requested = hg_block_requested(b);
  f->offset = (intptr_t)(f->requested + d.first);
  f->extent = d.last - d.first + 1;
  return hg_fail(f, HG_CHECK_TRAILING_CANARY, b, d.expected, d.found);
}

HG_TAG_TARGET bool hg_check_trailing_canary(const struct hg_key *key, const struct hg_block *b,
                              struct heapguard_finding *f)
{
  return check_tail_pattern(b, hg_tail_pattern(hg_block_mac(key, b, (uintptr_t)b).hi), f);
}

/*
 * A neighbour whose header is smashed: the block before it is the likely
 * writer. *pattern (when not NULL) is its trailing canary's.
 */
static bool check_neighbour_header(const struct hg_key *key, const struct hg_segment *s,
                                   const struct hg_block *n, const struct hg_block *before,
                                   uint64_t *pattern, struct heapguard_finding *f)
{
  if (check_header_for_pattern(key, s, n, pattern, f))
    return true;
  f->neighbour = (uintptr_t)before;
  return false;
}

bool hg_check_next_link(const struct hg_key *key, const struct hg_segment *s,
                        const struct hg_block *b, struct heapguard_finding *f)
{
  const struct hg_block *n = hg_block_next(b);
  if ((const char *)n == hg_segment_end(s))
    return true;
  if (!check_neighbour_header(key, s, n, b, NULL, f))
    return false;
  if (n->prev_size != b->size)
    return hg_fail(f, HG_CHECK_NEXT_PREV_LINK, n, b->size, n->prev_size);
  return true;
}

bool hg_check_prev_link(const struct hg_key *key, const struct hg_segment *s,
                        const struct hg_block *b, struct heapguard_finding *f)
{
  if (b->prev_size == 0) {
    if (b == hg_segment_first(s))
      return true;
    return hg_fail(f, HG_CHECK_PREV_LINK_OF_FIRST, b, 1, 0);
  }
  const struct hg_block *p = hg_block_prev(b);
  if ((const char *)p < (const char *)hg_segment_first(s))
    return hg_fail(f, HG_CHECK_PREV_LINK_BEFORE_START, b,
                   (uint64_t)((const char *)b - (const char *)hg_segment_first(s)),
                   hg_block_bytes(b));
  if (!hg_check_header(key, s, p, f))
    return false;
  if (p->size != b->prev_size)
    return hg_fail(f, HG_CHECK_PREV_BLOCK_SIZE, p, b->prev_size, p->size);
  return true;
}

HG_TAG_TARGET bool hg_check_prev_extent(const struct hg_key *key, const struct hg_segment *s,
                          const struct hg_block *b, struct heapguard_finding *f)
{
  if (hg_prev_ends_at(key, s, b))
    return true;
  hg_diagnose_pointer(key, s, (uintptr_t)hg_block_data(b), HG_KIND_ANY, f);
  return false;
}

bool hg_check_live_block(const struct hg_key *key, const struct hg_segment *s,
                         const struct hg_block *b, struct heapguard_finding *f)
{
  f->segment = (uintptr_t)s;
  f->requested = b->state != HG_STATE_FREE ? hg_block_requested(b) : 0;
  return check_state_used(b, f) && hg_check_trailing_canary(key, b, f) &&
         hg_check_next_link(key, s, b, f) && hg_check_prev_extent(key, s, b, f);
}

bool hg_check_poison(const struct hg_block *b, enum hg_check moment, struct heapguard_finding *f)
{
  return hg_check_poison_head(b, hg_block_capacity(b), moment, f);
}

bool hg_check_poison_head(const struct hg_block *b, size_t n, enum hg_check moment,
                          struct heapguard_finding *f)
{
  struct hg_damage d;
  if (__builtin_expect(hg_poison_intact(hg_block_data(b), n), 1) ||
      hg_poison_verify(hg_block_data(b), n, &d))
    return true;
  f->offset = (intptr_t)d.first;
  f->extent = d.last - d.first + 1;
  f->requested = hg_block_requested(b);
  return hg_fail(f, moment, b, d.expected, d.found);
}

HG_TAG_TARGET bool hg_check_quarantined(const struct hg_key *key, const struct hg_segment *s,
                          const struct hg_block *b, uint32_t granules,
                          struct heapguard_finding *f)
{
  f->segment = (uintptr_t)s;
  struct hg_block h;
  hg_block_snapshot(b, &h);
  uint32_t tag = hg_block_expected_tag(key, &h, (uintptr_t)b);
  if (h.tag != tag)
    return hg_fail(f, HG_CHECK_HEADER_TAG, b, tag, h.tag);
  if (h.state != HG_STATE_QUARANTINED)
    return hg_fail(f, HG_CHECK_QUARANTINED_STATE, b, HG_STATE_QUARANTINED, h.state);
  if (h.size != granules)
    return hg_fail(f, HG_CHECK_BLOCK_SIZE, b, granules, h.size);
  return true;
}

bool hg_check_kind(const void *block, uint16_t allocated_kind, size_t requested,
                   uint16_t kind, size_t size, struct heapguard_finding *f)
{
  if (kind != HG_KIND_ANY && allocated_kind != kind && hg_options.alloc_dealloc_mismatch)
    return hg_fail(f, HG_CHECK_ALLOC_KIND, block, allocated_kind, kind);
  if (size && size != requested && hg_options.new_delete_type_mismatch)
    return hg_fail(f, HG_CHECK_SIZED_DELETE, block, requested, size);
  return true;
}

bool hg_check_free_block(const struct hg_key *key, const struct hg_segment *s,
                         const struct hg_block *b, struct heapguard_finding *f)
{
  f->segment = (uintptr_t)s;
  if (!hg_check_header(key, s, b, f))
    return false;
  if (b->state != HG_STATE_FREE)
    return hg_fail(f, HG_CHECK_FREE_ENTRY_NOT_FREE, b, HG_STATE_FREE, b->state);
  return true;
}

bool hg_check_array_cookie(const void *block, uint16_t allocated_kind, intptr_t offset,
                           uint16_t kind, struct heapguard_finding *f)
{
  if (kind == HG_KIND_ANY || !hg_options.alloc_dealloc_mismatch)
    return true;
  if (offset == 8 && allocated_kind == HG_KIND_NEW_ARRAY && kind != HG_KIND_NEW_ARRAY)
    return hg_fail(f, HG_CHECK_ARRAY_COOKIE_SKIPPED, block, allocated_kind, kind);
  if (offset == -8 && allocated_kind != HG_KIND_NEW_ARRAY && kind == HG_KIND_NEW_ARRAY)
    return hg_fail(f, HG_CHECK_ARRAY_COOKIE_INVENTED, block, allocated_kind, kind);
  return true;
}

static void diagnose_inside(const struct hg_block *b, uintptr_t p, uint16_t kind,
                            struct heapguard_finding *f)
{
  intptr_t off = (intptr_t)(p - (uintptr_t)hg_block_data(b));
  f->offset = off;
  f->requested = b->state != HG_STATE_FREE ? hg_block_requested(b) : 0;
  if (b->state == HG_STATE_USED && !hg_check_array_cookie(b, b->kind, off, kind, f))
    return;
  enum hg_check check = b->state != HG_STATE_USED ? HG_CHECK_INTO_FREED
                        : off < 0                 ? HG_CHECK_INTO_HEADER
                                                  : HG_CHECK_INTERIOR;
  hg_fail(f, check, b, 0, (uint64_t)off);
}

void hg_diagnose_pointer(const struct hg_key *key, const struct hg_segment *s, uintptr_t p,
                         uint16_t kind, struct heapguard_finding *f)
{
  f->segment = (uintptr_t)s;
  const struct hg_block *prev = NULL;
  const struct hg_block *b = hg_segment_first(s);
  while ((const char *)b < hg_segment_end(s)) {
    if (!check_neighbour_header(key, s, b, prev, NULL, f))
      return;
    if (prev && b->prev_size != prev->size) {
      hg_fail(f, HG_CHECK_PREV_LINK, b, prev->size, b->prev_size);
      return;
    }
    const struct hg_block *next = hg_block_next(b);
    if (p >= (uintptr_t)b && p < (uintptr_t)next) {
      diagnose_inside(b, p, kind, f);
      return;
    }
    prev = b;
    b = next;
  }
  hg_fail(f, HG_CHECK_OUTSIDE_BLOCKS, NULL, 0, p);
}

/*
 * Where the walk goes on after a damaged header at b: the next header of
 * s that verifies and is in use or quarantined. Headers merged into a
 * free block stay behind sealed free (arena.c), so those in the other
 * two states are known to start real blocks.
 */
static const struct hg_block *next_sound_block(const struct hg_key *key,
                                               const struct hg_segment *s,
                                               const struct hg_block *b)
{
  const char *first = (const char *)hg_segment_first(s);
  const char *end = hg_segment_end(s);
  size_t skipped = (size_t)((const char *)b - first) / HG_GRANULE + 1;
  for (const char *p = first + skipped * HG_GRANULE; p + HG_HEADER_SIZE <= end;
       p += HG_GRANULE) {
    const struct hg_block *c = (const struct hg_block *)p;
    struct hg_block h;
    hg_block_snapshot(c, &h);
    if (h.state != HG_STATE_FREE &&
        hg_block_verify_at(key, &h, (uintptr_t)c, NULL) == HG_HEADER_OK &&
        block_fits_segment(s, &h, c))
      return c;
  }
  return (const struct hg_block *)end;
}

void hg_check_segment_blocks(const struct hg_key *key, const struct hg_segment *s,
                             struct hg_findings *out)
{
  const struct hg_block *prev = NULL;
  const struct hg_block *b = hg_segment_first(s);
  while ((const char *)b < hg_segment_end(s) && !hg_findings_full(out)) {
    struct heapguard_finding *f = hg_findings_next(out);
    f->segment = (uintptr_t)s;
    uint64_t pattern;
    if (!check_neighbour_header(key, s, b, prev, &pattern, f)) {
      hg_findings_keep(out);
      prev = NULL;
      b = next_sound_block(key, s, b);
      continue;
    }
    if (prev && b->prev_size != prev->size) {
      hg_fail(f, HG_CHECK_NEXT_PREV_LINK, b, prev->size, b->prev_size);
      hg_findings_keep(out);
    } else if (b->state == HG_STATE_USED
                 ? !check_tail_pattern(b, pattern, f)
                 : b->state == HG_STATE_QUARANTINED &&
                     !hg_check_poison(b, HG_CHECK_POISON_IN_HEAP_CHECK, f)) {
      hg_findings_keep(out);
    }
    prev = b;
    b = hg_block_next(b);
  }
}
