/*
 * heap.c - which kind serves a request, dispatch by segment kind, and the
 * walks over the whole heap.
 */
#include "heap.h"

#include "arena.h"
#include "check.h"
#include "guard.h"
#include "options.h"
#include "runtime.h"
#include "shared.h"
#include "tcache.h"

/* Indexed by enum hg_segment_kind; the order is also the lock order. */
static const struct hg_kind_ops *const kinds[HG_SEGMENT_KINDS] = {
  [HG_SEGMENT_SHARED] = &hg_shared_ops,
  [HG_SEGMENT_LARGE] = &hg_large_ops,
  [HG_SEGMENT_GUARD] = &hg_guard_ops,
  [HG_SEGMENT_ZERO] = &hg_zero_ops,
};

/* Requests a shared segment cannot hold next to others get a dedicated one. */
static bool is_large_request(size_t request, size_t alignment)
{
  return request >= HG_LARGE_THRESHOLD || alignment >= HG_LARGE_THRESHOLD / 4 ||
         request + alignment >= HG_LARGE_THRESHOLD - HG_HEADER_SIZE;
}

void hg_heap_init(unsigned arenas, void (*on_thread_exit)(void *cache))
{
  hg_arenas_init(arenas);
  hg_tcache_init(on_thread_exit);
  hg_guard_init();
}

bool hg_heap_thread_exit(void *cache, struct heapguard_finding *f)
{
  return hg_tcache_thread_exit(cache, f);
}

const struct hg_kind_ops *hg_heap_ops(const struct hg_segment *s)
{
  return s->kind < HG_SEGMENT_KINDS ? kinds[s->kind] : NULL;
}

/* A block of 0 bytes is a pointer to no memory: zero.c's, if its alignment allows. */
static bool is_zero_request(size_t request, size_t alignment)
{
  return request == 0 && alignment <= HG_GRANULE;
}

/* A request guard mode does not take: a dedicated segment, or the shared heap. */
static inline __attribute__((always_inline)) void *
alloc_unguarded(size_t request, size_t alignment, uint16_t kind, uint32_t stack, bool *zeroed,
                struct heapguard_finding *f)
{
  if (!alignment)
    alignment = HG_GRANULE;
  if (is_large_request(request, alignment))
    return hg_large_ops.alloc(request, alignment, kind, stack, zeroed, f);
  return hg_shared_alloc(request, alignment, kind, stack, zeroed, f);
}

/* Guard mode may take the request; out of line, so that without it no frame is needed. */
static __attribute__((noinline)) void *alloc_guarded_first(size_t request, size_t alignment,
                                                           uint16_t kind, uint32_t stack,
                                                           bool *zeroed,
                                                           struct heapguard_finding *f)
{
  void *p = hg_guard_ops.alloc(request, alignment, kind, stack, zeroed, f);
  if (p || f->bug_class != HEAPGUARD_OK) /* a recycled slot found damaged */
    return p;
  return alloc_unguarded(request, alignment, kind, stack, zeroed, f);
}

void *hg_heap_alloc(size_t request, size_t alignment, uint16_t kind, uint32_t stack,
                    bool *zeroed, struct heapguard_finding *f)
{
  if (is_zero_request(request, alignment))
    return hg_zero_ops.alloc(request, alignment, kind, stack, zeroed, f);
  if (__builtin_expect(hg_options.guard_mode != HG_GUARD_OFF, 0))
    return alloc_guarded_first(request, alignment, kind, stack, zeroed, f);
  return alloc_unguarded(request, alignment, kind, stack, zeroed, f);
}

/*
 * The segment that holds p and its kind's operations, found in the
 * registry without reading memory at p. The metadata was verified when it
 * was sealed and is read-only since, so its kind and bounds are believed;
 * a p outside them is judged only after the metadata verifies again
 * (locate_failed, out of line: only on a bug).
 */
static __attribute__((noinline, cold)) void locate_failed(const void *p,
                                                          const struct hg_segment *s,
                                                          struct heapguard_finding *f)
{
  hg_finding_reset(f);
  if (!s)
    hg_fail(f, HG_CHECK_NOT_OURS, NULL, 0, (uintptr_t)p);
  else if (hg_check_segment(&hg_key, s, f))
    hg_fail(f, HG_CHECK_OUTSIDE_BLOCKS, NULL, 0, (uintptr_t)p);
}

static inline __attribute__((always_inline)) const struct hg_kind_ops *
locate(const void *p, struct hg_segment **sp, struct heapguard_finding *f)
{
  struct hg_segment *s = hg_segment_lookup((uintptr_t)p);
  if (__builtin_expect(!s || (const char *)p < (const char *)hg_segment_first(s) ||
                           (const char *)p >= hg_segment_end(s) || !hg_heap_ops(s),
                       0)) {
    locate_failed(p, s, f);
    return NULL;
  }
  *sp = s;
  return hg_heap_ops(s);
}

/* A block of a kind other than shared; out of line, as the shared kind's free needs no frame. */
static __attribute__((noinline)) bool free_in_kind(const struct hg_kind_ops *ops,
                                                   struct hg_segment *s, void *p, uint16_t kind,
                                                   size_t size, uint32_t free_stack,
                                                   struct heapguard_finding *f)
{
  hg_finding_reset(f);
  return ops->free(s, p, kind, size, free_stack, f);
}

bool hg_heap_free(void *p, uint16_t kind, size_t size, uint32_t free_stack,
                  struct heapguard_finding *f)
{
  struct hg_segment *s;
  const struct hg_kind_ops *ops = locate(p, &s, f);
  if (__builtin_expect(ops == &hg_shared_ops, 1))
    return hg_shared_free(s, p, kind, size, free_stack, f);
  return ops && free_in_kind(ops, s, p, kind, size, free_stack, f);
}

