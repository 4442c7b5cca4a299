/*
 * segment.c - mapping segments and the registry that finds them.
 *
 * Segments are sealed (segment_meta.c) before they are registered, and
 * their metadata page is read-only from then on.
 *
 * The registry is a two-level table over the 47-bit user address space,
 * one slot per HG_SEGMENT_SIZE chunk. Readers are lock-free (acquire
 * loads); writers take registry_lock. Leaves are mapped on demand and
 * never freed, so a reader never sees a leaf disappear.
 */
#include "segment.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "os.h"
#include "runtime.h"

#define CHUNK_BITS (HG_REGISTRY_ADDRESS_BITS - HG_SEGMENT_SHIFT)
#define LEAF_BITS HG_REGISTRY_LEAF_BITS
#define ROOT_BITS (CHUNK_BITS - LEAF_BITS)
#define LEAF_SLOTS ((size_t)1 << LEAF_BITS)
#define ROOT_SLOTS ((size_t)1 << ROOT_BITS)

typedef hg_registry_slot registry_slot;

HG_LARGE_BSS registry_slot *hg_registry_root[ROOT_SLOTS];
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint32_t segment_seq;

static size_t chunk_of(uintptr_t addr)
{
  return addr >> HG_SEGMENT_SHIFT;
}

/*
 * A leaf maps LEAF_SLOTS chunks; after its slots, a bitmap marks the
 * chunks where a segment starts, so that walks skip the empty slots.
 */
#define STARTS_WORDS (LEAF_SLOTS / 64)
#define LEAF_BYTES                                                                   \
  ((LEAF_SLOTS * sizeof(registry_slot) + STARTS_WORDS * 8 + HG_PAGE_SIZE - 1) &      \
   ~(size_t)(HG_PAGE_SIZE - 1))

static uint64_t *starts_of(registry_slot *leaf)
{
  return (uint64_t *)(leaf + LEAF_SLOTS);
}

/* The roots that have a leaf, for the same reason. */
static uint64_t roots_used[(ROOT_SLOTS + 63) / 64];

static registry_slot *leaf_of(size_t chunk, bool create)
{
  registry_slot *leaf =
    __atomic_load_n(&hg_registry_root[chunk >> LEAF_BITS], __ATOMIC_ACQUIRE);
  if (leaf || !create)
    return leaf;
  leaf = hg_os_map_fenced(LEAF_BYTES);
  if (leaf) {
    size_t r = chunk >> LEAF_BITS;
    __atomic_store_n(&hg_registry_root[r], leaf, __ATOMIC_RELEASE);
    __atomic_fetch_or(&roots_used[r / 64], (uint64_t)1 << (r % 64), __ATOMIC_RELEASE);
  }
  return leaf;
}

