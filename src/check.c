/*
 * check.c - the named checks behind every detection.
 */
#include "check.h"

#include <string.h>

#include "quarantine.h"
#include "runtime.h"

bool hg_fail(struct heapguard_finding *f, enum heapguard_bug_class c,
             const char *what, const void *block, uint64_t expected,
             uint64_t found)
{
  f->bug_class = c;
  f->what = what;
  f->block = (uintptr_t)block;
  f->expected = expected;
  f->found = found;
  return false;
}

/*
 * Segment metadata is verified on every use but changes only when a block
 * is carved from its segment or merged back. Each thread keeps a copy of
 * the last metadata it verified: the same bytes at the same address need
 * no new checksum, and any changed bit sends the check down the full path.
 */
struct verified_segment {
  uintptr_t addr;
  uint64_t words[sizeof(struct hg_segment) / 8];
};

static HG_TLS struct verified_segment tls_verified;

static bool segment_matches_verified(const struct hg_segment *s)
{
  uint64_t diff = tls_verified.addr ^ (uintptr_t)s;
  const uint64_t *w = (const uint64_t *)s;
  for (size_t i = 0; i < sizeof tls_verified.words / 8; i++)
    diff |= w[i] ^ tls_verified.words[i];
  return diff == 0;
}

static void remember_verified(const struct hg_segment *s)
{
  tls_verified.addr = (uintptr_t)s;
  memcpy(tls_verified.words, s, sizeof tls_verified.words);
}

bool hg_check_segment(const struct hg_segment *s, struct heapguard_finding *f)
{
  f->segment = (uintptr_t)s;
  if (segment_matches_verified(s))
    return true;
  switch (hg_segment_verify(&hg_key, s)) {
  case HG_SEGMENT_OK:
    remember_verified(s);
    return true;
  case HG_SEGMENT_BAD_MAGIC:
    return hg_fail(f, HEAPGUARD_SEGMENT_CORRUPTION, "segment magic", NULL,
                HG_SEGMENT_MAGIC, s->magic);
  case HG_SEGMENT_BAD_CHECKSUM:
    return hg_fail(f, HEAPGUARD_SEGMENT_CORRUPTION, "segment checksum", NULL,
                hg_segment_expected_checksum(&hg_key, s, (uintptr_t)s),
                s->checksum);
  case HG_SEGMENT_BAD_BOUNDS:
    break;
  }
  return hg_fail(f, HEAPGUARD_SEGMENT_CORRUPTION, "segment bounds", NULL,
              HG_SEGMENT_META_SIZE, s->first_block);
}

static bool block_is_inside(const struct hg_segment *s, const struct hg_block *b)
{
  uintptr_t lo = (uintptr_t)hg_segment_first(s);
  uintptr_t hi = (uintptr_t)hg_segment_end(s);
  return (uintptr_t)b >= lo && (uintptr_t)b + HG_HEADER_SIZE <= hi &&
         ((uintptr_t)b - lo) % HG_GRANULE == 0;
}

static bool block_fits_segment(const struct hg_segment *s, const struct hg_block *b)
{
  return (size_t)(hg_segment_end(s) - (const char *)b) >= hg_block_bytes(b);
}

bool hg_check_header(const struct hg_segment *s, const struct hg_block *b,
                     struct heapguard_finding *f)
{
  if (!block_is_inside(s, b))
    return hg_fail(f, HEAPGUARD_METADATA_CORRUPTION, "block position", NULL,
                (uintptr_t)hg_segment_first(s), (uintptr_t)b);
  switch (hg_block_verify(&hg_key, b)) {
  case HG_HEADER_OK:
    break;
  case HG_HEADER_BAD_CANARY:
    return hg_fail(f, HEAPGUARD_METADATA_CORRUPTION, "header canary", b,
                hg_block_expected_canary(&hg_key, (uintptr_t)b), b->canary);
  case HG_HEADER_BAD_CHECKSUM:
    return hg_fail(f, HEAPGUARD_METADATA_CORRUPTION, "header checksum", b,
                hg_block_expected_checksum(&hg_key, b, (uintptr_t)b), b->checksum);
  case HG_HEADER_BAD_STATE:
    return hg_fail(f, HEAPGUARD_METADATA_CORRUPTION, "block state", b,
                HG_STATE_USED, b->state);
  case HG_HEADER_BAD_SIZE:
    return hg_fail(f, HEAPGUARD_METADATA_CORRUPTION, "block size", b,
                HG_MIN_BLOCK_GRANULES, b->size);
  }
  if (!block_fits_segment(s, b))
    return hg_fail(f, HEAPGUARD_METADATA_CORRUPTION, "block size past segment end", b,
                (uint64_t)(hg_segment_end(s) - (const char *)b), hg_block_bytes(b));
  return true;
}

