/*
 * large.c - large blocks: one per dedicated segment, placed so that the
 * block's data ends just before the segment's trailing guard page, and a
 * small cache of freed segments so that large blocks freed and allocated
 * again do not cost an mmap/munmap pair each time.
 *
 * Dedicated segments are created, changed, cached and destroyed only under
 * large_lock, so a heap walk or a fork that holds it sees each one whole.
 * A freed large block is not quarantined: its segment goes to the cache
 * (its header sealed free, so a second free is named double-free) or is
 * unmapped. In the cache its data is out of reach: the whole pages are
 * inaccessible, so any access faults and is reported as use-after-free,
 * and the bytes on the header's page are poisoned, checked when the
 * segment is reused and by heap checks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>

#include "check.h"
#include "describe.h"
#include "kind.h"
#include "os.h"
#include "runtime.h"

#define LARGE_CACHE_SLOTS 8u
#define LARGE_CACHE_BYTES ((size_t)64 << 20)

/*
 * A cached segment remembers what its freed block was (a free header
 * carries neither), for reports of a later access to it.
 */
struct cached {
  struct hg_segment *segment;
  size_t requested;
  uint32_t alloc_stack;
};

static pthread_mutex_t large_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached large_cache[LARGE_CACHE_SLOTS];
static size_t large_cache_bytes;

/* A cached segment fits if it holds the request without wasting half of it. */
static bool cached_segment_fits(const struct hg_segment *s, size_t request,
                                size_t alignment)
{
  return hg_segment_large_fits(s, request, alignment) &&
         s->map_size <= 2 * (request + 4 * HG_PAGE_SIZE + alignment);
}

/* A cached segment for the request, out of the cache, into *taken; false when none fits. */
static bool large_cache_take(size_t request, size_t alignment, struct cached *taken)
{
  for (unsigned i = 0; i < LARGE_CACHE_SLOTS; i++) {
    struct hg_segment *s = large_cache[i].segment;
    if (s && cached_segment_fits(s, request, alignment)) {
      *taken = large_cache[i];
      __atomic_store_n(&large_cache[i].segment, NULL, __ATOMIC_RELEASE);
      large_cache_bytes -= s->map_size;
      return true;
    }
  }
  return false;
}

/* Keep s for reuse if the cache has room; false when s must be unmapped. */
static bool large_cache_put(struct hg_segment *s, size_t requested, uint32_t alloc_stack)
{
  for (unsigned i = 0; i < LARGE_CACHE_SLOTS; i++) {
    if (!large_cache[i].segment && large_cache_bytes + s->map_size <= LARGE_CACHE_BYTES) {
      large_cache[i].requested = requested;
      large_cache[i].alloc_stack = alloc_stack;
      __atomic_store_n(&large_cache[i].segment, s, __ATOMIC_RELEASE);
      large_cache_bytes += s->map_size;
      return true;
    }
  }
  return false;
}

/* What the freed block of cached segment s was; read without the lock by the fault handler. */
static const struct cached *cached_entry(const struct hg_segment *s)
{
  for (unsigned i = 0; i < LARGE_CACHE_SLOTS; i++)
    if (__atomic_load_n(&large_cache[i].segment, __ATOMIC_ACQUIRE) == s)
      return &large_cache[i];
  return NULL;
}

/* Where the block a finding names was allocated and freed, for the report. */
static void note_stacks(struct heapguard_finding *f)
{
  const struct hg_block *b = (const struct hg_block *)f->block;
  if (!b || hg_block_verify(&hg_key, b) != HG_HEADER_OK)
    return;
  if (b->state != HG_STATE_FREE) {
    f->alloc_stack = b->stack;
    return;
  }
  f->free_stack = b->free_stack;
  const struct cached *c = cached_entry((const struct hg_segment *)f->segment);
  if (c) {
    f->alloc_stack = c->alloc_stack;
    f->requested = c->requested;
  }
}

/* The freed data on the header's page: poisoned, not protected. */
static size_t freed_head(const struct hg_block *b)
{
  uintptr_t data = (uintptr_t)hg_block_data(b);
  uintptr_t page = (data + HG_PAGE_SIZE - 1) & ~(uintptr_t)(HG_PAGE_SIZE - 1);
  size_t head = page - data;
  return head < hg_block_capacity(b) ? head : hg_block_capacity(b);
}

static bool put_data_out_of_reach(struct hg_block *b)
{
  size_t head = freed_head(b);
  if (head)
    hg_poison_fill(hg_block_data(b), head);
  size_t rest = hg_block_capacity(b) - head;
  return !rest || hg_os_protect_none(hg_block_data(b) + head, rest);
}

static bool freed_head_intact(const struct hg_block *b, enum hg_check moment,
                              struct heapguard_finding *f)
{
  size_t head = freed_head(b);
  return !head || hg_check_poison_head(b, head, moment, f);
}

/*
 * The segment of a cache entry back in reach for a new block: false with
 * f set when its freed data was written meanwhile (it then stays out of
 * use), or with f untouched when its pages cannot be made accessible.
 */
