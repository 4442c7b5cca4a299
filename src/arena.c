/*
 * arena.c - serving blocks: free lists, split, coalesce, large segments.
 *
 * Free blocks sit in size-segregated doubly linked lists (bins) whose
 * links live in the blocks' first data bytes, mangled with the key and
 * their own address. Every link is checked before it is followed: it must
 * name a sound free block of the same arena that links back.
 *
 * Invariants kept under the arena lock:
 *   - blocks tile each segment; no two free blocks are adjacent;
 *   - every free block of a shared segment is in exactly one bin, the one
 *     hg_bin_of_block() names, and its bit in `nonempty` is set;
 *   - segment used_blocks/used_bytes count the used blocks.
 * A block that a free merges into its predecessor keeps its old header,
 * sealed as free, so that a second free of it is still named double-free.
 * Freed blocks first wait in the arena's quarantine (quarantined state,
 * poisoned data, still counted as used in their segment). When they leave
 * it, small ones stay quarantined on the arena's recycling stacks for an
 * allocation of their exact size; the others, and those the stacks have
 * no room for, are merged and filed.
 */
#define _GNU_SOURCE
#include "arena.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "check.h"
#include "guard.h"
#include "options.h"
#include "os.h"
#include "quarantine.h"
#include "recycle.h"
#include "runtime.h"
#include "sizeclass.h"

struct hg_arena {
  pthread_mutex_t lock;
  uint32_t index;
  uint32_t empty_segments; /* shared segments with no used block, kept */
  uint64_t nonempty[HG_BIN_WORDS];
  struct hg_block *bins[HG_BIN_COUNT];
  struct hg_quarantine quarantine;
  struct hg_recycle recycle;
} __attribute__((aligned(64)));

static struct hg_arena arenas[HG_MAX_ARENAS];
static unsigned arena_count;
static _Atomic unsigned next_arena;
static HG_TLS struct hg_arena *tls_arena;

/* Keep at most this many empty shared segments per arena. */
#define EMPTY_SEGMENTS_KEPT 1u

enum { LINK_NEXT = 0, LINK_PREV = 1 };

void hg_arenas_init(unsigned count)
{
  arena_count = count;
  for (unsigned i = 0; i < count; i++) {
    pthread_mutex_init(&arenas[i].lock, NULL);
    arenas[i].index = i;
  }
}

static struct hg_arena *arena_for_thread(void)
{
  struct hg_arena *a = tls_arena;
  if (__builtin_expect(a != NULL, 1))
    return a;
  unsigned i = atomic_fetch_add_explicit(&next_arena, 1, memory_order_relaxed);
  return tls_arena = &arenas[i % arena_count];
}

/* Granules for a block holding request bytes and at least one canary byte. */
static uint32_t granules_for(size_t request)
{
  size_t g = (HG_HEADER_SIZE + request + 1 + HG_GRANULE - 1) >> HG_GRANULE_SHIFT;
  return g < HG_MIN_BLOCK_GRANULES ? HG_MIN_BLOCK_GRANULES : (uint32_t)g;
}

/*
 * Recycling (recycle.h) hands blocks out again in a predictable order, so
 * random_placement turns it off.
 */
static bool recycling_on(void)
{
  return !hg_options.random_placement;
}

static bool is_large_request(size_t request, size_t alignment)
{
  return request >= HG_LARGE_THRESHOLD || alignment >= HG_LARGE_THRESHOLD / 4 ||
         request + alignment >= HG_LARGE_THRESHOLD - HG_HEADER_SIZE;
}

/* ---- free lists ---- */

static uintptr_t *link_slot(const struct hg_block *b, int which)
{
  return (uintptr_t *)hg_block_data(b) + which;
}

static struct hg_block *link_get(const struct hg_block *b, int which)
{
  uintptr_t *slot = link_slot(b, which);
  return hg_link_demangle(&hg_key, slot, *slot);
}

static void link_set(struct hg_block *b, int which, const struct hg_block *to)
{
  uintptr_t *slot = link_slot(b, which);
  *slot = hg_link_mangle(&hg_key, slot, to);
}

static void bin_mark(struct hg_arena *a, unsigned bin, bool nonempty)
{
  uint64_t bit = (uint64_t)1 << (bin % 64);
  if (nonempty)
    a->nonempty[bin / 64] |= bit;
  else
    a->nonempty[bin / 64] &= ~bit;
}

static void bin_insert(struct hg_arena *a, struct hg_block *b)
{
  unsigned bin = hg_bin_of_block(b->size);
  struct hg_block *head = a->bins[bin];
  link_set(b, LINK_NEXT, head);
  link_set(b, LINK_PREV, NULL);
  if (head)
    link_set(head, LINK_PREV, b);
  a->bins[bin] = b;
  bin_mark(a, bin, true);
}

/*
 * A link read from a free block may have been overwritten (a write after
 * free, an overflow): it must name a sound free block of this arena that
 * links back to `from`.
 */
