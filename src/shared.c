/*
 * shared.c - the shared kind: small and medium blocks in shared segments,
 * served by a lock-free fast path over the thread's cache (tcache.h) with
 * the boundary-tag heap of the arenas (arena.h) behind it.
 *
 * A free checks the block as it always has, without a lock, because the
 * caller holds the block and nothing else writes its header but the arena,
 * which changes only its prev link (one 8-byte store): the header's tag,
 * state, kind, sizes and trailing canary, the next block's prev link
 * (the header an overflow reaches first), and the block before, which
 * must end at it (a header replayed inside a live block does not). It then seals the block
 * quarantined, poisons it, and files it in the thread's cache. Whatever
 * the checks refuse is checked again under the arena's lock, which names
 * what is wrong with the pointer, and nothing is modified.
 *
 * An allocation of a small size takes a block of exactly its size that
 * has waited out the quarantine and was checked when it left it; its
 * poison is checked again, then it is sealed in use. Anything else (no
 * such block, alignment, the quarantine off, random placement, a stopped
 * world) goes to the arena under its lock.
 */
#define _GNU_SOURCE
#include "shared.h"

#include <errno.h>

#include "arena.h"
#include "check.h"
#include "describe.h"
#include "options.h"
#include "pool.h"
#include "runtime.h"
#include "tcache.h"

/* Where the blocks a finding names were allocated and freed, for the report. */
static void note_stacks(struct heapguard_finding *f)
{
  const struct hg_block *b = (const struct hg_block *)f->block;
  struct hg_block h;
  if (b) {
    hg_block_snapshot(b, &h);
    if (hg_block_verify_at(&hg_key, &h, f->block, NULL) == HG_HEADER_OK) {
      if (h.state != HG_STATE_FREE)
        f->alloc_stack = f->alloc_stack ? f->alloc_stack : h.stack;
      if (h.state == HG_STATE_FREE)
        f->free_stack = h.free_stack;
      else if (h.state == HG_STATE_QUARANTINED && !f->free_stack)
        f->free_stack = hg_tcache_find(b).free_stack;
    }
  }
  const struct hg_block *n = (const struct hg_block *)f->neighbour;
  if (n) {
    hg_block_snapshot(n, &h);
    if (hg_block_verify_at(&hg_key, &h, f->neighbour, NULL) == HG_HEADER_OK &&
        h.state != HG_STATE_FREE)
      f->neighbour_stack = h.stack;
  }
}

/* Blocks the thread caches keep: a size class, malloc's alignment, no random placement. */
static bool cacheable(uint32_t g, size_t alignment)
{
  return hg_tcache_class(g) < HG_TCACHE_CLASSES && alignment <= HG_GRANULE &&
         !hg_options.random_placement && hg_options.quarantine_bytes;
}

/* A free thread cache, outside any walk: NULL when the locked path must serve. */
static inline __attribute__((always_inline)) struct hg_tcache *enter_cache(void)
{
  struct hg_tcache *c = hg_tcache_get();
  if (!c)
    return NULL;
  while (!hg_tcache_enter(c))
    hg_tcache_wait_world();
  return c;
}

/*
 * The fast paths are compiled for the AES instructions (HG_TAG_TARGET),
 * so that the tag computations inline into them; they run the
 * instructions only where the CPU has them (tag.h).
 */

/*
 * A ready block that turned out damaged when it was to be reused: the
 * named checks say how, and it stays out of use. Cold: only on a bug.
 */
static __attribute__((noinline, cold)) void
report_damaged_ready(struct hg_block *b, struct hg_quarantined e, struct heapguard_finding *f)
{
  hg_finding_reset(f);
  if (hg_check_quarantined(&hg_key, hg_segment_of_shared(b), b, e.granules, f))
    hg_check_poison(b, HG_CHECK_POISON_AT_REUSE, f);
  f->free_stack = e.free_stack;
  note_stacks(f);
}

/*
 * A ready block of g granules for request bytes, or NULL: none ready (f
 * untouched), or damaged (f set; it stays out of use). It waited in the
 * cache since it was checked on its way out of the quarantine, so its
 * header (tag, state, the size it was filed with) and its poison are
 * checked again before it is sealed in use.
 */