static bool check_state_used(const struct hg_block *b, struct heapguard_finding *f)
{
  if (b->state == HG_STATE_USED)
    return true;
  return hg_fail(f, HEAPGUARD_DOUBLE_FREE, "block already free", b, HG_STATE_USED,
              b->state);
}

static bool check_trailing_canary(const struct hg_block *b,
                                  struct heapguard_finding *f)
{
  struct hg_tail_damage d;
  if (hg_tail_check(&hg_key, b, &d))
    return true;
  f->requested = hg_block_requested(b);
  f->offset = (intptr_t)(f->requested + d.first);
  f->extent = d.last - d.first + 1;
  return hg_fail(f, HEAPGUARD_HEAP_BUFFER_OVERFLOW, "trailing canary", b, d.expected,
              d.found);
}

/* A neighbour whose header is smashed: the block before it is the likely writer. */
static bool check_neighbour_header(const struct hg_segment *s,
                                   const struct hg_block *n,
                                   const struct hg_block *before,
                                   struct heapguard_finding *f)
{
  if (hg_check_header(s, n, f))
    return true;
  f->neighbour = (uintptr_t)before;
  return false;
}

bool hg_check_next_link(const struct hg_segment *s, const struct hg_block *b,
                        struct heapguard_finding *f)
{
  const struct hg_block *n = hg_block_next(b);
  if ((const char *)n == hg_segment_end(s))
    return true;
  if (!check_neighbour_header(s, n, b, f))
    return false;
  if (n->prev_size != b->size)
    return hg_fail(f, HEAPGUARD_METADATA_CORRUPTION, "next block's prev link", n,
                b->size, n->prev_size);
  return true;
}

bool hg_check_prev_link(const struct hg_segment *s, const struct hg_block *b,
                            struct heapguard_finding *f)
{
  if (b->prev_size == 0) {
    if (b == hg_segment_first(s))
      return true;
    return hg_fail(f, HEAPGUARD_METADATA_CORRUPTION, "prev link of a non-first block",
                b, 1, 0);
  }
  const struct hg_block *p = hg_block_prev(b);
  if ((const char *)p < (const char *)hg_segment_first(s))
    return hg_fail(f, HEAPGUARD_METADATA_CORRUPTION, "prev link before segment start",
                b, (uint64_t)((const char *)b - (const char *)hg_segment_first(s)),
                hg_block_bytes(b));
  if (!hg_check_header(s, p, f))
    return false;
  if (p->size != b->prev_size)
    return hg_fail(f, HEAPGUARD_METADATA_CORRUPTION, "previous block's size", p,
                b->prev_size, p->size);
  return true;
}

bool hg_check_live_block(const struct hg_segment *s, const struct hg_block *b,
                         struct heapguard_finding *f)
{
  f->segment = (uintptr_t)s;
  return hg_check_header(s, b, f) && hg_check_live_block_body(s, b, f);
}

bool hg_check_live_block_body(const struct hg_segment *s, const struct hg_block *b,
                              struct heapguard_finding *f)
{
  f->segment = (uintptr_t)s;
  f->requested = b->state != HG_STATE_FREE ? hg_block_requested(b) : 0;
  return check_state_used(b, f) && check_trailing_canary(b, f) &&
         hg_check_next_link(s, b, f);
}