static bool check_link_target(const struct hg_arena *a, const struct hg_block *from,
                              const struct hg_block *to, int back,
                              struct heapguard_finding *f)
{
  if (!to)
    return true;
  struct hg_segment *s = hg_segment_lookup((uintptr_t)to);
  if (!s || hg_segment_is_large(s) || s->owner != a->index)
    return hg_fail(f, HEAPGUARD_METADATA_CORRUPTION, "free-list link", from, 0,
                (uintptr_t)to);
  if (!hg_check_free_block(s, to, f))
    return false;
  if (link_get(to, back) != from)
    return hg_fail(f, HEAPGUARD_METADATA_CORRUPTION, "free-list back link", to,
                (uintptr_t)from, (uintptr_t)link_get(to, back));
  return true;
}

/* The free block b can be unlinked: both links and its bin agree. */
static bool bin_links_sound(const struct hg_arena *a, const struct hg_block *b,
                            struct heapguard_finding *f)
{
  unsigned bin = hg_bin_of_block(b->size);
  struct hg_block *next = link_get(b, LINK_NEXT);
  struct hg_block *prev = link_get(b, LINK_PREV);
  if (!check_link_target(a, b, next, LINK_PREV, f) ||
      !check_link_target(a, b, prev, LINK_NEXT, f))
    return false;
  if (!prev && a->bins[bin] != b)
    return hg_fail(f, HEAPGUARD_METADATA_CORRUPTION, "free-list head", b,
                   (uintptr_t)a->bins[bin], (uintptr_t)b);
  return true;
}

static bool bin_remove(struct hg_arena *a, struct hg_block *b,
                       struct heapguard_finding *f)
{
  if (!bin_links_sound(a, b, f))
    return false;
  unsigned bin = hg_bin_of_block(b->size);
  struct hg_block *next = link_get(b, LINK_NEXT);
  struct hg_block *prev = link_get(b, LINK_PREV);
  if (prev)
    link_set(prev, LINK_NEXT, next);
  else
    a->bins[bin] = next;
  if (next)
    link_set(next, LINK_PREV, prev);
  if (!a->bins[bin])
    bin_mark(a, bin, false);
  return true;
}

static int first_nonempty_bin(const struct hg_arena *a, unsigned from)
{
  for (unsigned w = from / 64; w < HG_BIN_WORDS; w++) {
    uint64_t bits = a->nonempty[w];
    if (w == from / 64)
      bits &= ~(uint64_t)0 << (from % 64);
    if (bits)
      return (int)(w * 64 + (unsigned)__builtin_ctzll(bits));
  }
  return -1;
}

/* ---- blocks ---- */

static void init_free_header(struct hg_block *b, uint32_t size, uint32_t prev_size,
                             uint32_t free_stack)
{
  b->size = size;
  b->prev_size = prev_size;
  b->tail = free_stack;
  b->state = HG_STATE_FREE;
  b->kind = 0;
  b->stack = 0;
  hg_block_seal(&hg_key, b);
}

static struct hg_block *fresh_segment_block(struct hg_arena *a)
{
  struct hg_segment *s = hg_segment_create_shared(a->index);
  if (!s)
    return NULL;
  struct hg_block *b = hg_segment_first(s);
  init_free_header(b, (s->end - s->first_block) >> HG_GRANULE_SHIFT, 0, 0);
  a->empty_segments++;
  return b;
}

static bool flush_recycled(struct hg_arena *a, struct heapguard_finding *f);

/* NULL with f->bug_class unset means the OS has no memory to give. */
static struct hg_block *take_free_block(struct hg_arena *a, uint32_t g,
                                        struct heapguard_finding *f)
{
  int bin = first_nonempty_bin(a, hg_bin_for_request(g));
  /* Before more memory is mapped, what recycling holds back is merged. */
  if (bin < 0 && a->recycle.blocks) {
    if (!flush_recycled(a, f))
      return NULL;
    bin = first_nonempty_bin(a, hg_bin_for_request(g));
  }
  if (bin < 0)
    return fresh_segment_block(a);
  struct hg_block *b = a->bins[bin];
  bool sound = hg_check_free_block(hg_segment_of_shared(b), b, f);
  if (sound && (b->size < g || hg_bin_of_block(b->size) != (unsigned)bin))
    sound = hg_fail(f, HEAPGUARD_METADATA_CORRUPTION, "free block in the wrong bin", b,
                    (uint64_t)bin, hg_bin_of_block(b->size));
  if (sound && bin_remove(a, b, f))
    return b;
  /* The list is damaged: keep all of it out of use from now on. */
  a->bins[bin] = NULL;
  bin_mark(a, bin, false);
  return NULL;
}

