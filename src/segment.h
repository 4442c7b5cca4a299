/*
 * segment.h - segments: the mmap'd regions all memory comes from.
 *
 * A segment is one mapping aligned to HG_SEGMENT_SIZE:
 *
 *   [guard page][struct hg_segment ... blocks ...][guard page]
 *
 * The metadata opens the first readable page; blocks tile the range
 * [first_block, end) exactly. Shared segments (HG_SEGMENT_SIZE) belong to
 * an arena; a dedicated segment holds one large block placed so that the
 * block's data ends just before the trailing guard page.
 *
 * Every segment is entered in the registry, a two-level table indexed by
 * address / HG_SEGMENT_SIZE, so that "is this pointer ours?" is answered
 * without reading the memory at the pointer.
 */
#ifndef HG_SEGMENT_H
#define HG_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"

#define HG_SEGMENT_MAGIC 0x5447534748ull /* "HGSGT" */
#define HG_OWNER_LARGE 0xffffffffu
/* A guard segment of guard-page mode (guard.c): slots, not blocks. */
#define HG_OWNER_GUARD 0xfffffffeu

struct hg_segment {
  uint64_t magic;        /* HG_SEGMENT_MAGIC */
  uint64_t map_size;     /* bytes mapped, both guard pages included */
  uint64_t first_block;  /* offset of the first block from this struct */
  uint64_t end;          /* offset of the end of the block area */
  uint32_t owner;        /* arena index, or HG_OWNER_LARGE */
  uint32_t seq;          /* creation number, for reports and dumps */
  uint64_t used_bytes;   /* bytes in used blocks, headers included */
  uint64_t used_blocks;
  uint32_t reserved;     /* zero */
  uint32_t checksum;     /* keyed, over the address and every field above */
};

static_assert(sizeof(struct hg_segment) == 64, "segment layout");

/* Blocks start here; keeps the first block's data granule aligned. */
#define HG_SEGMENT_META_SIZE 64u
static_assert(sizeof(struct hg_segment) <= HG_SEGMENT_META_SIZE, "metadata fits");

enum hg_segment_fault {
  HG_SEGMENT_OK = 0,
  HG_SEGMENT_BAD_MAGIC,
  HG_SEGMENT_BAD_CHECKSUM,
  HG_SEGMENT_BAD_BOUNDS,
};

const char *hg_segment_fault_name(enum hg_segment_fault f);

uint32_t hg_segment_expected_checksum(const struct hg_key *key,
                                      const struct hg_segment *s,
                                      uintptr_t addr);
enum hg_segment_fault hg_segment_verify_at(const struct hg_key *key,
                                           const struct hg_segment *s,
                                           uintptr_t addr);

static inline enum hg_segment_fault
hg_segment_verify(const struct hg_key *key, const struct hg_segment *s)
{
  return hg_segment_verify_at(key, s, (uintptr_t)s);
}

static inline void hg_segment_seal(const struct hg_key *key,
                                   struct hg_segment *s)
{
  s->checksum = hg_segment_expected_checksum(key, s, (uintptr_t)s);
}

static inline struct hg_block *hg_segment_first(const struct hg_segment *s)
{
  return (struct hg_block *)((char *)s + s->first_block);
}

static inline char *hg_segment_end(const struct hg_segment *s)
{
  return (char *)s + s->end;
}

static inline bool hg_segment_is_large(const struct hg_segment *s)
{
  return s->owner == HG_OWNER_LARGE;
}

static inline bool hg_segment_is_guard(const struct hg_segment *s)
{
  return s->owner == HG_OWNER_GUARD;
}

/* Map a segment; NULL with errno ENOMEM when the OS refuses. */
struct hg_segment *hg_segment_create_shared(uint32_t owner);
struct hg_segment *hg_segment_create_large(size_t request, size_t alignment);
/*
 * A guard segment of map_size bytes whose slot area starts first_block
 * bytes after the metadata and ends end bytes after it; everything but the
 * first readable page is left to guard.c to protect.
 */
struct hg_segment *hg_segment_create_guard(size_t map_size, uint32_t first_block,
                                           uint32_t end);
void hg_segment_destroy(struct hg_segment *s);

/* Whether a dedicated segment can hold request bytes at this alignment. */
bool hg_segment_large_fits(const struct hg_segment *s, size_t request, size_t alignment);
/*
 * Lay out the one block of a dedicated segment so that its data ends just
 * before the trailing guard page; the caller fills in and seals the block.
 */
void hg_segment_place_large(struct hg_segment *s, size_t request, size_t alignment);

/* The shared segment a block lives in: shared segments are aligned. */
static inline struct hg_segment *hg_segment_of_shared(const void *p)
{
  return (struct hg_segment *)(((uintptr_t)p & ~(uintptr_t)(HG_SEGMENT_SIZE - 1)) +
                               HG_PAGE_SIZE);
}

/* The registry: which segment, if any, contains addr. */
struct hg_segment *hg_segment_lookup(uintptr_t addr);

/* A block in use, as the whole-heap walks report it: its data, size, stack. */
typedef void (*hg_live_visitor)(uintptr_t data, size_t requested, uint32_t stack,
                                void *arg);

/* Visit every registered segment, in address order. */
typedef void (*hg_segment_visitor)(struct hg_segment *s, void *arg);
void hg_segment_for_each(hg_segment_visitor fn, void *arg);

/* Registered segments just below and above s, or NULL. */
struct hg_segment *hg_segment_neighbour(const struct hg_segment *s, int dir);

void hg_segment_fork_prepare(void);
void hg_segment_fork_parent(void);
void hg_segment_fork_child(void);

#endif