HG_TAG_TARGET static struct hg_block *take_ready(struct hg_tcache *c, uint32_t g, size_t request,
                                   uint16_t kind, uint32_t stack, struct heapguard_finding *f)
{
  struct hg_quarantined e;
  if (!hg_tcache_take(c, hg_tcache_class(g), &e))
    return NULL;
  struct hg_block *b = e.item;
  struct hg_block h;
  hg_block_snapshot(b, &h);
  size_t capacity = ((size_t)g << HG_GRANULE_SHIFT) - HG_HEADER_SIZE;
  if (__builtin_expect(h.tag != (uint32_t)hg_mac_inline(&hg_key, &h, (uintptr_t)b).lo ||
                           h.state != HG_STATE_QUARANTINED || h.size != g ||
                           !hg_poison_intact(hg_block_data(b), capacity),
                       0)) {
    report_damaged_ready(b, e, f);
    return NULL;
  }
  struct hg_tag mac = hg_block_seal_half(
    &hg_key, b, g, h.free_stack, stack,
    hg_block_info_word(HG_STATE_USED, kind, (uint32_t)(capacity - request)));
  hg_tail_write(b, hg_tail_pattern(mac.hi));
  return b;
}

static struct hg_block *arena_alloc(struct hg_arena *a, size_t request, size_t alignment,
                                    uint16_t kind, uint32_t stack, bool fresh, bool *zeroed,
                                    struct heapguard_finding *f)
{
  hg_arena_lock(a);
  struct hg_block *b = hg_arena_alloc(a, request, alignment, kind, stack, fresh, zeroed, f);
  hg_arena_unlock(a);
  return b;
}

/*
 * Out of line: the fast path that falls back to it need not pay for its
 * frame. Before the arena carves memory it has not used yet, a pool
 * holding more than HG_POOL_KEPT_BYTES is merged back down to half that
 * (pool.h).
 */
static __attribute__((noinline)) void *alloc_locked(size_t request, size_t alignment, uint16_t kind, uint32_t stack,
                          bool *zeroed, struct heapguard_finding *f)
{
  hg_finding_reset(f);
  struct hg_arena *a = hg_arena_of_thread();
  unsigned index = hg_arena_index(a);
  bool fresh = hg_pool_bytes(index) <= HG_POOL_KEPT_BYTES;
  struct hg_block *b = arena_alloc(a, request, alignment, kind, stack, fresh, zeroed, f);
  if (!b && !fresh && f->bug_class == HEAPGUARD_OK &&
      hg_tcache_consolidate(index, HG_POOL_KEPT_BYTES / 2, f))
    b = arena_alloc(a, request, alignment, kind, stack, true, zeroed, f);
  if (!b) {
    if (f->bug_class == HEAPGUARD_OK)
      errno = ENOMEM;
    return NULL;
  }
  return hg_block_data(b);
}

HG_TAG_TARGET void *hg_shared_alloc(size_t request, size_t alignment, uint16_t kind, uint32_t stack,
                      bool *zeroed, struct heapguard_finding *f)
{
  *zeroed = false;
  uint32_t g = hg_granules_for(request);
  if (cacheable(g, alignment)) {
    struct hg_tcache *c = enter_cache();
    if (c) {
      struct hg_block *b = take_ready(c, g, request, kind, stack, f);
      hg_tcache_leave(c);
      if (b)
        return hg_block_data(b);
      if (f->bug_class != HEAPGUARD_OK)
        return NULL;
    }
  }
  return alloc_locked(request, alignment, kind, stack, zeroed, f);
}

/*
 * free's checks without the lock, on the block the caller holds: true when
 * b is a sound block in use, allocated with kind (and size bytes), whose
 * trailing canary and next block's prev link hold, and which the block
 * before it ends at (so that a header replayed inside a live block, sound
 * in itself, is not taken for a block). The caller holds the
 * block, so its fields other than the prev link (not read here) stay as
 * they are. Reads only inside the segment; any doubt goes to the locked
 * path, which says what is wrong.
 */