/* Rewrite the prev link of the block after b, which must agree first. */
static bool relink_next(struct hg_segment *s, struct hg_block *b, uint32_t new_prev,
                        struct heapguard_finding *f)
{
  struct hg_block *n = hg_block_next(b);
  if ((char *)n == hg_segment_end(s))
    return true;
  if (!hg_check_next_link(s, b, f))
    return false;
  n->prev_size = new_prev;
  hg_block_seal(&hg_key, n);
  return true;
}

/* Give the part of b beyond g granules back to the free lists. */
static bool split_tail(struct hg_arena *a, struct hg_segment *s, struct hg_block *b,
                       uint32_t g, struct heapguard_finding *f)
{
  uint32_t rest = b->size - g;
  if (rest < HG_MIN_BLOCK_GRANULES)
    return true;
  if (!relink_next(s, b, rest, f))
    return false;
  b->size = g;
  struct hg_block *r = hg_block_next(b);
  init_free_header(r, rest, g, 0);
  bin_insert(a, r);
  return true;
}

/* Move *bp forward to an aligned data address; the skipped front is freed. */
/* Give the first lead granules of *bp back to the free lists; *bp moves up. */
static bool split_front(struct hg_arena *a, struct hg_segment *s, struct hg_block **bp,
                        uint32_t lead, struct heapguard_finding *f)
{
  struct hg_block *b = *bp;
  uint32_t rest = b->size - lead;
  if (!relink_next(s, b, rest, f))
    return false;
  struct hg_block *nb = (struct hg_block *)((char *)b + ((size_t)lead << HG_GRANULE_SHIFT));
  init_free_header(b, lead, b->prev_size, 0);
  bin_insert(a, b);
  nb->size = rest;
  nb->prev_size = lead;
  *bp = nb;
  return true;
}

/* Move *bp forward to an aligned data address; the skipped front is freed. */
static bool split_front_for_alignment(struct hg_arena *a, struct hg_segment *s,
                                      struct hg_block **bp, size_t alignment,
                                      struct heapguard_finding *f)
{
  uintptr_t data = (uintptr_t)hg_block_data(*bp);
  uintptr_t aligned = (data + alignment - 1) & ~(uintptr_t)(alignment - 1);
  while (aligned != data &&
         (aligned - data) >> HG_GRANULE_SHIFT < HG_MIN_BLOCK_GRANULES)
    aligned += alignment;
  if (aligned == data)
    return true;
  return split_front(a, s, bp, (uint32_t)((aligned - data) >> HG_GRANULE_SHIFT), f);
}

/*
 * random_placement: cut the block from the end of the free block instead
 * of its start, half of the time, so that where a block lands next to
 * another is not predictable from the order of allocations.
 */
static HG_TLS uint64_t tls_placement_random;

static bool coin_flip(void)
{
  uint64_t x = tls_placement_random;
  if (!x)
    x = hg_key.link ^ (uintptr_t)&tls_placement_random;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  tls_placement_random = x;
  return x & 1;
}

static bool place_randomly(struct hg_arena *a, struct hg_segment *s, struct hg_block **bp,
                           uint32_t g, struct heapguard_finding *f)
{
  uint32_t spare = (*bp)->size - g;
  if (spare < HG_MIN_BLOCK_GRANULES || !coin_flip())
    return true;
  return split_front(a, s, bp, spare, f);
}

static void account_used(struct hg_arena *a, struct hg_segment *s, size_t bytes)
{
  if (s->used_blocks == 0)
    a->empty_segments--;
  s->used_blocks++;
  s->used_bytes += bytes;
  hg_segment_seal(&hg_key, s);
}

static void mark_used(struct hg_block *b, size_t request, uint16_t kind, uint32_t stack)
{
  b->tail = (uint32_t)(hg_block_capacity(b) - request);
  b->state = HG_STATE_USED;
  b->kind = kind;
  b->stack = stack;
  hg_block_seal(&hg_key, b);
  hg_tail_write(&hg_key, b);
}

/* Where a quarantined block of arena a was freed (a slow scan: reports only). */
static uint32_t quarantined_free_stack(const struct hg_arena *a, const struct hg_block *b)
{
  uint32_t id = hg_quarantine_free_stack(&a->quarantine, b);
  return id ? id : hg_recycle_free_stack(&a->recycle, b);
}

/*
 * Where the blocks a finding names were allocated and freed, for the
 * report; a is the arena that may hold the block, or NULL.
 */
static void note_stacks(const struct hg_arena *a, struct heapguard_finding *f)
{
  const struct hg_block *b = (const struct hg_block *)f->block;
  if (b && hg_block_verify(&hg_key, b) == HG_HEADER_OK) {
    if (b->state != HG_STATE_FREE)
      f->alloc_stack = f->alloc_stack ? f->alloc_stack : b->stack;
    if (b->state == HG_STATE_FREE)
      f->free_stack = b->tail;
    else if (b->state == HG_STATE_QUARANTINED && !f->free_stack && a)
      f->free_stack = quarantined_free_stack(a, b);
  }
  const struct hg_block *n = (const struct hg_block *)f->neighbour;
  if (n && hg_block_verify(&hg_key, n) == HG_HEADER_OK && n->state != HG_STATE_FREE)
    f->neighbour_stack = n->stack;
}

