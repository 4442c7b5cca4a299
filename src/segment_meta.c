/*
 * segment_meta.c - sealing and verification of segment metadata.
 *
 * Pure, like block.c: shared with the dump inspector, which verifies the
 * metadata of a dead process's segments with the key from the dump.
 */
#include "segment.h"


static const char *const fault_names[] = {
  [HG_SEGMENT_OK] = "ok",
  [HG_SEGMENT_BAD_MAGIC] = "magic",
  [HG_SEGMENT_BAD_CHECKSUM] = "checksum",
  [HG_SEGMENT_BAD_BOUNDS] = "bounds",
  [HG_SEGMENT_BAD_KIND] = "kind",
};

const char *hg_segment_fault_name(enum hg_segment_fault f)
{
  return (unsigned)f < sizeof fault_names / sizeof *fault_names ? fault_names[f]
                                                                : "unknown";
}

/* The words of the metadata, chained through the keyed function of tag.h. */
uint32_t hg_segment_expected_checksum(const struct hg_key *key,
                                      const struct hg_segment *s,
                                      uintptr_t addr)
{
  const struct hg_tag_key *k = &key->tag;
  uint64_t kinds = (uint64_t)s->kind | (uint64_t)s->arena << 16 | (uint64_t)s->seq << 32;
  struct hg_tag t = hg_tag_compute(k, HG_TAG_SEGMENT, addr, s->magic, s->map_size,
                                   s->first_block);
  t = hg_tag_compute(k, HG_TAG_SEGMENT, t.lo >> 8, t.hi ^ s->end, kinds, s->reserved[0]);
  t = hg_tag_compute(k, HG_TAG_SEGMENT, t.lo >> 8, t.hi ^ s->reserved[1], s->reserved2, 0);
  return (uint32_t)t.lo;
}

/* The block area must lie inside the mapping, after the metadata. */
static bool bounds_are_sane(const struct hg_segment *s)
{
  size_t readable = s->map_size - 2 * (size_t)HG_PAGE_SIZE;
  return s->map_size >= 3 * (size_t)HG_PAGE_SIZE &&
         s->map_size % HG_PAGE_SIZE == 0 &&
         s->first_block >= HG_SEGMENT_META_SIZE &&
         s->first_block % HG_GRANULE == 0 && s->end % HG_GRANULE == 0 &&
         s->first_block < s->end && s->end <= readable;
}

/* A known kind; only shared segments name an arena. */
static bool kind_is_sane(const struct hg_segment *s)
{
  if (s->kind == HG_SEGMENT_SHARED)
    return s->arena < HG_MAX_ARENAS;
  return (s->kind == HG_SEGMENT_LARGE || s->kind == HG_SEGMENT_GUARD ||
          s->kind == HG_SEGMENT_ZERO) &&
         s->arena == 0;
}

enum hg_segment_fault hg_segment_verify_at(const struct hg_key *key,
                                           const struct hg_segment *s,
                                           uintptr_t addr)
{
  if (s->magic != HG_SEGMENT_MAGIC)
    return HG_SEGMENT_BAD_MAGIC;
  if (s->checksum != hg_segment_expected_checksum(key, s, addr))
    return HG_SEGMENT_BAD_CHECKSUM;
  if (!bounds_are_sane(s))
    return HG_SEGMENT_BAD_BOUNDS;
  if (!kind_is_sane(s))
    return HG_SEGMENT_BAD_KIND;
  return HG_SEGMENT_OK;
}