HG_TAG_TARGET static bool sound_to_free(const struct hg_segment *s, const struct hg_block *b,
                          uint16_t kind, size_t size)
{
  if (((uintptr_t)b & (HG_GRANULE - 1)) || (const char *)b < (const char *)hg_segment_first(s))
    return false;
  struct hg_tag mac = hg_mac_inline(&hg_key, b, (uintptr_t)b);
  size_t bytes = hg_block_bytes(b);
  if (b->tag != (uint32_t)mac.lo || b->state != HG_STATE_USED || b->size < HG_MIN_BLOCK_GRANULES ||
      (size_t)(hg_segment_end(s) - (const char *)b) < bytes || b->tail == 0 ||
      b->tail > bytes - HG_HEADER_SIZE)
    return false;
  size_t requested = bytes - HG_HEADER_SIZE - b->tail;
  if ((kind != HG_KIND_ANY && b->kind != kind) || (size && size != requested))
    return false;
  if (!hg_tail_intact(b, requested, hg_tail_pattern(mac.hi)) || !hg_prev_ends_at(&hg_key, s, b))
    return false;
  const struct hg_block *n = (const struct hg_block *)((const char *)b + bytes);
  if ((const char *)n == hg_segment_end(s))
    return true;
  uint64_t link = __atomic_load_n((const uint64_t *)n, __ATOMIC_RELAXED);
  return (uint32_t)link == b->size &&
         (uint32_t)(link >> 32) == hg_prev_tag_inline(&hg_key, b->size, (uintptr_t)n);
}

/* Seal a checked block quarantined and poison it. */
HG_TAG_TARGET static inline __attribute__((always_inline)) void quarantine(struct hg_block *b)
{
  hg_block_seal_half(&hg_key, b, b->size, b->free_stack, b->stack,
                     hg_block_info_as(b, HG_STATE_QUARANTINED));
  hg_poison_fill(hg_block_data(b), hg_block_capacity(b));
}

/*
 * File a quarantined block in the thread's cache; without one (no memory
 * for it), merge it at once.
 */
static bool file(struct hg_tcache *c, struct hg_segment *s, struct hg_block *b,
                 uint32_t free_stack, struct heapguard_finding *f)
{
  struct hg_quarantined e = { b, free_stack, b->size };
  if (c)
    return hg_tcache_file(c, e, f);
  struct hg_arena *a = hg_arena_of(s, f);
  if (!a)
    return false;
  hg_arena_lock(a);
  bool ok = hg_arena_merge(a, s, b, free_stack, f);
  hg_arena_unlock(a);
  return ok;
}

/*
 * The locked path of free: the arena's checks name what is wrong; a block
 * that passes them after all (the lock-free checks raced with a merge of
 * its neighbour) is released as usual. Out of line, as alloc_locked.
 */
HG_TAG_TARGET static __attribute__((noinline)) bool free_locked(struct hg_tcache *c, struct hg_segment *s, void *p, uint16_t kind,
                        size_t size, uint32_t free_stack, struct heapguard_finding *f)
{
  hg_finding_reset(f);
  struct hg_arena *a = hg_arena_of(s, f);
  if (!a)
    return false;
  hg_arena_lock(a);
  struct hg_block *b = hg_block_of(p);
  bool ok = hg_arena_check_live(s, p, kind, size, f);
  if (!ok) {
    note_stacks(f);
  } else if (!hg_options.quarantine_bytes) {
    ok = hg_arena_merge(a, s, b, free_stack, f);
  } else {
    quarantine(b);
  }
  hg_arena_unlock(a);
  if (ok && hg_options.quarantine_bytes)
    ok = file(c, s, b, free_stack, f);
  return ok;
}