bool hg_check_reusable_block(const struct hg_segment *s, const struct hg_block *b,
                             struct heapguard_finding *f)
{
  f->segment = (uintptr_t)s;
  if (!hg_check_header(s, b, f))
    return false;
  if (b->state != HG_STATE_QUARANTINED)
    return hg_fail(f, HEAPGUARD_METADATA_CORRUPTION, "quarantined block state", b,
                   HG_STATE_QUARANTINED, b->state);
  return hg_check_poison(b, f);
}


bool hg_check_kind(const struct hg_block *b, uint16_t kind, size_t size,
                   struct heapguard_finding *f)
{
  if (kind != HG_KIND_ANY && b->kind != kind)
    return hg_fail(f, HEAPGUARD_ALLOC_DEALLOC_MISMATCH, "allocation kind", b, b->kind,
                   kind);
  if (size && size != hg_block_requested(b))
    return hg_fail(f, HEAPGUARD_ALLOC_DEALLOC_MISMATCH, "size given to sized delete",
                   b, hg_block_requested(b), size);
  return true;
}

bool hg_check_free_block(const struct hg_segment *s, const struct hg_block *b,
                         struct heapguard_finding *f)
{
  f->segment = (uintptr_t)s;
  if (!hg_check_header(s, b, f))
    return false;
  if (b->state != HG_STATE_FREE)
    return hg_fail(f, HEAPGUARD_METADATA_CORRUPTION, "free-list entry not free", b,
                HG_STATE_FREE, b->state);
  return true;
}

static void diagnose_inside(const struct hg_block *b, uintptr_t p,
                            struct heapguard_finding *f)
{
  intptr_t off = (intptr_t)(p - (uintptr_t)hg_block_data(b));
  f->offset = off;
  f->requested = b->state != HG_STATE_FREE ? hg_block_requested(b) : 0;
  if (b->state != HG_STATE_USED)
    hg_fail(f, HEAPGUARD_INVALID_FREE, "pointer into a freed block", b, 0, (uint64_t)off);
  else if (off < 0)
    hg_fail(f, HEAPGUARD_INVALID_FREE, "pointer into a block header", b, 0,
         (uint64_t)off);
  else
    hg_fail(f, HEAPGUARD_INVALID_FREE, "pointer into the middle of a block", b, 0,
         (uint64_t)off);
}

void hg_diagnose_pointer(const struct hg_segment *s, uintptr_t p,
                         struct heapguard_finding *f)
{
  f->segment = (uintptr_t)s;
  const struct hg_block *prev = NULL;
  const struct hg_block *b = hg_segment_first(s);
  while ((const char *)b < hg_segment_end(s)) {
    if (!check_neighbour_header(s, b, prev, f))
      return;
    if (prev && b->prev_size != prev->size) {
      hg_fail(f, HEAPGUARD_METADATA_CORRUPTION, "prev link", b, prev->size,
           b->prev_size);
      return;
    }
    const struct hg_block *next = hg_block_next(b);
    if (p >= (uintptr_t)b && p < (uintptr_t)next) {
      diagnose_inside(b, p, f);
      return;
    }
    prev = b;
    b = next;
  }
  hg_fail(f, HEAPGUARD_INVALID_FREE, "pointer outside every block", NULL, 0, p);
}

bool hg_check_segment_blocks(const struct hg_segment *s,
                             struct heapguard_finding *f)
{
  if (!hg_check_segment(s, f))
    return false;
  const struct hg_block *prev = NULL;
  const struct hg_block *b = hg_segment_first(s);
  while ((const char *)b < hg_segment_end(s)) {
    if (!check_neighbour_header(s, b, prev, f))
      return false;
    if (b->state == HG_STATE_USED && !check_trailing_canary(b, f))
      return false;
    if (b->state == HG_STATE_QUARANTINED && !hg_check_poison(b, f))
      return false;
    if (!hg_check_next_link(s, b, f))
      return false;
    prev = b;
    b = hg_block_next(b);
  }
  return true;
}