static bool bring_back(const struct cached *c, struct heapguard_finding *f)
{
  struct hg_block *b = hg_segment_first(c->segment);
  if (!freed_head_intact(b, HG_CHECK_POISON_AT_REUSE, f)) {
    f->segment = (uintptr_t)c->segment;
    f->requested = c->requested;
    f->alloc_stack = c->alloc_stack;
    f->free_stack = b->free_stack;
    return false;
  }
  size_t head = freed_head(b);
  size_t rest = hg_block_capacity(b) - head;
  if (rest && !hg_os_protect_rw(hg_block_data(b) + head, rest)) {
    hg_segment_destroy(c->segment);
    return false;
  }
  return true;
}

/* A cached segment laid out for this request, or a new one; NULL with f set when damaged. */
static struct hg_segment *segment_for(size_t request, size_t alignment, bool *zeroed,
                                      struct heapguard_finding *f)
{
  struct cached c;
  struct hg_segment *s = NULL;
  if (large_cache_take(request, alignment, &c)) {
    if (bring_back(&c, f))
      s = c.segment;
    else if (f->bug_class != HEAPGUARD_OK)
      return NULL;
  }
  if (s && !hg_segment_place_large(s, request, alignment)) {
    hg_segment_destroy(s);
    s = NULL;
  }
  *zeroed = s == NULL;
  return s ? s : hg_segment_create_large(request, alignment);
}

static void *large_alloc(size_t request, size_t alignment, uint16_t kind, uint32_t stack,
                         bool *zeroed, struct heapguard_finding *f)
{
  pthread_mutex_lock(&large_lock);
  struct hg_segment *s = segment_for(request, alignment, zeroed, f);
  struct hg_block *b = NULL;
  if (s) {
    b = hg_segment_first(s);
    hg_block_set_prev(&hg_key, b, 0);
    b->size = (uint32_t)((s->end - s->first_block) >> HG_GRANULE_SHIFT);
    hg_block_seal_used(&hg_key, b, request, kind, stack);
  }
  pthread_mutex_unlock(&large_lock);
  if (!b && f->bug_class == HEAPGUARD_OK)
    errno = ENOMEM;
  return b ? hg_block_data(b) : NULL;
}

/* After taking large_lock: is s still the registered segment of p? */
static bool still_mapped(const struct hg_segment *s, const void *p,
                         struct heapguard_finding *f)
{
  if (hg_segment_lookup((uintptr_t)p) == s)
    return true;
  f->segment = 0;
  return hg_fail(f, HG_CHECK_NOT_OURS, NULL, 0, (uintptr_t)p);
}

static bool check_large(const struct hg_segment *s, const void *p, uint16_t kind,
                        size_t size, struct heapguard_finding *f)
{
  if (!still_mapped(s, p, f) || !hg_check_segment(&hg_key, s, f))
    return false;
  const struct hg_block *b = hg_segment_first(s);
  if (hg_block_data(b) != p) {
    hg_diagnose_pointer(&hg_key, s, (uintptr_t)p, kind, f);
    return false;
  }
  return hg_check_header(&hg_key, s, b, f) && hg_check_live_block(&hg_key, s, b, f) &&
         hg_check_kind(b, b->kind, hg_block_requested(b), kind, size, f);
}

static bool large_free(struct hg_segment *s, void *p, uint16_t kind, size_t size,
                       uint32_t free_stack, struct heapguard_finding *f)
{
  pthread_mutex_lock(&large_lock);
  bool ok = check_large(s, p, kind, size, f);
  if (ok) {
    struct hg_block *b = hg_segment_first(s);
    size_t requested = hg_block_requested(b);
    uint32_t alloc_stack = b->stack;
    hg_block_seal_free(&hg_key, b, free_stack);
    if (!put_data_out_of_reach(b) || !large_cache_put(s, requested, alloc_stack))
      hg_segment_destroy(s);
  } else {
    note_stacks(f);
  }
  pthread_mutex_unlock(&large_lock);
  return ok;
}

static bool large_inspect(struct hg_segment *s, const void *p, struct hg_block_info *info,
                          struct heapguard_finding *f)
{
  pthread_mutex_lock(&large_lock);
  bool ok = check_large(s, p, HG_KIND_ANY, 0, f);
  if (ok) {
    const struct hg_block *b = hg_segment_first(s);
    *info = (struct hg_block_info){ hg_block_requested(b), b->kind, b->stack };
  } else {
    note_stacks(f);
  }
  pthread_mutex_unlock(&large_lock);
  return ok;
}