/* ---- large blocks ---- */

#define LARGE_CACHE_SLOTS 8u
#define LARGE_CACHE_BYTES ((size_t)64 << 20)

static pthread_mutex_t large_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hg_segment *large_cache[LARGE_CACHE_SLOTS];
static size_t large_cache_bytes;

/* A cached segment fits if it holds the request without wasting half of it. */
static bool cached_segment_fits(const struct hg_segment *s, size_t request,
                                size_t alignment)
{
  return hg_segment_large_fits(s, request, alignment) &&
         s->map_size <= 2 * (request + 4 * HG_PAGE_SIZE + alignment);
}

/*
 * Dedicated segments are created, changed, cached and destroyed only under
 * large_lock, so a heap walk or a fork that holds it sees each one whole.
 */
static struct hg_segment *large_cache_take(size_t request, size_t alignment)
{
  struct hg_segment *found = NULL;
  for (unsigned i = 0; i < LARGE_CACHE_SLOTS; i++) {
    struct hg_segment *s = large_cache[i];
    if (s && cached_segment_fits(s, request, alignment)) {
      large_cache[i] = NULL;
      large_cache_bytes -= s->map_size;
      found = s;
      break;
    }
  }
  return found;
}

/* Keep s for reuse if the cache has room; false when s must be unmapped. */
static bool large_cache_put(struct hg_segment *s)
{
  bool kept = false;
  for (unsigned i = 0; i < LARGE_CACHE_SLOTS && !kept; i++) {
    if (!large_cache[i] && large_cache_bytes + s->map_size <= LARGE_CACHE_BYTES) {
      large_cache[i] = s;
      large_cache_bytes += s->map_size;
      kept = true;
    }
  }
  return kept;
}

static void *large_alloc(size_t request, size_t alignment, uint16_t kind,
                         uint32_t stack, bool *zeroed)
{
  pthread_mutex_lock(&large_lock);
  struct hg_segment *s = large_cache_take(request, alignment);
  *zeroed = s == NULL;
  if (!s)
    s = hg_segment_create_large(request, alignment);
  struct hg_block *b = NULL;
  if (s) {
    hg_segment_place_large(s, request, alignment);
    b = hg_segment_first(s);
    mark_used(b, request, kind, stack);
    s->used_blocks = 1;
    s->used_bytes = hg_block_bytes(b);
    hg_segment_seal(&hg_key, s);
  }
  pthread_mutex_unlock(&large_lock);
  return b ? hg_block_data(b) : NULL;
}

/* After taking large_lock: is s still the registered segment of p? */
static bool large_still_mapped(const struct hg_segment *s, const void *p,
                               struct heapguard_finding *f)
{
  if (hg_segment_lookup((uintptr_t)p) == s)
    return true;
  f->segment = 0;
  return hg_fail(f, HEAPGUARD_INVALID_FREE, "pointer not allocated by heapguard", NULL, 0,
                 (uintptr_t)p);
}

static bool large_check(const struct hg_segment *s, const void *p, uint16_t kind,
                        size_t size, struct heapguard_finding *f)
{
  if (!large_still_mapped(s, p, f) || !hg_check_segment(s, f))
    return false;
  const struct hg_block *b = hg_segment_first(s);
  if (hg_block_data(b) != p) {
    hg_diagnose_pointer(s, (uintptr_t)p, f);
    return false;
  }
  return hg_check_live_block(s, b, f) && hg_check_kind(b, kind, size, f);
}

static bool large_free(struct hg_segment *s, void *p, uint16_t kind, size_t size,
                       uint32_t free_stack, struct heapguard_finding *f)
{
  pthread_mutex_lock(&large_lock);
  bool ok = large_check(s, p, kind, size, f);
  if (ok) {
    struct hg_block *b = hg_segment_first(s);
    init_free_header(b, b->size, 0, free_stack);
    s->used_blocks = 0;
    s->used_bytes = 0;
    hg_segment_seal(&hg_key, s);
    if (!large_cache_put(s))
      hg_segment_destroy(s);
  } else {
    note_stacks(NULL, f);
  }
  pthread_mutex_unlock(&large_lock);
  return ok;
}

/* ---- the entry points ---- */

/*
 * What a block leaving the quarantine must pass, when its wait ends and
 * again when it is handed out from a recycling stack. A damaged block
 * stays out of use, and false comes back with *f.
 */
static bool check_leaving_quarantine(struct hg_arena *a, struct hg_freed e,
                                     struct heapguard_finding *f)
{
  struct hg_segment *s = hg_segment_of_shared(e.block);
  if (hg_check_segment(s, f) && hg_check_reusable_block(s, e.block, f))
    return true;
  f->free_stack = f->block == (uintptr_t)e.block ? e.free_stack : 0;
  note_stacks(a, f);
  return false;
}