/* Point every chunk of [base, base+size) at s (or at NULL to unregister). */
static bool registry_set(uintptr_t base, size_t size, struct hg_segment *s)
{
  bool ok = true;
  pthread_mutex_lock(&registry_lock);
  for (size_t c = chunk_of(base); c <= chunk_of(base + size - 1); c++) {
    registry_slot *leaf = leaf_of(c, s != NULL);
    if (!leaf) {
      ok = false;
      break;
    }
    __atomic_store_n(&leaf[c & (LEAF_SLOTS - 1)], s, __ATOMIC_RELEASE);
  }
  registry_slot *first = leaf_of(chunk_of(base), false);
  if (ok && first) {
    size_t i = chunk_of(base) & (LEAF_SLOTS - 1);
    uint64_t bit = (uint64_t)1 << (i % 64);
    if (s)
      __atomic_fetch_or(&starts_of(first)[i / 64], bit, __ATOMIC_RELEASE);
    else
      __atomic_fetch_and(&starts_of(first)[i / 64], ~bit, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&registry_lock);
  return ok;
}

static uintptr_t mapping_base(const struct hg_segment *s)
{
  return (uintptr_t)s - HG_PAGE_SIZE;
}

/*
 * Map size bytes and fence them: a segment whose guard pages cannot be set
 * up is not handed out (the kernel refuses mprotect when the map count is
 * exhausted, which is the same condition as running out of memory).
 */
static struct hg_segment *map_fenced(size_t map_size, uint16_t kind, uint16_t arena)
{
  char *base = hg_os_map_aligned(map_size, HG_SEGMENT_SIZE);
  if (!base)
    return NULL;
  if (!hg_os_protect_none(base, HG_PAGE_SIZE) ||
      !hg_os_protect_none(base + map_size - HG_PAGE_SIZE, HG_PAGE_SIZE)) {
    hg_os_unmap(base, map_size);
    errno = ENOMEM;
    return NULL;
  }
  struct hg_segment *s = (struct hg_segment *)(base + HG_PAGE_SIZE);
  s->magic = HG_SEGMENT_MAGIC;
  s->map_size = map_size;
  s->first_block = HG_SEGMENT_META_SIZE;
  s->end = map_size - 2 * HG_PAGE_SIZE;
  s->kind = kind;
  s->arena = arena;
  s->seq = atomic_fetch_add_explicit(&segment_seq, 1, memory_order_relaxed) + 1;
  return s;
}

/* Segments are mapped and unmapped on slow paths only: these count them. */
static _Atomic uint64_t mapped_now, mapped_peak;

static void count_mapped(size_t bytes)
{
  uint64_t now = atomic_fetch_add(&mapped_now, bytes) + bytes;
  uint64_t peak = atomic_load(&mapped_peak);
  while (now > peak && !atomic_compare_exchange_weak(&mapped_peak, &peak, now))
    ;
}

void hg_segment_mapped_bytes(uint64_t *now, uint64_t *peak)
{
  *now = atomic_load(&mapped_now);
  *peak = atomic_load(&mapped_peak);
}

/* Seal, make the metadata page read-only, and only then register. */
static struct hg_segment *seal_and_register(struct hg_segment *s)
{
  s->checksum = hg_segment_expected_checksum(&hg_key, s, (uintptr_t)s);
  if (!hg_os_protect_read(s, HG_SEGMENT_META_SIZE) ||
      !registry_set(mapping_base(s), s->map_size, s)) {
    hg_os_unmap((void *)mapping_base(s), s->map_size);
    errno = ENOMEM;
    return NULL;
  }
  count_mapped(s->map_size);
  return s;
}

struct hg_segment *hg_segment_create_shared(uint16_t arena)
{
  struct hg_segment *s = map_fenced(HG_SEGMENT_SIZE, HG_SEGMENT_SHARED, arena);
  return s ? seal_and_register(s) : NULL;
}

static size_t round_up(size_t v, size_t to)
{
  return (v + to - 1) & ~(to - 1);
}

/* Room after the metadata for a block of request bytes at this alignment. */
static size_t large_room(size_t request, size_t alignment)
{
  size_t slack = alignment > HG_GRANULE ? alignment : 0;
  return HG_HEADER_SIZE + request + 1 + slack;
}

/* The block's data ends 1 byte (the smallest trailing canary) before the guard page. */
static void lay_out_large(struct hg_segment *s, size_t request, size_t alignment)
{
  uintptr_t end = (uintptr_t)s + s->end;
  uintptr_t data = (end - request - 1) & ~(uintptr_t)(alignment - 1);
  s->first_block = data - HG_HEADER_SIZE - (uintptr_t)s;
}

struct hg_segment *hg_segment_create_large(size_t request, size_t alignment)
{
  if (request > HG_MAX_REQUEST) {
    errno = ENOMEM;
    return NULL;
  }
  size_t readable = HG_SEGMENT_META_SIZE + round_up(large_room(request, alignment),
                                                    HG_PAGE_SIZE);
  struct hg_segment *s = map_fenced(readable + 2 * HG_PAGE_SIZE, HG_SEGMENT_LARGE, 0);
  if (!s)
    return NULL;
  lay_out_large(s, request, alignment);
  return seal_and_register(s);
}

bool hg_segment_large_fits(const struct hg_segment *s, size_t request, size_t alignment)
{
  return s->end - HG_SEGMENT_META_SIZE >= large_room(request, alignment);
}

bool hg_segment_place_large(struct hg_segment *s, size_t request, size_t alignment)
{
  if (!hg_os_protect_rw(s, HG_SEGMENT_META_SIZE))
    return false;
  lay_out_large(s, request, alignment);
  s->checksum = hg_segment_expected_checksum(&hg_key, s, (uintptr_t)s);
  return hg_os_protect_read(s, HG_SEGMENT_META_SIZE);
}

/* A segment whose metadata is followed by an out-of-band table and slots. */
static struct hg_segment *create_with_table(uint16_t kind, size_t map_size,
                                            uint32_t first_block, uint32_t end)
{
  struct hg_segment *s = map_fenced(map_size, kind, 0);
  if (!s)
    return NULL;
  s->first_block = first_block;
  s->end = end;
  return seal_and_register(s);
}

struct hg_segment *hg_segment_create_guard(size_t map_size, uint32_t first_block,
                                           uint32_t end)
{
  return create_with_table(HG_SEGMENT_GUARD, map_size, first_block, end);
}

struct hg_segment *hg_segment_create_zero(size_t map_size, uint32_t first_block,
                                          uint32_t end)
{
  return create_with_table(HG_SEGMENT_ZERO, map_size, first_block, end);
}

void hg_segment_destroy(struct hg_segment *s)
{
  uintptr_t base = mapping_base(s);
  size_t size = s->map_size;
  registry_set(base, size, NULL);
  hg_os_unmap((void *)base, size);
  atomic_fetch_sub(&mapped_now, size);
}

/* Chunks past the first of a large segment name the same segment. */
static struct hg_segment *segment_starting_at(size_t c)
{
  registry_slot *leaf = leaf_of(c, false);
  if (!leaf)
    return NULL;
  struct hg_segment *s =
    __atomic_load_n(&leaf[c & (LEAF_SLOTS - 1)], __ATOMIC_ACQUIRE);
  return s && chunk_of(mapping_base(s)) == c ? s : NULL;
}

void hg_segment_for_each(hg_segment_visitor fn, void *arg)
{
  for (size_t rw = 0; rw < sizeof roots_used / sizeof *roots_used; rw++) {
    uint64_t roots = __atomic_load_n(&roots_used[rw], __ATOMIC_ACQUIRE);
    for (; roots; roots &= roots - 1) {
      size_t r = rw * 64 + (size_t)__builtin_ctzll(roots);
      registry_slot *leaf = __atomic_load_n(&hg_registry_root[r], __ATOMIC_ACQUIRE);
      for (size_t w = 0; w < STARTS_WORDS; w++) {
        uint64_t bits = __atomic_load_n(&starts_of(leaf)[w], __ATOMIC_ACQUIRE);
        for (; bits; bits &= bits - 1) {
          size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
          struct hg_segment *s = __atomic_load_n(&leaf[i], __ATOMIC_ACQUIRE);
          if (s)
            fn(s, arg);
        }
      }
    }
  }
}

struct hg_segment *hg_segment_neighbour(const struct hg_segment *s, int dir)
{
  size_t c = chunk_of(mapping_base(s));
  size_t last = ROOT_SLOTS * LEAF_SLOTS;
  for (c += (size_t)dir; c < last; c += (size_t)dir) {
    if (!__atomic_load_n(&hg_registry_root[c >> LEAF_BITS], __ATOMIC_ACQUIRE)) {
      /* Skip a whole missing leaf at once. */
      c = dir > 0 ? (c | (LEAF_SLOTS - 1)) : (c & ~(LEAF_SLOTS - 1));
      continue;
    }
    struct hg_segment *n = segment_starting_at(c);
    if (n && n != s)
      return n;
  }
  return NULL;
}

void hg_segment_fork_prepare(void)
{
  pthread_mutex_lock(&registry_lock);
}

void hg_segment_fork_parent(void)
{
  pthread_mutex_unlock(&registry_lock);
}

void hg_segment_fork_child(void)
{
  pthread_mutex_init(&registry_lock, NULL);
}
