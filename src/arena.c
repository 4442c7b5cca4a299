/*
 * arena.c - the boundary-tag heap of shared segments: free lists, split,
 * merge, resize in place, under one lock per arena.
 *
 * Threads are spread round-robin over the arenas; each arena owns its
 * shared segments and has its own lock, and a block is always merged back
 * into the arena that owns its segment. shared.c composes this with the
 * lock-free thread front (tcache.h) into the shared kind.
 *
 * Free blocks sit in size-segregated doubly linked lists (bins) whose
 * links live in the blocks' first data bytes, masked with a keyed function
 * of their own address. Every link is checked before it is followed: it
 * must name a sound free block of the same arena that links back.
 *
 * Invariants kept under the arena lock:
 *   - blocks tile each segment; no two free blocks are adjacent;
 *   - every free block of a shared segment is in exactly one bin, the one
 *     hg_bin_of_block() names, and its bit in `nonempty` is set; but for
 *     the arena's top: the last block of a segment, free, in no bin, its
 *     links masked NULLs (checked when it is taken, as a list's links),
 *     so that a block carved from fresh space costs no list work;
 *   - a segment is empty when one free block spans it; at most
 *     EMPTY_SEGMENTS_KEPT empty segments per arena stay mapped;
 *   - free blocks, and the prev link of every block, change only under
 *     the lock; a block in use or quarantined belongs to whoever holds it,
 *     so its other fields are read here through a snapshot;
 *   - no block of the newest segment was ever handed out beyond its
 *     fresh_from: each carve and each growth in place moves it past the
 *     block, so that calloc can trust that memory to read as zero.
 * A block that is merged into its predecessor keeps its old header, sealed
 * as free, so that a second free of it is still named double-free.
 */
#define _GNU_SOURCE
#include "arena.h"

#include <pthread.h>
#include <stdatomic.h>

#include "check.h"
#include "options.h"
#include "runtime.h"
#include "sizeclass.h"

/* The top's header and its two links: what top_image keeps. */
#define TOP_IMAGE_BYTES (HG_HEADER_SIZE + 2 * sizeof(uintptr_t))

struct hg_arena {
  pthread_mutex_t lock;
  uint16_t index;
  uint32_t empty_segments; /* shared segments with no used block, kept */
  struct hg_block *top; /* NULL when none, and always with random_placement */
  /*
   * The top's bytes as the arena last wrote them (its header, sealed, and
   * its links, masked NULLs): a carve that finds them unchanged, byte for
   * byte, need not compute their tags again; any difference, such as the
   * prev link a neighbour's split rewrote, takes the full check.
   */
  unsigned char top_image[TOP_IMAGE_BYTES];
  /*
   * Where the memory of the arena's newest segment that was never used
   * starts: from fresh_from + TOP_IMAGE_BYTES to that segment's end, it
   * still reads as the zeros mmap gave it (fresh_from may hold a free
   * block's header and links). NULL when there is no such segment.
   */
  char *fresh_from;
  uint64_t nonempty[HG_BIN_WORDS];
  struct hg_block *bins[HG_BIN_COUNT];
} __attribute__((aligned(64)));

static HG_LARGE_BSS struct hg_arena arenas[HG_MAX_ARENAS];
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
    arenas[i].index = (uint16_t)i;
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

/* The arena of a verified shared segment; its index is bounded by the count. */
static struct hg_arena *arena_of(const struct hg_segment *s, struct heapguard_finding *f)
{
  if (s->arena < arena_count)
    return &arenas[s->arena];
  f->segment = (uintptr_t)s;
  hg_fail(f, HG_CHECK_SEGMENT_KIND, NULL, arena_count, s->arena);
  return NULL;
}

static uint32_t segment_granules(const struct hg_segment *s)
{
  return (uint32_t)((s->end - s->first_block) >> HG_GRANULE_SHIFT);
}