/* A recycled block of exactly g granules, checked; NULL when none is kept. */
static struct hg_block *take_recycled(struct hg_arena *a, uint32_t g,
                                      struct heapguard_finding *f)
{
  struct hg_freed e;
  if (!hg_recycle_pop(&a->recycle, g, &e) || !check_leaving_quarantine(a, e, f))
    return NULL;
  return e.block;
}

/* A block of g granules cut from the free lists, aligned, counted as used. */
static struct hg_block *carve_block(struct hg_arena *a, uint32_t g, size_t alignment,
                                    struct heapguard_finding *f)
{
  uint32_t search = alignment > HG_GRANULE
                      ? g + (uint32_t)(alignment >> HG_GRANULE_SHIFT) + HG_MIN_BLOCK_GRANULES
                      : g;
  struct hg_block *b = take_free_block(a, search, f);
  struct hg_segment *s = b ? hg_segment_of_shared(b) : NULL;
  bool ok = b && hg_check_segment(s, f) &&
            (alignment <= HG_GRANULE ||
             split_front_for_alignment(a, s, &b, alignment, f)) &&
            (!hg_options.random_placement || alignment > HG_GRANULE ||
             place_randomly(a, s, &b, g, f)) &&
            split_tail(a, s, b, g, f);
  if (!ok)
    return NULL;
  account_used(a, s, hg_block_bytes(b));
  return b;
}

/*
 * A block of g granules for the caller to mark used: a recycled one of
 * that exact size when there is one (it is still counted as used), else
 * one carved from the free lists. NULL with f set on damage.
 */
static struct hg_block *take_block(struct hg_arena *a, uint32_t g, size_t alignment,
                                   struct heapguard_finding *f)
{
  if (alignment <= HG_GRANULE && recycling_on()) {
    struct hg_block *b = take_recycled(a, g, f);
    if (b || f->bug_class != HEAPGUARD_OK)
      return b;
  }
  return carve_block(a, g, alignment, f);
}

void *hg_heap_alloc_zeroable(size_t request, size_t alignment, uint16_t kind,
                             uint32_t stack, bool *zeroed, struct heapguard_finding *f)
{
  *zeroed = false;
  void *guarded = hg_guard_enabled ? hg_guard_alloc(request, alignment, kind, stack) : NULL;
  if (guarded)
    return *zeroed = true, guarded;
  if (is_large_request(request, alignment))
    return large_alloc(request, alignment, kind, stack, zeroed);
  struct hg_arena *a = arena_for_thread();
  pthread_mutex_lock(&a->lock);
  struct hg_block *b = take_block(a, granules_for(request), alignment, f);
  if (b)
    mark_used(b, request, kind, stack);
  pthread_mutex_unlock(&a->lock);
  if (!b) {
    if (f->bug_class == HEAPGUARD_OK)
      errno = ENOMEM;
    return NULL;
  }
  return hg_block_data(b);
}

void *hg_heap_alloc(size_t request, size_t alignment, uint16_t kind,
                    struct heapguard_finding *f)
{
  bool zeroed;
  return hg_heap_alloc_zeroable(request, alignment, kind, 0, &zeroed, f);
}

static bool pointer_is_granule_aligned(const void *p)
{
  return ((uintptr_t)p & (HG_GRANULE - 1)) == 0;
}

/* Find the segment of p in the registry, never reading memory at p. */
static struct hg_segment *locate(const void *p, struct heapguard_finding *f)
{
  struct hg_segment *s = hg_segment_lookup((uintptr_t)p);
  bool after_metadata = s && (const char *)p > (const char *)s;
  if (after_metadata && (const char *)p < hg_segment_end(s))
    return s;
  /* A segment's recorded end is only believed once its metadata verifies. */
  if (after_metadata && !hg_check_segment(s, f))
    return NULL;
  f->segment = (uintptr_t)s;
  hg_fail(f, HEAPGUARD_INVALID_FREE, "pointer not allocated by heapguard", NULL, 0,
       (uintptr_t)p);
  return NULL;
}

static struct hg_arena *arena_of(const struct hg_segment *s, struct heapguard_finding *f)
{
  if (s->owner < arena_count)
    return &arenas[s->owner];
  hg_check_segment(s, f);
  if (f->bug_class == HEAPGUARD_OK)
    hg_fail(f, HEAPGUARD_SEGMENT_CORRUPTION, "segment owner", NULL, arena_count,
         s->owner);
  return NULL;
}

/* The checks free() runs on a block of a shared segment, under the lock. */
static bool check_shared(const struct hg_segment *s, const void *p, uint16_t kind,
                         size_t size, struct heapguard_finding *f)
{
  if (!hg_check_segment(s, f))
    return false;
  const struct hg_block *b = hg_block_of(p);
  struct heapguard_finding probe = *f;
  if (!pointer_is_granule_aligned(p) || !hg_check_header(s, b, &probe)) {
    hg_diagnose_pointer(s, (uintptr_t)p, f);
    return false;
  }
  return hg_check_live_block_body(s, b, f) && hg_check_kind(b, kind, size, f);
}

