/*
 * segment_meta.c - sealing and verification of segment metadata.
 *
 * Pure, like block.c: shared with the dump inspector, which verifies the
 * metadata of a dead process's segments with the key from the dump.
 */
#include "segment.h"

#include "checksum.h"

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

static inline __attribute__((always_inline)) uint32_t
segment_checksum_with(hg_crc32c_step step, const struct hg_key *key,
                      const struct hg_segment *s, uintptr_t addr)
{
  uint32_t crc = ~key->checksum;
  crc = step(crc, addr);
  crc = step(crc, s->magic);
  crc = step(crc, s->map_size);
  crc = step(crc, s->first_block);
  crc = step(crc, s->end);
  crc = step(crc, (uint64_t)s->kind | (uint64_t)s->arena << 16 | (uint64_t)s->seq << 32);
  crc = step(crc, s->reserved[0]);
  crc = step(crc, s->reserved[1]);
  crc = step(crc, s->reserved2);
  return crc;
}

HG_CRC32C_DISPATCH(segment_checksum,
                   (const struct hg_key *key, const struct hg_segment *s, uintptr_t addr),
                   key, s, addr)

uint32_t hg_segment_expected_checksum(const struct hg_key *key,
                                      const struct hg_segment *s,
                                      uintptr_t addr)
{
  return segment_checksum_dispatch(key, s, addr);
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
  return (s->kind == HG_SEGMENT_LARGE || s->kind == HG_SEGMENT_GUARD) && s->arena == 0;
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