/* Within the block's capacity and not below half of it: only the tail moves. */
static bool large_resize(struct hg_segment *s, void *p, size_t request, size_t *old_request,
                         struct heapguard_finding *f)
{
  pthread_mutex_lock(&large_lock);
  bool ok = check_large(s, p, HG_KIND_MALLOC, 0, f);
  struct hg_block *b = hg_segment_first(s);
  if (ok)
    *old_request = hg_block_requested(b);
  else
    note_stacks(f);
  size_t capacity = ok ? hg_block_capacity(b) : 0;
  ok = ok && request < capacity && request >= capacity / 2 && capacity - request <= HG_MAX_TAIL;
  if (ok) {
    b->tail = (uint32_t)(capacity - request);
    hg_tail_write(b, hg_block_seal(&hg_key, b));
  }
  pthread_mutex_unlock(&large_lock);
  return ok;
}

static void large_check(const struct hg_segment *s, struct hg_findings *out)
{
  unsigned first = out->count;
  hg_check_segment_blocks(&hg_key, s, out);
  const struct hg_block *b = hg_segment_first(s);
  if (out->count == first && b->state == HG_STATE_FREE &&
      !freed_head_intact(b, HG_CHECK_POISON_IN_HEAP_CHECK, hg_findings_next(out)))
    hg_findings_keep(out);
  for (unsigned i = first; i < out->count; i++)
    note_stacks(&out->kept[i]);
}

static void large_visit(const struct hg_segment *s, hg_live_visitor fn, void *arg)
{
  struct heapguard_finding f = { 0 };
  const struct hg_block *b = hg_segment_first(s);
  if (hg_check_header(&hg_key, s, b, &f) && b->state == HG_STATE_USED)
    fn((uintptr_t)hg_block_data(b), hg_block_requested(b), b->stack, arg);
}

/* Its one block: in use, or free in a segment kept for reuse. */
static void large_count(const struct hg_segment *s, struct hg_heap_counts *c)
{
  struct heapguard_finding f = { 0 };
  c->segments++;
  c->mapped += s->map_size;
  c->mappings += HG_SEGMENT_MAPPINGS;
  const struct hg_block *b = hg_segment_first(s);
  if (!hg_check_header(&hg_key, s, b, &f))
    return;
  if (b->state == HG_STATE_USED) {
    c->used_blocks++;
    c->used_bytes += hg_block_requested(b);
  } else {
    c->free_blocks++;
    c->free_bytes += hg_block_capacity(b);
  }
}

static void large_describe(struct hg_buf *out, const struct heapguard_finding *f)
{
  hg_describe_block_and_neighbour(out, &hg_key, f, NULL);
  hg_describe_segment(out, (const struct hg_segment *)f->segment, NULL, NULL, 0);
}

/*
 * The trailing guard page is right after the block's data (and canary
 * byte); a freed block's data pages are inaccessible until it is reused.
 */
static bool large_fault(const struct hg_segment *s, uintptr_t addr,
                        struct heapguard_finding *f)
{
  const struct hg_block *b = hg_segment_first(s);
  struct heapguard_finding probe = { 0 };
  if (!hg_check_header(&hg_key, s, b, &probe) || addr < (uintptr_t)hg_block_data(b))
    return hg_fail(f, HG_CHECK_SEGMENT_GUARD_PAGE, NULL, 0, addr), true;
  f->requested = hg_block_requested(b);
  f->offset = (intptr_t)(addr - (uintptr_t)hg_block_data(b));
  f->alloc_stack = b->stack;
  if (b->state == HG_STATE_FREE && addr < (uintptr_t)hg_segment_end(s)) {
    f->block = (uintptr_t)b;
    note_stacks(f);
    return hg_fail(f, HG_CHECK_LARGE_FREED, b, 0, addr), true;
  }
  if (b->state == HG_STATE_USED && addr >= (uintptr_t)hg_segment_end(s))
    return hg_fail(f, HG_CHECK_GUARD_PAGE, b, 0, addr), true;
  return hg_fail(f, HG_CHECK_SEGMENT_GUARD_PAGE, NULL, 0, addr), true;
}

/* Memory is running out: the cached segments are unmapped. */
static bool large_drain(struct heapguard_finding *f)
{
  (void)f;
  pthread_mutex_lock(&large_lock);
  for (unsigned i = 0; i < LARGE_CACHE_SLOTS; i++) {
    if (large_cache[i].segment) {
      hg_segment_destroy(large_cache[i].segment);
      large_cache[i].segment = NULL;
    }
  }
  large_cache_bytes = 0;
  pthread_mutex_unlock(&large_lock);
  return true;
}

static void large_lock_all(void)
{
  pthread_mutex_lock(&large_lock);
}

static void large_unlock_all(void)
{
  pthread_mutex_unlock(&large_lock);
}

static void large_fork_child(void)
{
  pthread_mutex_init(&large_lock, NULL);
}

const struct hg_kind_ops hg_large_ops = {
  .alloc = large_alloc,
  .free = large_free,
  .inspect = large_inspect,
  .resize = large_resize,
  .check = large_check,
  .visit = large_visit,
  .count = large_count,
  .describe = large_describe,
  .fault = large_fault,
  .drain = large_drain,
  .lock_all = large_lock_all,
  .unlock_all = large_unlock_all,
  .fork_child = large_fork_child,
};