/*
 * Merge b with free neighbours and file the result; b's own header is
 * already checked. Everything a merge reads or rewrites (both links, the
 * free neighbours' list links) is checked before anything is written.
 */
static bool release_block(struct hg_arena *a, struct hg_segment *s,
                          struct hg_block *b, uint32_t free_stack,
                          struct heapguard_finding *f)
{
  if (!hg_check_next_link(s, b, f) || !hg_check_prev_link(s, b, f))
    return false;
  struct hg_block *next = hg_block_next(b);
  struct hg_block *prev = b->prev_size ? hg_block_prev(b) : NULL;
  bool merge_next = (char *)next != hg_segment_end(s) && next->state == HG_STATE_FREE;
  bool merge_prev = prev && prev->state == HG_STATE_FREE;
  if ((merge_next && !(bin_links_sound(a, next, f) && hg_check_next_link(s, next, f))) ||
      (merge_prev && !bin_links_sound(a, prev, f)))
    return false;

  s->used_blocks--;
  s->used_bytes -= hg_block_bytes(b);
  hg_segment_seal(&hg_key, s);
  init_free_header(b, b->size, b->prev_size, free_stack);

  struct hg_block *start = b;
  uint32_t size = b->size;
  if (merge_next) {
    bin_remove(a, next, f);
    size += next->size;
  }
  if (merge_prev) {
    bin_remove(a, prev, f);
    start = prev;
    size += prev->size;
  }
  if (start->size != size) {
    start->size = size;
    hg_block_seal(&hg_key, start);
  }
  struct hg_block *after = hg_block_next(start);
  if ((char *)after != hg_segment_end(s)) {
    after->prev_size = size;
    hg_block_seal(&hg_key, after);
  }
  if (s->used_blocks == 0 && a->empty_segments >= EMPTY_SEGMENTS_KEPT) {
    hg_segment_destroy(s);
    return true;
  }
  if (s->used_blocks == 0)
    a->empty_segments++;
  bin_insert(a, start);
  return true;
}


/* This arena's share of the quarantine budget. */
static size_t quarantine_budget(void)
{
  return hg_options.quarantine_bytes / arena_count;
}

/*
 * Check a block whose wait is over, then keep it for reuse at its size
 * (when recycle is set and a stack has room) or merge it into the free
 * lists. Its segment is resealed by a merge: that is checked first too.
 */
static bool release_quarantined(struct hg_arena *a, struct hg_freed e, bool recycle,
                                struct heapguard_finding *f)
{
  if (!check_leaving_quarantine(a, e, f))
    return false;
  if (recycle && hg_recycle_push(&a->recycle, e))
    return true;
  return release_block(a, hg_segment_of_shared(e.block), e.block, e.free_stack, f);
}

/*
 * Sweeps go on past a damaged block; the first finding is the one kept in
 * *f, across the sweeps of one call too.
 */
static bool keep_first_finding(bool ok, const struct heapguard_finding *found,
                               struct heapguard_finding *f)
{
  if (!ok && f->bug_class == HEAPGUARD_OK)
    *f = *found;
  return ok;
}

/*
 * Release the oldest quarantined blocks until the quarantine is within its
 * budget; small ones go to the recycling stacks when recycle is set and
 * they have room. False with the first finding in *f.
 */
static bool drain_quarantine(struct hg_arena *a, size_t budget, bool recycle,
                             struct heapguard_finding *f)
{
  bool clean = true;
  while (hg_quarantine_over(&a->quarantine, budget)) {
    struct hg_freed e = hg_quarantine_pop(&a->quarantine);
    struct heapguard_finding found = { .operation = f->operation, .address = f->address };
    clean = keep_first_finding(release_quarantined(a, e, recycle, &found), &found, f) &&
            clean;
  }
  return clean;
}

/* Merge every recycled block back into the free lists. */
static bool flush_recycled(struct hg_arena *a, struct heapguard_finding *f)
{
  bool clean = true;
  struct hg_freed e;
  while (hg_recycle_pop_any(&a->recycle, &e)) {
    struct heapguard_finding found = { .operation = f->operation, .address = f->address };
    clean = keep_first_finding(release_quarantined(a, e, false, &found), &found, f) && clean;
  }
  return clean;
}

static bool quarantine_block(struct hg_arena *a, struct hg_segment *s, struct hg_block *b,
                             uint32_t free_stack, struct heapguard_finding *f)
{
  b->state = HG_STATE_QUARANTINED;
  hg_block_seal(&hg_key, b);
  if (!hg_quarantine_push(&a->quarantine, b, free_stack))
    return release_block(a, s, b, free_stack, f);
  return drain_quarantine(a, quarantine_budget(), recycling_on(), f);
}

