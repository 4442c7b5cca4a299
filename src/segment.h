/*
 * segment.h - segments: the mmap'd regions all memory comes from.
 *
 * A segment is one mapping aligned to HG_SEGMENT_SIZE:
 *
 *   [guard page][metadata page, read-only][blocks ...][guard page]
 *
 * The metadata (struct hg_segment) opens the first readable page and is
 * the only thing on it; blocks tile the range [first_block, end) exactly.
 * Shared segments (HG_SEGMENT_SIZE) belong to an arena; a dedicated
 * segment holds one large block placed so that the block's data ends just
 * before the trailing guard page; a guard segment holds guard.c's slot
 * table and slots; a zero segment holds zero.c's table and PROT_NONE slots. A write to the metadata page faults (fault.c reports it).
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

/* What a segment holds; each kind is served by its own module (heap.h). */
enum hg_segment_kind {
  HG_SEGMENT_SHARED = 1, /* blocks of one arena (arena.c) */
  HG_SEGMENT_LARGE = 2,  /* one large block (large.c) */
  HG_SEGMENT_GUARD = 3,  /* guard-page slots (guard.c) */
  HG_SEGMENT_ZERO = 4,   /* zero-size blocks in PROT_NONE slots (zero.c) */
};
#define HG_SEGMENT_KINDS 5u

/*
 * Sealed once when the segment is set up and read-only from then on: no
 * counter lives here, so no allocation or free ever rewrites it, and any
 * reader, with or without a lock, can verify it. (A large segment taken
 * from the cache is laid out again and resealed while no block is in it.)
 */
struct hg_segment {
  uint64_t magic;        /* HG_SEGMENT_MAGIC */
  uint64_t map_size;     /* bytes mapped, both guard pages included */
  uint64_t first_block;  /* offset of the first block from this struct */
  uint64_t end;          /* offset of the end of the block area */
  uint16_t kind;         /* enum hg_segment_kind */
  uint16_t arena;        /* the arena a shared segment belongs to, else 0 */
  uint32_t seq;          /* creation number, for reports and dumps */
  uint64_t reserved[2];  /* zero */
  uint32_t reserved2;    /* zero */
  uint32_t checksum;     /* keyed, over the address and every field above */
};

static_assert(sizeof(struct hg_segment) == 64, "segment layout");
static_assert(offsetof(struct hg_segment, checksum) == 60, "checksum last");

/*
 * The metadata has the first readable page to itself, so that it can be
 * made read-only; blocks (or a guard segment's slot table) start after it.
 */
#define HG_SEGMENT_META_SIZE HG_PAGE_SIZE
static_assert(sizeof(struct hg_segment) <= HG_SEGMENT_META_SIZE, "metadata fits");

enum hg_segment_fault {
  HG_SEGMENT_OK = 0,
  HG_SEGMENT_BAD_MAGIC,
  HG_SEGMENT_BAD_CHECKSUM,
  HG_SEGMENT_BAD_BOUNDS,
  HG_SEGMENT_BAD_KIND,
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

static inline struct hg_block *hg_segment_first(const struct hg_segment *s)
{
  return (struct hg_block *)((char *)s + s->first_block);
}

static inline char *hg_segment_end(const struct hg_segment *s)
{
  return (char *)s + s->end;
}

/*
 * Map, lay out, seal and register a segment; its metadata page is
 * read-only when it is returned. NULL with errno ENOMEM when the OS
 * refuses. A shared segment is HG_SEGMENT_SIZE bytes of blocks of one
 * arena; a dedicated one holds one block of request bytes placed so that
 * its data ends just before the trailing guard page.
 */
struct hg_segment *hg_segment_create_shared(uint16_t arena);
struct hg_segment *hg_segment_create_large(size_t request, size_t alignment);
/*
 * A guard segment of map_size bytes whose slot area starts first_block
 * bytes after the metadata and ends end bytes after it; everything but the
 * metadata page is left to guard.c to protect.
 */
struct hg_segment *hg_segment_create_guard(size_t map_size, uint32_t first_block,
                                           uint32_t end);
/* The same for a zero segment (zero.h), whose slot area zero.c protects. */
struct hg_segment *hg_segment_create_zero(size_t map_size, uint32_t first_block,
                                          uint32_t end);
void hg_segment_destroy(struct hg_segment *s);

/*
 * The memory mappings (VMAs) a shared or dedicated segment costs: guard
 * page, read-only metadata, blocks, guard page.
 */
#define HG_SEGMENT_MAPPINGS 4u

/* Bytes of segments mapped now, and the most there have been at once. */
void hg_segment_mapped_bytes(uint64_t *now, uint64_t *peak);

/* Whether a dedicated segment can hold request bytes at this alignment. */
bool hg_segment_large_fits(const struct hg_segment *s, size_t request, size_t alignment);
/*
 * Lay a dedicated segment with no block in use out again for another
 * request, and reseal it; false when its metadata page cannot be made
 * writable (the segment is then to be destroyed).
 */
bool hg_segment_place_large(struct hg_segment *s, size_t request, size_t alignment);

/* The shared segment a block lives in: shared segments are aligned. */
static inline struct hg_segment *hg_segment_of_shared(const void *p)
{
  return (struct hg_segment *)(((uintptr_t)p & ~(uintptr_t)(HG_SEGMENT_SIZE - 1)) +
                               HG_PAGE_SIZE);
}

/*
 * The registry: which segment, if any, contains addr. Two levels over the
 * 47-bit user address space, one slot per HG_SEGMENT_SIZE chunk; readers
 * are lock-free (segment.c says how it is kept).
 */
#define HG_REGISTRY_ADDRESS_BITS 47u
#define HG_REGISTRY_LEAF_BITS 13u

/* Slots and leaves are read and written with __atomic operations only. */
typedef struct hg_segment *hg_registry_slot;
extern hg_registry_slot *hg_registry_root[(size_t)1 << (HG_REGISTRY_ADDRESS_BITS -
                                                         HG_SEGMENT_SHIFT -
                                                         HG_REGISTRY_LEAF_BITS)];

static inline struct hg_segment *hg_segment_lookup(uintptr_t addr)
{
  if (addr >> HG_REGISTRY_ADDRESS_BITS)
    return NULL;
  size_t chunk = addr >> HG_SEGMENT_SHIFT;
  hg_registry_slot *leaf =
    __atomic_load_n(&hg_registry_root[chunk >> HG_REGISTRY_LEAF_BITS], __ATOMIC_ACQUIRE);
  if (!leaf)
    return NULL;
  return __atomic_load_n(&leaf[chunk & (((size_t)1 << HG_REGISTRY_LEAF_BITS) - 1)],
                         __ATOMIC_ACQUIRE);
}

/* Visit every registered segment, in address order. */
typedef void (*hg_segment_visitor)(struct hg_segment *s, void *arg);
void hg_segment_for_each(hg_segment_visitor fn, void *arg);

/* Registered segments just below and above s, or NULL. */
struct hg_segment *hg_segment_neighbour(const struct hg_segment *s, int dir);

void hg_segment_fork_prepare(void);
void hg_segment_fork_parent(void);
void hg_segment_fork_child(void);

#endif