/* A free block that spans its whole segment: the segment holds nothing. */
static bool spans_segment(const struct hg_segment *s, const struct hg_block *b)
{
  return b == hg_segment_first(s) && b->size == segment_granules(s);
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
  /* Segment metadata is read-only once registered: its kind and arena hold. */
  struct hg_segment *s = hg_segment_lookup((uintptr_t)to);
  if (!s || s->kind != HG_SEGMENT_SHARED || s->arena != a->index)
    return hg_fail(f, HG_CHECK_FREE_LIST_LINK, from, 0, (uintptr_t)to);
  if (!hg_check_free_block(&hg_key, s, to, f))
    return false;
  if (link_get(to, back) != from)
    return hg_fail(f, HG_CHECK_FREE_LIST_BACK_LINK, to, (uintptr_t)from,
                   (uintptr_t)link_get(to, back));
  return true;
}

/* A free block's two list links, unmasked: each read costs a tag. */
struct bin_links {
  struct hg_block *next, *prev;
};

static struct bin_links links_of(const struct hg_block *b)
{
  return (struct bin_links){ link_get(b, LINK_NEXT), link_get(b, LINK_PREV) };
}

/* The free block b, whose links are l, can be unlinked: both links and its bin agree. */
static bool bin_links_sound(const struct hg_arena *a, const struct hg_block *b,
                            struct bin_links l, struct heapguard_finding *f)
{
  unsigned bin = hg_bin_of_block(b->size);
  if (!check_link_target(a, b, l.next, LINK_PREV, f) ||
      !check_link_target(a, b, l.prev, LINK_NEXT, f))
    return false;
  if (!l.prev && a->bins[bin] != b)
    return hg_fail(f, HG_CHECK_FREE_LIST_HEAD, b, (uintptr_t)a->bins[bin], (uintptr_t)b);
  return true;
}

/*
 * Take b, whose links are l, out of its bin; l and the blocks it names
 * were found sound (bin_links_sound), by this caller or, for a block
 * whose bin neighbour was unlinked since, through that neighbour's check.
 */
static void bin_unlink(struct hg_arena *a, struct hg_block *b, struct bin_links l)
{
  unsigned bin = hg_bin_of_block(b->size);
  if (l.prev)
    link_set(l.prev, LINK_NEXT, l.next);
  else
    a->bins[bin] = l.next;
  if (l.next)
    link_set(l.next, LINK_PREV, l.prev);
  if (!a->bins[bin])
    bin_mark(a, bin, false);
}

/* The links of a free block in no list: both masked NULLs. */
static bool unlinked_sound(const struct hg_block *b, struct bin_links l,
                           struct heapguard_finding *f)
{
  if (l.next || l.prev)
    return hg_fail(f, HG_CHECK_FREE_LIST_LINK, b, 0, (uintptr_t)(l.next ? l.next : l.prev));
  return true;
}

/* The free block b, whose links are l, can be taken out of its bin or the top. */
static bool links_sound(const struct hg_arena *a, const struct hg_block *b, struct bin_links l,
                        struct heapguard_finding *f)
{
  return b == a->top ? unlinked_sound(b, l, f) : bin_links_sound(a, b, l, f);
}

/* Take b, whose links l are sound, out of its bin or the top. */
static void detach(struct hg_arena *a, struct hg_block *b, struct bin_links l)
{
  if (b == a->top)
    a->top = NULL;
  else
    bin_unlink(a, b, l);
}

/* A top (or one just replaced): a sound free block whose links are masked NULLs. */
static bool top_sound(const struct hg_block *t, struct heapguard_finding *f)
{
  return hg_check_free_block(&hg_key, hg_segment_of_shared(t), t, f) &&
         unlinked_sound(t, links_of(t), f);
}

/* The arena's top was just written, header and links: keep its image. */
static void remember_top(struct hg_arena *a)
{
  __builtin_memcpy(a->top_image, a->top, TOP_IMAGE_BYTES);
}

/*
 * The top t as top_sound would find it: as the arena wrote it, which is
 * compared first, three 16-byte words, else checked in full.
 */