bool hg_heap_free(void *p, uint16_t kind, size_t size, uint32_t free_stack,
                  struct heapguard_finding *f)
{
  struct hg_segment *s = locate(p, f);
  if (!s)
    return false;
  if (hg_segment_is_guard(s))
    return hg_guard_free(p, kind, size, free_stack, f);
  if (hg_segment_is_large(s))
    return large_free(s, p, kind, size, free_stack, f);
  struct hg_arena *a = arena_of(s, f);
  if (!a)
    return false;
  pthread_mutex_lock(&a->lock);
  bool ok = check_shared(s, p, kind, size, f);
  if (ok)
    ok = hg_options.quarantine_bytes
           ? quarantine_block(a, s, hg_block_of(p), free_stack, f)
           : release_block(a, s, hg_block_of(p), free_stack, f);
  else
    note_stacks(a, f);
  pthread_mutex_unlock(&a->lock);
  return ok;
}

bool hg_heap_inspect(const void *p, struct hg_block *copy,
                     struct heapguard_finding *f)
{
  struct hg_segment *s = locate(p, f);
  if (!s)
    return false;
  if (hg_segment_is_guard(s))
    return hg_guard_inspect(p, copy, f);
  if (hg_segment_is_large(s)) {
    pthread_mutex_lock(&large_lock);
    bool ok = large_check(s, p, HG_KIND_ANY, 0, f);
    if (ok)
      *copy = *hg_block_of(p);
    else
      note_stacks(NULL, f);
    pthread_mutex_unlock(&large_lock);
    return ok;
  }
  struct hg_arena *a = arena_of(s, f);
  if (!a)
    return false;
  pthread_mutex_lock(&a->lock);
  bool ok = check_shared(s, p, HG_KIND_ANY, 0, f);
  if (ok)
    *copy = *hg_block_of(p);
  else
    note_stacks(a, f);
  pthread_mutex_unlock(&a->lock);
  return ok;
}

/* Grow b into its free successor, or shrink it, keeping the data in place. */
static bool resize_shared(struct hg_arena *a, struct hg_segment *s, struct hg_block *b,
                          size_t request, struct heapguard_finding *f)
{
  uint32_t g = granules_for(request);
  struct hg_block *n = hg_block_next(b);
  size_t old_bytes = hg_block_bytes(b);
  if (g > b->size) {
    bool next_is_free = (char *)n != hg_segment_end(s) && n->state == HG_STATE_FREE;
    if (!next_is_free || b->size + n->size < g)
      return false;
    if (!bin_remove(a, n, f))
      return false;
    uint32_t merged = b->size + n->size;
    if (!relink_next(s, n, merged, f))
      return false;
    b->size = merged;
  }
  if (!split_tail(a, s, b, g, f))
    return false;
  if (hg_block_bytes(b) < old_bytes) {
    /* The freed remainder may now touch a free block: merge them. */
    struct hg_block *r = hg_block_next(b);
    struct hg_block *after = hg_block_next(r);
    if ((char *)after != hg_segment_end(s) && after->state == HG_STATE_FREE &&
        r->state == HG_STATE_FREE) {
      if (!bin_remove(a, r, f) || !bin_remove(a, after, f))
        return false;
      uint32_t merged = r->size + after->size;
      if (!relink_next(s, after, merged, f))
        return false;
      r->size = merged;
      hg_block_seal(&hg_key, r);
      bin_insert(a, r);
    }
  }
  mark_used(b, request, b->kind, b->stack);
  s->used_bytes = s->used_bytes - old_bytes + hg_block_bytes(b);
  hg_segment_seal(&hg_key, s);
  return true;
}

static bool resize_large(struct hg_block *b, size_t request)
{
  size_t capacity = hg_block_capacity(b);
  if (request >= capacity || request < capacity / 2)
    return false;
  mark_used(b, request, b->kind, b->stack);
  return true;
}

bool hg_heap_resize_in_place(void *p, size_t request, size_t *old_request,
                             struct heapguard_finding *f)
{
  struct hg_segment *s = locate(p, f);
  if (!s)
    return false;
  if (hg_segment_is_guard(s))
    return hg_guard_resize_in_place(p, request, old_request, f);
  struct hg_block *b = hg_block_of(p);
  if (hg_segment_is_large(s)) {
    pthread_mutex_lock(&large_lock);
    bool ok = large_check(s, p, HG_KIND_MALLOC, 0, f);
    if (ok)
      *old_request = hg_block_requested(b);
    else
      note_stacks(NULL, f);
    ok = ok && is_large_request(request, HG_GRANULE) && resize_large(b, request);
    pthread_mutex_unlock(&large_lock);
    return ok;
  }
  struct hg_arena *a = arena_of(s, f);
  if (!a)
    return false;
  pthread_mutex_lock(&a->lock);
  bool ok = check_shared(s, p, HG_KIND_MALLOC, 0, f);
  if (ok)
    *old_request = hg_block_requested(b);
  else
    note_stacks(a, f);
  ok = ok && !is_large_request(request, HG_GRANULE) && resize_shared(a, s, b, request, f);
  pthread_mutex_unlock(&a->lock);
  return ok;
}