bool hg_heap_inspect(const void *p, struct hg_block_info *info,
                     struct heapguard_finding *f)
{
  struct hg_segment *s;
  const struct hg_kind_ops *ops = locate(p, &s, f);
  return ops && ops->inspect(s, p, info, f);
}

bool hg_heap_resize_in_place(void *p, size_t request, size_t *old_request,
                             struct heapguard_finding *f)
{
  struct hg_segment *s;
  const struct hg_kind_ops *ops = locate(p, &s, f);
  if (!ops)
    return false;
  if (ops != &hg_shared_ops && ops != &hg_large_ops)
    return ops->resize(s, p, request, old_request, f);
  /* A block stays in its kind: the other kind would not hold it in place. */
  bool large = is_large_request(request, HG_GRANULE);
  if (large != (ops == &hg_large_ops)) {
    struct hg_block_info info;
    bool ok = ops->inspect(s, p, &info, f);
    if (ok)
      *old_request = info.requested;
    return false;
  }
  return ops->resize(s, p, request, old_request, f);
}

void hg_heap_lock_all(void)
{
  for (unsigned k = 0; k < HG_SEGMENT_KINDS; k++)
    if (kinds[k])
      kinds[k]->lock_all();
}

void hg_heap_unlock_all(void)
{
  for (unsigned k = HG_SEGMENT_KINDS; k-- > 0;)
    if (kinds[k])
      kinds[k]->unlock_all();
}

static void check_one_segment(struct hg_segment *s, void *arg)
{
  struct hg_findings *out = arg;
  if (hg_findings_full(out))
    return;
  if (!hg_check_segment(&hg_key, s, hg_findings_next(out)))
    hg_findings_keep(out);
  else
    hg_heap_ops(s)->check(s, out);
}

void hg_heap_check_each(struct hg_findings *out)
{
  hg_heap_lock_all();
  hg_segment_for_each(check_one_segment, out);
  if (!hg_findings_full(out) && !hg_arena_check_free_lists(hg_findings_next(out)))
    hg_findings_keep(out);
  hg_heap_unlock_all();
}

bool hg_heap_check_all(struct heapguard_finding *f)
{
  struct hg_findings out;
  hg_findings_start(&out, f, 1, f->operation);
  hg_heap_check_each(&out);
  return out.count == 0;
}

struct used_visit {
  hg_live_visitor fn;
  void *arg;
};

static void visit_one_segment(struct hg_segment *s, void *arg)
{
  struct used_visit *v = arg;
  struct heapguard_finding f = { 0 };
  if (hg_check_segment(&hg_key, s, &f))
    hg_heap_ops(s)->visit(s, v->fn, v->arg);
}

void hg_heap_for_each_used(hg_live_visitor fn, void *arg)
{
  struct used_visit v = { fn, arg };
  hg_heap_lock_all();
  hg_segment_for_each(visit_one_segment, &v);
  hg_heap_unlock_all();
}

static void count_one_segment(struct hg_segment *s, void *arg)
{
  struct hg_heap_counts *by_kind = arg;
  struct heapguard_finding f = { 0 };
  if (hg_check_segment(&hg_key, s, &f))
    hg_heap_ops(s)->count(s, &by_kind[s->kind]);
}

void hg_heap_count(struct hg_heap_counts by_kind[HG_SEGMENT_KINDS])
{
  for (unsigned k = 0; k < HG_SEGMENT_KINDS; k++)
    by_kind[k] = (struct hg_heap_counts){ 0 };
  hg_heap_lock_all();
  hg_segment_for_each(count_one_segment, by_kind);
  hg_heap_unlock_all();
}

bool hg_heap_drain(struct heapguard_finding *f)
{
  bool clean = true;
  for (unsigned k = 0; k < HG_SEGMENT_KINDS; k++)
    if (kinds[k])
      clean = kinds[k]->drain(f) && clean;
  return clean;
}

void hg_heap_describe(struct hg_buf *out, const struct heapguard_finding *f)
{
  const struct hg_segment *s = (const struct hg_segment *)f->segment;
  if (!s)
    return;
  if (hg_segment_verify(&hg_key, s) != HG_SEGMENT_OK) {
    hg_buf_str(out, "  segment ");
    hg_buf_hex(out, f->segment);
    hg_buf_str(out, ": metadata damaged\n");
    return;
  }
  hg_heap_ops(s)->describe(out, f);
}

bool hg_heap_fault(uintptr_t addr, struct heapguard_finding *f)
{
  struct hg_segment *s = hg_segment_lookup(addr);
  if (!s || hg_segment_verify(&hg_key, s) != HG_SEGMENT_OK)
    return false;
  f->segment = (uintptr_t)s;
  if (addr >= (uintptr_t)s && addr < (uintptr_t)s + HG_SEGMENT_META_SIZE)
    return hg_fail(f, HG_CHECK_SEGMENT_WRITE, NULL, 0, addr), true;
  return hg_heap_ops(s)->fault(s, addr, f);
}

void hg_heap_fork_prepare(void)
{
  hg_heap_lock_all();
  hg_segment_fork_prepare();
}

void hg_heap_fork_parent(void)
{
  hg_segment_fork_parent();
  hg_heap_unlock_all();
}

void hg_heap_fork_child(void)
{
  hg_segment_fork_child();
  for (unsigned k = 0; k < HG_SEGMENT_KINDS; k++)
    if (kinds[k])
      kinds[k]->fork_child();
}