static bool top_as_written(const struct hg_arena *a, const struct hg_block *t,
                           struct heapguard_finding *f)
{
  hg_v2u64 diff = { 0, 0 };
  for (size_t i = 0; i < TOP_IMAGE_BYTES; i += 16) {
    hg_v2u64 now, then;
    __builtin_memcpy(&now, (const unsigned char *)t + i, 16);
    __builtin_memcpy(&then, a->top_image + i, 16);
    diff |= now ^ then;
  }
  return (diff[0] | diff[1]) == 0 || top_sound(t, f);
}

/* Take the free block b out of its bin or the top, its links checked first. */
static bool unfile(struct hg_arena *a, struct hg_block *b, struct heapguard_finding *f)
{
  struct bin_links l = links_of(b);
  if (!links_sound(a, b, l, f))
    return false;
  detach(a, b, l);
  return true;
}

static bool ends_segment(const struct hg_segment *s, const struct hg_block *b)
{
  return (const char *)hg_block_next(b) == hg_segment_end(s);
}

/*
 * File the free block b, its header sealed: the last block of its segment
 * becomes the top, and the top it replaces, checked, goes to its bin; any
 * other block goes to its bin.
 */
static bool file_free(struct hg_arena *a, struct hg_segment *s, struct hg_block *b,
                      struct heapguard_finding *f)
{
  if (hg_options.random_placement || !ends_segment(s, b)) {
    bin_insert(a, b);
    return true;
  }
  struct hg_block *old = a->top;
  bool old_sound = !old || top_as_written(a, old, f);
  link_set(b, LINK_NEXT, NULL);
  link_set(b, LINK_PREV, NULL);
  a->top = b;
  remember_top(a);
  if (!old)
    return true;
  if (!old_sound)
    return false; /* damaged: it stays out of use */
  bin_insert(a, old);
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

/* Seal b as a free block of size granules; its prev link is left as it is. */
HG_TAG_TARGET static void init_free_header(struct hg_block *b, uint32_t size, uint32_t free_stack)
{
  b->size = size;
  hg_block_seal_free(&hg_key, b, free_stack);
}

/* ---- memory never used ---- */

static bool is_fresh_segment(const struct hg_arena *a, const struct hg_segment *s)
{
  return a->fresh_from && hg_segment_of_shared(a->fresh_from) == s;
}

/* Memory of s up to end is in use now, or was. */
static void note_used(struct hg_arena *a, const struct hg_segment *s, const char *end)
{
  if (is_fresh_segment(a, s) && end > a->fresh_from)
    a->fresh_from = (char *)end;
}

/*
 * Whether the data of b, just carved from s, reads as zero: b starts at
 * fresh_from or past it (a front split off for alignment), in memory
 * never used but for the links of the free block b was cut from, which
 * are cleared here. calloc then clears nothing, and the pages a program
 * never writes are never touched, as under glibc, whose calloc does not
 * clear memory fresh from the system either.
 */
static bool carved_zero(const struct hg_arena *a, const struct hg_segment *s, struct hg_block *b)
{
  if (!is_fresh_segment(a, s) || (char *)b < a->fresh_from)
    return false;
  if ((char *)b == a->fresh_from)
    __builtin_memset(hg_block_data(b), 0, TOP_IMAGE_BYTES - HG_HEADER_SIZE);
  return true;
}

/* A new segment's one free block, taken for use at once. */
static struct hg_block *fresh_segment_block(struct hg_arena *a)
{
  struct hg_segment *s = hg_segment_create_shared(a->index);
  if (!s)
    return NULL;
  struct hg_block *b = hg_segment_first(s);
  hg_block_set_prev(&hg_key, b, 0);
  init_free_header(b, segment_granules(s), 0);
  a->fresh_from = (char *)b;
  return b;
}

/*
 * The top, checked and taken, when it holds g granules; else (the top
 * going to its bin) a new segment's block. A damaged top stays out of use.
 */
static struct hg_block *take_top(struct hg_arena *a, uint32_t g, struct heapguard_finding *f)
{
  struct hg_block *b = a->top;
  if (!b)
    return fresh_segment_block(a);
  a->top = NULL; /* taken, or, damaged, kept out of use */
  if (!top_as_written(a, b, f))
    return NULL;
  struct hg_segment *s = hg_segment_of_shared(b);
  if (b->size < g) {
    bin_insert(a, b);
    return fresh_segment_block(a);
  }
  if (spans_segment(s, b))
    a->empty_segments--;
  return b;
}

/*
 * NULL with f->bug_class unset means the OS has no memory to give, or,
 * unless fresh, that no free list has a block that fits.
 */
static struct hg_block *take_free_block(struct hg_arena *a, uint32_t g, bool fresh,
                                        struct heapguard_finding *f)
{
  int bin = first_nonempty_bin(a, hg_bin_for_request(g));
  if (bin < 0)
    return fresh ? take_top(a, g, f) : NULL;
  struct hg_block *b = a->bins[bin];
  struct hg_segment *s = hg_segment_of_shared(b);
  bool sound = hg_check_free_block(&hg_key, s, b, f);
  if (sound && (b->size < g || hg_bin_of_block(b->size) != (unsigned)bin))
    sound = hg_fail(f, HG_CHECK_FREE_WRONG_BIN, b, (uint64_t)bin, hg_bin_of_block(b->size));
  if (sound && unfile(a, b, f)) {
    if (spans_segment(s, b))
      a->empty_segments--;
    return b;
  }
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
  if (!hg_check_next_link(&hg_key, s, b, f))
    return false;
  hg_block_set_prev(&hg_key, n, new_prev);
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
  hg_block_set_prev(&hg_key, r, g);
  init_free_header(r, rest, 0);
  return file_free(a, s, r, f);
}

/* Give the first lead granules of *bp back to the free lists; *bp moves up. */
static bool split_front(struct hg_arena *a, struct hg_segment *s, struct hg_block **bp,
                        uint32_t lead, struct heapguard_finding *f)
{
  struct hg_block *b = *bp;
  uint32_t rest = b->size - lead;
  if (!relink_next(s, b, rest, f))
    return false;
  struct hg_block *nb = (struct hg_block *)((char *)b + ((size_t)lead << HG_GRANULE_SHIFT));
  init_free_header(b, lead, 0);
  bin_insert(a, b);
  nb->size = rest;
  hg_block_set_prev(&hg_key, nb, lead);
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
    x = hg_tag_compute(&hg_key.tag, HG_TAG_BYTES, (uintptr_t)&tls_placement_random, 2, 0, 0).lo |
        1;
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

/* A block of g granules cut from the free lists, aligned; *zero: its data reads as zero. */
static struct hg_block *carve_block(struct hg_arena *a, uint32_t g, size_t alignment,
                                    bool fresh, bool *zero, struct heapguard_finding *f)
{
  uint32_t search = alignment > HG_GRANULE
                      ? g + (uint32_t)(alignment >> HG_GRANULE_SHIFT) + HG_MIN_BLOCK_GRANULES
                      : g;
  struct hg_block *b = take_free_block(a, search, fresh, f);
  struct hg_segment *s = b ? hg_segment_of_shared(b) : NULL;
  bool ok = b &&
            (alignment <= HG_GRANULE ||
             split_front_for_alignment(a, s, &b, alignment, f)) &&
            (!hg_options.random_placement || alignment > HG_GRANULE ||
             place_randomly(a, s, &b, g, f)) &&
            split_tail(a, s, b, g, f);
  if (!ok)
    return NULL;
  *zero = carved_zero(a, s, b);
  note_used(a, s, (const char *)hg_block_next(b));
  return b;
}

/*
 * Merge b with free neighbours and file the result; b's own header is
 * already checked. Everything a merge reads or rewrites (both links, the
 * free neighbours' list links) is checked before anything is written.
 */
HG_TAG_TARGET static bool release_block(struct hg_arena *a, struct hg_segment *s,
                          struct hg_block *b, uint32_t free_stack,
                          struct heapguard_finding *f)
{
  if (!hg_check_next_link(&hg_key, s, b, f) || !hg_check_prev_link(&hg_key, s, b, f))
    return false;
  struct hg_block *next = hg_block_next(b);
  struct hg_block *prev = b->prev_size ? hg_block_prev(b) : NULL;
  bool merge_next = (char *)next != hg_segment_end(s) && next->state == HG_STATE_FREE;
  bool merge_prev = prev && prev->state == HG_STATE_FREE;
  struct bin_links next_links = merge_next ? links_of(next) : (struct bin_links){ 0 };
  if ((merge_next && !(links_sound(a, next, next_links, f) &&
                       hg_check_next_link(&hg_key, s, next, f))) ||
      (merge_prev && !bin_links_sound(a, prev, links_of(prev), f)))
    return false;

  init_free_header(b, b->size, free_stack);
  struct hg_block *start = b;
  uint32_t size = b->size;
  if (merge_next) {
    detach(a, next, next_links);
    size += next->size;
  }
  if (merge_prev) {
    /*
     * Read again: unlinking next rewrote them if the two were neighbours
     * in a bin. prev is never the top, which ends its segment.
     */
    bin_unlink(a, prev, links_of(prev));
    start = prev;
    size += prev->size;
  }
  if (start->size != size) {
    start->size = size;
    hg_block_seal(&hg_key, start);
  }
  struct hg_block *after = hg_block_next(start);
  if ((char *)after != hg_segment_end(s))
    hg_block_set_prev(&hg_key, after, size);
  if (spans_segment(s, start)) {
    if (a->empty_segments >= EMPTY_SEGMENTS_KEPT) {
      if (is_fresh_segment(a, s))
        a->fresh_from = NULL;
      hg_segment_destroy(s);
      return true;
    }
    a->empty_segments++;
  }
  return file_free(a, s, start, f);
}

/* ---- what shared.c calls, with the arena's lock held ---- */

struct hg_arena *hg_arena_of_thread(void)
{
  return arena_for_thread();
}

unsigned hg_arena_index(const struct hg_arena *a)
{
  return a->index;
}

unsigned hg_arena_count(void)
{
  return arena_count;
}

unsigned hg_arenas_in_use(void)
{
  unsigned given = atomic_load_explicit(&next_arena, memory_order_relaxed);
  return given == 0 ? 1 : given < arena_count ? given : arena_count;
}

struct hg_arena *hg_arena_of(const struct hg_segment *s, struct heapguard_finding *f)
{
  return arena_of(s, f);
}

void hg_arena_lock(struct hg_arena *a)
{
  pthread_mutex_lock(&a->lock);
}

void hg_arena_unlock(struct hg_arena *a)
{
  pthread_mutex_unlock(&a->lock);
}

HG_TAG_TARGET struct hg_block *hg_arena_alloc(struct hg_arena *a, size_t request, size_t alignment,
                                uint16_t kind, uint32_t stack, bool fresh, bool *zeroed,
                                struct heapguard_finding *f)
{
  struct hg_block *b = carve_block(a, hg_granules_for(request), alignment, fresh, zeroed, f);
  if (b)
    hg_block_seal_used(&hg_key, b, request, kind, stack);
  return b;
}

static bool pointer_is_granule_aligned(const void *p)
{
  return ((uintptr_t)p & (HG_GRANULE - 1)) == 0;
}

/* The checks free() runs on a block of a shared segment, under the lock. */
bool hg_arena_check_live(const struct hg_segment *s, const void *p, uint16_t kind,
                         size_t size, struct heapguard_finding *f)
{
  const struct hg_block *b = hg_block_of(p);
  struct heapguard_finding probe = *f;
  if (!pointer_is_granule_aligned(p) || !hg_check_header(&hg_key, s, b, &probe)) {
    hg_diagnose_pointer(&hg_key, s, (uintptr_t)p, kind, f);
    return false;
  }
  return hg_check_live_block(&hg_key, s, b, f) &&
         hg_check_kind(b, b->kind, hg_block_requested(b), kind, size, f);
}

bool hg_arena_merge(struct hg_arena *a, struct hg_segment *s, struct hg_block *b,
                    uint32_t free_stack, struct heapguard_finding *f)
{
  return release_block(a, s, b, free_stack, f);
}

/* Merge the free block r with a free block right after it, if there is one. */
HG_TAG_TARGET static bool merge_with_free_successor(struct hg_arena *a, struct hg_segment *s,
                                      struct hg_block *r, struct heapguard_finding *f)
{
  struct hg_block *after = hg_block_next(r);
  if ((char *)after == hg_segment_end(s) || after->state != HG_STATE_FREE ||
      r->state != HG_STATE_FREE)
    return true;
  if (!unfile(a, r, f) || !unfile(a, after, f))
    return false;
  uint32_t merged = r->size + after->size;
  if (!relink_next(s, after, merged, f))
    return false;
  r->size = merged;
  hg_block_seal(&hg_key, r);
  return file_free(a, s, r, f);
}

/* Grow b into its free successor, or shrink it, keeping the data in place. */
HG_TAG_TARGET bool hg_arena_resize(struct hg_arena *a, struct hg_segment *s, struct hg_block *b,
                          size_t request, struct heapguard_finding *f)
{
  uint32_t g = hg_granules_for(request);
  struct hg_block *n = hg_block_next(b);
  size_t old_bytes = hg_block_bytes(b);
  if (g > b->size) {
    bool next_is_free = (char *)n != hg_segment_end(s) && n->state == HG_STATE_FREE;
    if (!next_is_free || b->size + n->size < g)
      return false;
    if (!unfile(a, n, f))
      return false;
    uint32_t merged = b->size + n->size;
    if (!relink_next(s, n, merged, f))
      return false;
    b->size = merged;
  }
  bool split = split_tail(a, s, b, g, f);
  /* Grown, it may reach into memory never used, which it now has. */
  note_used(a, s, (const char *)hg_block_next(b));
  if (!split)
    return false;
  /* The freed remainder may now touch a free block: merge them. */
  if (hg_block_bytes(b) < old_bytes && !merge_with_free_successor(a, s, hg_block_next(b), f))
    return false;
  hg_block_seal_used(&hg_key, b, request, b->kind, b->stack);
  return true;
}

void hg_arena_lock_all(void)
{
  for (unsigned i = 0; i < arena_count; i++)
    pthread_mutex_lock(&arenas[i].lock);
}

void hg_arena_unlock_all(void)
{
  for (unsigned i = 0; i < arena_count; i++)
    pthread_mutex_unlock(&arenas[i].lock);
}

void hg_arena_fork_child(void)
{
  for (unsigned i = 0; i < arena_count; i++)
    pthread_mutex_init(&arenas[i].lock, NULL);
}

/*
 * Every free list of every arena: each entry a sound free block of the
 * bin's size range whose links agree. A list longer than any heap could
 * hold is a cycle made by damaged links.
 */
#define MAX_LIST_WALK ((size_t)1 << 28)

static bool check_free_lists(const struct hg_arena *a, struct heapguard_finding *f)
{
  for (unsigned bin = 0; bin < HG_BIN_COUNT; bin++) {
    size_t steps = 0;
    struct bin_links l;
    for (const struct hg_block *b = a->bins[bin]; b; b = l.next) {
      if (!hg_check_free_block(&hg_key, hg_segment_of_shared(b), b, f))
        return false;
      l = links_of(b);
      if (!bin_links_sound(a, b, l, f))
        return false;
      if (hg_bin_of_block(b->size) != bin || ++steps > MAX_LIST_WALK)
        return hg_fail(f, HG_CHECK_FREE_LIST, b, bin, hg_bin_of_block(b->size));
    }
  }
  return true;
}

static bool check_top(const struct hg_arena *a, struct heapguard_finding *f)
{
  return !a->top || top_sound(a->top, f);
}

bool hg_arena_check_free_lists(struct heapguard_finding *f)
{
  for (unsigned i = 0; i < arena_count; i++)
    if (!check_free_lists(&arenas[i], f) || !check_top(&arenas[i], f))
      return false;
  return true;
}