struct check_all_state {
  struct heapguard_finding *f;
  bool ok;
};

static void check_one_segment(struct hg_segment *s, void *arg)
{
  struct check_all_state *st = arg;
  if (!st->ok)
    return;
  if (hg_segment_is_guard(s)) {
    st->ok = hg_guard_check_segment(s, st->f);
    return;
  }
  struct hg_arena *a = hg_segment_is_large(s) ? NULL : arena_of(s, st->f);
  if (!hg_segment_is_large(s) && !a) {
    st->ok = false;
    return;
  }
  st->ok = hg_check_segment_blocks(s, st->f);
  if (!st->ok)
    note_stacks(a, st->f);
}

struct used_visit {
  hg_live_visitor fn;
  void *arg;
};

/* Walk a segment's blocks by their sizes, trusting only sound headers. */
static void visit_used_blocks(struct hg_segment *s, void *arg)
{
  struct used_visit *v = arg;
  if (hg_segment_is_guard(s)) {
    hg_guard_for_each_used(s, v->fn, v->arg);
    return;
  }
  struct heapguard_finding f = { 0 };
  if (hg_check_segment(s, &f)) {
    struct hg_block *b = hg_segment_first(s);
    while ((char *)b < hg_segment_end(s) && hg_check_header(s, b, &f)) {
      if (b->state == HG_STATE_USED)
        v->fn((uintptr_t)hg_block_data(b), hg_block_requested(b), b->stack, v->arg);
      b = hg_block_next(b);
    }
  }
}

bool hg_heap_drain_quarantines(struct heapguard_finding *f)
{
  bool clean = true;
  for (unsigned i = 0; i < arena_count; i++) {
    pthread_mutex_lock(&arenas[i].lock);
    clean = drain_quarantine(&arenas[i], 0, false, f) && clean;
    clean = flush_recycled(&arenas[i], f) && clean;
    pthread_mutex_unlock(&arenas[i].lock);
  }
  if (hg_guard_enabled)
    hg_guard_drain_quarantine();
  return clean;
}

/*
 * Whole-heap walks hold every arena lock, the large lock and the guard lock
 * (in the order fork uses), so no segment is created, changed or unmapped
 * under them.
 */
void hg_heap_lock_all(void)
{
  for (unsigned i = 0; i < arena_count; i++)
    pthread_mutex_lock(&arenas[i].lock);
  pthread_mutex_lock(&large_lock);
  hg_guard_lock();
}

void hg_heap_unlock_all(void)
{
  hg_guard_unlock();
  pthread_mutex_unlock(&large_lock);
  for (unsigned i = 0; i < arena_count; i++)
    pthread_mutex_unlock(&arenas[i].lock);
}

void hg_heap_for_each_used(hg_live_visitor fn, void *arg)
{
  struct used_visit v = { fn, arg };
  hg_heap_lock_all();
  hg_segment_for_each(visit_used_blocks, &v);
  hg_heap_unlock_all();
}

/*
 * Every free list of arena a: each entry a sound free block of the bin's
 * size range whose links agree. A list longer than any heap could hold is
 * a cycle made by damaged links.
 */
#define MAX_LIST_WALK ((size_t)1 << 28)

static bool check_free_lists(const struct hg_arena *a, struct heapguard_finding *f)
{
  for (unsigned bin = 0; bin < HG_BIN_COUNT; bin++) {
    size_t steps = 0;
    for (const struct hg_block *b = a->bins[bin]; b; b = link_get(b, LINK_NEXT)) {
      if (!hg_check_free_block(hg_segment_of_shared(b), b, f) || !bin_links_sound(a, b, f))
        return false;
      if (hg_bin_of_block(b->size) != bin || ++steps > MAX_LIST_WALK)
        return hg_fail(f, HEAPGUARD_METADATA_CORRUPTION, "free list", b, bin,
                       hg_bin_of_block(b->size));
    }
  }
  return true;
}

bool hg_heap_check_all(struct heapguard_finding *f)
{
  struct check_all_state st = { f, true };
  hg_heap_lock_all();
  hg_segment_for_each(check_one_segment, &st);
  for (unsigned i = 0; st.ok && i < arena_count; i++)
    st.ok = check_free_lists(&arenas[i], f);
  hg_heap_unlock_all();
  return st.ok;
}

void hg_arenas_fork_prepare(void)
{
  hg_heap_lock_all();
}

void hg_arenas_fork_parent(void)
{
  hg_heap_unlock_all();
}

void hg_arenas_fork_child(void)
{
  pthread_mutex_init(&large_lock, NULL);
  for (unsigned i = 0; i < arena_count; i++)
    pthread_mutex_init(&arenas[i].lock, NULL);
}