HG_TAG_TARGET bool hg_shared_free(struct hg_segment *s, void *p, uint16_t kind, size_t size,
                    uint32_t free_stack, struct heapguard_finding *f)
{
  struct hg_block *b = hg_block_of(p);
  struct hg_tcache *c = hg_options.quarantine_bytes ? enter_cache() : NULL;
  if (c) {
    bool sound = sound_to_free(s, b, kind, size);
    if (sound)
      quarantine(b);
    hg_tcache_leave(c);
    if (sound)
      return hg_tcache_file(c, (struct hg_quarantined){ b, free_stack, b->size }, f);
  }
  return free_locked(c, s, p, kind, size, free_stack, f);
}

static bool shared_inspect(struct hg_segment *s, const void *p, struct hg_block_info *info,
                           struct heapguard_finding *f)
{
  struct hg_arena *a = hg_arena_of(s, f);
  if (!a)
    return false;
  hg_arena_lock(a);
  bool ok = hg_arena_check_live(s, p, HG_KIND_ANY, 0, f);
  if (ok) {
    const struct hg_block *b = hg_block_of(p);
    *info = (struct hg_block_info){ hg_block_requested(b), b->kind, b->stack };
  } else {
    note_stacks(f);
  }
  hg_arena_unlock(a);
  return ok;
}

static bool shared_resize(struct hg_segment *s, void *p, size_t request, size_t *old_request,
                          struct heapguard_finding *f)
{
  struct hg_arena *a = hg_arena_of(s, f);
  if (!a)
    return false;
  hg_arena_lock(a);
  bool ok = hg_arena_check_live(s, p, HG_KIND_MALLOC, 0, f);
  if (ok)
    *old_request = hg_block_requested(hg_block_of(p));
  else
    note_stacks(f);
  ok = ok && hg_arena_resize(a, s, hg_block_of(p), request, f);
  hg_arena_unlock(a);
  return ok;
}

/* Whole-heap walks run with the world stopped and every arena lock held. */
static void shared_check(const struct hg_segment *s, struct hg_findings *out)
{
  unsigned first = out->count;
  if (!hg_arena_of(s, hg_findings_next(out)))
    hg_findings_keep(out);
  else
    hg_check_segment_blocks(&hg_key, s, out);
  for (unsigned i = first; i < out->count; i++)
    note_stacks(&out->kept[i]);
}

/* Walk a segment's blocks by their sizes, trusting only sound headers. */
static void shared_visit(const struct hg_segment *s, hg_live_visitor fn, void *arg)
{
  struct heapguard_finding f = { 0 };
  struct hg_block *b = hg_segment_first(s);
  while ((char *)b < hg_segment_end(s) && hg_check_header(&hg_key, s, b, &f)) {
    if (b->state == HG_STATE_USED)
      fn((uintptr_t)hg_block_data(b), hg_block_requested(b), b->stack, arg);
    b = hg_block_next(b);
  }
}

/* Every block of s by its state, walked as far as its headers are sound. */
static void shared_count(const struct hg_segment *s, struct hg_heap_counts *c)
{
  struct heapguard_finding f = { 0 };
  c->segments++;
  c->mapped += s->map_size;
  c->mappings += HG_SEGMENT_MAPPINGS;
  const struct hg_block *b = hg_segment_first(s);
  while ((const char *)b < hg_segment_end(s) && hg_check_header(&hg_key, s, b, &f)) {
    if (b->state == HG_STATE_USED) {
      c->used_blocks++;
      c->used_bytes += hg_block_requested(b);
    } else if (b->state == HG_STATE_QUARANTINED) {
      c->quarantined_blocks++;
      c->quarantined_bytes += hg_block_requested(b);
    } else {
      c->free_blocks++;
      c->free_bytes += hg_block_capacity(b);
    }
    b = hg_block_next(b);
  }
}

/* Blocks in use in s, counted by a walk that stops at the first damaged header. */
static bool count_used(const struct hg_segment *s, uint64_t *count)
{
  struct heapguard_finding f = { 0 };
  *count = 0;
  const struct hg_block *b = hg_segment_first(s);
  while ((const char *)b < hg_segment_end(s)) {
    if (!hg_check_header(&hg_key, s, b, &f))
      return false;
    *count += b->state == HG_STATE_USED;
    b = hg_block_next(b);
  }
  return true;
}

/*
 * Where the quarantined block a finding names waits. A poison check names
 * the step that found it, and the block is held by none then: it was
 * taken out of the quarantine, of a cache or a pool, to be checked. NULL
 * when it is not quarantined, or held where it cannot be looked up now.
 */
static const char *where_quarantined(const struct heapguard_finding *f)
{
  const struct hg_block *b = (const struct hg_block *)f->block;
  if (!b || hg_block_verify(&hg_key, b) != HG_HEADER_OK || b->state != HG_STATE_QUARANTINED)
    return NULL;
  switch (f->check) {
  case HG_CHECK_POISON:
    return "freed, leaving the quarantine";
  case HG_CHECK_POISON_AT_REUSE:
    return "freed, out of the quarantine, taken for reuse";
  case HG_CHECK_POISON_LEAVING_CACHE:
    return "freed, out of the quarantine, leaving a thread's cache or its arena's pool";
  default:
    break;
  }
  switch (hg_tcache_find(b).in) {
  case HG_WAITS_IN_QUARANTINE:
    return "freed, in quarantine";
  case HG_WAITS_IN_CACHE:
    return "freed, out of the quarantine, kept for reuse by a thread";
  case HG_WAITS_IN_POOL:
    return "freed, out of the quarantine, in its arena's pool";
  case HG_WAITS_UNKNOWN:
    break;
  }
  return NULL;
}

static void shared_describe(struct hg_buf *out, const struct heapguard_finding *f)
{
  const struct hg_segment *s = (const struct hg_segment *)f->segment;
  hg_describe_block_and_neighbour(out, &hg_key, f, where_quarantined(f));
  uint64_t used;
  bool counted = count_used(s, &used);
  hg_describe_segment(out, s, counted ? " block in use" : NULL, " blocks in use", used);
}

/*
 * A fault in a guard page of a shared segment: past the end of its last
 * block, or below its metadata. Blocks are read without the lock (this is
 * a signal handler), only through headers that verify.
 */
static bool shared_fault(const struct hg_segment *s, uintptr_t addr,
                         struct heapguard_finding *f)
{
  const struct hg_block *last = NULL;
  struct heapguard_finding probe = { 0 };
  for (const struct hg_block *b = hg_segment_first(s); (const char *)b < hg_segment_end(s);
       b = hg_block_next(b)) {
    if (!hg_check_header(&hg_key, s, b, &probe))
      break;
    last = b;
  }
  if (addr >= (uintptr_t)hg_segment_end(s) && last && last->state == HG_STATE_USED &&
      (const char *)hg_block_next(last) == hg_segment_end(s)) {
    f->requested = hg_block_requested(last);
    f->offset = (intptr_t)(addr - (uintptr_t)hg_block_data(last));
    f->alloc_stack = last->stack;
    return hg_fail(f, HG_CHECK_GUARD_PAGE, last, 0, addr), true;
  }
  return hg_fail(f, HG_CHECK_SEGMENT_GUARD_PAGE, NULL, 0, addr), true;
}

static bool shared_drain(struct heapguard_finding *f)
{
  return hg_tcache_drain(f);
}

static void shared_lock_all(void)
{
  hg_tcache_stop_world();
  hg_arena_lock_all();
  hg_pool_lock_all();
}

static void shared_unlock_all(void)
{
  hg_pool_unlock_all();
  hg_arena_unlock_all();
  hg_tcache_resume_world();
}

static void shared_fork_child(void)
{
  hg_arena_fork_child();
  hg_pool_fork_child();
  hg_tcache_fork_child();
}

const struct hg_kind_ops hg_shared_ops = {
  .alloc = hg_shared_alloc,
  .free = hg_shared_free,
  .inspect = shared_inspect,
  .resize = shared_resize,
  .check = shared_check,
  .visit = shared_visit,
  .count = shared_count,
  .describe = shared_describe,
  .fault = shared_fault,
  .drain = shared_drain,
  .lock_all = shared_lock_all,
  .unlock_all = shared_unlock_all,
  .fork_child = shared_fork_child,
};
